/* The life of a call: inbound INVITE, control, dial, bridge, end with BYE. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/rand.h"
#include "call/call_priv.h"

/*
 * Lifetime: a call is a mem object.  The layer's live list holds one
 * reference until the call has ended and nothing more can arrive for it:
 * pending transactions (each dialled INVITE until its final, each BYE until
 * its final) are counted in `pending`, and after a 2xx a dialled INVITE may
 * still see retransmissions for 64*T1 (the fork's linger timer).  Only then
 * are the transactions detached and the reference dropped.
 */

static void call_destroy(void *obj)
{
	struct call *call = obj;
	struct calls *cs = call->cs;
	struct leg *a = &call->a;

	tmr_cancel(&call->ring_tmr);
	tmr_cancel(&call->limit_tmr);
	tmr_cancel(&call->max_tmr);
	tmr_cancel(&call->st_tmr);
	tmr_cancel(&call->refresh_tmr);
	tmr_cancel(&call->media_tmr);
	fork_free_all(call);
	cmedia_leg_free(a);
	calls_unindex(cs, a);
	if (a->dlg.state != DIALOG_NONE)
		leg_dialog_count(a, false);
	dialog_reset(&a->dlg);
	buf_free(&a->ack);
	if (a->inv) {
		txn_detach(a->inv);
		a->inv = mem_deref(a->inv);
	}
	mem_deref(call->a_req);
	buf_free(&call->reoffer);
	mem_deref(call->ctx);
	cs->stats.live_calls--;
}

/* ------------------------------------------------------------ helpers */

/* Headers carried across the B2BUA with a request or response (besides the body). */
void call_copy_headers(const struct sip_msg *msg, struct sip_edit *out, size_t *n, size_t cap,
                       bool request)
{
	static const enum sip_hdr_id ids[] = {
	    SIP_HDR_CONTENT_TYPE,    SIP_HDR_CONTENT_DISPOSITION,
	    SIP_HDR_SESSION_EXPIRES, SIP_HDR_MIN_SE,
	    SIP_HDR_EVENT,           SIP_HDR_REASON,
	    SIP_HDR_RETRY_AFTER,     SIP_HDR_WARNING,
	};
	static const char *const named[] = {"Info-Package", "Recv-Info", "Subscription-State"};
	(void)request;

	for (uint32_t i = 0; i < msg->nhdr && *n < cap; i++) {
		const struct sip_hdr *h = &msg->hdr[i];
		bool copy = false;

		if (h->id == SIP_HDR_OTHER) {
			copy = h->name.len > 2 && (h->name.p[0] == 'X' || h->name.p[0] == 'x') &&
			       h->name.p[1] == '-';
			for (size_t k = 0; !copy && k < ARRAY_SIZE(named); k++)
				copy = slice_ieq(h->name, slice_cstr(named[k]));
		} else {
			for (size_t k = 0; !copy && k < ARRAY_SIZE(ids); k++)
				copy = h->id == ids[k];
		}
		if (copy)
			out[(*n)++] = (struct sip_edit){SIP_EDIT_ADD, h->id, h->name, h->value};
	}
}

void leg_hostport(struct leg *leg, const struct tp_peer *peer)
{
	const struct sockaddr *sa = peer->lis ? tp_lis_addr(peer->lis) : NULL;
	enum tp_proto proto = peer->proto;

	if (sa)
		tp_sockaddr_fmt(sa, leg->hostport, sizeof(leg->hostport));
	else
		snprintf(leg->hostport, sizeof(leg->hostport), "invalid");
	snprintf(leg->contact, sizeof(leg->contact), "sip:%s%s", leg->hostport,
	         proto == TP_TCP   ? ";transport=tcp"
	         : proto == TP_TLS ? ";transport=tls"
	                           : "");
}

int leg_ack_send(struct leg *leg, uint32_t cseq, struct slice ctype, struct slice body)
{
	char branch[40];
	struct sip_edit h[1];
	size_t n = 0;
	int e;

	txn_branch_new(branch, sizeof(branch));
	if (body.len)
		h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CONTENT_TYPE, {0}, ctype};
	buf_reset(&leg->ack);
	e = dialog_request_build(&leg->dlg, &leg->ack, "ACK", cseq, slice_cstr(branch),
	                         slice_cstr(leg->hostport), h, n, body);
	if (e)
		return e;
	leg->ack_cseq = cseq;
	return leg_send(leg, &leg->ack);
}

