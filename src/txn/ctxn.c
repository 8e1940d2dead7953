/* Client transactions: RFC 3261 17.1 with RFC 6026 Accepted, ACK of non-2xx, CANCEL (9.1). */
#include <errno.h>
#include <string.h>

#include "txn_priv.h"

static uint64_t t64(const struct txn *t)
{
	return 64ull * t->tl->conf.t1_ms;
}

static bool cseq_method_eq(const struct sip_msg *req, const struct sip_msg *resp)
{
	return req->cseq.mid == resp->cseq.mid &&
	       (req->cseq.mid != SIP_METHOD_OTHER || slice_eq(req->cseq.method, resp->cseq.method));
}

/* RFC 3261 17.1.3: top Via branch and CSeq method. */
static struct txn *ctab_find(struct txns *tl, const struct sip_msg *m)
{
	uint32_t h = txn_hash(tl->seed, m->via.branch);

	for (struct hnode *l = hmap_first(&tl->ctab, h); l; l = hmap_next(l)) {
		struct txn *ct = container_of(l, struct txn, hl);

		if (slice_eq(ct->req->via.branch, m->via.branch) && cseq_method_eq(ct->req, m))
			return ct;
	}
	return NULL;
}

/* A synchronous failure comes back as the return value, an asynchronous one via ctxn_failed. */
static int ct_send(struct txn *ct)
{
	struct txns *tl = ct->tl;
	int err;

	ct->sending = true;
	ct->send_err = 0;
	err = tl->io.send(tl->io.ctx, &ct->peer, ct->reqbuf.p, ct->reqbuf.len, txn_send_fail_h,
	                  txn_fail_arg(ct));
	ct->sending = false;
	return err ? err : ct->send_err;
}

static void ct_deliver(struct txn *ct, struct sip_msg *resp, int err)
{
	if (ct->rh && !ct->detached)
		ct->rh(ct->arg, ct, resp, err);
}

/* Ends ct and reports err to the TU, unless it already had its final answer. */
static void ct_fail(struct txn *ct, int err)
{
	bool tell = !ct->final;

	ct->final = true;
	txn_end(ct);
	if (tell)
		ct_deliver(ct, NULL, err);
}

void ctxn_failed(struct txn *ct, int err)
{
	if (err >= 0)
		err = err ? -err : -EIO;
	if (ct->sending) {
		if (!ct->send_err)
			ct->send_err = err;
		return;
	}
	if (ct->final || ct->state == TXN_TERMINATED)
		return;
	mem_ref(ct);
	log_debug("txn", "transport failure on a client transaction: %d", err);
	ct_fail(ct, err);
	mem_deref(ct);
}

/* Timer A (doubling, no cap: 17.1.1.2) and Timer E (doubling to T2, then T2: 17.1.2.2). */
static void retx_h(void *arg)
{
	struct txn *ct = arg;
	struct txns *tl = ct->tl;
	uint32_t t2 = tl->conf.t2_ms;
	int err;

	if (ct->state == TXN_CALLING)
		ct->retx_ms *= 2; /* Timer B (64*T1) ends this long before it can overflow */
	else if (ct->state == TXN_TRYING)
		ct->retx_ms = (uint32_t)(2ull * ct->retx_ms > t2 ? t2 : 2ull * ct->retx_ms);
	else if (ct->state == TXN_PROCEEDING && ct->kind == TXN_CLIENT_NONINV)
		ct->retx_ms = t2;
	else
		return;
	mem_ref(ct);
	tl->stats.retransmissions++;
	err = ct_send(ct);
	if (err)
		ct_fail(ct, err);
	else
		tmr_start(&ct->retx, tl->heap, ct->retx_ms, retx_h, ct);
	mem_deref(ct);
}

/* Timer B, Timer F, and the 64*T1 wait for the final after a CANCEL (9.1). */
static void timeout_h(void *arg)
{
	struct txn *ct = arg;

	if (ct->final)
		return;
	mem_ref(ct);
	ct->tl->stats.timeouts++;
	ct_fail(ct, -ETIMEDOUT);
	mem_deref(ct);
}

