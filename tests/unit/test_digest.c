/* Unit tests: digest auth vectors (RFC 2617, RFC 7616), challenges and digest_verify outcomes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "domain/digest.h"

#define REALM "sip.example.test"
/* How far ahead of the clock a nonce may be dated (NONCE_SKEW_MS in nonce.c's header). */
#define NONCE_SKEW_TEST_MS 5000u
#define RURI               "sip:alice@acme.sip.example.test"

/* ------------------------------------------------ reference computation */

/* Hex of H(s), computed here without the module so the tests are not circular. */
static void ref_hash(enum digest_alg alg, const char *s, char *hex)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	assert_int_equal(EVP_Digest(s, strlen(s), md, &n,
	                            alg == DIGEST_ALG_SHA256 ? EVP_sha256() : EVP_md5(), NULL),
	                 1);
	for (unsigned i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

struct user {
	const char *name, *pw;
};

static const struct user users[] = {
    {"bob", "s3cret-Pa55"},
    {"alice", "wonderland"},
    {"Mufasa", "Circle Of Life"},
};

static int lookups;

/* The credential store: plaintext here only to derive HA1 the textbook way. */
static int lookup_h(void *arg, struct slice username, struct slice realm, enum digest_alg alg,
                    uint8_t ha1[DIGEST_MAX_HASH])
{
	char text[256], hex[2 * DIGEST_MAX_HASH + 1];

	lookups++;
	if (arg)
		return *(int *)arg;
	for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
		if (!slice_eq(username, slice_cstr(users[i].name)))
			continue;
		snprintf(text, sizeof(text), "%s:" SLICE_FMT ":%s", users[i].name, SLICE_ARG(realm),
		         users[i].pw);
		ref_hash(alg, text, hex);
		assert_int_equal(digest_unhex(slice_cstr(hex), ha1, digest_alg_len(alg)), 0);
		return 0;
	}
	return -ENOENT;
}

static const struct digest_creds_lookup store = {lookup_h, NULL};

/* One attempt: NULL fields take the defaults below, "-" leaves the parameter out. */
struct att {
	const char *user, *pw, *realm, *nonce, *uri, *alg, *qop, *nc, *cnonce, *method, *ruri;
	const char *scheme, *response;
	const char *vmethod;  /* method of the request verified, when not the one hashed */
	enum digest_alg calc; /* algorithm the client computes with */
	bool upper;           /* send the response in upper-case hex */
};

struct fx {
	struct digest *d;
	uint64_t now;
	struct buf ch[DIGEST_NCHALLENGE];
	char nonce[128];
	char hdr[2048];
	char response[2 * DIGEST_MAX_HASH + 1];
};

static uint64_t clock_h(void *arg)
{
	return *(uint64_t *)arg;
}

static void fx_init(struct fx *f, bool rfc2069, uint32_t replay_max)
{
	static const uint8_t key[32] = "test key: not for production!!!";
	struct digest_cfg cfg;

	memset(f, 0, sizeof(*f));
	f->now = 1717171717000ull;
	digest_cfg_default(&cfg);
	cfg.key = key;
	cfg.key_len = sizeof(key);
	cfg.clock_ms = clock_h;
	cfg.clock_arg = &f->now;
	cfg.allow_rfc2069 = rfc2069;
	if (replay_max)
		cfg.replay_max = replay_max;
	assert_int_equal(digest_alloc(&f->d, &cfg), 0);
}

static void fx_fini(struct fx *f)
{
	for (size_t i = 0; i < DIGEST_NCHALLENGE; i++)
		buf_free(&f->ch[i]);
	f->d = mem_deref(f->d);
}

/* A fresh challenge; its nonce goes to f->nonce. */
static void fx_challenge(struct fx *f, const char *realm)
{
	struct sip_auth a;

	for (size_t i = 0; i < DIGEST_NCHALLENGE; i++)
		buf_reset(&f->ch[i]);
	assert_int_equal(digest_challenge(f->d, f->ch, slice_cstr(realm), false, true), 0);
	assert_int_equal(sip_auth_decode(&a, buf_slice(&f->ch[0]), NULL), 0);
	assert_true(a.nonce.len < sizeof(f->nonce));
	memcpy(f->nonce, a.nonce.p, a.nonce.len);
	f->nonce[a.nonce.len] = '\0';
}

#define DEF(x, d) ((x) ? (x) : (d))
#define ON(x)     (strcmp((x), "-") != 0)