static void bye_resp_h(void *arg, struct txn *ct, struct sip_msg *resp, int err)
{
	struct call *call = arg;

	if (resp && resp->status < 200)
		return;
	txn_detach(ct);
	call->pending--;
	call_release_check(call);
}

void leg_bye(struct leg *leg, const char *reason)
{
	struct call *call = leg->call;
	struct buf out = {0};
	char branch[40], rs[160];
	struct sip_edit h[1];
	struct txn *ct;
	int n;

	if (leg->dlg.state != DIALOG_CONFIRMED || leg->bye_sent)
		return;
	leg->bye_sent = true;
	txn_branch_new(branch, sizeof(branch));
	n = snprintf(rs, sizeof(rs), "SIP;cause=200;text=\"%s\"", reason ? reason : "Call ended");
	h[0] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_REASON, {0}, {rs, (size_t)n}};
	if (dialog_request_build(&leg->dlg, &out, "BYE", 0, slice_cstr(branch),
	                         slice_cstr(leg->hostport), h, 1, SLICE_NULL) == 0 &&
	    txn_request(&ct, call->cs->tl, &out, &leg->dlg.peer, bye_resp_h, call) == 0)
		call->pending++;
	buf_free(&out);
}

/* ------------------------------------------------------------ records */

static const char *a_status_text(const struct call *call)
{
	if (call->a_answered)
		return call->state == CALL_ENDED ? "completed" : "in-progress";
	if (call->state != CALL_ENDED)
		return "ringing";
	switch (call->final_status) {
	case 487:
		return "canceled";
	case 486:
	case 600:
		return "busy";
	case 408:
	case 480:
		return "no-answer";
	default:
		return "failed";
	}
}

const char *fork_status_text(const struct fork *f)
{
	if (f->answer_ms)
		return f->over ? "completed" : "in-progress";
	if (!f->over)
		return "ringing";
	if (f->status == 486 || f->status == 600)
		return "busy";
	if (f->status == 408 || f->status == 480)
		return "no-answer";
	if (f->cancelled || f->status == 487)
		return "canceled";
	return "failed";
}

/* The leg's record (f NULL: the inbound leg) to the controller. */
void call_record(struct call *call, const struct fork *f)
{
	struct calls *cs = call->cs;
	struct call_rec r = {.call = call};

	if (!cs->ctl.record)
		return;
	if (f) {
		r.sid = f->sid;
		r.parent_sid = call->sid;
		r.final = f->over;
		r.from =
		    call->caller_id[0] ? slice_cstr(call->caller_id) : call->a_req->from.uri.raw;
		r.to = slice_cstr(f->t.uri);
		r.sip_call_id = f->req ? f->req->call_id : SLICE_NULL;
		r.status = fork_status_text(f);
		r.start_ms = f->start_ms;
		r.answer_ms = f->answer_ms;
		r.end_ms = f->end_ms;
		r.sip_status = f->status;
		r.end_reason = f->over && f->end_reason ? f->end_reason : "";
		r.hung_up_by = f->over && f->hung_up_by ? f->hung_up_by : "";
		r.edge = f->edge;
		r.gateway = f->leg.hostport;
		cmedia_leg_stats(&f->leg, &r.media);
	} else {
		r.sid = call->sid;
		r.parent_sid = "";
		r.inbound = true;
		r.final = call->state == CALL_ENDED;
		r.from = call->a_req->from.uri.raw;
		r.to = call->a_req->ruri.raw;
		r.sip_call_id = call->a_req->call_id;
		r.status = a_status_text(call);
		r.start_ms = call->start_ms;
		r.answer_ms = call->answer_ms;
		r.end_ms = call->end_ms;
		r.sip_status = call->final_status;
		r.end_reason = r.final && call->end_reason ? call->end_reason : "";
		r.hung_up_by = r.final && call->hung_up_by ? call->hung_up_by : "";
		r.edge = call->edge;
		r.gateway = call->a.hostport;
		cmedia_leg_stats(&call->a, &r.media);
	}
	cs->ctl.record(cs->ctl.arg, &r);
}

/* ----------------------------------------------------------------- end */

void call_release_check(struct call *call)
{
	if (call->state != CALL_ENDED || call->pending || !call->prev_live)
		return;
	for (const struct fork *f = call->forks; f; f = f->next) {
		if (tmr_running(&f->linger_tmr))
			return;
	}
	*call->prev_live = call->next_live;
	if (call->next_live)
		call->next_live->prev_live = call->prev_live;
	call->prev_live = NULL;
	mem_deref(call);
}

