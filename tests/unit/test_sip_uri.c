/* Unit tests: URI, name-addr, Via, CSeq, auth and parameter parsing (tables of vectors). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ixedge/sip.h"

#define S(x) slice_cstr(x)

static void assert_slice(struct slice got, const char *want)
{
	if (!want)
		want = "";
	if (got.len != strlen(want) || (got.len && memcmp(got.p, want, got.len) != 0))
		fail_msg("got '%.*s', want '%s'", (int)got.len, got.p ? got.p : "", want);
}

struct uri_case {
	const char *in;
	int ok;
	enum sip_scheme scheme;
	const char *user, *password, *host;
	enum sip_host_type host_type;
	uint16_t port;
	const char *params, *headers;
};

static const struct uri_case uri_cases[] = {
    {"sip:alice@example.com", 1, SIP_SCHEME_SIP, "alice", NULL, "example.com", SIP_HOST_NAME, 0,
     NULL, NULL},
    {"SIPS:bob:pw@10.0.0.1:5061;transport=tcp;lr", 1, SIP_SCHEME_SIPS, "bob", "pw", "10.0.0.1",
     SIP_HOST_IPV4, 5061, "transport=tcp;lr", NULL},
    {"sip:[2001:db8::10]:5070", 1, SIP_SCHEME_SIP, NULL, NULL, "2001:db8::10", SIP_HOST_IPV6, 5070,
     NULL, NULL},
    {"sip:[2001:db8::10:5070]", 1, SIP_SCHEME_SIP, NULL, NULL, "2001:db8::10:5070", SIP_HOST_IPV6,
     0, NULL, NULL},
    {"sip:[::ffff:192.0.2.10]", 1, SIP_SCHEME_SIP, NULL, NULL, "::ffff:192.0.2.10", SIP_HOST_IPV6,
     0, NULL, NULL},
    {"sip:callee@127.0.0.1:5080;edge=london-ix?X-Foo=1&X-Bar=2", 1, SIP_SCHEME_SIP, "callee", NULL,
     "127.0.0.1", SIP_HOST_IPV4, 5080, "edge=london-ix", "X-Foo=1&X-Bar=2"},
    {"sip:user;par=u%40example.net@example.com", 1, SIP_SCHEME_SIP, "user;par=u%40example.net",
     NULL, "example.com", SIP_HOST_NAME, 0, NULL, NULL},
    {"sip:%61lice@atlanta.com;%6C%72=%6c%72", 1, SIP_SCHEME_SIP, "%61lice", NULL, "atlanta.com",
     SIP_HOST_NAME, 0, "%6C%72=%6c%72", NULL},
    {"tel:+1-201-555-0123;phone-context=example.com", 1, SIP_SCHEME_TEL, "+1-201-555-0123", NULL,
     "", SIP_HOST_NONE, 0, "phone-context=example.com", NULL},
    {"soap.beep://192.0.2.103:3002", 1, SIP_SCHEME_OTHER, NULL, NULL, NULL, SIP_HOST_NONE, 0, NULL,
     NULL},
    {"sip:host_with_underscore.example.com", 1, SIP_SCHEME_SIP, NULL, NULL,
     "host_with_underscore.example.com", SIP_HOST_NAME, 0, NULL, NULL},
    /* invalid */
    {"sip:2001:db8::10", 0}, /* IPv6 without brackets (RFC 5118 4.2) */
    {"sip:[2001:db8:::192.0.2.1]", 1, SIP_SCHEME_SIP, NULL, NULL, "2001:db8:::192.0.2.1",
     SIP_HOST_IPV6, 0, NULL, NULL}, /* tolerated, RFC 5118 4.10 */
    {"sip:[2001:db8:::1]", 0},      /* only before an IPv4 tail */
    {"sip:user@host:99999", 0},
    {"sip:user@host:0", 0},
    {"sip:user@host:", 0},
    {"sip:@host", 0},
    {"sip:user@", 0},
    {"sip:user@300.1.1.1", 0},
    {"sip:user@exa mple.com", 0},
    {"sip:user@host;", 0},
    {"sip:user@host;;lr", 0},
    {"sip:user@host?", 0},
    {"sip:user@host?a", 0},
    {"sip:us%4@host", 0},
    {"sip:a..b", 0},
    {"<sip:user@host>", 0},
    {"", 0},
    {"sip", 0},
    {"1sip:x", 0},
    {"tel:", 0},
    {"tel:+1 555", 0},
    {"http://exa mple", 0},
};

