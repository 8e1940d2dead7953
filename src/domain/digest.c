/* Digest authentication, server side: HA1 and responses, challenges, verification. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "domain/digest_priv.h"

static const struct {
	const char *name;
	size_t len;
} algs[DIGEST_ALG__COUNT] = {
    [DIGEST_ALG_MD5] = {"MD5", 16},
    [DIGEST_ALG_SHA256] = {"SHA-256", 32},
};

static const EVP_MD *alg_md(enum digest_alg alg)
{
	return alg == DIGEST_ALG_SHA256 ? EVP_sha256() : EVP_md5();
}

const char *digest_alg_name(enum digest_alg alg)
{
	return (unsigned)alg < DIGEST_ALG__COUNT ? algs[alg].name : "?";
}

size_t digest_alg_len(enum digest_alg alg)
{
	return (unsigned)alg < DIGEST_ALG__COUNT ? algs[alg].len : 0;
}

int digest_alg_from(struct slice name, enum digest_alg *alg)
{
	for (unsigned i = 0; i < DIGEST_ALG__COUNT; i++) {
		if (slice_ieq_cstr(name, algs[i].name)) {
			*alg = (enum digest_alg)i;
			return 0;
		}
	}
	return -ENOENT;
}

static const char *const outcome_names[DIGEST_OUTCOME__COUNT] = {
    "ok", "stale", "fail", "replay", "malformed",
};

const char *digest_outcome_name(enum digest_outcome o)
{
	return (unsigned)o < DIGEST_OUTCOME__COUNT ? outcome_names[o] : "?";
}

/* ------------------------------------------------------------- hashing */

int digest_hash_join(enum digest_alg alg, const struct slice *parts, size_t n,
                     uint8_t out[DIGEST_MAX_HASH])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, alg_md(alg), NULL);
	for (size_t i = 0; ok && i < n; i++) {
		if (i)
			ok = EVP_DigestUpdate(ctx, ":", 1);
		if (ok && parts[i].len)
			ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].len);
	}
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

