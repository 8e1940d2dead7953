/* Test harness for the call layer: a fake network that keeps what the edge sends, a manual clock.
 */
#ifndef IXEDGE_TEST_CALL_WORLD_H
#define IXEDGE_TEST_CALL_WORLD_H

/*
 * Header only (static inline), because CMake builds each tests/unit/test_*.c
 * as its own executable.  Every message the edge sends is parsed back (a
 * message it cannot parse fails the test) and kept with its destination;
 * tests take them in order with cw_take() and inject the peers' messages
 * with cw_inject().  Peers are told apart by address and port.
 */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "call/call.h"

#define CW_MAX_SENT 256

struct cw_sent {
	struct tp_peer dst;
	struct sip_msg *msg;
	bool taken;
};

struct call_world {
	struct tmr_heap heap;
	struct txns *tl;
	struct calls *cs;
	struct cw_sent sent[CW_MAX_SENT];
	size_t nsent;
	struct tp_peer caller;
};

static inline struct tp_peer cw_peer_v4(const char *ip, uint16_t port)
{
	struct tp_peer p = {.proto = TP_UDP};
	struct sockaddr_in *in = (struct sockaddr_in *)&p.addr;

	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	inet_pton(AF_INET, ip, &in->sin_addr);
	return p;
}

static inline bool cw_same_peer(const struct tp_peer *a, const struct tp_peer *b)
{
	return !memcmp(&a->addr, &b->addr, sizeof(struct sockaddr_in));
}

/* "ip:port" of a peer (IPv4), for the Contact and Via of what it sends. */
static inline const char *cw_peer_str(const struct tp_peer *p, char *buf, size_t cap)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&p->addr;
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
	snprintf(buf, cap, "%s:%u", ip, ntohs(in->sin_port));
	return buf;
}

static inline void cw_keep(struct call_world *w, const struct tp_peer *dst, const char *p,
                           size_t len)
{
	char *copy = mem_alloc(len, NULL);
	struct sip_msg *m = NULL;

	memcpy(copy, p, len);
	if (sip_msg_decode(&m, copy, len, copy, NULL, NULL))
		fail_msg("the edge sent a message it cannot parse back:\n%.*s", (int)len, p);
	mem_deref(copy);
	assert_true(w->nsent < CW_MAX_SENT);
	w->sent[w->nsent].dst = *dst;
	w->sent[w->nsent++].msg = m;
}

static inline int cw_io_send(void *ctx, const struct tp_peer *dst, const char *p, size_t len,
                             tp_fail_h *fail, void *arg)
{
	(void)fail;
	(void)arg;
	cw_keep(ctx, dst, p, len);
	return 0;
}

static inline int cw_io_send_response(void *ctx, const struct sip_msg *req,
                                      const struct tp_peer *src, const char *p, size_t len)
{
	(void)req;
	cw_keep(ctx, src, p, len);
	return 0;
}

/* The call layer with controller ctl, wired to a transaction layer over the fake network. */
static inline void cw_init(struct call_world *w, const struct calls_conf *cc,
                           const struct call_ctl *ctl)
{
	struct txn_io io = {.send = cw_io_send, .send_response = cw_io_send_response, .ctx = w};
	struct txn_conf xc;
	struct txn_tu tu;

	memset(w, 0, sizeof(*w));
	tmr_heap_init(&w->heap, 1000000);
	txn_conf_default(&xc);
	assert_int_equal(calls_alloc(&w->cs, &w->heap, &io, cc, ctl), 0);
	calls_tu(w->cs, &tu);
	assert_int_equal(txns_alloc(&w->tl, &w->heap, &xc, &io, &tu), 0);
	calls_set_txns(w->cs, w->tl);
	w->caller = cw_peer_v4("192.0.2.10", 5062);
}

static inline void cw_fini(struct call_world *w)
{
	calls_free(w->cs);
	txns_free(w->tl);
	for (size_t i = 0; i < w->nsent; i++)
		mem_deref(w->sent[i].msg);
	tmr_heap_fini(&w->heap);
}

