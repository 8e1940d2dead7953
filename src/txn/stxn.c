/* Server transactions: RFC 3261 17.2 with RFC 6026 Accepted, CANCEL (9.2), ACK of 2xx. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/rand.h"
#include "txn_priv.h"

/* How a received request relates to the transaction looked up for it. */
enum lookup {
	LK_SAME,   /* a retransmission of the transaction's own request */
	LK_ACK,    /* an ACK: belongs to the INVITE transaction */
	LK_CANCEL, /* a CANCEL: looks for the INVITE it cancels (9.2) */
};

static bool is_server(const struct txn *t)
{
	return t->kind == TXN_SERVER_INVITE || t->kind == TXN_SERVER_NONINV;
}

static bool sent_by_eq(const struct sip_via *a, const struct sip_via *b)
{
	return a->port == b->port && slice_ieq(a->host, b->host);
}

/* The RFC 2543 and 2xx-ACK keys both start from Call-ID and the CSeq number. */
static uint32_t dialogish_hash(const struct txns *tl, const struct sip_msg *m)
{
	return txn_hash_u64(tl->seed, (uint64_t)txn_hash(tl->seed, m->call_id) << 32 | m->cseq.num);
}

static uint32_t key_hash(const struct txns *tl, const struct sip_msg *m, bool b3261)
{
	return b3261 ? txn_hash(tl->seed, m->via.branch) : dialogish_hash(tl, m);
}

static bool match_3261(const struct txn *st, const struct sip_msg *m, enum lookup lk)
{
	const struct sip_msg *r = st->req;

	if (!slice_eq(r->via.branch, m->via.branch) || !sent_by_eq(&r->via, &m->via))
		return false;
	return lk == LK_SAME ? txn_method_eq(r, m) : r->mid == SIP_METHOD_INVITE;
}

/* RFC 3261 17.2.3, for requests from RFC 2543 peers (no magic cookie). */
static bool match_2543(const struct txn *st, const struct sip_msg *m, enum lookup lk)
{
	const struct sip_msg *r = st->req;
	struct slice want_tag = r->to.tag;

	if (r->cseq.num != m->cseq.num || !slice_eq(r->call_id, m->call_id) ||
	    !slice_eq(r->from.tag, m->from.tag) || !slice_eq(r->ruri.raw, m->ruri.raw))
		return false;
	if (r->via.port != m->via.port || !slice_ieq(r->via.host, m->via.host) ||
	    !slice_ieq(r->via.transport, m->via.transport) ||
	    !slice_eq(r->via.params, m->via.params))
		return false;
	if (lk == LK_SAME) {
		if (!txn_method_eq(r, m))
			return false;
	} else if (r->mid != SIP_METHOD_INVITE) {
		return false;
	}
	/* The ACK carries the To tag of the response it acknowledges. */
	if (lk == LK_ACK)
		want_tag = txn_totag(st);
	return slice_eq(want_tag, m->to.tag);
}

static struct txn *stab_find(struct txns *tl, const struct sip_msg *m, enum lookup lk)
{
	bool b3261 = sip_via_branch_is_3261(&m->via);
	uint32_t h = key_hash(tl, m, b3261);

	for (struct hnode *l = hmap_first(&tl->stab, h); l; l = hmap_next(l)) {
		struct txn *st = container_of(l, struct txn, hl);

		if (st->b3261 != b3261)
			continue;
		if (b3261 ? match_3261(st, m, lk) : match_2543(st, m, lk))
			return st;
	}
	return NULL;
}

/* An INVITE transaction in Accepted whose 2xx this ACK acknowledges (13.3.1.4). */
static struct txn *atab_find(struct txns *tl, const struct sip_msg *ack)
{
	uint32_t h = dialogish_hash(tl, ack);

