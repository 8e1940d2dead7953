/* The life of a call: inbound INVITE, routing, outbound INVITE, answer, end with BYE. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "base/rand.h"
#include "call/call_priv.h"

/*
 * Lifetime: a call is a mem object.  The layer's live list holds one
 * reference until the call has ended and nothing more can arrive for it:
 * pending transactions (the outbound INVITE until its final, each BYE
 * until its final) are counted in `pending`, and after a 2xx the outbound
 * INVITE may still see retransmissions for 64*T1 (`linger`).  Only then are
 * the transactions detached and the reference dropped.
 */

static void call_release_check(struct call *call);
static void b_done(struct call *call);
static bool b_next_path(struct call *call, const char *why);
static void hop_timeout_h(void *arg);

static void call_destroy(void *obj)
{
	struct call *call = obj;
	struct calls *cs = call->cs;

	tmr_cancel(&call->ring_tmr);
	tmr_cancel(&call->max_tmr);
	tmr_cancel(&call->st_tmr);
	tmr_cancel(&call->refresh_tmr);
	tmr_cancel(&call->hop_tmr);
	tmr_cancel(&call->linger_tmr);
	mem_deref(call->target);
	for (struct leg *l = &call->a; l; l = l == &call->a ? &call->b : NULL) {
		calls_unindex(cs, l);
		if (l->dlg.state != DIALOG_NONE)
			leg_dialog_count(l, false);
		dialog_reset(&l->dlg);
		buf_free(&l->ack);
		if (l->inv) {
			txn_detach(l->inv);
			l->inv = mem_deref(l->inv);
		}
	}
	mem_deref(call->a_req);
	mem_deref(call->b_req);
	cs->stats.live_calls--;
}

/* ------------------------------------------------------------ helpers */

static bool xhdr_allowed(const struct calls *cs, struct slice name)
{
	char n[128];

	if (name.len >= sizeof(n))
		return false;
	memcpy(n, name.p, name.len);
	n[name.len] = '\0';
	for (const char *const *pat = cs->conf.xhdr_allow; pat && *pat; pat++) {
		if (fnmatch(*pat, n, FNM_CASEFOLD) == 0)
			return true;
	}
	return false;
}

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

static void leg_hostport(struct leg *leg, const struct tp_peer *peer)
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

static void leg_bye(struct leg *leg, const char *reason)
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

/* ----------------------------------------------------------------- end */

/*
 * 64*T1 after the outbound 2xx no retransmission of it can come any more: an
 * answered call drops the INVITE transaction and its parsed INVITE (a long
 * call keeps only its dialogs); an ended call may now be released.
 */
static void linger_h(void *arg)
{
	struct call *call = arg;

	if (call->b.inv) {
		txn_detach(call->b.inv);
		call->b.inv = mem_deref(call->b.inv);
	}
	call->b_req = mem_deref(call->b_req);
	call_release_check(call);
}

static void call_release_check(struct call *call)
{
	struct calls *cs = call->cs;

	if (call->state != CALL_ENDED || call->pending || tmr_running(&call->linger_tmr) ||
	    !call->prev_live)
		return;
	*call->prev_live = call->next_live;
	if (call->next_live)
		call->next_live->prev_live = call->prev_live;
	call->prev_live = NULL;
	(void)cs;
	mem_deref(call);
}

void call_end(struct call *call, const char *reason, struct leg *by)
{
	struct calls *cs = call->cs;

	if (call->state == CALL_ENDED)
		return;
	if (!call->end_reason)
		call->end_reason = reason;
	tmr_cancel(&call->ring_tmr);
	tmr_cancel(&call->max_tmr);
	tmr_cancel(&call->st_tmr);
	tmr_cancel(&call->refresh_tmr);
	tmr_cancel(&call->hop_tmr);

	/* The caller still waits for a final response. */
	if (call->a.inv && !call->a_done) {
		if (!call->final_status)
			call->final_status = 500;
		call->a_done = true;
		txn_reply(call->a.inv, call->final_status,
		          call->final_reason[0] ? call->final_reason : NULL, call->a.dlg.local_tag,
		          NULL, 0, SLICE_NULL);
	}
	/* The callee has not answered: CANCEL; its final still comes to b_resp_h. */
	if (call->b.inv && call->state == CALL_CALLING)
		txn_cancel(call->b.inv);
	if (by != &call->a)
		leg_bye(&call->a, call->end_reason);
	if (by != &call->b)
		leg_bye(&call->b, call->end_reason);

	if (call->state == CALL_ANSWERED)
		call->final_status = call->final_status ? call->final_status : 200;
	call->state = CALL_ENDED;
	relay_release_held(call, false);
	relay_free_all(call);
	calls_unindex(cs, &call->a);
	calls_unindex(cs, &call->b);
	cs->stats.ended++;
	if (call->final_status < ARRAY_SIZE(cs->stats.by_status))
		cs->stats.by_status[call->final_status]++;
	if (!call->answer_ms)
		cs->stats.failed++;
	calls_log_end(call);
	call_release_check(call);
}

