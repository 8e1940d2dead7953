/* The dialled legs: forks of a dial, their paths (failover), answers and failures. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "base/rand.h"
#include "call/call_priv.h"
#include "domain/digest_client.h"

/*
 * A dial sends one INVITE per target (a fork), each with its own Call-ID,
 * dialog and SID, in parallel.  The first 2xx is bridged with the caller;
 * the others are cancelled, and a fork that answers anyway is ACKed and
 * sent a BYE (RFC 3261 13.2.2.4 does the same for forking proxies).  When
 * every fork has failed the dial is over and the controller decides.
 *
 * Forks live as long as their call: transaction callbacks carry the fork
 * and keep the call alive for their duration.
 */

static void fork_resp_h(void *arg, struct txn *ct, struct sip_msg *resp, int err);
static bool fork_next_path(struct fork *f, const char *why);

/* The i-th string of f->extra: 0 username, 1 password, 2 headers ("" when none). */
static const char *fork_extra(const struct fork *f, int i)
{
	const char *p = f->extra;

	if (!p)
		return "";
	while (i-- > 0)
		p += strlen(p) + 1;
	return p;
}

/* Copies what a dial target gives beyond its route, only when it gives anything. */
static int fork_extra_set(struct fork *f, const struct call_dial_target *to)
{
	size_t u = strlen(to->username), pw = strlen(to->password), h = strlen(to->headers);
	char *p;

	if (!u && !pw && !h)
		return 0;
	p = f->extra = mem_alloc(u + pw + h + 3, NULL);
	if (!p)
		return -ENOMEM;
	memcpy(p, to->username, u + 1);
	memcpy(p + u + 1, to->password, pw + 1);
	memcpy(p + u + pw + 2, to->headers, h + 1);
	return 0;
}

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

/* The dial's extra headers ("Name: value\r\n"...) as edits; false when malformed. */
static bool extra_headers(const char *text, struct sip_edit *h, size_t *n, size_t cap)
{
	const char *p = text;

	while (*p && *n < cap) {
		const char *eol = strstr(p, "\r\n"), *colon = strchr(p, ':');

		if (!eol || !colon || colon > eol)
			return false;
		const char *v = colon + 1;
		while (v < eol && *v == ' ')
			v++;
		h[(*n)++] = (struct sip_edit){
		    SIP_EDIT_ADD, SIP_HDR_OTHER, {p, (size_t)(colon - p)}, {v, (size_t)(eol - v)}};
		p = eol + 2;
	}
	return true;
}

/*
 * The fork's INVITE: the caller's identity (or the dial's caller id), our
 * own Call-ID and tag, the caller's allowed X- headers, the platform's.
 * A retry after a challenge keeps Call-ID and tag (f->req) with CSeq + 1.
 */
static int fork_invite_build(struct fork *f, struct buf *out, struct slice auth_name,
                             struct slice auth, struct slice body)
{
	struct call *call = f->leg.call;
	struct calls *cs = call->cs;
	const struct sip_msg *a = call->a_req;
	const struct call_target *t = &f->t;
	struct sip_edit h[64];
	size_t n = 0;
	char via[256], from[640], to[600], callid[96], contact[160], mf[16], cseq[24];
	char tag[24], branch[40];
	int len;