void call_end(struct call *call, const char *reason, struct leg *by)
{
	struct calls *cs = call->cs;

	if (call->state == CALL_ENDED)
		return;
	if (!call->end_reason)
		call->end_reason = reason;
	if (!call->hung_up_by)
		call->hung_up_by = !by ? "edge" : by == &call->a ? "caller" : "callee";
	tmr_cancel(&call->ring_tmr);
	tmr_cancel(&call->limit_tmr);
	tmr_cancel(&call->max_tmr);
	tmr_cancel(&call->st_tmr);
	tmr_cancel(&call->refresh_tmr);
	tmr_cancel(&call->media_tmr);

	/* The caller still waits for a final response. */
	if (call->a.inv && !call->a_done) {
		if (!call->final_status)
			call->final_status = 500;
		call->a_done = true;
		txn_reply(call->a.inv, call->final_status,
		          call->final_reason[0] ? call->final_reason : NULL, call->a.dlg.local_tag,
		          NULL, 0, SLICE_NULL);
	}
	/* Unanswered forks get a CANCEL; their finals still come to fork_resp. */
	forks_cancel(call, 487, call->end_reason);
	if (by != &call->a)
		leg_bye(&call->a, call->end_reason);
	if (call->b) {
		struct fork *f = call->b->fork;

		if (by != call->b)
			leg_bye(call->b, call->end_reason);
		f->over = true;
		f->end_ms = calls_now_ms(cs);
		f->end_reason = call->end_reason;
		f->hung_up_by = call->hung_up_by;
		call_record(call, f);
	}
	for (struct fork *f = call->forks; f; f = f->next)
		cmedia_leg_free(&f->leg);
	if (call->a_answered)
		call->final_status = call->final_status ? call->final_status : 200;
	call->state = CALL_ENDED;
	call->end_ms = calls_now_ms(cs);
	relay_release_held(call, false);
	relay_free_all(call);
	calls_unindex(cs, &call->a);
	for (struct fork *f = call->forks; f; f = f->next)
		calls_unindex(cs, &f->leg);
	cs->stats.ended++;
	if (call->final_status < ARRAY_SIZE(cs->stats.by_status))
		cs->stats.by_status[call->final_status]++;
	if (!call->a_answered)
		cs->stats.failed++;
	calls_log_end(call);
	call_record(call, NULL);
	cmedia_leg_free(&call->a);
	if (cs->ctl.ended)
		cs->ctl.ended(cs->ctl.arg, call);
	call_release_check(call);
}

void call_force_end(struct call *call, const char *reason)
{
	mem_ref(call);
	call_end(call, reason, NULL);
	call->pending = 0;
	for (struct fork *f = call->forks; f; f = f->next)
		tmr_cancel(&f->linger_tmr);
	call_release_check(call);
	mem_deref(call);
}

void call_finish(struct call *call, uint16_t status, const char *phrase, const char *why)
{
	if (call->state == CALL_ENDED)
		return;
	if (!call->a_answered) {
		call->final_status = status;
		snprintf(call->final_reason, sizeof(call->final_reason), "%s",
		         phrase ? phrase : "");
	}
	snprintf(call->end_text, sizeof(call->end_text), "%s",
	         why      ? why
	         : phrase ? phrase
	                  : "ended by the application");
	call_end(call, call->end_text, NULL);
}

/* ------------------------------------------------------------- timers */

static void max_duration_h(void *arg)
{
	call_end(arg, "maximum call duration", NULL);
}

/* No packet on any stream for the media timeout (holds excepted): the call is dead. */
static void media_check_h(void *arg)
{
	struct call *call = arg;
	uint32_t t = call->cs->conf.media_timeout_ms;

	if (cmedia_idle(call, t)) {
		call_end(call, "media timeout", NULL);
		return;
	}
	tmr_start(&call->media_tmr, call->cs->heap, t / 4 ? t / 4 : 1, media_check_h, call);
}

static void session_expired_h(void *arg)
{
	call_end(arg, "session timer expired", NULL);
}

