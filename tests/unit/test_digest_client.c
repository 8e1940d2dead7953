/* Unit tests: digest client side (RFC 7616 vectors, challenge parse and pick, answers the server
 * verifies). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "domain/digest_client.h"
#include "domain/digest_priv.h"

/* ------------------------------------------------------------ helpers */

/* Hex of H(s), computed without the module so the tests are not circular. */
static void ref_hash(enum digest_alg alg, const char *s, size_t len, char *hex)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	assert_int_equal(
	    EVP_Digest(s, len, md, &n, alg == DIGEST_ALG_SHA256 ? EVP_sha256() : EVP_md5(), NULL),
	    1);
	for (unsigned i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

static void ref_hashf(enum digest_alg alg, char *hex, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ref_hashf(enum digest_alg alg, char *hex, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	ref_hash(alg, text, (size_t)n, hex);
}

/* The cnonce hook: a fixed string, so answers are reproducible. */
static int fixed_cnonce(void *arg, char *out, size_t cap)
{
	const char *s = arg;
	size_t n = strlen(s);

	if (n > cap)
		return -E2BIG;
	memcpy(out, s, n);
	return (int)n;
}

static int failing_cnonce(void *arg, char *out, size_t cap)
{
	(void)arg;
	(void)out;
	(void)cap;
	return -EIO;
}

/* An answer as the server reads it, values unquoted. */
struct parsed {
	struct sip_auth a;
	char sbuf[6][600];
	struct slice user, realm, nonce, uri, cnonce, opaque;
};

static void parse_answer(struct parsed *p, const struct buf *b)
{
	char why[200];

	assert_int_equal(sip_auth_decode(&p->a, buf_slice(b), NULL), 0);
	assert_true(slice_eq(p->a.scheme, SLICE("Digest")));
	assert_int_equal(digest_unq(p->a.username, p->sbuf[0], 600, &p->user), 0);
	assert_int_equal(digest_unq(p->a.realm, p->sbuf[1], 600, &p->realm), 0);
	assert_int_equal(digest_unq(p->a.nonce, p->sbuf[2], 600, &p->nonce), 0);
	assert_int_equal(digest_unq(p->a.uri, p->sbuf[3], 600, &p->uri), 0);
	assert_int_equal(digest_unq(p->a.cnonce, p->sbuf[4], 600, &p->cnonce), 0);
	assert_int_equal(digest_unq(p->a.opaque, p->sbuf[5], 600, &p->opaque), 0);
	(void)why;
}

static void parse_ok(struct digest_challenge *ch, const char *value)
{
	char why[DIGEST_REASON_LEN] = "";
	int err = digest_challenge_parse(ch, slice_cstr(value), why, sizeof(why));

	if (err)
		fail_msg("'%s': %d %s", value, err, why);
}

/* --------------------------------------------------- RFC 7616 3.9.1 */

#define V_REALM  "http-auth@example.org"
#define V_NONCE  "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define V_OPAQUE "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
#define V_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"

static void test_rfc7616_vectors(void **state)
{
	static const struct {
		const char *challenge, *alg, *response;
	} v[] = {
	    {"Digest realm=\"" V_REALM "\", qop=\"auth, auth-int\", algorithm=MD5, nonce=\"" V_NONCE
	     "\", opaque=\"" V_OPAQUE "\"",
	     "MD5", "8ca523f5e9506fed4657c9700eebdbec"},
	    {"Digest realm=\"" V_REALM "\",\r\n qop=\"auth, auth-int\",\r\n algorithm=SHA-256,\r\n "
	     "nonce=\"" V_NONCE "\",\r\n opaque=\"" V_OPAQUE "\"",
	     "SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct digest_challenge ch;
		struct digest_client dc;
		struct buf b = {0};
		struct parsed p;

		parse_ok(&ch, v[i].challenge);
		assert_string_equal(ch.realm, V_REALM);
		assert_string_equal(ch.nonce, V_NONCE);
		assert_true(ch.has_opaque);
		assert_string_equal(ch.opaque, V_OPAQUE);
		assert_int_equal(ch.qop, DIGEST_QOP_AUTH | DIGEST_QOP_AUTH_INT);
		assert_string_equal(digest_alg_name(ch.alg), v[i].alg);
		assert_false(ch.sess);
		assert_false(ch.stale);

		digest_client_init(&dc);
		dc.cnonce_h = fixed_cnonce;
		dc.cnonce_arg = V_CNONCE;
		assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("GET"),
		                                      SLICE("/dir/index.html"), SLICE("Mufasa"),
		                                      SLICE("Circle of Life"), SLICE_NULL),
		                 0);
		parse_answer(&p, &b);
		assert_true(slice_eq(p.a.response, slice_cstr(v[i].response)));
		assert_true(slice_eq(p.user, SLICE("Mufasa")));
		assert_true(slice_eq(p.realm, SLICE(V_REALM)));
		assert_true(slice_eq(p.nonce, SLICE(V_NONCE)));
		assert_true(slice_eq(p.uri, SLICE("/dir/index.html")));
		assert_true(slice_eq(p.cnonce, SLICE(V_CNONCE)));
		assert_true(slice_eq(p.opaque, SLICE(V_OPAQUE)));
		assert_true(slice_eq(p.a.qop, SLICE("auth")));
		assert_true(slice_eq(p.a.nc, SLICE("00000001")));
		assert_true(slice_eq(p.a.algorithm, slice_cstr(v[i].alg)));
		/* The password never reaches the header. */
		assert_null(memmem(b.p, b.len, "Circle", 6));

		/* The same challenge again: next nonce-count, another response. */
		buf_reset(&b);
		assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("GET"),
		                                      SLICE("/dir/index.html"), SLICE("Mufasa"),
		                                      SLICE("Circle of Life"), SLICE_NULL),
		                 0);
		parse_answer(&p, &b);
		assert_true(slice_eq(p.a.nc, SLICE("00000002")));
		assert_false(slice_eq(p.a.response, slice_cstr(v[i].response)));
		buf_free(&b);
	}
}