	for (struct hnode *l = hmap_first(&tl->atab, h); l; l = hmap_next(l)) {
		struct txn *st = container_of(l, struct txn, al);
		const struct sip_msg *r = st->req;

		if (r->cseq.num == ack->cseq.num && slice_eq(r->call_id, ack->call_id) &&
		    slice_eq(r->from.tag, ack->from.tag) && slice_eq(txn_totag(st), ack->to.tag))
			return st;
	}
	return NULL;
}

static int st_send(struct txn *st)
{
	struct txns *tl = st->tl;

	return tl->io.send_response(tl->io.ctx, st->req, &st->peer, st->out.p, st->out.len);
}

static void st_resend(struct txn *st)
{
	if (!st->out.len)
		return;
	st->tl->stats.retransmissions++;
	st_send(st);
}

/* The tag our responses put in To: the request's own, else the one the TU chose. */
static void st_note_tag(struct txn *st, struct slice to_tag)
{
	struct slice tag = st->req->to.tag.len ? st->req->to.tag : to_tag;

	char *p;

	if (!tag.len || slice_eq(tag, txn_totag(st)))
		return;
	p = malloc(tag.len);
	if (!p)
		return; /* matching the ACK by tag then fails: the peer's retransmissions end it */
	memcpy(p, tag.p, tag.len);
	free(st->totag);
	st->totag = p;
	st->totag_len = tag.len;
}

/* G and the 2xx retransmissions: T1 doubling up to T2 (17.2.1, 13.3.1.4). */
static void retx_h(void *arg)
{
	struct txn *st = arg;
	uint32_t t2 = st->tl->conf.t2_ms;

	if (st->state != TXN_COMPLETED && !(st->state == TXN_ACCEPTED && hnode_linked(&st->al)))
		return;
	st_resend(st);
	st->retx_ms = (uint32_t)(2ull * st->retx_ms > t2 ? t2 : 2ull * st->retx_ms);
	tmr_start(&st->retx, st->tl->heap, st->retx_ms, retx_h, st);
}

static void trying_h(void *arg)
{
	struct txn *st = arg;
	struct buf b = {0};

	if (st->state != TXN_PROCEEDING || st->out.len)
		return;
	if (sip_response_build(&b, st->req, 100, NULL, SLICE_NULL, NULL, 0, SLICE_NULL) != 0) {
		buf_free(&b);
		return;
	}
	buf_free(&st->out);
	st->out = b;
	st->status = 100;
	st_send(st);
}

/* Timer L: the end of Accepted; without an ACK by now the TU must end the dialog. */
static void timer_l_h(void *arg)
{
	struct txn *st = arg;
	struct txns *tl = st->tl;
	bool unacked = hnode_linked(&st->al);

	mem_ref(st);
	txn_end(st);
	if (unacked && !st->detached && tl->tu.no_ack)
		tl->tu.no_ack(tl->tu.arg, st);
	mem_deref(st);
}

