/* Digest authentication, client side: parse and pick challenges, build the answer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "domain/digest_client.h"
#include "domain/digest_priv.h"

static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	if (whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static bool has_ctl(struct slice s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

/*
 * Copies one challenge value without its quoted-pairs.  The value is
 * echoed into our own header line later, so a bare '"' (sip_auth_decode()
 * only checks the outer quotes) or a control character (a folded CRLF
 * included) is refused here rather than escaped there.
 */
static int ch_copy(struct slice v, const char *name, char *dst, size_t cap, size_t *len, char *why,
                   size_t whylen)
{
	struct slice u;
	int err = digest_unq(v, dst, cap - 1, &u);

	if (err == -E2BIG || (!err && u.len > cap - 1))
		return fail(why, whylen, -EBADMSG, "%s over %zu bytes", name, cap - 1);
	if (err)
		return fail(why, whylen, -EBADMSG, "%s ends in a lone backslash", name);
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] == '\\')
			i++;
		else if (v.p[i] == '"')
			return fail(why, whylen, -EBADMSG, "%s has an unescaped quote", name);
	}
	if (has_ctl(u))
		return fail(why, whylen, -EBADMSG, "%s has a control character", name);
	if (u.p != dst)
		memmove(dst, u.p, u.len);
	dst[u.len] = '\0';
	*len = u.len;
	return 0;
}

/* "MD5", "SHA-256", either with "-sess"; absent means MD5 (RFC 2617 3.2.1). */
static int ch_alg(struct digest_challenge *ch, struct slice a, char *why, size_t whylen)
{
	static const char sess[] = "-sess";
	const size_t sl = sizeof(sess) - 1;
	struct slice base = a;
	char s[64];

	if (!a.p)
		return 0;
	if (a.len > sl && slice_ieq_cstr((struct slice){a.p + a.len - sl, sl}, sess)) {
		base.len -= sl;
		ch->sess = true;
	}
	if (digest_alg_from(base, &ch->alg))
		return fail(why, whylen, -ENOTSUP, "algorithm '%s' not supported",
		            digest_show(a, s, sizeof(s)));
	return 0;
}

/* qop-options: a comma list of tokens; unknown ones are ignored (RFC 2617 3.2.1). */
static int ch_qop(struct digest_challenge *ch, struct slice q, char *why, size_t whylen)
{
	char buf[256], s[64];
	size_t len;
	const char *p, *end;
	bool any = false;
	int err;

	if (!q.p)
		return 0;
	err = ch_copy(q, "qop", buf, sizeof(buf), &len, why, whylen);
	if (err)
		return err;
	for (p = buf, end = buf + len; p <= end;) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		struct slice t = slice_trim((struct slice){p, (size_t)((c ? c : end) - p)});

		any |= t.len > 0;
		if (slice_ieq_cstr(t, "auth"))
			ch->qop |= DIGEST_QOP_AUTH;
		else if (slice_ieq_cstr(t, "auth-int"))
			ch->qop |= DIGEST_QOP_AUTH_INT;
		if (!c)
			break;
		p = c + 1;
	}
	if (!any)
		return fail(why, whylen, -EBADMSG, "empty qop");
	if (!ch->qop)
		return fail(why, whylen, -ENOTSUP, "qop '%s' not supported",
		            digest_show((struct slice){buf, len}, s, sizeof(s)));
	return 0;
}

int digest_challenge_parse(struct digest_challenge *ch, struct slice value, char *why,
                           size_t whylen)
{
	struct sip_auth a;
	struct sip_perr pe;
	char s[64];
	int err;

	memset(ch, 0, sizeof(*ch));
	if (whylen)
		why[0] = '\0';
	/* The same parser reads credentials and challenges (RFC 3261 25.1). */
	if (sip_auth_decode(&a, value, &pe))
		return fail(why, whylen, -EBADMSG, "%s at byte %zu", pe.what, pe.offset);
	if (!slice_ieq_cstr(a.scheme, "Digest"))
		return fail(why, whylen, -ENOTSUP, "auth scheme '%s' is not Digest",
		            digest_show(a.scheme, s, sizeof(s)));
	if (!a.realm.p)
		return fail(why, whylen, -EBADMSG, "challenge without realm");
	if (!a.nonce.len)
		return fail(why, whylen, -EBADMSG, "challenge without nonce");
	err = ch_copy(a.realm, "realm", ch->realm, sizeof(ch->realm), &ch->realm_len, why, whylen);
	if (!err)
		err = ch_copy(a.nonce, "nonce", ch->nonce, sizeof(ch->nonce), &ch->nonce_len, why,
		              whylen);
	if (!err && a.opaque.p) {
		ch->has_opaque = true;
		err = ch_copy(a.opaque, "opaque", ch->opaque, sizeof(ch->opaque), &ch->opaque_len,
		              why, whylen);
	}
	if (!err)
		err = ch_alg(ch, a.algorithm, why, whylen);
	if (!err)
		err = ch_qop(ch, a.qop, why, whylen);
	/* A -sess HA1 mixes in the cnonce, which only exists with qop. */
	if (!err && ch->sess && !ch->qop)
		err = fail(why, whylen, -ENOTSUP, "%s-sess without qop not supported",
		           digest_alg_name(ch->alg));
	ch->stale = a.stale;
	if (err)
		memset(ch, 0, sizeof(*ch));
	return err;
}

