/* The running edge: wiring of transport, transactions and calls; static routes; metrics. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/edge.h"
#include "app/inbound.h"
#include "base/rand.h"
#include "ixedge/prom.h"

#define MOD "edge"

/* ------------------------------------------------------------ timers */

static void tick_h(uv_timer_t *t)
{
	struct edge *e = t->data;

	tmr_heap_run(&e->heap, uv_now(e->loop));
}

/* Before each poll: arm the one libuv timer for the heap's next deadline. */
static void prep_h(uv_prepare_t *p)
{
	struct edge *e = p->data;
	int64_t next;

	tmr_heap_set_now(&e->heap, uv_now(e->loop));
	next = tmr_heap_next(&e->heap);
	if (next < 0)
		uv_timer_stop(&e->tick);
	else
		uv_timer_start(&e->tick, tick_h, (uint64_t)next, 0);
}

/* ------------------------------------------------------------ wiring */

static int io_send(void *ctx, const struct tp_peer *dst, const char *p, size_t len, tp_fail_h *fail,
                   void *arg)
{
	return tp_send(ctx, dst, p, len, fail, arg);
}

static int io_send_response(void *ctx, const struct sip_msg *req, const struct tp_peer *src,
                            const char *p, size_t len)
{
	return tp_send_response(ctx, req, src, p, len);
}

static void recv_h(void *arg, struct sip_msg *msg, const struct tp_peer *src)
{
	struct edge *e = arg;

	/* libuv refreshed its clock after the poll: timers started from here count from now. */
	tmr_heap_set_now(&e->heap, uv_now(e->loop));
	if (e->tl)
		txns_recv(e->tl, msg, src);
}

/* ------------------------------------------------------------ routing */

static enum tp_proto proto_of(enum routing_proto p)
{
	return p == ROUTING_PROTO_TCP ? TP_TCP : p == ROUTING_PROTO_TLS ? TP_TLS : TP_UDP;
}

static bool probed_down(const struct edge *e, const struct sockaddr_storage *addr)
{
	for (size_t i = 0; i < e->nprobes; i++) {
		if (tp_addr_eq((const struct sockaddr *)addr,
		               (const struct sockaddr *)&e->probes[i].addr) &&
		    routing_probe_is_down(&e->probes[i].st))
			return true;
	}
	return false;
}

/* Records why a target is refused (a reason phrase) and returns the status. */
static uint16_t refuse(char *why, size_t len, uint16_t status, const char *phrase)
{
	snprintf(why, len, "%s", phrase);
	return status;
}

/*
 * A route's target as a call target: the outbound edge (edge=, tnx=,
 * region=, else the edge the call came in on, else the default), the
 * Request-URI without routing parameters, and the failover paths through
 * the gateways of that edge and its region's failover edges.  0, or a SIP
 * status with the reason in `why`.
 */
