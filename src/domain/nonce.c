/* Digest nonces: stateless HMAC-signed nonces and the bounded nonce-count (replay) table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "domain/digest_priv.h"

/* Expired entries dropped per insertion, so no single request pays for a backlog. */
#define REPLAY_GC_BUDGET 8u

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

uint64_t digest_now(const struct digest *d)
{
	struct timespec ts;

	if (d->clock_ms)
		return d->clock_ms(d->clock_arg);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* n is a multiple of 3: nonces never need padding. */
static void b64url_encode(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*out++ = b64url[v >> 18];
		*out++ = b64url[(v >> 12) & 63];
		*out++ = b64url[(v >> 6) & 63];
		*out++ = b64url[v & 63];
	}
	*out = '\0';
}

static int b64url_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

static int b64url_decode(struct slice s, uint8_t *out, size_t n)
{
	if (s.len != n / 3 * 4)
		return -EBADMSG;
	for (size_t i = 0, o = 0; i < s.len; i += 4, o += 3) {
		uint32_t v = 0;

		for (size_t k = 0; k < 4; k++) {
			int c = b64url_val(s.p[i + k]);

			if (c < 0)
				return -EBADMSG;
			v = v << 6 | (uint32_t)c;
		}
		out[o] = (uint8_t)(v >> 16);
		out[o + 1] = (uint8_t)(v >> 8);
		out[o + 2] = (uint8_t)v;
	}
	return 0;
}

static int nonce_mac(const struct digest *d, const uint8_t id[NONCE_ID_LEN], struct slice realm,
                     uint8_t mac[NONCE_MAC_LEN])
{
	uint8_t data[NONCE_ID_LEN + DIGEST_REALM_MAX], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (realm.len > DIGEST_REALM_MAX)
		return -EINVAL;
	memcpy(data, id, NONCE_ID_LEN);
	if (realm.len)
		memcpy(data + NONCE_ID_LEN, realm.p, realm.len);
	if (!HMAC(EVP_sha256(), d->key, (int)d->key_len, data, NONCE_ID_LEN + realm.len, md,
	          &mdlen) ||
	    mdlen < NONCE_MAC_LEN)
		return -EIO;
	memcpy(mac, md, NONCE_MAC_LEN);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

int nonce_make(struct digest *d, struct slice realm, char out[NONCE_STR_LEN + 1])
{
	uint8_t raw[NONCE_RAW_LEN];
	uint64_t now = digest_now(d);
	int err;

	for (int i = 0; i < NONCE_TS_LEN; i++)
		raw[i] = (uint8_t)(now >> (8 * (NONCE_TS_LEN - 1 - i)));
	if (RAND_bytes(raw + NONCE_TS_LEN, NONCE_RND_LEN) != 1)
		return -EIO;
	err = nonce_mac(d, raw, realm, raw + NONCE_ID_LEN);
	if (err)
		return err;
	b64url_encode(raw, sizeof(raw), out);
	d->st.nonces++;
	return 0;
}

int nonce_check(const struct digest *d, struct slice realm, struct slice nonce,
                struct nonce_info *ni)
{
	uint8_t raw[NONCE_RAW_LEN], mac[NONCE_MAC_LEN];

	if (b64url_decode(nonce, raw, sizeof(raw)) || nonce_mac(d, raw, realm, mac))
		return -EBADMSG;
	if (CRYPTO_memcmp(mac, raw + NONCE_ID_LEN, NONCE_MAC_LEN) != 0)
		return -EBADMSG;
	memcpy(ni->id, raw, NONCE_ID_LEN);
	ni->ts = 0;
	for (int i = 0; i < NONCE_TS_LEN; i++)
		ni->ts = ni->ts << 8 | raw[i];
	return 0;
}

/* ------------------------------------------------------ nonce-count table */

static void replay_unlink(struct digest *d, struct replay_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		d->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		d->newest = e->older;
	hmap_remove(&d->replay, &e->hn);
	d->nreplay--;
	/* Whatever leaves the table must never look new again. */
	if (e->ts > d->floor_ts)
		d->floor_ts = e->ts;
	free(e);
}

static bool replay_expired(const struct digest *d, const struct replay_entry *e, uint64_t now)
{
	return now > e->ts && now - e->ts > d->lifetime_ms;
}

static void replay_expire(struct digest *d, uint64_t now, unsigned budget)
{
	/* Insertion order is close to issue order, so expired entries gather at
	 * the old end; one still alive there stops the sweep, which is fine:
	 * the cap bounds memory whatever the order. */
	while (budget-- && d->oldest && replay_expired(d, d->oldest, now))
		replay_unlink(d, d->oldest);
}

void digest_gc(struct digest *d)
{
	replay_expire(d, digest_now(d), UINT32_MAX);
}

void replay_fini(struct digest *d)
{
	struct replay_entry *e = d->oldest, *next;

	for (; e; e = next) {
		next = e->newer;
		free(e);
	}
	d->oldest = d->newest = NULL;
	d->nreplay = 0;
	hmap_fini(&d->replay);
}

static struct replay_entry *replay_find(const struct digest *d, const uint8_t id[NONCE_ID_LEN],
                                        uint64_t hash)
{
	for (struct hnode *n = hmap_first(&d->replay, hash); n; n = hmap_next(n)) {
		struct replay_entry *e = container_of(n, struct replay_entry, hn);

		if (memcmp(e->id, id, NONCE_ID_LEN) == 0)
			return e;
	}
	return NULL;
}

int replay_note(struct digest *d, const struct nonce_info *ni, uint32_t nc, uint32_t *last)
{
	uint64_t hash = hash_bytes(HASH_INIT, ni->id, NONCE_ID_LEN);
	struct replay_entry *e = replay_find(d, ni->id, hash);

	if (e) {
		if (nc <= e->nc) {
			*last = e->nc;
			return -EALREADY;
		}
		e->nc = nc;
		return 0;
	}
	/* Not in the table and dated after everything ever dropped: never seen. */
	if (ni->ts <= d->floor_ts)
		return -ESTALE;
	replay_expire(d, digest_now(d), REPLAY_GC_BUDGET);
	/* Full of live nonces: drop the oldest.  Its nonce and every older one
	 * then get STALE (floor_ts), so the client fetches a fresh nonce and
	 * no count is ever forgotten while its nonce could still pass.  The
	 * floor may now pass this nonce's date; that is fine, it is new. */
	while (d->nreplay >= d->replay_max && d->oldest) {
		replay_unlink(d, d->oldest);
		d->st.evicted++;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	memcpy(e->id, ni->id, NONCE_ID_LEN);
	e->ts = ni->ts;
	e->nc = nc;
	e->older = d->newest;
	if (d->newest)
		d->newest->newer = e;
	else
		d->oldest = e;
	d->newest = e;
	hmap_insert(&d->replay, &e->hn, hash);
	d->nreplay++;
	return 0;
}
