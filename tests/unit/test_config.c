/* Unit tests: the config loader on the shipped files and on a table of broken snippets. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/config.h"

/* A small valid file; every broken case below is a one-spot change to it. */
static const char base_yaml[] =
    "regions:\n"                                                    /* 1 */
    "  - {name: us-east, failover: [us-west]}\n"                    /* 2 */
    "  - {name: us-west}\n"                                         /* 3 */
    "edges:\n"                                                      /* 4 */
    "  - name: ashburn-ix\n"                                        /* 5 */
    "    legacy: [us1-ix]\n"                                        /* 6 */
    "    region: us-east\n"                                         /* 7 */
    "    gateways:\n"                                               /* 8 */
    "      - {address: 127.0.1.64, udp: 5060}\n"                    /* 9 */
    "    media: {addresses: [127.86.128.1], ports: 10000-60000}\n"; /* 10 */

static const char edge2_yaml[] = "  - name: san-jose-ix\n"
                                 "    legacy: [us2-ix]\n"
                                 "    region: us-west\n"
                                 "    gateways:\n"
                                 "      - {address: 127.0.2.64}\n"
                                 "    media: {addresses: [127.86.128.2]}\n";

#define SID "NX0123456789abcdef0123456789abcdef"

/* text = before + base_yaml with `find` replaced by `repl` (+ edge2) + after. */
struct broken {
	const char *name;
	const char *before, *find, *repl, *after;
	bool edge2;
	const char *want;
};