/* ------------------------------------------------- parse: accepted */

static void test_parse_variants(void **state)
{
	struct digest_challenge ch;
	char v[DIGEST_CH_VALUE_MAX + 64];
	int n;
	(void)state;

	/* No algorithm is MD5; no qop is the RFC 2069 form; tokens unquoted. */
	parse_ok(&ch, "Digest realm=\"r\", nonce=abc123");
	assert_int_equal(ch.alg, DIGEST_ALG_MD5);
	assert_int_equal(ch.qop, 0);
	assert_string_equal(ch.nonce, "abc123");
	assert_false(ch.has_opaque);
	assert_false(ch.proxy);

	/* Names and values any case, -sess, stale, quoted algorithm. */
	parse_ok(&ch, "DIGEST REALM=\"r\", NONCE=\"n\", ALGORITHM=\"sha-256-SESS\", QOP=\"Auth\", "
	              "stale=TRUE");
	assert_int_equal(ch.alg, DIGEST_ALG_SHA256);
	assert_true(ch.sess);
	assert_true(ch.stale);
	assert_int_equal(ch.qop, DIGEST_QOP_AUTH);
	parse_ok(&ch, "Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess, qop=\"auth-int\", "
	              "stale=false");
	assert_int_equal(ch.alg, DIGEST_ALG_MD5);
	assert_true(ch.sess);
	assert_false(ch.stale);
	assert_int_equal(ch.qop, DIGEST_QOP_AUTH_INT);

	/* Unknown qop options and parameters are ignored (RFC 2617 3.2.1). */
	parse_ok(&ch, "Digest realm=\"r\", domain=\"sip:a sip:b\", nonce=\"n\", "
	              "qop=\"auth-conf,auth\", charset=UTF-8, userhash=false");
	assert_int_equal(ch.qop, DIGEST_QOP_AUTH);

	/* Quoted-pairs removed; an empty realm and an empty opaque are values. */
	parse_ok(&ch, "Digest realm=\"a\\\"b\\\\c\\d\", nonce=\"n\\,1\", opaque=\"\"");
	assert_string_equal(ch.realm, "a\"b\\cd");
	assert_int_equal(ch.realm_len, 6);
	assert_string_equal(ch.nonce, "n,1");
	assert_true(ch.has_opaque);
	assert_int_equal(ch.opaque_len, 0);
	parse_ok(&ch, "Digest realm=\"\", nonce=\"n\"");
	assert_int_equal(ch.realm_len, 0);

	/* The longest nonce that fits. */
	n = snprintf(v, sizeof(v), "Digest realm=\"r\", nonce=\"");
	memset(v + n, 'x', DIGEST_CH_VALUE_MAX);
	memcpy(v + n + DIGEST_CH_VALUE_MAX, "\"", 2);
	parse_ok(&ch, v);
	assert_int_equal(ch.nonce_len, DIGEST_CH_VALUE_MAX);
}

