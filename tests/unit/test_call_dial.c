/* Unit tests: call control: parallel dial, dial results, records, ring/finish, digest, admit. */
#include <arpa/inet.h>
#include <errno.h>
#include <unistd.h>

#include "call_world.h"
#include "domain/digest.h"
#include "media/media.h"

/* ------------------------------------------------------------ harness */

#define SDP_OF(ip)                                                                                 \
	"v=0\r\no=- 1 1 IN IP4 " ip "\r\ns=-\r\nc=IN IP4 " ip                                      \
	"\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
#define SDP_A SDP_OF("192.0.2.10")
#define SDP_1 SDP_OF("198.51.100.21")
#define SDP_2 SDP_OF("198.51.100.22")

#define MAX_RECS 32

/* One call record as the controller saw it. */
struct rec {
	char sid[35];
	char status[16];
	char hung_up_by[12];
	char sip_call_id[96];
	bool final;
	uint16_t sip_status;
};

enum admit_mode { ADMIT_ALL, ADMIT_REFUSE, ADMIT_CTX };

/* The test's controller: dials d.dial on start (or waits for the test), logs the rest. */
struct dial_world {
	struct call_world w;
	struct tp_peer t[2]; /* the dial's targets */
	struct call_dial_target to[2];
	struct call_dial dial;
	bool dial_on_start;
	bool answer_first;   /* start: the edge answers the caller itself, then dials */
	bool finish_in_done; /* dial_done ends the call with the dial's status */
	enum admit_mode admit;
	struct call *call; /* the live call, NULL once ended */
	int starts, ended;
	int ndone;
	struct call_dial_result res; /* the last dial_done (pointers cleared) */
	char res_sid[35];
	char res_xreason[64]; /* X-Reason of res.final, "" none */
	bool res_final;
	struct rec recs[MAX_RECS];
	size_t nrecs;
	void *ctx;
	int ctx_freed;
};

static int *ctx_freed_counter;

static void ctx_destroy(void *obj)
{
	(void)obj;
	(*ctx_freed_counter)++;
}

static int admit_h(void *arg, struct txn *st, const struct sip_msg *invite,
                   const struct tp_peer *src, void **ctx)
{
	struct dial_world *d = arg;

	(void)invite;
	(void)src;
	switch (d->admit) {
	case ADMIT_REFUSE:
		txn_reply(st, 403, "Forbidden (admit)", SLICE("adm-1"), NULL, 0, SLICE_NULL);
		return 1;
	case ADMIT_CTX:
		d->ctx = mem_alloc(8, ctx_destroy);
		*ctx = d->ctx; /* the call takes this reference over */
		return 0;
	default:
		return 0;
	}
}

static int start_h(void *arg, struct call *call, const struct sip_msg *invite,
                   const struct tp_peer *src)
{
	struct dial_world *d = arg;

	(void)invite;
	(void)src;
	d->starts++;
	d->call = call;
	if (d->admit == ADMIT_CTX)
		assert_ptr_equal(call_ctx(call), d->ctx);
	if (d->answer_first) {
		call_set_inbound_edge(call, "inbound");
		assert_int_equal(call_answer(call), 0);
	}
	return d->dial_on_start ? call_dial(call, &d->dial) : 0;
}

static void dial_done_h(void *arg, struct call *call, const struct call_dial_result *res)
{
	struct dial_world *d = arg;
	const struct sip_hdr *x =
	    res->final ? sip_msg_hdr_named(res->final, SLICE("X-Reason")) : NULL;

	d->ndone++;
	d->res = *res;
	d->res.call_sid = NULL;
	d->res.final = NULL;
	d->res.sip_call_id = SLICE_NULL;
	snprintf(d->res_sid, sizeof(d->res_sid), "%s", res->call_sid);
	d->res_final = res->final != NULL;
	snprintf(d->res_xreason, sizeof(d->res_xreason), "%.*s", x ? (int)x->value.len : 0,
	         x ? x->value.p : "");
	if (d->finish_in_done)
		call_finish(call, res->sip_status ? res->sip_status : 480, NULL, "dial over");
}

static void record_h(void *arg, const struct call_rec *r)
{
	struct dial_world *d = arg;
	struct rec *e;

	assert_true(d->nrecs < MAX_RECS);
	e = &d->recs[d->nrecs++];
	snprintf(e->sid, sizeof(e->sid), "%s", r->sid);
	snprintf(e->status, sizeof(e->status), "%s", r->status);
	snprintf(e->hung_up_by, sizeof(e->hung_up_by), "%s", r->hung_up_by);
	snprintf(e->sip_call_id, sizeof(e->sip_call_id), "%.*s", SLICE_ARG(r->sip_call_id));
	e->final = r->final;
	e->sip_status = r->sip_status;
	/* A child's parent is the inbound leg's SID; the inbound leg has none. */
	assert_int_equal(strlen(r->parent_sid), r->inbound ? 0 : 34);
	/* Every record of a leg, its first too, names the leg's SIP dialog. */
	assert_true(r->sip_call_id.len > 0);
}

static void ended_h(void *arg, struct call *call)
{
	struct dial_world *d = arg;

	assert_ptr_equal(call, d->call);
	d->ended++;
	d->call = NULL;
	if (d->admit == ADMIT_CTX)
		assert_int_equal(d->ctx_freed, 0); /* the call still holds it */
}