static const struct broken broken[] = {
    {"unknown top-level key", "", NULL, NULL, "regoins: []\n", false,
     "t.yaml:11:1: regoins: unknown key (expected one of: log, sip, transport, base_domains, "
     "regions, edges, connections, calls, routes, routing, probes, admin, media, auth, data_dir, "
     "seed)"},
    {"unknown default edge", "", NULL, NULL, "routing: {default_edge: mars-ix}\n", false,
     "t.yaml:11:25: routing.default_edge: 'mars-ix' is not a configured edge"},
    {"bad edge mismatch policy", "", NULL, NULL, "routing: {edge_mismatch: maybe}\n", false,
     "t.yaml:11:26: routing.edge_mismatch: expected accept or reject"},
    {"failover timeout zero", "", NULL, NULL, "routing: {failover_timeout: 0}\n", false,
     "t.yaml:11:29: routing.failover_timeout: must be 1-60"},
    {"probe without target", "", NULL, NULL, "probes:\n  - {interval: 5}\n", false,
     "t.yaml:12:5: probes[0]: missing required key 'target'"},
    {"probe target by name", "", NULL, NULL, "probes:\n  - {target: 'sip:sbc.example.com'}\n",
     false,
     "t.yaml:12:14: probes[0].target: 'sip:sbc.example.com' is not a sip: URI with a numeric host"},
    {"route target not a sip URI", "", NULL, NULL,
     "routes:\n  - {match: '*', target: 'http://127.0.0.1/'}\n", false,
     "t.yaml:12:26: routes[0].target: 'http://127.0.0.1/' is not a sip: URI with a numeric host "
     "({user} is replaced by the Request-URI user)"},
    {"route target with a host name", "", NULL, NULL,
     "routes:\n  - {match: '*', target: 'sip:{user}@example.com'}\n", false,
     "t.yaml:12:26: routes[0].target: 'sip:{user}@example.com' is not a sip: URI with a numeric "
     "host ({user} is replaced by the Request-URI user)"},
    {"route without target", "", NULL, NULL, "routes:\n  - {match: '*'}\n", false,
     "t.yaml:12:5: routes[0]: missing required key 'target'"},
    {"bad account sid", "", NULL, NULL, "calls: {account_sid: AC123}\n", false,
     "t.yaml:11:22: calls.account_sid: expected AC + 32 lowercase hex digits"},
    {"ring timeout too long", "", NULL, NULL, "calls: {ring_timeout: 601}\n", false,
     "t.yaml:11:23: calls.ring_timeout: must be 1-600"},
    {"session interval below min_se", "", NULL, NULL, "calls: {session_expires: 60, min_se: 90}\n",
     false, "t.yaml:11:8: calls: session_expires (60) must not be below min_se (90)"},
    {"x header pattern not X-", "", NULL, NULL, "calls: {x_headers: ['P-*']}\n", false,
     "t.yaml:11:21: calls.x_headers[0]: 'P-*' is not an X- header name pattern"},
    {"t2 below t1", "", NULL, NULL, "sip: {timers: {t1: 500, t2: 100}}\n", false,
     "t.yaml:11:15: sip.timers: t2 (100 ms) must not be below t1 (500 ms)"},
    {"unknown edge key", "", "    region: us-east\n", "    region: us-east\n    gatways: []\n", "",
     false,
     "t.yaml:8:5: edges[0].gatways: unknown key (expected one of: name, legacy, kind, region, "
     "gateways, media)"},
    {"port out of range", "", "udp: 5060", "udp: 70000", "", false,
     "t.yaml:9:36: edges[0].gateways[0].udp: port must be 1-65535"},
    {"port zero", "", "udp: 5060", "udp: 0", "", false,
     "t.yaml:9:36: edges[0].gateways[0].udp: port must be 1-65535"},
    {"port negative", "", "udp: 5060", "udp: -1", "", false,
     "t.yaml:9:36: edges[0].gateways[0].udp: port must be 1-65535"},
    {"port not a number", "", "udp: 5060", "udp: 50x", "", false,
     "t.yaml:9:36: edges[0].gateways[0].udp: expected an integer, found '50x'"},
    {"port is a list", "", "udp: 5060", "udp: [5060]", "", false,
     "t.yaml:9:36: edges[0].gateways[0].udp: expected an integer, found a list"},
    {"duplicate edge name", "", "name: ashburn-ix", "name: san-jose-ix", "", true,
     "t.yaml:11:11: edges[1].name: 'san-jose-ix' is already the name or a legacy code of edge "
     "'san-jose-ix'"},
    {"legacy code reused", "", "[us1-ix]", "[us2-ix]", "", true,
     "t.yaml:12:14: edges[1].legacy[0]: 'us2-ix' is already the name or a legacy code of edge "
     "'ashburn-ix'"},
    {"legacy code equals an edge name", "", "[us1-ix]", "[san-jose-ix]", "", true,
     "t.yaml:11:11: edges[1].name: 'san-jose-ix' is already the name or a legacy code of edge "
     "'ashburn-ix'"},
    {"legacy code twice in one edge", "", "[us1-ix]", "[us1-ix, us1-ix]", "", false,
     "t.yaml:6:22: edges[0].legacy[1]: 'us1-ix' is already the name or a legacy code of edge "
     "'ashburn-ix'"},
    {"unknown region", "", "region: us-east", "region: us-est", "", false,
     "t.yaml:7:13: edges[0].region: unknown region 'us-est' (not in regions)"},
    {"bad gateway address", "", "127.0.1.64", "127.0.1.256", "", false,
     "t.yaml:9:19: edges[0].gateways[0].address: '127.0.1.256' is not an IPv4 or IPv6 address"},
    {"unspecified gateway address", "", "127.0.1.64", "0.0.0.0", "", false,
     "t.yaml:9:19: edges[0].gateways[0].address: 0.0.0.0 is not a unicast address"},
    {"missing gateway address", "", "{address: 127.0.1.64, udp: 5060}", "{udp: 5060}", "", false,
     "t.yaml:9:9: edges[0].gateways[0]: missing required key 'address'"},
    {"media range reversed", "", "10000-60000", "60000-10000", "", false,
     "t.yaml:10:47: edges[0].media.ports: port range must be LOW-HIGH within 1024-65535, LOW "
     "<= HIGH"},
    {"media range below 1024", "", "10000-60000", "80-60000", "", false,
     "t.yaml:10:47: edges[0].media.ports: port range must be LOW-HIGH within 1024-65535, LOW "
     "<= HIGH"},
    {"media range above 65535", "", "10000-60000", "10000-65536", "", false,
     "t.yaml:10:47: edges[0].media.ports: port range must be LOW-HIGH within 1024-65535, LOW "
     "<= HIGH"},
    {"media prefix with host bits", "", "[127.86.128.1]", "[127.86.128.1/18]", "", false,
     "t.yaml:10:25: edges[0].media.addresses[0]: '127.86.128.1/18' has host bits set (the "
     "network is 127.86.128.0/18)"},
    {"media prefix too long", "", "[127.86.128.1]", "[127.86.128.0/33]", "", false,
     "t.yaml:10:25: edges[0].media.addresses[0]: '127.86.128.0/33' is not an IP address or CIDR "
     "prefix"},
    {"media without addresses", "", "{addresses: [127.86.128.1], ports: 10000-60000}",
     "{ports: 10000-60000}", "", false,
     "t.yaml:10:12: edges[0].media: missing required key 'addresses'"},
    {"short sid", "", NULL, NULL, "connections:\n  - {sid: NX123, edge: ashburn-ix}\n", false,
     "t.yaml:12:11: connections[0].sid: sid must be 'NX' followed by 32 lowercase hex digits"},
    {"sid with the wrong prefix", "", NULL, NULL,
     "connections:\n  - {sid: PN0123456789abcdef0123456789abcdef, edge: ashburn-ix}\n", false,
     "t.yaml:12:11: connections[0].sid: sid must be 'NX' followed by 32 lowercase hex digits"},
    {"sid with uppercase hex", "", NULL, NULL,
     "connections:\n  - {sid: NX0123456789ABCDEF0123456789abcdef, edge: ashburn-ix}\n", false,
     "t.yaml:12:11: connections[0].sid: sid must be 'NX' followed by 32 lowercase hex digits"},
    {"duplicate sid", "", NULL, NULL,
     "connections:\n  - {sid: " SID ", edge: ashburn-ix}\n  - {sid: " SID ", edge: us1-ix}\n",
     false, "t.yaml:13:11: connections[1].sid: sid " SID " is already used by connections[0]"},
    {"connection to an unknown edge", "", NULL, NULL,
     "connections:\n  - {sid: " SID ", edge: nowhere-ix}\n", false,
     "t.yaml:12:53: connections[0].edge: unknown edge 'nowhere-ix'"},
    {"YAML syntax error", "", NULL, NULL, "log: {level: info\n", false,
     "t.yaml:12:1: YAML syntax error: did not find expected ',' or '}' while parsing a flow "
     "mapping"},
    {"bad indentation", "", "    region: us-east\n", "     region: us-east\n", "", false,
     "t.yaml:7:6: YAML syntax error: did not find expected key while parsing a block mapping"},
    {"missing edges", "", "edges:\n", "", "", false, NULL /* checked separately */},
    {"missing gateways", "", "    gateways:\n      - {address: 127.0.1.64, udp: 5060}\n", "", "",
     false, "t.yaml:5:5: edges[0]: missing required key 'gateways'"},
    {"empty gateways", "", "    gateways:\n      - {address: 127.0.1.64, udp: 5060}\n",
     "    gateways: []\n", "", false, "t.yaml:8:15: edges[0].gateways: must not be empty"},
    {"failover to an unknown region", "", "failover: [us-west]", "failover: [us-wst]", "", false,
     "t.yaml:2:32: regions[0].failover[0]: unknown region 'us-wst'"},
    {"failover to itself", "", "failover: [us-west]", "failover: [us-east]", "", false,
     "t.yaml:2:32: regions[0].failover[0]: a region cannot fail over to itself"},
    {"region defined twice", "", "  - {name: us-west}", "  - {name: us-east}", "", false,
     "t.yaml:3:12: regions[1].name: region 'us-east' is already defined by regions[0]"},
    {"duplicate key", "", "    region: us-east\n", "    region: us-east\n    region: us-west\n", "",
     false, "t.yaml:8:5: edges[0].region: duplicate key"},
    {"bad log level", "log: {level: verbose}\n", NULL, NULL, "", false,
     "t.yaml:1:14: log.level: level must be one of debug, info, warn, error"},
    {"edges is a mapping", "", "edges:\n", "edges: {x: 1}\nconnections:\n", "", false,
     "t.yaml:4:8: edges: expected a list, found a mapping"},
    {"line limit above message limit",
     "sip: {limits: {max_message_size: 4096, max_line_length: 8192}}\n", NULL, NULL, "", false,
     "t.yaml:1:57: sip.limits.max_line_length: must not exceed max_message_size (4096)"},
    {"message limit too small", "sip: {limits: {max_message_size: 100}}\n", NULL, NULL, "", false,
     "t.yaml:1:34: sip.limits.max_message_size: must be 1024-1048576"},
    {"unknown limit", "sip: {limits: {max_msg_size: 4096}}\n", NULL, NULL, "", false,
     "t.yaml:1:16: sip.limits.max_msg_size: unknown key (expected one of: max_message_size, "
     "max_line_length, max_uri_length, max_headers, max_body_size)"},
    {"two documents", "", NULL, NULL, "---\nlog: {level: info}\n", false,
     "t.yaml:12:1: only one YAML document is allowed"},
    {"admin listen without port", "", NULL, NULL, "admin: {listen: '127.0.0.1'}\n", false,
     "t.yaml:11:17: admin.listen: expected IP:PORT (IPv6 as [ADDR]:PORT), port 1-65535"},
    {"admin listen IPv6 without brackets", "", NULL, NULL, "admin: {listen: '::1:9060'}\n", false,
     "t.yaml:11:17: admin.listen: expected IP:PORT (IPv6 as [ADDR]:PORT), port 1-65535"},
    {"two gateways on one address", "", "{address: 127.0.1.64, udp: 5060}",
     "{address: 127.0.2.64, udp: 5060}", "", true,
     "t.yaml:15:9: edges[1].gateways[0]: udp 127.0.2.64:5060 is already used by edge "
     "'ashburn-ix'"},
    {"tcp and tls on one port", "", "udp: 5060", "tcp: 5061", "", false,
     "t.yaml:9:36: edges[0].gateways[0]: tcp and tls cannot share port 5061"},
    {"NUL byte in a value", "", "name: ashburn-ix", "name: \"ashburn\\0ix\"", "", false,
     "t.yaml:5:11: edges[0].name: value contains a NUL byte"},
    {"uppercase edge name", "", "name: ashburn-ix", "name: Ashburn-IX", "", false,
     "t.yaml:5:11: edges[0].name: 'Ashburn-IX' must be lowercase letters, digits and '-' (a DNS "
     "label)"},
    {"bad edge kind", "", "    region: us-east\n", "    region: us-east\n    kind: private\n", "",
     false, "t.yaml:8:11: edges[0].kind: kind must be 'interconnect' or 'public'"},
    {"bad base domain", "base_domains: [twilio.com, 'ixedge..test']\n", NULL, NULL, "", false,
     "t.yaml:1:28: base_domains[1]: 'ixedge..test' is not a lowercase domain name"},
    {"base domain twice", "base_domains: [twilio.com, twilio.com]\n", NULL, NULL, "", false,
     "t.yaml:1:28: base_domains[1]: 'twilio.com' is listed twice"},
    {"empty value", "", "name: ashburn-ix", "name:", "", false,
     "t.yaml:5:10: edges[0].name: value is missing"},
    {"idle timeout zero", "transport: {tcp_idle_timeout: 0}\n", NULL, NULL, "", false,
     "t.yaml:1:31: transport.tcp_idle_timeout: must be 1-86400"},
    {"media latch", "media: {latch: loose}\n", NULL, NULL, "", false,
     "t.yaml:1:16: media.latch: expected symmetric or strict"},
    {"media threads", "media: {threads: 0}\n", NULL, NULL, "", false,
     "t.yaml:1:18: media.threads: must be 1-64"},
    {"nonce lifetime", "auth: {nonce_lifetime: 0}\n", NULL, NULL, "", false,
     "t.yaml:1:24: auth.nonce_lifetime: must be 1-86400"},
    {"route domain", "routes: [{match: '*', target: 'sip:a@127.0.0.1', domain: [a]}]\n", NULL, NULL,
     "", false, "t.yaml:1:58: routes[0].domain: expected a string, found a list"},
    {"invalid UTF-8", "", "name: ashburn-ix",
     "name: ash\xff"
     "burn",
     "", false, "t.yaml:5:14: YAML syntax error: invalid leading UTF-8 octet"},
    {"key is a list", "", NULL, NULL, "[a]: 1\n", false,
     "t.yaml:11:1: keys must be strings, found a list"},
};