void call_force_end(struct call *call, const char *reason)
{
	mem_ref(call);
	call_end(call, reason, NULL);
	call->pending = 0;
	tmr_cancel(&call->linger_tmr);
	call_release_check(call);
	mem_deref(call);
}

static void fail_inbound(struct call *call, uint16_t status, const char *reason)
{
	call->final_status = status;
	call_end(call, reason, NULL);
}

/* ------------------------------------------------------------- timers */

static void ring_timeout_h(void *arg)
{
	fail_inbound(arg, 408, "ring timeout");
}

static void max_duration_h(void *arg)
{
	call_end(arg, "maximum call duration", NULL);
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
	for (struct leg *l = &call->a; l; l = l == &call->a ? &call->b : NULL) {
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

/* ------------------------------------------------------- outbound leg */

static int b_invite_build(struct call *call, const struct call_target *t, struct buf *out)
{
	struct calls *cs = call->cs;
	const struct sip_msg *a = call->a_req;
	struct sip_edit h[48];
	size_t n = 0;
	char via[256], from[640], to[600], callid[96], contact[160], mf[16];
	char tag[24], branch[40];
	int len;

	txn_branch_new(branch, sizeof(branch));
	dialog_tag_new(tag, sizeof(tag));
	len = snprintf(via, sizeof(via), "SIP/2.0/%s %s;branch=%s;rport",
	               tp_proto_name(t->dst.proto), call->b.hostport, branch);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_VIA, {0}, {via, (size_t)len}};
	len = snprintf(mf, sizeof(mf), "%d", a->max_forwards > 0 ? a->max_forwards - 1 : 70);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_MAX_FORWARDS, {0}, {mf, (size_t)len}};
	/* The caller's identity travels on; the tag is ours. */
	len = snprintf(from, sizeof(from), "%s%.*s%s<%.*s>;tag=%s",
	               a->from.dname_quoted ? "\"" : "", SLICE_ARG(a->from.dname),
	               a->from.dname.len ? (a->from.dname_quoted ? "\" " : " ") : "",
	               SLICE_ARG(a->from.uri.raw), tag);
	if (len < 0 || (size_t)len >= sizeof(from))
		return -E2BIG;
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_FROM, {0}, {from, (size_t)len}};
	len = snprintf(to, sizeof(to), "<%s>", t->uri);
	if (len < 0 || (size_t)len >= sizeof(to))
		return -E2BIG;
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_TO, {0}, {to, (size_t)len}};
	len = (int)dialog_callid_new(callid, sizeof(callid), SLICE_NULL);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CALL_ID, {0}, {callid, (size_t)len}};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CSEQ, {0}, SLICE("1 INVITE")};
	len = snprintf(contact, sizeof(contact), "<%s>", call->b.contact);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CONTACT, {0}, {contact, (size_t)len}};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_ALLOW, {0}, SLICE(CALL_ALLOW)};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_SUPPORTED, {0}, SLICE("timer")};
	h[n++] = (struct sip_edit){
	    SIP_EDIT_ADD, SIP_HDR_USER_AGENT, {0}, slice_cstr(cs->conf.user_agent)};
	/* Allowed X- headers of the inbound INVITE, then the platform's own. */
	for (uint32_t i = 0; i < a->nhdr && n < ARRAY_SIZE(h) - 8; i++) {
		const struct sip_hdr *x = &a->hdr[i];

		if (x->id == SIP_HDR_OTHER && xhdr_allowed(cs, x->name) &&
		    !(x->name.len > 9 &&
		      slice_ieq((struct slice){x->name.p, 9}, SLICE("X-Twilio-"))))
			h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_OTHER, x->name, x->value};
		else if (x->id == SIP_HDR_SESSION_EXPIRES || x->id == SIP_HDR_MIN_SE ||
		         x->id == SIP_HDR_CONTENT_TYPE || x->id == SIP_HDR_CONTENT_DISPOSITION)
			h[n++] = (struct sip_edit){SIP_EDIT_ADD, x->id, x->name, x->value};
	}
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_OTHER, SLICE("X-Twilio-CallSid"),
	                           slice_cstr(call->sid)};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_OTHER, SLICE("X-Twilio-AccountSid"),
	                           slice_cstr(cs->conf.account_sid)};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_OTHER, SLICE("X-Twilio-ApiVersion"),
	                           SLICE("2010-04-01")};
	return sip_request_build(out, SLICE("INVITE"), slice_cstr(t->uri), h, n, a->body);
}