static void target_init(struct call_dial_target *to, struct tp_peer *dst, const char *ip)
{
	*dst = cw_peer_v4(ip, 5080);
	*to = (struct call_dial_target){.t = {.dst = *dst, .nhops = 1}};
	snprintf(to->t.uri, sizeof(to->t.uri), "sip:bob@%s:5080", ip);
	snprintf(to->edge, sizeof(to->edge), "carrier");
}

static int setup(void **state)
{
	static struct dial_world d;
	struct calls_conf cc;
	struct call_ctl ctl = {.admit = admit_h,
	                       .start = start_h,
	                       .dial_done = dial_done_h,
	                       .record = record_h,
	                       .ended = ended_h,
	                       .arg = &d};

	memset(&d, 0, sizeof(d));
	calls_conf_default(&cc);
	cc.ring_timeout_ms = 20000;
	cw_init(&d.w, &cc, &ctl);
	target_init(&d.to[0], &d.t[0], "198.51.100.21");
	target_init(&d.to[1], &d.t[1], "198.51.100.22");
	d.dial = (struct call_dial){.to = d.to, .n = 2, .timeout_ms = 20000};
	d.dial_on_start = true;
	ctx_freed_counter = &d.ctx_freed;
	*state = &d;
	return 0;
}

static int teardown(void **state)
{
	struct dial_world *d = *state;

	cw_fini(&d->w);
	return 0;
}

/* The X-Twilio-CallSid of an INVITE the edge sent: the dialled leg's SID. */
static void leg_sid(const struct sip_msg *inv, char sid[35])
{
	const struct sip_hdr *h = sip_msg_hdr_named(inv, SLICE("X-Twilio-CallSid"));

	assert_non_null(h);
	assert_int_equal(h->value.len, 34);
	memcpy(sid, h->value.p, 34);
	sid[34] = '\0';
}

/*
 * The statuses of sid's records in order, comma-separated; only the last
 * may be final.  The last record's fields go to *last.
 */
static const char *rec_trail(const struct dial_world *d, const char *sid, char *out, size_t cap,
                             struct rec *last)
{
	size_t len = 0;
	bool final_seen = false;

	out[0] = '\0';
	for (size_t i = 0; i < d->nrecs; i++) {
		const struct rec *r = &d->recs[i];

		if (strcmp(r->sid, sid))
			continue;
		assert_false(final_seen); /* nothing after a leg's last record */
		final_seen = r->final;
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", r->status);
		assert_true(len < cap);
		if (last)
			*last = *r;
	}
	return out;
}

/* Whether the caller got a final response that the test has not taken. */
static bool caller_final_sent(struct dial_world *d)
{
	for (size_t i = 0; i < d->w.nsent; i++) {
		const struct cw_sent *m = &d->w.sent[i];

		if (!m->taken && cw_same_peer(&m->dst, &d->w.caller) && !m->msg->req &&
		    m->msg->status >= 200)
			return true;
	}
	return false;
}

/* The first record of sid (fails when there is none). */
static const struct rec *rec_first(const struct dial_world *d, const char *sid)
{
	for (size_t i = 0; i < d->nrecs; i++) {
		if (!strcmp(d->recs[i].sid, sid))
			return &d->recs[i];
	}
	fail_msg("no record for %s", sid);
	return NULL;
}

static bool slice_is(struct slice s, const char *text)
{
	return slice_eq(s, slice_cstr(text));
}

/* ------------------------------------------------------------- tests */

/*
 * Two targets in parallel: the first to answer is bridged, the ringing one
 * is cancelled (and hung up on when it answers anyway); the dial reports
 * only when the bridge ends, and the caller stays for the controller.
 */
