/* Unit tests: localized URI resolution and outbound edge selection on the lab topology. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/config.h"
#include "routing/routing.h"

#define SID_LONDON "NX0123456789abcdef0123456789abcd01"
#define SID_TOKYO  "NX0123456789abcdef0123456789abcd02"
#define SID_GONE   "NX0123456789abcdef0123456789abcdff"

/* The shipped lab file with two connections in place of `connections: []`. */
static struct config *lab_load(void)
{
	static const char conns[] = "connections:\n"
	                            "  - {sid: " SID_LONDON ", edge: london-ix}\n"
	                            "  - {sid: " SID_TOKYO ", edge: jp1-ix}\n";
	char err[256], *text, *at;
	struct config *cfg = NULL;
	struct buf b = {0};
	FILE *f = fopen(IXEDGE_SOURCE_DIR "/etc/lab.yaml", "r");
	size_t n;

	assert_non_null(f);
	assert_int_equal(buf_reserve(&b, 1u << 16), 0);
	n = fread(b.p, 1, b.cap - 1, f);
	fclose(f);
	b.p[n] = '\0';
	at = strstr(b.p, "connections: []\n");
	assert_non_null(at);
	text = malloc(n + sizeof(conns));
	assert_non_null(text);
	memcpy(text, b.p, (size_t)(at - b.p));
	strcpy(text + (at - b.p), conns);
	strcat(text, at + strlen("connections: []\n"));
	if (config_parse(&cfg, "lab.yaml", text, strlen(text), err, sizeof(err)))
		fail_msg("lab.yaml with connections: %s", err);
	free(text);
	buf_free(&b);
	return cfg;
}

static struct routing *routing_of(const struct config *cfg)
{
	struct routing *r = NULL;

	assert_int_equal(routing_build(&r, cfg->edges, cfg->nedges, cfg->regions, cfg->nregions,
	                               cfg->connections, cfg->nconnections, cfg->base_domains,
	                               cfg->nbase_domains),
	                 0);
	return r;
}

static int lab_setup(void **state)
{
	struct config *cfg = lab_load();

	state[0] = cfg;
	return 0;
}

static int lab_teardown(void **state)
{
	mem_deref(state[0]);
	return 0;
}

/* ------------------------------------------------------------- inbound */

struct resolve_case {
	const char *host;
	int rc;
	enum routing_fail fail;
	const char *edge; /* expected edge name, NULL for -1 */
	enum routing_form form;
	const char *domain; /* expected domain label as written */
	const char *base;   /* expected base domain, NULL for -1 */
	const char *what;   /* expected offending part on failure */
};

#define OK_EDGE(h, e, f, d, b)                                                                     \
	{                                                                                          \
		h, 0, ROUTING_OK, e, ROUTING_FORM_##f, d, b, NULL                                  \
	}
#define BAD(h, rc, f, what)                                                                        \
	{                                                                                          \
		h, rc, ROUTING_FAIL_##f, NULL, ROUTING_FORM_NONE, NULL, NULL, what                 \
	}