void digest_hex(const uint8_t *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int digest_unhex(struct slice hex, uint8_t *out, size_t n)
{
	if (hex.len != 2 * n)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex.p[2 * i]), lo = hexval(hex.p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int digest_ha1(enum digest_alg alg, struct slice username, struct slice realm,
               struct slice password, uint8_t out[DIGEST_MAX_HASH])
{
	const struct slice parts[] = {username, realm, password};

	if ((unsigned)alg >= DIGEST_ALG__COUNT)
		return -EINVAL;
	return digest_hash_join(alg, parts, ARRAY_SIZE(parts), out);
}

int digest_response(const struct digest_params *prm, const uint8_t *ha1,
                    uint8_t out[DIGEST_MAX_HASH])
{
	char ha1x[2 * DIGEST_MAX_HASH + 1], ha2x[2 * DIGEST_MAX_HASH + 1];
	char hbodyx[2 * DIGEST_MAX_HASH + 1];
	uint8_t ha2[DIGEST_MAX_HASH];
	size_t len = digest_alg_len(prm->alg);
	struct slice a2[] = {prm->method, prm->uri, {hbodyx, 2 * len}};
	size_t na2 = 2;
	int err;

	if (len == 0)
		return -EINVAL;
	/* auth-int: A2 = method ":" uri ":" H(entity-body) (RFC 7616 3.4.3). */
	if (slice_ieq_cstr(prm->qop, "auth-int")) {
		err = digest_hash_join(prm->alg, &prm->body, 1, ha2);
		if (err)
			return err;
		digest_hex(ha2, len, hbodyx);
		na2 = 3;
	}
	err = digest_hash_join(prm->alg, a2, na2, ha2);
	if (err)
		return err;
	digest_hex(ha1, len, ha1x);
	digest_hex(ha2, len, ha2x);
	if (prm->qop.len) {
		const struct slice parts[] = {{ha1x, 2 * len}, prm->nonce, prm->nc,
		                              prm->cnonce,     prm->qop,   {ha2x, 2 * len}};

		err = digest_hash_join(prm->alg, parts, ARRAY_SIZE(parts), out);
	} else {
		const struct slice parts[] = {{ha1x, 2 * len}, prm->nonce, {ha2x, 2 * len}};

		err = digest_hash_join(prm->alg, parts, ARRAY_SIZE(parts), out);
	}
	OPENSSL_cleanse(ha1x, sizeof(ha1x));
	return err;
}

/* ---------------------------------------------------------------- state */

void digest_cfg_default(struct digest_cfg *cfg)
{
	*cfg = (struct digest_cfg){
	    .nonce_lifetime_s = 300,
	    .replay_max = 16384,
	};
}

static void digest_destroy(void *arg)
{
	struct digest *d = arg;

	replay_fini(d);
	OPENSSL_cleanse(d->key, sizeof(d->key));
}

int digest_alloc(struct digest **dp, const struct digest_cfg *cfg)
{
	struct digest *d;
	int err;

	if (cfg->nonce_lifetime_s == 0 || cfg->replay_max == 0 ||
	    (cfg->key && (cfg->key_len < 16 || cfg->key_len > DIGEST_KEY_MAX)))
		return -EINVAL;
	/* The destructor copes with a half-built object: the table starts empty. */
	d = mem_alloc(sizeof(*d), digest_destroy);
	if (!d)
		return -ENOMEM;
	if (cfg->key) {
		memcpy(d->key, cfg->key, cfg->key_len);
		d->key_len = cfg->key_len;
	} else {
		d->key_len = 32;
		if (RAND_bytes(d->key, (int)d->key_len) != 1) {
			mem_deref(d);
			return -EIO;
		}
	}
	d->lifetime_ms = (uint64_t)cfg->nonce_lifetime_s * 1000u;
	d->replay_max = cfg->replay_max;
	d->allow_rfc2069 = cfg->allow_rfc2069;
	d->clock_ms = cfg->clock_ms;
	d->clock_arg = cfg->clock_arg;
	err = hmap_init(&d->replay, d->replay_max < 1024 ? d->replay_max : 1024);
	if (err) {
		mem_deref(d);
		return err;
	}
	*dp = d;
	return 0;
}

void digest_stats_get(const struct digest *d, struct digest_stats *st)
{
	*st = d->st;
	st->tracked = d->nreplay;
}

/* ------------------------------------------------------------ challenge */

int digest_append_quoted(struct buf *b, struct slice s)
{
	int err = buf_append_cstr(b, "\"");

	for (size_t i = 0; !err && i < s.len; i++) {
		if (s.p[i] == '"' || s.p[i] == '\\')
			err = buf_append(b, "\\", 1);
		if (!err)
			err = buf_append(b, &s.p[i], 1);
	}
	return err ? err : buf_append_cstr(b, "\"");
}

static bool realm_ok(struct slice realm)
{
	if (realm.len == 0 || realm.len > DIGEST_REALM_MAX)
		return false;
	for (size_t i = 0; i < realm.len; i++) {
		unsigned char c = (unsigned char)realm.p[i];

		/* No controls: the value lands in a header line. */
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

int digest_challenge(struct digest *d, struct buf out[DIGEST_NCHALLENGE], struct slice realm,
                     bool stale, bool sha256_first)
{
	char nonce[NONCE_STR_LEN + 1];
	const enum digest_alg order[2][DIGEST_NCHALLENGE] = {
	    {DIGEST_ALG_MD5, DIGEST_ALG_SHA256},
	    {DIGEST_ALG_SHA256, DIGEST_ALG_MD5},
	};
	int err;

	if (!realm_ok(realm))
		return -EINVAL;
	err = nonce_make(d, realm, nonce);
	for (size_t i = 0; !err && i < DIGEST_NCHALLENGE; i++) {
		struct buf *b = &out[i];

		err = buf_append_cstr(b, "Digest realm=");
		if (!err)
			err = digest_append_quoted(b, realm);
		if (!err)
			err = buf_printf(b, ", nonce=\"%s\", qop=\"auth\", algorithm=%s%s", nonce,
			                 digest_alg_name(order[sha256_first][i]),
			                 stale ? ", stale=true" : "");
	}
	return err;
}

/* --------------------------------------------------------------- verify */

int digest_unq(struct slice in, char *scratch, size_t cap, struct slice *out)
{
	size_t n = 0;

	if (!slice_chr(in, '\\')) {
		*out = in;
		return 0;
	}
	for (size_t i = 0; i < in.len; i++) {
		if (in.p[i] == '\\' && ++i == in.len)
			return -EBADMSG;
		if (n == cap)
			return -E2BIG;
		scratch[n++] = in.p[i];
	}
	*out = (struct slice){scratch, n};
	return 0;
}

const char *digest_show(struct slice s, char *buf, size_t cap)
{
	size_t n = 0, max = cap - 4;

	for (size_t i = 0; i < s.len && n < cap - 1; i++) {
		char c = s.p[i];

		if (n == max && s.len - i > 3) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		buf[n++] = (c >= 0x20 && c < 0x7f && c != '\'' && c != '"' && c != '\\') ? c : '?';
	}
	buf[n] = '\0';
	return buf;
}

static const struct {
	uint16_t status;
	const char *phrase;
} answers[DIGEST_OUTCOME__COUNT] = {
    [DIGEST_OK] = {0, ""},
    [DIGEST_STALE] = {401, "Unauthorized"},
    [DIGEST_FAIL] = {403, "Forbidden"},
    [DIGEST_REPLAY] = {403, "Forbidden"},
    [DIGEST_MALFORMED] = {400, "Bad Authorization"},
};

static int verdict(struct digest *d, struct digest_result *res, enum digest_outcome o,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int verdict(struct digest *d, struct digest_result *res, enum digest_outcome o,
                   const char *fmt, ...)
{
	va_list ap;

	res->outcome = o;
	res->status = answers[o].status;
	res->phrase = answers[o].phrase;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	d->st.outcomes[o]++;
	return 0;
}

/*
 * RFC 3261 22.4 wants the uri parameter to name the Request-URI.  Equal
 * as written, or equal once the parts that compare case-insensitively
 * (scheme, host, parameters) are folded: clients differ in the case they
 * echo but never in what they address.
 */
static bool uri_matches(struct slice uri, struct slice ruri)
{
	struct sip_uri a, b;

	if (slice_eq(uri, ruri))
		return true;
	if (sip_uri_decode(&a, uri, NULL) || sip_uri_decode(&b, ruri, NULL))
		return false;
	return a.scheme == b.scheme && slice_ieq(a.scheme_raw, b.scheme_raw) &&
	       slice_eq(a.user, b.user) && slice_ieq(a.host, b.host) && a.port == b.port &&
	       slice_ieq(a.params, b.params) && slice_eq(a.headers, b.headers) &&
	       slice_eq(a.opaque, b.opaque);
}

static bool is_hex8(struct slice s, uint32_t *v)
{
	uint8_t b[4];

	if (digest_unhex(s, b, 4))
		return false;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return true;
}

/* The credentials' values, unquoted. */
struct creds {
	struct slice user, realm, nonce, uri, cnonce, nc, qop, response;
	char sbuf[5][256]; /* scratch for values that carried quoted-pairs */
	char uribuf[1024];
};

static int creds_read(struct creds *c, const struct sip_auth *a)
{
	int err = digest_unq(a->username, c->sbuf[0], sizeof(c->sbuf[0]), &c->user);

	if (!err)
		err = digest_unq(a->realm, c->sbuf[1], sizeof(c->sbuf[1]), &c->realm);
	if (!err)
		err = digest_unq(a->nonce, c->sbuf[2], sizeof(c->sbuf[2]), &c->nonce);
	if (!err)
		err = digest_unq(a->cnonce, c->sbuf[3], sizeof(c->sbuf[3]), &c->cnonce);
	if (!err)
		err = digest_unq(a->response, c->sbuf[4], sizeof(c->sbuf[4]), &c->response);
	if (!err)
		err = digest_unq(a->uri, c->uribuf, sizeof(c->uribuf), &c->uri);
	c->nc = a->nc;
	c->qop = a->qop;
	return err;
}

int digest_verify(struct digest *d, const struct sip_auth *auth, struct slice method,
                  struct slice ruri, struct slice realm, const struct digest_creds_lookup *lookup,
                  struct digest_result *res)
{
	uint8_t ha1[DIGEST_MAX_HASH], want[DIGEST_MAX_HASH], got[DIGEST_MAX_HASH];
	char s1[64], s2[64];
	struct creds c;
	struct nonce_info ni;
	struct digest_params prm;
	uint32_t nc = 1, last = 0;
	uint64_t now;
	size_t hlen;
	bool known = true;
	int err;

	memset(res, 0, sizeof(*res));
	res->alg = DIGEST_ALG_MD5;
	if (!slice_ieq_cstr(auth->scheme, "Digest"))
		return verdict(d, res, DIGEST_MALFORMED, "auth scheme '%s' is not Digest",
		               digest_show(auth->scheme, s1, sizeof(s1)));
	if (creds_read(&c, auth))
		return verdict(d, res, DIGEST_MALFORMED,
		               "credentials with a bad or overlong value");
	if (!c.user.len || !c.realm.len || !c.nonce.len || !c.uri.len || !c.response.len)
		return verdict(d, res, DIGEST_MALFORMED, "credentials without %s",
		               !c.user.len    ? "username"
		               : !c.realm.len ? "realm"
		               : !c.nonce.len ? "nonce"
		               : !c.uri.len   ? "uri"
		                              : "response");
	if (auth->algorithm.len && digest_alg_from(auth->algorithm, &res->alg))
		return verdict(d, res, DIGEST_MALFORMED, "algorithm '%s' not offered",
		               digest_show(auth->algorithm, s1, sizeof(s1)));
	hlen = digest_alg_len(res->alg);

	if (c.qop.len) {
		if (!slice_ieq_cstr(c.qop, "auth"))
			return verdict(d, res, DIGEST_MALFORMED, "qop '%s' not offered",
			               digest_show(c.qop, s1, sizeof(s1)));
		if (!c.nc.len)
			return verdict(d, res, DIGEST_MALFORMED, "qop=auth without nc");
		if (!is_hex8(c.nc, &nc) || nc == 0)
			return verdict(d, res, DIGEST_MALFORMED, "bad nonce-count '%s'",
			               digest_show(c.nc, s1, sizeof(s1)));
		if (!c.cnonce.len)
			return verdict(d, res, DIGEST_MALFORMED, "qop=auth without cnonce");
	} else if (!d->allow_rfc2069) {
		return verdict(d, res, DIGEST_MALFORMED, "response without qop (RFC 2069) refused");
	} else if (c.nc.len || c.cnonce.len) {
		return verdict(d, res, DIGEST_MALFORMED, "nc or cnonce without qop");
	}
	if (digest_unhex(c.response, got, hlen))
		return verdict(d, res, DIGEST_MALFORMED, "response is not %zu hex digits",
		               2 * hlen);

	if (!slice_eq(c.realm, realm))
		return verdict(d, res, DIGEST_FAIL, "realm '%s' is not '%s'",
		               digest_show(c.realm, s1, sizeof(s1)),
		               digest_show(realm, s2, sizeof(s2)));
	if (!uri_matches(c.uri, ruri))
		return verdict(d, res, DIGEST_FAIL, "uri '%s' is not the Request-URI",
		               digest_show(c.uri, s1, sizeof(s1)));
	if (nonce_check(d, realm, c.nonce, &ni))
		return verdict(d, res, DIGEST_FAIL, "nonce not issued by this edge (user '%s')",
		               digest_show(c.user, s1, sizeof(s1)));

	err = lookup->h(lookup->arg, c.user, realm, res->alg, ha1);
	if (err == -ENOENT) {
		/* Same work as for a known user, so timing does not tell users apart. */
		known = false;
		memset(ha1, 0, sizeof(ha1));
	} else if (err) {
		return err;
	}
	prm = (struct digest_params){.alg = res->alg,
	                             .nonce = c.nonce,
	                             .nc = c.nc,
	                             .cnonce = c.cnonce,
	                             .qop = c.qop,
	                             .method = method,
	                             .uri = c.uri};
	err = digest_response(&prm, ha1, want);
	OPENSSL_cleanse(ha1, sizeof(ha1));
	if (err)
		return err;
	err = CRYPTO_memcmp(want, got, hlen);
	OPENSSL_cleanse(want, sizeof(want));
	if (!known)
		return verdict(d, res, DIGEST_FAIL, "unknown user '%s'",
		               digest_show(c.user, s1, sizeof(s1)));
	if (err)
		return verdict(d, res, DIGEST_FAIL, "wrong password for user '%s'",
		               digest_show(c.user, s1, sizeof(s1)));

	now = digest_now(d);
	if (ni.ts > now + NONCE_SKEW_MS || (now > ni.ts && now - ni.ts > d->lifetime_ms))
		return verdict(d, res, DIGEST_STALE, "nonce expired for user '%s' (age %lld s)",
		               digest_show(c.user, s1, sizeof(s1)),
		               (long long)((int64_t)(now - ni.ts) / 1000));
	err = replay_note(d, &ni, nc, &last);
	switch (err) {
	case 0:
		return verdict(d, res, DIGEST_OK, "user '%s' authenticated (%s)",
		               digest_show(c.user, s1, sizeof(s1)), digest_alg_name(res->alg));
	case -EALREADY:
		if (!c.qop.len)
			return verdict(d, res, DIGEST_STALE,
			               "nonce reused without qop by user '%s'",
			               digest_show(c.user, s1, sizeof(s1)));
		return verdict(d, res, DIGEST_REPLAY,
		               "replayed nonce-count %08x for user '%s' (last %08x)", (unsigned)nc,
		               digest_show(c.user, s1, sizeof(s1)), (unsigned)last);
	case -ESTALE:
		return verdict(d, res, DIGEST_STALE,
		               "nonce-count of this nonce forgotten (user '%s')",
		               digest_show(c.user, s1, sizeof(s1)));
	default:
		return err;
	}
}

bool digest_is_scheme(struct slice v)
{
	v = slice_trim(v);
	return v.len >= 6 && slice_ieq_cstr((struct slice){v.p, 6}, "Digest") &&
	       (v.len == 6 || v.p[6] == ' ' || v.p[6] == '\t' || v.p[6] == '\r');
}

int digest_auth_find(const struct sip_msg *msg, enum sip_hdr_id id, struct slice realm,
                     struct sip_auth *auth)
{
	struct sip_auth a;
	bool have = false;

	for (uint32_t i = 0; i < msg->nhdr; i++) {
		if (msg->hdr[i].id != id)
			continue;
		if (sip_auth_decode(&a, msg->hdr[i].value, NULL)) {
			/* Other schemes are not ours to judge (Basic's token68 is
			 * not even SIP grammar): only broken Digest is an error. */
			if (digest_is_scheme(msg->hdr[i].value))
				return -EBADMSG;
			continue;
		}
		if (!slice_ieq_cstr(a.scheme, "Digest"))
			continue;
		if (slice_eq(a.realm, realm)) {
			*auth = a;
			return 0;
		}
		if (!have) {
			*auth = a;
			have = true;
		}
	}
	return have ? 0 : -ENOENT;
}
