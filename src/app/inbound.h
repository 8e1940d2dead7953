/* Inbound calls: which SIP domain, who may call it (ACL, digest), and its TwiML. */
#ifndef IXEDGE_APP_INBOUND_H
#define IXEDGE_APP_INBOUND_H

#include "call/call.h"
#include "ixedge/base.h"

struct edge;

/*
 * Threading: the signalling loop, except the snapshot loader, which reads
 * the store on a libuv worker thread with its own connection and hands the
 * new snapshot back to the loop.
 *
 * The edge's controller (struct call_ctl) is made of these: admit() decides
 * before a call exists (unknown base, edge or domain: 404; no mapping or a
 * source outside the ACLs: 403; digest: 401/403/400), start() runs the
 * domain's TwiML or, for requests to no stored domain, the static routes.
 * docs/CALLS.md ("Control") and docs/AUTH.md give the flow.
 */

/* Opens the store in the data directory, seeds it, loads the first snapshot,
 * starts the call-record writer and the change poll.  Logs why on failure. */
int inbound_open(struct edge *e);
void inbound_close(struct edge *e);

/* The struct call_ctl of the edge. */
void inbound_ctl(struct edge *e, struct call_ctl *ctl);

/* Prometheus text: refusals by reason, store writer, snapshot. */
int inbound_metrics(struct edge *e, struct buf *out);

#endif
