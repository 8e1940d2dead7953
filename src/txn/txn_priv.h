/* Private to src/txn: the transaction object, the layer, its hash tables and helpers. */
#ifndef IXEDGE_TXN_PRIV_H
#define IXEDGE_TXN_PRIV_H

#include <stddef.h>

#include "base/hmap.h"
#include "txn/txn.h"

/* Timer D is a fixed "at least 32 s" (RFC 3261 17.1.1.2), not a multiple of T1. */
#define TXN_TIMER_D_MS 32000u
/* RFC 3261 17.2.1: the layer answers 100 itself when the TU is silent this long. */
#define TXN_TRYING_MS 200u

/* Seeded hashes: the seed is random per layer so peers cannot aim at one bucket. */
uint32_t txn_hash(uint64_t seed, struct slice s);
uint32_t txn_hash_u64(uint64_t seed, uint64_t v);

struct txns {
	struct tmr_heap *heap;
	struct txn_conf conf;
	struct txn_io io;
	struct txn_tu tu;
	struct hmap ctab;  /* client: top Via branch (+ CSeq method compared) */
	struct hmap stab;  /* server: branch (+ sent-by, method) or the RFC 2543 key */
	struct hmap atab;  /* server INVITEs whose 2xx awaits its ACK: Call-ID + CSeq */
	struct hmap ftab;  /* client transactions by serial, for late transport failures */
	struct hnode *all; /* every transaction object that still points to this layer */
	uint64_t seed;
	uint64_t serial;
	uint32_t id; /* in the per-thread registry used by the failure callback */
	struct txns_stats stats;
};

struct txn {
	struct txns *tl; /* NULL once the layer is gone (the TU may still hold a ref) */
	enum txn_kind kind;
	enum txn_state state;
	bool reliable;                 /* TCP/TLS: no retransmissions, zero D, I, J, K */
	bool detached;                 /* the TU wants no more callbacks */
	bool owned;                    /* the layer still holds its reference */
	bool b3261;                    /* server: matched by branch, not by the RFC 2543 key */
	bool cancel_want, cancel_sent; /* client INVITE: txn_cancel() called / CANCEL out */
	bool cancelled;                /* server INVITE: a CANCEL matched while proceeding */
	bool final;                    /* client: the TU has had its final response or failure */
	bool sending; /* client: inside io->send, failures are recorded in send_err */
	int send_err;
	uint16_t status;  /* last response sent (server) or received (client) */
	uint32_t retx_ms; /* current retransmission interval */
	struct tp_peer peer;
	struct sip_msg *req;
	struct buf reqbuf; /* client: the request bytes req points into */
	struct buf out;    /* server: last response; client INVITE: the ACK */
	char *totag;       /* server: the To tag our responses carry (malloc, exact size) */
	size_t totag_len;
	uint64_t serial;
	struct tmr retx; /* A, E, G, 2xx retransmission; server INVITE: the 100 Trying */
	struct tmr life; /* B, D, F, H, I, J, K, L, M and the CANCEL wait (RFC 3261 9.1) */
	struct hnode hl; /* ctab or stab */
	struct hnode al; /* atab */
	struct hnode fl; /* ftab */
	struct hnode ll; /* tl->all */
	txn_resp_h *rh;
	void *arg;
	void *owner;
};

/* txns.c */
struct txn *txn_new(struct txns *tl, enum txn_kind kind, const struct tp_peer *peer);
/* Moves to Terminated: timers off, out of every table, the layer's reference dropped. */
void txn_end(struct txn *t);
/* Starts the life timer with h, or ends t at once for a zero duration. */
void txn_linger(struct txn *t, uint64_t ms, tmr_h *h);
bool txn_method_eq(const struct sip_msg *a, const struct sip_msg *b);
/* Gives a client transaction its serial and the token its sends pass to the transport. */
void txn_register(struct txn *t);
void *txn_fail_arg(const struct txn *t);
tp_fail_h txn_send_fail_h;
static inline struct slice txn_totag(const struct txn *t)
{
	return (struct slice){t->totag, t->totag_len};
}

/* ctxn.c */
void ctxn_recv(struct txns *tl, struct sip_msg *resp, const struct tp_peer *src);
void ctxn_failed(struct txn *ct, int err);

/* stxn.c */
void stxn_recv(struct txns *tl, struct sip_msg *req, const struct tp_peer *src);
/* The detach of a server transaction that has no final response yet. */
void stxn_abandon(struct txn *st);

/* reqbuild.c: ACK for a non-2xx (RFC 3261 17.1.1.3) and CANCEL (9.1) from our INVITE. */
int txn_build_ack(struct buf *out, const struct sip_msg *inv, const struct sip_msg *resp);
int txn_build_cancel(struct buf *out, const struct sip_msg *inv);

#endif