static const struct resolve_case resolve_cases[] = {
    /* every edge name */
    OK_EDGE("acme.sip.ashburn-ix.twilio.com", "ashburn-ix", EDGE, "acme", "twilio.com"),
    OK_EDGE("acme.sip.san-jose-ix.twilio.com", "san-jose-ix", EDGE, "acme", "twilio.com"),
    OK_EDGE("acme.sip.london-ix.twilio.com", "london-ix", EDGE, "acme", "twilio.com"),
    OK_EDGE("acme.sip.frankfurt-ix.ixedge.test", "frankfurt-ix", EDGE, "acme", "ixedge.test"),
    OK_EDGE("acme.sip.singapore-ix.twilio.com", "singapore-ix", EDGE, "acme", "twilio.com"),
    OK_EDGE("acme.sip.tokyo-ix.ixedge.test", "tokyo-ix", EDGE, "acme", "ixedge.test"),
    OK_EDGE("acme.sip.sydney-ix.twilio.com", "sydney-ix", EDGE, "acme", "twilio.com"),
    OK_EDGE("acme.sip.sao-paulo-ix.twilio.com", "sao-paulo-ix", EDGE, "acme", "twilio.com"),
    /* every legacy code */
    OK_EDGE("acme.sip.us1-ix.twilio.com", "ashburn-ix", LEGACY, "acme", "twilio.com"),
    OK_EDGE("acme.sip.us2-ix.twilio.com", "san-jose-ix", LEGACY, "acme", "twilio.com"),
    OK_EDGE("acme.sip.ie1-ix.twilio.com", "london-ix", LEGACY, "acme", "twilio.com"),
    OK_EDGE("acme.sip.de1-ix.twilio.com", "frankfurt-ix", LEGACY, "acme", "twilio.com"),
    OK_EDGE("acme.sip.sg1-ix.twilio.com", "singapore-ix", LEGACY, "acme", "twilio.com"),
    OK_EDGE("acme.sip.jp1-ix.ixedge.test", "tokyo-ix", LEGACY, "acme", "ixedge.test"),
    OK_EDGE("acme.sip.au1-ix.twilio.com", "sydney-ix", LEGACY, "acme", "twilio.com"),
    OK_EDGE("acme.sip.br1-ix.twilio.com", "sao-paulo-ix", LEGACY, "acme", "twilio.com"),
    /* every legacy code without -ix, as the reference's own example writes it */
    OK_EDGE("acme.sip.us1.twilio.com", "ashburn-ix", LEGACY_SHORT, "acme", "twilio.com"),
    OK_EDGE("acme.sip.us2.twilio.com", "san-jose-ix", LEGACY_SHORT, "acme", "twilio.com"),
    OK_EDGE("acme.sip.ie1.twilio.com", "london-ix", LEGACY_SHORT, "acme", "twilio.com"),
    OK_EDGE("example.sip.de1.twilio.com", "frankfurt-ix", LEGACY_SHORT, "example", "twilio.com"),
    OK_EDGE("acme.sip.sg1.twilio.com", "singapore-ix", LEGACY_SHORT, "acme", "twilio.com"),
    OK_EDGE("acme.sip.jp1.twilio.com", "tokyo-ix", LEGACY_SHORT, "acme", "twilio.com"),
    OK_EDGE("acme.sip.au1.ixedge.test", "sydney-ix", LEGACY_SHORT, "acme", "ixedge.test"),
    OK_EDGE("acme.sip.br1.twilio.com", "sao-paulo-ix", LEGACY_SHORT, "acme", "twilio.com"),
    /* global form */
    OK_EDGE("acme.sip.twilio.com", NULL, GLOBAL, "acme", "twilio.com"),
    OK_EDGE("acme-2.sip.ixedge.test", NULL, GLOBAL, "acme-2", "ixedge.test"),
    /* case, trailing dot, label shapes */
    OK_EDGE("ACME.SIP.London-IX.Twilio.COM", "london-ix", EDGE, "ACME", "twilio.com"),
    OK_EDGE("Acme.Sip.DE1.TWILIO.com", "frankfurt-ix", LEGACY_SHORT, "Acme", "twilio.com"),
    OK_EDGE("acme.sip.tokyo-ix.twilio.com.", "tokyo-ix", EDGE, "acme", "twilio.com"),
    OK_EDGE("acme.sip.twilio.com.", NULL, GLOBAL, "acme", "twilio.com"),
    OK_EDGE("0acme9.sip.us1-ix.twilio.com", "ashburn-ix", LEGACY, "0acme9", "twilio.com"),
    OK_EDGE("a23456789012345678901234567890123456789012345678901234567890123.sip.twilio.com", NULL,
            GLOBAL, "a23456789012345678901234567890123456789012345678901234567890123",
            "twilio.com"),
    /* numeric hosts: no domain, the caller decides */
    {"127.0.1.64", 0, ROUTING_OK, NULL, ROUTING_FORM_NONE, "", NULL, NULL},
    {"::1", 0, ROUTING_OK, NULL, ROUTING_FORM_NONE, "", NULL, NULL},
    {"[2001:db8::5]", 0, ROUTING_OK, NULL, ROUTING_FORM_NONE, "", NULL, NULL},
    /* wrong */
    BAD("acme.sip.ashburn-ix.example.com", -ENOENT, BASE, "acme.sip.ashburn-ix.example.com"),
    BAD("acme.sip.example.com", -ENOENT, BASE, "acme.sip.example.com"),
    BAD("acme.sip.twilio.comx", -ENOENT, BASE, "acme.sip.twilio.comx"),
    BAD("acme.sip.xtwilio.com", -ENOENT, BASE, "acme.sip.xtwilio.com"),
    BAD("acme.sip.us1-ix.twilio.com..", -ENOENT, BASE, "acme.sip.us1-ix.twilio.com."),
    BAD("acme.sip", -ENOENT, BASE, "acme.sip"),
    BAD("acme.sip.", -ENOENT, BASE, "acme.sip"),
    BAD("acme.sip.foo-ix.twilio.com", -ENOENT, EDGE, "foo-ix"),
    BAD("acme.sip.ashburn.twilio.com", -ENOENT, EDGE, "ashburn"),
    BAD("acme.sip.us3.twilio.com", -ENOENT, EDGE, "us3"),
    BAD("acme.sip.ix.twilio.com", -ENOENT, EDGE, "ix"),
    BAD("acme.sip.-ix.twilio.com", -ENOENT, EDGE, "-ix"),
    BAD("acme.sip.ashburn-ix-ix.twilio.com", -ENOENT, EDGE, "ashburn-ix-ix"),
    BAD("acme.sip.extra.ashburn-ix.twilio.com", -ENOENT, EDGE, "extra.ashburn-ix"),
    BAD("acme.sip.ashburn-ix.extra.twilio.com", -ENOENT, EDGE, "ashburn-ix.extra"),
    BAD("acme.sip..twilio.com", -ENOENT, EDGE, ""),
    BAD("acme.sip.roaming.twilio.com", -ENOENT, ROAMING, "roaming"),
    BAD("acme.sip.GLL.twilio.com", -ENOENT, ROAMING, "GLL"),
    BAD("acme.sip.gll-ix.twilio.com", -ENOENT, ROAMING, "gll-ix"),
    BAD("sip.twilio.com", -EBADMSG, NO_DOMAIN, "sip.twilio.com"),
    BAD("sip.ashburn-ix.twilio.com", -EBADMSG, NO_DOMAIN, "sip.ashburn-ix.twilio.com"),
    BAD(".sip.twilio.com", -EBADMSG, NO_DOMAIN, ".sip.twilio.com"),
    BAD("foo.acme.sip.ashburn-ix.twilio.com", -EBADMSG, BAD_DOMAIN, "foo.acme"),
    BAD("acme_x.sip.twilio.com", -EBADMSG, BAD_DOMAIN, "acme_x"),
    BAD("-acme.sip.london-ix.twilio.com", -EBADMSG, BAD_DOMAIN, "-acme"),
    BAD("acme-.sip.twilio.com", -EBADMSG, BAD_DOMAIN, "acme-"),
    BAD("a234567890123456789012345678901234567890123456789012345678901234.sip.twilio.com", -EBADMSG,
        BAD_DOMAIN, "a234567890123456789012345678901234567890123456789012345678901234"),
    BAD("acme.ashburn-ix.twilio.com", -ENOENT, NOT_SIP, "acme.ashburn-ix.twilio.com"),
    BAD("twilio.com", -ENOENT, NOT_SIP, "twilio.com"),
    BAD("acme", -ENOENT, NOT_SIP, "acme"),
    BAD("999.1.1.1", -ENOENT, NOT_SIP, "999.1.1.1"),
    BAD("", -ENOENT, NOT_SIP, ""),
    BAD(".", -ENOENT, NOT_SIP, ""),
};