static void test_parallel_first_answer_wins(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct sip_msg *inv1, *inv2, *ok, *cancel, *bye, *ack;
	char sid1[35], sid2[35], trail[128], asid[35];
	struct rec last;

	cw_caller_invite(w, SDP_A);
	assert_non_null(d->call);
	snprintf(asid, sizeof(asid), "%s", call_sid(d->call));
	inv1 = cw_take(w, &d->t[0], "INVITE", 0);
	inv2 = cw_take(w, &d->t[1], "INVITE", 0);
	leg_sid(inv1, sid1);
	leg_sid(inv2, sid2);
	assert_string_not_equal(sid1, sid2);
	assert_false(slice_eq(inv1->call_id, inv2->call_id));
	assert_true(slice_is(inv1->ruri.raw, "sip:bob@198.51.100.21:5080"));
	assert_int_equal(inv1->body.len, strlen(SDP_A)); /* no media engine: the offer passes */
	assert_true(slice_is(inv1->call_id, rec_first(d, sid1)->sip_call_id));
	assert_true(slice_is(inv2->call_id, rec_first(d, sid2)->sip_call_id));

	cw_reply(w, &d->t[1], inv2, 180, "t2", "", "");
	cw_take(w, &w->caller, NULL, 180);
	cw_run(w, 1000);
	cw_reply(w, &d->t[0], inv1, 200, "t1", "", SDP_1);
	ack = cw_take(w, &d->t[0], "ACK", 0);
	assert_true(slice_is(ack->to.tag, "t1"));
	ok = cw_take(w, &w->caller, NULL, 200);
	assert_true(slice_is(ok->body, SDP_1));
	cancel = cw_take(w, &d->t[1], "CANCEL", 0);
	assert_true(slice_eq(cancel->call_id, inv2->call_id));
	assert_true(slice_eq(cancel->via.branch, inv2->via.branch));
	assert_null(cw_find(w, &d->t[0], "CANCEL", 0, false));
	assert_int_equal(d->ndone, 0);
	cw_caller_ack(w, ok);

	/* Target 2 answers although it was cancelled: ACK and BYE. */
	cw_reply(w, &d->t[1], cancel, 200, "t2", "", "");
	cw_reply(w, &d->t[1], inv2, 200, "t2", "", SDP_2);
	ack = cw_take(w, &d->t[1], "ACK", 0);
	assert_true(slice_eq(ack->call_id, inv2->call_id));
	bye = cw_take(w, &d->t[1], "BYE", 0);
	assert_true(slice_is(bye->to.tag, "t2"));
	assert_true(slice_eq(bye->call_id, inv2->call_id));
	cw_reply(w, &d->t[1], bye, 200, "t2", "", "");
	/* Its 2xx again (our ACK was lost): ACKed again, but one BYE is enough. */
	cw_reply(w, &d->t[1], inv2, 200, "t2", "", SDP_2);
	cw_take(w, &d->t[1], "ACK", 0);
	assert_null(cw_find(w, &d->t[1], "BYE", 0, false));
	assert_null(cw_find(w, &w->caller, "BYE", 0, false));
	assert_null(cw_find(w, &d->t[0], "BYE", 0, false));
	assert_int_equal(d->ndone, 0);
	assert_string_equal(rec_trail(d, sid1, trail, sizeof(trail), &last), "ringing,in-progress");
	assert_false(last.final);
	assert_string_equal(rec_trail(d, sid2, trail, sizeof(trail), &last), "ringing,canceled");
	assert_true(last.final);

	/* The callee hangs up: the dial is complete, the caller stays. */
	cw_run(w, 5000);
	cw_peer_bye(w, &d->t[0], inv1, "t1", 10);
	cw_take(w, &d->t[0], NULL, 200);
	assert_int_equal(d->ndone, 1);
	assert_int_equal(d->res.status, CALL_DIAL_COMPLETED);
	assert_int_equal(d->res.sip_status, 200);
	assert_int_equal(d->res.duration_s, 5);
	assert_string_equal(d->res_sid, sid1);
	assert_false(d->res_final);
	assert_string_equal(rec_trail(d, sid1, trail, sizeof(trail), &last),
	                    "ringing,in-progress,completed");
	assert_true(last.final);
	assert_string_equal(last.hung_up_by, "callee");
	cw_run(w, 40000); /* every transaction and linger timer of the callees runs out */
	assert_null(cw_find(w, &w->caller, "BYE", 0, false));
	assert_non_null(d->call);
	assert_int_equal(calls_stats(w->cs)->live_calls, 1);
	assert_string_equal(rec_trail(d, asid, trail, sizeof(trail), NULL), "ringing,in-progress");

	/* The controller is done with the caller. */
	call_finish(d->call, 200, NULL, "application hung up");
	bye = cw_take(w, &w->caller, "BYE", 0);
	assert_true(slice_is(bye->call_id, "call-1"));
	cw_reply(w, &w->caller, bye, 200, "caller-1", "", "");
	assert_int_equal(d->ended, 1);
	assert_string_equal(rec_trail(d, asid, trail, sizeof(trail), &last),
	                    "ringing,in-progress,completed");
	assert_string_equal(last.hung_up_by, "edge");
	cw_assert_all_gone(w);
}

/* Both targets refuse (503 and 486, one path each): the busy one speaks for the dial. */
static void all_fail(struct dial_world *d, char sid1[35], char sid2[35])
{
	struct call_world *w = &d->w;
	struct sip_msg *inv1, *inv2;

	cw_caller_invite(w, SDP_A);
	inv1 = cw_take(w, &d->t[0], "INVITE", 0);
	inv2 = cw_take(w, &d->t[1], "INVITE", 0);
	leg_sid(inv1, sid1);
	leg_sid(inv2, sid2);
	cw_reply(w, &d->t[1], inv2, 503, "t2", "Retry-After: 30\r\n", "");
	cw_take(w, &d->t[1], "ACK", 0);
	/* One path only: no new INVITE, and the dial waits for target 1. */
	assert_null(cw_find(w, &d->t[1], "INVITE", 0, false));
	assert_int_equal(d->ndone, 0);
	assert_null(cw_find(w, &w->caller, NULL, 503, false));
	cw_reply(w, &d->t[0], inv1, 486, "t1", "X-Reason: busy-here\r\n", "");
	cw_take(w, &d->t[0], "ACK", 0);
}

