/* Unit tests for src/txn: RFC 3261 17 state machines, timers, matching, CANCEL, ACK, RFC 6026. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "txn/txn.h"

#define T1 500u
#define T2 4000u
#define T4 5000u

/* One message the layer handed to the fake transport, decoded for assertions. */
struct sent {
	struct sip_msg *m;
	bool resp_path; /* through send_response */
	uint64_t at;
};

struct fx {
	struct tmr_heap heap;
	struct txns *tl;
	uint64_t now;
	struct sent *out;
	size_t nout, cap;
	int send_ret;  /* what io->send returns */
	int fail_sync; /* io->send calls fail_cb(arg, fail_sync) before returning */
	tp_fail_h *fail_cb;
	void *fail_arg;
	/* what the TU saw */
	int nreq, nreq_null, nno_ack, ncancel, nstray;
	struct txn *st, *ack_st;
	uint16_t reply_on_cancel, reply_in_request;
	bool no_keep;
	int nresp;
	int resp[64]; /* status, or the negative error (a ring past 64) */
	bool detach_in_rh, deref_in_rh;
	struct txn *refs[4096];
	size_t nrefs;
};

static struct sip_msg *decode(const char *p, size_t len)
{
	char *own = mem_alloc(len + 1, NULL);
	struct sip_msg *m = NULL;
	struct sip_perr perr;

	assert_non_null(own);
	memcpy(own, p, len);
	assert_int_equal(sip_msg_decode(&m, own, len, own, NULL, &perr), 0);
	mem_deref(own);
	return m;
}

static void record(struct fx *f, const char *p, size_t len, bool resp_path)
{
	if (f->nout == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->out = realloc(f->out, f->cap * sizeof(*f->out));
		assert_non_null(f->out);
	}
	f->out[f->nout++] = (struct sent){decode(p, len), resp_path, f->now};
}

static int io_send(void *ctx, const struct tp_peer *dst, const char *p, size_t len,
                   tp_fail_h *fail_cb, void *arg)
{
	struct fx *f = ctx;

	(void)dst;
	if (f->send_ret)
		return f->send_ret;
	record(f, p, len, false);
	if (fail_cb) {
		f->fail_cb = fail_cb;
		f->fail_arg = arg;
		if (f->fail_sync)
			fail_cb(arg, f->fail_sync);
	}
	return 0;
}

static int io_send_response(void *ctx, const struct sip_msg *req, const struct tp_peer *src,
                            const char *p, size_t len)
{
	(void)req;
	(void)src;
	record(ctx, p, len, true);
	return 0;
}

static void keep(struct fx *f, struct txn *t)
{
	assert_true(f->nrefs < ARRAY_SIZE(f->refs));
	f->refs[f->nrefs++] = mem_ref(t);
}

static void tu_request(void *arg, struct txn *st, struct sip_msg *req, const struct tp_peer *src)
{
	struct fx *f = arg;

	(void)src;
	assert_non_null(req);
	if (!st) {
		f->nreq_null++;
		return;
	}
	f->nreq++;
	if (req->mid == SIP_METHOD_ACK) {
		f->ack_st = st;
		return;
	}
	f->st = st;
	if (f->reply_in_request)
		assert_int_equal(
		    txn_reply(st, f->reply_in_request, NULL, SLICE("in-cb"), NULL, 0, SLICE_NULL),
		    0);
	if (!f->no_keep)
		keep(f, st);
}

static void tu_no_ack(void *arg, struct txn *st)
{
	struct fx *f = arg;

	assert_non_null(st);
	f->nno_ack++;
}

static void tu_cancel(void *arg, struct txn *st, struct sip_msg *cancel)
{
	struct fx *f = arg;

	assert_int_equal(cancel->mid, SIP_METHOD_CANCEL);
	f->ncancel++;
	if (f->reply_on_cancel)
		assert_int_equal(
		    txn_reply(st, f->reply_on_cancel, NULL, SLICE_NULL, NULL, 0, SLICE_NULL), 0);
}

static void tu_stray(void *arg, struct sip_msg *resp, const struct tp_peer *src)
{
	struct fx *f = arg;

	(void)src;
	assert_int_equal(resp->status / 100, 2);
	f->nstray++;
}

static void resp_h(void *arg, struct txn *ct, struct sip_msg *resp, int err)
{
	struct fx *f = arg;

	assert_true((resp != NULL) == (err == 0));
	f->resp[f->nresp++ % ARRAY_SIZE(f->resp)] = resp ? resp->status : err;
	if (f->detach_in_rh)
		txn_detach(ct);
	if (f->deref_in_rh && resp && resp->status >= 200) {
		/* The TU frees its own reference from inside the callback. */
		for (size_t i = 0; i < f->nrefs; i++) {
			if (f->refs[i] == ct)
				f->refs[i] = mem_deref(f->refs[i]);
		}
	}
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct txn_conf conf;
	struct txn_io io = {io_send, io_send_response, f};
	struct txn_tu tu = {tu_request, tu_no_ack, tu_cancel, tu_stray, f};

	assert_non_null(f);
	txn_conf_default(&conf);
	assert_int_equal(conf.t1_ms, T1);
	assert_int_equal(conf.t2_ms, T2);
	assert_int_equal(conf.t4_ms, T4);
	tmr_heap_init(&f->heap, 0);
	assert_int_equal(txns_alloc(&f->tl, &f->heap, &conf, &io, &tu), 0);
	*state = f;
	return 0;
}

static void drop_refs(struct fx *f)
{
	for (size_t i = 0; i < f->nrefs; i++)
		f->refs[i] = mem_deref(f->refs[i]);
	f->nrefs = 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	drop_refs(f);
	/* Every test leaves the layer empty by itself: nothing live, no timer pending. */
	assert_int_equal(txns_stats(f->tl)->live, 0);
	assert_int_equal(tmr_heap_count(&f->heap), 0);
	txns_free(f->tl);
	tmr_heap_fini(&f->heap);
	for (size_t i = 0; i < f->nout; i++)
		mem_deref(f->out[i].m);
	free(f->out);
	free(f);
	return 0;
}

static void run_to(struct fx *f, uint64_t t)
{
	f->now = t;
	tmr_heap_run(&f->heap, t);
}

static uint32_t live(struct fx *f)
{
	return txns_stats(f->tl)->live;
}

static struct tp_peer peer(enum tp_proto proto)
{
	struct tp_peer p = {.proto = proto};
	struct sockaddr_in *sin = (struct sockaddr_in *)&p.addr;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(5060);
	inet_pton(AF_INET, "192.0.2.20", &sin->sin_addr);
	return p;
}

/* ------------------------------------------------------ message makers */

struct rq {
	const char *method;
	const char *branch; /* NULL: a Via without branch (RFC 2543) */
	uint32_t cseq;
	const char *cseq_method; /* NULL: method */
	const char *to_tag;
	const char *call_id;
	bool route;
};