static enum digest_outcome fx_try(struct fx *f, const struct att *t, struct digest_result *res)
{
	const char *user = DEF(t->user, "bob"), *pw = DEF(t->pw, "s3cret-Pa55");
	const char *realm = DEF(t->realm, REALM), *nonce = DEF(t->nonce, f->nonce);
	const char *ruri = DEF(t->ruri, RURI), *uri = DEF(t->uri, ruri);
	const char *qop = DEF(t->qop, "auth"), *nc = DEF(t->nc, "00000001");
	const char *cnonce = DEF(t->cnonce, "0a4f113b"), *method = DEF(t->method, "INVITE");
	char text[1024], ha1[65], ha2[65];
	struct sip_auth a;
	int n;

	/* What an honest client with password pw computes. */
	snprintf(text, sizeof(text), "%s:%s:%s", user, realm, pw);
	ref_hash(t->calc, text, ha1);
	snprintf(text, sizeof(text), "%s:%s", method, ON(uri) ? uri : "");
	ref_hash(t->calc, text, ha2);
	if (ON(qop))
		snprintf(text, sizeof(text), "%s:%s:%s:%s:%s:%s", ha1, nonce, ON(nc) ? nc : "",
		         ON(cnonce) ? cnonce : "", qop, ha2);
	else
		snprintf(text, sizeof(text), "%s:%s:%s", ha1, nonce, ha2);
	ref_hash(t->calc, text, f->response);
	if (t->response)
		snprintf(f->response, sizeof(f->response), "%s", t->response);
	for (char *p = f->response; t->upper && *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);

	n = snprintf(f->hdr, sizeof(f->hdr), "%s username=\"%s\", realm=\"%s\"",
	             DEF(t->scheme, "Digest"), user, realm);
	if (ON(nonce))
		n += snprintf(f->hdr + n, sizeof(f->hdr) - n, ", nonce=\"%s\"", nonce);
	if (ON(uri))
		n += snprintf(f->hdr + n, sizeof(f->hdr) - n, ", uri=\"%s\"", uri);
	if (ON(f->response))
		n += snprintf(f->hdr + n, sizeof(f->hdr) - n, ", response=\"%s\"", f->response);
	if (t->alg && ON(t->alg))
		n += snprintf(f->hdr + n, sizeof(f->hdr) - n, ", algorithm=%s", t->alg);
	if (ON(qop))
		n += snprintf(f->hdr + n, sizeof(f->hdr) - n, ", qop=%s", qop);
	if (ON(nc))
		n += snprintf(f->hdr + n, sizeof(f->hdr) - n, ", nc=%s", nc);
	if (ON(cnonce))
		n += snprintf(f->hdr + n, sizeof(f->hdr) - n, ", cnonce=\"%s\"", cnonce);
	assert_true((size_t)n < sizeof(f->hdr));
	if (sip_auth_decode(&a, slice_cstr(f->hdr), NULL))
		fail_msg("test header does not parse: %s", f->hdr);
	assert_int_equal(digest_verify(f->d, &a, slice_cstr(DEF(t->vmethod, method)),
	                               slice_cstr(ruri), SLICE(REALM), &store, res),
	                 0);
	/* No secret in the text that goes to logs, whatever the outcome. */
	if (strstr(res->reason, pw) || strstr(res->reason, f->response) ||
	    strstr(res->reason, ha1) || strstr(res->reason, nonce))
		fail_msg("secret in reason: %s", res->reason);
	return res->outcome;
}

/* Asserts the outcome and that the reason contains `why`. */
#define EXPECT(f, o, why, ...)                                                                     \
	do {                                                                                       \
		struct digest_result r_;                                                           \
		const struct att t_ = {__VA_ARGS__};                                               \
		enum digest_outcome got_ = fx_try((f), &t_, &r_);                                  \
		if (got_ != (o) || !strstr(r_.reason, (why)))                                      \
			fail_msg("line %d: %s '%s', want %s '%s'\n  %s", __LINE__,                 \
			         digest_outcome_name(got_), r_.reason, digest_outcome_name(o),     \
			         (why), (f)->hdr);                                                 \
	} while (0)

/* ------------------------------------------------------------- vectors */

static void hex_of(const uint8_t *b, size_t n, char *out)
{
	digest_hex(b, n, out);
}