	txn_branch_new(branch, sizeof(branch));
	len = snprintf(via, sizeof(via), "SIP/2.0/%s %s;branch=%s;rport",
	               tp_proto_name(t->dst.proto), f->leg.hostport, branch);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_VIA, {0}, {via, (size_t)len}};
	len = snprintf(mf, sizeof(mf), "%d", a->max_forwards > 0 ? a->max_forwards - 1 : 70);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_MAX_FORWARDS, {0}, {mf, (size_t)len}};
	if (f->req) {
		const struct sip_hdr *fh = sip_msg_hdr(f->req, SIP_HDR_FROM);

		h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_FROM, {0}, fh->value};
		h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CALL_ID, {0}, f->req->call_id};
		len = snprintf(cseq, sizeof(cseq), "%u INVITE", f->req->cseq.num + 1);
	} else {
		dialog_tag_new(tag, sizeof(tag));
		if (call->caller_id[0])
			len = snprintf(from, sizeof(from), "<%s>;tag=%s", call->caller_id, tag);
		else
			len =
			    snprintf(from, sizeof(from), "%s%.*s%s<%.*s>;tag=%s",
			             a->from.dname_quoted ? "\"" : "", SLICE_ARG(a->from.dname),
			             a->from.dname.len ? (a->from.dname_quoted ? "\" " : " ") : "",
			             SLICE_ARG(a->from.uri.raw), tag);
		if (len < 0 || (size_t)len >= sizeof(from))
			return -E2BIG;
		h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_FROM, {0}, {from, (size_t)len}};
		len = (int)dialog_callid_new(callid, sizeof(callid), SLICE_NULL);
		h[n++] =
		    (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CALL_ID, {0}, {callid, (size_t)len}};
		len = snprintf(cseq, sizeof(cseq), "1 INVITE");
	}
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CSEQ, {0}, {cseq, (size_t)len}};
	len = snprintf(to, sizeof(to), "<%s>", t->uri);
	if (len < 0 || (size_t)len >= sizeof(to))
		return -E2BIG;
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_TO, {0}, {to, (size_t)len}};
	len = snprintf(contact, sizeof(contact), "<%s>", f->leg.contact);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CONTACT, {0}, {contact, (size_t)len}};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_ALLOW, {0}, SLICE(CALL_ALLOW)};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_SUPPORTED, {0}, SLICE("timer")};
	h[n++] = (struct sip_edit){
	    SIP_EDIT_ADD, SIP_HDR_USER_AGENT, {0}, slice_cstr(cs->conf.user_agent)};
	if (auth.len)
		h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_OTHER, auth_name, auth};
	/* Allowed X- headers of the inbound INVITE, then the dial's, then the platform's. */
	for (uint32_t i = 0; i < a->nhdr && n < ARRAY_SIZE(h) - 24; i++) {
		const struct sip_hdr *x = &a->hdr[i];

		if (x->id == SIP_HDR_OTHER && xhdr_allowed(cs, x->name) &&
		    !(x->name.len > 9 &&
		      slice_ieq((struct slice){x->name.p, 9}, SLICE("X-Twilio-"))))
			h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_OTHER, x->name, x->value};
		else if (x->id == SIP_HDR_SESSION_EXPIRES || x->id == SIP_HDR_MIN_SE ||
		         x->id == SIP_HDR_CONTENT_TYPE || x->id == SIP_HDR_CONTENT_DISPOSITION)
			h[n++] = (struct sip_edit){SIP_EDIT_ADD, x->id, x->name, x->value};
	}
	if (!extra_headers(fork_extra(f, 2), h, &n, ARRAY_SIZE(h) - 3))
		return -EINVAL;
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_OTHER, SLICE("X-Twilio-CallSid"),
	                           slice_cstr(f->sid)};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_OTHER, SLICE("X-Twilio-AccountSid"),
	                           slice_cstr(cs->conf.account_sid)};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_OTHER, SLICE("X-Twilio-ApiVersion"),
	                           SLICE("2010-04-01")};
	return sip_request_build(out, SLICE("INVITE"), slice_cstr(t->uri), h, n, body);
}

/* The fork's INVITE has its final (or failed): it no longer holds the call. */
static void fork_txn_done(struct fork *f)
{
	if (f->pending) {
		f->pending = false;
		f->leg.call->pending--;
	}
}

static void hop_timeout_h(void *arg)
{
	struct fork *f = arg;
	struct call *call = mem_ref(f->leg.call);

	if (!f->over && !f->heard)
		fork_next_path(f, "no response");
	mem_deref(call);
}