static void test_all_fail_busy(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	char sid1[35], sid2[35], trail[128];
	struct sip_msg *resp;

	d->finish_in_done = true;
	all_fail(d, sid1, sid2);
	assert_int_equal(d->ndone, 1);
	assert_int_equal(d->res.status, CALL_DIAL_BUSY);
	assert_int_equal(d->res.sip_status, 486);
	assert_string_equal(d->res_sid, sid1);
	assert_true(d->res_final);
	assert_string_equal(d->res_xreason, "busy-here");
	assert_string_equal(rec_trail(d, sid1, trail, sizeof(trail), NULL), "ringing,busy");
	assert_string_equal(rec_trail(d, sid2, trail, sizeof(trail), NULL), "ringing,failed");
	/* The controller finished the call from dial_done with the dial's status. */
	resp = cw_take(w, &w->caller, NULL, 486);
	assert_int_equal(d->ended, 1);
	cw_caller_ack(w, resp);
	cw_assert_all_gone(w);
}

static void test_all_fail_relay_final(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	char sid1[35], sid2[35];
	struct sip_msg *resp;
	const struct sip_hdr *x;

	d->dial.relay_final = true;
	all_fail(d, sid1, sid2);
	assert_int_equal(d->ndone, 0);
	resp = cw_take(w, &w->caller, NULL, 486);
	x = sip_msg_hdr_named(resp, SLICE("X-Reason"));
	assert_non_null(x);
	assert_true(slice_is(x->value, "busy-here"));
	assert_null(cw_find(w, &w->caller, NULL, 503, false));
	assert_int_equal(d->ended, 1);
	assert_int_equal(calls_stats(w->cs)->by_status[486], 1);
	cw_caller_ack(w, resp);
	cw_assert_all_gone(w);
}

static void test_dial_timeout(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct sip_msg *inv[2], *cancel, *resp;
	char sid[2][35], trail[128], asid[35];
	struct rec last;

	d->dial.timeout_ms = 8000;
	/* The second target's own headers (<Sip> URI ?X-...) ride on its INVITE only. */
	snprintf(d->to[1].headers, sizeof(d->to[1].headers), "X-Route: a b\r\nX-Other: 2\r\n");
	cw_caller_invite(w, SDP_A);
	snprintf(asid, sizeof(asid), "%s", call_sid(d->call));
	for (int i = 0; i < 2; i++) {
		inv[i] = cw_take(w, &d->t[i], "INVITE", 0);
		leg_sid(inv[i], sid[i]);
		cw_reply(w, &d->t[i], inv[i], 180, i ? "t2" : "t1", "", "");
	}
	assert_null(sip_msg_hdr_named(inv[0], SLICE("X-Route")));
	assert_true(slice_is(sip_msg_hdr_named(inv[1], SLICE("X-Route"))->value, "a b"));
	assert_true(slice_is(sip_msg_hdr_named(inv[1], SLICE("X-Other"))->value, "2"));
	cw_run(w, 7900);
	assert_null(cw_find(w, &d->t[0], "CANCEL", 0, false));
	assert_null(cw_find(w, &d->t[1], "CANCEL", 0, false));
	assert_int_equal(d->ndone, 0);
	cw_run(w, 200);
	assert_int_equal(d->ndone, 1);
	assert_int_equal(d->res.status, CALL_DIAL_NO_ANSWER);
	for (int i = 0; i < 2; i++) {
		cancel = cw_take(w, &d->t[i], "CANCEL", 0);
		assert_true(slice_eq(cancel->via.branch, inv[i]->via.branch));
		assert_string_equal(rec_trail(d, sid[i], trail, sizeof(trail), &last),
		                    "ringing,no-answer");
		assert_true(last.final);
		cw_reply(w, &d->t[i], cancel, 200, i ? "t2" : "t1", "", "");
		cw_reply(w, &d->t[i], inv[i], 487, i ? "t2" : "t1", "", "");
		cw_take(w, &d->t[i], "ACK", 0);
	}
	/* The caller waits for the controller, which gives up. */
	assert_null(cw_find(w, &w->caller, NULL, 408, false));
	assert_non_null(d->call);
	call_finish(d->call, 480, NULL, "nobody answered");
	resp = cw_take(w, &w->caller, NULL, 480);
	assert_string_equal(rec_trail(d, asid, trail, sizeof(trail), &last), "ringing,no-answer");
	assert_int_equal(last.sip_status, 480);
	cw_caller_ack(w, resp);
	cw_assert_all_gone(w);
}

static void test_ring_and_decline(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct sip_msg *resp;
	char trail[128], asid[35];
	struct rec last;

	d->dial_on_start = false;
	cw_caller_invite(w, SDP_A);
	assert_int_equal(d->starts, 1);
	assert_non_null(d->call);
	snprintf(asid, sizeof(asid), "%s", call_sid(d->call));
	call_ring(d->call);
	call_ring(d->call);
	assert_int_equal(cw_count(w, &w->caller, NULL, 180), 1);
	assert_int_equal(call_answer(d->call), -ENOTSUP); /* no media engine to answer with */
	assert_false(call_answered(d->call));
	call_finish(d->call, 603, "Declined By App", "rejected");
	resp = cw_take(w, &w->caller, NULL, 603);
	assert_true(slice_is(resp->reason, "Declined By App"));
	assert_true(resp->to.tag.len > 0);
	assert_null(cw_find(w, &w->caller, NULL, 200, false));
	assert_int_equal(d->ended, 1);
	assert_null(d->call);
	assert_string_equal(rec_trail(d, asid, trail, sizeof(trail), &last), "ringing,failed");
	assert_int_equal(last.sip_status, 603);
	cw_caller_ack(w, resp);
	cw_assert_all_gone(w);
}

