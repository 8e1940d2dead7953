/* Unit tests: failover plans across gateways, edges and regions; the OPTIONS probe state machine.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "app/config.h"
#include "routing/routing.h"

static struct config *load(const char *path)
{
	struct config *cfg = NULL;
	char err[256];

	if (config_load(&cfg, path, err, sizeof(err)))
		fail_msg("%s: %s", path, err);
	return cfg;
}

static struct config *parse(const char *yaml)
{
	struct config *cfg = NULL;
	char err[256];

	if (config_parse(&cfg, "t.yaml", yaml, strlen(yaml), err, sizeof(err)))
		fail_msg("%s", err);
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

static int edge_index(const struct routing *r, const char *name)
{
	int i = routing_edge_find(r, slice_cstr(name), NULL);

	assert_true(i >= 0);
	return i;
}

/* "edge ip:port" per hop, space separated, for one readable comparison. */
static void plan_text(const struct routing *r, const struct routing_hop *h, size_t n, char *out,
                      size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char ip[INET6_ADDRSTRLEN];
		unsigned port;

		if (h[i].local.ss_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&h[i].local;

			assert_int_equal(h[i].local_len, sizeof(*in6));
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
			port = ntohs(in6->sin6_port);
		} else {
			const struct sockaddr_in *in = (const struct sockaddr_in *)&h[i].local;

			assert_int_equal(h[i].local.ss_family, AF_INET);
			assert_int_equal(h[i].local_len, sizeof(*in));
			inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
			port = ntohs(in->sin_port);
		}
		/* The hop's gateway index names the address it carries. */
		assert_string_equal(routing_edge(r, h[i].edge)->gateways[h[i].gateway].ip.text, ip);
		len += (size_t)snprintf(out + len, cap - len, "%s%s %s:%u", i ? " " : "",
		                        routing_edge(r, h[i].edge)->name, ip, port);
		assert_true(len < cap);
	}
}

struct plan_case {
	const char *edge;
	enum routing_proto proto;
	const char *want;
};

static const struct plan_case lab_plans[] = {
    {"ashburn-ix", ROUTING_PROTO_UDP,
     "ashburn-ix 127.0.1.64:5060 ashburn-ix 127.0.1.65:5060 ashburn-ix 127.0.1.66:5060 "
     "san-jose-ix 127.0.2.64:5060 san-jose-ix 127.0.2.65:5060 san-jose-ix 127.0.2.66:5060"},
    {"us2-ix", ROUTING_PROTO_TLS,
     "san-jose-ix 127.0.2.64:5061 san-jose-ix 127.0.2.65:5061 san-jose-ix 127.0.2.66:5061 "
     "ashburn-ix 127.0.1.64:5061 ashburn-ix 127.0.1.65:5061 ashburn-ix 127.0.1.66:5061"},
    {"london-ix", ROUTING_PROTO_TCP,
     "london-ix 127.0.3.64:5060 london-ix 127.0.3.65:5060 london-ix 127.0.3.66:5060 "
     "frankfurt-ix 127.0.4.64:5060 frankfurt-ix 127.0.4.65:5060 frankfurt-ix 127.0.4.66:5060"},
    {"sydney-ix", ROUTING_PROTO_UDP,
     "sydney-ix 127.0.7.64:5060 sydney-ix 127.0.7.65:5060 sydney-ix 127.0.7.66:5060 "
     "singapore-ix 127.0.5.64:5060 singapore-ix 127.0.5.65:5060 singapore-ix 127.0.5.66:5060 "
     "tokyo-ix 127.0.6.64:5060 tokyo-ix 127.0.6.65:5060 tokyo-ix 127.0.6.66:5060"},
    {"sao-paulo-ix", ROUTING_PROTO_UDP,
     "sao-paulo-ix 127.0.8.64:5060 sao-paulo-ix 127.0.8.65:5060 sao-paulo-ix 127.0.8.66:5060 "
     "ashburn-ix 127.0.1.64:5060 ashburn-ix 127.0.1.65:5060 ashburn-ix 127.0.1.66:5060 "
     "san-jose-ix 127.0.2.64:5060 san-jose-ix 127.0.2.65:5060 san-jose-ix 127.0.2.66:5060"},
};