static void send_cancel(struct txn *ct)
{
	struct buf b = {0};
	struct txn *cc = NULL;
	int err;

	ct->cancel_sent = true;
	err = txn_build_cancel(&b, ct->req);
	if (!err)
		err = txn_request(&cc, ct->tl, &b, &ct->peer, NULL, NULL);
	buf_free(&b);
	if (cc)
		cc->detached = true;
	if (err)
		log_warn("txn", "could not send CANCEL: %d", err);
	/* 9.1: if no final comes in 64*T1 the INVITE counts as cancelled anyway. */
	if (ct->state == TXN_PROCEEDING)
		tmr_start(&ct->life, ct->tl->heap, t64(ct), timeout_h, ct);
}

static void send_ack(struct txn *ct, const struct sip_msg *resp)
{
	struct txns *tl = ct->tl;
	int err;

	buf_reset(&ct->out);
	err = txn_build_ack(&ct->out, ct->req, resp);
	if (!err)
		err = tl->io.send(tl->io.ctx, &ct->peer, ct->out.p, ct->out.len, NULL, NULL);
	if (err)
		log_warn("txn", "could not send the ACK of a %u: %d", (unsigned)resp->status, err);
}

static void inv_recv(struct txn *ct, struct sip_msg *resp, const struct tp_peer *src)
{
	struct txns *tl = ct->tl;
	unsigned cls = resp->status / 100;

	switch (ct->state) {
	case TXN_CALLING:
	case TXN_PROCEEDING:
		break;
	case TXN_COMPLETED:
		tl->stats.absorbed++;
		if (cls >= 3 && ct->out.len) {
			/* The peer did not get our ACK: same bytes again (17.1.1.2). */
			tl->stats.retransmissions++;
			tl->io.send(tl->io.ctx, &ct->peer, ct->out.p, ct->out.len, NULL, NULL);
		}
		return;
	case TXN_ACCEPTED:
		if (cls != 2) {
			tl->stats.absorbed++;
			return;
		}
		/* Retransmissions and other forks' 2xx: the TU ACKs them. */
		if (ct->rh && !ct->detached)
			ct_deliver(ct, resp, 0);
		else if (tl->tu.stray_2xx)
			tl->tu.stray_2xx(tl->tu.arg, resp, src);
		return;
	default:
		return;
	}

	if (cls == 1) {
		if (ct->state == TXN_CALLING) {
			ct->state = TXN_PROCEEDING;
			tmr_cancel(&ct->retx);
			tmr_cancel(&ct->life); /* Timer B runs only in Calling */
		}
		if (ct->cancel_want && !ct->cancel_sent)
			send_cancel(ct);
		ct_deliver(ct, resp, 0);
		return;
	}
	ct->status = resp->status;
	ct->final = true;
	ct->cancel_want = false;
	tmr_cancel(&ct->retx);
	tmr_cancel(&ct->life);
	if (cls == 2) {
		ct->state = TXN_ACCEPTED;
		txn_linger(ct, t64(ct), NULL); /* Timer M */
		if (ct->rh && !ct->detached)
			ct_deliver(ct, resp, 0);
		else if (tl->tu.stray_2xx)
			tl->tu.stray_2xx(tl->tu.arg, resp, src);
		return;
	}
	ct->state = TXN_COMPLETED;
	send_ack(ct, resp);
	txn_linger(ct, ct->reliable ? 0 : TXN_TIMER_D_MS, NULL);
	ct_deliver(ct, resp, 0);
}

