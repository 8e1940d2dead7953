/* Unit tests: the B2BUA over a fake network and a manual clock (timers, glare, refresh). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "call/call.h"

/* ------------------------------------------------------------ harness */

#define MAX_SENT 64

struct sent {
	struct tp_peer dst;
	struct sip_msg *msg;
	bool taken;
};

struct world {
	struct tmr_heap heap;
	struct txns *tl;
	struct calls *cs;
	struct sent sent[MAX_SENT];
	size_t nsent;
	struct tp_peer caller, callee;
	int cseq;
	size_t paths; /* gateway paths the route offers (their sockets are NULL here) */
};

static struct tp_peer peer_v4(const char *ip, uint16_t port)
{
	struct tp_peer p = {.proto = TP_UDP};
	struct sockaddr_in *in = (struct sockaddr_in *)&p.addr;

	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	inet_pton(AF_INET, ip, &in->sin_addr);
	return p;
}

static void record(struct world *w, const struct tp_peer *dst, const char *p, size_t len)
{
	char *copy = mem_alloc(len, NULL);
	struct sip_msg *m = NULL;

	memcpy(copy, p, len);
	if (sip_msg_decode(&m, copy, len, copy, NULL, NULL))
		fail_msg("the edge sent a message it cannot parse back:\n%.*s", (int)len, p);
	mem_deref(copy);
	assert_true(w->nsent < MAX_SENT);
	w->sent[w->nsent].dst = *dst;
	w->sent[w->nsent++].msg = m;
}

static int io_send(void *ctx, const struct tp_peer *dst, const char *p, size_t len, tp_fail_h *fail,
                   void *arg)
{
	(void)fail;
	(void)arg;
	record(ctx, dst, p, len);
	return 0;
}

static int io_send_response(void *ctx, const struct sip_msg *req, const struct tp_peer *src,
                            const char *p, size_t len)
{
	(void)req;
	record(ctx, src, p, len);
	return 0;
}

/* Static route: everything to the callee. */
static int route_h(void *arg, struct call *call, const struct sip_msg *inv,
                   const struct tp_peer *src)
{
	struct world *w = arg;
	struct call_dial_target d = {
	    .t = {.dst = w->callee, .nhops = w->paths, .hop_timeout_ms = 4000}};

	(void)inv;
	(void)src;
	snprintf(d.t.uri, sizeof(d.t.uri), "sip:bob@198.51.100.20:5080");
	return call_dial(call, &(struct call_dial){.to = &d, .n = 1, .relay_final = true});
}

static int setup(void **state)
{
	static struct world w;
	struct calls_conf cc;
	struct txn_conf xc;
	struct txn_tu tu;
	struct txn_io io = {.send = io_send, .send_response = io_send_response, .ctx = &w};

	memset(&w, 0, sizeof(w));
	tmr_heap_init(&w.heap, 1000000);
	calls_conf_default(&cc);
	cc.ring_timeout_ms = 20000;
	cc.session_expires_s = 1800;
	txn_conf_default(&xc);
	assert_int_equal(
	    calls_alloc(&w.cs, &w.heap, &io, &cc, &(struct call_ctl){.start = route_h, .arg = &w}),
	    0);
	calls_tu(w.cs, &tu);
	assert_int_equal(txns_alloc(&w.tl, &w.heap, &xc, &io, &tu), 0);
	calls_set_txns(w.cs, w.tl);
	w.paths = 1;
	w.caller = peer_v4("192.0.2.10", 5062);
	w.callee = peer_v4("198.51.100.20", 5080);
	*state = &w;
	return 0;
}

static void run_until(struct world *w, uint64_t ms)
{
	tmr_heap_run(&w->heap, w->heap.now + ms);
}