static void test_uri_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(uri_cases); i++) {
		const struct uri_case *c = &uri_cases[i];
		struct sip_uri u;
		struct sip_perr err = {0};
		int e = sip_uri_decode(&u, S(c->in), &err);

		if (!c->ok) {
			if (e != -EBADMSG)
				fail_msg("'%s' accepted, want rejected", c->in);
			assert_non_null(err.what);
			assert_true(err.offset <= strlen(c->in));
			assert_int_equal(err.status, 400);
			continue;
		}
		if (e)
			fail_msg("'%s' rejected: %s at %zu", c->in, err.what, err.offset);
		assert_int_equal(u.scheme, c->scheme);
		if (c->scheme == SIP_SCHEME_OTHER) {
			assert_true(u.opaque.len > 0);
			continue;
		}
		assert_slice(u.user, c->user);
		assert_slice(u.password, c->password);
		assert_int_equal(u.has_password, c->password != NULL);
		assert_slice(u.host, c->host);
		assert_int_equal(u.host_type, c->host_type);
		assert_int_equal(u.port, c->port);
		assert_slice(u.params, c->params);
		assert_slice(u.headers, c->headers);
	}
}

static void test_params(void **state)
{
	struct slice v, n, rest;
	char out[64];
	int len;

	(void)state;
	assert_int_equal(sip_param_get(S("transport=udp;lr;edge=london-ix"), "EDGE", &v), 0);
	assert_slice(v, "london-ix");
	assert_int_equal(sip_param_get(S("transport=udp;lr;edge=london-ix"), "lr", &v), 0);
	assert_int_equal(v.len, 0);
	assert_int_equal(sip_param_get(S("transport=udp;lr"), "tnx", NULL), -ENOENT);
	/* LWS around ; and = as in header parameters (RFC 4475 wsinv) */
	assert_int_equal(sip_param_get(S("  branch  =   z9hG4bK9ikj8  ; x"), "branch", &v), 0);
	assert_slice(v, "z9hG4bK9ikj8");
	/* a quoted value may hold ';' */
	rest = S("a=\"x;y\";b");
	assert_int_equal(sip_param_next(&rest, &n, &v), 0);
	assert_slice(n, "a");
	assert_slice(v, "\"x;y\"");
	assert_int_equal(sip_param_next(&rest, &n, &v), 0);
	assert_slice(n, "b");
	assert_int_equal(sip_param_next(&rest, &n, &v), -ENOENT);

	len = sip_unescape(S("I%20have%20spaces%00"), out, sizeof(out));
	assert_int_equal(len, 14);
	assert_memory_equal(out, "I have spaces\0", 14);
	assert_int_equal(sip_unescape(S("bad%2"), out, sizeof(out)), -EBADMSG);
	assert_int_equal(sip_unescape(S("abcdef"), out, 3), -E2BIG);
	len = sip_unquote(S("\"J Rosenberg \\\"\""), out, sizeof(out));
	assert_int_equal(len, 13);
	assert_memory_equal(out, "J Rosenberg \"", 13);
}

struct addr_case {
	const char *in;
	int ok;
	const char *dname, *uri_host, *tag, *params;
	bool wildcard;
};

static const struct addr_case addr_cases[] = {
    {"\"J Rosenberg \\\"\" <sip:jdrosen@example.com>\r\n ;\r\n tag = 98asjd8", 1,
     "J Rosenberg \\\"", "example.com", "98asjd8", "tag = 98asjd8"},
    {"caller<sip:caller@example.com>;tag=323", 1, "caller", "example.com", "323", "tag=323"},
    {"sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n", 1, "", "chair-dnrc.example.com",
     "1918181833n", "tag    = 1918181833n"},
    {"<sip:+19725552222@gw1.example.net;unknownparam>", 1, "", "gw1.example.net", "", ""},
    {"sip:+19725552222@gw1.example.net;unknownparam", 1, "", "gw1.example.net", "", "unknownparam"},
    {"Alice Liddell <sip:alice@wonderland.com>;expires=3600;q=0.5", 1, "Alice Liddell",
     "wonderland.com", "", "expires=3600;q=0.5"},
    {"*", 1, "", "", "", "", true},
    {"isbn:2983792873", 1, "", "", "", ""},
    {"<sip:user@example.com?Route=%3Csip:sip.example.com%3E>", 1, "", "example.com", "", ""},
    {"<sip:[2001:db8::10]>;+sip.instance=\"<urn:uuid:1>\"", 1, "", "2001:db8::10", "",
     "+sip.instance=\"<urn:uuid:1>\""},
    /* invalid */
    {"\"Mr. J. User <sip:j.user@example.com>", 0},               /* quotbal */
    {"Bell, Alexander <sip:a.g.bell@example.com>;tag=43", 0},    /* baddn */
    {"\"Watson, Thomas\" < sip:t.watson@example.org >", 0},      /* badaspec */
    {"sip:user@example.com?Route=%3Csip:sip.example.com%3E", 0}, /* regbadct */
    {"<sip:user@example.com", 0},
    {"<sip:user@example.com>;tag=", 0},
    {"<sip:user@example.com>;", 0},
    {"<sip:user@example.com> junk", 0},
    {"", 0},
};