static char *build_text(const struct broken *b)
{
	size_t cap = strlen(b->before) + sizeof(base_yaml) + sizeof(edge2_yaml) + strlen(b->after) +
	             (b->repl ? strlen(b->repl) : 0) + 1;
	char *text = calloc(1, cap), *at;

	assert_non_null(text);
	strcat(text, b->before);
	if (b->find) {
		at = strstr(base_yaml, b->find);
		if (!at)
			fail_msg("%s: '%s' not in the base file", b->name, b->find);
		strncat(text, base_yaml, (size_t)(at - base_yaml));
		strcat(text, b->repl);
		strcat(text, at + strlen(b->find));
	} else {
		strcat(text, base_yaml);
	}
	if (b->edge2)
		strcat(text, edge2_yaml);
	strcat(text, b->after);
	return text;
}

static void test_base_is_valid(void **state)
{
	struct config *cfg;
	char err[512];

	assert_int_equal(
	    config_parse(&cfg, "t.yaml", base_yaml, strlen(base_yaml), err, sizeof(err)), 0);
	assert_int_equal(cfg->nedges, 1);
	assert_int_equal(cfg->edges[0].gateways[0].udp, 5060);
	assert_int_equal(cfg->edges[0].gateways[0].tcp, 5060); /* defaults */
	assert_int_equal(cfg->edges[0].gateways[0].tls, 5061);
	assert_int_equal(cfg->edges[0].kind, CONFIG_EDGE_INTERCONNECT);
	assert_int_equal(cfg->regions[0].nfailover, 1);
	assert_int_equal(cfg->regions[0].failover[0], 1);
	assert_int_equal(cfg->nbase_domains, 2);
	assert_string_equal(cfg->base_domains[0], "twilio.com");
	assert_string_equal(cfg->base_domains[1], "ixedge.test");
	assert_int_equal(cfg->tcp_idle_timeout, 300);
	assert_int_equal(cfg->tcp_max_connections, 1024);
	assert_string_equal(cfg->admin_ip.text, "127.0.0.1");
	assert_int_equal(cfg->admin_port, 9060);
	assert_string_equal(cfg->data_dir, "./data");
	assert_int_equal(cfg->log_level, LOG_INFO);
	mem_deref(cfg);
}