static void a_reply(struct call *call, const struct sip_msg *resp, uint16_t status)
{
	struct sip_edit h[40];
	size_t n = 0;
	char contact[160];
	int len;

	if (!call->a.inv || call->a_done)
		return;
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
	call_copy_headers(resp, h, &n, ARRAY_SIZE(h), false);
	txn_reply(call->a.inv, status, NULL, call->a.dlg.local_tag, h, n, resp->body);
}

/* Another fork answered after the call was set up (RFC 3261 13.2.2.4): ACK, then BYE. */
static void b_extra_2xx(struct call *call, struct sip_msg *resp)
{
	struct leg tmp = {.kind = OWNER_LEG, .call = call, .outbound = true};
	struct tp_peer hop = call->b.dlg.peer;

	memcpy(tmp.hostport, call->b.hostport, sizeof(tmp.hostport));
	if (!call->b_req ||
	    dialog_uac_create(&tmp.dlg, call->b_req, resp, slice_cstr(call->b.contact), &hop))
		return;
	leg_ack_send(&tmp, resp->cseq.num, SLICE_NULL, SLICE_NULL);
	leg_bye(&tmp, "Another branch answered");
	dialog_reset(&tmp.dlg);
	buf_free(&tmp.ack);
}

static void b_answered(struct call *call, struct sip_msg *resp)
{
	struct calls *cs = call->cs;
	struct leg *b = &call->b;
	struct tp_peer hop = *txn_peer(call->b.inv);
	bool had = b->dlg.state != DIALOG_NONE;

	if (dialog_uac_create(&b->dlg, call->b_req, resp, slice_cstr(b->contact), &hop)) {
		fail_inbound(call, 502, "bad 2xx from callee");
		return;
	}
	if (!had)
		leg_dialog_count(b, true);
	calls_index(cs, b);
	tmr_cancel(&call->ring_tmr);
	tmr_cancel(&call->hop_tmr);
	call->target = mem_deref(call->target);
	call->a_req = mem_deref(call->a_req); /* no more paths to try */
	call->state = CALL_ANSWERED;
	call->answer_ms = calls_now_ms(cs);
	call->final_status = resp->status;
	cs->stats.answered++;
	/* 64*T1 of 2xx retransmissions may follow: keep the transaction attached. */
	tmr_start(&call->linger_tmr, cs->heap, 64ull * cs->conf.t1_ms, linger_h, call);

	a_reply(call, resp, resp->status);
	dialog_confirm(&call->a.dlg);
	/* With the offer in the INVITE the answer is in this 2xx and the ACK is
	 * empty; with a late offer the answer is in the caller's ACK: wait. */
	if (call->late_offer && resp->body.len)
		call->b_ack_waiting = true;
	else
		leg_ack_send(b, resp->cseq.num, SLICE_NULL, SLICE_NULL);
	if (cs->conf.max_duration_ms)
		tmr_start(&call->max_tmr, cs->heap, cs->conf.max_duration_ms, max_duration_h, call);
	call_session_refreshed(call, resp);
	/* The endpoints negotiated no session timer: the edge refreshes each leg. */
	if (!call->st_interval_s && cs->conf.session_expires_s)
		tmr_start(&call->refresh_tmr, cs->heap, cs->conf.session_expires_s * 500ull,
		          refresh_h, call);
}