/* ---------------------------------------------------------------- pick */

/* Higher is preferred: algorithm strength, then qop, then not -sess. */
static unsigned ch_rank(const struct digest_challenge *ch)
{
	return (ch->alg == DIGEST_ALG_SHA256 ? 4u : 0u) + (ch->qop ? 2u : 0u) +
	       (ch->sess ? 0u : 1u);
}

int digest_challenge_pick(struct digest_challenge *out, const struct sip_msg *resp, char *why,
                          size_t whylen)
{
	enum sip_hdr_id id;
	const char *hname;
	struct digest_challenge ch;
	char sub[DIGEST_REASON_LEN];
	unsigned n = 0, best = 0;
	bool have = false;
	int first = 0;

	if (whylen)
		why[0] = '\0';
	if (resp->req || (resp->status != 401 && resp->status != 407))
		return fail(why, whylen, -EINVAL, "not a 401 or 407 response");
	id = resp->status == 401 ? SIP_HDR_WWW_AUTHENTICATE : SIP_HDR_PROXY_AUTHENTICATE;
	hname = resp->status == 401 ? "WWW-Authenticate" : "Proxy-Authenticate";
	for (uint32_t i = 0; i < resp->nhdr; i++) {
		int err;

		if (resp->hdr[i].id != id)
			continue;
		n++;
		if (!digest_is_scheme(resp->hdr[i].value))
			continue;
		err = digest_challenge_parse(&ch, resp->hdr[i].value, sub, sizeof(sub));
		if (err) {
			/* The far end's preferred challenge explains a failure best. */
			if (!first)
				first = fail(why, whylen, err, "%s %u: %s", hname, n, sub);
			continue;
		}
		if (!have || ch_rank(&ch) > best) {
			*out = ch;
			best = ch_rank(&ch);
			have = true;
		}
	}
	if (have) {
		out->proxy = resp->status == 407;
		if (whylen)
			why[0] = '\0';
		return 0;
	}
	return first ? first : fail(why, whylen, -ENOENT, "no Digest challenge in %s", hname);
}

/* -------------------------------------------------------------- answer */

void digest_client_init(struct digest_client *dc)
{
	memset(dc, 0, sizeof(*dc));
}

/* The next nonce-count for the challenge's (realm, nonce); 0 when it ran out. */
static int next_nc(struct digest_client *dc, const struct digest_challenge *ch, uint32_t *nc)
{
	const struct slice parts[] = {{ch->realm, ch->realm_len}, {ch->nonce, ch->nonce_len}};
	uint8_t h[DIGEST_MAX_HASH];
	size_t pick = 0;
	int err = digest_hash_join(DIGEST_ALG_SHA256, parts, ARRAY_SIZE(parts), h);

	if (err)
		return err;
	for (size_t i = 0; i < DIGEST_CLIENT_NONCES; i++) {
		if (dc->slot[i].nc && !memcmp(dc->slot[i].key, h, sizeof(dc->slot[i].key))) {
			pick = i;
			goto found;
		}
		if (dc->slot[i].used < dc->slot[pick].used)
			pick = i;
	}
	memcpy(dc->slot[pick].key, h, sizeof(dc->slot[pick].key));
	dc->slot[pick].nc = 0;
found:
	if (dc->slot[pick].nc == UINT32_MAX)
		return -ERANGE;
	*nc = ++dc->slot[pick].nc;
	dc->slot[pick].used = ++dc->stamp;
	return 0;
}

static int make_cnonce(struct digest_client *dc, char out[DIGEST_CNONCE_MAX + 1], size_t *len)
{
	uint8_t rnd[16];
	int n;

	if (!dc->cnonce_h) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -EIO;
		digest_hex(rnd, sizeof(rnd), out);
		*len = 2 * sizeof(rnd);
		return 0;
	}
	n = dc->cnonce_h(dc->cnonce_arg, out, DIGEST_CNONCE_MAX);
	if (n < 0)
		return n;
	if (n == 0 || n > DIGEST_CNONCE_MAX || has_ctl((struct slice){out, (size_t)n}))
		return -EINVAL;
	out[n] = '\0';
	*len = (size_t)n;
	return 0;
}

