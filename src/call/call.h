/* Calls: the B2BUA that joins an inbound leg to an outbound leg, each its own dialog. */
#ifndef IXEDGE_CALL_H
#define IXEDGE_CALL_H

#include "dialog/dialog.h"
#include "ixedge/tmr.h"
#include "txn/txn.h"

/*
 * Threading: signalling loop only.
 *
 * The call layer is the transaction user: it receives requests from the
 * transaction layer (struct txn_tu, see calls_tu()), creates a call per
 * initial INVITE, asks the routing hook where the call goes, places the
 * outbound leg and relays what happens on one leg to the other.  A call is
 * freed when both legs' dialogs have ended and no transaction of it is
 * pending; the call layer's counters say how many live.
 */

struct calls;
struct call;

struct calls_conf {
	uint32_t ring_timeout_ms;      /* outbound leg unanswered: CANCEL, 408 inbound (60000) */
	uint32_t max_duration_ms;      /* answered call ends with BYE on both legs; 0 = none */
	uint32_t session_expires_s;    /* RFC 4028 interval the edge asks for (1800); 0 = off */
	uint32_t min_se_s;             /* smallest interval accepted (90) */
	uint32_t t1_ms;                /* the transaction layer's T1, for 64*T1 clean-ups (500) */
	char account_sid[35];          /* X-Twilio-AccountSid on outbound INVITEs */
	const char *const *xhdr_allow; /* NULL-terminated name patterns ("X-*") copied A -> B */
	const char *user_agent;        /* User-Agent / Server value */
};
void calls_conf_default(struct calls_conf *conf);

#define CALL_MAX_HOPS 16

/*
 * Where the routing hook sends a call: one Request-URI and remote address,
 * reached through the gateway sockets in hops[] in order (failover).  A path
 * is abandoned for the next when it gives no response at all within
 * hop_timeout_ms, times out (Timer B), fails at the transport or answers
 * 503; all within the ring timeout.
 */
struct call_target {
	char uri[512];      /* Request-URI of the outbound INVITE (routing params removed) */
	struct tp_peer dst; /* transport and remote address (dst.lis is ignored) */
	struct tp_lis *hops[CALL_MAX_HOPS];
	size_t nhops;            /* at least 1 */
	uint32_t hop_timeout_ms; /* 0: only Timer B */
};

/*
 * Routing hook: decides where an inbound INVITE goes.  It may answer at
 * once or later, by calling call_route_done() exactly once (status 0 with a
 * target, or a SIP status >= 400 to refuse the call with).  Returning
 * non-zero from the hook itself refuses with 500.
 */
typedef int(call_route_h)(void *arg, struct call *call, const struct sip_msg *invite,
                          const struct tp_peer *src);
void call_route_done(struct call *call, uint16_t status, const char *reason,
                     const struct call_target *target);

struct calls_stats {
	uint32_t live_calls, live_dialogs;
	uint64_t started, answered, failed, ended;
	uint64_t by_status[700]; /* ended calls by final status (0 when none was sent) */
	uint64_t refused_481, refused_405, max_forwards_483;
	uint64_t failovers; /* outbound paths abandoned for the next one */
};

/*
 * Set-up order (the call layer is the transaction layer's TU):
 *   calls_alloc(&cs, ...); calls_tu(cs, &tu); txns_alloc(&tl, ..., &tu);
 *   calls_set_txns(cs, tl);
 */
int calls_alloc(struct calls **csp, struct tmr_heap *heap, const struct txn_io *io,
                const struct calls_conf *conf, call_route_h *route, void *route_arg);
/* Ends every call with BYE / CANCEL (best effort) and frees the layer. */
void calls_free(struct calls *cs);
/* The callbacks to give txns_alloc(); arg is cs. */
void calls_tu(struct calls *cs, struct txn_tu *tu);
void calls_set_txns(struct calls *cs, struct txns *tl);
const struct calls_stats *calls_stats(const struct calls *cs);

/* The call's SID ("CA" + 32 hex) and the inbound leg's local address. */
const char *call_sid(const struct call *call);
const struct tp_peer *call_inbound_peer(const struct call *call);

#endif