static void test_answer_needs_offer(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct sip_msg *resp;

	d->dial_on_start = false;
	cw_caller_invite(w, "");
	assert_non_null(d->call);
	assert_int_equal(call_answer(d->call), -EPROTO);
	call_finish(d->call, 480, NULL, NULL);
	resp = cw_take(w, &w->caller, NULL, 480);
	assert_true(resp->reason.len > 0); /* the standard phrase */
	cw_caller_ack(w, resp);
	cw_assert_all_gone(w);
}

/* A challenge as a far end would send it (no opaque: it is optional). */
#define CHALLENGE(hdr, alg, nonce, extra)                                                          \
	hdr ": Digest realm=\"carrier.example\", nonce=\"" nonce "\", qop=\"auth\", "              \
	    "algorithm=" alg extra "\r\n"

/* The credentials of req (in header id) answer the challenge for user bob, password s3cret. */
static void assert_credentials(const struct sip_msg *req, enum sip_hdr_id id, enum digest_alg alg,
                               const char *nonce)
{
	const struct sip_hdr *h = sip_msg_hdr(req, id);
	struct sip_auth a;
	uint8_t ha1[DIGEST_MAX_HASH], want[DIGEST_MAX_HASH];
	char hex[2 * DIGEST_MAX_HASH + 1];
	struct digest_params prm;

	assert_non_null(h);
	assert_int_equal(sip_auth_decode(&a, h->value, NULL), 0);
	assert_true(slice_is(a.username, "bob"));
	assert_true(slice_is(a.realm, "carrier.example"));
	assert_true(slice_is(a.nonce, nonce));
	assert_true(slice_eq(a.uri, req->ruri.raw));
	assert_true(slice_is(a.qop, "auth"));
	assert_true(slice_ieq(a.algorithm, slice_cstr(digest_alg_name(alg))));
	assert_int_equal(digest_ha1(alg, SLICE("bob"), a.realm, SLICE("s3cret"), ha1), 0);
	prm = (struct digest_params){.alg = alg,
	                             .nonce = a.nonce,
	                             .nc = a.nc,
	                             .cnonce = a.cnonce,
	                             .qop = a.qop,
	                             .method = SLICE("INVITE"),
	                             .uri = a.uri};
	assert_int_equal(digest_response(&prm, ha1, want), 0);
	digest_hex(want, digest_alg_len(alg), hex);
	assert_true(slice_is(a.response, hex));
}

/* The retry of inv after a challenge: same dialog identifiers, CSeq + 1, a new branch. */
static struct sip_msg *take_retry(struct dial_world *d, const struct sip_msg *inv)
{
	struct sip_msg *again = cw_take(&d->w, &d->t[0], "INVITE", 0);
	char sid[35], sid0[35];

	assert_false(slice_eq(again->via.branch, inv->via.branch));
	assert_int_equal(again->cseq.num, inv->cseq.num + 1);
	assert_true(slice_eq(again->call_id, inv->call_id));
	assert_true(slice_eq(again->from.tag, inv->from.tag));
	assert_int_equal(again->to.tag.len, 0);
	leg_sid(inv, sid0);
	leg_sid(again, sid);
	assert_string_equal(sid, sid0);
	assert_int_equal(again->body.len, inv->body.len);
	return again;
}

static void test_far_end_challenge(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct sip_msg *inv, *again, *ack, *resp;
	char sid[35], trail[128];
	struct rec last;

	d->dial.n = 1;
	d->dial.relay_final = true;
	snprintf(d->to[0].username, sizeof(d->to[0].username), "bob");
	snprintf(d->to[0].password, sizeof(d->to[0].password), "s3cret");
	cw_caller_invite(w, SDP_A);
	inv = cw_take(w, &d->t[0], "INVITE", 0);
	leg_sid(inv, sid);
	assert_null(sip_msg_hdr(inv, SIP_HDR_AUTHORIZATION));
	cw_reply(w, &d->t[0], inv, 401, "t1",
	         CHALLENGE("WWW-Authenticate", "SHA-256", "n0nce-1", ""), "");
	ack = cw_take(w, &d->t[0], "ACK", 0); /* the transaction layer's, for the 401 */
	assert_true(slice_eq(ack->via.branch, inv->via.branch));
	again = take_retry(d, inv);
	assert_credentials(again, SIP_HDR_AUTHORIZATION, DIGEST_ALG_SHA256, "n0nce-1");
	assert_false(caller_final_sent(d));

	/* The same nonce again: the password is wrong, do not insist. */
	cw_reply(w, &d->t[0], again, 401, "t1",
	         CHALLENGE("WWW-Authenticate", "SHA-256", "n0nce-1", ""), "");
	cw_take(w, &d->t[0], "ACK", 0);
	assert_null(cw_find(w, &d->t[0], "INVITE", 0, false));
	resp = cw_take(w, &w->caller, NULL, 403); /* a challenge is not the caller's to answer */
	assert_null(sip_msg_hdr(resp, SIP_HDR_WWW_AUTHENTICATE));
	assert_string_equal(rec_trail(d, sid, trail, sizeof(trail), &last), "ringing,failed");
	assert_int_equal(last.sip_status, 401);
	cw_caller_ack(w, resp);
	cw_assert_all_gone(w);
}