static void test_resolve_table(void **state)
{
	const struct config *cfg = state[0];
	struct routing *r = routing_of(cfg);

	for (size_t i = 0; i < ARRAY_SIZE(resolve_cases); i++) {
		const struct resolve_case *c = &resolve_cases[i];
		struct routing_target t;
		int rc = routing_resolve_host(r, slice_cstr(c->host), &t);

		if (rc != c->rc || t.fail != c->fail)
			fail_msg("'%s': rc %d fail %d (%s), want rc %d fail %d", c->host, rc,
			         t.fail, routing_fail_reason(t.fail), c->rc, c->fail);
		if (rc) {
			if (!slice_eq(t.what, slice_cstr(c->what)))
				fail_msg("'%s': what '" SLICE_FMT "', want '%s'", c->host,
				         SLICE_ARG(t.what), c->what);
			continue;
		}
		if (t.form != c->form)
			fail_msg("'%s': form %s, want %s", c->host, routing_form_name(t.form),
			         routing_form_name(c->form));
		if (c->edge) {
			assert_true(t.edge >= 0);
			if (strcmp(routing_edge(r, t.edge)->name, c->edge) != 0)
				fail_msg("'%s': edge %s, want %s", c->host,
				         routing_edge(r, t.edge)->name, c->edge);
		} else {
			assert_int_equal(t.edge, -1);
			assert_int_equal(t.label.len, 0);
		}
		if (!slice_eq(t.domain, slice_cstr(c->domain)))
			fail_msg("'%s': domain '" SLICE_FMT "', want '%s'", c->host,
			         SLICE_ARG(t.domain), c->domain);
		/* The domain is a slice into the host, not a copy. */
		if (t.domain.len)
			assert_ptr_equal(t.domain.p, c->host + (c->host[0] == '[' ? 1 : 0));
		if (c->base)
			assert_string_equal(cfg->base_domains[t.base], c->base);
		else
			assert_int_equal(t.base, -1);
	}
	mem_deref(r);
}