static struct sip_msg *make_req(const struct rq *r)
{
	char via[128], to[128], cseq[64];
	struct buf b = {0};
	struct sip_msg *m;
	struct sip_edit e[8] = {
	    {SIP_EDIT_ADD, SIP_HDR_VIA, SLICE_NULL, SLICE_NULL},
	    {SIP_EDIT_ADD, SIP_HDR_MAX_FORWARDS, SLICE_NULL, SLICE("70")},
	    {SIP_EDIT_ADD, SIP_HDR_FROM, SLICE_NULL,
	     SLICE("\"Alice\" <sip:alice@192.0.2.10>;tag=ft1")},
	    {SIP_EDIT_ADD, SIP_HDR_TO, SLICE_NULL, SLICE_NULL},
	    {SIP_EDIT_ADD, SIP_HDR_CALL_ID, SLICE_NULL, SLICE_NULL},
	    {SIP_EDIT_ADD, SIP_HDR_CSEQ, SLICE_NULL, SLICE_NULL},
	    {SIP_EDIT_ADD, SIP_HDR_ROUTE, SLICE_NULL, SLICE("<sip:p1.example.org;lr>")},
	    {SIP_EDIT_ADD, SIP_HDR_ROUTE, SLICE_NULL, SLICE("<sip:p2.example.org;lr>")},
	};

	if (r->branch)
		snprintf(via, sizeof(via), "SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport",
		         r->branch);
	else
		snprintf(via, sizeof(via), "SIP/2.0/UDP 192.0.2.10:5060");
	snprintf(to, sizeof(to), "<sip:bob@192.0.2.20>%s%s", r->to_tag ? ";tag=" : "",
	         r->to_tag ? r->to_tag : "");
	snprintf(cseq, sizeof(cseq), "%u %s", (unsigned)(r->cseq ? r->cseq : 1),
	         r->cseq_method ? r->cseq_method : r->method);
	e[0].value = slice_cstr(via);
	e[3].value = slice_cstr(to);
	e[4].value = slice_cstr(r->call_id ? r->call_id : "call-1@192.0.2.10");
	e[5].value = slice_cstr(cseq);
	assert_int_equal(sip_request_build(&b, slice_cstr(r->method), SLICE("sip:bob@192.0.2.20"),
	                                   e, r->route ? 8 : 6, SLICE_NULL),
	                 0);
	m = decode(b.p, b.len);
	buf_free(&b);
	return m;
}

/* Feeds a request from the peer over proto. */
static void feed_req(struct fx *f, const struct rq *r, enum tp_proto proto)
{
	struct sip_msg *m = make_req(r);
	struct tp_peer p = peer(proto);

	txns_recv(f->tl, m, &p);
	mem_deref(m);
}

/* Feeds the peer's response to the request f->out[i]. */
static void feed_resp(struct fx *f, size_t i, uint16_t status, const char *to_tag)
{
	struct buf b = {0};
	struct sip_msg *m;
	struct tp_peer p = peer(TP_UDP);

	assert_true(i < f->nout);
	assert_int_equal(sip_response_build(&b, f->out[i].m, status, NULL,
	                                    to_tag ? slice_cstr(to_tag) : SLICE_NULL, NULL, 0,
	                                    SLICE_NULL),
	                 0);
	m = decode(b.p, b.len);
	buf_free(&b);
	txns_recv(f->tl, m, &p);
	mem_deref(m);
}

/* Starts a client transaction for a fresh request; returns it with a reference kept. */
static struct txn *start(struct fx *f, const char *method, enum tp_proto proto)
{
	char branch[32];
	struct sip_msg *m;
	struct buf b = {0};
	struct txn *ct = NULL;
	struct tp_peer p = peer(proto);
	struct rq r = {.method = method, .branch = branch, .cseq = 7, .route = true};

	txn_branch_new(branch, sizeof(branch));
	m = make_req(&r);
	assert_int_equal(buf_append_slice(&b, m->raw), 0);
	mem_deref(m);
	assert_int_equal(txn_request(&ct, f->tl, &b, &p, resp_h, f), 0);
	assert_null(b.p); /* the layer took the bytes */
	assert_non_null(ct);
	keep(f, ct);
	return ct;
}

static int reply(struct txn *st, uint16_t status, const char *tag)
{
	return txn_reply(st, status, NULL, tag ? slice_cstr(tag) : SLICE_NULL, NULL, 0, SLICE_NULL);
}

static bool same_bytes(const struct sent *a, const struct sent *b)
{
	return slice_eq(a->m->raw, b->m->raw);
}

#define assert_sent_status(f, i, code)                                                             \
	do {                                                                                       \
		assert_true((i) < (f)->nout);                                                      \
		assert_false((f)->out[i].m->req);                                                  \
		assert_int_equal((f)->out[i].m->status, code);                                     \
	} while (0)

#define assert_sent_method(f, i, mid_)                                                             \
	do {                                                                                       \
		assert_true((i) < (f)->nout);                                                      \
		assert_true((f)->out[i].m->req);                                                   \
		assert_int_equal((f)->out[i].m->mid, mid_);                                        \
	} while (0)