static void test_addr_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(addr_cases); i++) {
		const struct addr_case *c = &addr_cases[i];
		struct sip_addr a;
		struct sip_perr err = {0};
		int e = sip_addr_decode(&a, S(c->in), &err);

		if (!c->ok) {
			if (e != -EBADMSG)
				fail_msg("'%s' accepted, want rejected", c->in);
			assert_non_null(err.what);
			continue;
		}
		if (e)
			fail_msg("'%s' rejected: %s at %zu", c->in, err.what, err.offset);
		assert_int_equal(a.wildcard, c->wildcard);
		if (c->wildcard)
			continue;
		assert_slice(a.dname, c->dname);
		if (a.uri.scheme != SIP_SCHEME_OTHER)
			assert_slice(a.uri.host, c->uri_host);
		assert_slice(a.tag, c->tag);
		assert_slice(a.params, c->params);
	}
}

struct via_case {
	const char *in;
	int ok;
	const char *transport, *host;
	uint16_t port;
	const char *branch, *received;
	bool rport;
	uint16_t rport_val;
	bool is_3261;
};

static const struct via_case via_cases[] = {
    {"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds", 1, "UDP", "192.0.2.1", 5060,
     "z9hG4bK776asdhds", "", false, 0, true},
    {"SIP  /   2.0\r\n  /UDP\r\n    192.168.255.111;rport;branch=390skdjuw", 1, "UDP",
     "192.168.255.111", 0, "390skdjuw", "", true, 0, false},
    {"SIP/2.0/TCP spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8", 1, "TCP",
     "spindle.example.com", 0, "z9hG4bK9ikj8", "", false, 0, true},
    {"SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111;received=2001:db8::9:255", 1, "UDP",
     "2001:db8::9:1", 6050, "z9hG4bKas3-111", "2001:db8::9:255", false, 0, true},
    {"SIP/2.0/UDP 10.0.0.1;rport=5070;received=192.0.2.4;branch=z9hG4bK", 1, "UDP", "10.0.0.1", 0,
     "z9hG4bK", "192.0.2.4", true, 5070, false},
    {"SIP/2.0/TLS client.atlanta.example.com:5061;maddr=255.255.255.255;ttl=1;branch=z9hG4bKx", 1,
     "TLS", "client.atlanta.example.com", 5061, "z9hG4bKx", "", false, 0, true},
    /* invalid */
    {"SIP/2.0/UDP 192.0.2.15;;", 0},
    {"SIP/2.0 192.0.2.15", 0},
    {"SIP/2.0/UDP", 0},
    {"SIP/2.0/UDP192.0.2.1", 0},
    {"SIP/2.0/UDP 192.0.2.1;branch=", 0},
    {"SIP/2.0/UDP 192.0.2.1;rport=x", 0},
    {"SIP/2.0/UDP 192.0.2.1;ttl=256", 0},
    {"SIP/2.0/UDP 192.0.2.1;received=example.com", 0},
    {"SIP/2.0/UDP 192.0.2.1 extra", 0},
};

static void test_via_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(via_cases); i++) {
		const struct via_case *c = &via_cases[i];
		struct sip_via v;
		struct sip_perr err = {0};
		int e = sip_via_decode(&v, S(c->in), &err);

		if (!c->ok) {
			if (e != -EBADMSG)
				fail_msg("'%s' accepted, want rejected", c->in);
			continue;
		}
		if (e)
			fail_msg("'%s' rejected: %s at %zu", c->in, err.what, err.offset);
		assert_slice(v.transport, c->transport);
		assert_slice(v.host, c->host);
		assert_int_equal(v.port, c->port);
		assert_slice(v.branch, c->branch);
		assert_slice(v.received, c->received);
		assert_int_equal(v.rport, c->rport);
		assert_int_equal(v.rport_val, c->rport_val);
		assert_int_equal(sip_via_branch_is_3261(&v), c->is_3261);
	}
}