static uint16_t target_build(struct edge *e, const char *uri_text, int call_edge,
                             const struct edge_gw *prefer, struct call_dial_target *dt, char *why,
                             size_t whylen)
{
	struct call_target *t = &dt->t;
	struct routing_choice ch = {.ruri = t->uri, .ruri_cap = sizeof(t->uri)};
	struct routing_hop hops[CALL_MAX_HOPS];
	struct sip_uri u;
	size_t n;

	if (sip_uri_decode(&u, slice_cstr(uri_text), NULL))
		return refuse(why, whylen, 404, "Not Found (bad route target)");
	if (routing_outbound(e->routing, &u, call_edge, e->default_edge, &ch)) {
		char msg[128];

		routing_fail_format(ch.fail, ch.what, msg, sizeof(msg));
		snprintf(why, whylen, "Not Found (%s)", msg);
		return 404;
	}
	snprintf(dt->edge, sizeof(dt->edge), "%s", e->cfg->edges[ch.edge].name);
	t->dst.proto = proto_of(ch.proto);
	if (t->dst.proto == TP_TLS)
		return refuse(why, whylen, 503, "Service Unavailable (TLS not served yet)");
	if (sip_uri_decode(&u, slice_cstr(t->uri), NULL) || tp_uri_addr(&u, &t->dst.addr))
		return refuse(why, whylen, 404, "Not Found (route target needs a numeric host)");
	n = routing_failover_plan(e->routing, ch.edge, ch.proto, hops, CALL_MAX_HOPS);
	/* Leaving from the edge the call came in on: start with its own gateway, so
	 * each gateway carries its share and not only the first one. */
	for (size_t i = 1; prefer && i < n; i++) {
		if (hops[i].edge == prefer->edge_idx && hops[i].gateway == prefer->gw_idx) {
			struct routing_hop h = hops[i];

			memmove(&hops[1], &hops[0], i * sizeof(hops[0]));
			hops[0] = h;
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct tp_lis *lis =
		    e->gws[e->first_gw[hops[i].edge] + (size_t)hops[i].gateway].lis[t->dst.proto];

		if (lis)
			t->hops[t->nhops++] = lis;
	}
	if (!t->nhops)
		return refuse(why, whylen, 503, "Service Unavailable (no gateway path)");
	t->hop_timeout_ms = e->cfg->routing.failover_timeout_ms;
	return 0;
}

/* The edge a call is in: the one its Request-URI names, else its gateway's (-1: none). */
static int call_edge_of(struct edge *e, const struct sip_msg *inv, const struct tp_peer *src)
{
	const struct edge_gw *in_gw = src->lis ? tp_lis_tag(src->lis) : NULL;
	struct routing_target rt;

	if (routing_resolve_host(e->routing, inv->ruri.host, &rt) == 0 && rt.edge >= 0)
		return rt.edge;
	return in_gw ? in_gw->edge_idx : -1;
}

uint16_t edge_target_for_call(struct edge *e, struct call *call, const char *uri,
                              struct call_dial_target *d, char *why, size_t whylen)
{
	const struct tp_peer *src = call_inbound_peer(call);
	const struct edge_gw *in_gw = src->lis ? tp_lis_tag(src->lis) : NULL;
	uint16_t status =
	    target_build(e, uri, call_edge_of(e, call_invite(call), src), in_gw, d, why, whylen);

	if (!status && probed_down(e, &d->t.dst.addr)) {
		snprintf(why, whylen, "Service Unavailable (target down)");
		return 503;
	}
	return status;
}

/* The Request-URI user, unescaped, for route globs; false when it cannot be. */
static bool route_user(const struct sip_msg *inv, char *user, size_t cap)
{
	int n = sip_unescape(inv->ruri.user, user, cap - 1);

	if (n < 0 || inv->ruri.user.len >= cap)
		return false;
	user[n] = '\0';
	return true;
}

/* The SIP domain label the Request-URI names ("" for numeric hosts), for route globs. */
static void route_domain(struct edge *e, const struct sip_msg *inv, char *out, size_t cap)
{
	struct routing_target rt;

	if (routing_resolve_host(e->routing, inv->ruri.host, &rt))
		rt.domain = SLICE_NULL;
	snprintf(out, cap, "%.*s", SLICE_ARG(rt.domain));
}

bool edge_route_exists(struct edge *e, struct slice domain, const struct sip_msg *inv)
{
	char user[256], dom[128];

	snprintf(dom, sizeof(dom), "%.*s", SLICE_ARG(domain));
	return route_user(inv, user, sizeof(user)) && config_route_find(e->cfg, dom, user, NULL);
}

/*
 * Static routes (routes: in the config) for calls to no stored domain: the
 * first route whose glob matches the Request-URI user and whose target is
 * not probed down.  The caller gets the callee's final when the dial fails.
 */
int edge_route_static(struct edge *e, struct call *call, const struct sip_msg *inv,
                      const struct tp_peer *src)
{
	const struct config_route *r = NULL;
	struct call_dial_target d = {0};
	char user[256], raw[256], tpl[512], why[192], dom[128];
	uint16_t status = 404;
	const char *target = NULL;

	if (!route_user(inv, user, sizeof(user))) {
		call_finish(call, 404, "Not Found (bad user part)", NULL);
		return 0;
	}
	memcpy(raw, inv->ruri.user.p, inv->ruri.user.len);
	raw[inv->ruri.user.len] = '\0';
	route_domain(e, inv, dom, sizeof(dom));
	snprintf(why, sizeof(why), "Not Found (no route)");
	while ((r = config_route_find(e->cfg, dom, user, r))) {
		/* The target gets the user as written (still %-escaped): it stays a valid URI. */
		if (config_route_expand(r->target, raw, tpl, sizeof(tpl)))
			continue;
		target = tpl;
		status = edge_target_for_call(e, call, tpl, &d, why, sizeof(why));
		if (status != 503 || strcmp(why, "Service Unavailable (target down)"))
			break;
		log_info(MOD, "%s: target %s is down (probe); trying the next route",
		         call_sid(call), tpl);
	}
	if (!target || status) {
		log_info(MOD, "%s: user '%s': %s", call_sid(call), user, why);
		call_finish(call, status ? status : 404, why, NULL);
		return 0;
	}
	(void)src;
	return call_dial(call, &(struct call_dial){.to = &d, .n = 1, .relay_final = true});
}

/* -------------------------------------------------------------- probes */

static void probe_due_h(void *arg);

static void probe_resp_h(void *arg, struct txn *ct, struct sip_msg *resp, int err)
{
	struct edge_probe *p = arg;
	const char *target = p->conf->target;
	uint64_t now = p->e->heap.now;

	(void)ct;
	(void)err;
	if (resp && resp->status < 200)
		return;
	p->in_flight = false;
	/* The next probe is due one interval after this result (docs/ROUTING.md). */
	tmr_start(&p->tmr, &p->e->heap, p->conf->interval_ms, probe_due_h, p);
	switch (routing_probe_result(&p->st, resp && routing_probe_status_ok(resp->status), now)) {
	case ROUTING_PROBE_WENT_DOWN:
		log_warn(MOD, "probe %s: DOWN (%s)", target, resp ? "bad status" : "no answer");
		break;
	case ROUTING_PROBE_WENT_UP:
		log_info(MOD, "probe %s: UP", target);
		break;
	case ROUTING_PROBE_SAME:
		break;
	}
}

static void probe_send(struct edge_probe *p)
{
	struct edge *e = p->e;
	struct call_dial_target d = {0};
	struct call_target t;
	struct buf out = {0};
	struct sip_edit h[8];
	char via[160], from[160], callid[64], branch[40], tag[24], why[128];
	const struct sockaddr *local;
	char host[80];
	struct txn *ct;
	size_t n = 0;
	int len;

	if (target_build(e, p->conf->target, -1, NULL, &d, why, sizeof(why)))
		return;
	t = d.t;
	local = tp_lis_addr(t.hops[0]);
	tp_sockaddr_fmt(local, host, sizeof(host));
	txn_branch_new(branch, sizeof(branch));
	rand_token(tag, sizeof(tag), 12);
	len = snprintf(via, sizeof(via), "SIP/2.0/%s %s;branch=%s;rport",
	               tp_proto_name(t.dst.proto), host, branch);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_VIA, {0}, {via, (size_t)len}};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_MAX_FORWARDS, {0}, SLICE("70")};
	len = snprintf(from, sizeof(from), "<sip:ping@%s>;tag=%s", host, tag);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_FROM, {0}, {from, (size_t)len}};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_TO, {0}, slice_cstr(t.uri)};
	len = (int)rand_token(callid, sizeof(callid), 20);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CALL_ID, {0}, {callid, (size_t)len}};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CSEQ, {0}, SLICE("1 OPTIONS")};
	t.dst.lis = t.hops[0];
	if (sip_request_build(&out, SLICE("OPTIONS"), slice_cstr(t.uri), h, n, SLICE_NULL) == 0 &&
	    txn_request(&ct, e->tl, &out, &t.dst, probe_resp_h, p) == 0)
		p->in_flight = true;
	buf_free(&out);
}