static void test_broken_table(void **state)
{
	unsigned failures = 0;

	for (size_t i = 0; i < ARRAY_SIZE(broken); i++) {
		const struct broken *b = &broken[i];
		char *text = build_text(b), err[512] = "";
		struct config *cfg = (struct config *)1;
		int rc = config_parse(&cfg, "t.yaml", text, strlen(text), err, sizeof(err));

		if (rc != -EINVAL || cfg != NULL) {
			print_error("%s: rc %d, want -EINVAL and no config\n", b->name, rc);
			failures++;
		} else if (b->want && strcmp(err, b->want) != 0) {
			print_error("%s:\n  got  %s\n  want %s\n", b->name, err, b->want);
			failures++;
		}
		free(text);
	}
	assert_int_equal(failures, 0);
}

static void test_missing_and_empty(void **state)
{
	const char regions_only[] = "regions:\n  - {name: us-east}\n";
	struct config *cfg;
	char err[512];

	assert_int_equal(config_parse(&cfg, "t.yaml", "", 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(
	    err, "t.yaml:1:1: the file is empty (expected a mapping with 'regions' and 'edges')");
	assert_int_equal(
	    config_parse(&cfg, "t.yaml", regions_only, strlen(regions_only), err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "t.yaml:1:1: missing required key 'edges'");
	assert_int_equal(config_parse(&cfg, "t.yaml", "- a\n", 4, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.yaml:1:1: expected a mapping, found a list");
	assert_int_equal(config_load(&cfg, "/nonexistent/ixedge.yaml", err, sizeof(err)), -ENOENT);
	assert_string_equal(err,
	                    "/nonexistent/ixedge.yaml: cannot open: No such file or directory");
	assert_int_equal(config_load(&cfg, "/tmp", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/tmp: not a regular file");
}

/* Values that look odd but are valid: the loader must accept them as documented. */
static void test_valid_variants(void **state)
{
	static const char text[] =
	    "log: {level: debug}\n"
	    "sip: {limits: {max_message_size: 4096, max_line_length: 1024, max_uri_length: 512,"
	    " max_headers: 64, max_body_size: 2048}}\n"
	    "transport: {tcp_idle_timeout: 30, tcp_max_connections: 10}\n"
	    "base_domains: [example.net]\n"
	    "regions: [{name: r1, failover: []}, {name: r2, failover: ~}]\n"
	    "edges:\n"
	    "  - name: v6-ix\n"
	    "    legacy: ~\n"
	    "    kind: public\n"
	    "    region: r2\n"
	    "    gateways: [{address: '::1', udp: 15060, tcp: 15060, tls: 15061},"
	    " {address: 127.0.0.9, udp: \"15062\"}]\n"
	    "    media: {addresses: 2001:db8::/32, ports: 20000}\n"
	    "connections:\n"
	    "  - {sid: " SID ", edge: v6-ix}\n"
	    "admin: {listen: '[::1]:19060'}\n"
	    "media: {threads: 2, latch: strict, timeout: 0, quarantine_ms: 0}\n"
	    "auth: {nonce_lifetime: 30}\n"
	    "routes: [{match: 'a*', domain: 'acme', target: 'sip:{user}@127.0.0.1'}]\n"
	    "data_dir: /var/lib/ixedge\n";
	struct config *cfg;
	char err[512] = "";

	if (config_parse(&cfg, "v.yaml", text, strlen(text), err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_int_equal(cfg->sip_limits.max_msg_size, 4096);
	assert_int_equal(cfg->sip_limits.max_line_len, 1024);
	assert_int_equal(cfg->sip_limits.max_uri_len, 512);
	assert_int_equal(cfg->sip_limits.max_headers, 64);
	assert_int_equal(cfg->sip_limits.max_body_size, 2048);
	assert_int_equal(cfg->tcp_idle_timeout, 30);
	assert_int_equal(cfg->tcp_max_connections, 10);
	assert_int_equal(cfg->media.threads, 2);
	assert_true(cfg->media.strict_latch);
	assert_int_equal(cfg->media.timeout_s, 0);
	assert_int_equal(cfg->media.quarantine_ms, 0);
	assert_int_equal(cfg->auth.nonce_lifetime_s, 30);
	assert_string_equal(cfg->routes[0].domain, "acme");
	assert_ptr_equal(config_route_find(cfg, "acme", "alice", NULL), &cfg->routes[0]);
	assert_null(config_route_find(cfg, "other", "alice", NULL));
	assert_int_equal(cfg->nbase_domains, 1);
	assert_string_equal(cfg->base_domains[0], "example.net");
	assert_int_equal(cfg->regions[0].nfailover, 0);
	assert_int_equal(cfg->regions[1].nfailover, 0);
	assert_int_equal(cfg->edges[0].nlegacy, 0);
	assert_int_equal(cfg->edges[0].kind, CONFIG_EDGE_PUBLIC);
	assert_int_equal(cfg->edges[0].region, 1);
	assert_int_equal(cfg->edges[0].gateways[0].ip.family, AF_INET6);
	assert_string_equal(cfg->edges[0].gateways[0].ip.text, "::1");
	assert_int_equal(cfg->edges[0].gateways[1].udp, 15062);
	assert_int_equal(cfg->edges[0].media.naddrs, 1);
	assert_string_equal(cfg->edges[0].media.addrs[0].ip.text, "2001:db8::");
	assert_int_equal(cfg->edges[0].media.addrs[0].plen, 32);
	assert_int_equal(cfg->edges[0].media.port_min, 20000);
	assert_int_equal(cfg->edges[0].media.port_max, 20000);
	assert_int_equal(cfg->nconnections, 1);
	assert_string_equal(cfg->connections[0].sid, SID);
	assert_int_equal(cfg->connections[0].edge, 0);
	assert_string_equal(cfg->admin_ip.text, "::1");
	assert_int_equal(cfg->admin_port, 19060);
	assert_string_equal(cfg->data_dir, "/var/lib/ixedge");
	mem_deref(cfg);
}

struct lab_edge {
	const char *name, *legacy, *region;
	int octet;
	const char *failover[2];
};

static const struct lab_edge lab[] = {
    {"ashburn-ix", "us1-ix", "us-east", 1, {"us-west"}},
    {"san-jose-ix", "us2-ix", "us-west", 2, {"us-east"}},
    {"london-ix", "ie1-ix", "eu-west", 3, {"eu-central"}},
    {"frankfurt-ix", "de1-ix", "eu-central", 4, {"eu-west"}},
    {"singapore-ix", "sg1-ix", "ap-southeast", 5, {"ap-northeast"}},
    {"tokyo-ix", "jp1-ix", "ap-northeast", 6, {"ap-southeast"}},
    {"sydney-ix", "au1-ix", "ap-south", 7, {"ap-southeast", "ap-northeast"}},
    {"sao-paulo-ix", "br1-ix", "sa-east", 8, {"us-east", "us-west"}},
};

static void test_lab(void **state)
{
	struct sip_limits def;
	struct config *cfg;
	char err[512] = "", want[32];

	if (config_load(&cfg, IXEDGE_SOURCE_DIR "/etc/lab.yaml", err, sizeof(err)))
		fail_msg("%s", err);
	sip_limits_default(&def);
	assert_int_equal(cfg->sip_limits.max_msg_size, def.max_msg_size);
	assert_int_equal(cfg->sip_limits.max_line_len, def.max_line_len);
	assert_int_equal(cfg->sip_limits.max_uri_len, def.max_uri_len);
	assert_int_equal(cfg->sip_limits.max_headers, def.max_headers);
	assert_int_equal(cfg->sip_limits.max_body_size, def.max_body_size);
	assert_int_equal(cfg->nbase_domains, 2);
	assert_string_equal(cfg->base_domains[0], "twilio.com");
	assert_string_equal(cfg->base_domains[1], "ixedge.test");
	assert_int_equal(cfg->nedges, ARRAY_SIZE(lab));
	for (size_t i = 0; i < ARRAY_SIZE(lab); i++) {
		const struct config_edge *e = &cfg->edges[i];
		const struct config_region *r = &cfg->regions[e->region];

		assert_string_equal(e->name, lab[i].name);
		assert_int_equal(e->nlegacy, 1);
		assert_string_equal(e->legacy[0], lab[i].legacy);
		assert_int_equal(e->kind, CONFIG_EDGE_INTERCONNECT);
		assert_string_equal(r->name, lab[i].region);
		for (size_t j = 0; j < 2; j++) {
			if (!lab[i].failover[j]) {
				assert_int_equal(r->nfailover, j);
				break;
			}
			assert_true(r->nfailover > j);
			assert_string_equal(cfg->regions[r->failover[j]].name, lab[i].failover[j]);
		}
		assert_int_equal(e->ngateways, 3);
		for (size_t j = 0; j < 3; j++) {
			snprintf(want, sizeof(want), "127.0.%d.%zu", lab[i].octet, 64 + j);
			assert_string_equal(e->gateways[j].ip.text, want);
			assert_int_equal(e->gateways[j].udp, 5060);
			assert_int_equal(e->gateways[j].tcp, 5060);
			assert_int_equal(e->gateways[j].tls, 5061);
		}
		/* Inside 127.86.128.0/18, one address per edge. */
		assert_int_equal(e->media.naddrs, 1);
		assert_int_equal(e->media.addrs[0].plen, 32);
		assert_int_equal(ntohl(e->media.addrs[0].ip.a.v4.s_addr) & 0xffffc000u,
		                 0x7f568000u);
		assert_int_equal(e->media.port_min, 10000);
		assert_int_equal(e->media.port_max, 60000);
	}
	assert_string_equal(cfg->admin_ip.text, "127.0.0.1");
	assert_int_equal(cfg->admin_port, 9060);
	mem_deref(cfg);
}

/* The reference document's addresses, region by region. */
static const char *const profile_gw[8][3] = {
    {"208.78.112.64", "208.78.112.65", "208.78.112.66"},
    {"67.213.136.64", "67.213.136.65", "67.213.136.66"},
    {"185.187.132.68", "185.187.132.69", "185.187.132.70"},
    {"185.194.136.64", "185.194.136.65", "185.194.136.66"},
    {"103.75.151.68", "103.75.151.69", "103.75.151.70"},
    {"103.144.142.68", "103.144.142.69", "103.144.142.70"},
    {"103.146.214.68", "103.146.214.69", "103.146.214.70"},
    {"159.183.255.68", "159.183.255.69", "159.183.255.70"},
};

static void test_interconnect_profile(void **state)
{
	struct config *cfg;
	char err[512] = "";

	if (config_load(&cfg, IXEDGE_SOURCE_DIR "/etc/profiles/interconnect.yaml", err,
	                sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(cfg->nedges, 8);
	for (size_t i = 0; i < 8; i++) {
		const struct config_edge *e = &cfg->edges[i];

		assert_string_equal(e->name, lab[i].name);
		assert_string_equal(e->legacy[0], lab[i].legacy);
		assert_int_equal(e->ngateways, 3);
		for (size_t j = 0; j < 3; j++) {
			assert_string_equal(e->gateways[j].ip.text, profile_gw[i][j]);
			assert_int_equal(e->gateways[j].udp, 5060);
			assert_int_equal(e->gateways[j].tcp, 5060);
			assert_int_equal(e->gateways[j].tls, 5061);
		}
		assert_int_equal(e->media.naddrs, 1);
		assert_string_equal(e->media.addrs[0].ip.text, "168.86.128.0");
		assert_int_equal(e->media.addrs[0].plen, 18);
		assert_int_equal(e->media.port_min, 10000);
		assert_int_equal(e->media.port_max, 60000);
	}
	mem_deref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base_is_valid),
	    cmocka_unit_test(test_broken_table),
	    cmocka_unit_test(test_missing_and_empty),
	    cmocka_unit_test(test_valid_variants),
	    cmocka_unit_test(test_lab),
	    cmocka_unit_test(test_interconnect_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