static void test_rfc2617_vector(void **state)
{
	/* RFC 2617 3.5: GET /dir/index.html, qop=auth. */
	uint8_t ha1[DIGEST_MAX_HASH], rsp[DIGEST_MAX_HASH];
	char hex[2 * DIGEST_MAX_HASH + 1];
	struct digest_params p = {
	    .alg = DIGEST_ALG_MD5,
	    .nonce = SLICE("dcd98b7102dd2f0e8b11d0f600bfb0c093"),
	    .nc = SLICE("00000001"),
	    .cnonce = SLICE("0a4f113b"),
	    .qop = SLICE("auth"),
	    .method = SLICE("GET"),
	    .uri = SLICE("/dir/index.html"),
	};

	assert_int_equal(digest_ha1(DIGEST_ALG_MD5, SLICE("Mufasa"), SLICE("testrealm@host.com"),
	                            SLICE("Circle Of Life"), ha1),
	                 0);
	hex_of(ha1, 16, hex);
	assert_string_equal(hex, "939e7578ed9e3c518a452acee763bce9");
	assert_int_equal(digest_response(&p, ha1, rsp), 0);
	hex_of(rsp, 16, hex);
	assert_string_equal(hex, "6629fae49393a05397450978507c4ef1");
	/* One changed input, another response. */
	p.nc = SLICE("00000002");
	assert_int_equal(digest_response(&p, ha1, rsp), 0);
	hex_of(rsp, 16, hex);
	assert_string_not_equal(hex, "6629fae49393a05397450978507c4ef1");
}

