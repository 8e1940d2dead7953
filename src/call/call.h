/* Calls: the B2BUA that joins an inbound leg to an outbound leg, each its own dialog. */
#ifndef IXEDGE_CALL_H
#define IXEDGE_CALL_H

#include "dialog/dialog.h"
#include "media/media.h"
#include "ixedge/tmr.h"
#include "txn/txn.h"

/*
 * Threading: signalling loop only.
 *
 * The call layer is the transaction user: it receives requests from the
 * transaction layer (struct txn_tu, see calls_tu()), creates a call per
 * initial INVITE and hands it to the controller (struct call_ctl: static
 * routes or TwiML), which rings, answers, dials or ends it.  A dial forks
 * to its targets in parallel; the first to answer is bridged, and from then
 * on what happens on one leg is relayed to the other.  A call is freed when
 * its dialogs have ended and no transaction of it is pending; the call
 * layer's counters say how many live.
 */

struct calls;
struct call;

struct calls_conf {
	uint32_t ring_timeout_ms;      /* dial timeout when the dial gives none (60000) */
	uint32_t max_duration_ms;      /* answered call ends with BYE on both legs; 0 = none */
	uint32_t session_expires_s;    /* RFC 4028 interval the edge asks for (1800); 0 = off */
	uint32_t min_se_s;             /* smallest interval accepted (90) */
	uint32_t t1_ms;                /* the transaction layer's T1, for 64*T1 clean-ups (500) */
	char account_sid[35];          /* X-Twilio-AccountSid on outbound INVITEs */
	const char *const *xhdr_allow; /* NULL-terminated name patterns ("X-*") copied A -> B */
	const char *user_agent;        /* User-Agent / Server value */
	struct media *media;           /* anchors media in the edges' pools; NULL: SDP passes */
	uint32_t media_timeout_ms;     /* no packets on any stream: BYE both legs (60000); 0 off */
};
void calls_conf_default(struct calls_conf *conf);

#define CALL_MAX_HOPS 16

/*
 * Where a dialled leg goes: one Request-URI and remote address, reached
 * through the gateway sockets in hops[] in order (failover).  A path is
 * abandoned for the next when it gives no response at all within
 * hop_timeout_ms, times out (Timer B), fails at the transport or answers
 * 503; all within the dial's timeout.
 */
struct call_target {
	char uri[512];      /* Request-URI of the outbound INVITE (routing params removed) */
	struct tp_peer dst; /* transport and remote address (dst.lis is ignored) */
	struct tp_lis *hops[CALL_MAX_HOPS];
	size_t nhops;            /* at least 1 */
	uint32_t hop_timeout_ms; /* 0: only Timer B */
};

/* One party of a dial: a target plus what the leg needs besides the route. */
struct call_dial_target {
	struct call_target t;
	char edge[32];      /* the outbound edge (records; its media pool) */
	char username[256]; /* answer to the far end's digest challenge; "" = none */
	char password[256];
	char headers[1024]; /* extra headers, "Name: value\r\n" each (<Sip> ?X-...) */
};

#define CALL_MAX_DIAL 10

/*
 * A dial: the targets are called in parallel, the first to answer is
 * bridged with the caller and the others are cancelled.  An unanswered
 * dial ends after timeout_ms; a bridged one after time_limit_ms (0: none).
 */
struct call_dial {
	const struct call_dial_target *to;
	size_t n; /* 1 .. CALL_MAX_DIAL */
	uint32_t timeout_ms;
	uint32_t time_limit_ms;
	const char *caller_id; /* From URI of the dialled legs; NULL: the caller's */
	/* Unanswered caller and a failed dial: the caller gets the callee's final
	 * response (status and headers) and the call ends (a plain B2BUA route). */
	bool relay_final;
};

enum call_dial_status {
	CALL_DIAL_COMPLETED = 0, /* answered, bridged, now over */
	CALL_DIAL_BUSY,
	CALL_DIAL_NO_ANSWER,
	CALL_DIAL_FAILED,
	CALL_DIAL_CANCELED, /* stopped by the edge (call_finish) */
};

