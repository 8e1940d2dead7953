/* Private: the structures of the call layer shared by calls.c, call.c and relay.c. */
#ifndef IXEDGE_CALL_PRIV_H
#define IXEDGE_CALL_PRIV_H

#include "base/hmap.h"
#include "call/call.h"
#include "media/media.h"
#include "sdp/sdp.h"

/* The methods the edge handles, for Allow in INVITEs, 2xx, OPTIONS and 405. */
#define CALL_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, MESSAGE, NOTIFY"

/* What a server transaction's owner pointer refers to. */
enum owner_kind { OWNER_LEG = 1, OWNER_RELAY };

struct fork;
struct leg_media;

struct leg {
	uint8_t kind; /* OWNER_LEG: first, so txn_owner() can tell legs from relays */
	struct call *call;
	struct fork *fork; /* the dialled leg this is, NULL for the inbound leg */
	struct dialog dlg;
	struct hnode node; /* in calls.dialogs by (Call-ID, local tag) while indexed */
	bool indexed;
	char hostport[80];   /* our socket "ip:port" (Via sent-by, Contact) */
	char contact[128];   /* our Contact URI on this leg */
	struct tp_peer peer; /* first hop before the dialog exists (outbound INVITE) */
	struct txn *inv;     /* the initial INVITE transaction (ref held) */
	struct buf ack;      /* the last ACK we sent for a 2xx on this leg, resent on retransmits */
	uint32_t ack_cseq;
	bool bye_sent;
	struct leg_media *media; /* the leg's media endpoints (cmedia.c), NULL until used */
};

/* One dialled party of a dial: its own leg, paths, timers and record. */
struct fork {
	struct leg leg;
	struct fork *next; /* in call.forks, newest first; freed with the call */
	char sid[35];
	struct call_target t; /* where it goes (its paths) */
	char edge[32];        /* the edge it leaves from (records, media pool) */
	/* username, password and extra headers of the dial target, each
	 * NUL-terminated, in one allocation; NULL when it gave none (the usual
	 * case: a held call does not carry 1.5 KB of empty buffers) */
	char *extra;
	size_t hop;            /* the path in use */
	bool heard;            /* the path in use has answered something */
	bool pending;          /* its INVITE's final has not come (counted in call.pending) */
	bool over;             /* failed, cancelled, or its bridge ended */
	bool cancelled;        /* the edge gave up on it (another answered, timeout, finish) */
	bool auth_sent;        /* an INVITE with credentials went out (one try per nonce) */
	unsigned dial_id;      /* the dial it belongs to (call.dial_id at its start) */
	uint16_t status;       /* final SIP status, 0 none */
	struct sip_msg *req;   /* our INVITE, parsed (for dialogs and ACKs) */
	struct sip_msg *final; /* its final non-2xx response, for the dial result */
	struct tmr hop_tmr;
	struct tmr linger_tmr; /* 64*T1 after its 2xx: retransmissions may still come */
	uint64_t start_ms, answer_ms, end_ms;
	const char *end_reason, *hung_up_by;
};

struct relay {
	uint8_t kind; /* OWNER_RELAY */
	struct relay *next;
	struct call *call;
	struct leg *from, *to;
	struct txn *st, *ct; /* refs held */
	enum sip_method mid;
	uint32_t to_cseq;    /* CSeq of the request on `to` (for its ACK) */
	bool ack_waits_body; /* re-INVITE without offer: the ACK on `to` carries from's answer */
	bool final_seen;
	struct tmr gc; /* frees an answered re-INVITE relay once its transaction is over */
};

enum call_state {
	CALL_CONTROL, /* the controller's turn: no dial runs */
	CALL_DIALING, /* a dial's forks are out */
	CALL_BRIDGED, /* call.b answered and joined to the caller */
	CALL_ENDED,
};

struct call {
	struct calls *cs;
	char sid[35];
	enum call_state state;
	struct leg a;          /* inbound (UAS) */
	struct leg *b;         /* the bridged dialled leg, NULL when none */
	struct fork *forks;    /* every dialled leg of the call */
	struct sip_msg *a_req; /* the inbound INVITE */
	bool a_done;           /* the inbound INVITE got its final response */
	bool a_answered;       /* ... and it was a 2xx */
	bool rang;             /* 180 sent */
	void *ctx;             /* the controller's */
	uint32_t pending;      /* client transactions whose final has not come */
	bool late_offer;       /* inbound INVITE had no SDP: B's ACK waits for A's */
	bool b_ack_waiting;
	struct buf reoffer; /* callee's formats for the caller, sent once it has ACKed */
	struct relay *relays;
	struct relay *offer; /* the INVITE/UPDATE relay in progress, for 491 on glare */
	struct txn *held_st; /* callee re-INVITE held until the caller ACKs our 2xx */
	struct sip_msg *held_req;
	struct tmr ring_tmr, limit_tmr, max_tmr, st_tmr, refresh_tmr, media_tmr;
	struct call_dial dial;  /* the running dial (targets copied into forks) */
	unsigned dial_id;       /* counts the call's dials */
	char caller_id[256];    /* the running dial's From URI, "" = the caller's */
	char final_reason[128]; /* reason phrase for the caller's final, "" = standard */
	char end_text[160];     /* an end reason set by the controller */
	char edge[32];          /* the inbound leg's edge */
	uint32_t st_interval_s;
	uint64_t start_ms, answer_ms, end_ms;
	uint16_t final_status;
	const char *end_reason, *hung_up_by;
	struct call *next_live; /* in calls.live, for calls_free() */
	struct call **prev_live;
};

