/* Digest internals shared by digest.c, nonce.c and digest_client.c: state, nonces, helpers. */
#ifndef IXEDGE_DOMAIN_DIGEST_PRIV_H
#define IXEDGE_DOMAIN_DIGEST_PRIV_H

#include "base/hmap.h"
#include "domain/digest.h"

/*
 * Nonce = base64url(ts || rnd || mac), 36 bytes -> 48 characters:
 *   ts  8 bytes, big-endian milliseconds of the wall clock at issue
 *   rnd 12 bytes from RAND_bytes (makes every nonce unique)
 *   mac 16 bytes: HMAC-SHA256(key, ts || rnd || realm) cut to 128 bits
 * ts || rnd is the nonce's identity in the nonce-count table.
 */
#define NONCE_TS_LEN  8
#define NONCE_RND_LEN 12
#define NONCE_MAC_LEN 16
#define NONCE_ID_LEN  (NONCE_TS_LEN + NONCE_RND_LEN)
#define NONCE_RAW_LEN (NONCE_ID_LEN + NONCE_MAC_LEN)
#define NONCE_STR_LEN (NONCE_RAW_LEN / 3 * 4)

/* A nonce's issue time may run this far ahead of the clock (steps between nodes). */
#define NONCE_SKEW_MS 5000u

#define DIGEST_KEY_MAX 64

struct nonce_info {
	uint8_t id[NONCE_ID_LEN];
	uint64_t ts; /* ms */
};

struct replay_entry {
	struct hnode hn;
	struct replay_entry *older, *newer; /* insertion order, for expiry and eviction */
	uint8_t id[NONCE_ID_LEN];
	uint64_t ts;
	uint32_t nc;
};

struct digest {
	uint8_t key[DIGEST_KEY_MAX];
	size_t key_len;
	uint64_t lifetime_ms;
	uint32_t replay_max;
	bool allow_rfc2069;
	uint64_t (*clock_ms)(void *arg);
	void *clock_arg;

	/* nonce-count table: nonce id -> highest nc accepted */
	struct hmap replay;
	struct replay_entry *oldest, *newest;
	uint32_t nreplay;
	/* Every nonce ever dropped from the table was issued at or before this
	 * time; an unknown nonce this old may have been dropped, so it is stale. */
	uint64_t floor_ts;

	struct digest_stats st;
};

uint64_t digest_now(const struct digest *d);

/* --------------------------------------- helpers for both sides (digest.c) */

/* H(parts[0] ":" parts[1] ":" ...) into out; 0, -ENOMEM or -EIO. */
int digest_hash_join(enum digest_alg alg, const struct slice *parts, size_t n,
                     uint8_t out[DIGEST_MAX_HASH]);
/* Appends s as a quoted-string, '"' and '\' escaped. */
int digest_append_quoted(struct buf *b, struct slice s);
/*
 * The content of a quoted value (sip_auth_decode() drops the quotes) with
 * its quoted-pairs removed into scratch when there are any, else the slice
 * itself.  -EBADMSG for a trailing '\', -E2BIG when over cap.
 */
int digest_unq(struct slice in, char *scratch, size_t cap, struct slice *out);
/* A value for a reason string: printable ASCII, no quote, cut when long. */
const char *digest_show(struct slice s, char *buf, size_t cap);
/* Whether a header value uses the Digest scheme (even if it does not parse). */
bool digest_is_scheme(struct slice v);

/* Writes a fresh nonce for realm (NONCE_STR_LEN chars + NUL).  0 or -EIO. */
int nonce_make(struct digest *d, struct slice realm, char out[NONCE_STR_LEN + 1]);
/* 0 and *ni when nonce was issued by this key for realm; -EBADMSG otherwise. */
int nonce_check(const struct digest *d, struct slice realm, struct slice nonce,
                struct nonce_info *ni);

/*
 * Records nc for a nonce that passed every other check.  0 when nc is above
 * the last one seen (or the nonce is new); -EALREADY with *last when not;
 * -ESTALE when the nonce may have been dropped from the table; -ENOMEM.
 */
int replay_note(struct digest *d, const struct nonce_info *ni, uint32_t nc, uint32_t *last);
void replay_fini(struct digest *d);

#endif