static uint16_t map_final(uint16_t status)
{
	/* The edge cannot pass a challenge for another dialog to the caller. */
	if (status == 401 || status == 407)
		return 403;
	return status;
}

static void b_resp(struct call *call, struct txn *ct, struct sip_msg *resp, int err);

/* The call may end (and be released) inside: keep it alive until we return. */
static void b_resp_h(void *arg, struct txn *ct, struct sip_msg *resp, int err)
{
	struct call *call = mem_ref(arg);

	b_resp(call, ct, resp, err);
	mem_deref(call);
}

static void b_resp(struct call *call, struct txn *ct, struct sip_msg *resp, int err)
{
	struct leg *b = &call->b;

	if (!resp) {
		/* No answer at all (Timer B) or the transport failed: another path? */
		b_done(call);
		if (call->state == CALL_CALLING && !b_next_path(call, "no answer"))
			fail_inbound(call, err == -ETIMEDOUT ? 408 : 503,
			             err == -ETIMEDOUT ? "callee did not answer"
			                               : "callee unreachable");
		call_release_check(call);
		return;
	}
	if (call->state == CALL_CALLING && ct == call->b.inv) {
		call->b_heard = true;
		tmr_cancel(&call->hop_tmr);
	}
	if (resp->status == 100)
		return;
	if (resp->status < 200) {
		if (call->state != CALL_CALLING)
			return;
		if (resp->to.tag.len) {
			struct tp_peer hop = *txn_peer(ct);
			bool had = b->dlg.state != DIALOG_NONE;

			/* The newest early dialog stands for the callee until one answers. */
			if (dialog_uac_create(&b->dlg, call->b_req, resp, slice_cstr(b->contact),
			                      &hop) == 0 &&
			    !had)
				leg_dialog_count(b, true);
		}
		a_reply(call, resp, resp->status);
		return;
	}
	if (resp->status < 300) {
		if (call->state == CALL_ANSWERED ||
		    (call->state == CALL_ENDED && call->answer_ms)) {
			if (slice_eq(resp->to.tag, b->dlg.remote_tag)) {
				if (b->ack.len && resp->cseq.num == b->ack_cseq)
					leg_send(b, &b->ack); /* our ACK was lost */
			} else {
				b_extra_2xx(call, resp);
			}
			return;
		}
		if (call->state == CALL_ENDED) {
			/* Answered after we gave up (CANCEL crossed the 2xx). */
			b_extra_2xx(call, resp);
			b_done(call);
			call_release_check(call);
			return;
		}
		b_done(call);
		b_answered(call, resp);
		return;
	}
	b_done(call);
	if (call->state == CALL_CALLING && resp->status == 503 && b_next_path(call, "503"))
		return;
	if (call->state == CALL_CALLING) {
		call->final_status = map_final(resp->status);
		a_reply(call, resp, call->final_status);
		call_end(call, "callee refused", NULL);
		return;
	}
	call_release_check(call);
}

/* The outbound INVITE in use has its final (or failed): it no longer holds the call. */
static void b_done(struct call *call)
{
	if (call->b_pending) {
		call->b_pending = false;
		call->pending--;
	}
}

/* Sends the outbound INVITE over path call->hop. */
static int b_attempt(struct call *call)
{
	struct calls *cs = call->cs;
	const struct call_target *t = call->target;
	struct buf out = {0};
	struct sip_msg *req = NULL;
	char *copy;
	int e;

	call->b.peer = t->dst;
	call->b.peer.lis = t->hops[call->hop];
	call->b_heard = false;
	leg_hostport(&call->b, &call->b.peer);
	e = b_invite_build(call, t, &out);
	copy = e ? NULL : mem_alloc(out.len, NULL);
	if (copy) {
		memcpy(copy, out.p, out.len);
		e = sip_msg_decode(&req, copy, out.len, copy, NULL, NULL);
		mem_deref(copy);
	}
	if (e || !copy) {
		mem_deref(req);
		buf_free(&out);
		return e ? e : -ENOMEM;
	}
	mem_deref(call->b_req);
	call->b_req = req;
	e = txn_request(&call->b.inv, cs->tl, &out, &call->b.peer, b_resp_h, call);
	buf_free(&out);
	if (e) {
		call->b.inv = NULL;
		return e;
	}
	mem_ref(call->b.inv);
	call->pending++;
	call->b_pending = true;
	call->state = CALL_CALLING;
	if (t->hop_timeout_ms && call->hop + 1 < t->nhops)
		tmr_start(&call->hop_tmr, cs->heap, t->hop_timeout_ms, hop_timeout_h, call);
	return 0;
}