static void probe_due_h(void *arg)
{
	struct edge_probe *p = arg;

	probe_send(p);
	if (!p->in_flight) /* could not even send: try again later */
		tmr_start(&p->tmr, &p->e->heap, p->conf->interval_ms, probe_due_h, p);
}

static int probes_start(struct edge *e)
{
	const struct config *cfg = e->cfg;

	e->probes = calloc(cfg->nprobes + 1, sizeof(*e->probes));
	if (!e->probes)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nprobes; i++) {
		struct edge_probe *p = &e->probes[i];
		struct routing_probe_conf pc = {cfg->probes[i].interval_ms,
		                                cfg->probes[i].fail_threshold,
		                                cfg->probes[i].recover_threshold};
		struct sip_uri u;

		p->e = e;
		p->conf = &cfg->probes[i];
		routing_probe_init(&p->st, &pc, e->heap.now);
		if (sip_uri_decode(&u, slice_cstr(p->conf->target), NULL) == 0)
			tp_uri_addr(&u, &p->addr);
		tmr_start(&p->tmr, &e->heap, 0, probe_due_h, p);
		e->nprobes = i + 1;
		log_info(MOD, "probing %s every %us", p->conf->target, p->conf->interval_ms / 1000);
	}
	return 0;
}

/* ------------------------------------------------------------ metrics */