/* ------------------------------------------------- parse: refused */

static void test_parse_refused(void **state)
{
	static const struct {
		const char *value;
		int err;
		const char *why;
	} v[] = {
	    {"Digest realm=\"r\"", -EBADMSG, "challenge without nonce"},
	    {"Digest realm=\"r\", nonce=\"\"", -EBADMSG, "challenge without nonce"},
	    {"Digest nonce=\"n\"", -EBADMSG, "challenge without realm"},
	    {"Digest", -EBADMSG, "challenge without realm"},
	    {"", -EBADMSG, "missing auth scheme at byte 0"},
	    {"Digest realm=, nonce=\"n\"", -EBADMSG, "empty auth parameter value at byte 13"},
	    {"Digest realm=\"r\", , nonce=\"n\"", -EBADMSG, "empty auth parameter at byte"},
	    {"Digest realm=\"r, nonce=\"n\"", -EBADMSG, "at byte 7"},
	    {"Digest realm=\"a\"b\"c\", nonce=\"n\"", -EBADMSG, "realm has an unescaped quote"},
	    {"Digest realm=\"r\", nonce=\"n\\\"", -EBADMSG, "at byte 17"},
	    {"Digest realm=\"a\x01z\", nonce=\"n\"", -EBADMSG, "realm has a control character"},
	    {"Digest realm=\"a\r\n b\", nonce=\"n\"", -EBADMSG, "realm has a control character"},
	    {"Digest realm=\"r\", nonce=\"n\", opaque=\"o\x7f\"", -EBADMSG,
	     "opaque has a control character"},
	    {"Digest realm=\"r\", nonce=\"n\", qop=\"\"", -EBADMSG, "empty qop"},
	    {"Digest realm=\"r\", nonce=\"n\", qop=\" , \"", -EBADMSG, "empty qop"},
	    {"Digest realm=\"r\", nonce=\"n\", qop=\"auth-conf\"", -ENOTSUP,
	     "qop 'auth-conf' not supported"},
	    {"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256", -ENOTSUP,
	     "algorithm 'SHA-512-256' not supported"},
	    {"Digest realm=\"r\", nonce=\"n\", algorithm=-sess", -ENOTSUP,
	     "algorithm '-sess' not supported"},
	    {"Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess", -ENOTSUP,
	     "MD5-sess without qop not supported"},
	    {"Basic realm=\"r\"", -ENOTSUP, "auth scheme 'Basic' is not Digest"},
	};
	struct digest_challenge ch;
	char why[DIGEST_REASON_LEN], big[1200];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		memset(&ch, 0x55, sizeof(ch));
		assert_int_equal(
		    digest_challenge_parse(&ch, slice_cstr(v[i].value), why, sizeof(why)),
		    v[i].err);
		if (!strstr(why, v[i].why))
			fail_msg("'%s': reason '%s', want '%s'", v[i].value, why, v[i].why);
		/* Nothing half-parsed is left behind. */
		assert_int_equal(ch.nonce_len, 0);
		assert_int_equal(ch.realm[0], '\0');
	}

	/* Overlong values. */
	snprintf(big, sizeof(big), "Digest realm=\"r\", nonce=\"%0*d\"", DIGEST_CH_VALUE_MAX + 1,
	         0);
	assert_int_equal(digest_challenge_parse(&ch, slice_cstr(big), why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "nonce over 512 bytes");
	snprintf(big, sizeof(big), "Digest realm=\"%0*d\", nonce=\"n\"", DIGEST_REALM_MAX + 1, 0);
	assert_int_equal(digest_challenge_parse(&ch, slice_cstr(big), why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "realm over 255 bytes");
	snprintf(big, sizeof(big), "Digest realm=\"r\", nonce=n, opaque=\"%0*d\"",
	         DIGEST_CH_VALUE_MAX + 1, 0);
	assert_int_equal(digest_challenge_parse(&ch, slice_cstr(big), why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "opaque over 512 bytes");
	/* why may be absent. */
	assert_int_equal(digest_challenge_parse(&ch, SLICE("Digest realm=\"r\""), NULL, 0),
	                 -EBADMSG);
}

/* ---------------------------------------------------------------- pick */

struct resp {
	char text[4096];
	struct sip_msg *msg;
};

/* A response with the given status and extra header lines ("Name: value\r\n" each). */
static void resp_make(struct resp *r, int status, const char *hdrs)
{
	int n = snprintf(r->text, sizeof(r->text),
	                 "SIP/2.0 %d Whatever\r\n"
	                 "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
	                 "From: <sip:edge@example.com>;tag=1\r\n"
	                 "To: <sip:bob@far.example>;tag=2\r\n"
	                 "Call-ID: pick-1\r\n"
	                 "CSeq: 1 INVITE\r\n"
	                 "%s"
	                 "Content-Length: 0\r\n\r\n",
	                 status, hdrs);

	assert_true(n > 0 && (size_t)n < sizeof(r->text));
	assert_int_equal(sip_msg_decode(&r->msg, r->text, (size_t)n, NULL, NULL, NULL), 0);
}

static int pick(const char *hdrs, int status, struct digest_challenge *ch, char *why)
{
	struct resp r;
	int err;

	resp_make(&r, status, hdrs);
	err = digest_challenge_pick(ch, r.msg, why, DIGEST_REASON_LEN);
	mem_deref(r.msg);
	return err;
}

#define WWW(v)   "WWW-Authenticate: " v "\r\n"
#define PROXY(v) "Proxy-Authenticate: " v "\r\n"

static void test_pick(void **state)
{
	struct digest_challenge ch;
	char why[DIGEST_REASON_LEN];
	(void)state;

	/* RFC 8760: SHA-256 wins in whichever order the far end sends. */
	assert_int_equal(pick(WWW("Digest realm=\"r\", nonce=\"n1\", qop=\"auth\", algorithm=MD5")
	                          WWW("Digest realm=\"r\", nonce=\"n2\", qop=\"auth\", "
	                              "algorithm=SHA-256"),
	                      401, &ch, why),
	                 0);
	assert_int_equal(ch.alg, DIGEST_ALG_SHA256);
	assert_string_equal(ch.nonce, "n2");
	assert_false(ch.proxy);
	assert_string_equal(why, "");
	assert_int_equal(pick(WWW("Digest realm=\"r\", nonce=\"n2\", algorithm=SHA-256, qop=auth")
	                          WWW("Digest realm=\"r\", nonce=\"n1\", algorithm=MD5, qop=auth"),
	                      401, &ch, why),
	                 0);
	assert_string_equal(ch.nonce, "n2");

	/* With qop over without; plain over -sess; the far end's order among equals. */
	assert_int_equal(pick(WWW("Digest realm=\"r\", nonce=\"a\"")
	                          WWW("Digest realm=\"r\", nonce=\"b\", qop=auth"),
	                      401, &ch, why),
	                 0);
	assert_string_equal(ch.nonce, "b");
	assert_int_equal(pick(WWW("Digest realm=\"r\", nonce=\"a\", qop=auth, algorithm=MD5-sess")
	                          WWW("Digest realm=\"r\", nonce=\"b\", qop=auth")
	                              WWW("Digest realm=\"r\", nonce=\"c\", qop=auth"),
	                      401, &ch, why),
	                 0);
	assert_string_equal(ch.nonce, "b");

	/* Other schemes, unsupported and broken Digest ones are skipped. */
	assert_int_equal(pick(WWW("Basic realm=\"r\"") WWW("Negotiate abcDEF==")
	                          WWW("Digest realm=\"r\", nonce=\"x\", algorithm=SHA-512-256")
	                              WWW("Digest realm=\"r\"")
	                                  WWW("Digest realm=\"r\", nonce=\"m\", algorithm=MD5"),
	                      401, &ch, why),
	                 0);
	assert_string_equal(ch.nonce, "m");
	assert_int_equal(ch.alg, DIGEST_ALG_MD5);

	/* 407: Proxy-Authenticate only, answered in Proxy-Authorization. */
	assert_int_equal(pick(WWW("Digest realm=\"www\", nonce=\"w\", algorithm=SHA-256")
	                          PROXY("Digest realm=\"proxy\", nonce=\"p\""),
	                      407, &ch, why),
	                 0);
	assert_string_equal(ch.realm, "proxy");
	assert_true(ch.proxy);
	assert_int_equal(pick(PROXY("Digest realm=\"proxy\", nonce=\"p\""), 401, &ch, why),
	                 -ENOENT);
	assert_string_equal(why, "no Digest challenge in WWW-Authenticate");

	/* Nothing usable: the first Digest challenge's error, its header named. */
	assert_int_equal(pick(WWW("Basic realm=\"r\"")
	                          WWW("Digest realm=\"r\", nonce=\"x\", algorithm=SHA-512-256")
	                              WWW("Digest realm=\"r\""),
	                      401, &ch, why),
	                 -ENOTSUP);
	assert_string_equal(why, "WWW-Authenticate 2: algorithm 'SHA-512-256' not supported");
	assert_int_equal(pick(PROXY("Digest realm=\"r\", nonce=\"n\", qop=\"\""), 407, &ch, why),
	                 -EBADMSG);
	assert_string_equal(why, "Proxy-Authenticate 1: empty qop");
	assert_int_equal(pick(WWW("Basic realm=\"r\""), 401, &ch, why), -ENOENT);
	assert_int_equal(pick("", 407, &ch, why), -ENOENT);
	assert_string_equal(why, "no Digest challenge in Proxy-Authenticate");
	assert_int_equal(pick(WWW("Digest realm=\"r\", nonce=\"n\""), 403, &ch, why), -EINVAL);
	assert_int_equal(pick(WWW("Digest realm=\"r\", nonce=\"n\""), 200, &ch, why), -EINVAL);
}

/* --------------------------------------- round trip through digest.c */

#define REALM "sip.twilio.com"
#define RURI  "sip:bob@far.example:5060;transport=udp"

struct user {
	const char *name, *pw;
};

static const struct user users[] = {
    {"alice", "wonderland"},
    {"we\"ird\\", "p\"a\\ss, word"},
};

/* The server's credential store; HA1 computed the textbook way. */
static int lookup_h(void *arg, struct slice username, struct slice realm, enum digest_alg alg,
                    uint8_t ha1[DIGEST_MAX_HASH])
{
	char hex[2 * DIGEST_MAX_HASH + 1];

	(void)arg;
	for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
		if (!slice_eq(username, slice_cstr(users[i].name)))
			continue;
		ref_hashf(alg, hex, "%s:" SLICE_FMT ":%s", users[i].name, SLICE_ARG(realm),
		          users[i].pw);
		assert_int_equal(digest_unhex(slice_cstr(hex), ha1, digest_alg_len(alg)), 0);
		return 0;
	}
	return -ENOENT;
}

static const struct digest_creds_lookup store = {lookup_h, NULL};

struct srv {
	struct digest *d;
	uint64_t now;
};

static uint64_t clock_h(void *arg)
{
	return *(uint64_t *)arg;
}

static void srv_init(struct srv *s, bool rfc2069)
{
	struct digest_cfg cfg;

	s->now = 1717171717000ull;
	digest_cfg_default(&cfg);
	cfg.clock_ms = clock_h;
	cfg.clock_arg = &s->now;
	cfg.allow_rfc2069 = rfc2069;
	assert_int_equal(digest_alloc(&s->d, &cfg), 0);
}

/* The server's two challenges as a 401, picked by the client. */
static void srv_challenge(struct srv *s, const char *realm, bool sha256_first,
                          struct digest_challenge *ch)
{
	struct buf out[DIGEST_NCHALLENGE] = {0};
	char hdrs[2048], why[DIGEST_REASON_LEN];
	struct resp r;

	assert_int_equal(digest_challenge(s->d, out, slice_cstr(realm), false, sha256_first), 0);
	snprintf(hdrs, sizeof(hdrs), "WWW-Authenticate: %.*s\r\nWWW-Authenticate: %.*s\r\n",
	         (int)out[0].len, out[0].p, (int)out[1].len, out[1].p);
	resp_make(&r, 401, hdrs);
	if (digest_challenge_pick(ch, r.msg, why, sizeof(why)))
		fail_msg("pick: %s", why);
	mem_deref(r.msg);
	buf_free(&out[0]);
	buf_free(&out[1]);
}

/* The server's verdict on one answer; the reason goes to reason when not NULL. */
static enum digest_outcome srv_verify(struct srv *s, const char *realm, const struct buf *b,
                                      char *reason)
{
	struct digest_result res;
	struct sip_auth a;

	assert_int_equal(sip_auth_decode(&a, buf_slice(b), NULL), 0);
	assert_int_equal(
	    digest_verify(s->d, &a, SLICE("INVITE"), SLICE(RURI), slice_cstr(realm), &store, &res),
	    0);
	if (reason)
		snprintf(reason, DIGEST_REASON_LEN, "%s", res.reason);
	return res.outcome;
}

static int answer(struct digest_client *dc, const struct digest_challenge *ch, const struct user *u,
                  struct buf *b)
{
	buf_reset(b);
	return digest_client_answer(b, dc, ch, SLICE("INVITE"), SLICE(RURI), slice_cstr(u->name),
	                            slice_cstr(u->pw), SLICE_NULL);
}

static void test_round_trip(void **state)
{
	static const char *const realms[] = {REALM, "we say \"hi\" \\o/"};
	struct digest_challenge ch, md5;
	struct digest_client dc;
	struct buf b1 = {0}, b2 = {0};
	struct srv s;
	char reason[DIGEST_REASON_LEN];
	(void)state;

	srv_init(&s, false);
	for (size_t r = 0; r < ARRAY_SIZE(realms); r++) {
		for (size_t u = 0; u < ARRAY_SIZE(users); u++) {
			const char *realm = realms[r];

			digest_client_init(&dc); /* real random cnonces here */
			/* The client takes SHA-256 whichever the server puts first. */
			srv_challenge(&s, realm, false, &ch);
			assert_int_equal(ch.alg, DIGEST_ALG_SHA256);
			assert_string_equal(ch.realm, realm);
			srv_challenge(&s, realm, true, &ch);
			assert_int_equal(ch.alg, DIGEST_ALG_SHA256);

			assert_int_equal(answer(&dc, &ch, &users[u], &b1), 0);
			assert_int_equal(srv_verify(&s, realm, &b1, reason), DIGEST_OK);
			assert_non_null(strstr(reason, "(SHA-256)"));
			/* The next request counts up and passes; the old one is a replay.
			 */
			assert_int_equal(answer(&dc, &ch, &users[u], &b2), 0);
			assert_non_null(strstr(b2.p, "nc=00000002"));
			assert_int_equal(srv_verify(&s, realm, &b2, NULL), DIGEST_OK);
			assert_int_equal(srv_verify(&s, realm, &b1, NULL), DIGEST_REPLAY);

			/* The MD5 challenge of the same nonce shares its count. */
			md5 = ch;
			md5.alg = DIGEST_ALG_MD5;
			assert_int_equal(answer(&dc, &md5, &users[u], &b1), 0);
			assert_non_null(strstr(b1.p, "nc=00000003"));
			assert_non_null(strstr(b1.p, "algorithm=MD5"));
			assert_int_equal(srv_verify(&s, realm, &b1, reason), DIGEST_OK);
			assert_non_null(strstr(reason, "(MD5)"));

			/* A wrong password fails and is not counted. */
			{
				const struct user bad = {users[u].name, "wrong"};

				assert_int_equal(answer(&dc, &ch, &bad, &b1), 0);
				assert_int_equal(srv_verify(&s, realm, &b1, NULL), DIGEST_FAIL);
			}
			/* A fresh nonce starts again at 1. */
			srv_challenge(&s, realm, true, &ch);
			assert_int_equal(answer(&dc, &ch, &users[u], &b1), 0);
			assert_non_null(strstr(b1.p, "nc=00000001"));
			assert_int_equal(srv_verify(&s, realm, &b1, NULL), DIGEST_OK);
		}
	}
	buf_free(&b1);
	buf_free(&b2);
	s.d = mem_deref(s.d);
}

static void test_round_trip_rfc2069(void **state)
{
	struct digest_challenge ch;
	struct digest_client dc;
	struct buf b = {0}, out[DIGEST_NCHALLENGE] = {0};
	struct srv s;
	char text[512], why[DIGEST_REASON_LEN];
	(void)state;

	/* The server's challenge without its qop: the client answers the old way. */
	srv_init(&s, true);
	digest_client_init(&dc);
	assert_int_equal(digest_challenge(s.d, out, SLICE(REALM), false, true), 0);
	snprintf(text, sizeof(text), "%.*s", (int)out[0].len, out[0].p);
	memcpy(strstr(text, "qop=\"auth\""), "xyz=\"auth\"", 10);
	assert_int_equal(digest_challenge_parse(&ch, slice_cstr(text), why, sizeof(why)), 0);
	assert_int_equal(ch.qop, 0);
	assert_int_equal(answer(&dc, &ch, &users[0], &b), 0);
	assert_null(strstr(b.p, "qop="));
	assert_null(strstr(b.p, "cnonce="));
	assert_null(strstr(b.p, "nc="));
	assert_int_equal(srv_verify(&s, REALM, &b, NULL), DIGEST_OK);
	buf_free(&b);
	buf_free(&out[0]);
	buf_free(&out[1]);
	s.d = mem_deref(s.d);
}

/* ------------------------------- answers the server does not offer */

/* -sess and auth-int against a reference computed here from RFC 7616 3.4.2/3.4.3. */
static void test_sess_auth_int(void **state)
{
	static const struct {
		const char *challenge;
		enum digest_alg alg;
		bool sess, auth_int;
	} v[] = {
	    {"Digest realm=\"r\", nonce=\"N\", qop=\"auth\", algorithm=MD5-sess", DIGEST_ALG_MD5,
	     true, false},
	    {"Digest realm=\"r\", nonce=\"N\", qop=\"auth\", algorithm=SHA-256-sess",
	     DIGEST_ALG_SHA256, true, false},
	    {"Digest realm=\"r\", nonce=\"N\", qop=\"auth-int\"", DIGEST_ALG_MD5, false, true},
	    {"Digest realm=\"r\", nonce=\"N\", qop=\"auth-int\", algorithm=SHA-256-sess",
	     DIGEST_ALG_SHA256, true, true},
	};
	static const char body[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n";
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char ha1[65], ha2[65], hb[65], want[65];
		struct digest_challenge ch;
		struct digest_client dc;
		struct buf b = {0};
		struct parsed p;

		parse_ok(&ch, v[i].challenge);
		digest_client_init(&dc);
		dc.cnonce_h = fixed_cnonce;
		dc.cnonce_arg = "c0ffee";
		assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("INVITE"),
		                                      SLICE("sip:x@y"), SLICE("u"), SLICE("pw"),
		                                      SLICE(body)),
		                 0);
		parse_answer(&p, &b);

		ref_hashf(v[i].alg, ha1, "u:r:pw");
		if (v[i].sess) {
			char a1[65];

			memcpy(a1, ha1, sizeof(a1));
			ref_hashf(v[i].alg, ha1, "%s:N:c0ffee", a1);
		}
		if (v[i].auth_int) {
			ref_hash(v[i].alg, body, strlen(body), hb);
			ref_hashf(v[i].alg, ha2, "INVITE:sip:x@y:%s", hb);
		} else {
			ref_hashf(v[i].alg, ha2, "INVITE:sip:x@y");
		}
		ref_hashf(v[i].alg, want, "%s:N:00000001:c0ffee:%s:%s", ha1,
		          v[i].auth_int ? "auth-int" : "auth", ha2);
		if (!slice_eq(p.a.response, slice_cstr(want)))
			fail_msg("%s: response " SLICE_FMT ", want %s", v[i].challenge,
			         SLICE_ARG(p.a.response), want);
		assert_true(slice_eq(p.a.qop, v[i].auth_int ? SLICE("auth-int") : SLICE("auth")));
		assert_non_null(strstr(b.p, v[i].sess ? "-sess," : "algorithm="));
		assert_false(ch.has_opaque);
		assert_null(strstr(b.p, "opaque"));
		buf_free(&b);
	}
}