/* Sends the fork's INVITE over path f->hop (with credentials when given). */
static int fork_send(struct fork *f, struct slice auth_name, struct slice auth)
{
	struct call *call = f->leg.call;
	struct calls *cs = call->cs;
	const struct call_target *t = &f->t;
	struct buf out = {0}, sdp = {0};
	struct sip_msg *req = NULL;
	struct slice body;
	char *copy, why[128];
	uint16_t st;
	int e;

	f->leg.peer = t->dst;
	f->leg.peer.lis = t->hops[f->hop];
	f->heard = false;
	leg_hostport(&f->leg, &f->leg.peer);
	/* The caller's offer, on this leg's media ports. */
	st = cmedia_body(&call->a, &f->leg, call->a_req, &body, &sdp, why, sizeof(why));
	if (st) {
		log_info("call", "%s: %s", f->sid, why);
		f->status = st;
		buf_free(&sdp);
		return -EIO;
	}
	e = fork_invite_build(f, &out, auth_name, auth, body);
	buf_free(&sdp);
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
	if (f->leg.inv) {
		txn_detach(f->leg.inv);
		f->leg.inv = mem_deref(f->leg.inv);
	}
	mem_deref(f->req);
	f->req = req;
	e = txn_request(&f->leg.inv, cs->tl, &out, &f->leg.peer, fork_resp_h, f);
	buf_free(&out);
	if (e) {
		f->leg.inv = NULL;
		return e;
	}
	mem_ref(f->leg.inv);
	call->pending++;
	f->pending = true;
	if (t->hop_timeout_ms && f->hop + 1 < t->nhops)
		tmr_start(&f->hop_tmr, cs->heap, t->hop_timeout_ms, hop_timeout_h, f);
	return 0;
}

/* Drops the early dialog and the transaction of the path in use. */
static void fork_path_reset(struct fork *f)
{
	struct leg *leg = &f->leg;

	fork_txn_done(f); /* its final will not come to us any more */
	if (leg->inv) {
		txn_detach(leg->inv);
		leg->inv = mem_deref(leg->inv);
	}
	calls_unindex(f->leg.call->cs, leg);
	if (leg->dlg.state != DIALOG_NONE) {
		leg_dialog_count(leg, false);
		dialog_reset(&leg->dlg);
	}
}

/*
 * Gives up the path in use (its transaction is left to finish on its own)
 * and tries the next one, while the dial runs.  false: none left.
 */
static bool fork_next_path(struct fork *f, const char *why)
{
	struct call *call = f->leg.call;

	while (call->state == CALL_DIALING && !f->cancelled && f->hop + 1 < f->t.nhops) {
		fork_path_reset(f);
		f->hop++;
		call->cs->stats.failovers++;
		log_info("call", "%s: path %zu gave %s; trying path %zu of %zu", f->sid, f->hop,
		         why, f->hop + 1, f->t.nhops);
		f->req = mem_deref(f->req); /* a new path is a new INVITE */
		f->auth_sent = false;
		if (fork_send(f, SLICE_NULL, SLICE_NULL) == 0)
			return true;
	}
	return false;
}

/* The fork is done for good; its record is final. */
static void fork_over(struct fork *f, uint16_t status, const char *reason)
{
	struct call *call = f->leg.call;

	if (f->over)
		return;
	f->over = true;
	tmr_cancel(&f->hop_tmr);
	if (status && !f->status)
		f->status = status;
	f->end_ms = calls_now_ms(call->cs);
	if (!f->end_reason)
		f->end_reason = reason;
	call_record(call, f);
	cmedia_leg_free(&f->leg);
}

/* Whether every fork of the running dial is over without an answer. */
static bool dial_all_failed(const struct call *call)
{
	for (const struct fork *f = call->forks; f; f = f->next) {
		if (!f->over)
			return false;
	}
	return true;
}

/* A fork failed: when it was the dial's last hope, the dial is over. */
static void fork_failed(struct fork *f, uint16_t status, const char *reason)
{
	struct call *call = f->leg.call;

	fork_over(f, status, reason);
	if (call->state == CALL_DIALING && dial_all_failed(call))
		dial_over(call, CALL_DIAL_FAILED);
}

/*
 * A 2xx for a fork we gave up on, or from a second branch (another To tag):
 * ACK and BYE it.  The dialog is built from the response alone, which
 * carries the Call-ID, tags and CSeq of the INVITE it answers.  A fork over
 * and never bridged keeps that dialog in its own leg (nothing else uses the
 * leg any more): retransmissions of the 2xx (our ACK was lost) get the ACK
 * again, not one more BYE each.
 */