int edge_metrics(void *arg, struct buf *out)
{
	struct edge *e = arg;
	const struct tp_stats *ts;
	const struct txns_stats *xs;
	const struct calls_stats *cs;
	int rc = 0;

	if (!e->tp || !e->tl || !e->cs)
		return -EAGAIN; /* shutting down */
	ts = tp_stats(e->tp);
	xs = txns_stats(e->tl);
	cs = calls_stats(e->cs);

	rc = rc ? rc : prom_gauge(out, "ixedge_transactions", "Live SIP transactions.", xs->live);
	rc = rc ? rc
	        : prom_gauge(out, "ixedge_dialogs", "Live SIP dialogs (call legs).",
	                     cs->live_dialogs);
	rc = rc ? rc : prom_gauge(out, "ixedge_calls", "Live calls.", cs->live_calls);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_calls_started_total", "Calls started.", cs->started);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_calls_answered_total", "Calls answered.", cs->answered);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_calls_failed_total", "Calls that ended unanswered.",
	                       cs->failed);
	rc = rc ? rc
	        : prom_header(out, "ixedge_calls_ended_total", "counter",
	                      "Calls ended, by the final status of the call (200 when answered).");
	for (unsigned code = 100; code < ARRAY_SIZE(cs->by_status); code++) {
		char text[8];

		if (!cs->by_status[code])
			continue;
		snprintf(text, sizeof(text), "%u", code);
		rc = rc ? rc
		        : prom_value(out, "ixedge_calls_ended_total", PROM_LABELS({"status", text}),
		                     (double)cs->by_status[code]);
	}

	rc = rc ? rc
	        : prom_header(out, "ixedge_sip_requests_total", "counter",
	                      "SIP requests by direction, method.");
	for (unsigned m = 0; m < SIP_METHOD__COUNT; m++) {
		const char *name = sip_method_name((enum sip_method)m);

		if (ts->rx_req[m])
			rc = rc ? rc
			        : prom_value(out, "ixedge_sip_requests_total",
			                     PROM_LABELS({"direction", "in"}, {"method", name}),
			                     (double)ts->rx_req[m]);
		if (ts->tx_req[m])
			rc = rc ? rc
			        : prom_value(out, "ixedge_sip_requests_total",
			                     PROM_LABELS({"direction", "out"}, {"method", name}),
			                     (double)ts->tx_req[m]);
	}
	rc = rc ? rc
	        : prom_header(out, "ixedge_sip_responses_total", "counter",
	                      "SIP responses by direction.");
	rc = rc ? rc
	        : prom_value(out, "ixedge_sip_responses_total", PROM_LABELS({"direction", "in"}),
	                     (double)ts->rx_resp);
	rc = rc ? rc
	        : prom_value(out, "ixedge_sip_responses_total", PROM_LABELS({"direction", "out"}),
	                     (double)ts->tx_resp);
	rc = rc ? rc
	        : prom_header(out, "ixedge_sip_messages_total", "counter",
	                      "SIP messages by direction and transport.");
	for (unsigned p = 0; p < TP__COUNT; p++) {
		rc = rc ? rc
		        : prom_value(out, "ixedge_sip_messages_total",
		                     PROM_LABELS({"direction", "in"},
		                                 {"transport", tp_proto_name((enum tp_proto)p)}),
		                     (double)ts->rx_msgs[p]);
		rc = rc ? rc
		        : prom_value(out, "ixedge_sip_messages_total",
		                     PROM_LABELS({"direction", "out"},
		                                 {"transport", tp_proto_name((enum tp_proto)p)}),
		                     (double)ts->tx_msgs[p]);
	}
	rc = rc ? rc
	        : prom_counter(out, "ixedge_sip_parse_errors_total",
	                       "Messages that failed to parse.", ts->parse_errors);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_sip_dropped_total", "Messages dropped unanswered.",
	                       ts->dropped);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_sip_retransmissions_total",
	                       "Requests and responses the edge re-sent.", xs->retransmissions);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_sip_retransmissions_absorbed_total",
	                       "Retransmissions received and absorbed.", xs->absorbed);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_sip_transaction_timeouts_total",
	                       "Client transactions that timed out.", xs->timeouts);
	rc = rc ? rc
	        : prom_gauge(out, "ixedge_tcp_connections", "Open TCP connections.", ts->tcp_conns);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_call_failovers_total",
	                       "Outbound gateway paths abandoned for the next one.", cs->failovers);
	if (e->nprobes) {
		rc =
		    rc ? rc
		       : prom_header(out, "ixedge_probe_up", "gauge",
		                     "1 while an OPTIONS-probed target is up, 0 while it is down.");
		for (size_t i = 0; i < e->nprobes && !rc; i++)
			rc = prom_value(out, "ixedge_probe_up",
			                PROM_LABELS({"target", e->probes[i].conf->target}),
			                routing_probe_is_down(&e->probes[i].st) ? 0 : 1);
		rc = rc ? rc
		        : prom_header(out, "ixedge_probe_changes_total", "counter",
		                      "Probe state changes, by the state entered.");
		for (size_t i = 0; i < e->nprobes && !rc; i++) {
			const struct routing_probe *st = &e->probes[i].st;

			rc = prom_value(
			    out, "ixedge_probe_changes_total",
			    PROM_LABELS({"target", e->probes[i].conf->target}, {"to", "down"}),
			    (double)st->downs);
			rc = rc ? rc
			        : prom_value(out, "ixedge_probe_changes_total",
			                     PROM_LABELS({"target", e->probes[i].conf->target},
			                                 {"to", "up"}),
			                     (double)st->ups);
		}
	}
	rc = rc ? rc : inbound_metrics(e, out);
	return rc ? rc : media_metrics(e->media, out);
}