static void test_failover_lab(void **state)
{
	struct config *cfg = load(IXEDGE_SOURCE_DIR "/etc/lab.yaml");
	struct routing *r = routing_of(cfg);
	struct routing_hop hops[16];
	char text[1024], want[1024];
	size_t n;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lab_plans); i++) {
		const struct plan_case *c = &lab_plans[i];
		int e = edge_index(r, c->edge);

		n = routing_failover_plan(r, e, c->proto, hops, ARRAY_SIZE(hops));
		assert_int_equal(n, routing_failover_count(r, e));
		plan_text(r, hops, n, text, sizeof(text));
		assert_string_equal(text, c->want);
		assert_int_equal(hops[0].edge, e);
		assert_int_equal(hops[0].gateway, 0);
		assert_int_equal(hops[n - 1].gateway, 2);
	}

	/* A short array gets the first hops, in order; the count says what was cut. */
	n = routing_failover_plan(r, 0, ROUTING_PROTO_UDP, hops, 4);
	assert_int_equal(n, 4);
	plan_text(r, hops, n, text, sizeof(text));
	snprintf(want, sizeof(want), "%.*s",
	         (int)(strstr(lab_plans[0].want, " san-jose-ix 127.0.2.65") - lab_plans[0].want),
	         lab_plans[0].want);
	assert_string_equal(text, want);
	assert_int_equal(routing_failover_plan(r, 0, ROUTING_PROTO_UDP, hops, 0), 0);
	assert_int_equal(routing_failover_plan(r, -1, ROUTING_PROTO_UDP, hops, 16), 0);
	assert_int_equal(routing_failover_plan(r, (int)cfg->nedges, ROUTING_PROTO_UDP, hops, 16),
	                 0);
	assert_int_equal(routing_failover_count(r, 99), 0);
	mem_deref(r);
	mem_deref(cfg);
}

/* The production profile: Virginia, then Oregon, as the reference's own example says. */
static void test_failover_interconnect_profile(void **state)
{
	struct config *cfg = load(IXEDGE_SOURCE_DIR "/etc/profiles/interconnect.yaml");
	struct routing *r = routing_of(cfg);
	struct routing_hop hops[16];
	char text[1024];
	size_t n;

	(void)state;
	n = routing_failover_plan(r, edge_index(r, "us1"), ROUTING_PROTO_UDP, hops, 16);
	plan_text(r, hops, n, text, sizeof(text));
	assert_string_equal(text, "ashburn-ix 208.78.112.64:5060 ashburn-ix 208.78.112.65:5060 "
	                          "ashburn-ix 208.78.112.66:5060 san-jose-ix 67.213.136.64:5060 "
	                          "san-jose-ix 67.213.136.65:5060 san-jose-ix 67.213.136.66:5060");
	n = routing_failover_plan(r, edge_index(r, "de1"), ROUTING_PROTO_TLS, hops, 16);
	plan_text(r, hops, n, text, sizeof(text));
	assert_string_equal(text,
	                    "frankfurt-ix 185.194.136.64:5061 frankfurt-ix 185.194.136.65:5061 "
	                    "frankfurt-ix 185.194.136.66:5061 london-ix 185.187.132.68:5061 "
	                    "london-ix 185.187.132.69:5061 london-ix 185.187.132.70:5061");
	mem_deref(r);
	mem_deref(cfg);
}

/*
 * No failover: only the edge's own gateways.  Several edges in a failover
 * region: config order, same kind only.  IPv6 gateways and per-gateway ports.
 */
static void test_failover_shapes(void **state)
{
	static const char yaml[] =
	    "regions:\n"
	    "  - {name: solo}\n"
	    "  - {name: east, failover: [west, north]}\n"
	    "  - {name: west}\n"
	    "  - {name: north}\n"
	    "edges:\n"
	    "  - {name: solo-ix, region: solo, media: {addresses: [127.86.128.1]},\n"
	    "     gateways: [{address: 127.0.9.1, udp: 5070}, {address: '::1', udp: 5072}]}\n"
	    "  - {name: east-ix, region: east, media: {addresses: [127.86.128.2]},\n"
	    "     gateways: [{address: 127.0.10.1}]}\n"
	    "  - {name: west-b-ix, region: west, media: {addresses: [127.86.128.3]},\n"
	    "     gateways: [{address: 127.0.11.2}]}\n"
	    "  - {name: west-pub, kind: public, region: west, media: {addresses: [127.86.128.4]},\n"
	    "     gateways: [{address: 127.0.11.9}]}\n"
	    "  - {name: north-ix, region: north, media: {addresses: [127.86.128.5]},\n"
	    "     gateways: [{address: 127.0.12.1, tcp: 5080, tls: 5081}]}\n"
	    "  - {name: west-a-ix, region: west, media: {addresses: [127.86.128.6]},\n"
	    "     gateways: [{address: 127.0.11.1}]}\n";
	struct config *cfg = parse(yaml);
	struct routing *r = routing_of(cfg);
	struct routing_hop hops[16];
	char text[1024];
	size_t n;

	(void)state;
	n = routing_failover_plan(r, edge_index(r, "solo-ix"), ROUTING_PROTO_UDP, hops, 16);
	plan_text(r, hops, n, text, sizeof(text));
	assert_string_equal(text, "solo-ix 127.0.9.1:5070 solo-ix ::1:5072");
	assert_int_equal(hops[1].local.ss_family, AF_INET6);

	n = routing_failover_plan(r, edge_index(r, "east-ix"), ROUTING_PROTO_TCP, hops, 16);
	plan_text(r, hops, n, text, sizeof(text));
	assert_string_equal(text, "east-ix 127.0.10.1:5060 west-b-ix 127.0.11.2:5060 "
	                          "west-a-ix 127.0.11.1:5060 north-ix 127.0.12.1:5080");

	/* A public edge fails over to public edges only: west has none besides itself. */
	n = routing_failover_plan(r, edge_index(r, "west-pub"), ROUTING_PROTO_TLS, hops, 16);
	plan_text(r, hops, n, text, sizeof(text));
	assert_string_equal(text, "west-pub 127.0.11.9:5061");
	mem_deref(r);
	mem_deref(cfg);
}