/* 407 from a proxy (MD5): answered in Proxy-Authorization; the retry's 200 is bridged. */
static void test_far_end_proxy_challenge_then_answer(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct sip_msg *inv, *again, *ack, *ok, *bye;

	d->dial.n = 1;
	snprintf(d->to[0].username, sizeof(d->to[0].username), "bob");
	snprintf(d->to[0].password, sizeof(d->to[0].password), "s3cret");
	cw_caller_invite(w, SDP_A);
	inv = cw_take(w, &d->t[0], "INVITE", 0);
	cw_reply(w, &d->t[0], inv, 407, "p1",
	         CHALLENGE("Proxy-Authenticate", "MD5", "pn-1", ", opaque=\"op\""), "");
	cw_take(w, &d->t[0], "ACK", 0);
	again = take_retry(d, inv);
	assert_credentials(again, SIP_HDR_PROXY_AUTHORIZATION, DIGEST_ALG_MD5, "pn-1");
	assert_null(sip_msg_hdr(again, SIP_HDR_AUTHORIZATION));
	cw_reply(w, &d->t[0], again, 200, "t1", "", SDP_1);
	ack = cw_take(w, &d->t[0], "ACK", 0);
	assert_int_equal(ack->cseq.num, 2);
	assert_true(slice_is(ack->to.tag, "t1"));
	ok = cw_take(w, &w->caller, NULL, 200);
	assert_true(slice_is(ok->body, SDP_1));
	cw_caller_ack(w, ok);
	assert_int_equal(calls_stats(w->cs)->answered, 1);
	/* The dialog goes on from the retried INVITE's CSeq. */
	cw_caller_bye(w, ok, 2);
	cw_take(w, &w->caller, NULL, 200);
	bye = cw_take(w, &d->t[0], "BYE", 0);
	assert_int_equal(bye->cseq.num, 3);
	assert_true(slice_eq(bye->call_id, inv->call_id));
	cw_reply(w, &d->t[0], bye, 200, "t1", "", "");
	cw_assert_all_gone(w);
}

/*
 * stale=true says the nonce expired, not the password: it earns one more
 * answer, but a far end that calls every nonce stale must not get an
 * INVITE loop.
 */
static void test_far_end_stale_bounded(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct sip_msg *inv, *again;
	char nonce[16];
	int invites = 1;

	d->dial.n = 1;
	d->dial.relay_final = true;
	snprintf(d->to[0].username, sizeof(d->to[0].username), "bob");
	snprintf(d->to[0].password, sizeof(d->to[0].password), "s3cret");
	cw_caller_invite(w, SDP_A);
	inv = cw_take(w, &d->t[0], "INVITE", 0);
	cw_reply(w, &d->t[0], inv, 401, "t1", CHALLENGE("WWW-Authenticate", "SHA-256", "st-0", ""),
	         "");
	cw_take(w, &d->t[0], "ACK", 0);
	for (int i = 1; i <= 5; i++) {
		again = cw_find(w, &d->t[0], "INVITE", 0, true);
		if (!again)
			break;
		invites++;
		if (i == 2) /* the answer to the stale challenge uses its new nonce */
			assert_credentials(again, SIP_HDR_AUTHORIZATION, DIGEST_ALG_SHA256, "st-1");
		snprintf(nonce, sizeof(nonce), "st-%d", i);
		cw_inject(w, &d->t[0],
		          "SIP/2.0 401 X\r\nVia: %.*s\r\nFrom: %.*s\r\nTo: %.*s;tag=t1\r\n"
		          "Call-ID: %.*s\r\nCSeq: %u INVITE\r\n" CHALLENGE(
		              "WWW-Authenticate", "SHA-256", "%s",
		              ", stale=true") "Content-Length: 0\r\n\r\n",
		          SLICE_ARG(sip_msg_hdr(again, SIP_HDR_VIA)->value),
		          SLICE_ARG(sip_msg_hdr(again, SIP_HDR_FROM)->value),
		          SLICE_ARG(sip_msg_hdr(again, SIP_HDR_TO)->value),
		          SLICE_ARG(again->call_id), again->cseq.num, nonce);
		cw_take(w, &d->t[0], "ACK", 0);
	}
	assert_int_equal(invites, 3); /* the first, the answer, one more for stale */
	cw_caller_ack(w, cw_take(w, &w->caller, NULL, 403));
	cw_assert_all_gone(w);
}

static void test_admit_refuses(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct sip_msg *resp;

	d->admit = ADMIT_REFUSE;
	cw_caller_invite(w, SDP_A);
	resp = cw_take(w, &w->caller, NULL, 403);
	assert_true(slice_is(resp->reason, "Forbidden (admit)"));
	assert_true(slice_is(resp->to.tag, "adm-1"));
	assert_int_equal(d->starts, 0);
	assert_int_equal(d->nrecs, 0);
	assert_int_equal(calls_stats(w->cs)->started, 0);
	assert_int_equal(calls_stats(w->cs)->live_calls, 0);
	assert_null(cw_find(w, &d->t[0], "INVITE", 0, false));
	cw_caller_ack(w, resp);
	cw_assert_all_gone(w);
}

