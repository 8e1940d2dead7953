/* The running edge: transport, transactions, calls and admin on one signalling loop. */
#ifndef IXEDGE_APP_EDGE_H
#define IXEDGE_APP_EDGE_H

#include <uv.h>

#include "admin/admin.h"
#include "app/config.h"
#include "call/call.h"
#include "ixedge/loopq.h"
#include "ixedge/tmr.h"
#include "routing/routing.h"
#include "transport/transport.h"
#include "txn/txn.h"

/*
 * Threading: everything here belongs to the signalling loop.  The admin
 * endpoint's HTTP thread reaches it only through `q` (loopq_call).
 *
 * Wiring, bottom up: tp (sockets) -> txns (transactions) -> calls (B2BUA,
 * the transaction user) -> route hook (static routes from the config).
 * The timer heap runs on the loop's clock, re-armed before each poll.
 */

/* One gateway address of an edge, with its listeners. */
struct edge_gw {
	const struct config_edge *edge;
	const struct config_gateway *gw;
	int edge_idx, gw_idx;
	struct tp_lis *lis[TP__COUNT];
};

/* An OPTIONS probe of a customer target (probes: in the config). */
struct edge_probe {
	struct edge *e;
	const struct config_probe *conf;
	struct routing_probe st;
	struct sockaddr_storage addr; /* the target's address, to match routes against */
	struct tmr tmr;
	bool in_flight;
};

struct edge {
	uv_loop_t *loop;
	const struct config *cfg;
	struct tmr_heap heap;
	uv_timer_t tick;
	uv_prepare_t prep;
	struct tp *tp;
	struct txns *tl;
	struct calls *cs;
	struct loopq *q;
	struct admin *admin;
	struct edge_gw *gws;
	size_t ngws;
	size_t *first_gw; /* per edge: index of its first gateway in gws */
	struct routing *routing;
	int default_edge;
	struct inbound *in;  /* store, access control, TwiML (inbound.c) */
	struct media *media; /* the relay: one pool per edge */
	struct edge_probe *probes;
	size_t nprobes;
	uv_signal_t sigint, sigterm;
	bool handles_open;
	bool stopping;
};

/* Starts everything; on failure logs why and leaves e closed (uv_run then returns). */
int edge_start(struct edge *e, uv_loop_t *loop, const struct config *cfg);
/* Ends calls, closes sockets and handles; uv_run() returns once they are closed. */
void edge_stop(struct edge *e);

/*
 * A dial target for a call from a URI (edge=, tnx=, region=, transport=;
 * else the call's edge): 0, or a SIP status with the reason phrase in why
 * (an unknown tnx=, a target probed down...).
 */
uint16_t edge_target_for_call(struct edge *e, struct call *call, const char *uri,
                              struct call_dial_target *d, char *why, size_t whylen);
/* Whether a static route covers the domain label (as resolved) and the Request-URI user. */
bool edge_route_exists(struct edge *e, struct slice domain, const struct sip_msg *inv);
/* Dials the first matching static route (or refuses the call). */
int edge_route_static(struct edge *e, struct call *call, const struct sip_msg *inv,
                      const struct tp_peer *src);

/* The Prometheus text of every counter (on the loop). */
int edge_metrics(void *arg, struct buf *out);

#endif