static void test_rfc7616_vectors(void **state)
{
	/* RFC 7616 3.9.1: the same request with MD5 and with SHA-256. */
	static const struct {
		enum digest_alg alg;
		const char *response;
	} v[] = {
	    {DIGEST_ALG_MD5, "8ca523f5e9506fed4657c9700eebdbec"},
	    {DIGEST_ALG_SHA256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		uint8_t ha1[DIGEST_MAX_HASH], rsp[DIGEST_MAX_HASH];
		char hex[2 * DIGEST_MAX_HASH + 1];
		struct digest_params p = {
		    .alg = v[i].alg,
		    .nonce = SLICE("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"),
		    .nc = SLICE("00000001"),
		    .cnonce = SLICE("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"),
		    .qop = SLICE("auth"),
		    .method = SLICE("GET"),
		    .uri = SLICE("/dir/index.html"),
		};

		assert_int_equal(digest_ha1(v[i].alg, SLICE("Mufasa"),
		                            SLICE("http-auth@example.org"), SLICE("Circle of Life"),
		                            ha1),
		                 0);
		assert_int_equal(digest_response(&p, ha1, rsp), 0);
		hex_of(rsp, digest_alg_len(v[i].alg), hex);
		assert_string_equal(hex, v[i].response);
	}
}

static void test_helpers(void **state)
{
	uint8_t b[4];
	enum digest_alg alg;
	char hex[9];

	assert_int_equal(digest_unhex(SLICE("00fFa0B1"), b, 4), 0);
	digest_hex(b, 4, hex);
	assert_string_equal(hex, "00ffa0b1");
	assert_int_equal(digest_unhex(SLICE("00ffa0b"), b, 4), -EBADMSG);
	assert_int_equal(digest_unhex(SLICE("00ffa0bg"), b, 4), -EBADMSG);
	assert_int_equal(digest_alg_from(SLICE("sha-256"), &alg), 0);
	assert_int_equal(alg, DIGEST_ALG_SHA256);
	assert_int_equal(digest_alg_from(SLICE("MD5"), &alg), 0);
	assert_int_equal(alg, DIGEST_ALG_MD5);
	assert_int_equal(digest_alg_from(SLICE("MD5-sess"), &alg), -ENOENT);
	assert_int_equal(digest_alg_from(SLICE("SHA-512-256"), &alg), -ENOENT);
	assert_string_equal(digest_alg_name(DIGEST_ALG_SHA256), "SHA-256");
	assert_int_equal(digest_alg_len(DIGEST_ALG_MD5), 16);
}

/* ----------------------------------------------------------- challenges */

static void test_challenge(void **state)
{
	struct fx f;
	struct sip_auth a[DIGEST_NCHALLENGE];
	struct buf again[DIGEST_NCHALLENGE] = {{0}};

	fx_init(&f, false, 0);
	assert_int_equal(digest_challenge(f.d, f.ch, SLICE(REALM), false, true), 0);
	for (size_t i = 0; i < DIGEST_NCHALLENGE; i++) {
		assert_int_equal(sip_auth_decode(&a[i], buf_slice(&f.ch[i]), NULL), 0);
		assert_true(slice_eq(a[i].scheme, SLICE("Digest")));
		assert_true(slice_eq(a[i].realm, SLICE(REALM)));
		assert_true(slice_eq(a[i].qop, SLICE("auth")));
		assert_false(a[i].stale);
		assert_int_equal(a[i].nonce.len, 48);
		/* base64url: safe unquoted too, should a client drop the quotes. */
		for (size_t k = 0; k < a[i].nonce.len; k++)
			assert_null(strchr("+/=", a[i].nonce.p[k]));
	}
	/* RFC 8760: SHA-256 first when preferred; one nonce for both. */
	assert_true(slice_eq(a[0].algorithm, SLICE("SHA-256")));
	assert_true(slice_eq(a[1].algorithm, SLICE("MD5")));
	assert_true(slice_eq(a[0].nonce, a[1].nonce));
	assert_string_equal(strstr(f.ch[1].p, "qop"), "qop=\"auth\", algorithm=MD5");

	/* MD5 first for old clients, stale=true on demand, a new nonce each time. */
	assert_int_equal(digest_challenge(f.d, again, SLICE(REALM), true, false), 0);
	assert_non_null(strstr(again[0].p, "algorithm=MD5, stale=true"));
	assert_non_null(strstr(again[1].p, "algorithm=SHA-256, stale=true"));
	assert_int_equal(sip_auth_decode(&a[1], buf_slice(&again[0]), NULL), 0);
	assert_true(a[1].stale);
	assert_false(slice_eq(a[0].nonce, a[1].nonce));

	/* Realms are quoted safely or refused. */
	for (size_t i = 0; i < DIGEST_NCHALLENGE; i++)
		buf_reset(&again[i]);
	assert_int_equal(digest_challenge(f.d, again, SLICE("a\"b\\c"), false, true), 0);
	assert_non_null(strstr(again[0].p, "Digest realm=\"a\\\"b\\\\c\", nonce="));
	assert_int_equal(digest_challenge(f.d, f.ch, SLICE("x\r\nVia: evil"), false, true),
	                 -EINVAL);
	assert_int_equal(digest_challenge(f.d, f.ch, SLICE_NULL, false, true), -EINVAL);
	for (size_t i = 0; i < DIGEST_NCHALLENGE; i++)
		buf_free(&again[i]);
	fx_fini(&f);
}

/* --------------------------------------------------------------- verify */

static void test_verify_ok(void **state)
{
	struct fx f;
	struct digest_result r;
	struct digest_stats st;

	fx_init(&f, false, 0);
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_OK, "user 'bob' authenticated (SHA-256)", .alg = "SHA-256",
	       .calc = DIGEST_ALG_SHA256);
	EXPECT(&f, DIGEST_OK, "user 'bob' authenticated (MD5)", .alg = "MD5", .nc = "00000002");
	/* No algorithm means MD5 (RFC 2617 3.2.1). */
	EXPECT(&f, DIGEST_OK, "(MD5)", .nc = "00000003");
	/* A nonce-count belongs to the nonce, so alice gets her own. */
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_OK, "user 'alice'", .user = "alice", .pw = "wonderland", .alg = "sha-256",
	       .calc = DIGEST_ALG_SHA256);
	/* Upper-case hex in the response is the same number. */
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_OK, "bob", .nc = "0000000B", .upper = true);
	assert_int_equal(fx_try(&f, &(struct att){.nc = "0000000c"}, &r), DIGEST_OK);
	assert_int_equal(r.status, 0);

	digest_stats_get(f.d, &st);
	assert_int_equal(st.outcomes[DIGEST_OK], 6);
	assert_int_equal(st.nonces, 3);
	assert_int_equal(st.tracked, 3);
	fx_fini(&f);
}

static void test_verify_fail(void **state)
{
	struct fx f;
	struct digest_result r;

	fx_init(&f, false, 0);
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_FAIL, "wrong password for user 'bob'", .pw = "guess");
	EXPECT(&f, DIGEST_FAIL, "wrong password for user 'bob'", .pw = "guess", .alg = "SHA-256",
	       .calc = DIGEST_ALG_SHA256);
	/* Computed with SHA-256 but labelled MD5: the lengths differ. */
	EXPECT(&f, DIGEST_MALFORMED, "response is not 32 hex digits", .alg = "MD5",
	       .calc = DIGEST_ALG_SHA256);
	EXPECT(&f, DIGEST_FAIL, "unknown user 'mallory'", .user = "mallory", .pw = "hunter2");
	EXPECT(&f, DIGEST_FAIL, "realm 'other.example' is not 'sip.example.test'",
	       .realm = "other.example");
	/* The method is covered: a response computed for BYE does not pass for INVITE. */
	EXPECT(&f, DIGEST_FAIL, "wrong password for user 'bob'", .method = "BYE",
	       .vmethod = "INVITE");
	EXPECT(&f, DIGEST_OK, "bob", .method = "BYE");
	fx_fini(&f);

	/* A failure answers 403 with a phrase that says nothing about the user. */
	fx_init(&f, false, 0);
	fx_challenge(&f, REALM);
	assert_int_equal(fx_try(&f, &(struct att){.user = "mallory"}, &r), DIGEST_FAIL);
	assert_int_equal(r.status, 403);
	assert_string_equal(r.phrase, "Forbidden");
	fx_fini(&f);
}