/* Send times of every message so far, against a table. */
static void assert_times(struct fx *f, const uint64_t *at, size_t n)
{
	assert_int_equal(f->nout, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(f->out[i].at, at[i]);
}

static void run_steps(struct fx *f, uint64_t to, uint64_t step)
{
	for (uint64_t t = f->now + step; t <= to; t += step)
		run_to(f, t);
}

static void assert_tag(const struct sip_msg *m, const char *tag)
{
	assert_true(slice_eq(m->to.tag, slice_cstr(tag)));
}

/* ------------------------------------------------------- client INVITE */

static void test_ict_timer_a_b(void **state)
{
	struct fx *f = *state;
	static const uint64_t at[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
	struct txn *ct = start(f, "INVITE", TP_UDP);

	assert_int_equal(txn_kind(ct), TXN_CLIENT_INVITE);
	assert_int_equal(txn_state(ct), TXN_CALLING);
	assert_int_equal(txn_req(ct)->mid, SIP_METHOD_INVITE);
	assert_int_equal(txn_peer(ct)->proto, TP_UDP);
	run_steps(f, 31900, 100);
	assert_times(f, at, ARRAY_SIZE(at));
	for (size_t i = 1; i < f->nout; i++)
		assert_true(same_bytes(&f->out[0], &f->out[i]));
	assert_int_equal(f->nresp, 0);
	run_to(f, 32000);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp[0], -ETIMEDOUT);
	assert_int_equal(txn_state(ct), TXN_TERMINATED);
	assert_int_equal(txns_stats(f->tl)->timeouts, 1);
	assert_int_equal(txns_stats(f->tl)->retransmissions, 6);
	assert_int_equal(txns_stats(f->tl)->created[TXN_CLIENT_INVITE], 1);
	assert_int_equal(live(f), 1); /* only our reference keeps it */
	drop_refs(f);
	assert_int_equal(live(f), 0);
}

static void test_ict_486_ack(void **state)
{
	struct fx *f = *state;
	struct txn *ct = start(f, "INVITE", TP_UDP);
	const struct sip_msg *inv = f->out[0].m, *ack;

	run_to(f, 100);
	feed_resp(f, 0, 180, "tt1");
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp[0], 180);
	assert_int_equal(txn_state(ct), TXN_PROCEEDING);
	run_steps(f, 10000, 100);
	assert_int_equal(f->nout, 1); /* no retransmission after a provisional */

	feed_resp(f, 0, 486, "tt1");
	assert_int_equal(f->nresp, 2);
	assert_int_equal(f->resp[1], 486);
	assert_int_equal(txn_state(ct), TXN_COMPLETED);
	assert_int_equal(f->nout, 2);
	assert_sent_method(f, 1, SIP_METHOD_ACK);
	ack = f->out[1].m;
	assert_true(slice_eq(ack->ruri.raw, inv->ruri.raw));
	assert_tag(ack, "tt1");
	assert_true(slice_eq(ack->from.tag, SLICE("ft1")));
	assert_true(slice_eq(ack->call_id, inv->call_id));
	assert_int_equal(ack->cseq.num, 7);
	assert_int_equal(ack->cseq.mid, SIP_METHOD_ACK);
	assert_true(slice_eq(ack->via.branch, inv->via.branch));
	assert_int_equal(sip_msg_hdr_count(ack, SIP_HDR_VIA), 1);
	assert_int_equal(sip_msg_hdr_count(ack, SIP_HDR_ROUTE), 2);
	assert_int_equal(ack->content_length, 0);
	assert_int_equal(sip_msg_check(ack, NULL), 0);

	/* The 486 again: our ACK was lost, so the same ACK again and nothing to the TU. */
	run_to(f, 11000);
	feed_resp(f, 0, 486, "tt1");
	assert_int_equal(f->nout, 3);
	assert_true(same_bytes(&f->out[1], &f->out[2]));
	assert_int_equal(f->nresp, 2);
	assert_int_equal(txns_stats(f->tl)->absorbed, 1);

	run_to(f, 10000 + 32000 - 1); /* Timer D from the first 486 */
	assert_int_equal(txn_state(ct), TXN_COMPLETED);
	run_to(f, 10000 + 32000);
	assert_int_equal(txn_state(ct), TXN_TERMINATED);
	drop_refs(f);
	assert_int_equal(live(f), 0);
}

static void test_ict_2xx_accepted(void **state)
{
	struct fx *f = *state;
	struct txn *ct = start(f, "INVITE", TP_UDP);

	run_to(f, 50);
	feed_resp(f, 0, 200, "a");
	assert_int_equal(txn_state(ct), TXN_ACCEPTED);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp[0], 200);
	assert_int_equal(f->nout, 1); /* the TU sends the ACK of a 2xx, not the layer */
	feed_resp(f, 0, 200, "a");    /* retransmission: the TU re-ACKs */
	feed_resp(f, 0, 200, "b");    /* another fork */
	assert_int_equal(f->nresp, 3);
	run_steps(f, 50 + 32000 - 100, 100);
	assert_int_equal(f->nout, 1);
	assert_int_equal(txn_state(ct), TXN_ACCEPTED);
	run_to(f, 50 + 32000); /* Timer M */
	assert_int_equal(txn_state(ct), TXN_TERMINATED);
	feed_resp(f, 0, 200, "a");
	assert_int_equal(f->nstray, 1);
	assert_int_equal(f->nresp, 3);
	feed_resp(f, 0, 486, "a");
	assert_int_equal(txns_stats(f->tl)->unmatched_responses, 1);
	drop_refs(f);
}

static void test_ict_tcp(void **state)
{
	struct fx *f = *state;
	struct txn *ct = start(f, "INVITE", TP_TCP);

	run_steps(f, 31900, 100);
	assert_int_equal(f->nout, 1);
	feed_resp(f, 0, 180, "t");
	feed_resp(f, 0, 486, "t");
	assert_int_equal(f->nout, 2);
	assert_sent_method(f, 1, SIP_METHOD_ACK);
	assert_int_equal(txn_state(ct), TXN_TERMINATED); /* Timer D is zero */
	drop_refs(f);
	assert_int_equal(live(f), 0);

	ct = start(f, "INVITE", TP_TCP);
	run_to(f, 31900 + 32000 - 1);
	assert_int_equal(f->nout, 3);
	assert_int_equal(txn_state(ct), TXN_CALLING);
	run_to(f, 31900 + 32000); /* Timer B still runs */
	assert_int_equal(f->resp[f->nresp - 1], -ETIMEDOUT);
	assert_int_equal(txns_stats(f->tl)->retransmissions, 0);
}

/* --------------------------------------------------- client non-INVITE */

static void test_nict_timer_e_f(void **state)
{
	struct fx *f = *state;
	static const uint64_t at[] = {0,     500,   1500,  3500,  7500, 11500,
	                              15500, 19500, 23500, 27500, 31500};
	struct txn *ct = start(f, "OPTIONS", TP_UDP);

	assert_int_equal(txn_kind(ct), TXN_CLIENT_NONINV);
	assert_int_equal(txn_state(ct), TXN_TRYING);
	run_steps(f, 31900, 100);
	assert_times(f, at, ARRAY_SIZE(at));
	run_to(f, 32000);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp[0], -ETIMEDOUT);
	assert_int_equal(txn_state(ct), TXN_TERMINATED);
}

static void test_nict_proceeding_k(void **state)
{
	struct fx *f = *state;
	static const uint64_t at[] = {0, 500, 1500, 5500, 9500};
	struct txn *ct = start(f, "BYE", TP_UDP);

	run_steps(f, 600, 100);
	feed_resp(f, 0, 100, NULL);
	assert_int_equal(txn_state(ct), TXN_PROCEEDING);
	assert_int_equal(f->resp[0], 100);
	run_steps(f, 9900, 100); /* in Proceeding, Timer E is T2 */
	assert_times(f, at, ARRAY_SIZE(at));
	run_to(f, 10000);
	feed_resp(f, 0, 200, "x");
	assert_int_equal(txn_state(ct), TXN_COMPLETED);
	feed_resp(f, 0, 200, "x");
	assert_int_equal(f->nresp, 2);
	assert_int_equal(txns_stats(f->tl)->absorbed, 1);
	run_steps(f, 14900, 100);
	assert_int_equal(f->nout, 5);
	assert_int_equal(txn_state(ct), TXN_COMPLETED);
	run_to(f, 15000); /* Timer K = T4 */
	assert_int_equal(txn_state(ct), TXN_TERMINATED);
	drop_refs(f);

	ct = start(f, "OPTIONS", TP_TCP);
	feed_resp(f, f->nout - 1, 200, "y");
	assert_int_equal(txn_state(ct), TXN_TERMINATED); /* K is zero */
}