static void refresh_resp_h(void *arg, struct txn *ct, struct sip_msg *resp, int err)
{
	struct call *call = mem_ref(arg);

	if (!resp || resp->status >= 200) {
		txn_detach(ct);
		call->pending--;
		/* Any answer but these proves the dialog is alive (405/501 too:
		 * a peer without UPDATE still answers in its dialog). */
		if (!resp || resp->status == 408 || resp->status == 481)
			call_end(call, "session refresh failed", NULL);
		else
			call_release_check(call);
	}
	mem_deref(call);
}

/*
 * RFC 4028 with the edge as refresher, for calls whose endpoints negotiated
 * no session timer: each leg gets an UPDATE without body every half interval.
 */
static void refresh_h(void *arg)
{
	struct call *call = arg;
	struct calls *cs = call->cs;
	char se[48], branch[40];
	struct sip_edit h[2];
	int n = snprintf(se, sizeof(se), "%u;refresher=uac", cs->conf.session_expires_s);

	h[0] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_SESSION_EXPIRES, {0}, {se, (size_t)n}};
	h[1] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_SUPPORTED, {0}, SLICE("timer")};
	for (struct leg *l = &call->a; l; l = l == &call->a ? call->b : NULL) {
		struct buf out = {0};
		struct txn *ct;

		if (l->dlg.state != DIALOG_CONFIRMED)
			continue;
		txn_branch_new(branch, sizeof(branch));
		if (dialog_request_build(&l->dlg, &out, "UPDATE", 0, slice_cstr(branch),
		                         slice_cstr(l->hostport), h, 2, SLICE_NULL) == 0 &&
		    txn_request(&ct, cs->tl, &out, &l->dlg.peer, refresh_resp_h, call) == 0)
			call->pending++;
		buf_free(&out);
	}
	tmr_start(&call->refresh_tmr, cs->heap, cs->conf.session_expires_s * 500ull, refresh_h,
	          call);
}

/* RFC 4028 as observer: each 2xx that negotiates Session-Expires restarts the clock. */
void call_session_refreshed(struct call *call, const struct sip_msg *resp2xx)
{
	const struct sip_hdr *h = sip_msg_hdr(resp2xx, SIP_HDR_SESSION_EXPIRES);
	const char *p, *end;
	uint64_t v = 0;

	if (!h)
		return;
	p = h->value.p;
	end = slice_end(h->value);
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (slice_to_u64((struct slice){h->value.p, (size_t)(p - h->value.p)}, 86400, &v) || !v)
		return;
	call->st_interval_s = (uint32_t)v;
	tmr_cancel(&call->refresh_tmr); /* the endpoints refresh now */
	tmr_start(&call->st_tmr, call->cs->heap, v * 1000, session_expired_h, call);
}

/* -------------------------------------------------------- the control */

static void call_a_answered(struct call *call);

void call_a_reply(struct call *call, struct leg *from, const struct sip_msg *resp, uint16_t status)
{
	struct sip_edit h[40];
	struct buf tmp = {0};
	struct slice body;
	size_t n = 0;
	char contact[160], why[128];
	uint16_t st;
	int len;

	if (!call->a.inv || call->a_done)
		return;
	st = from ? cmedia_body(from, &call->a, resp, &body, &tmp, why, sizeof(why)) : 0;
	if (!from)
		body = resp ? resp->body : SLICE_NULL;
	if (st && status < 200) {
		body = SLICE_NULL; /* a provisional goes on without its early media */
		resp = NULL;
	} else if (st) {
		log_info("call", "%s: callee's SDP refused: %s", call->sid, why);
		status = st == 503 ? 503 : 500;
		body = SLICE_NULL;
		resp = NULL;
	}
	if (status >= 200)
		call->a_done = true;
	len = snprintf(contact, sizeof(contact), "<%s>", call->a.contact);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CONTACT, {0}, {contact, (size_t)len}};
	if (status >= 200 && status < 300) {
		h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_ALLOW, {0}, SLICE(CALL_ALLOW)};
		h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_SUPPORTED, {0}, SLICE("timer")};
	}
	h[n++] = (struct sip_edit){
	    SIP_EDIT_ADD, SIP_HDR_SERVER, {0}, slice_cstr(call->cs->conf.user_agent)};
	if (resp)
		call_copy_headers(resp, h, &n, ARRAY_SIZE(h), false);
	txn_reply(call->a.inv, status, NULL, call->a.dlg.local_tag, h, n, body);
	buf_free(&tmp);
	if (status >= 200 && status < 300)
		call_a_answered(call);
	else if (status >= 300 && st)
		call_end(call, "callee's SDP refused", NULL);
}