static void test_verify_uri(void **state)
{
	struct fx f;

	fx_init(&f, false, 0);
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_FAIL, "uri 'sip:bob@acme.sip.example.test' is not the Request-URI",
	       .uri = "sip:bob@acme.sip.example.test");
	EXPECT(&f, DIGEST_FAIL, "is not the Request-URI",
	       .uri = "sip:alice@acme.sip.example.test:5080");
	EXPECT(&f, DIGEST_FAIL, "is not the Request-URI",
	       .uri = "sips:alice@acme.sip.example.test");
	/* Host and scheme case do not matter (RFC 3261 19.1.4); the user part does. */
	EXPECT(&f, DIGEST_OK, "bob", .uri = "SIP:alice@ACME.sip.example.test");
	EXPECT(&f, DIGEST_FAIL, "is not the Request-URI", .uri = "sip:Alice@acme.sip.example.test",
	       .nc = "00000002");
	EXPECT(&f, DIGEST_OK, "bob", .ruri = "sip:alice@acme.sip.example.test;transport=udp",
	       .uri = "sip:alice@acme.sip.example.test;Transport=UDP", .nc = "00000003");
	EXPECT(&f, DIGEST_FAIL, "is not the Request-URI",
	       .ruri = "sip:alice@acme.sip.example.test;transport=tcp",
	       .uri = "sip:alice@acme.sip.example.test", .nc = "00000004");
	fx_fini(&f);
}

static void test_verify_malformed(void **state)
{
	struct fx f;
	struct digest_result r;

	fx_init(&f, false, 0);
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_MALFORMED, "algorithm 'SHA-512-256' not offered", .alg = "SHA-512-256");
	EXPECT(&f, DIGEST_MALFORMED, "algorithm 'MD5-sess' not offered", .alg = "MD5-sess");
	EXPECT(&f, DIGEST_MALFORMED, "qop 'auth-int' not offered", .qop = "auth-int");
	EXPECT(&f, DIGEST_MALFORMED, "bad nonce-count '1'", .nc = "1");
	EXPECT(&f, DIGEST_MALFORMED, "bad nonce-count '00000000'", .nc = "00000000");
	EXPECT(&f, DIGEST_MALFORMED, "qop=auth without nc", .nc = "-");
	EXPECT(&f, DIGEST_MALFORMED, "bad nonce-count '0000000g'", .nc = "0000000g");
	EXPECT(&f, DIGEST_MALFORMED, "bad nonce-count '000000001'", .nc = "000000001");
	EXPECT(&f, DIGEST_MALFORMED, "qop=auth without cnonce", .cnonce = "-");
	EXPECT(&f, DIGEST_MALFORMED, "credentials without nonce", .nonce = "-");
	EXPECT(&f, DIGEST_MALFORMED, "credentials without uri", .uri = "-");
	EXPECT(&f, DIGEST_MALFORMED, "credentials without response", .response = "-");
	EXPECT(&f, DIGEST_MALFORMED, "response is not 32 hex digits", .response = "6629fae4");
	EXPECT(&f, DIGEST_MALFORMED, "response is not 32 hex digits",
	       .response = "zz29fae49393a05397450978507c4ef1");
	EXPECT(&f, DIGEST_MALFORMED, "auth scheme 'Basic' is not Digest", .scheme = "Basic");
	assert_int_equal(fx_try(&f, &(struct att){.qop = "-", .nc = "-", .cnonce = "-"}, &r),
	                 DIGEST_MALFORMED);
	assert_int_equal(r.status, 400);
	/* None of that spent a nonce-count: the honest request still passes. */
	EXPECT(&f, DIGEST_OK, "bob");
	fx_fini(&f);
}