/* ------------------------------------------------------- server INVITE */

static void test_ist_486_g_ack_i(void **state)
{
	struct fx *f = *state;
	static const uint64_t at[] = {0, 100, 1000, 1500, 2500, 4500, 8500, 12500};
	const struct rq inv = {"INVITE", "z9hG4bKsrv1"};
	const struct rq ack = {"ACK", "z9hG4bKsrv1", 1, "ACK", "st1"};
	struct txn *st;

	feed_req(f, &inv, TP_UDP);
	assert_int_equal(f->nreq, 1);
	st = f->st;
	assert_int_equal(txn_kind(st), TXN_SERVER_INVITE);
	assert_int_equal(txn_state(st), TXN_PROCEEDING);
	assert_int_equal(reply(st, 180, "st1"), 0);
	assert_sent_status(f, 0, 180);
	assert_tag(f->out[0].m, "st1");
	assert_true(f->out[0].resp_path);

	run_to(f, 100);
	feed_req(f, &inv, TP_UDP); /* retransmission: the last provisional again */
	assert_int_equal(f->nreq, 1);
	assert_true(same_bytes(&f->out[0], &f->out[1]));

	run_to(f, 1000);
	assert_int_equal(reply(st, 486, NULL), 0);
	assert_sent_status(f, 2, 486);
	assert_tag(f->out[2].m, "st1"); /* the tag of the 180 kept */
	assert_int_equal(txn_state(st), TXN_COMPLETED);
	assert_int_equal(reply(st, 500, NULL), -EALREADY);
	run_steps(f, 12900, 100); /* Timer G: T1, 2T1, 4T1, then T2 */
	assert_times(f, at, ARRAY_SIZE(at));

	run_to(f, 13000);
	feed_req(f, &ack, TP_UDP);
	assert_int_equal(txn_state(st), TXN_CONFIRMED);
	assert_int_equal(f->nreq, 1); /* the ACK of a non-2xx stays in the layer */
	assert_int_equal(f->nreq_null, 0);
	run_steps(f, 17900, 100);
	assert_int_equal(f->nout, ARRAY_SIZE(at));
	feed_req(f, &ack, TP_UDP);
	assert_int_equal(txns_stats(f->tl)->absorbed, 3);
	assert_int_equal(txn_state(st), TXN_CONFIRMED);
	run_to(f, 18000); /* Timer I = T4 */
	assert_int_equal(txn_state(st), TXN_TERMINATED);
}

static void test_ist_timer_h(void **state)
{
	struct fx *f = *state;
	static const uint64_t at[] = {0,     500,   1500,  3500,  7500, 11500,
	                              15500, 19500, 23500, 27500, 31500};
	struct txn *st;

	feed_req(f, &(struct rq){"INVITE", "z9hG4bKh"}, TP_UDP);
	st = f->st;
	assert_int_equal(reply(st, 486, "h1"), 0);
	run_steps(f, 31900, 100);
	assert_times(f, at, ARRAY_SIZE(at));
	assert_int_equal(txn_state(st), TXN_COMPLETED);
	run_to(f, 32000);
	assert_int_equal(txn_state(st), TXN_TERMINATED);
	assert_int_equal(f->nno_ack, 0);
}

static void test_ist_100_trying(void **state)
{
	struct fx *f = *state;
	const struct rq a = {"INVITE", "z9hG4bKa", .call_id = "a@x"};
	const struct rq b = {"INVITE", "z9hG4bKb", .call_id = "b@x"};

	feed_req(f, &a, TP_UDP);
	run_to(f, 199);
	assert_int_equal(f->nout, 0);
	run_to(f, 200); /* the TU said nothing for 200 ms */
	assert_sent_status(f, 0, 100);
	assert_int_equal(f->out[0].m->to.tag.len, 0);

	run_to(f, 1000);
	feed_req(f, &b, TP_UDP);
	run_to(f, 1100);
	feed_req(f, &b, TP_UDP); /* retransmitted before the timer: 100 at once */
	assert_int_equal(f->nout, 2);
	assert_sent_status(f, 1, 100);
	assert_true(slice_eq(f->out[1].m->call_id, SLICE("b@x")));
	run_to(f, 1300);
	assert_int_equal(f->nout, 2); /* and no second one from the timer */
	feed_req(f, &a, TP_UDP);
	assert_int_equal(f->nout, 3);
	assert_true(same_bytes(&f->out[0], &f->out[2]));

	assert_int_equal(reply(f->refs[0], 503, NULL), 0);
	assert_int_equal(reply(f->refs[1], 503, NULL), 0);
	assert_true(f->out[3].m->to.tag.len > 0); /* a final gets a tag even if the TU gave none */
	run_to(f, 1300 + 32000);
}

static void test_ist_2xx_ack(void **state)
{
	struct fx *f = *state;
	static const uint64_t at[] = {0, 500, 1500, 2000, 3500};
	const struct rq inv = {"INVITE", "z9hG4bKok"};
	const struct rq ack = {"ACK", "z9hG4bKack1", 1, "ACK", "ok1"};
	struct txn *st;

	feed_req(f, &inv, TP_UDP);
	st = f->st;
	assert_int_equal(reply(st, 200, "ok1"), 0);
	assert_int_equal(txn_state(st), TXN_ACCEPTED);
	run_steps(f, 1900, 100);
	run_to(f, 2000);
	feed_req(f, &inv, TP_UDP); /* absorbed, the 2xx sent again */
	assert_int_equal(f->nreq, 1);
	run_steps(f, 4900, 100);
	assert_times(f, at, ARRAY_SIZE(at));
	for (size_t i = 1; i < f->nout; i++)
		assert_true(same_bytes(&f->out[0], &f->out[i]));

	run_to(f, 5000);
	feed_req(f, &ack, TP_UDP);
	assert_int_equal(f->nreq, 2);
	assert_ptr_equal(f->ack_st, st);
	run_steps(f, 31900, 100);
	assert_int_equal(f->nout, ARRAY_SIZE(at)); /* the ACK stopped the retransmissions */
	feed_req(f, &inv, TP_UDP);                 /* a stale copy: absorbed silently */
	assert_int_equal(f->nout, ARRAY_SIZE(at));
	assert_int_equal(f->nreq, 2);
	feed_req(f, &ack, TP_UDP);
	assert_int_equal(f->nreq, 2);
	assert_int_equal(f->nreq_null, 1); /* later ACKs come without st */
	assert_int_equal(txn_state(st), TXN_ACCEPTED);
	run_to(f, 32000); /* Timer L */
	assert_int_equal(txn_state(st), TXN_TERMINATED);
	assert_int_equal(f->nno_ack, 0);
}