/* -------------------------------------------------------- start / stop */

static void signal_h(uv_signal_t *s, int signum)
{
	struct edge *e = s->data;

	log_info(MOD, "received %s; shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
	edge_stop(e);
}

static int listen_all(struct edge *e)
{
	const struct config *cfg = e->cfg;
	size_t k = 0;

	e->gws = calloc(config_gateway_count(cfg) + 1, sizeof(*e->gws));
	e->first_gw = calloc(cfg->nedges + 1, sizeof(*e->first_gw));
	if (!e->gws || !e->first_gw)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nedges; i++) {
		const struct config_edge *ed = &cfg->edges[i];

		e->first_gw[i] = k;
		for (size_t j = 0; j < ed->ngateways; j++) {
			const struct config_gateway *gw = &ed->gateways[j];
			static const enum tp_proto protos[] = {TP_UDP, TP_TCP};
			struct edge_gw *g = &e->gws[k++];

			g->edge = ed;
			g->gw = gw;
			g->edge_idx = (int)i;
			g->gw_idx = (int)j;
			for (size_t p = 0; p < ARRAY_SIZE(protos); p++) {
				struct sockaddr_storage ss = {0};
				uint16_t port = protos[p] == TP_UDP ? gw->udp : gw->tcp;
				struct tp_lis *lis;
				char text[80];
				int rc;

				if (gw->ip.family == AF_INET) {
					struct sockaddr_in *in = (struct sockaddr_in *)&ss;

					in->sin_family = AF_INET;
					in->sin_addr = gw->ip.a.v4;
					in->sin_port = htons(port);
				} else {
					struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

					in6->sin6_family = AF_INET6;
					in6->sin6_addr = gw->ip.a.v6;
					in6->sin6_port = htons(port);
				}
				tp_sockaddr_fmt((struct sockaddr *)&ss, text, sizeof(text));
				rc = tp_listen(e->tp, protos[p], (struct sockaddr *)&ss, g, &lis);
				if (!rc)
					g->lis[protos[p]] = lis;
				if (rc) {
					log_error(MOD, "cannot listen on %s %s (edge %s): %s",
					          protos[p] == TP_UDP ? "udp" : "tcp", text,
					          ed->name, uv_strerror(rc));
					return rc;
				}
				log_info(MOD, "listening %s %s (edge %s)",
				         protos[p] == TP_UDP ? "udp" : "tcp", text, ed->name);
			}
			if (gw->tls)
				log_info(MOD, "tls %s:%u (edge %s) configured, not served yet",
				         gw->ip.text, gw->tls, ed->name);
		}
	}
	e->ngws = k;
	return 0;
}