struct calls {
	struct calls_conf conf;
	struct tmr_heap *heap;
	struct txns *tl;
	struct txn_io io;
	struct call_ctl ctl;
	struct hmap dialogs;
	struct call *live;
	struct calls_stats stats;
};

/* calls.c */
uint64_t calls_now_ms(const struct calls *cs);
void calls_index(struct calls *cs, struct leg *leg);
void calls_unindex(struct calls *cs, struct leg *leg);
void leg_dialog_count(struct leg *leg, bool up);
int leg_send(struct leg *leg, struct buf *b);
void calls_log_end(const struct call *call);

/* call.c */
void call_new(struct calls *cs, struct txn *st, struct sip_msg *req, const struct tp_peer *src);
void call_ack(struct call *call, struct leg *leg, struct sip_msg *ack);
void call_cancel(struct call *call);
/* Ends the call: BYE on confirmed legs, CANCEL / final on pending ones. */
void call_end(struct call *call, const char *reason, struct leg *by);
/* call_end() without waiting: pending transactions are abandoned (shutdown). */
void call_force_end(struct call *call, const char *reason);
void call_session_refreshed(struct call *call, const struct sip_msg *resp2xx);
void call_release_check(struct call *call);
/*
 * Answers or refuses the caller with the headers and body of resp (when
 * given), the body rewritten for the caller when it is SDP from leg from.
 */
void call_a_reply(struct call *call, struct leg *from, const struct sip_msg *resp, uint16_t status);
/* A fork answered first: join it to the caller (answer, ACK, timers). */
void call_bridged(struct call *call, struct fork *f, struct sip_msg *resp);
/* The bridged leg has ended (its BYE, or ours): report the dial as completed. */
void call_bridge_over(struct call *call, const char *reason, struct leg *by);
int leg_ack_send(struct leg *leg, uint32_t cseq, struct slice ctype, struct slice body);
void leg_bye(struct leg *leg, const char *reason);
void leg_hostport(struct leg *leg, const struct tp_peer *peer);
void call_copy_headers(const struct sip_msg *msg, struct sip_edit *out, size_t *n, size_t cap,
                       bool request);
void call_record(struct call *call, const struct fork *f);
/* The REST status of a dialled leg: ringing, in-progress, completed, busy... */
const char *fork_status_text(const struct fork *f);

/* fork.c: the dialled legs */
int fork_start(struct call *call, const struct call_dial_target *to);
/* Gives up on every unanswered fork (CANCEL); the winner, if any, stays. */
void forks_cancel(struct call *call, uint16_t status, const char *reason);
/* The dial is over without a bridge: tell the controller (or relay the final). */
void dial_over(struct call *call, enum call_dial_status why);
void fork_free_all(struct call *call);

/* cmedia.c: media anchoring */
/*
 * The body of msg (sent by from's party) as to's party must get it: SDP is
 * rewritten to to's media endpoints (into tmp), anything else passes.  0,
 * or a SIP status (400/488 bad SDP, 503 no ports) with why.
 */
uint16_t cmedia_body(struct leg *from, struct leg *to, const struct sip_msg *msg,
                     struct slice *body, struct buf *tmp, char *why, size_t whylen);
/* Whether the callee's answer left out the caller's first offered format in a stream. */
bool cmedia_first_format_refused(struct slice offer, struct slice answer);
/* Whether every stream of the caller and the bridged callee has been silent for idle_ms. */
bool cmedia_idle(const struct call *call, uint64_t idle_ms);
void cmedia_leg_free(struct leg *leg);
/* The leg's media counters summed over its streams (zero when none). */
void cmedia_leg_stats(const struct leg *leg, struct media_stats *st);

/* relay.c */
void relay_request(struct leg *from, struct txn *st, struct sip_msg *req);
void relay_ack(struct relay *r, struct sip_msg *ack);
void relay_cancel(struct relay *r);
void relay_free_all(struct call *call);
/* The callee's re-INVITE that waited for the caller's ACK (RFC 5407 3.1.2). */
void relay_release_held(struct call *call, bool relay);

#endif