static void test_ist_2xx_no_ack(void **state)
{
	struct fx *f = *state;
	static const uint64_t at[] = {0,     500,   1500,  3500,  7500, 11500,
	                              15500, 19500, 23500, 27500, 31500};

	feed_req(f, &(struct rq){"INVITE", "z9hG4bKna"}, TP_UDP);
	assert_int_equal(reply(f->st, 200, "na"), 0);
	/* An ACK with another To tag is not ours. */
	feed_req(f, &(struct rq){"ACK", "z9hG4bKack2", 1, "ACK", "other"}, TP_UDP);
	assert_int_equal(f->nreq_null, 1);
	run_steps(f, 31900, 100);
	assert_times(f, at, ARRAY_SIZE(at));
	assert_int_equal(f->nno_ack, 0);
	run_to(f, 32000);
	assert_int_equal(f->nno_ack, 1);
	assert_int_equal(txn_state(f->st), TXN_TERMINATED);
	assert_int_equal(txns_stats(f->tl)->retransmissions, 10);

	/* Over TCP the 2xx is sent once, but the ACK is still awaited. */
	feed_req(f, &(struct rq){"INVITE", "z9hG4bKtcp"}, TP_TCP);
	assert_int_equal(reply(f->st, 200, "t"), 0);
	run_steps(f, 32000 + 31900, 100);
	assert_int_equal(f->nout, ARRAY_SIZE(at) + 1);
	run_to(f, 64000);
	assert_int_equal(f->nno_ack, 2);
}

/* --------------------------------------------------- server non-INVITE */

static void test_nist(void **state)
{
	struct fx *f = *state;
	const struct rq opt = {"OPTIONS", "z9hG4bKo1"};
	struct txn *st;

	feed_req(f, &opt, TP_UDP);
	st = f->st;
	assert_int_equal(txn_kind(st), TXN_SERVER_NONINV);
	assert_int_equal(txn_state(st), TXN_TRYING);
	run_to(f, 100);
	feed_req(f, &opt, TP_UDP); /* nothing to answer with yet */
	assert_int_equal(f->nout, 0);
	assert_int_equal(f->nreq, 1);
	assert_int_equal(reply(st, 100, NULL), 0);
	assert_int_equal(txn_state(st), TXN_PROCEEDING);
	feed_req(f, &opt, TP_UDP);
	assert_int_equal(f->nout, 2);
	assert_sent_status(f, 1, 100);
	run_to(f, 200);
	assert_int_equal(reply(st, 200, "o1"), 0);
	assert_int_equal(txn_state(st), TXN_COMPLETED);
	run_to(f, 300);
	feed_req(f, &opt, TP_UDP);
	assert_int_equal(f->nout, 4);
	assert_true(same_bytes(&f->out[2], &f->out[3]));
	assert_int_equal(txns_stats(f->tl)->absorbed, 3);
	run_to(f, 200 + 32000 - 1);
	assert_int_equal(txn_state(st), TXN_COMPLETED);
	run_to(f, 200 + 32000); /* Timer J */
	assert_int_equal(txn_state(st), TXN_TERMINATED);

	/* Over TCP J is zero; and the TU may answer from inside its callback. */
	f->reply_in_request = 200;
	feed_req(f, &(struct rq){"OPTIONS", "z9hG4bKo2"}, TP_TCP);
	assert_int_equal(txn_state(f->st), TXN_TERMINATED);
	assert_sent_status(f, 4, 200);
	assert_tag(f->out[4].m, "in-cb");
}

/* --------------------------------------------------------------- CANCEL */

static void test_cancel_server(void **state)
{
	struct fx *f = *state;
	const struct rq inv = {"INVITE", "z9hG4bKc1"};
	const struct rq cancel = {"CANCEL", "z9hG4bKc1"};
	struct txn *st;

	f->reply_on_cancel = 487;
	feed_req(f, &inv, TP_UDP);
	st = f->st;
	assert_int_equal(reply(st, 180, "c180"), 0);
	run_to(f, 100);
	feed_req(f, &cancel, TP_UDP);
	assert_int_equal(f->nreq, 1); /* CANCEL never reaches tu->request */
	assert_int_equal(f->ncancel, 1);
	assert_sent_status(f, 1, 200);
	assert_int_equal(f->out[1].m->cseq.mid, SIP_METHOD_CANCEL);
	assert_tag(f->out[1].m, "c180"); /* 9.2: the same To tag as the INVITE's responses */
	assert_sent_status(f, 2, 487);
	assert_int_equal(f->out[2].m->cseq.mid, SIP_METHOD_INVITE);
	assert_tag(f->out[2].m, "c180");
	feed_req(f, &cancel, TP_UDP); /* retransmitted CANCEL: its 200 again, nothing else */
	assert_int_equal(f->nout, 4);
	assert_true(same_bytes(&f->out[1], &f->out[3]));
	assert_int_equal(f->ncancel, 1);
	feed_req(f, &(struct rq){"ACK", "z9hG4bKc1", 1, "ACK", "c180"}, TP_UDP);
	assert_int_equal(txn_state(st), TXN_CONFIRMED);
	assert_int_equal(txns_stats(f->tl)->created[TXN_SERVER_NONINV], 1);
	run_to(f, 100 + 32000);
	assert_int_equal(live(f), 1);

	/* No INVITE to cancel: 481, with a tag. */
	feed_req(f, &(struct rq){"CANCEL", "z9hG4bKnone"}, TP_UDP);
	assert_sent_status(f, 4, 481);
	assert_true(f->out[4].m->to.tag.len > 0);
	assert_int_equal(f->ncancel, 1);

	/* Already answered: 200 to the CANCEL and nothing else. */
	feed_req(f, &(struct rq){"INVITE", "z9hG4bKc2", .call_id = "c2@x"}, TP_UDP);
	assert_int_equal(reply(f->st, 200, "c2"), 0);
	feed_req(f, &(struct rq){"CANCEL", "z9hG4bKc2", .call_id = "c2@x"}, TP_UDP);
	assert_sent_status(f, 6, 200);
	assert_int_equal(f->out[6].m->cseq.mid, SIP_METHOD_CANCEL);
	assert_tag(f->out[6].m, "c2");
	assert_int_equal(f->ncancel, 1);
	feed_req(f, &(struct rq){"ACK", "z9hG4bKc2a", 1, "ACK", "c2", "c2@x"}, TP_UDP);
	assert_int_equal(f->nreq, 3);
	run_to(f, 200 + 64000);
}