/* Whatever the config holds, each name and legacy code (and its short form) resolves. */
static void test_resolve_every_configured_name(void **state)
{
	const struct config *cfg = state[0];
	struct routing *r = routing_of(cfg);
	char host[256];
	struct routing_target t;
	size_t checked = 0;

	for (size_t i = 0; i < cfg->nedges; i++) {
		const struct config_edge *e = &cfg->edges[i];

		for (size_t j = 0; j <= e->nlegacy; j++) {
			const char *name = j ? e->legacy[j - 1] : e->name;
			int len = (int)strlen(name);

			for (int shrt = 0; shrt < 2; shrt++) {
				if (shrt && (j == 0 || len <= 3 || strcmp(name + len - 3, "-ix")))
					continue;
				for (size_t b = 0; b < cfg->nbase_domains; b++) {
					snprintf(host, sizeof(host), "dom.sip.%.*s.%s",
					         shrt ? len - 3 : len, name, cfg->base_domains[b]);
					assert_int_equal(
					    routing_resolve_host(r, slice_cstr(host), &t), 0);
					assert_int_equal(t.edge, (int)i);
					assert_int_equal(t.form, !j     ? ROUTING_FORM_EDGE
					                         : shrt ? ROUTING_FORM_LEGACY_SHORT
					                                : ROUTING_FORM_LEGACY);
					assert_int_equal(t.base, (int)b);
					checked++;
				}
			}
		}
	}
	/* 8 edges x (name + legacy + short) x 2 base domains */
	assert_int_equal(checked, 48);
	mem_deref(r);
}

static void test_resolve_phrase(void **state)
{
	struct routing *r = routing_of(state[0]);
	struct routing_target t;
	char buf[256], small[20];
	char host[400];
	size_t n;

	assert_int_equal(routing_resolve_host(r, slice_cstr("acme.sip.foo-ix.twilio.com"), &t),
	                 -ENOENT);
	n = routing_target_phrase(&t, buf, sizeof(buf));
	assert_string_equal(buf, "Not Found (unknown edge 'foo-ix')");
	assert_int_equal(n, strlen(buf));
	assert_string_equal(routing_fail_reason(t.fail), "unknown edge");

	assert_int_equal(routing_resolve_host(r, slice_cstr("acme.sip.gll.twilio.com"), &t),
	                 -ENOENT);
	routing_target_phrase(&t, buf, sizeof(buf));
	assert_string_equal(buf, "Not Found (edge 'gll' is roaming, not valid for SIP domains)");

	assert_int_equal(routing_resolve_host(r, slice_cstr("acme.sip.example.org"), &t), -ENOENT);
	routing_target_phrase(&t, buf, sizeof(buf));
	assert_string_equal(buf, "Not Found (no configured base domain in 'acme.sip.example.org')");

	assert_int_equal(routing_resolve_host(r, slice_cstr("sip.twilio.com"), &t), -EBADMSG);
	routing_target_phrase(&t, buf, sizeof(buf));
	assert_string_equal(buf, "Not Found (missing domain label in 'sip.twilio.com')");

	/* Bytes that do not belong in a reason phrase are masked. */
	assert_int_equal(
	    routing_resolve_host(r, (struct slice){"a.sip.x\r\n\x80y.twilio.com", 22}, &t),
	    -ENOENT);
	routing_target_phrase(&t, buf, sizeof(buf));
	assert_string_equal(buf, "Not Found (unknown edge 'x???y')");

	/* A long label is cut; a small buffer still ends with ')' and a NUL. */
	memset(host, 'e', sizeof(host));
	memcpy(host, "a.sip.", 6);
	strcpy(host + 300, ".twilio.com");
	assert_int_equal(routing_resolve_host(r, slice_cstr(host), &t), -ENOENT);
	n = routing_target_phrase(&t, buf, sizeof(buf));
	assert_int_equal(n, strlen("Not Found (unknown edge '") + 64 + strlen("...')"));
	assert_memory_equal(buf + n - 5, "...')", 5);
	n = routing_target_phrase(&t, small, sizeof(small));
	assert_int_equal(n, sizeof(small) - 1);
	assert_string_equal(small, "Not Found (unknown)");
	assert_int_equal(routing_target_phrase(&t, small, 5), 0);
	assert_string_equal(small, "");

	n = routing_fail_format(ROUTING_FAIL_NO_EDGE, SLICE("ignored"), buf, sizeof(buf));
	assert_string_equal(buf, "no edge to send from");
	mem_deref(r);
}