static void test_admit_ctx_lives_with_call(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct sip_msg *resp;

	d->admit = ADMIT_CTX;
	d->dial_on_start = false;
	cw_caller_invite(w, SDP_A);
	assert_int_equal(d->starts, 1);
	assert_non_null(d->ctx);
	assert_ptr_equal(call_ctx(d->call), d->ctx);
	cw_run(w, 1000);
	assert_int_equal(d->ctx_freed, 0);
	call_finish(d->call, 486, NULL, "busy");
	assert_int_equal(d->ended, 1);
	resp = cw_take(w, &w->caller, NULL, 486);
	cw_caller_ack(w, resp);
	cw_assert_all_gone(w);
	assert_int_equal(d->ctx_freed, 1);
}

/* The next INVITE sent to `to` that is not of the dialog call_id (its retransmissions). */
static struct sip_msg *take_invite_other_than(struct dial_world *d, const struct tp_peer *to,
                                              struct slice call_id)
{
	struct sip_msg *m;

	while ((m = cw_find(&d->w, to, "INVITE", 0, true)) != NULL) {
		if (!slice_eq(m->call_id, call_id))
			return m;
	}
	fail_msg("no new INVITE");
	return NULL;
}

/*
 * Path 1 said nothing in time, path 2 rings; then path 1 answers after all:
 * that 2xx is ACKed and hung up on, and the fork goes on with path 2.
 */
static void test_late_2xx_on_abandoned_path(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct sip_msg *inv1, *inv2, *bye, *ok;

	d->dial.n = 1;
	d->to[0].t.nhops = 2;
	d->to[0].t.hop_timeout_ms = 2000;
	cw_caller_invite(w, SDP_A);
	inv1 = cw_take(w, &d->t[0], "INVITE", 0);
	cw_run(w, 2100);
	inv2 = take_invite_other_than(d, &d->t[0], inv1->call_id);
	assert_int_equal(calls_stats(w->cs)->failovers, 1);
	cw_reply(w, &d->t[0], inv2, 180, "p2", "", "");
	cw_take(w, &w->caller, NULL, 180);

	cw_reply(w, &d->t[0], inv1, 200, "p1", "", SDP_1);
	assert_true(slice_eq(cw_take(w, &d->t[0], "ACK", 0)->call_id, inv1->call_id));
	bye = cw_take(w, &d->t[0], "BYE", 0);
	assert_true(slice_eq(bye->call_id, inv1->call_id));
	cw_reply(w, &d->t[0], bye, 200, "p1", "", "");
	assert_false(caller_final_sent(d));

	cw_reply(w, &d->t[0], inv2, 200, "p2", "", SDP_2);
	assert_true(slice_eq(cw_take(w, &d->t[0], "ACK", 0)->call_id, inv2->call_id));
	ok = cw_take(w, &w->caller, NULL, 200);
	assert_true(slice_is(ok->body, SDP_2));
	cw_caller_ack(w, ok);
	cw_caller_bye(w, ok, 2);
	cw_take(w, &w->caller, NULL, 200);
	bye = cw_take(w, &d->t[0], "BYE", 0); /* the bridged path still gets its BYE */
	assert_true(slice_eq(bye->call_id, inv2->call_id));
	assert_true(slice_is(bye->to.tag, "p2"));
	cw_reply(w, &d->t[0], bye, 200, "p2", "", "");
	cw_assert_all_gone(w);
}

/*
 * <Dial callerId timeLimit>: the dialled leg's From is the caller id, and
 * the bridge ends with a BYE to the callee when the limit runs out: the dial
 * is complete and the caller stays for the controller.
 */
static void test_caller_id_and_time_limit(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct sip_msg *inv, *ok, *bye;

	d->dial.n = 1;
	d->dial.caller_id = "sip:+15005550100@edge.example";
	d->dial.time_limit_ms = 3000;
	cw_caller_invite(w, SDP_A);
	inv = cw_take(w, &d->t[0], "INVITE", 0);
	assert_true(slice_is(inv->from.uri.raw, "sip:+15005550100@edge.example"));
	assert_true(inv->from.tag.len > 0);
	cw_reply(w, &d->t[0], inv, 200, "t1", "", SDP_1);
	cw_take(w, &d->t[0], "ACK", 0);
	ok = cw_take(w, &w->caller, NULL, 200);
	cw_caller_ack(w, ok);
	cw_run(w, 2900);
	assert_null(cw_find(w, &d->t[0], "BYE", 0, false));
	assert_int_equal(d->ndone, 0);
	cw_run(w, 200);
	bye = cw_take(w, &d->t[0], "BYE", 0);
	assert_true(slice_eq(bye->call_id, inv->call_id));
	cw_reply(w, &d->t[0], bye, 200, "t1", "", "");
	assert_int_equal(d->ndone, 1);
	assert_int_equal(d->res.status, CALL_DIAL_COMPLETED);
	assert_int_equal(d->res.duration_s, 3);
	assert_null(cw_find(w, &w->caller, "BYE", 0, false));
	call_finish(d->call, 200, NULL, "application hung up");
	bye = cw_take(w, &w->caller, "BYE", 0);
	cw_reply(w, &w->caller, bye, 200, "caller-1", "", "");
	cw_run(w, 40000);
	cw_assert_all_gone(w);
}