/* The caller has its 2xx: the call is answered (counters, duration limit). */
static void call_a_answered(struct call *call)
{
	struct calls *cs = call->cs;

	call->a_answered = true;
	call->answer_ms = calls_now_ms(cs);
	call->final_status = 200;
	cs->stats.answered++;
	dialog_confirm(&call->a.dlg);
	if (cs->conf.max_duration_ms)
		tmr_start(&call->max_tmr, cs->heap, cs->conf.max_duration_ms, max_duration_h, call);
	if (cs->conf.media && cs->conf.media_timeout_ms)
		tmr_start(&call->media_tmr, cs->heap, cs->conf.media_timeout_ms, media_check_h,
		          call);
	call_record(call, NULL);
}

void call_ring(struct call *call)
{
	if (call->rang || call->a_done || call->state == CALL_ENDED)
		return;
	call->rang = true;
	call_a_reply(call, NULL, NULL, 180);
}

int call_answer(struct call *call)
{
	if (call->a_answered || call->a_done)
		return -EALREADY;
	if (!call->a_req->body.len)
		return -EPROTO;
	if (!call->cs->conf.media)
		return -ENOTSUP; /* the edge's own answer needs media anchoring */
	call_a_reply(call, &call->a, call->a_req, 200);
	return call->a_answered ? 0 : -EIO;
}

static void time_limit_h(void *arg)
{
	struct call *call = arg;

	if (call->b)
		call_bridge_over(call, "time limit", NULL);
}

static void reoffer_resp_h(void *arg, struct txn *ct, struct sip_msg *resp, int err)
{
	struct call *call = mem_ref(arg);
	struct buf tmp = {0};
	struct slice body;
	char why[128];

	(void)err;
	if (!resp || resp->status >= 200) {
		txn_detach(ct);
		call->pending--;
	}
	if (resp && resp->status >= 200 && resp->status < 300) {
		/* The caller's answer: where it receives now (its own streams). */
		if (call->state != CALL_ENDED &&
		    cmedia_body(&call->a, &call->a, resp, &body, &tmp, why, sizeof(why)))
			log_info("call", "%s: caller's answer to the re-offer: %s", call->sid, why);
		dialog_update_target(&call->a.dlg, resp);
		leg_ack_send(&call->a, resp->cseq.num, SLICE_NULL, SLICE_NULL);
	} else if (resp && resp->status >= 300) {
		log_info("call", "%s: caller refused the callee's formats: %u", call->sid,
		         resp->status);
	}
	buf_free(&tmp);
	call_release_check(call);
	mem_deref(call);
}

/* A re-INVITE to the caller carrying the callee's answer on the caller's ports. */
static void reoffer_caller(struct call *call, struct slice body)
{
	if (call->a.inv) {
		/* Our 200 is not ACKed yet: no new INVITE before it (RFC 3261 14.1). */
		buf_reset(&call->reoffer);
		if (buf_append(&call->reoffer, body.p, body.len))
			buf_free(&call->reoffer);
		return;
	}
	struct sip_edit h[2] = {
	    {SIP_EDIT_ADD, SIP_HDR_CONTENT_TYPE, {0}, SLICE("application/sdp")},
	    {SIP_EDIT_ADD, SIP_HDR_ALLOW, {0}, SLICE(CALL_ALLOW)},
	};
	struct buf out = {0};
	char branch[40];
	struct txn *ct;

	txn_branch_new(branch, sizeof(branch));
	if (dialog_request_build(&call->a.dlg, &out, "INVITE", 0, slice_cstr(branch),
	                         slice_cstr(call->a.hostport), h, 2, body) == 0 &&
	    txn_request(&ct, call->cs->tl, &out, &call->a.dlg.peer, reoffer_resp_h, call) == 0) {
		call->pending++;
		log_info("call",
		         "%s: the callee refused the caller's format: re-INVITE to the caller",
		         call->sid);
	}
	buf_free(&out);
}