static void test_cseq_auth(void **state)
{
	struct sip_cseq cs;
	struct sip_auth a;

	(void)state;
	assert_int_equal(sip_cseq_decode(&cs, S("0009\r\n INVITE"), NULL), 0);
	assert_int_equal(cs.num, 9);
	assert_int_equal(cs.mid, SIP_METHOD_INVITE);
	assert_int_equal(sip_cseq_decode(&cs, S("4294967295 NEWMETHOD"), NULL), 0);
	assert_int_equal(cs.mid, SIP_METHOD_OTHER);
	assert_slice(cs.method, "NEWMETHOD");
	assert_int_equal(sip_cseq_decode(&cs, S("4294967296 INVITE"), NULL), -EBADMSG);
	assert_int_equal(sip_cseq_decode(&cs, S("1INVITE"), NULL), -EBADMSG);
	assert_int_equal(sip_cseq_decode(&cs, S("1 INVITE x"), NULL), -EBADMSG);
	assert_int_equal(sip_cseq_decode(&cs, S("INVITE"), NULL), -EBADMSG);

	assert_int_equal(
	    sip_auth_decode(&a,
	                    S("Digest username=\"bob\", realm=\"biloxi.com\",\r\n "
	                      "nonce=\"dcd98b\", uri=\"sip:bob@biloxi.com\", qop=auth, "
	                      "nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae4\", "
	                      "algorithm=SHA-256, opaque=\"5ccc\""),
	                    NULL),
	    0);
	assert_slice(a.scheme, "Digest");
	assert_slice(a.username, "bob");
	assert_slice(a.realm, "biloxi.com");
	assert_slice(a.nonce, "dcd98b");
	assert_slice(a.uri, "sip:bob@biloxi.com");
	assert_slice(a.qop, "auth");
	assert_slice(a.nc, "00000001");
	assert_slice(a.cnonce, "0a4f113b");
	assert_slice(a.response, "6629fae4");
	assert_slice(a.algorithm, "SHA-256");
	assert_slice(a.opaque, "5ccc");
	assert_int_equal(
	    sip_auth_decode(&a, S("Digest realm=\"x\", stale=TRUE, nonce=\"n\""), NULL), 0);
	assert_true(a.stale);
	assert_int_equal(sip_auth_decode(&a, S("NoOneKnowsThisScheme opaque-data=here"), NULL), 0);
	assert_int_equal(sip_auth_decode(&a, S("Digest realm=\"x"), NULL), -EBADMSG);
	assert_int_equal(sip_auth_decode(&a, S("Digest realm"), NULL), -EBADMSG);
	assert_int_equal(sip_auth_decode(&a, S("Digest realm=x,,nonce=y"), NULL), -EBADMSG);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(sip_hdr_id_from(S("v")), SIP_HDR_VIA);
	assert_int_equal(sip_hdr_id_from(S("V")), SIP_HDR_VIA);
	assert_int_equal(sip_hdr_id_from(S("cAlL-iD")), SIP_HDR_CALL_ID);
	assert_int_equal(sip_hdr_id_from(S("l")), SIP_HDR_CONTENT_LENGTH);
	assert_int_equal(sip_hdr_id_from(S("X-Twilio-CallSid")), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_id_from(S("q")), SIP_HDR_OTHER);
	/* every canonical name and compact form maps back to its id */
	for (unsigned id = 1; id < SIP_HDR__COUNT; id++)
		assert_int_equal(sip_hdr_id_from(S(sip_hdr_name(id))), id);
	assert_int_equal(sip_method_from(S("INVITE")), SIP_METHOD_INVITE);
	assert_int_equal(sip_method_from(S("invite")), SIP_METHOD_OTHER);
	assert_string_equal(sip_method_name(SIP_METHOD_UPDATE), "UPDATE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uri_table),  cmocka_unit_test(test_params),
	    cmocka_unit_test(test_addr_table), cmocka_unit_test(test_via_table),
	    cmocka_unit_test(test_cseq_auth),  cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