/* Public edges are valid only as configured; an exact code beats a short form. */
static void test_resolve_public_and_bases(void **state)
{
	static const char yaml[] = "base_domains: [twilio.com, eu.twilio.com]\n"
	                           "regions: [{name: us-east}]\n"
	                           "edges:\n"
	                           "  - name: ashburn-ix\n"
	                           "    legacy: [us1-ix]\n"
	                           "    region: us-east\n"
	                           "    gateways: [{address: 127.0.1.64}]\n"
	                           "    media: {addresses: [127.86.128.1]}\n"
	                           "  - name: ashburn\n"
	                           "    legacy: [us1]\n"
	                           "    kind: public\n"
	                           "    region: us-east\n"
	                           "    gateways: [{address: 127.0.9.64}]\n"
	                           "    media: {addresses: [127.86.128.9]}\n";
	struct config *cfg = NULL;
	struct routing *r;
	struct routing_target t;
	enum routing_form form;
	char err[256];

	(void)state;
	if (config_parse(&cfg, "pub.yaml", yaml, strlen(yaml), err, sizeof(err)))
		fail_msg("%s", err);
	r = routing_of(cfg);
	assert_int_equal(routing_resolve_host(r, slice_cstr("acme.sip.ashburn.twilio.com"), &t), 0);
	assert_int_equal(t.edge, 1);
	assert_int_equal(routing_resolve_host(r, slice_cstr("acme.sip.us1.twilio.com"), &t), 0);
	assert_int_equal(t.edge, 1);
	assert_int_equal(t.form, ROUTING_FORM_LEGACY);
	assert_int_equal(routing_resolve_host(r, slice_cstr("acme.sip.us1-ix.twilio.com"), &t), 0);
	assert_int_equal(t.edge, 0);
	/* The longest base that ends the name wins. */
	assert_int_equal(routing_resolve_host(r, slice_cstr("acme.sip.us1-ix.eu.twilio.com"), &t),
	                 0);
	assert_int_equal(t.edge, 0);
	assert_string_equal(cfg->base_domains[t.base], "eu.twilio.com");
	assert_int_equal(routing_resolve_host(r, slice_cstr("acme.sip.eu.twilio.com"), &t), 0);
	assert_int_equal(t.form, ROUTING_FORM_GLOBAL);
	assert_string_equal(cfg->base_domains[t.base], "eu.twilio.com");

	assert_int_equal(routing_edge_find(r, SLICE("US1"), &form), 1);
	assert_int_equal(form, ROUTING_FORM_LEGACY);
	assert_int_equal(routing_edge_find(r, SLICE("ashburn-i"), NULL), -ENOENT);
	assert_int_equal(routing_region_find(r, SLICE("US-EAST")), 0);
	assert_int_equal(routing_region_find(r, SLICE("us-west")), -ENOENT);
	mem_deref(r);
	mem_deref(cfg);
}

/* routing_build() refuses tables the config loader would have refused. */
static void test_build_invalid(void **state)
{
	struct config *cfg = state[0];
	struct routing *r = NULL;
	struct config_edge edges[2];
	struct config_connection conn;
	char *bad_legacy[] = {"us1-ix"};

	memcpy(edges, cfg->edges, sizeof(edges));
	assert_int_equal(routing_build(&r, edges, 2, cfg->regions, cfg->nregions, NULL, 0,
	                               cfg->base_domains, cfg->nbase_domains),
	                 0);
	r = mem_deref(r);
	/* Two edges with one legacy code. */
	edges[1].legacy = bad_legacy;
	edges[1].nlegacy = 1;
	assert_int_equal(routing_build(&r, edges, 2, cfg->regions, cfg->nregions, NULL, 0,
	                               cfg->base_domains, cfg->nbase_domains),
	                 -EINVAL);
	memcpy(edges, cfg->edges, sizeof(edges));
	edges[1].region = cfg->nregions;
	assert_int_equal(routing_build(&r, edges, 2, cfg->regions, cfg->nregions, NULL, 0,
	                               cfg->base_domains, cfg->nbase_domains),
	                 -EINVAL);
	memcpy(edges, cfg->edges, sizeof(edges));
	conn = cfg->connections[0];
	conn.edge = 2;
	assert_int_equal(routing_build(&r, edges, 2, cfg->regions, cfg->nregions, &conn, 1,
	                               cfg->base_domains, cfg->nbase_domains),
	                 -EINVAL);
	assert_null(r);
}