static inline void cw_run(struct call_world *w, uint64_t ms)
{
	tmr_heap_run(&w->heap, w->heap.now + ms);
}

static inline void cw_inject(struct call_world *w, const struct tp_peer *from, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void cw_inject(struct call_world *w, const struct tp_peer *from, const char *fmt, ...)
{
	char text[4096], *copy;
	struct sip_msg *m = NULL;
	struct sip_perr err;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	copy = mem_alloc((size_t)n, NULL);
	memcpy(copy, text, (size_t)n);
	if (sip_msg_decode(&m, copy, (size_t)n, copy, NULL, &err))
		fail_msg("test message does not parse: %s\n%s", err.what, text);
	mem_deref(copy);
	txns_recv(w->tl, m, from);
	mem_deref(m);
}

static inline bool cw_match(const struct sip_msg *m, const char *method, uint16_t status)
{
	return method ? (m->req && slice_eq(m->method, slice_cstr(method)))
	              : (!m->req && (!status || m->status == status));
}

/*
 * The first message not yet taken that the edge sent to `to` and that is the
 * request `method` or the response `status` (0: any response); NULL when none.
 * take marks it taken.
 */
static inline struct sip_msg *cw_find(struct call_world *w, const struct tp_peer *to,
                                      const char *method, uint16_t status, bool take)
{
	for (size_t i = 0; i < w->nsent; i++) {
		if (w->sent[i].taken || !cw_same_peer(&w->sent[i].dst, to) ||
		    !cw_match(w->sent[i].msg, method, status))
			continue;
		w->sent[i].taken = take;
		return w->sent[i].msg;
	}
	return NULL;
}

/* cw_find() that fails the test when the edge sent no such message. */
static inline struct sip_msg *cw_take(struct call_world *w, const struct tp_peer *to,
                                      const char *method, uint16_t status)
{
	struct sip_msg *m = cw_find(w, to, method, status, true);

	if (!m)
		fail_msg("the edge sent no %s %u", method ? method : "response", status);
	return m;
}

/* How many messages not yet taken match (retransmissions count each time). */
static inline size_t cw_count(const struct call_world *w, const struct tp_peer *to,
                              const char *method, uint16_t status)
{
	size_t n = 0;

	for (size_t i = 0; i < w->nsent; i++)
		n += !w->sent[i].taken && cw_same_peer(&w->sent[i].dst, to) &&
		     cw_match(w->sent[i].msg, method, status);
	return n;
}

/* Marks every message sent to `to` so far as taken (retransmissions we do not care about). */
static inline void cw_drop(struct call_world *w, const struct tp_peer *to)
{
	for (size_t i = 0; i < w->nsent; i++) {
		if (cw_same_peer(&w->sent[i].dst, to))
			w->sent[i].taken = true;
	}
}

/*
 * Peer `from` answers a request the edge sent it.  A To tag of the request
 * is kept, else tag is added (none when "").  extra: more header lines ("Name: v\r\n").
 */
static inline void cw_reply(struct call_world *w, const struct tp_peer *from,
                            const struct sip_msg *req, uint16_t status, const char *tag,
                            const char *extra, const char *body)
{
	const struct sip_hdr *via = sip_msg_hdr(req, SIP_HDR_VIA);
	bool add_tag = !req->to.tag.len && tag[0];
	char hp[32];

	cw_inject(w, from,
	          "SIP/2.0 %u X\r\nVia: %.*s\r\nFrom: %.*s\r\nTo: %.*s%s%s\r\nCall-ID: %.*s\r\n"
	          "CSeq: %u %.*s\r\nContact: <sip:peer@%s>\r\n%s"
	          "%sContent-Length: %zu\r\n\r\n%s",
	          status, SLICE_ARG(via->value), SLICE_ARG(sip_msg_hdr(req, SIP_HDR_FROM)->value),
	          SLICE_ARG(sip_msg_hdr(req, SIP_HDR_TO)->value), add_tag ? ";tag=" : "",
	          add_tag ? tag : "", SLICE_ARG(req->call_id), req->cseq.num,
	          SLICE_ARG(req->cseq.method), cw_peer_str(from, hp, sizeof(hp)), extra,
	          body[0] ? "Content-Type: application/sdp\r\n" : "", strlen(body), body);
}

/* The URI of msg's Contact (without the angle brackets). */
static inline struct slice cw_contact_uri(const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct slice v;
	const char *gt;

	assert_non_null(h);
	v = h->value;
	if (v.len && v.p[0] == '<' && (gt = memchr(v.p, '>', v.len)) != NULL)
		return (struct slice){v.p + 1, (size_t)(gt - v.p - 1)};
	return v;
}

/* A BYE from peer `from` in the dialog that the edge's INVITE inv and the peer's tag made. */
static inline void cw_peer_bye(struct call_world *w, const struct tp_peer *from,
                               const struct sip_msg *inv, const char *tag, uint32_t cseq)
{
	char hp[32];

	cw_inject(w, from,
	          "BYE %.*s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKpb%u\r\n"
	          "From: <%.*s>;tag=%s\r\nTo: %.*s\r\nCall-ID: %.*s\r\nCSeq: %u BYE\r\n"
	          "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
	          SLICE_ARG(cw_contact_uri(inv)), cw_peer_str(from, hp, sizeof(hp)), cseq,
	          SLICE_ARG(inv->to.uri.raw), tag, SLICE_ARG(sip_msg_hdr(inv, SIP_HDR_FROM)->value),
	          SLICE_ARG(inv->call_id), cseq);
}

#define CW_CALLER_INVITE_BRANCH "z9hG4bKc1"

/* The caller's INVITE (Call-ID call-1), with the SDP offer sdp or none when "". */
static inline void cw_caller_invite(struct call_world *w, const char *sdp)
{
	cw_inject(w, &w->caller,
	          "INVITE sip:bob@127.0.1.64 SIP/2.0\r\n"
	          "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=" CW_CALLER_INVITE_BRANCH ";rport\r\n"
	          "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=caller-1\r\n"
	          "To: <sip:bob@example.net>\r\nCall-ID: call-1\r\nCSeq: 1 INVITE\r\n"
	          "Contact: <sip:alice@192.0.2.10:5062>\r\nX-Customer: 42\r\n"
	          "%sContent-Length: %zu\r\n\r\n%s",
	          sdp[0] ? "Content-Type: application/sdp\r\n" : "", strlen(sdp), sdp);
}

/*
 * The caller's ACK for the final response resp to its INVITE: in the
 * INVITE's transaction for a non-2xx, a transaction of its own for a 2xx.
 */
static inline void cw_caller_ack(struct call_world *w, const struct sip_msg *resp)
{
	bool ok = resp->status < 300;

	cw_inject(w, &w->caller,
	          "ACK sip:bob@127.0.1.64 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=%s\r\n"
	          "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=caller-1\r\n"
	          "To: <sip:bob@example.net>;tag=%.*s\r\nCall-ID: call-1\r\nCSeq: 1 ACK\r\n"
	          "Content-Length: 0\r\n\r\n",
	          ok ? "z9hG4bKa1" : CW_CALLER_INVITE_BRANCH, SLICE_ARG(resp->to.tag));
}

/* The caller hangs up the call that the edge's 2xx ok answered. */
static inline void cw_caller_bye(struct call_world *w, const struct sip_msg *ok, uint32_t cseq)
{
	cw_inject(
	    w, &w->caller,
	    "BYE sip:127.0.1.64 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKb%u\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=caller-1\r\n"
	    "To: <sip:bob@example.net>;tag=%.*s\r\nCall-ID: call-1\r\nCSeq: %u BYE\r\n"
	    "Content-Length: 0\r\n\r\n",
	    cseq, SLICE_ARG(ok->to.tag), cseq);
}

/* Nothing may be left once every transaction and linger timer has run out. */
static inline void cw_assert_all_gone(struct call_world *w)
{
	cw_run(w, 64 * 500 + 1000);
	assert_int_equal(calls_stats(w->cs)->live_calls, 0);
	assert_int_equal(calls_stats(w->cs)->live_dialogs, 0);
	assert_int_equal(txns_stats(w->tl)->live, 0);
}

#endif