/*
 * Gives up the path in use (its transaction is left to finish on its own)
 * and tries the next one, while the ring timeout runs.  false: none left.
 */
static bool b_next_path(struct call *call, const char *why)
{
	struct leg *b = &call->b;

	while (call->target && call->hop + 1 < call->target->nhops &&
	       tmr_running(&call->ring_tmr)) {
		if (b->inv) {
			b_done(call); /* its final will not come to us any more */
			txn_detach(b->inv);
			b->inv = mem_deref(b->inv);
		}
		if (b->dlg.state != DIALOG_NONE) {
			leg_dialog_count(b, false);
			dialog_reset(&b->dlg);
		}
		call->hop++;
		call->cs->stats.failovers++;
		log_info("call", "%s: path %zu gave %s; trying path %zu of %zu", call->sid,
		         call->hop, why, call->hop + 1, call->target->nhops);
		if (b_attempt(call) == 0)
			return true;
	}
	return false;
}

static void hop_timeout_h(void *arg)
{
	struct call *call = mem_ref(arg);

	if (call->state == CALL_CALLING && !call->b_heard)
		b_next_path(call, "no response");
	mem_deref(call);
}

void call_route_done(struct call *call, uint16_t status, const char *reason,
                     const struct call_target *t)
{
	struct calls *cs = call->cs;

	if (call->state != CALL_ROUTING)
		return; /* cancelled meanwhile */
	if (status) {
		if (reason)
			snprintf(call->final_reason, sizeof(call->final_reason), "%s", reason);
		fail_inbound(call, status, "routing refused the call");
		return;
	}
	call->target = mem_alloc(sizeof(*call->target), NULL);
	if (!call->target || !t->nhops) {
		fail_inbound(call, 500, "no path for the outbound INVITE");
		return;
	}
	*call->target = *t;
	call->late_offer = call->a_req->body.len == 0;
	if (b_attempt(call)) {
		fail_inbound(call, 503, "cannot send the outbound INVITE");
		return;
	}
	if (cs->conf.ring_timeout_ms)
		tmr_start(&call->ring_tmr, cs->heap, cs->conf.ring_timeout_ms, ring_timeout_h,
		          call);
}

/* -------------------------------------------------------- inbound leg */

void call_new(struct calls *cs, struct txn *st, struct sip_msg *req, const struct tp_peer *src)
{
	struct call *call;
	char tag[24];
	struct slice t = {tag, dialog_tag_new(tag, sizeof(tag))};

	if (req->max_forwards == 0) {
		cs->stats.max_forwards_483++;
		txn_reply(st, 483, NULL, t, NULL, 0, SLICE_NULL);
		return;
	}
	call = mem_alloc(sizeof(*call), call_destroy);
	if (!call) {
		txn_reply(st, 503, NULL, t, NULL, 0, SLICE_NULL);
		return;
	}
	cs->stats.live_calls++;
	call->cs = cs;
	call->a = (struct leg){.kind = OWNER_LEG, .call = call};
	call->b = (struct leg){.kind = OWNER_LEG, .call = call, .outbound = true};
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
	if (cs->route(cs->route_arg, call, req, src))
		fail_inbound(call, 500, "routing failed");
}

void call_ack(struct call *call, struct leg *leg, struct sip_msg *ack)
{
	const struct sip_hdr *ct = sip_msg_hdr(ack, SIP_HDR_CONTENT_TYPE);

	if (leg != &call->a)
		return;
	if (call->b_ack_waiting) {
		call->b_ack_waiting = false;
		leg_ack_send(&call->b, call->b.dlg.local_cseq, ct ? ct->value : SLICE_NULL,
		             ack->body);
	}
	if (call->a.inv) {
		txn_detach(call->a.inv);
		call->a.inv = mem_deref(call->a.inv);
	}
	relay_release_held(call, true);
}

void call_cancel(struct call *call)
{
	if (call->state == CALL_ANSWERED || call->state == CALL_ENDED)
		return;
	call->final_status = 487;
	call_end(call, "caller cancelled", &call->a); /* answers the INVITE with 487 */
}