static void test_lookup_error(void **state)
{
	struct fx f;
	struct digest_result r;
	struct sip_auth a;
	int eio = -EIO;
	const struct digest_creds_lookup broken = {lookup_h, &eio};

	fx_init(&f, false, 0);
	fx_challenge(&f, REALM);
	assert_int_equal(fx_try(&f, &(struct att){0}, &r), DIGEST_OK);
	assert_int_equal(sip_auth_decode(&a, slice_cstr(f.hdr), NULL), 0);
	/* A failing store is an error for the caller (500), not a verdict. */
	assert_int_equal(
	    digest_verify(f.d, &a, SLICE("INVITE"), SLICE(RURI), SLICE(REALM), &broken, &r), -EIO);
	fx_fini(&f);
}

static void test_auth_find(void **state)
{
	static const char msg_text[] =
	    "INVITE sip:alice@acme.sip.example.test SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
	    "From: <sip:bob@example.com>;tag=1\r\n"
	    "To: <sip:alice@acme.sip.example.test>\r\n"
	    "Call-ID: find-1\r\n"
	    "CSeq: 2 INVITE\r\n"
	    "Authorization: Basic Ym9iOnNlY3JldA==\r\n"
	    "Authorization: Digest username=\"bob\", realm=\"proxy.example\", nonce=\"n1\", "
	    "uri=\"sip:x\", response=\"00\"\r\n"
	    "Authorization: Digest username=\"bob\", realm=\"sip.example.test\", nonce=\"n2\", "
	    "uri=\"sip:x\", response=\"00\"\r\n"
	    "Content-Length: 0\r\n\r\n";
	static const char broken[] = "INVITE sip:alice@acme.sip.example.test SIP/2.0\r\n"
	                             "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-2\r\n"
	                             "From: <sip:bob@example.com>;tag=1\r\n"
	                             "To: <sip:alice@acme.sip.example.test>\r\n"
	                             "Call-ID: find-2\r\n"
	                             "CSeq: 2 INVITE\r\n"
	                             "Authorization: digest username=\"bob, realm=\r\n"
	                             "Content-Length: 0\r\n\r\n";
	struct sip_msg *msg = NULL;
	struct sip_auth a;

	assert_int_equal(sip_msg_decode(&msg, msg_text, strlen(msg_text), NULL, NULL, NULL), 0);
	assert_int_equal(digest_auth_find(msg, SIP_HDR_AUTHORIZATION, SLICE(REALM), &a), 0);
	assert_true(slice_eq(a.nonce, SLICE("n2")));
	/* No credentials for our realm: the first Digest ones, which verify refuses. */
	assert_int_equal(digest_auth_find(msg, SIP_HDR_AUTHORIZATION, SLICE("x.example"), &a), 0);
	assert_true(slice_eq(a.nonce, SLICE("n1")));
	assert_int_equal(digest_auth_find(msg, SIP_HDR_PROXY_AUTHORIZATION, SLICE(REALM), &a),
	                 -ENOENT);
	msg = mem_deref(msg);

	/* Broken Digest credentials are the client's error (400). */
	assert_int_equal(sip_msg_decode(&msg, broken, strlen(broken), NULL, NULL, NULL), 0);
	assert_int_equal(digest_auth_find(msg, SIP_HDR_AUTHORIZATION, SLICE(REALM), &a), -EBADMSG);
	mem_deref(msg);
}

/* ------------------------------------------------------ nonces and replays */

static void test_nonce_lifetime(void **state)
{
	struct fx f;
	struct digest_result r;
	uint64_t t0;

	fx_init(&f, false, 0);
	t0 = f.now;
	fx_challenge(&f, REALM);
	/* Default lifetime 300 s: still good at the last millisecond. */
	f.now = t0 + 300000;
	EXPECT(&f, DIGEST_OK, "bob");
	f.now = t0 + 300001;
	EXPECT(&f, DIGEST_STALE, "nonce expired for user 'bob' (age 300 s)", .nc = "00000002");
	assert_int_equal(fx_try(&f, &(struct att){.nc = "00000003"}, &r), DIGEST_STALE);
	assert_int_equal(r.status, 401);
	/* Stale only when the password is right: a guess on an old nonce fails. */
	EXPECT(&f, DIGEST_FAIL, "wrong password", .pw = "guess", .nc = "00000004");
	EXPECT(&f, DIGEST_FAIL, "unknown user", .user = "mallory", .nc = "00000004");
	/* The fresh nonce of the stale=true challenge works. */
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_OK, "bob");

	/* A nonce from well after the clock (a clock stepped back) is stale too. */
	fx_challenge(&f, REALM);
	f.now -= NONCE_SKEW_TEST_MS + 1;
	EXPECT(&f, DIGEST_STALE, "nonce expired", .nc = "00000001");
	f.now += 2;
	EXPECT(&f, DIGEST_OK, "bob");
	fx_fini(&f);
}

