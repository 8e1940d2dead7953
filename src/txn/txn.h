/* SIP transactions: RFC 3261 section 17 client and server state machines, RFC 6026. */
#ifndef IXEDGE_TXN_H
#define IXEDGE_TXN_H

#include "ixedge/sip.h"
#include "ixedge/tmr.h"
#include "transport/transport.h"

/*
 * Threading: the transaction layer belongs to the signalling loop.
 *
 * Ownership: a transaction is a mem object owned by the layer.  The TU
 * (dialog/call layer) borrows it through callbacks; to keep a pointer
 * past a callback it takes mem_ref() and later mem_deref().  When the TU
 * no longer wants callbacks it calls txn_detach(); the transaction still
 * runs its timers (absorbing retransmissions) and then frees itself.
 * The layer holds a reference across every callback, so a callback may
 * call back into the layer (txn_reply, txn_detach, txn_cancel) and drop
 * the TU's own references.  Do not call txns_free() from a callback.
 *
 * A terminated transaction stays a valid object while the TU holds a
 * reference (txn_state() says TXN_TERMINATED); txns_stats()->live counts
 * objects, so references the TU forgets show up there as leaks.
 *
 * Reliable transports (tp_peer.proto TCP/TLS) get no retransmissions and
 * zero Timers D, I, J and K.  docs/TRANSACTIONS.md has the timer table.
 */

struct txn_conf {
	uint32_t t1_ms; /* RTT estimate, default 500 */
	uint32_t t2_ms; /* max non-INVITE retransmit interval, default 4000 */
	uint32_t t4_ms; /* max time a message stays in the network, default 5000 */
};
void txn_conf_default(struct txn_conf *conf);

enum txn_kind { TXN_CLIENT_INVITE, TXN_CLIENT_NONINV, TXN_SERVER_INVITE, TXN_SERVER_NONINV };

enum txn_state {
	TXN_CALLING, /* client INVITE */
	TXN_TRYING,  /* client/server non-INVITE */
	TXN_PROCEEDING,
	TXN_COMPLETED,
	TXN_CONFIRMED, /* server INVITE after ACK */
	TXN_ACCEPTED,  /* RFC 6026, after a 2xx */
	TXN_TERMINATED,
};

struct txn;
struct txns;

/* What the layer sends through; the transport in the daemon, a fake in tests. */
struct txn_io {
	int (*send)(void *ctx, const struct tp_peer *dst, const char *p, size_t len,
	            tp_fail_h *fail, void *arg);
	int (*send_response)(void *ctx, const struct sip_msg *req, const struct tp_peer *src,
	                     const char *p, size_t len);
	void *ctx;
};

/* What the layer hands to the TU. */
struct txn_tu {
	/*
	 * A request that started a new server transaction (st), or an ACK that
	 * no transaction absorbed: the ACK of a 2xx.  For such an ACK st is the
	 * INVITE server transaction in Accepted that it acknowledges (matched by
	 * Call-ID, CSeq number and tags), or NULL when none does.  Only the
	 * first ACK of a 2xx comes with st set.  CANCEL does not come here.
	 * A new st must be answered with txn_reply() (or let go with
	 * txn_detach(), which answers 500); req stays valid as txn_req(st).
	 */
	void (*request)(void *arg, struct txn *st, struct sip_msg *req, const struct tp_peer *src);
	/*
	 * A 2xx sent with txn_reply() was never acknowledged (64*T1, on every
	 * transport): end the dialog.  st is already terminated.  (A non-2xx
	 * final without ACK, Timer H, ends the transaction without a callback.)
	 */
	void (*no_ack)(void *arg, struct txn *st);
	/*
	 * A CANCEL matched the INVITE server transaction st, which is still
	 * proceeding.  The layer has answered the CANCEL with 200; the TU must
	 * answer the INVITE (487) and cancel what it started.  Without this
	 * callback, or on a detached st, the layer answers 487 itself.  An
	 * unmatched CANCEL gets 481, one for an INVITE already answered 200.
	 */
	void (*cancel)(void *arg, struct txn *st, struct sip_msg *cancel);
	/*
	 * A 2xx to INVITE that matched no client transaction (RFC 6026 7.2),
	 * or matched one whose TU detached: the dialog layer ACKs it (or BYEs).
	 */
	void (*stray_2xx)(void *arg, struct sip_msg *resp, const struct tp_peer *src);
	void *arg;
};

struct txns_stats {
	uint32_t live;                /* objects that exist now (incl. ended ones the TU holds) */
	uint64_t created[4];          /* by enum txn_kind */
	uint64_t retransmissions;     /* requests and responses the layer re-sent */
	uint64_t absorbed;            /* retransmissions received and absorbed */
	uint64_t timeouts;            /* Timer B / F, or no final 64*T1 after a CANCEL */
	uint64_t unmatched_responses; /* dropped */
};