static void fork_extra_2xx(struct fork *f, struct txn *ct, struct sip_msg *resp)
{
	struct leg tmp = {.kind = OWNER_LEG, .call = f->leg.call};
	bool idle = f->over && !f->answer_ms;
	struct leg *l = idle && !f->leg.bye_sent ? &f->leg : &tmp;
	struct tp_peer hop = *txn_peer(ct);

	if (idle && f->leg.bye_sent && slice_eq(resp->to.tag, f->leg.dlg.remote_tag)) {
		if (f->leg.ack.len && resp->cseq.num == f->leg.ack_cseq)
			leg_send(&f->leg, &f->leg.ack);
		return;
	}
	memcpy(tmp.hostport, f->leg.hostport, sizeof(tmp.hostport));
	if (l == &f->leg && l->dlg.state != DIALOG_NONE)
		leg_dialog_count(l, false); /* its early dialog gives way to this one */
	if (dialog_uac_create(&l->dlg, resp, resp, slice_cstr(f->leg.contact), &hop))
		return;
	if (l == &f->leg)
		leg_dialog_count(l, true);
	leg_ack_send(l, resp->cseq.num, SLICE_NULL, SLICE_NULL);
	leg_bye(l, "Another branch answered");
	dialog_reset(&tmp.dlg);
	buf_free(&tmp.ack);
}

static void linger_h(void *arg)
{
	struct fork *f = arg;

	if (f->leg.inv) {
		txn_detach(f->leg.inv);
		f->leg.inv = mem_deref(f->leg.inv);
	}
	f->req = mem_deref(f->req);
	call_release_check(f->leg.call);
}

/* The first 2xx of the dial: bridge this fork with the caller. */
static void fork_answered(struct fork *f, struct sip_msg *resp)
{
	struct call *call = f->leg.call;
	struct calls *cs = call->cs;
	struct leg *b = &f->leg;
	struct tp_peer hop = *txn_peer(b->inv);
	bool had = b->dlg.state != DIALOG_NONE;

	if (dialog_uac_create(&b->dlg, f->req, resp, slice_cstr(b->contact), &hop)) {
		fork_failed(f, 502, "bad 2xx from callee");
		return;
	}
	if (!had)
		leg_dialog_count(b, true);
	calls_index(cs, b);
	tmr_cancel(&f->hop_tmr);
	tmr_cancel(&call->ring_tmr);
	f->answer_ms = calls_now_ms(cs);
	f->status = resp->status;
	forks_cancel(call, 487, "Another branch answered");
	call_record(call, f);
	/* 64*T1 of 2xx retransmissions may follow: keep the transaction attached. */
	tmr_start(&f->linger_tmr, cs->heap, 64ull * cs->conf.t1_ms, linger_h, f);
	call_bridged(call, f, resp);
}

/* 401/407 from the far end: answer it once per challenge with the dial's credentials. */
static bool fork_auth_retry(struct fork *f, const struct sip_msg *resp)
{
	struct digest_challenge ch;
	struct digest_client dc;
	struct buf auth = {0};
	char why[128];
	bool ok;

	if (!fork_extra(f, 0)[0])
		return false;
	if (digest_challenge_pick(&ch, resp, why, sizeof(why))) {
		log_info("call", "%s: cannot answer the %u challenge: %s", f->sid, resp->status,
		         why);
		return false;
	}
	/* One answer per challenge; a stale nonce (stale=true) earns one more,
	 * once (our first answer went with CSeq 2): a far end that calls every
	 * nonce stale would otherwise get INVITEs in a loop. */
	if (f->auth_sent && (!ch.stale || f->req->cseq.num > 2))
		return false;
	digest_client_init(&dc);
	ok = digest_client_answer(&auth, &dc, &ch, SLICE("INVITE"), slice_cstr(f->t.uri),
	                          slice_cstr(fork_extra(f, 0)), slice_cstr(fork_extra(f, 1)),
	                          f->req->body) == 0; /* the body as sent (auth-int) */
	fork_txn_done(f);
	ok = ok && fork_send(f, ch.proxy ? SLICE("Proxy-Authorization") : SLICE("Authorization"),
	                     (struct slice){(const char *)auth.p, auth.len}) == 0;
	buf_free(&auth);
	f->auth_sent = true;
	return ok;
}