/* What became of a dial; valid during the dial_done callback only. */
struct call_dial_result {
	enum call_dial_status status;
	uint16_t sip_status;         /* final of the leg that answered or decided; 0: none */
	const char *call_sid;        /* that leg's SID; "" when no leg was created */
	struct slice sip_call_id;    /* that leg's Call-ID */
	uint32_t duration_s;         /* seconds bridged */
	const struct sip_msg *final; /* its final response (X- headers), NULL when none */
};

/*
 * A leg's record, for call records: the inbound leg (parent "") and each
 * dialled leg.  Emitted when the leg starts and when it ends; valid during
 * the callback only.  Times are the loop clock (calls' heap) in ms.
 */
struct call_rec {
	const struct call *call;
	const char *sid;
	const char *parent_sid;
	bool inbound;
	bool final; /* the leg is over: this is its last record */
	struct slice from, to, sip_call_id;
	const char *status; /* ringing in-progress completed busy failed no-answer canceled */
	uint64_t start_ms, answer_ms, end_ms;
	uint16_t sip_status;
	const char *end_reason;   /* "" while running */
	const char *hung_up_by;   /* caller, callee, edge; "" while running */
	const char *edge;         /* the leg's edge name, "" unknown */
	const char *gateway;      /* the edge socket the leg used ("ip:port") */
	struct media_stats media; /* the leg's endpoints, summed over its streams */
};

/*
 * The controller decides what happens to inbound calls (static routes,
 * TwiML).  start() is called for each new inbound INVITE; the controller
 * then drives the call with call_ring/answer/dial/finish, now or later.
 * A non-zero return from start() refuses the call with 500.  dial_done is
 * called when a dial is over (unless the call ended first); NULL ends the
 * call.  ended is the last call for a call.  record and ended may be NULL.
 */
struct call_ctl {
	/*
	 * Before a call exists (may be NULL): refuses the INVITE by answering st
	 * itself (txn_reply, with a To tag) and returning non-zero, or admits it
	 * with 0 and *ctx (a mem object or NULL), which becomes the call's
	 * (call_ctx()); the call drops that reference when it is freed.
	 */
	int (*admit)(void *arg, struct txn *st, const struct sip_msg *invite,
	             const struct tp_peer *src, void **ctx);
	int (*start)(void *arg, struct call *call, const struct sip_msg *invite,
	             const struct tp_peer *src);
	void (*dial_done)(void *arg, struct call *call, const struct call_dial_result *res);
	void (*record)(void *arg, const struct call_rec *rec);
	void (*ended)(void *arg, struct call *call);
	void *arg;
};

/* 180 Ringing to the caller (once; nothing after an answer). */
void call_ring(struct call *call);
/*
 * Answers the caller now (200 with the edge's media answer), before any
 * dial: needs media anchoring (-ENOTSUP without) and an offer in the INVITE
 * (-EPROTO without: answer on bridge instead).  -EALREADY when answered.
 */
int call_answer(struct call *call);
/* Places a dial; -EBUSY while one runs or is bridged, -EINVAL bad dial. */
int call_dial(struct call *call, const struct call_dial *d);
/*
 * Ends the call: an unanswered caller gets status with phrase (NULL: the
 * standard one), an answered one a BYE; a running dial is cancelled.  why
 * is the end reason for the log and the record (NULL: the phrase).
 */
void call_finish(struct call *call, uint16_t status, const char *phrase, const char *why);

/* The controller's per-call mem object (NULL until set; the call holds a reference). */
void call_set_ctx(struct call *call, void *ctx);
void *call_ctx(const struct call *call);
/* The inbound INVITE (valid while the call lives). */
const struct sip_msg *call_invite(const struct call *call);
/* Whether the caller has been answered (2xx sent). */
bool call_answered(const struct call *call);
/* The media pool of the inbound leg ("" = the edge does not anchor it). */
void call_set_inbound_edge(struct call *call, const char *edge);

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
                const struct calls_conf *conf, const struct call_ctl *ctl);
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