/*
 * conf NULL means txn_conf_default(); -EINVAL for T1 0, T2 < T1 or T4 0.
 * io->send's fail callback may come at any later time, even after the
 * transaction or the layer is gone: the layer passes a token, not a
 * pointer, as its arg.  At most 16 layers per thread.
 */
int txns_alloc(struct txns **tlp, struct tmr_heap *heap, const struct txn_conf *conf,
               const struct txn_io *io, const struct txn_tu *tu);
/* Terminates every transaction without callbacks, then frees the layer. */
void txns_free(struct txns *tl);
/* Feeds one received message (from tp_recv_h). */
void txns_recv(struct txns *tl, struct sip_msg *msg, const struct tp_peer *src);
const struct txns_stats *txns_stats(const struct txns *tl);

/*
 * A fresh RFC 3261 branch into out (>= 32 bytes): "z9hG4bK" + 24 random
 * token characters (144 bits; fast generator seeded from getrandom()),
 * NUL-terminated.  A shorter out gets a truncated branch.
 */
void txn_branch_new(char *out, size_t len);

/* ------------------------------------------------------------ server side */

/*
 * Sends a response on the server transaction st; the layer builds it with
 * sip_response_build() (to_tag added when To has none), keeps it for
 * retransmission and moves the state machine.  A 2xx to INVITE moves the
 * transaction to Accepted (RFC 6026): INVITE retransmissions are absorbed
 * (the 2xx is sent again until the ACK came), and on unreliable transports
 * the layer also retransmits the 2xx (T1 doubling to T2, RFC 3261
 * 13.3.1.4) until its ACK arrives (tu->request with st set) or 64*T1 pass
 * (tu->no_ack).
 *
 * An empty to_tag means the tag of this transaction's earlier responses,
 * else (for anything but a 100) a random one: one tag per transaction.
 * The layer sends 100 Trying itself when the TU has sent no provisional
 * to an INVITE within 200 ms, or at once if the INVITE is retransmitted.
 *
 * -EINVAL: not a server transaction or status out of 100..699.
 * -EALREADY: a final was sent already (only a 2xx may follow a 2xx).
 * -ESHUTDOWN: the layer is gone.  A transport error is returned too, but
 * the state has moved as if sent (retransmissions may still get through).
 */
int txn_reply(struct txn *st, uint16_t status, const char *reason, struct slice to_tag,
              const struct sip_edit *hdrs, size_t nhdrs, struct slice body);

/* --------------------------------------------------------- client side */

/*
 * Every response for a client transaction (provisionals, the final, and
 * for INVITE the 2xx retransmissions that arrive in Accepted), or a failure
 * with resp NULL: -ETIMEDOUT (Timer B/F), or a transport error.  After a
 * final response or a failure no more callbacks come, except 2xx
 * retransmissions of an INVITE.
 */
typedef void(txn_resp_h)(void *arg, struct txn *ct, struct sip_msg *resp, int err);

/*
 * Starts a client transaction for the request in req (its topmost Via must
 * carry a branch from txn_branch_new()).  The layer takes the bytes (req is
 * reset), sends them to dst and retransmits on unreliable transports.  For
 * a non-2xx final to INVITE it sends the ACK itself (17.1.1.3).
 *
 * *ctp is borrowed: valid until the transaction ends; mem_ref() it to keep
 * it (e.g. for txn_cancel).  rh may be NULL.  On error nothing is kept, rh
 * is never called and req still holds its bytes: -EINVAL (not a request,
 * an ACK, no z9hG4bK branch), -EBADMSG (does not parse), -EEXIST (branch
 * and method already in use), or the transport's error for the first send.
 */
int txn_request(struct txn **ctp, struct txns *tl, struct buf *req, const struct tp_peer *dst,
                txn_resp_h *rh, void *arg);

/*
 * Cancels an INVITE client transaction (RFC 3261 9.1): the CANCEL is sent
 * once a provisional response arrived (at once if one has), never after a
 * final response.  The INVITE's final (487) still comes through rh; if none
 * comes within 64*T1 of the CANCEL, rh gets -ETIMEDOUT.  0 when sent or
 * deferred (again: no-op), -EALREADY after a final, -EINVAL if not an
 * INVITE client transaction.  The CANCEL is its own non-INVITE client
 * transaction; its response never reaches the TU.
 */
int txn_cancel(struct txn *ct);

/* ------------------------------------------------------------------ both */

/*
 * No more callbacks for t.  A server transaction without a final response
 * is answered 500 (487 if a CANCEL matched it) so the peer is not left
 * waiting; 2xx arriving on a detached INVITE client transaction go to
 * tu->stray_2xx.
 */
void txn_detach(struct txn *t);
enum txn_kind txn_kind(const struct txn *t);
enum txn_state txn_state(const struct txn *t);
const struct sip_msg *txn_req(const struct txn *t);  /* the request */
const struct tp_peer *txn_peer(const struct txn *t); /* where it came from / went to */
void txn_set_owner(struct txn *t, void *owner);
void *txn_owner(const struct txn *t);

#endif