void call_bridged(struct call *call, struct fork *f, struct sip_msg *resp)
{
	struct calls *cs = call->cs;
	struct leg *b = &f->leg;

	call->b = b;
	call->state = CALL_BRIDGED;
	if (!call->a_answered) {
		call_a_reply(call, b, resp, resp->status);
	} else {
		/* The caller has the edge's answer already (it listed every format
		 * the caller offered): the callee's answer tells where it receives and
		 * joins the streams.  When the callee refused the format the caller
		 * sends (its first), the caller gets the callee's formats in a
		 * re-INVITE, or the callee would get media it never agreed to
		 * (one-way audio: the edge does not transcode). */
		struct buf tmp = {0};
		struct slice body;
		char why[128];

		if (cmedia_body(b, &call->a, resp, &body, &tmp, why, sizeof(why)))
			log_info("call", "%s: callee's SDP: %s", call->sid, why);
		else if (body.len && cmedia_first_format_refused(call->a_req->body, resp->body))
			reoffer_caller(call, body);
		/* ... once the caller has ACKed our 200 (RFC 3261 14.1). */
		buf_free(&tmp);
	}
	if (call->state != CALL_BRIDGED)
		return; /* refused the callee's SDP */
	/* With the offer in the INVITE the answer is in this 2xx and the ACK is
	 * empty; with a late offer the answer is in the caller's ACK: wait. */
	if (call->late_offer && resp->body.len && call->a.inv)
		call->b_ack_waiting = true;
	else
		leg_ack_send(b, resp->cseq.num, SLICE_NULL, SLICE_NULL);
	if (call->dial.time_limit_ms)
		tmr_start(&call->limit_tmr, cs->heap, call->dial.time_limit_ms, time_limit_h, call);
	call_session_refreshed(call, resp);
	/* The endpoints negotiated no session timer: the edge refreshes each leg. */
	if (!call->st_interval_s && cs->conf.session_expires_s)
		tmr_start(&call->refresh_tmr, cs->heap, cs->conf.session_expires_s * 500ull,
		          refresh_h, call);
}

void call_bridge_over(struct call *call, const char *reason, struct leg *by)
{
	struct calls *cs = call->cs;
	struct leg *b = call->b;
	struct fork *f;
	struct call_dial_result res = {.status = CALL_DIAL_COMPLETED};

	if (!b || call->state != CALL_BRIDGED)
		return;
	f = b->fork;
	if (by != b)
		leg_bye(b, reason);
	tmr_cancel(&call->limit_tmr);
	tmr_cancel(&call->st_tmr);
	tmr_cancel(&call->refresh_tmr);
	relay_release_held(call, false);
	call->b = NULL;
	call->state = CALL_CONTROL;
	f->over = true;
	f->end_ms = calls_now_ms(cs);
	f->end_reason = reason;
	f->hung_up_by = by == b ? "callee" : "edge";
	call_record(call, f);
	cmedia_leg_free(b);
	if (!cs->ctl.dial_done) {
		call_end(call, reason, NULL);
		return;
	}
	res.sip_status = f->status;
	res.call_sid = f->sid;
	res.sip_call_id = f->req ? f->req->call_id : b->dlg.call_id;
	res.duration_s = (uint32_t)((f->end_ms - f->answer_ms) / 1000);
	cs->ctl.dial_done(cs->ctl.arg, call, &res);
}

static void dial_timeout_h(void *arg)
{
	struct call *call = mem_ref(arg);

	if (call->state == CALL_DIALING) {
		forks_cancel(call, 408, "no answer");
		dial_over(call, CALL_DIAL_NO_ANSWER);
	}
	mem_deref(call);
}

/* Every fork failed at once (nothing could be sent): report it from the loop. */
static void dial_failed_h(void *arg)
{
	struct call *call = mem_ref(arg);

	if (call->state == CALL_DIALING)
		dial_over(call, CALL_DIAL_FAILED);
	mem_deref(call);
}

int call_dial(struct call *call, const struct call_dial *d)
{
	struct calls *cs = call->cs;
	uint32_t timeout = d->timeout_ms ? d->timeout_ms : cs->conf.ring_timeout_ms;
	bool any = false;

	if (call->state != CALL_CONTROL)
		return -EBUSY;
	if (!d->n || d->n > CALL_MAX_DIAL)
		return -EINVAL;
	call->dial = *d;
	call->dial.to = NULL; /* the forks keep their copies */
	snprintf(call->caller_id, sizeof(call->caller_id), "%s", d->caller_id ? d->caller_id : "");
	call->late_offer = call->a_req->body.len == 0;
	/* Forks of an earlier dial are over; the dial's result looks at the new ones. */
	for (struct fork *f = call->forks; f; f = f->next)
		f->over = true;
	call->dial_id++;
	call->state = CALL_DIALING;
	for (size_t i = 0; i < d->n; i++)
		any |= fork_start(call, &d->to[i]) == 0;
	if (!any)
		tmr_start(&call->ring_tmr, cs->heap, 0, dial_failed_h, call);
	else if (timeout)
		tmr_start(&call->ring_tmr, cs->heap, timeout, dial_timeout_h, call);
	return 0;
}

