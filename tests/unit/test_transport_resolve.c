/* Tests for src/transport/resolve.c: RFC 3263 with numeric hosts, /etc/hosts and a fake DNS. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/transport.h"

struct ctx {
	uv_loop_t loop;
	uv_timer_t tick; /* keeps uv_run(UV_RUN_ONCE) from blocking for long */
	struct tp *tp;
	int resolved, res_err;
	struct tp_target targets[16];
	size_t ntargets;
	bool close_in_cb; /* tp_close() from the resolve callback */
	/* the fake DNS server */
	uv_udp_t dns;
	bool dns_open;
	int dns_queries;
};

static void recv_h(void *arg, struct sip_msg *msg, const struct tp_peer *src)
{
}

static void tick_h(uv_timer_t *t)
{
}

static void ctx_start(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(uv_loop_init(&c->loop), 0);
	uv_timer_init(&c->loop, &c->tick);
	uv_timer_start(&c->tick, tick_h, 2, 2);
}

static void ctx_tp(struct ctx *c, const char *dns_servers)
{
	struct tp_conf conf;

	tp_conf_default(&conf);
	conf.dns_servers = dns_servers;
	assert_int_equal(tp_alloc(&c->tp, &c->loop, &conf, recv_h, c), 0);
}

static void walk_close_h(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* tp_close() must leave nothing behind: the loop runs out and closes cleanly. */
static void ctx_stop(struct ctx *c)
{
	tp_close(c->tp);
	if (c->dns_open)
		uv_close((uv_handle_t *)&c->dns, NULL);
	uv_close((uv_handle_t *)&c->tick, NULL);
	for (int i = 0; i < 1000 && uv_run(&c->loop, UV_RUN_NOWAIT); i++)
		usleep(1000);
	if (uv_loop_close(&c->loop)) {
		uv_walk(&c->loop, walk_close_h, NULL);
		uv_run(&c->loop, UV_RUN_NOWAIT);
		uv_loop_close(&c->loop);
		fail_msg("handles left open after tp_close()");
	}
}

/* Runs the loop until a resolution ended or ms pass. */
static bool pump_res(struct ctx *c, uint64_t ms)
{
	uint64_t start = uv_hrtime();

	while (!c->resolved) {
		if ((uv_hrtime() - start) / 1000000 >= ms)
			return false;
		uv_run(&c->loop, UV_RUN_ONCE);
	}
	return true;
}

static void res_h(void *arg, int err, const struct tp_target *t, size_t n)
{
	struct ctx *c = arg;

	c->resolved++;
	c->res_err = err;
	if (c->close_in_cb) {
		tp_close(c->tp);
		c->tp = NULL;
	}
	c->ntargets = n < 16 ? n : 16;
	if (n)
		memcpy(c->targets, t, c->ntargets * sizeof(*t));
}

static int resolve(struct ctx *c, const char *s)
{
	struct sip_uri uri;
	struct sip_perr perr;
	int rc;

	c->resolved = 0;
	c->ntargets = 0;
	assert_int_equal(sip_uri_decode(&uri, slice_cstr(s), &perr), 0);
	rc = tp_resolve(c->tp, &uri, res_h, c);
	if (rc == 0)
		pump_res(c, 3000);
	return rc;
}

static void target_is(const struct ctx *c, size_t i, enum tp_proto p, const char *addr)
{
	char s[64];

	assert_true(i < c->ntargets);
	assert_int_equal(c->targets[i].proto, p);
	tp_sockaddr_fmt((const struct sockaddr *)&c->targets[i].addr, s, sizeof(s));
	assert_string_equal(s, addr);
}

static void test_resolve_numeric(void **state)
{
	struct ctx c;
	struct sip_uri uri;
	struct sip_perr perr;

	(void)state;
	ctx_start(&c);
	ctx_tp(&c, NULL);
	/* Numeric hosts answer before tp_resolve() returns. */
	assert_int_equal(sip_uri_decode(&uri, SLICE("sip:bob@127.0.0.1:5070"), &perr), 0);
	assert_int_equal(tp_resolve(c.tp, &uri, res_h, &c), 0);
	assert_int_equal(c.resolved, 1);
	assert_int_equal(c.res_err, 0);
	assert_int_equal(c.ntargets, 1);
	target_is(&c, 0, TP_UDP, "127.0.0.1:5070");
	assert_int_equal(resolve(&c, "sip:[::1];transport=tcp"), 0);
	target_is(&c, 0, TP_TCP, "[::1]:5060");
	assert_int_equal(resolve(&c, "sips:alice@192.0.2.7"), 0);
	target_is(&c, 0, TP_TLS, "192.0.2.7:5061");
	assert_int_equal(resolve(&c, "sip:x@192.0.2.7;maddr=127.0.0.3;transport=TCP"), 0);
	target_is(&c, 0, TP_TCP, "127.0.0.3:5060");
	assert_int_equal(resolve(&c, "sip:x@192.0.2.7;transport=sctp"), -EPROTONOSUPPORT);
	assert_int_equal(resolve(&c, "tel:+15551230000"), -EPROTONOSUPPORT);
	ctx_stop(&c);
}

/* ---- a fake DNS server on loopback, so no test ever asks a real one ---- */

struct rr {
	const char *name;
	int type;
	const char *a; /* A */
	unsigned order, pref;
	const char *service, *target; /* NAPTR service + replacement, SRV target */
	unsigned prio, weight, port;  /* SRV */
};

static const struct rr zone[] = {
    {"example.test", 35, NULL, 20, 10, "SIP+D2U", "_sip._udp.example.test", 0, 0, 0},
    {"example.test", 35, NULL, 10, 10, "SIP+D2T", "_sip._tcp.example.test", 0, 0, 0},
    {"example.test", 35, NULL, 5, 10, "E2U+sip", "ignored.example.test", 0, 0, 0},
    {"_sip._tcp.example.test", 33, NULL, 0, 0, NULL, "a.example.test", 10, 0, 5070},
    {"_sip._udp.example.test", 33, NULL, 0, 0, NULL, "b.example.test", 10, 0, 5080},
    {"_sip._udp.example.test", 33, NULL, 0, 0, NULL, "c.example.test", 20, 0, 5090},
    {"a.example.test", 1, "127.0.0.10", 0, 0, NULL, NULL, 0, 0, 0},
    {"b.example.test", 1, "127.0.0.11", 0, 0, NULL, NULL, 0, 0, 0},
    {"c.example.test", 1, "127.0.0.13", 0, 0, NULL, NULL, 0, 0, 0},
    {"nosrv.test", 1, "127.0.0.12", 0, 0, NULL, NULL, 0, 0, 0},
    {"secure.test", 35, NULL, 10, 10, "SIPS+D2T", "_sips._tcp.secure.test", 0, 0, 0},
    {"secure.test", 35, NULL, 20, 10, "SIP+D2U", "_sip._udp.secure.test", 0, 0, 0},
    {"_sips._tcp.secure.test", 33, NULL, 0, 0, NULL, "a.example.test", 0, 0, 5061},
    {"_sip._udp.secure.test", 33, NULL, 0, 0, NULL, "b.example.test", 0, 0, 5060},
};

static size_t dns_name_put(unsigned char *p, const char *name)
{
	size_t n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p[n++] = (unsigned char)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

static size_t dns_str_put(unsigned char *p, const char *s)
{
	p[0] = (unsigned char)strlen(s);
	memcpy(p + 1, s, strlen(s));
	return 1 + strlen(s);
}

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void dns_alloc_h(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char rbuf[1500];

	*b = uv_buf_init(rbuf, sizeof(rbuf));
}

static void dns_sent_h(uv_udp_send_t *req, int status)
{
	free(req);
}

static void dns_recv_h(uv_udp_t *u, ssize_t nread, const uv_buf_t *b, const struct sockaddr *addr,
                       unsigned flags)
{
	struct ctx *c = u->data;
	const unsigned char *q = (const unsigned char *)b->base;
	struct {
		uv_udp_send_t req;
		unsigned char out[1500];
	} * s;
	char name[256];
	size_t i = 12, n = 0, an = 0;
	unsigned qtype;
	bool known = false;
	uv_buf_t ob;

	if (nread < 17 || !addr)
		return;
	c->dns_queries++;
	while (i < (size_t)nread && q[i] && n + q[i] + 1 < sizeof(name)) {
		if (n)
			name[n++] = '.';
		memcpy(name + n, q + i + 1, q[i]);
		n += q[i];
		i += q[i] + 1u;
	}
	name[n] = '\0';
	i++;
	qtype = (unsigned)(q[i] << 8 | q[i + 1]);
	i += 4;
	s = calloc(1, sizeof(*s));
	memcpy(s->out, q, i); /* header and question */
	n = i;
	for (size_t k = 0; k < ARRAY_SIZE(zone); k++) {
		const struct rr *rr = &zone[k];
		size_t rd;

		if (strcasecmp(rr->name, name))
			continue;
		known = true;
		if ((unsigned)rr->type != qtype)
			continue;
		put16(s->out + n, 0xc00c); /* the name of the question */
		put16(s->out + n + 2, qtype);
		put16(s->out + n + 4, 1);
		put16(s->out + n + 6, 0);
		put16(s->out + n + 8, 60);
		rd = n + 12;
		if (rr->type == 1) {
			inet_pton(AF_INET, rr->a, s->out + rd);
			rd += 4;
		} else if (rr->type == 33) {
			put16(s->out + rd, rr->prio);
			put16(s->out + rd + 2, rr->weight);
			put16(s->out + rd + 4, rr->port);
			rd += 6;
			rd += dns_name_put(s->out + rd, rr->target);
		} else {
			put16(s->out + rd, rr->order);
			put16(s->out + rd + 2, rr->pref);
			rd += 4;
			rd += dns_str_put(s->out + rd, "s");
			rd += dns_str_put(s->out + rd, rr->service);
			rd += dns_str_put(s->out + rd, "");
			rd += dns_name_put(s->out + rd, rr->target);
		}
		put16(s->out + n + 10, (unsigned)(rd - n - 12));
		n = rd;
		an++;
	}
	s->out[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD copied */
	s->out[3] = known ? 0x80 : 0x83;  /* RA; NXDOMAIN for unknown names */
	put16(s->out + 6, (unsigned)an);
	put16(s->out + 8, 0);
	put16(s->out + 10, 0);
	ob = uv_buf_init((char *)s->out, (unsigned)n);
	if (uv_udp_send(&s->req, u, &ob, 1, addr, dns_sent_h))
		free(s);
}

static void dns_start(struct ctx *c, char *servers, size_t len)
{
	struct sockaddr_in sa;
	struct sockaddr_storage ss;
	int sl = sizeof(ss);

	uv_ip4_addr("127.0.0.1", 0, &sa);
	assert_int_equal(uv_udp_init(&c->loop, &c->dns), 0);
	c->dns.data = c;
	c->dns_open = true;
	assert_int_equal(uv_udp_bind(&c->dns, (struct sockaddr *)&sa, 0), 0);
	uv_udp_getsockname(&c->dns, (struct sockaddr *)&ss, &sl);
	assert_int_equal(uv_udp_recv_start(&c->dns, dns_alloc_h, dns_recv_h), 0);
	snprintf(servers, len, "127.0.0.1:%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

static void test_resolve_names(void **state)
{
	struct ctx c;
	char servers[64];

	(void)state;
	ctx_start(&c);
	dns_start(&c, servers, sizeof(servers));
	ctx_tp(&c, servers);
	memset(servers, 0, sizeof(servers)); /* the transport keeps its own copy */

	/* localhost with a port: A/AAAA only, answered from /etc/hosts. */
	assert_int_equal(resolve(&c, "sip:bob@localhost:5080"), 0);
	assert_int_equal(c.resolved, 1);
	assert_int_equal(c.res_err, 0);
	assert_true(c.ntargets >= 1);
	assert_int_equal(c.targets[0].proto, TP_UDP);
	for (size_t i = 0; i < c.ntargets; i++) {
		char s[64];

		tp_sockaddr_fmt((struct sockaddr *)&c.targets[i].addr, s, sizeof(s));
		assert_true(strcmp(s, "127.0.0.1:5080") == 0 || strcmp(s, "[::1]:5080") == 0);
	}
	assert_int_equal(c.dns_queries, 0);

	/* NAPTR (order 10 TCP before order 20 UDP) -> SRV (by priority) -> A. */
	assert_int_equal(resolve(&c, "sip:example.test"), 0);
	assert_int_equal(c.res_err, 0);
	assert_int_equal(c.ntargets, 3);
	target_is(&c, 0, TP_TCP, "127.0.0.10:5070");
	target_is(&c, 1, TP_UDP, "127.0.0.11:5080");
	target_is(&c, 2, TP_UDP, "127.0.0.13:5090");

	/* transport given: SRV of that transport only. */
	assert_int_equal(resolve(&c, "sip:example.test;transport=udp"), 0);
	assert_int_equal(c.ntargets, 2);
	target_is(&c, 0, TP_UDP, "127.0.0.11:5080");

	/* No NAPTR, no SRV: the A record on 5060 over UDP. */
	assert_int_equal(resolve(&c, "sip:nosrv.test"), 0);
	assert_int_equal(c.ntargets, 1);
	target_is(&c, 0, TP_UDP, "127.0.0.12:5060");

	/* A name that does not exist. */
	assert_int_equal(resolve(&c, "sip:nowhere.test:5060"), 0);
	assert_int_equal(c.resolved, 1);
	assert_int_equal(c.res_err, -ENOENT);
	assert_int_equal(c.ntargets, 0);

	/* sips: only SIPS+D2T counts; sip: is not upgraded to TLS. */
	assert_int_equal(resolve(&c, "sips:secure.test"), 0);
	assert_int_equal(c.ntargets, 1);
	target_is(&c, 0, TP_TLS, "127.0.0.10:5061");
	assert_int_equal(resolve(&c, "sip:secure.test"), 0);
	assert_int_equal(c.ntargets, 1);
	target_is(&c, 0, TP_UDP, "127.0.0.11:5060");

	/* A forgotten resolution never calls back. */
	{
		struct sip_uri uri;
		struct sip_perr perr;
		int q = c.dns_queries;

		c.resolved = 0;
		assert_int_equal(sip_uri_decode(&uri, SLICE("sip:nosrv.test"), &perr), 0);
		assert_int_equal(tp_resolve(c.tp, &uri, res_h, &c), 0);
		tp_forget(c.tp, &c);
		for (int i = 0; i < 200 && c.dns_queries < q + 5; i++)
			uv_run(&c.loop, UV_RUN_ONCE);
		assert_int_equal(c.dns_queries, q + 5); /* NAPTR, 2 SRV, A, AAAA: all done */
		pump_res(&c, 50);
		assert_int_equal(c.resolved, 0);
	}

	/* Closing with a query in flight: no callback, nothing leaks. */
	{
		struct sip_uri uri;
		struct sip_perr perr;

		c.resolved = 0;
		assert_int_equal(sip_uri_decode(&uri, SLICE("sip:example.test"), &perr), 0);
		assert_int_equal(tp_resolve(c.tp, &uri, res_h, &c), 0);
	}
	ctx_stop(&c);
	assert_int_equal(c.resolved, 0);
}

/* tp_close() from inside a callback that c-ares made: the channel dies after it returns. */
static void test_resolve_close_in_callback(void **state)
{
	struct ctx c;
	char servers[64];
	struct sip_uri uri;
	struct sip_perr perr;

	(void)state;
	ctx_start(&c);
	dns_start(&c, servers, sizeof(servers));
	ctx_tp(&c, servers);
	c.close_in_cb = true;
	assert_int_equal(sip_uri_decode(&uri, SLICE("sip:example.test"), &perr), 0);
	assert_int_equal(tp_resolve(c.tp, &uri, res_h, &c), 0);
	/* A second resolution in flight is dropped silently by that close. */
	assert_int_equal(tp_resolve(c.tp, &uri, res_h, &c), 0);
	assert_true(pump_res(&c, 3000));
	assert_null(c.tp);
	ctx_stop(&c);
	assert_int_equal(c.resolved, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolve_numeric),
	    cmocka_unit_test(test_resolve_names),
	    cmocka_unit_test(test_resolve_close_in_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