static void test_cancel_client_deferred(void **state)
{
	struct fx *f = *state;
	struct txn *ct = start(f, "INVITE", TP_UDP);
	const struct sip_msg *inv = f->out[0].m, *c;

	assert_int_equal(txn_cancel(ct), 0);
	assert_int_equal(f->nout, 1); /* no provisional yet: the CANCEL waits */
	run_to(f, 100);
	feed_resp(f, 0, 180, "r1");
	assert_int_equal(f->nout, 2);
	assert_sent_method(f, 1, SIP_METHOD_CANCEL);
	c = f->out[1].m;
	assert_true(slice_eq(c->ruri.raw, inv->ruri.raw));
	assert_true(slice_eq(c->via.branch, inv->via.branch));
	assert_int_equal(sip_msg_hdr_count(c, SIP_HDR_VIA), 1);
	assert_int_equal(sip_msg_hdr_count(c, SIP_HDR_ROUTE), 2);
	assert_int_equal(c->cseq.num, inv->cseq.num);
	assert_int_equal(c->cseq.mid, SIP_METHOD_CANCEL);
	assert_int_equal(c->to.tag.len, 0);
	assert_true(slice_eq(c->from.tag, inv->from.tag));
	assert_true(slice_eq(c->call_id, inv->call_id));
	assert_int_equal(sip_msg_check(c, NULL), 0);
	assert_int_equal(txns_stats(f->tl)->created[TXN_CLIENT_NONINV], 1);
	assert_int_equal(txn_cancel(ct), 0); /* once is enough */
	assert_int_equal(f->nout, 2);

	feed_resp(f, 1, 200, "r1"); /* the CANCEL's own 200: not for the TU */
	assert_int_equal(f->nresp, 1);
	feed_resp(f, 0, 487, "r1");
	assert_int_equal(f->nresp, 2);
	assert_int_equal(f->resp[1], 487);
	assert_sent_method(f, 2, SIP_METHOD_ACK);
	run_to(f, 100 + 32000);
	assert_int_equal(txn_state(ct), TXN_TERMINATED);
	drop_refs(f);
}

static void test_cancel_client_cases(void **state)
{
	struct fx *f = *state;
	struct txn *ct = start(f, "INVITE", TP_UDP);

	/* After a provisional: at once.  No final within 64*T1: the INVITE is given up. */
	feed_resp(f, 0, 183, "p");
	assert_int_equal(txn_cancel(ct), 0);
	assert_sent_method(f, 1, SIP_METHOD_CANCEL);
	run_to(f, 32000 - 1);
	assert_int_equal(f->nresp, 1);
	run_to(f, 32000);
	assert_int_equal(f->resp[1], -ETIMEDOUT);
	assert_int_equal(txn_state(ct), TXN_TERMINATED);
	assert_int_equal(txn_cancel(ct), -EALREADY);

	/* A final before any provisional: the pending CANCEL is dropped. */
	ct = start(f, "INVITE", TP_UDP);
	size_t first = f->nout - 1;
	assert_int_equal(txn_cancel(ct), 0);
	feed_resp(f, first, 486, "q");
	assert_int_equal(f->nout, first + 2);
	assert_sent_method(f, first + 1, SIP_METHOD_ACK);
	assert_int_equal(txn_cancel(ct), -EALREADY);
	ct = start(f, "INVITE", TP_UDP);
	first = f->nout - 1;
	assert_int_equal(txn_cancel(ct), 0);
	feed_resp(f, first, 200, "q2");
	assert_int_equal(f->nout, first + 1);
	assert_int_equal(f->resp[f->nresp - 1], 200);
	assert_int_equal(txns_stats(f->tl)->created[TXN_CLIENT_NONINV], 1);
	assert_int_equal(txn_cancel(f->refs[0]), -EALREADY);
	ct = start(f, "OPTIONS", TP_TCP);
	assert_int_equal(txn_cancel(ct), -EINVAL);
	feed_resp(f, f->nout - 1, 200, "o");
	run_to(f, 32000 + 32000);
}

/* ------------------------------------------------------------ RFC 2543 */

static void test_rfc2543_matching(void **state)
{
	struct fx *f = *state;
	const struct rq inv5 = {"INVITE", NULL, 5};
	const struct rq inv6 = {"INVITE", NULL, 6};
	const struct rq nocookie = {"INVITE", "1a2b3c", 9};
	struct txn *st5, *st6;
	struct slice tag6;

	f->reply_on_cancel = 487;
	feed_req(f, &inv5, TP_UDP);
	st5 = f->st;
	assert_int_equal(reply(st5, 180, "old"), 0);
	feed_req(f, &inv5, TP_UDP); /* matched by Request-URI, tags, Call-ID, CSeq, Via */
	assert_int_equal(f->nreq, 1);
	assert_int_equal(f->nout, 2);
	assert_true(same_bytes(&f->out[0], &f->out[1]));

	feed_req(f, &inv6, TP_UDP); /* another CSeq: another transaction */
	assert_int_equal(f->nreq, 2);
	st6 = f->st;
	assert_ptr_not_equal(st5, st6);

	assert_int_equal(reply(st5, 486, NULL), 0);
	feed_req(f, &(struct rq){"ACK", NULL, 5, "ACK", "wrong"}, TP_UDP);
	assert_int_equal(txn_state(st5), TXN_COMPLETED); /* not this response's tag */
	assert_int_equal(f->nreq_null, 1);
	feed_req(f, &(struct rq){"ACK", NULL, 5, "ACK", "old"}, TP_UDP);
	assert_int_equal(txn_state(st5), TXN_CONFIRMED);

	feed_req(f, &(struct rq){"CANCEL", NULL, 6}, TP_UDP);
	assert_int_equal(f->ncancel, 1);
	assert_sent_status(f, f->nout - 2, 200);
	assert_sent_status(f, f->nout - 1, 487);
	tag6 = f->out[f->nout - 1].m->to.tag;
	assert_true(tag6.len > 0);
	assert_true(slice_eq(f->out[f->nout - 2].m->to.tag, tag6));
	char tagbuf[64];
	snprintf(tagbuf, sizeof(tagbuf), SLICE_FMT, SLICE_ARG(tag6));
	feed_req(f, &(struct rq){"ACK", NULL, 6, "ACK", tagbuf}, TP_UDP);
	assert_int_equal(txn_state(st6), TXN_CONFIRMED);

	/* A branch without the magic cookie is no transaction id either. */
	feed_req(f, &nocookie, TP_UDP);
	feed_req(f, &nocookie, TP_UDP);
	assert_int_equal(f->nreq, 3);
	assert_int_equal(reply(f->st, 603, NULL), 0);
	run_to(f, 32000);
}

/* ---------------------------------------------------- transport failure */