/* ---------------------------------------------------------------- probes */

struct probe_case {
	const char *name;
	uint32_t fail_threshold, recover_threshold;
	const char *outcomes; /* '+' / '-' per probe */
	const char *changes;  /* per probe: '.' same, 'D' went down, 'U' went up */
	uint64_t downs, ups;
};

static const struct probe_case probe_cases[] = {
    {"stays up below the threshold", 3, 2, "--+--+--", "........", 0, 0},
    {"down after three failures", 3, 2, "+---", "...D", 1, 0},
    {"more failures change nothing", 3, 2, "-----", "..D..", 1, 0},
    {"up after two successes", 3, 2, "---++", "..D.U", 1, 1},
    {"a failure breaks the recovery run", 3, 2, "---+-+-++", "..D.....U", 1, 1},
    {"flapping", 1, 1, "-+-+", "DUDU", 2, 2},
    {"recovery threshold 3", 2, 3, "--+++++", ".D..U..", 1, 1},
    {"successes while up do not count toward recovery", 2, 2, "++++--+", ".....D.", 1, 0},
};

static void test_probe_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(probe_cases); i++) {
		const struct probe_case *c = &probe_cases[i];
		struct routing_probe_conf conf = {1000, c->fail_threshold, c->recover_threshold};
		struct routing_probe p;
		uint64_t now = 5000, changed = now;
		size_t fails = 0;

		assert_int_equal(strlen(c->outcomes), strlen(c->changes));
		assert_int_equal(routing_probe_init(&p, &conf, now), 0);
		assert_false(routing_probe_is_down(&p));
		assert_true(routing_probe_due(&p, now));
		for (size_t k = 0; c->outcomes[k]; k++) {
			bool ok = c->outcomes[k] == '+';
			enum routing_probe_change want =
			    c->changes[k] == 'D'   ? ROUTING_PROBE_WENT_DOWN
			    : c->changes[k] == 'U' ? ROUTING_PROBE_WENT_UP
			                           : ROUTING_PROBE_SAME;
			enum routing_probe_change got;

			now += 1000;
			got = routing_probe_result(&p, ok, now);
			if (got != want)
				fail_msg("%s: probe %zu: change %d, want %d", c->name, k, got,
				         want);
			if (got != ROUTING_PROBE_SAME)
				changed = now;
			fails += !ok;
			assert_int_equal(p.changed_ms, changed);
			/* Next probe one interval after this one. */
			assert_false(routing_probe_due(&p, now + 999));
			assert_true(routing_probe_due(&p, now + 1000));
		}
		if (p.downs != c->downs || p.ups != c->ups)
			fail_msg("%s: %llu downs %llu ups", c->name, (unsigned long long)p.downs,
			         (unsigned long long)p.ups);
		assert_int_equal(routing_probe_is_down(&p), c->downs > c->ups);
		assert_int_equal(p.probes, strlen(c->outcomes));
		assert_int_equal(p.failures, fails);
	}
}

static void test_probe_conf(void **state)
{
	struct routing_probe_conf conf;
	struct routing_probe p;

	(void)state;
	routing_probe_conf_default(&conf);
	assert_int_equal(conf.interval_ms, 30000);
	assert_int_equal(conf.fail_threshold, 3);
	assert_int_equal(conf.recover_threshold, 2);
	assert_int_equal(routing_probe_init(&p, &conf, 0), 0);
	conf.interval_ms = 0;
	assert_int_equal(routing_probe_init(&p, &conf, 0), -EINVAL);
	routing_probe_conf_default(&conf);
	conf.fail_threshold = 0;
	assert_int_equal(routing_probe_init(&p, &conf, 0), -EINVAL);
	routing_probe_conf_default(&conf);
	conf.recover_threshold = 0;
	assert_int_equal(routing_probe_init(&p, &conf, 0), -EINVAL);

	/* Which OPTIONS answers mean alive. */
	assert_true(routing_probe_status_ok(200));
	assert_true(routing_probe_status_ok(404));
	assert_true(routing_probe_status_ok(405));
	assert_true(routing_probe_status_ok(483));
	assert_true(routing_probe_status_ok(603));
	assert_false(routing_probe_status_ok(0));
	assert_false(routing_probe_status_ok(100));
	assert_false(routing_probe_status_ok(183));
	assert_false(routing_probe_status_ok(408));
	assert_false(routing_probe_status_ok(503));
	assert_false(routing_probe_status_ok(700));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failover_lab),
	    cmocka_unit_test(test_failover_interconnect_profile),
	    cmocka_unit_test(test_failover_shapes),
	    cmocka_unit_test(test_probe_table),
	    cmocka_unit_test(test_probe_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