static void noninv_recv(struct txn *ct, struct sip_msg *resp)
{
	struct txns *tl = ct->tl;

	if (ct->state == TXN_COMPLETED) {
		tl->stats.absorbed++;
		return;
	}
	if (ct->state != TXN_TRYING && ct->state != TXN_PROCEEDING)
		return;
	if (resp->status < 200) {
		ct->state = TXN_PROCEEDING;
		ct_deliver(ct, resp, 0);
		return;
	}
	ct->status = resp->status;
	ct->final = true;
	ct->state = TXN_COMPLETED;
	tmr_cancel(&ct->retx);
	tmr_cancel(&ct->life);
	txn_linger(ct, ct->reliable ? 0 : tl->conf.t4_ms, NULL); /* Timer K */
	ct_deliver(ct, resp, 0);
}

void ctxn_recv(struct txns *tl, struct sip_msg *resp, const struct tp_peer *src)
{
	struct txn *ct = ctab_find(tl, resp);

	if (!ct) {
		if (resp->status / 100 == 2 && resp->cseq.mid == SIP_METHOD_INVITE &&
		    tl->tu.stray_2xx)
			tl->tu.stray_2xx(tl->tu.arg, resp, src);
		else
			tl->stats.unmatched_responses++;
		return;
	}
	mem_ref(ct);
	if (ct->kind == TXN_CLIENT_INVITE)
		inv_recv(ct, resp, src);
	else
		noninv_recv(ct, resp);
	mem_deref(ct);
}

int txn_request(struct txn **ctp, struct txns *tl, struct buf *req, const struct tp_peer *dst,
                txn_resp_h *rh, void *arg)
{
	struct sip_msg *m = NULL;
	struct sip_perr perr;
	struct txn *ct;
	bool inv;
	int err;

	if (!ctp || !tl || !req || !req->p || !req->len || !dst)
		return -EINVAL;
	*ctp = NULL;
	err = sip_msg_decode(&m, req->p, req->len, NULL, NULL, &perr);
	if (err) {
		log_warn("txn", "refusing to send a bad request: %s at byte %zu",
		         perr.what ? perr.what : "?", perr.offset);
		mem_deref(m);
		return err;
	}
	if (!m->req || m->mid == SIP_METHOD_ACK || !sip_via_branch_is_3261(&m->via)) {
		mem_deref(m);
		return -EINVAL;
	}
	if (ctab_find(tl, m)) {
		mem_deref(m);
		return -EEXIST;
	}
	inv = m->mid == SIP_METHOD_INVITE;
	ct = txn_new(tl, inv ? TXN_CLIENT_INVITE : TXN_CLIENT_NONINV, dst);
	if (!ct) {
		mem_deref(m);
		return -ENOMEM;
	}
	/* m points into these bytes; moving the buffer struct keeps them where they are. */
	ct->reqbuf = *req;
	ct->req = m;
	ct->rh = rh;
	ct->arg = arg;
	ct->state = inv ? TXN_CALLING : TXN_TRYING;
	hmap_insert(&tl->ctab, &ct->hl, txn_hash(tl->seed, m->via.branch));
	txn_register(ct);

	err = ct_send(ct);
	if (err) {
		/* Nothing kept: the caller gets its bytes back and no callback. */
		ct->req = mem_deref(ct->req);
		ct->reqbuf = (struct buf){0};
		ct->rh = NULL;
		txn_end(ct);
		return err;
	}
	*req = (struct buf){0};
	if (!ct->reliable) {
		ct->retx_ms = tl->conf.t1_ms;
		tmr_start(&ct->retx, tl->heap, ct->retx_ms, retx_h, ct);
	}
	tmr_start(&ct->life, tl->heap, t64(ct), timeout_h, ct); /* Timer B or F */
	*ctp = ct;
	return 0;
}

int txn_cancel(struct txn *ct)
{
	if (!ct || ct->kind != TXN_CLIENT_INVITE)
		return -EINVAL;
	if (ct->state != TXN_CALLING && ct->state != TXN_PROCEEDING)
		return -EALREADY;
	if (ct->cancel_want)
		return 0;
	ct->cancel_want = true;
	if (ct->state == TXN_PROCEEDING) {
		mem_ref(ct);
		send_cancel(ct);
		mem_deref(ct);
	}
	return 0;
}