static void fork_resp(struct fork *f, struct txn *ct, struct sip_msg *resp, int err)
{
	struct call *call = f->leg.call;
	struct leg *b = &f->leg;

	if (ct != b->inv) {
		/* A path or a try we left: only a 2xx still matters (ACK and BYE it). */
		if (resp && resp->status >= 200 && resp->status < 300)
			fork_extra_2xx(f, ct, resp);
		if (!resp || resp->status >= 200)
			txn_detach(ct);
		return;
	}
	if (!resp) {
		/* No answer at all (Timer B) or the transport failed: another path? */
		fork_txn_done(f);
		if (!fork_next_path(f, "no answer"))
			fork_failed(f, err == -ETIMEDOUT ? 408 : 503,
			            err == -ETIMEDOUT ? "callee did not answer"
			                              : "callee unreachable");
		call_release_check(call);
		return;
	}
	f->heard = true;
	tmr_cancel(&f->hop_tmr);
	if (resp->status == 100)
		return;
	if (resp->status < 200) {
		if (f->over || call->state != CALL_DIALING)
			return;
		if (resp->to.tag.len) {
			struct tp_peer hop = *txn_peer(ct);
			bool had = b->dlg.state != DIALOG_NONE;

			/* The newest early dialog stands for the callee until one answers. */
			if (dialog_uac_create(&b->dlg, f->req, resp, slice_cstr(b->contact),
			                      &hop) == 0 &&
			    !had)
				leg_dialog_count(b, true);
		}
		if (!call->a_answered)
			call_a_reply(call, b, resp, resp->status);
		return;
	}
	if (resp->status < 300) {
		if (f->answer_ms) {
			if (slice_eq(resp->to.tag, b->dlg.remote_tag)) {
				if (b->ack.len && resp->cseq.num == b->ack_cseq)
					leg_send(b, &b->ack); /* our ACK was lost */
			} else {
				fork_extra_2xx(f, ct, resp);
			}
			return;
		}
		fork_txn_done(f);
		if (f->over || call->state != CALL_DIALING) {
			/* Answered after we gave up on it (a CANCEL crossed the 2xx). */
			fork_extra_2xx(f, ct, resp);
			call_release_check(call);
			return;
		}
		fork_answered(f, resp);
		return;
	}
	fork_txn_done(f);
	if (f->over) {
		call_release_check(call);
		return;
	}
	if ((resp->status == 401 || resp->status == 407) && call->state == CALL_DIALING &&
	    fork_auth_retry(f, resp))
		return;
	if (resp->status == 503 && fork_next_path(f, "503"))
		return;
	mem_deref(f->final);
	f->final = mem_ref(resp);
	fork_failed(f, resp->status, "callee refused");
	call_release_check(call);
}

/* The call may end (and be released) inside: keep it alive until we return. */
static void fork_resp_h(void *arg, struct txn *ct, struct sip_msg *resp, int err)
{
	struct fork *f = arg;
	struct call *call = mem_ref(f->leg.call);

	fork_resp(f, ct, resp, err);
	mem_deref(call);
}

int fork_start(struct call *call, const struct call_dial_target *to)
{
	struct calls *cs = call->cs;
	struct fork *f;
	int e;

	if (!to->t.nhops)
		return -EINVAL;
	f = mem_alloc(sizeof(*f), NULL);
	if (!f)
		return -ENOMEM;
	f->leg = (struct leg){.kind = OWNER_LEG, .call = call, .fork = f};
	f->t = to->t;
	memcpy(f->edge, to->edge, sizeof(f->edge));
	f->dial_id = call->dial_id;
	if (fork_extra_set(f, to)) {
		mem_deref(f);
		return -ENOMEM;
	}
	rand_sid(f->sid, "CA");
	f->start_ms = calls_now_ms(cs);
	f->next = call->forks;
	call->forks = f;
	e = fork_send(f, SLICE_NULL, SLICE_NULL);
	call_record(call, f); /* after the send: the record has the leg's Call-ID and gateway */
	if (e) {
		fork_over(f, f->status ? f->status : 503, "cannot send the outbound INVITE");
		return -EIO;
	}
	return 0;
}

