/* In-dialog requests: BYE ends the call, others are relayed to the other leg and back. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "call/call_priv.h"

/*
 * A relay pairs the server transaction of a request received on one leg
 * with the client transaction that carries it on the other leg.  The call's
 * relay list holds the only long-lived reference; callbacks take their own
 * for their duration.  An answered re-INVITE's relay stays for 64*T1 so
 * that 2xx retransmissions are still ACKed.
 */

static void relay_destroy(void *obj)
{
	struct relay *r = obj;

	tmr_cancel(&r->gc);
	if (r->st) {
		txn_detach(r->st);
		mem_deref(r->st);
	}
	if (r->ct) {
		txn_detach(r->ct);
		mem_deref(r->ct);
	}
}

static void relay_done(struct relay *r)
{
	struct call *call = r->call;

	for (struct relay **pp = &call->relays; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			if (call->offer == r)
				call->offer = NULL;
			mem_deref(r);
			return;
		}
	}
}

void relay_free_all(struct call *call)
{
	while (call->relays)
		relay_done(call->relays);
}

static void gc_h(void *arg)
{
	relay_done(arg);
}

static struct leg *other_leg(struct leg *leg)
{
	return leg == &leg->call->a ? leg->call->b : &leg->call->a;
}

/* Answers the sender with the other leg's response (its SDP on the sender's ports). */
static void reply(struct relay *r, uint16_t status, const struct sip_msg *resp)
{
	struct sip_edit h[40];
	struct buf tmp = {0};
	struct slice body = SLICE_NULL;
	size_t n = 0;
	char contact[160], why[128];
	int len;

	if (resp && cmedia_body(r->to, r->from, resp, &body, &tmp, why, sizeof(why))) {
		log_info("call", "%s: SDP of the answer refused: %s", r->call->sid, why);
		status = status < 300 ? 500 : status;
		resp = NULL;
		body = SLICE_NULL;
	}
	len = snprintf(contact, sizeof(contact), "<%s>", r->from->contact);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CONTACT, {0}, {contact, (size_t)len}};
	if (resp)
		call_copy_headers(resp, h, &n, ARRAY_SIZE(h), false);
	txn_reply(r->st, status, NULL, r->from->dlg.local_tag, h, n, body);
	buf_free(&tmp);
}

static void relay_resp(struct relay *r, struct sip_msg *resp, int err)
{
	struct call *call = r->call;
	bool invite = r->mid == SIP_METHOD_INVITE;

	if (!resp) {
		/* RFC 3261 12.2.1.2: no answer to an in-dialog request ends the dialog. */
		reply(r, err == -ETIMEDOUT ? 408 : 503, NULL);
		relay_done(r);
		call_end(call, "no response to an in-dialog request", NULL);
		return;
	}
	if (resp->status == 100)
		return;
	if (resp->status < 200) {
		reply(r, resp->status, resp);
		return;
	}
	if (invite && resp->status < 300 && r->final_seen) {
		if (r->to->ack.len && resp->cseq.num == r->to->ack_cseq)
			leg_send(r->to, &r->to->ack); /* our ACK was lost */
		return;
	}
	r->final_seen = true;
	if (call->offer == r)
		call->offer = NULL;
	if (resp->status < 300 && (invite || r->mid == SIP_METHOD_UPDATE)) {
		dialog_update_target(&r->to->dlg, resp);
		call_session_refreshed(call, resp);
	}
	reply(r, resp->status, resp);
	if (invite && resp->status < 300) {
		/* Offer in the re-INVITE: ACK now.  Offer in this 2xx: the answer
		 * comes in the sender's ACK (relay_ack). */
		if (!r->ack_waits_body || !resp->body.len) {
			r->ack_waits_body = false;
			leg_ack_send(r->to, r->to_cseq, SLICE_NULL, SLICE_NULL);
		}
		tmr_start(&r->gc, call->cs->heap, 64ull * call->cs->conf.t1_ms, gc_h, r);
		return;
	}
	relay_done(r);
	if (resp->status == 481 || resp->status == 408)
		call_end(call, "dialog gone on the other leg", NULL);
}