/* ------------------------------------------------------------ outbound */

struct out_case {
	const char *uri;
	int inbound, dflt;
	int rc;
	enum routing_fail fail;
	const char *edge;
	enum routing_source source;
	enum routing_proto proto;
	const char *ruri; /* on success */
	const char *what; /* on failure */
};

#define OUT(u, in, df, e, src, pr, ruri)                                                           \
	{                                                                                          \
		u, in, df, 0, ROUTING_OK, e, ROUTING_BY_##src, ROUTING_PROTO_##pr, ruri, NULL      \
	}
#define OUT_BAD(u, in, df, rc, f, what)                                                            \
	{                                                                                          \
		u, in, df, rc, ROUTING_FAIL_##f, NULL, 0, 0, NULL, what                            \
	}

/* Lab edge indexes: 0 ashburn-ix, 1 san-jose-ix, 2 london-ix, 3 frankfurt-ix, 5 tokyo-ix. */
static const struct out_case out_cases[] = {
    OUT("sip:bob@example.com;edge=london-ix", -1, -1, "london-ix", EDGE, UDP,
        "sip:bob@example.com"),
    OUT("sip:bob@example.com;edge=ie1-ix", 0, 0, "london-ix", EDGE, UDP, "sip:bob@example.com"),
    OUT("sip:bob@example.com;edge=ie1", 0, 0, "london-ix", EDGE, UDP, "sip:bob@example.com"),
    OUT("sip:bob@example.com;EDGE=London-IX", 0, 0, "london-ix", EDGE, UDP, "sip:bob@example.com"),
    OUT("sip:bob@example.com;edge=lon%64on-ix", 0, 0, "london-ix", EDGE, UDP,
        "sip:bob@example.com"),
    OUT("sip:bob@example.com;edge=%4C%4F%4E%44%4F%4E-ix", 0, 0, "london-ix", EDGE, UDP,
        "sip:bob@example.com"),
    OUT("sip:bob@example.com;tnx=" SID_LONDON, 0, 0, "london-ix", TNX, UDP, "sip:bob@example.com"),
    OUT("sip:bob@example.com;tnx=" SID_TOKYO, -1, -1, "tokyo-ix", TNX, UDP, "sip:bob@example.com"),
    OUT("sip:bob@example.com;region=eu-central", 0, 0, "frankfurt-ix", REGION, UDP,
        "sip:bob@example.com"),
    OUT("sip:bob@example.com;region=de1", 0, 0, "frankfurt-ix", REGION, UDP, "sip:bob@example.com"),
    OUT("sip:bob@example.com;region=us2-ix", 0, 0, "san-jose-ix", REGION, UDP,
        "sip:bob@example.com"),
    OUT("sip:bob@example.com", 0, 2, "ashburn-ix", INBOUND, UDP, "sip:bob@example.com"),
    OUT("sip:bob@example.com", -1, 2, "london-ix", DEFAULT, UDP, "sip:bob@example.com"),
    OUT("sip:bob@example.com", 99, 3, "frankfurt-ix", DEFAULT, UDP, "sip:bob@example.com"),
    /* precedence: edge= > tnx= > region= > inbound > default */
    OUT("sip:bob@example.com;region=us-west;tnx=" SID_TOKYO ";edge=london-ix", 0, 0, "london-ix",
        EDGE, UDP, "sip:bob@example.com"),
    OUT("sip:bob@example.com;region=us-west;tnx=" SID_TOKYO, 0, 0, "tokyo-ix", TNX, UDP,
        "sip:bob@example.com"),
    OUT("sip:bob@example.com;region=us-west", 0, 3, "san-jose-ix", REGION, UDP,
        "sip:bob@example.com"),
    OUT("sip:bob@example.com;edge=london-ix;edge=tokyo-ix", 0, 0, "london-ix", EDGE, UDP,
        "sip:bob@example.com"),
    /* parameter stripping and transport */
    OUT("sip:bob@example.com;transport=tcp;edge=london-ix;lr", 0, 0, "london-ix", EDGE, TCP,
        "sip:bob@example.com;transport=tcp;lr"),
    OUT("sip:bob@example.com;transport=TLS", 0, 0, "ashburn-ix", INBOUND, TLS,
        "sip:bob@example.com;transport=TLS"),
    OUT("sip:bob@example.com;transport=udp;tnx=" SID_LONDON ";foo=bar;lr", 0, 0, "london-ix", TNX,
        UDP, "sip:bob@example.com;transport=udp;foo=bar;lr"),
    OUT("sips:bob@example.com:5061;edge=tokyo-ix", 0, 0, "tokyo-ix", EDGE, TLS,
        "sips:bob@example.com:5061"),
    OUT("sip:bob@example.com;secure=true;edge=london-ix", 0, 0, "london-ix", EDGE, TLS,
        "sip:bob@example.com;secure=true"),
    OUT("sip:bob@example.com;secure=false;transport=tcp", 0, 0, "ashburn-ix", INBOUND, TCP,
        "sip:bob@example.com;secure=false;transport=tcp"),
    OUT("sip:+15551234567@10.0.0.1:5070;user=phone;tnx=" SID_LONDON
        ";maddr=10.0.0.9?X-Foo=1&X-Bar=2",
        0, 0, "london-ix", TNX, UDP, "sip:+15551234567@10.0.0.1:5070;user=phone;maddr=10.0.0.9"),
    OUT("sip:bob@example.com?X-Foo=1", 0, 0, "ashburn-ix", INBOUND, UDP, "sip:bob@example.com"),
    OUT("sip:bob:pw@[::1]:5060;Region=ap-south;Transport=tcp", 0, 0, "sydney-ix", REGION, TCP,
        "sip:bob:pw@[::1]:5060;Transport=tcp"),
    OUT("sip:example.com;edge=br1", 0, 0, "sao-paulo-ix", EDGE, UDP, "sip:example.com"),
    /* errors: never silently ignored */
    OUT_BAD("sip:bob@example.com;edge=foo-ix", 0, 0, -ENOENT, EDGE, "foo-ix"),
    OUT_BAD("sip:bob@example.com;edge=london-ix;edge=foo-ix", 0, 0, -ENOENT, EDGE, "foo-ix"),
    OUT_BAD("sip:bob@example.com;edge=roaming", 0, 0, -ENOENT, EDGE, "roaming"),
    OUT_BAD("sip:bob@example.com;edge=london-ix%00", 0, 0, -ENOENT, EDGE, "london-ix%00"),
    OUT_BAD("sip:bob@example.com;edge="
            "x123456789x123456789x123456789x123456789x123456789x123456789x123456789x123456789",
            0, 0, -ENOENT, EDGE,
            "x123456789x123456789x123456789x123456789x123456789x123456789x123456789x123456789"),
    OUT_BAD("sip:bob@example.com;tnx=" SID_GONE, 0, 0, -ENOENT, TNX, SID_GONE),
    OUT_BAD("sip:bob@example.com;edge=london-ix;tnx=" SID_GONE, 0, 0, -ENOENT, TNX, SID_GONE),
    OUT_BAD("sip:bob@example.com;region=mars", 0, 0, -ENOENT, REGION, "mars"),
    OUT_BAD("sip:bob@example.com;region=london-ix", 0, 0, -ENOENT, REGION, "london-ix"),
    OUT_BAD("sip:bob@example.com;edge", 0, 0, -EINVAL, EMPTY_PARAM, "edge"),
    OUT_BAD("sip:bob@example.com;tnx", 0, 0, -EINVAL, EMPTY_PARAM, "tnx"),
    OUT_BAD("sip:bob@example.com;transport=sctp", 0, 0, -EINVAL, TRANSPORT, "sctp"),
    OUT_BAD("sip:bob@example.com;transport", 0, 0, -EINVAL, TRANSPORT, ""),
    OUT_BAD("tel:+15551234567", 0, 0, -EINVAL, SCHEME, "tel:+15551234567"),
    OUT_BAD("sip:bob@example.com", -1, -1, -ENOENT, NO_EDGE, ""),
};