/* A value echoed in the header line: non-empty, no control characters. */
static bool echo_ok(struct slice s)
{
	return s.len && !has_ctl(s) && !memchr(s.p, '\t', s.len);
}

/* HA1, or for -sess H(hex(HA1) ":" nonce ":" cnonce) (RFC 7616 3.4.2). */
static int client_ha1(const struct digest_challenge *ch, struct slice username,
                      struct slice password, struct slice cnonce, uint8_t ha1[DIGEST_MAX_HASH])
{
	char hex[2 * DIGEST_MAX_HASH + 1];
	size_t len = digest_alg_len(ch->alg);
	int err =
	    digest_ha1(ch->alg, username, (struct slice){ch->realm, ch->realm_len}, password, ha1);

	if (err || !ch->sess)
		return err;
	digest_hex(ha1, len, hex);
	{
		const struct slice parts[] = {{hex, 2 * len}, {ch->nonce, ch->nonce_len}, cnonce};

		err = digest_hash_join(ch->alg, parts, ARRAY_SIZE(parts), ha1);
	}
	OPENSSL_cleanse(hex, sizeof(hex));
	return err;
}

static int write_answer(struct buf *b, const struct digest_challenge *ch,
                        const struct digest_params *prm, struct slice username,
                        const char *response)
{
	int err = buf_append_cstr(b, "Digest username=");

	if (!err)
		err = digest_append_quoted(b, username);
	if (!err)
		err = buf_append_cstr(b, ", realm=");
	if (!err)
		err = digest_append_quoted(b, (struct slice){ch->realm, ch->realm_len});
	if (!err)
		err = buf_append_cstr(b, ", nonce=");
	if (!err)
		err = digest_append_quoted(b, prm->nonce);
	if (!err)
		err = buf_append_cstr(b, ", uri=");
	if (!err)
		err = digest_append_quoted(b, prm->uri);
	if (!err)
		err = buf_printf(b, ", response=\"%s\", algorithm=%s%s", response,
		                 digest_alg_name(ch->alg), ch->sess ? "-sess" : "");
	if (!err && prm->qop.len) {
		err = buf_append_cstr(b, ", cnonce=");
		if (!err)
			err = digest_append_quoted(b, prm->cnonce);
		if (!err)
			err = buf_printf(b, ", qop=" SLICE_FMT ", nc=" SLICE_FMT,
			                 SLICE_ARG(prm->qop), SLICE_ARG(prm->nc));
	}
	if (!err && ch->has_opaque) {
		err = buf_append_cstr(b, ", opaque=");
		if (!err)
			err = digest_append_quoted(b, (struct slice){ch->opaque, ch->opaque_len});
	}
	return err;
}

int digest_client_answer(struct buf *out, struct digest_client *dc,
                         const struct digest_challenge *ch, struct slice method, struct slice uri,
                         struct slice username, struct slice password, struct slice body)
{
	char cnonce[DIGEST_CNONCE_MAX + 1], ncx[9], resx[2 * DIGEST_MAX_HASH + 1];
	uint8_t ha1[DIGEST_MAX_HASH], res[DIGEST_MAX_HASH];
	struct digest_params prm = {
	    .alg = ch->alg,
	    .nonce = {ch->nonce, ch->nonce_len},
	    .method = method,
	    .uri = uri,
	    .body = body,
	};
	size_t cnlen = 0, mark = out->len;
	uint32_t nc = 0;
	int err;

	if (!echo_ok(username) || !echo_ok(method) || memchr(method.p, ' ', method.len) ||
	    !echo_ok(uri) || (unsigned)ch->alg >= DIGEST_ALG__COUNT)
		return -EINVAL;
	/* auth first: it survives anything on the path that rewrites the body (SDP). */
	if (ch->qop & DIGEST_QOP_AUTH)
		prm.qop = SLICE("auth");
	else if (ch->qop & DIGEST_QOP_AUTH_INT)
		prm.qop = SLICE("auth-int");
	if (prm.qop.len) {
		err = make_cnonce(dc, cnonce, &cnlen);
		if (!err)
			err = next_nc(dc, ch, &nc);
		if (err)
			return err;
		snprintf(ncx, sizeof(ncx), "%08x", (unsigned)nc);
		prm.nc = (struct slice){ncx, 8};
		prm.cnonce = (struct slice){cnonce, cnlen};
	}
	err = client_ha1(ch, username, password, prm.cnonce, ha1);
	if (!err)
		err = digest_response(&prm, ha1, res);
	OPENSSL_cleanse(ha1, sizeof(ha1));
	if (err)
		return err;
	digest_hex(res, digest_alg_len(ch->alg), resx);
	err = write_answer(out, ch, &prm, username, resx);
	if (err && out->p) {
		out->len = mark;
		out->p[mark] = '\0';
	}
	return err;
}