static void relay_resp_h(void *arg, struct txn *ct, struct sip_msg *resp, int err)
{
	struct relay *r = mem_ref(arg);
	struct call *call = mem_ref(r->call);

	(void)ct;
	relay_resp(r, resp, err);
	mem_deref(r);
	mem_deref(call);
}

void relay_ack(struct relay *r, struct sip_msg *ack)
{
	const struct sip_hdr *ct = sip_msg_hdr(ack, SIP_HDR_CONTENT_TYPE);

	if (r->ack_waits_body) {
		struct buf tmp = {0};
		struct slice body;
		char why[128];

		r->ack_waits_body = false;
		if (cmedia_body(r->from, r->to, ack, &body, &tmp, why, sizeof(why)))
			log_info("call", "%s: SDP in the ACK refused: %s", r->call->sid, why);
		leg_ack_send(r->to, r->to_cseq, ct ? ct->value : SLICE_NULL, body);
		buf_free(&tmp);
	}
}

void relay_cancel(struct relay *r)
{
	/* The sender gave up on its re-INVITE; the other leg's final still comes. */
	reply(r, 487, NULL);
	if (r->ct)
		txn_cancel(r->ct);
}

static void relay_start(struct leg *from, struct txn *st, struct sip_msg *req);

void relay_release_held(struct call *call, bool relay)
{
	struct txn *st = call->held_st;
	struct sip_msg *req = call->held_req;

	if (!st)
		return;
	call->held_st = NULL;
	call->held_req = NULL;
	/* Still waiting for an answer (not cancelled meanwhile): relay it now. */
	if (relay && call->state == CALL_BRIDGED && txn_state(st) == TXN_PROCEEDING)
		relay_start(call->b, st, req);
	else
		txn_detach(st); /* the transaction layer answers it (500, or 487 if cancelled) */
	mem_deref(st);
	mem_deref(req);
}

/*
 * The caller renegotiates (hold, resume, a new port) while no callee is
 * bridged (between two dials, in a <Pause>): the edge answers from its own
 * endpoints, as it did when it answered the call.
 */
static void answer_locally(struct call *call, struct txn *st, struct sip_msg *req)
{
	struct sip_edit h[4];
	struct buf tmp = {0};
	struct slice body;
	char contact[160], why[128];
	size_t n = 0;
	uint16_t bad = cmedia_body(&call->a, &call->a, req, &body, &tmp, why, sizeof(why));
	int len;

	if (bad) {
		txn_reply(st, bad, NULL, SLICE_NULL, NULL, 0, SLICE_NULL);
		buf_free(&tmp);
		return;
	}
	dialog_update_target(&call->a.dlg, req);
	len = snprintf(contact, sizeof(contact), "<%s>", call->a.contact);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CONTACT, {0}, {contact, (size_t)len}};
	if (body.len)
		h[n++] = (struct sip_edit){
		    SIP_EDIT_ADD, SIP_HDR_CONTENT_TYPE, {0}, SLICE("application/sdp")};
	txn_reply(st, 200, NULL, SLICE_NULL, h, n, body);
	buf_free(&tmp);
}