void forks_cancel(struct call *call, uint16_t status, const char *reason)
{
	for (struct fork *f = call->forks; f; f = f->next) {
		if (f->over || f->answer_ms)
			continue;
		f->cancelled = true;
		/* Its final (487, or a 2xx we ACK and BYE) still comes to fork_resp. */
		if (f->leg.inv && f->pending)
			txn_cancel(f->leg.inv);
		fork_over(f, status, reason);
	}
}

/*
 * The status that speaks for a failed dial: a busy callee over the others,
 * then any other refusal, then no answer (RFC 3261 16.7 picks the best
 * response in a similar spirit).
 */
static const struct fork *dial_decider(const struct call *call)
{
	const struct fork *best = NULL;
	int best_rank = -1;

	for (const struct fork *f = call->forks; f; f = f->next) {
		if (f->dial_id != call->dial_id)
			continue; /* an earlier dial's */
		int rank = f->status == 486 || f->status == 600 ? 4
		           : f->status >= 600                   ? 3
		           : f->final && f->status != 487       ? 2
		           : f->status                          ? 1
		                                                : 0;
		if (rank > best_rank) {
			best = f;
			best_rank = rank;
		}
	}
	return best;
}

static uint16_t map_final(uint16_t status)
{
	/* The edge cannot pass a challenge for another dialog to the caller. */
	if (status == 401 || status == 407)
		return 403;
	return status;
}

void dial_over(struct call *call, enum call_dial_status why)
{
	struct calls *cs = call->cs;
	const struct fork *f = dial_decider(call);
	struct call_dial_result res = {.status = why, .call_sid = ""};

	tmr_cancel(&call->ring_tmr);
	call->state = CALL_CONTROL;
	if (f) {
		res.sip_status = f->status;
		res.call_sid = f->sid;
		res.sip_call_id = f->req ? f->req->call_id : SLICE_NULL;
		res.final = f->final;
		if (why == CALL_DIAL_FAILED) {
			const char *st = fork_status_text(f);

			res.status = !strcmp(st, "busy")        ? CALL_DIAL_BUSY
			             : !strcmp(st, "no-answer") ? CALL_DIAL_NO_ANSWER
			                                        : CALL_DIAL_FAILED;
		}
	}
	if ((call->dial.relay_final || !cs->ctl.dial_done) && !call->a_answered) {
		uint16_t st = f && f->status ? map_final(f->status) : 408;

		if (why == CALL_DIAL_NO_ANSWER)
			st = 408;
		if (f && f->final && why == CALL_DIAL_FAILED)
			call_a_reply(call, NULL, f->final, st);
		call->final_status = st;
		call_end(call, why == CALL_DIAL_NO_ANSWER ? "ring timeout" : "callee refused",
		         NULL);
		return;
	}
	if (!cs->ctl.dial_done) {
		call_end(call, "dial over", NULL);
		return;
	}
	cs->ctl.dial_done(cs->ctl.arg, call, &res);
}

void fork_free_all(struct call *call)
{
	while (call->forks) {
		struct fork *f = call->forks;
		struct leg *l = &f->leg;

		call->forks = f->next;
		tmr_cancel(&f->hop_tmr);
		tmr_cancel(&f->linger_tmr);
		calls_unindex(call->cs, l);
		if (l->dlg.state != DIALOG_NONE)
			leg_dialog_count(l, false);
		dialog_reset(&l->dlg);
		buf_free(&l->ack);
		if (l->inv) {
			txn_detach(l->inv);
			mem_deref(l->inv);
		}
		mem_deref(f->req);
		mem_deref(f->final);
		mem_deref(f->extra);
		mem_deref(f);
	}
}