static int st_reply(struct txn *st, uint16_t status, const char *reason, struct slice to_tag,
                    const struct sip_edit *hdrs, size_t nhdrs, struct slice body)
{
	struct txns *tl = st->tl;
	struct buf b = {0};
	uint64_t t64 = 64ull * tl->conf.t1_ms;
	char rnd[16];
	int err;

	if (st->kind == TXN_SERVER_INVITE) {
		bool ok =
		    st->state == TXN_PROCEEDING || (st->state == TXN_ACCEPTED && status / 100 == 2);

		if (!ok)
			return -EALREADY;
	} else if (st->state != TXN_TRYING && st->state != TXN_PROCEEDING) {
		return -EALREADY;
	}
	/* One To tag for every response of the transaction; a new one when none was
	 * chosen, as only a 100 may go without (RFC 3261 8.2.6.2). */
	if (!to_tag.len)
		to_tag = txn_totag(st);
	if (!to_tag.len && status > 100 && !st->req->to.tag.len) {
		rand_chars(rnd, sizeof(rnd));
		to_tag = (struct slice){rnd, sizeof(rnd)};
	}
	err = sip_response_build(&b, st->req, status, reason, to_tag, hdrs, nhdrs, body);
	if (err) {
		buf_free(&b);
		return err;
	}
	buf_free(&st->out);
	st->out = b;
	st->status = status;
	st_note_tag(st, to_tag);
	err = st_send(st);

	if (st->kind == TXN_SERVER_NONINV) {
		if (status < 200) {
			st->state = TXN_PROCEEDING;
		} else {
			st->state = TXN_COMPLETED;
			txn_linger(st, st->reliable ? 0 : t64, NULL); /* Timer J */
		}
		return err;
	}
	if (status < 200) {
		tmr_cancel(&st->retx); /* no 100 from the layer any more */
		return err;
	}
	if (st->state == TXN_ACCEPTED)
		return err; /* a 2xx again: the retransmissions now carry it */
	tmr_cancel(&st->retx);
	st->retx_ms = tl->conf.t1_ms;
	if (status < 300) {
		st->state = TXN_ACCEPTED;
		hmap_insert(&tl->atab, &st->al, dialogish_hash(tl, st->req));
		tmr_start(&st->life, tl->heap, t64, timer_l_h, st);
	} else {
		st->state = TXN_COMPLETED;
		txn_linger(st, t64, NULL); /* Timer H: no ACK came, nothing else to do */
	}
	if (!st->reliable)
		tmr_start(&st->retx, tl->heap, st->retx_ms, retx_h, st);
	return err;
}

int txn_reply(struct txn *st, uint16_t status, const char *reason, struct slice to_tag,
              const struct sip_edit *hdrs, size_t nhdrs, struct slice body)
{
	int err;

	if (!st || !is_server(st) || status < 100 || status > 699)
		return -EINVAL;
	if (!st->tl)
		return -ESHUTDOWN;
	mem_ref(st);
	err = st_reply(st, status, reason, to_tag, hdrs, nhdrs, body);
	mem_deref(st);
	return err;
}

/* A final response the layer makes itself; it must end the transaction even if it fails. */
static void st_reply_auto(struct txn *st, uint16_t status)
{
	if (st_reply(st, status, NULL, SLICE_NULL, NULL, 0, SLICE_NULL) != 0)
		log_warn("txn", "could not send %u: ending the transaction", (unsigned)status);
	if (st->state == TXN_TRYING || st->state == TXN_PROCEEDING)
		txn_end(st);
}

void stxn_abandon(struct txn *st)
{
	mem_ref(st);
	st_reply_auto(st, st->cancelled ? 487 : 500);
	mem_deref(st);
}

static struct txn *st_create(struct txns *tl, struct sip_msg *m, const struct tp_peer *src)
{
	bool inv = m->mid == SIP_METHOD_INVITE;
	struct txn *st = txn_new(tl, inv ? TXN_SERVER_INVITE : TXN_SERVER_NONINV, src);

	if (!st)
		return NULL;
	st->req = mem_ref(m);
	st->b3261 = sip_via_branch_is_3261(&m->via);
	st->state = inv ? TXN_PROCEEDING : TXN_TRYING;
	hmap_insert(&tl->stab, &st->hl, key_hash(tl, m, st->b3261));
	if (inv)
		tmr_start(&st->retx, tl->heap, TXN_TRYING_MS, trying_h, st);
	return st;
}

/* A request that matched st: a retransmission, answered with the last response. */
static void st_absorb(struct txn *st)
{
	st->tl->stats.absorbed++;
	switch (st->state) {
	case TXN_PROCEEDING:
		if (st->out.len) {
			st_resend(st);
		} else if (st->kind == TXN_SERVER_INVITE) {
			/* The client did not hear from us in T1: 100 now rather than later. */
			tmr_cancel(&st->retx);
			trying_h(st);
		}
		break;
	case TXN_COMPLETED:
		st_resend(st);
		break;
	case TXN_ACCEPTED:
		/* Once the ACK came, an INVITE copy is stale: the peer has the 2xx. */
		if (hnode_linked(&st->al))
			st_resend(st);
		break;
	default: /* Trying: nothing to send yet; Confirmed: only ACKs matter */
		break;
	}
}