static void test_nonce_forged(void **state)
{
	struct fx f, other;
	char bad[160]; /* room for a nonce and four more characters */

	fx_init(&f, false, 0);
	fx_challenge(&f, REALM);
	/* One character changed anywhere: time, random part or MAC. */
	for (size_t i = 0; i < strlen(f.nonce); i += 7) {
		snprintf(bad, sizeof(bad), "%s", f.nonce);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		EXPECT(&f, DIGEST_FAIL, "nonce not issued by this edge (user 'bob')", .nonce = bad);
	}
	/* Garbled: cut, extended, foreign alphabet, a textbook nonce. */
	snprintf(bad, sizeof(bad), "%.47s", f.nonce);
	EXPECT(&f, DIGEST_FAIL, "nonce not issued", .nonce = bad);
	snprintf(bad, sizeof(bad), "%sAAAA", f.nonce);
	EXPECT(&f, DIGEST_FAIL, "nonce not issued", .nonce = bad);
	snprintf(bad, sizeof(bad), "%s", f.nonce);
	bad[10] = '+';
	EXPECT(&f, DIGEST_FAIL, "nonce not issued", .nonce = bad);
	EXPECT(&f, DIGEST_FAIL, "nonce not issued", .nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093");

	/* Another process (another key) issued it. */
	other.d = NULL;
	{
		struct digest_cfg cfg;

		digest_cfg_default(&cfg);
		memset(&other, 0, sizeof(other));
		assert_int_equal(digest_alloc(&other.d, &cfg), 0);
		fx_challenge(&other, REALM);
		EXPECT(&f, DIGEST_FAIL, "nonce not issued", .nonce = other.nonce);
		fx_fini(&other);
	}
	/* Issued by this key for another realm (domain). */
	fx_challenge(&f, "other.example.test");
	EXPECT(&f, DIGEST_FAIL, "nonce not issued", .nonce = f.nonce);
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_OK, "bob");
	fx_fini(&f);
}

static void test_replay(void **state)
{
	struct fx f;
	struct digest_result r;
	struct digest_stats st;

	fx_init(&f, false, 0);
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_OK, "bob", .nc = "00000001");
	EXPECT(&f, DIGEST_REPLAY, "replayed nonce-count 00000001 for user 'bob' (last 00000001)",
	       .nc = "00000001");
	assert_int_equal(fx_try(&f, &(struct att){.nc = "00000001", .cnonce = "new"}, &r),
	                 DIGEST_REPLAY);
	assert_int_equal(r.status, 403);
	EXPECT(&f, DIGEST_OK, "bob", .nc = "00000002");
	EXPECT(&f, DIGEST_REPLAY, "replayed nonce-count 00000002", .nc = "00000002");
	EXPECT(&f, DIGEST_REPLAY, "replayed nonce-count 00000001 for user 'bob' (last 00000002)",
	       .nc = "00000001");
	/* Gaps are fine: only going back is refused. */
	EXPECT(&f, DIGEST_OK, "bob", .nc = "00000007");
	/* A wrong password with a high count does not move the count. */
	EXPECT(&f, DIGEST_FAIL, "wrong password", .pw = "guess", .nc = "000000ff");
	EXPECT(&f, DIGEST_OK, "bob", .nc = "00000008");
	/* Another algorithm on the same nonce shares its count. */
	EXPECT(&f, DIGEST_REPLAY, "replayed nonce-count 00000008", .nc = "00000008",
	       .alg = "SHA-256", .calc = DIGEST_ALG_SHA256);
	EXPECT(&f, DIGEST_OK, "bob", .nc = "ffffffff");
	EXPECT(&f, DIGEST_REPLAY, "replayed nonce-count ffffffff", .nc = "ffffffff");
	digest_stats_get(f.d, &st);
	assert_int_equal(st.outcomes[DIGEST_REPLAY], 6);
	assert_int_equal(st.tracked, 1);
	fx_fini(&f);
}