/* ------------------------------------------------ with a media engine */

/* A message's body as a C string (bodies are not NUL-terminated). */
static void body_str(const struct sip_msg *m, char *out, size_t cap)
{
	assert_true(m->body.len < cap);
	memcpy(out, m->body.p, m->body.len);
	out[m->body.len] = '\0';
}

static struct media *media_world(void)
{
	struct media *m;
	struct media_conf mc;
	struct sockaddr_storage a = {0};
	struct sockaddr_in *in = (struct sockaddr_in *)&a;
	/* A range of its own per run, away from other tests' sockets. */
	uint16_t lo = (uint16_t)(40000 + (getpid() % 500) * 20);

	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	media_conf_default(&mc);
	assert_int_equal(media_alloc(&m, &mc), 0);
	assert_int_equal(media_pool_add(m, "inbound", &a, 1, lo, lo + 9), 0);
	assert_int_equal(media_pool_add(m, "carrier", &a, 1, lo + 10, lo + 19), 0);
	return m;
}

#define SDP_OFFER_0_8                                                                              \
	"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"              \
	"m=audio 4000 RTP/AVP 0 8\r\n"
#define SDP_ANSWER_8                                                                               \
	"v=0\r\no=- 2 1 IN IP4 198.51.100.21\r\ns=-\r\nc=IN IP4 198.51.100.21\r\nt=0 0\r\n"        \
	"m=audio 5000 RTP/AVP 8\r\n"

/*
 * The edge answers the caller before it dials (TwiML <Dial> without
 * answerOnBridge): its 200 lists the caller's formats on the edge's own
 * port.  The callee then accepts only PCMA, not the PCMU the caller sends
 * first: once the caller has ACKed, it gets a re-INVITE with the callee's
 * format on the same edge port, so no one gets media it did not agree to.
 */
static void test_early_answer_reoffers_callee_formats(void **state)
{
	struct dial_world *d = *state;
	struct call_world *w = &d->w;
	struct media *m = media_world();
	struct sip_msg *ok, *inv, *reinv;
	struct calls_conf cc;
	struct call_ctl ctl = {.start = start_h,
	                       .dial_done = dial_done_h,
	                       .record = record_h,
	                       .ended = ended_h,
	                       .arg = d};
	char okb[1024], invb[1024], reb[1024];
	const char *port;

	cw_fini(w);
	calls_conf_default(&cc);
	cc.media = m;
	cw_init(w, &cc, &ctl);
	d->dial.n = 1;
	d->answer_first = true;
	cw_caller_invite(w, SDP_OFFER_0_8);
	ok = cw_take(w, &w->caller, NULL, 200);
	body_str(ok, okb, sizeof(okb));
	assert_non_null(strstr(okb, "c=IN IP4 127.0.0.1"));
	port = strstr(okb, "m=audio ");
	assert_non_null(port);
	assert_non_null(strstr(port, " RTP/AVP 0 8\r\n"));
	inv = cw_take(w, &d->t[0], "INVITE", 0);
	body_str(inv, invb, sizeof(invb));
	assert_non_null(strstr(invb, " RTP/AVP 0 8\r\n"));
	assert_null(strstr(invb, "192.0.2.10")); /* the caller's address never leaves */

	/* The callee answers before the caller's ACK came: the re-offer waits for it. */
	cw_reply(w, &d->t[0], inv, 200, "t1", "", SDP_ANSWER_8);
	cw_take(w, &d->t[0], "ACK", 0);
	assert_null(cw_find(w, &w->caller, "INVITE", 0, false));
	cw_caller_ack(w, ok);
	reinv = cw_take(w, &w->caller, "INVITE", 0);
	body_str(reinv, reb, sizeof(reb));
	assert_non_null(strstr(reb, " RTP/AVP 8\r\n"));
	/* Same edge port as in the 200: only the formats change (and o= goes up). */
	assert_non_null(strstr(reb, "m=audio "));
	assert_memory_equal(strstr(reb, "m=audio "), port, 14);
	assert_true(reinv->cseq.num >= 1 && reinv->to.tag.len && reinv->from.tag.len);
	cw_reply(w, &w->caller, reinv, 200, "", "", SDP_OFFER_0_8);
	assert_non_null(cw_take(w, &w->caller, "ACK", 0));
	assert_true(call_answered(d->call));

	call_finish(d->call, 200, NULL, "test over");
	cw_reply(w, &w->caller, cw_take(w, &w->caller, "BYE", 0), 200, "", "", "");
	cw_reply(w, &d->t[0], cw_take(w, &d->t[0], "BYE", 0), 200, "t1", "", "");
	cw_run(w, 40000);
	cw_assert_all_gone(w);
	cw_fini(w);
	media_free(m);
	cw_init(w, &cc, &ctl); /* teardown's cw_fini finds a world */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_parallel_first_answer_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_fail_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_fail_relay_final, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dial_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ring_and_decline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answer_needs_offer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_far_end_challenge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_far_end_proxy_challenge_then_answer, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_far_end_stale_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admit_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admit_ctx_lives_with_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_late_2xx_on_abandoned_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_caller_id_and_time_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_early_answer_reoffers_callee_formats, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