/* The ACK of the 2xx sent on st: the first goes to the TU with st, later ones without. */
static void st_ack_2xx(struct txn *st, struct sip_msg *ack, const struct tp_peer *src)
{
	struct txns *tl = st->tl;
	struct txn *with = NULL;

	if (hnode_linked(&st->al)) {
		hmap_remove(&tl->atab, &st->al);
		tmr_cancel(&st->retx);
		if (!st->detached)
			with = st;
	}
	if (!tl->tu.request)
		return;
	mem_ref(st);
	tl->tu.request(tl->tu.arg, with, ack, src);
	mem_deref(st);
}

static void recv_ack(struct txns *tl, struct sip_msg *ack, const struct tp_peer *src)
{
	struct txn *st = stab_find(tl, ack, LK_ACK);

	if (!st)
		st = atab_find(tl, ack);
	if (!st) {
		if (tl->tu.request)
			tl->tu.request(tl->tu.arg, NULL, ack, src);
		return;
	}
	switch (st->state) {
	case TXN_COMPLETED:
		tl->stats.absorbed++;
		st->state = TXN_CONFIRMED;
		tmr_cancel(&st->retx);
		txn_linger(st, st->reliable ? 0 : tl->conf.t4_ms, NULL); /* Timer I */
		break;
	case TXN_ACCEPTED:
		st_ack_2xx(st, ack, src);
		break;
	default: /* Confirmed: a retransmitted ACK; Proceeding: an ACK for nothing sent */
		tl->stats.absorbed++;
		break;
	}
}

static void recv_cancel(struct txns *tl, struct sip_msg *cancel, const struct tp_peer *src)
{
	struct txn *inv = stab_find(tl, cancel, LK_CANCEL);
	struct txn *cs = st_create(tl, cancel, src);

	if (!cs)
		return;
	/* The CANCEL's own transaction never reaches the TU. */
	cs->detached = true;
	mem_ref(cs);
	if (!inv) {
		st_reply_auto(cs, 481);
		mem_deref(cs);
		return;
	}
	mem_ref(inv);
	/* 9.2: the 200 carries the To tag the INVITE's responses carry; when none has
	 * gone out yet, the one chosen now is kept for the INVITE's final. */
	if (!inv->totag_len && !inv->req->to.tag.len) {
		char rnd[16];

		rand_chars(rnd, sizeof(rnd));
		st_note_tag(inv, (struct slice){rnd, sizeof(rnd)});
	}
	st_note_tag(cs, inv->totag_len ? txn_totag(inv) : inv->req->to.tag);
	st_reply_auto(cs, 200);
	if (inv->state == TXN_PROCEEDING && !inv->cancelled) {
		inv->cancelled = true;
		if (!inv->detached && tl->tu.cancel)
			tl->tu.cancel(tl->tu.arg, inv, cancel);
		else
			st_reply_auto(inv, 487);
	}
	mem_deref(inv);
	mem_deref(cs);
}

void stxn_recv(struct txns *tl, struct sip_msg *req, const struct tp_peer *src)
{
	struct txn *st;

	if (req->mid == SIP_METHOD_ACK) {
		recv_ack(tl, req, src);
		return;
	}
	st = stab_find(tl, req, LK_SAME);
	if (st) {
		mem_ref(st);
		st_absorb(st);
		mem_deref(st);
		return;
	}
	if (req->mid == SIP_METHOD_CANCEL) {
		recv_cancel(tl, req, src);
		return;
	}
	st = st_create(tl, req, src);
	if (!st)
		return; /* out of memory: the peer retransmits */
	mem_ref(st);
	if (tl->tu.request)
		tl->tu.request(tl->tu.arg, st, req, src);
	else
		stxn_abandon(st);
	mem_deref(st);
}