static void test_outbound_table(void **state)
{
	struct routing *r = routing_of(state[0]);

	for (size_t i = 0; i < ARRAY_SIZE(out_cases); i++) {
		const struct out_case *c = &out_cases[i];
		struct sip_uri uri;
		struct sip_perr perr = {0};
		char ruri[256];
		struct routing_choice ch = {.ruri = ruri, .ruri_cap = sizeof(ruri)};
		int rc;

		if (sip_uri_decode(&uri, slice_cstr(c->uri), &perr))
			fail_msg("'%s' does not parse: %s", c->uri, perr.what);
		rc = routing_outbound(r, &uri, c->inbound, c->dflt, &ch);
		if (rc != c->rc || ch.fail != c->fail)
			fail_msg("'%s': rc %d fail %d (%s), want rc %d fail %d", c->uri, rc,
			         ch.fail, routing_fail_reason(ch.fail), c->rc, c->fail);
		if (rc) {
			assert_int_equal(ch.edge, -1);
			if (!slice_eq(ch.what, slice_cstr(c->what)))
				fail_msg("'%s': what '" SLICE_FMT "', want '%s'", c->uri,
				         SLICE_ARG(ch.what), c->what);
			continue;
		}
		if (strcmp(routing_edge(r, ch.edge)->name, c->edge) != 0)
			fail_msg("'%s': edge %s, want %s", c->uri, routing_edge(r, ch.edge)->name,
			         c->edge);
		if (ch.source != c->source || ch.proto != c->proto)
			fail_msg("'%s': %s over %s, want %s over %s", c->uri,
			         routing_source_name(ch.source), routing_proto_name(ch.proto),
			         routing_source_name(c->source), routing_proto_name(c->proto));
		assert_string_equal(ruri, c->ruri);
		assert_int_equal(ch.ruri_len, strlen(c->ruri));
		/* What we send parses again, and routes nowhere else by itself. */
		assert_int_equal(sip_uri_decode(&uri, (struct slice){ruri, ch.ruri_len}, &perr), 0);
		assert_int_equal(sip_param_get(uri.params, "edge", NULL), -ENOENT);
		assert_int_equal(sip_param_get(uri.params, "tnx", NULL), -ENOENT);
		assert_int_equal(sip_param_get(uri.params, "region", NULL), -ENOENT);
	}
	mem_deref(r);
}