static void test_rfc2069(void **state)
{
	struct fx f;

	/* Refused by default: no qop, no nonce-count, no replay protection. */
	fx_init(&f, false, 0);
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_MALFORMED, "response without qop (RFC 2069) refused", .qop = "-",
	       .nc = "-", .cnonce = "-");
	fx_fini(&f);

	/* Allowed: each nonce serves once, then the client is sent a fresh one. */
	fx_init(&f, true, 0);
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_OK, "bob", .qop = "-", .nc = "-", .cnonce = "-");
	EXPECT(&f, DIGEST_STALE, "nonce reused without qop by user 'bob'", .qop = "-", .nc = "-",
	       .cnonce = "-");
	EXPECT(&f, DIGEST_FAIL, "wrong password", .qop = "-", .nc = "-", .cnonce = "-",
	       .pw = "hunter2");
	EXPECT(&f, DIGEST_MALFORMED, "nc or cnonce without qop", .qop = "-", .cnonce = "-");
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_OK, "bob", .qop = "-", .nc = "-", .cnonce = "-", .alg = "SHA-256",
	       .calc = DIGEST_ALG_SHA256);
	fx_fini(&f);
}

static void test_table_full(void **state)
{
	struct fx f;
	char n1[128], n2[128], n3[128];
	struct digest_stats st;

	fx_init(&f, false, 2);
	fx_challenge(&f, REALM);
	snprintf(n1, sizeof(n1), "%s", f.nonce);
	f.now += 10;
	fx_challenge(&f, REALM);
	snprintf(n2, sizeof(n2), "%s", f.nonce);
	f.now += 10;
	fx_challenge(&f, REALM);
	snprintf(n3, sizeof(n3), "%s", f.nonce);

	EXPECT(&f, DIGEST_OK, "bob", .nonce = n1);
	EXPECT(&f, DIGEST_OK, "bob", .nonce = n2);
	/* The third live nonce pushes out the oldest... */
	EXPECT(&f, DIGEST_OK, "bob", .nonce = n3);
	digest_stats_get(f.d, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.tracked, 2);
	/* ...whose count is forgotten, so it may never pass again: stale, not a replay hole. */
	EXPECT(&f, DIGEST_STALE, "nonce-count of this nonce forgotten (user 'bob')", .nonce = n1);
	EXPECT(&f, DIGEST_STALE, "forgotten", .nonce = n1, .nc = "00000002");
	EXPECT(&f, DIGEST_OK, "bob", .nonce = n2, .nc = "00000002");
	EXPECT(&f, DIGEST_REPLAY, "replayed", .nonce = n3);
	/* The fresh nonce a stale answer brings is accepted. */
	f.now += 1;
	fx_challenge(&f, REALM);
	EXPECT(&f, DIGEST_OK, "bob");

	/* Used out of issue order: a nonce older than the one it pushes out is
	 * still new to the table, so it passes; the pushed-out one is stale. */
	fx_fini(&f);
	fx_init(&f, false, 2);
	fx_challenge(&f, REALM);
	snprintf(n1, sizeof(n1), "%s", f.nonce);
	f.now += 10;
	fx_challenge(&f, REALM);
	snprintf(n2, sizeof(n2), "%s", f.nonce);
	f.now += 10;
	fx_challenge(&f, REALM);
	snprintf(n3, sizeof(n3), "%s", f.nonce);
	EXPECT(&f, DIGEST_OK, "bob", .nonce = n3);
	EXPECT(&f, DIGEST_OK, "bob", .nonce = n2);
	EXPECT(&f, DIGEST_OK, "bob", .nonce = n1);
	EXPECT(&f, DIGEST_STALE, "forgotten", .nonce = n3, .nc = "00000002");
	EXPECT(&f, DIGEST_REPLAY, "replayed", .nonce = n1);
	EXPECT(&f, DIGEST_OK, "bob", .nonce = n2, .nc = "00000002");

	/* Expired entries go on a sweep; their nonces stay refused as stale. */
	f.now += 300001;
	digest_gc(f.d);
	digest_stats_get(f.d, &st);
	assert_int_equal(st.tracked, 0);
	EXPECT(&f, DIGEST_STALE, "nonce expired", .nonce = n3, .nc = "00000009");
	fx_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc2617_vector), cmocka_unit_test(test_rfc7616_vectors),
	    cmocka_unit_test(test_helpers),        cmocka_unit_test(test_challenge),
	    cmocka_unit_test(test_verify_ok),      cmocka_unit_test(test_verify_fail),
	    cmocka_unit_test(test_verify_uri),     cmocka_unit_test(test_verify_malformed),
	    cmocka_unit_test(test_lookup_error),   cmocka_unit_test(test_auth_find),
	    cmocka_unit_test(test_nonce_lifetime), cmocka_unit_test(test_nonce_forged),
	    cmocka_unit_test(test_replay),         cmocka_unit_test(test_rfc2069),
	    cmocka_unit_test(test_table_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