/* ------------------------------------------- state and bad arguments */

static void test_nonce_counts(void **state)
{
	struct digest_challenge ch[DIGEST_CLIENT_NONCES + 1];
	struct digest_client dc;
	struct buf b = {0};
	char v[128];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(ch); i++) {
		snprintf(v, sizeof(v), "Digest realm=\"r\", nonce=\"n%zu\", qop=auth", i);
		parse_ok(&ch[i], v);
	}
	digest_client_init(&dc);
	dc.cnonce_h = fixed_cnonce;
	dc.cnonce_arg = "abc";
	/* Nonces interleaved keep their own counts. */
	for (unsigned round = 1; round <= 3; round++) {
		for (size_t i = 0; i < DIGEST_CLIENT_NONCES; i++) {
			snprintf(v, sizeof(v), "nc=%08x", round);
			assert_int_equal(answer(&dc, &ch[i], &users[0], &b), 0);
			assert_non_null(strstr(b.p, v));
		}
	}
	/* The same nonce in another realm is another nonce. */
	{
		struct digest_challenge other = ch[0];

		memcpy(other.realm, "s", 2);
		assert_int_equal(answer(&dc, &other, &users[0], &b), 0);
		assert_non_null(strstr(b.p, "nc=00000001"));
	}
	/* That pushed out the least recently used (ch[0]), which restarts. */
	assert_int_equal(answer(&dc, &ch[1], &users[0], &b), 0);
	assert_non_null(strstr(b.p, "nc=00000004"));
	assert_int_equal(answer(&dc, &ch[0], &users[0], &b), 0);
	assert_non_null(strstr(b.p, "nc=00000001"));
	/* A count that would wrap is refused rather than sent as 0. */
	for (size_t i = 0; i < DIGEST_CLIENT_NONCES; i++)
		if (dc.slot[i].nc == 1)
			dc.slot[i].nc = UINT32_MAX - 1;
	assert_int_equal(answer(&dc, &ch[0], &users[0], &b), 0);
	assert_non_null(strstr(b.p, "nc=ffffffff"));
	assert_int_equal(answer(&dc, &ch[0], &users[0], &b), -ERANGE);
	buf_free(&b);
}