void relay_request(struct leg *from, struct txn *st, struct sip_msg *req)
{
	struct call *call = from->call;
	struct leg *to = other_leg(from);

	if (dialog_remote_cseq(&from->dlg, req)) {
		txn_reply(st, 500, "Server Internal Error (CSeq out of order)", SLICE_NULL, NULL, 0,
		          SLICE_NULL);
		return;
	}
	switch (req->mid) {
	case SIP_METHOD_BYE:
		txn_reply(st, 200, NULL, SLICE_NULL, NULL, 0, SLICE_NULL);
		from->dlg.state = DIALOG_TERMINATED;
		if (from == &call->a)
			call_end(call, "caller hung up", from);
		else if (from == call->b)
			call_bridge_over(call, "callee hung up", from);
		return;
	case SIP_METHOD_PRACK:
		/* The edge never sends reliable provisionals. */
		txn_reply(st, 481, NULL, SLICE_NULL, NULL, 0, SLICE_NULL);
		return;
	case SIP_METHOD_REFER:
		txn_reply(st, 501, "Not Implemented (REFER)", SLICE_NULL, NULL, 0, SLICE_NULL);
		return;
	case SIP_METHOD_INVITE:
	case SIP_METHOD_UPDATE:
		if (call->offer || call->held_st) {
			txn_reply(st, 491, NULL, SLICE_NULL, NULL, 0, SLICE_NULL);
			return;
		}
		break;
	default:
		break;
	}
	if (from == &call->a && !to && call->a_answered &&
	    (req->mid == SIP_METHOD_INVITE || req->mid == SIP_METHOD_UPDATE) && req->body.len &&
	    call->cs->conf.media) {
		answer_locally(call, st, req);
		return;
	}
	if (call->state != CALL_BRIDGED || !to || to->dlg.state != DIALOG_CONFIRMED ||
	    (from != &call->a && from != call->b)) {
		txn_reply(st, 491, "Request Pending (call not established)", SLICE_NULL, NULL, 0,
		          SLICE_NULL);
		return;
	}
	/* The caller has not ACKed our 2xx yet (it may not even have it): a new
	 * INVITE now would cross it (RFC 5407 3.1.2).  Hold the callee's until then. */
	if (req->mid == SIP_METHOD_INVITE && to == &call->a && call->a.inv && !call->held_st) {
		call->held_st = mem_ref(st);
		call->held_req = mem_ref(req);
		return;
	}
	relay_start(from, st, req);
}

static void relay_start(struct leg *from, struct txn *st, struct sip_msg *req)
{
	struct call *call = from->call;
	struct calls *cs = call->cs;
	struct leg *to = other_leg(from);
	struct sip_edit h[40];
	struct buf out = {0}, sdp = {0};
	struct relay *r;
	struct slice body;
	char branch[40], method[64], why[128];
	size_t n = 0;
	uint16_t bad;
	int e;

	if (req->method.len >= sizeof(method)) {
		txn_reply(st, 501, NULL, SLICE_NULL, NULL, 0, SLICE_NULL);
		return;
	}
	/* The offer (or answer) on the other leg's media ports. */
	bad = cmedia_body(from, to, req, &body, &sdp, why, sizeof(why));
	if (bad) {
		char phrase[160];

		snprintf(phrase, sizeof(phrase), "%s (%s)", sip_status_reason(bad), why);
		txn_reply(st, bad, phrase, SLICE_NULL, NULL, 0, SLICE_NULL);
		buf_free(&sdp);
		return;
	}
	memcpy(method, req->method.p, req->method.len);
	method[req->method.len] = '\0';

	r = mem_alloc(sizeof(*r), relay_destroy);
	if (!r) {
		txn_reply(st, 503, NULL, SLICE_NULL, NULL, 0, SLICE_NULL);
		return;
	}
	r->kind = OWNER_RELAY;
	r->call = call;
	r->from = from;
	r->to = to;
	r->mid = req->mid;
	r->st = mem_ref(st);
	txn_set_owner(st, r);
	r->next = call->relays;
	call->relays = r;

	if (req->mid == SIP_METHOD_INVITE || req->mid == SIP_METHOD_UPDATE) {
		call->offer = r;
		dialog_update_target(&from->dlg, req); /* target refresh */
	}
	r->ack_waits_body = req->mid == SIP_METHOD_INVITE && req->body.len == 0;
	call_copy_headers(req, h, &n, ARRAY_SIZE(h), true);
	txn_branch_new(branch, sizeof(branch));
	e = dialog_request_build(&to->dlg, &out, method, 0, slice_cstr(branch),
	                         slice_cstr(to->hostport), h, n, body);
	buf_free(&sdp);
	r->to_cseq = to->dlg.local_cseq;
	if (!e)
		e = txn_request(&r->ct, cs->tl, &out, &to->dlg.peer, relay_resp_h, r);
	buf_free(&out);
	if (e) {
		r->ct = NULL;
		reply(r, 500, NULL);
		relay_done(r);
		return;
	}
	mem_ref(r->ct);
}