static int teardown(void **state)
{
	struct world *w = *state;

	calls_free(w->cs);
	txns_free(w->tl);
	/* Everything must be gone: no call, dialog or transaction left behind. */
	for (size_t i = 0; i < w->nsent; i++)
		mem_deref(w->sent[i].msg);
	tmr_heap_fini(&w->heap);
	return 0;
}

static void inject(struct world *w, const struct tp_peer *from, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void inject(struct world *w, const struct tp_peer *from, const char *fmt, ...)
{
	char text[4096], *copy;
	struct sip_msg *m = NULL;
	struct sip_perr err;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	copy = mem_alloc((size_t)n, NULL);
	memcpy(copy, text, (size_t)n);
	if (sip_msg_decode(&m, copy, (size_t)n, copy, NULL, &err))
		fail_msg("test message does not parse: %s\n%s", err.what, text);
	mem_deref(copy);
	txns_recv(w->tl, m, from);
	mem_deref(m);
}

/* The first message not yet taken that the edge sent to `to` and that is the
 * request `method` or the response `status` (0: any); fails when there is none. */
static struct sip_msg *take(struct world *w, const struct tp_peer *to, const char *method,
                            uint16_t status)
{
	for (size_t i = 0; i < w->nsent; i++) {
		struct sip_msg *m = w->sent[i].msg;

		if (w->sent[i].taken ||
		    memcmp(&w->sent[i].dst.addr, &to->addr, sizeof(struct sockaddr_in)))
			continue;
		if (method ? (m->req && slice_eq(m->method, slice_cstr(method)))
		           : (!m->req && (!status || m->status == status))) {
			w->sent[i].taken = true;
			return m;
		}
	}
	fail_msg("the edge sent no %s %u", method ? method : "response", status);
	return NULL;
}

static bool sent_any(struct world *w, const struct tp_peer *to, const char *method)
{
	for (size_t i = 0; i < w->nsent; i++) {
		struct sip_msg *m = w->sent[i].msg;

		if (!w->sent[i].taken &&
		    !memcmp(&w->sent[i].dst.addr, &to->addr, sizeof(struct sockaddr_in)) &&
		    m->req && slice_eq(m->method, slice_cstr(method)))
			return true;
	}
	return false;
}

#define SDP                                                                                        \
	"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"              \
	"m=audio 4000 RTP/AVP 0\r\n"

/* Answers a request the edge sent to the callee, with the callee's tag. */
static void callee_reply(struct world *w, const struct sip_msg *req, uint16_t status,
                         const char *extra, const char *body)
{
	const struct sip_hdr *via = sip_msg_hdr(req, SIP_HDR_VIA);

	inject(w, &w->callee,
	       "SIP/2.0 %u X\r\nVia: %.*s\r\nFrom: %.*s\r\nTo: %.*s%s\r\nCall-ID: %.*s\r\n"
	       "CSeq: %u %.*s\r\nContact: <sip:bob@198.51.100.20:5080>\r\n%s"
	       "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
	       status, SLICE_ARG(via->value), SLICE_ARG(sip_msg_hdr(req, SIP_HDR_FROM)->value),
	       SLICE_ARG(sip_msg_hdr(req, SIP_HDR_TO)->value),
	       req->to.tag.len ? "" : ";tag=callee-1", SLICE_ARG(req->call_id), req->cseq.num,
	       SLICE_ARG(req->cseq.method), extra, strlen(body), body);
}

static void caller_invite(struct world *w)
{
	inject(w, &w->caller,
	       "INVITE sip:bob@127.0.1.64 SIP/2.0\r\n"
	       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKc1;rport\r\n"
	       "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=caller-1\r\n"
	       "To: <sip:bob@example.net>\r\nCall-ID: call-1\r\nCSeq: 1 INVITE\r\n"
	       "Contact: <sip:alice@192.0.2.10:5062>\r\nX-Customer: 42\r\n"
	       "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
	       strlen(SDP), SDP);
}

/* Caller INVITE -> outbound INVITE -> 180 -> 200 (extra headers) -> ACKs. */
static struct sip_msg *answered_call(struct world *w, const char *ok_extra)
{
	struct sip_msg *inv, *ok;
	const struct sip_hdr *h;

	caller_invite(w);
	inv = take(w, &w->callee, "INVITE", 0);
	h = sip_msg_hdr_named(inv, SLICE("X-Twilio-CallSid"));
	assert_non_null(h);
	assert_int_equal(h->value.len, 34);
	assert_non_null(sip_msg_hdr_named(inv, SLICE("X-Customer")));
	assert_int_equal(inv->max_forwards, 69);
	callee_reply(w, inv, 180, "", "");
	take(w, &w->caller, NULL, 180);
	callee_reply(w, inv, 200, ok_extra, SDP);
	take(w, &w->callee, "ACK", 0);
	ok = take(w, &w->caller, NULL, 200);
	assert_true(ok->to.tag.len > 0);
	inject(
	    w, &w->caller,
	    "ACK sip:127.0.1.64 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKa1\r\n"
	    "From: <sip:alice@example.com>;tag=caller-1\r\nTo: <sip:bob@example.net>;tag=%.*s\r\n"
	    "Call-ID: call-1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
	    SLICE_ARG(ok->to.tag));
	assert_int_equal(calls_stats(w->cs)->answered, 1);
	w->cseq = 1;
	return ok;
}

static void assert_all_gone(struct world *w)
{
	run_until(w, 64 * 500 + 1000); /* let every transaction and linger end */
	assert_int_equal(calls_stats(w->cs)->live_calls, 0);
	assert_int_equal(calls_stats(w->cs)->live_dialogs, 0);
	assert_int_equal(txns_stats(w->tl)->live, 0);
}

/* ------------------------------------------------------------- tests */

static void test_basic_call_and_bye(void **state)
{
	struct world *w = *state;
	struct sip_msg *ok = answered_call(w, ""), *bye;

	inject(
	    w, &w->caller,
	    "BYE sip:127.0.1.64 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKb1\r\n"
	    "From: <sip:alice@example.com>;tag=caller-1\r\nTo: <sip:bob@example.net>;tag=%.*s\r\n"
	    "Call-ID: call-1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
	    SLICE_ARG(ok->to.tag));
	take(w, &w->caller, NULL, 200);
	bye = take(w, &w->callee, "BYE", 0);
	assert_true(slice_eq(bye->to.tag, SLICE("callee-1")));
	callee_reply(w, bye, 200, "", "");
	assert_all_gone(w);
}

static void test_ring_timeout(void **state)
{
	struct world *w = *state;
	struct sip_msg *inv, *cancel;

	caller_invite(w);
	inv = take(w, &w->callee, "INVITE", 0);
	callee_reply(w, inv, 180, "", "");
	take(w, &w->caller, NULL, 180);
	run_until(w, 19000);
	assert_false(sent_any(w, &w->callee, "CANCEL"));
	run_until(w, 1500);
	take(w, &w->caller, NULL, 408);
	cancel = take(w, &w->callee, "CANCEL", 0);
	callee_reply(w, cancel, 200, "", "");
	callee_reply(w, inv, 487, "", "");
	take(w, &w->callee, "ACK", 0); /* the transaction layer ACKs the 487 */
	assert_int_equal(calls_stats(w->cs)->by_status[408], 1);
	assert_all_gone(w);
}

static void test_session_timer_observer(void **state)
{
	struct world *w = *state;

	answered_call(w, "Session-Expires: 90;refresher=uac\r\n");
	run_until(w, 89000);
	assert_false(sent_any(w, &w->callee, "BYE"));
	run_until(w, 2000); /* no refresh came: both legs get BYE */
	take(w, &w->caller, "BYE", 0);
	take(w, &w->callee, "BYE", 0);
	assert_false(sent_any(w, &w->callee, "UPDATE")); /* observer, not refresher */
}

static void test_session_refresher(void **state)
{
	struct world *w = *state;
	struct sip_msg *up;

	answered_call(w, ""); /* no Session-Expires: the edge refreshes */
	run_until(w, 900 * 1000);
	up = take(w, &w->callee, "UPDATE", 0);
	assert_non_null(sip_msg_hdr(up, SIP_HDR_SESSION_EXPIRES));
	callee_reply(w, up, 200, "", "");
	take(w, &w->caller, "UPDATE", 0); /* the caller gets one too (left unanswered) */
	run_until(w, 64 * 500 + 10);      /* its transaction times out: the call ends */
	take(w, &w->callee, "BYE", 0);
	assert_int_equal(calls_stats(w->cs)->ended, 1);
}

static void test_reinvite_glare(void **state)
{
	struct world *w = *state;
	struct sip_msg *ok = answered_call(w, ""), *reinv;

	inject(
	    w, &w->caller,
	    "INVITE sip:127.0.1.64 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKr1\r\n"
	    "From: <sip:alice@example.com>;tag=caller-1\r\nTo: <sip:bob@example.net>;tag=%.*s\r\n"
	    "Call-ID: call-1\r\nCSeq: 2 INVITE\r\nContact: <sip:alice@192.0.2.10:5062>\r\n"
	    "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
	    SLICE_ARG(ok->to.tag), strlen(SDP), SDP);
	reinv = take(w, &w->callee, "INVITE", 0);
	assert_true(slice_eq(reinv->to.tag, SLICE("callee-1")));
	/* The callee's own re-INVITE crosses ours: 491 */
	inject(
	    w, &w->callee,
	    "INVITE sip:%.*s SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.20:5080;branch=z9hG4bKg1\r\n"
	    "From: <sip:bob@198.51.100.20:5080>;tag=callee-1\r\nTo: %.*s\r\nCall-ID: %.*s\r\n"
	    "CSeq: 9 INVITE\r\nContact: <sip:bob@198.51.100.20:5080>\r\nContent-Length: 0\r\n\r\n",
	    SLICE_ARG(reinv->from.uri.raw), SLICE_ARG(sip_msg_hdr(reinv, SIP_HDR_FROM)->value),
	    SLICE_ARG(reinv->call_id));
	take(w, &w->callee, NULL, 491);
	callee_reply(w, reinv, 200, "", SDP);
	take(w, &w->callee, "ACK", 0);
	take(w, &w->caller, NULL, 200);
}

static void test_cancel_crossing_2xx(void **state)
{
	struct world *w = *state;
	struct sip_msg *inv, *cancel;

	caller_invite(w);
	inv = take(w, &w->callee, "INVITE", 0);
	callee_reply(w, inv, 180, "", "");
	take(w, &w->caller, NULL, 180);
	inject(w, &w->caller,
	       "CANCEL sip:bob@127.0.1.64 SIP/2.0\r\n"
	       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKc1;rport\r\n"
	       "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=caller-1\r\n"
	       "To: <sip:bob@example.net>\r\nCall-ID: call-1\r\nCSeq: 1 CANCEL\r\n"
	       "Content-Length: 0\r\n\r\n");
	take(w, &w->caller, NULL, 200); /* the CANCEL itself */
	take(w, &w->caller, NULL, 487); /* the INVITE */
	cancel = take(w, &w->callee, "CANCEL", 0);
	/* The callee answered before it saw the CANCEL */
	callee_reply(w, inv, 200, "", SDP);
	callee_reply(w, cancel, 481, "", "");
	take(w, &w->callee, "ACK", 0);
	take(w, &w->callee, "BYE", 0);
	assert_int_equal(calls_stats(w->cs)->by_status[487], 1);
	assert_int_equal(calls_stats(w->cs)->answered, 0);
}

/* The next INVITE to the callee that is a new transaction, not a retransmission of prev. */
static struct sip_msg *take_new_invite(struct world *w, const struct sip_msg *prev)
{
	for (;;) {
		struct sip_msg *m = take(w, &w->callee, "INVITE", 0);

		if (!slice_eq(m->via.branch, prev->via.branch))
			return m;
	}
}

static void test_failover(void **state)
{
	struct world *w = *state;
	struct sip_msg *inv1, *inv2, *inv3;

	w->paths = 3;
	caller_invite(w);
	inv1 = take(w, &w->callee, "INVITE", 0);
	run_until(w, 3900);
	assert_int_equal(calls_stats(w->cs)->failovers, 0); /* still waiting on path 1 */
	run_until(w, 200);                                  /* 4 s without a word: path 2 */
	inv2 = take_new_invite(w, inv1);
	assert_false(slice_eq(inv2->call_id, inv1->call_id));
	callee_reply(w, inv2, 503, "", ""); /* path 2 refuses: path 3 */
	take(w, &w->callee, "ACK", 0);
	inv3 = take_new_invite(w, inv2);
	callee_reply(w, inv3, 200, "", SDP);
	take(w, &w->caller, NULL, 200);
	assert_int_equal(calls_stats(w->cs)->failovers, 2);
	assert_int_equal(calls_stats(w->cs)->answered, 1);
}

static void test_no_path_left(void **state)
{
	struct world *w = *state;
	struct sip_msg *inv;

	w->paths = 2;
	caller_invite(w);
	inv = take(w, &w->callee, "INVITE", 0);
	callee_reply(w, inv, 503, "", "");
	inv = take_new_invite(w, inv);
	callee_reply(w, inv, 503, "", ""); /* the last path refuses too: the caller gets it */
	take(w, &w->caller, NULL, 503);
	assert_int_equal(calls_stats(w->cs)->failovers, 1);
}

/* RFC 5407 3.1.2: the callee's re-INVITE waits until the caller has ACKed our 2xx. */
static void test_reinvite_held_until_ack(void **state)
{
	struct world *w = *state;
	struct sip_msg *inv, *ok, *reinv;

	caller_invite(w);
	inv = take(w, &w->callee, "INVITE", 0);
	callee_reply(w, inv, 200, "", SDP);
	take(w, &w->callee, "ACK", 0);
	ok = take(w, &w->caller, NULL, 200);
	/* The callee re-INVITEs at once; the caller has not ACKed (its 200 was lost). */
	inject(w, &w->callee,
	       "INVITE sip:%.*s SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.20:5080;branch=z9hG4bKh1\r\n"
	       "From: <sip:bob@198.51.100.20:5080>;tag=callee-1\r\nTo: %.*s\r\nCall-ID: %.*s\r\n"
	       "CSeq: 9 INVITE\r\nContact: <sip:bob@198.51.100.20:5080>\r\n"
	       "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
	       SLICE_ARG(inv->from.uri.raw), SLICE_ARG(sip_msg_hdr(inv, SIP_HDR_FROM)->value),
	       SLICE_ARG(inv->call_id), strlen(SDP), SDP);
	assert_false(sent_any(w, &w->caller, "INVITE"));
	inject(
	    w, &w->caller,
	    "ACK sip:127.0.1.64 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKa1\r\n"
	    "From: <sip:alice@example.com>;tag=caller-1\r\nTo: <sip:bob@example.net>;tag=%.*s\r\n"
	    "Call-ID: call-1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
	    SLICE_ARG(ok->to.tag));
	reinv = take(w, &w->caller, "INVITE", 0); /* now relayed */
	assert_true(slice_eq(reinv->from.tag, ok->to.tag));
	assert_int_equal(reinv->body.len, strlen(SDP));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_basic_call_and_bye, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ring_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_timer_observer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_refresher, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reinvite_glare, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_crossing_2xx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failover, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_path_left, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reinvite_held_until_ack, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