static void test_transport_failure(void **state)
{
	struct fx *f = *state;
	struct txn *ct = start(f, "INVITE", TP_TCP);
	struct buf b = {0};
	struct tp_peer p = peer(TP_TCP);
	tp_fail_h *late_fail;
	void *late_arg;

	/* Connection refused after the send was queued. */
	assert_non_null(f->fail_cb);
	f->fail_cb(f->fail_arg, -ECONNREFUSED);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp[0], -ECONNREFUSED);
	assert_int_equal(txn_state(ct), TXN_TERMINATED);
	drop_refs(f);
	assert_int_equal(live(f), 0);

	/* A failure reported after the transaction ended is ignored. */
	ct = start(f, "OPTIONS", TP_TCP);
	late_fail = f->fail_cb;
	late_arg = f->fail_arg;
	feed_resp(f, f->nout - 1, 200, "x");
	drop_refs(f);
	assert_int_equal(live(f), 0);
	late_fail(late_arg, -ECONNRESET);
	assert_int_equal(f->nresp, 2);

	/* Refused at once: an error, no transaction, the bytes left with the caller. */
	assert_int_equal(buf_append_slice(&b, f->out[0].m->raw), 0);
	f->send_ret = -ENETUNREACH;
	ct = NULL;
	assert_int_equal(txn_request(&ct, f->tl, &b, &p, resp_h, f), -ENETUNREACH);
	assert_null(ct);
	assert_true(slice_eq(buf_slice(&b), f->out[0].m->raw));
	assert_int_equal(live(f), 0);
	f->send_ret = 0;

	/* fail_cb() called from inside io->send counts as refused at once. */
	f->fail_sync = -ECONNRESET;
	assert_int_equal(txn_request(&ct, f->tl, &b, &p, resp_h, f), -ECONNRESET);
	assert_null(ct);
	assert_int_equal(live(f), 0);
	f->fail_sync = 0;
	buf_free(&b);

	/* A retransmission that cannot be sent ends the transaction. */
	ct = start(f, "INVITE", TP_UDP);
	f->send_ret = -EIO;
	run_to(f, 500);
	assert_int_equal(f->resp[f->nresp - 1], -EIO);
	assert_int_equal(txn_state(ct), TXN_TERMINATED);
	f->send_ret = 0;
	drop_refs(f);
	assert_int_equal(f->nresp, 3);
}

/* -------------------------------------------------- callbacks re-enter */

static void test_reentrant_callbacks(void **state)
{
	struct fx *f = *state;
	struct txn *ct;

	/* Detach from inside rh: the layer still ACKs, the TU hears nothing more. */
	f->detach_in_rh = true;
	ct = start(f, "INVITE", TP_UDP);
	feed_resp(f, 0, 180, "d");
	f->detach_in_rh = false;
	feed_resp(f, 0, 486, "d");
	assert_int_equal(f->nresp, 1);
	assert_sent_method(f, 1, SIP_METHOD_ACK);
	assert_int_equal(txn_state(ct), TXN_COMPLETED);

	/* Detached before its 2xx: the 2xx goes to stray_2xx, where a dialog can ACK it. */
	ct = start(f, "INVITE", TP_UDP);
	txn_detach(ct);
	feed_resp(f, 2, 200, "s");
	assert_int_equal(f->nstray, 1);
	assert_int_equal(f->nresp, 1);
	drop_refs(f);

	/* The TU drops its last reference from inside rh, on a transaction that ends there. */
	f->deref_in_rh = true;
	ct = start(f, "OPTIONS", TP_TCP);
	feed_resp(f, 3, 200, "z");
	assert_null(f->refs[0]);
	f->deref_in_rh = false;
	run_to(f, 64000);
	assert_int_equal(live(f), 0);
}

static void test_server_detach(void **state)
{
	struct fx *f = *state;
	struct txn *st;

	/* Detaching without a final answers 500 so the peer is not left waiting. */
	feed_req(f, &(struct rq){"INVITE", "z9hG4bKdt"}, TP_UDP);
	st = f->st;
	txn_detach(st);
	assert_sent_status(f, 0, 500);
	assert_true(f->out[0].m->to.tag.len > 0);
	assert_int_equal(txn_state(st), TXN_COMPLETED);
	assert_int_equal(reply(st, 200, "late"), -EALREADY);

	feed_req(f, &(struct rq){"OPTIONS", "z9hG4bKdt2"}, TP_TCP);
	txn_detach(f->st);
	assert_sent_status(f, 1, 500);
	assert_int_equal(txn_state(f->st), TXN_TERMINATED);

	/* Cancelled, then left by the TU without an answer: 487, not 500. */
	feed_req(f, &(struct rq){"INVITE", "z9hG4bKdt3"}, TP_UDP);
	feed_req(f, &(struct rq){"CANCEL", "z9hG4bKdt3"}, TP_UDP);
	assert_int_equal(f->ncancel, 1);
	assert_sent_status(f, 2, 200);
	txn_detach(f->st);
	assert_sent_status(f, 3, 487);
	assert_true(slice_eq(f->out[3].m->to.tag, f->out[2].m->to.tag));
	run_to(f, 32000);
}

/* --------------------------------------------------- layer and tables */

static void test_free_with_live(void **state)
{
	struct fx *f = *state;
	struct txn_conf conf;
	struct txn_io io = {io_send, io_send_response, f};
	struct txn_tu tu = {tu_request, tu_no_ack, tu_cancel, tu_stray, f};
	tp_fail_h *fail_cb;
	void *arg;

	start(f, "INVITE", TP_TCP);
	fail_cb = f->fail_cb;
	arg = f->fail_arg;
	feed_req(f, &(struct rq){"INVITE", "z9hG4bKfree"}, TP_UDP);
	assert_int_equal(reply(f->st, 200, "f"), 0);
	assert_int_equal(live(f), 2);
	/* No callbacks, timers gone; the TU's references stay valid. */
	txns_free(f->tl);
	assert_int_equal(tmr_heap_count(&f->heap), 0);
	assert_int_equal(txn_state(f->refs[0]), TXN_TERMINATED);
	assert_int_equal(reply(f->refs[1], 200, "f"), -ESHUTDOWN);
	fail_cb(arg, -ECONNRESET); /* the layer is gone: ignored */
	assert_int_equal(f->nresp + f->nno_ack, 0);
	drop_refs(f);
	txn_conf_default(&conf);
	assert_int_equal(txns_alloc(&f->tl, &f->heap, &conf, &io, &tu), 0);
	conf.t2_ms = 1;
	assert_int_equal(txns_alloc(&(struct txns *){NULL}, &f->heap, &conf, &io, &tu), -EINVAL);
}