void call_set_ctx(struct call *call, void *ctx)
{
	mem_deref(call->ctx);
	call->ctx = mem_ref(ctx);
}

void *call_ctx(const struct call *call)
{
	return call->ctx;
}

const struct sip_msg *call_invite(const struct call *call)
{
	return call->a_req;
}

bool call_answered(const struct call *call)
{
	return call->a_answered;
}

void call_set_inbound_edge(struct call *call, const char *edge)
{
	snprintf(call->edge, sizeof(call->edge), "%s", edge ? edge : "");
}

/* -------------------------------------------------------- inbound leg */

void call_new(struct calls *cs, struct txn *st, struct sip_msg *req, const struct tp_peer *src)
{
	struct call *call;
	void *ctx = NULL;
	char tag[24];
	struct slice t = {tag, dialog_tag_new(tag, sizeof(tag))};

	if (req->max_forwards == 0) {
		cs->stats.max_forwards_483++;
		txn_reply(st, 483, NULL, t, NULL, 0, SLICE_NULL);
		return;
	}
	if (cs->ctl.admit && cs->ctl.admit(cs->ctl.arg, st, req, src, &ctx))
		return;
	call = mem_alloc(sizeof(*call), call_destroy);
	if (!call) {
		txn_reply(st, 503, NULL, t, NULL, 0, SLICE_NULL);
		mem_deref(ctx);
		return;
	}
	call->ctx = ctx;
	cs->stats.live_calls++;
	call->cs = cs;
	call->a = (struct leg){.kind = OWNER_LEG, .call = call};
	rand_sid(call->sid, "CA");
	call->start_ms = calls_now_ms(cs);
	leg_hostport(&call->a, src);
	if (dialog_uas_create(&call->a.dlg, req, t, slice_cstr(call->a.contact), src)) {
		txn_reply(st, 400, "Bad Request (missing Contact)", t, NULL, 0, SLICE_NULL);
		mem_deref(call);
		return;
	}
	leg_dialog_count(&call->a, true);
	call->a.inv = mem_ref(st);
	txn_set_owner(st, &call->a);
	call->a_req = mem_ref(req);
	calls_index(cs, &call->a);
	call->next_live = cs->live;
	if (cs->live)
		cs->live->prev_live = &call->next_live;
	cs->live = call;
	call->prev_live = &cs->live;
	cs->stats.started++;
	log_info("call", "%s from %.*s to %.*s", call->sid, SLICE_ARG(req->from.uri.raw),
	         SLICE_ARG(req->ruri.raw));
	mem_ref(call);
	if (cs->ctl.start(cs->ctl.arg, call, req, src)) {
		call->final_status = 500;
		call_end(call, "control failed", NULL);
	}
	if (call->state != CALL_ENDED)
		call_record(call, NULL);
	mem_deref(call);
}

void call_ack(struct call *call, struct leg *leg, struct sip_msg *ack)
{
	const struct sip_hdr *ct = sip_msg_hdr(ack, SIP_HDR_CONTENT_TYPE);

	if (leg != &call->a)
		return;
	if (call->b_ack_waiting && call->b) {
		struct buf tmp = {0};
		struct slice body;
		char why[128];

		call->b_ack_waiting = false;
		if (cmedia_body(&call->a, call->b, ack, &body, &tmp, why, sizeof(why)))
			log_info("call", "%s: caller's answer in the ACK: %s", call->sid, why);
		leg_ack_send(call->b, call->b->dlg.local_cseq, ct ? ct->value : SLICE_NULL, body);
		buf_free(&tmp);
	}
	if (call->a.inv) {
		txn_detach(call->a.inv);
		call->a.inv = mem_deref(call->a.inv);
	}
	if (call->reoffer.len && call->state == CALL_BRIDGED)
		reoffer_caller(call, (struct slice){call->reoffer.p, call->reoffer.len});
	buf_free(&call->reoffer);
	relay_release_held(call, true);
}

void call_cancel(struct call *call)
{
	if (call->a_answered || call->state == CALL_ENDED)
		return;
	call->final_status = 487;
	call_end(call, "caller cancelled", &call->a); /* answers the INVITE with 487 */
}