static void test_outbound_reasons_and_space(void **state)
{
	struct routing *r = routing_of(state[0]);
	static const char text[] = "sip:bob@example.com;transport=tcp;edge=london-ix;lr";
	static const char want[] = "sip:bob@example.com;transport=tcp;lr";
	struct sip_uri uri;
	struct sip_perr perr = {0};
	char ruri[64], buf[128];
	struct routing_choice ch = {0};

	assert_int_equal(sip_uri_decode(&uri, SLICE("sip:bob@example.com;tnx=" SID_GONE), &perr),
	                 0);
	assert_int_equal(routing_outbound(r, &uri, 0, 0, &ch), -ENOENT);
	routing_fail_format(ch.fail, ch.what, buf, sizeof(buf));
	assert_string_equal(buf, "unknown interconnect connection '" SID_GONE "'");

	assert_int_equal(sip_uri_decode(&uri, SLICE("sip:bob@example.com;edge"), &perr), 0);
	assert_int_equal(routing_outbound(r, &uri, 0, 0, &ch), -EINVAL);
	routing_fail_format(ch.fail, ch.what, buf, sizeof(buf));
	assert_string_equal(buf, "parameter 'edge' has no value");

	/* The Request-URI needs its NUL too; no ruri buffer means none is written. */
	assert_int_equal(sip_uri_decode(&uri, SLICE(text), &perr), 0);
	ch = (struct routing_choice){.ruri = ruri, .ruri_cap = sizeof(want)};
	assert_int_equal(routing_outbound(r, &uri, -1, -1, &ch), 0);
	assert_string_equal(ruri, want);
	ch = (struct routing_choice){.ruri = ruri, .ruri_cap = sizeof(want) - 1};
	assert_int_equal(routing_outbound(r, &uri, 0, 0, &ch), -E2BIG);
	assert_int_equal(ch.fail, ROUTING_FAIL_URI_SPACE);
	ch = (struct routing_choice){.ruri = ruri, .ruri_cap = 10};
	assert_int_equal(routing_outbound(r, &uri, 0, 0, &ch), -E2BIG);
	ch = (struct routing_choice){0};
	assert_int_equal(routing_outbound(r, &uri, 0, 0, &ch), 0);
	assert_int_equal(ch.ruri_len, 0);
	assert_int_equal(ch.edge, 2);
	assert_int_equal(routing_uri_strip(&uri, ruri, sizeof(ruri)), (int)strlen(want));
	assert_string_equal(ruri, want);

	assert_int_equal(routing_connection_edge(r, SLICE(SID_TOKYO)), 5);
	assert_int_equal(routing_connection_edge(r, SLICE(SID_GONE)), -ENOENT);
	mem_deref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolve_table),
	    cmocka_unit_test(test_resolve_every_configured_name),
	    cmocka_unit_test(test_resolve_phrase),
	    cmocka_unit_test(test_resolve_public_and_bases),
	    cmocka_unit_test(test_build_invalid),
	    cmocka_unit_test(test_outbound_table),
	    cmocka_unit_test(test_outbound_reasons_and_space),
	};

	return cmocka_run_group_tests(tests, lab_setup, lab_teardown);
}