static void test_bad_arguments(void **state)
{
	struct digest_challenge ch;
	struct digest_client dc;
	struct buf b = {0};
	(void)state;

	parse_ok(&ch, "Digest realm=\"r\", nonce=\"n\", qop=auth");
	digest_client_init(&dc);
	assert_int_equal(buf_append_cstr(&b, "kept"), 0);
	/* Echoed values cannot break the header line. */
	assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("INVITE"), SLICE("sip:x"),
	                                      SLICE("bob\r\nX-Evil: 1"), SLICE("pw"), SLICE_NULL),
	                 -EINVAL);
	assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("INVITE"), SLICE("sip:x\n"),
	                                      SLICE("bob"), SLICE("pw"), SLICE_NULL),
	                 -EINVAL);
	assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("INV ITE"), SLICE("sip:x"),
	                                      SLICE("bob"), SLICE("pw"), SLICE_NULL),
	                 -EINVAL);
	assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("INVITE"), SLICE_NULL,
	                                      SLICE("bob"), SLICE("pw"), SLICE_NULL),
	                 -EINVAL);
	assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("INVITE"), SLICE("sip:x"),
	                                      SLICE_NULL, SLICE("pw"), SLICE_NULL),
	                 -EINVAL);
	/* A cnonce hook's failure or bad output is passed on; no count is used. */
	dc.cnonce_h = failing_cnonce;
	assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("INVITE"), SLICE("sip:x"),
	                                      SLICE("bob"), SLICE("pw"), SLICE_NULL),
	                 -EIO);
	dc.cnonce_h = fixed_cnonce;
	dc.cnonce_arg = "bad\r\ncnonce";
	assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("INVITE"), SLICE("sip:x"),
	                                      SLICE("bob"), SLICE("pw"), SLICE_NULL),
	                 -EINVAL);
	dc.cnonce_arg = "";
	assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("INVITE"), SLICE("sip:x"),
	                                      SLICE("bob"), SLICE("pw"), SLICE_NULL),
	                 -EINVAL);
	assert_int_equal(b.len, 4);
	/* The default cnonce: 32 random hex digits, different each time. */
	dc.cnonce_h = NULL;
	assert_int_equal(digest_client_answer(&b, &dc, &ch, SLICE("INVITE"), SLICE("sip:x"),
	                                      SLICE("bob"), SLICE("pw"), SLICE_NULL),
	                 0);
	{
		struct parsed p1, p2;
		struct buf b2 = {0};
		uint8_t raw[16];

		assert_memory_equal(b.p, "kept", 4);
		assert_int_equal(sip_auth_decode(&p1.a, (struct slice){b.p + 4, b.len - 4}, NULL),
		                 0);
		assert_int_equal(digest_unhex(p1.a.cnonce, raw, sizeof(raw)), 0);
		assert_true(slice_eq(p1.a.nc, SLICE("00000001")));
		assert_int_equal(digest_client_answer(&b2, &dc, &ch, SLICE("INVITE"),
		                                      SLICE("sip:x"), SLICE("bob"), SLICE("pw"),
		                                      SLICE_NULL),
		                 0);
		parse_answer(&p2, &b2);
		assert_false(slice_eq(p1.a.cnonce, p2.a.cnonce));
		buf_free(&b2);
	}
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc7616_vectors), cmocka_unit_test(test_parse_variants),
	    cmocka_unit_test(test_parse_refused),   cmocka_unit_test(test_pick),
	    cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_round_trip_rfc2069),
	    cmocka_unit_test(test_sess_auth_int),   cmocka_unit_test(test_nonce_counts),
	    cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