/*
 * The relay and one pool per edge.  A pool binds the edge's media
 * addresses; a range given as a prefix (what customers allow-list) binds
 * its first host address.
 */
static int media_start(struct edge *e)
{
	const struct config *cfg = e->cfg;
	struct media_conf mc;
	int rc;

	media_conf_default(&mc);
	mc.threads = cfg->media.threads;
	mc.strict_latch = cfg->media.strict_latch;
	mc.quarantine_ms = cfg->media.quarantine_ms;
	rc = media_alloc(&e->media, &mc);
	if (rc) {
		log_error(MOD, "cannot start the media relay: %s", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < cfg->nedges; i++) {
		const struct config_edge *ed = &cfg->edges[i];
		struct sockaddr_storage addrs[16];
		size_t n = 0;

		for (size_t k = 0; k < ed->media.naddrs && n < ARRAY_SIZE(addrs); k++) {
			const struct config_prefix *p = &ed->media.addrs[k];
			struct sockaddr_storage *ss = &addrs[n++];

			memset(ss, 0, sizeof(*ss));
			if (p->ip.family == AF_INET) {
				struct sockaddr_in *in = (struct sockaddr_in *)ss;
				uint32_t a = ntohl(p->ip.a.v4.s_addr);

				in->sin_family = AF_INET;
				in->sin_addr.s_addr = htonl(p->plen < 31 ? a + 1 : a);
			} else {
				struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

				in6->sin6_family = AF_INET6;
				in6->sin6_addr = p->ip.a.v6;
				if (p->plen < 127)
					in6->sin6_addr.s6_addr[15] |= 1;
			}
		}
		if (!n)
			continue;
		rc = media_pool_add(e->media, ed->name, addrs, n, ed->media.port_min,
		                    ed->media.port_max);
		if (rc) {
			log_error(MOD, "media pool of edge %s: %s", ed->name, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static void calls_conf_from(const struct config *cfg, struct calls_conf *cc)
{
	calls_conf_default(cc);
	cc->ring_timeout_ms = cfg->calls.ring_timeout_s * 1000;
	cc->max_duration_ms = cfg->calls.max_duration_s * 1000;
	cc->session_expires_s = cfg->calls.session_expires_s;
	cc->min_se_s = cfg->calls.min_se_s;
	cc->t1_ms = cfg->t1_ms;
	memcpy(cc->account_sid, cfg->calls.account_sid, sizeof(cc->account_sid));
	if (cfg->calls.x_headers)
		cc->xhdr_allow = (const char *const *)cfg->calls.x_headers;
	cc->media_timeout_ms = cfg->media.timeout_s * 1000;
}

int edge_start(struct edge *e, uv_loop_t *loop, const struct config *cfg)
{
	struct tp_conf tc;
	struct txn_conf xc;
	struct calls_conf cc;
	struct call_ctl ctl;
	struct txn_tu tu;
	struct txn_io io;
	char listen[80];
	int rc;

	*e = (struct edge){.loop = loop, .cfg = cfg};
	tmr_heap_init(&e->heap, uv_now(loop));
	uv_timer_init(loop, &e->tick);
	uv_prepare_init(loop, &e->prep);
	uv_signal_init(loop, &e->sigint);
	uv_signal_init(loop, &e->sigterm);
	e->tick.data = e->prep.data = e->sigint.data = e->sigterm.data = e;
	e->handles_open = true;
	uv_prepare_start(&e->prep, prep_h);
	uv_signal_start(&e->sigint, signal_h, SIGINT);
	uv_signal_start(&e->sigterm, signal_h, SIGTERM);

	tp_conf_default(&tc);
	tc.lim = cfg->sip_limits;
	tc.tcp_idle_timeout_ms = cfg->tcp_idle_timeout * 1000;
	tc.tcp_max_conns = cfg->tcp_max_connections;
	rc = tp_alloc(&e->tp, loop, &tc, recv_h, e);
	if (rc)
		goto fail;
	io = (struct txn_io){.send = io_send, .send_response = io_send_response, .ctx = e->tp};
	rc = media_start(e);
	if (rc)
		goto fail;
	calls_conf_from(cfg, &cc);
	cc.media = e->media;
	inbound_ctl(e, &ctl);
	rc = calls_alloc(&e->cs, &e->heap, &io, &cc, &ctl);
	if (rc)
		goto fail;
	calls_tu(e->cs, &tu);
	txn_conf_default(&xc);
	xc.t1_ms = cfg->t1_ms;
	xc.t2_ms = cfg->t2_ms;
	xc.t4_ms = cfg->t4_ms;
	rc = txns_alloc(&e->tl, &e->heap, &xc, &io, &tu);
	if (rc)
		goto fail;
	calls_set_txns(e->cs, e->tl);
	rc = routing_build(&e->routing, cfg->edges, cfg->nedges, cfg->regions, cfg->nregions,
	                   cfg->connections, cfg->nconnections, cfg->base_domains,
	                   cfg->nbase_domains);
	if (rc)
		goto fail;
	e->default_edge =
	    cfg->routing.default_edge
	        ? routing_edge_find(e->routing, slice_cstr(cfg->routing.default_edge), NULL)
	        : 0;
	rc = inbound_open(e);
	if (!rc)
		rc = listen_all(e);
	if (!rc)
		rc = probes_start(e);
	if (rc)
		goto fail;
	rc = loopq_alloc(&e->q, loop);
	if (rc)
		goto fail;
	if (cfg->admin_ip.family == AF_INET6)
		snprintf(listen, sizeof(listen), "[%s]:%u", cfg->admin_ip.text, cfg->admin_port);
	else
		snprintf(listen, sizeof(listen), "%s:%u", cfg->admin_ip.text, cfg->admin_port);
	rc = admin_start(&e->admin, listen, e->q, edge_metrics, e);
	if (rc) {
		log_error(MOD, "cannot serve the admin endpoint on %s: %s", listen, strerror(-rc));
		goto fail;
	}
	log_info(MOD, "admin http://%s/ (health, metrics)", listen);
	return 0;
fail:
	edge_stop(e);
	return rc ? rc : -EINVAL;
}

static void closed_h(uv_handle_t *h)
{
	(void)h;
}

void edge_stop(struct edge *e)
{
	if (e->stopping)
		return;
	e->stopping = true;
	for (size_t i = 0; i < e->nprobes; i++)
		tmr_cancel(&e->probes[i].tmr);
	/* Calls first (their BYEs and CANCELs still go out), then what they used. */
	if (e->cs)
		calls_free(e->cs);
	e->cs = NULL;
	inbound_close(e);
	media_free(e->media);
	e->media = NULL;
	if (e->admin)
		admin_stop(e->admin);
	e->admin = NULL;
	if (e->tl)
		txns_free(e->tl);
	e->tl = NULL;
	if (e->q)
		loopq_close(e->q);
	e->q = NULL;
	if (e->tp)
		tp_close(e->tp);
	e->tp = NULL;
	tmr_heap_fini(&e->heap);
	free(e->gws);
	e->gws = NULL;
	free(e->first_gw);
	e->first_gw = NULL;
	free(e->probes);
	e->probes = NULL;
	e->nprobes = 0;
	e->routing = mem_deref(e->routing);
	if (e->handles_open) {
		e->handles_open = false;
		uv_close((uv_handle_t *)&e->tick, closed_h);
		uv_close((uv_handle_t *)&e->prep, closed_h);
		uv_close((uv_handle_t *)&e->sigint, closed_h);
		uv_close((uv_handle_t *)&e->sigterm, closed_h);
	}
}