static void test_many(void **state)
{
	struct fx *f = *state;
	enum { N = 3000 };
	char br[N][32];

	/* Enough to grow every table several times; lookups must still find each one. */
	f->no_keep = true;
	f->reply_in_request = 200;
	for (int i = 0; i < N; i++) {
		snprintf(br[i], sizeof(br[i]), "z9hG4bKbulk%d", i);
		feed_req(f, &(struct rq){"OPTIONS", br[i], .call_id = br[i]}, TP_UDP);
	}
	assert_int_equal(live(f), N);
	for (int i = N - 1; i >= 0; i--)
		feed_req(f, &(struct rq){"OPTIONS", br[i], .call_id = br[i]}, TP_UDP);
	assert_int_equal(f->nreq, N);
	assert_int_equal(txns_stats(f->tl)->absorbed, N);
	assert_int_equal(f->nout, 2 * N);
	for (int i = 0; i < N; i++)
		assert_true(same_bytes(&f->out[i], &f->out[2 * N - 1 - i]));
	run_to(f, 32000);
	assert_int_equal(live(f), 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_branch(void **state)
{
	static char v[1000][32];
	char small[10];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		txn_branch_new(v[i], sizeof(v[i]));
		assert_int_equal(strlen(v[i]), 31);
		assert_memory_equal(v[i], "z9hG4bK", 7);
		for (size_t k = 7; k < 31; k++)
			assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			                   "0123456789-.",
			                   v[i][k]) != NULL);
	}
	qsort(v, ARRAY_SIZE(v), sizeof(v[0]), cmp_str);
	for (size_t i = 1; i < ARRAY_SIZE(v); i++)
		assert_string_not_equal(v[i - 1], v[i]);
	txn_branch_new(small, sizeof(small));
	assert_int_equal(strlen(small), 9);
	assert_memory_equal(small, "z9hG4bK", 7);
}

static void test_bad_calls(void **state)
{
	struct fx *f = *state;
	struct buf b = {0};
	struct tp_peer p = peer(TP_UDP);
	struct txn *ct = NULL;
	struct sip_msg *m;

	m = make_req(&(struct rq){"ACK", "z9hG4bKack", 1});
	buf_append_slice(&b, m->raw);
	mem_deref(m);
	assert_int_equal(txn_request(&ct, f->tl, &b, &p, resp_h, f), -EINVAL);
	buf_reset(&b);
	m = make_req(&(struct rq){"OPTIONS", "nocookie", 1});
	buf_append_slice(&b, m->raw);
	mem_deref(m);
	assert_int_equal(txn_request(&ct, f->tl, &b, &p, resp_h, f), -EINVAL);
	buf_reset(&b);
	buf_append_cstr(&b, "not SIP at all");
	assert_true(txn_request(&ct, f->tl, &b, &p, resp_h, f) < 0);
	buf_free(&b);

	ct = start(f, "OPTIONS", TP_TCP);
	assert_int_equal(buf_append_slice(&b, f->out[0].m->raw), 0);
	assert_int_equal(txn_request(&ct, f->tl, &b, &p, resp_h, f), -EEXIST);
	buf_free(&b);
	assert_int_equal(reply(f->refs[0], 200, NULL), -EINVAL);
	txn_set_owner(f->refs[0], f);
	assert_ptr_equal(txn_owner(f->refs[0]), f);
	feed_resp(f, 0, 200, "x");
	assert_int_equal(live(f), 1);
	assert_int_equal(live(f) + (uint32_t)f->nout, 2);
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Random events in random order: no crash, no leak, and everything ends once the TU lets go. */
static void random_walk(struct fx *f, uint32_t seed)
{
	static const uint16_t codes[] = {100, 180, 183, 200, 202, 486, 487, 503, 603};
	static const char *const methods[] = {"INVITE", "ACK", "CANCEL", "OPTIONS", "BYE"};
	static const char *const tags[] = {NULL, "x", "y"};
	char br[6][32];

	for (size_t i = 0; i < ARRAY_SIZE(br); i++)
		snprintf(br[i], sizeof(br[i]), "z9hG4bKrw%zu", i);
	for (int i = 0; i < 2500 && f->nrefs < ARRAY_SIZE(f->refs) - 8; i++) {
		uint32_t r = lcg(&seed), a = lcg(&seed), b = lcg(&seed);
		struct txn *t = f->nrefs ? f->refs[a % f->nrefs] : NULL;
		size_t k = f->nout ? b % f->nout : 0;
		enum tp_proto proto = a % 4 == 0 ? TP_TCP : TP_UDP;

		switch (r % 10) {
		case 0:
			start(f, a % 2 ? "INVITE" : "OPTIONS", proto);
			break;
		case 1:
		case 2:
			if (f->nout && f->out[k].m->req && f->out[k].m->mid != SIP_METHOD_ACK)
				feed_resp(f, k, codes[a % ARRAY_SIZE(codes)], tags[b % 3]);
			break;
		case 3:
		case 4:
			feed_req(f,
			         &(struct rq){methods[a % ARRAY_SIZE(methods)],
			                      br[b % ARRAY_SIZE(br)], 1 + b % 2,
			                      a % 5 == 1 ? "ACK" : NULL, tags[a % 3]},
			         proto);
			break;
		case 5:
			if (t)
				reply(t, codes[b % ARRAY_SIZE(codes)], tags[a % 3]);
			break;
		case 6:
			if (t && b % 2)
				txn_cancel(t);
			else if (t)
				txn_detach(t);
			break;
		case 7:
			run_steps(f, f->now + b % 3000, 100);
			break;
		default:
			if (f->fail_cb && b % 4 == 0)
				f->fail_cb(f->fail_arg, -ECONNRESET);
			break;
		}
	}
	/* The TU lets go: cancel what it started, detach from everything. */
	for (size_t i = 0; i < f->nrefs; i++) {
		if (txn_kind(f->refs[i]) == TXN_CLIENT_INVITE)
			txn_cancel(f->refs[i]);
		txn_detach(f->refs[i]);
	}
	drop_refs(f);
	run_steps(f, f->now + 200000, 500);
	assert_int_equal(live(f), 0);
	assert_int_equal(tmr_heap_count(&f->heap), 0);
}

static void test_random_walk(void **state)
{
	/* The same layer goes on after each walk: it must be as good as new. */
	for (uint32_t seed = 1; seed <= 6; seed++)
		random_walk(*state, seed * 2654435761u);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_ict_timer_a_b),
	    T(test_ict_486_ack),
	    T(test_ict_2xx_accepted),
	    T(test_ict_tcp),
	    T(test_nict_timer_e_f),
	    T(test_nict_proceeding_k),
	    T(test_ist_486_g_ack_i),
	    T(test_ist_timer_h),
	    T(test_ist_100_trying),
	    T(test_ist_2xx_ack),
	    T(test_ist_2xx_no_ack),
	    T(test_nist),
	    T(test_cancel_server),
	    T(test_cancel_client_deferred),
	    T(test_cancel_client_cases),
	    T(test_rfc2543_matching),
	    T(test_transport_failure),
	    T(test_reentrant_callbacks),
	    T(test_server_detach),
	    T(test_free_with_live),
	    T(test_many),
	    T(test_branch),
	    T(test_bad_calls),
	    T(test_random_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
