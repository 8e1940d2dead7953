/* Tests for src/transport: UDP and TCP on loopback with a real loop, response routing. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/transport.h"

#define MAX_MSGS 16

struct ctx {
	uv_loop_t loop;
	uv_timer_t tick; /* keeps uv_run(UV_RUN_ONCE) from blocking for long */
	struct tp *tp;
	struct tp_conf conf;
	struct tp_lis *udp, *tcp;
	struct sip_msg *msgs[MAX_MSGS];
	struct tp_peer peers[MAX_MSGS];
	int nmsgs;
	/* What the receive callback does besides keeping the message. */
	uint16_t reply_status; /* answer requests with tp_send_response() */
	int send_rc;
	int fails, fail_err; /* tp_send failures */
	bool close_in_cb;    /* tp_close() from the receive callback */
};

static void recv_h(void *arg, struct sip_msg *msg, const struct tp_peer *src)
{
	struct ctx *c = arg;
	struct buf out = {0};

	if (c->close_in_cb) {
		tp_close(c->tp);
		c->tp = NULL;
	}
	if (c->nmsgs < MAX_MSGS) {
		c->msgs[c->nmsgs] = mem_ref(msg); /* kept past the callback on purpose */
		c->peers[c->nmsgs] = *src;
		c->nmsgs++;
	}
	if (c->reply_status && msg->req && c->tp) {
		assert_int_equal(sip_response_build(&out, msg, c->reply_status, NULL, SLICE("t1"),
		                                    NULL, 0, SLICE_NULL),
		                 0);
		c->send_rc = tp_send_response(c->tp, msg, src, out.p, out.len);
		buf_free(&out);
	}
}

static void fail_h(void *arg, int err)
{
	struct ctx *c = arg;

	c->fails++;
	c->fail_err = err;
}

static void tick_h(uv_timer_t *t)
{
}

static void ctx_start(struct ctx *c, const struct tp_conf *conf)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(uv_loop_init(&c->loop), 0);
	uv_timer_init(&c->loop, &c->tick);
	uv_timer_start(&c->tick, tick_h, 2, 2);
	if (conf)
		c->conf = *conf;
	else
		tp_conf_default(&c->conf);
	assert_int_equal(tp_alloc(&c->tp, &c->loop, &c->conf, recv_h, c), 0);
}

static void listen_on(struct ctx *c, const char *ip, bool v6)
{
	struct sockaddr_storage ss = {0};

	if (v6)
		assert_int_equal(uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)&ss), 0);
	else
		assert_int_equal(uv_ip4_addr(ip, 0, (struct sockaddr_in *)&ss), 0);
	assert_int_equal(tp_listen(c->tp, TP_UDP, (struct sockaddr *)&ss, c, &c->udp), 0);
	assert_int_equal(tp_listen(c->tp, TP_TCP, (struct sockaddr *)&ss, c, &c->tcp), 0);
	assert_ptr_equal(tp_lis_tag(c->udp), c);
	assert_ptr_equal(tp_lis_sibling(c->tp, c->udp, TP_TCP), c->tcp);
}

static void walk_close_h(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* tp_close() must leave nothing behind: the loop runs out and closes cleanly. */
static void ctx_stop(struct ctx *c)
{
	for (int i = 0; i < c->nmsgs; i++)
		mem_deref(c->msgs[i]);
	tp_close(c->tp);
	uv_close((uv_handle_t *)&c->tick, NULL);
	for (int i = 0; i < 1000 && uv_run(&c->loop, UV_RUN_NOWAIT); i++)
		usleep(1000);
	if (uv_loop_close(&c->loop)) {
		uv_walk(&c->loop, walk_close_h, NULL);
		uv_run(&c->loop, UV_RUN_NOWAIT);
		uv_loop_close(&c->loop);
		fail_msg("handles left open after tp_close()");
	}
}

typedef bool(pred_h)(struct ctx *c, void *arg);

/* Runs the loop until pred holds or ms pass; returns whether pred held. */
static bool pump(struct ctx *c, uint64_t ms, pred_h *pred, void *arg)
{
	uint64_t start = uv_hrtime();

	while (!(pred && pred(c, arg))) {
		if ((uv_hrtime() - start) / 1000000 >= ms)
			return pred == NULL;
		uv_run(&c->loop, UV_RUN_ONCE);
	}
	return true;
}

static bool have_msgs(struct ctx *c, void *arg)
{
	return c->nmsgs >= *(int *)arg;
}

static bool have_fail(struct ctx *c, void *arg)
{
	return c->fails > 0;
}

/* ------------------------------------------------------------ raw sockets */

static int sock_open(int af, int type, const char *ip)
{
	struct sockaddr_storage ss = {0};
	int fd = socket(af, type, 0);

	assert_true(fd >= 0);
	if (af == AF_INET6)
		uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)&ss);
	else
		uv_ip4_addr(ip, 0, (struct sockaddr_in *)&ss);
	assert_int_equal(
	    bind(fd, (struct sockaddr *)&ss,
	         af == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)),
	    0);
	return fd;
}

static uint16_t sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
	                                : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void sock_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int tcp_client(const struct tp_lis *l)
{
	const struct sockaddr *sa = tp_lis_addr(l);
	int fd = socket(sa->sa_family, SOCK_STREAM, 0), one = 1;

	assert_true(fd >= 0);
	/* The kernel completes the handshake from the backlog; the loop accepts later. */
	assert_int_equal(connect(fd, sa,
	                         sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                                   : sizeof(struct sockaddr_in)),
	                 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sock_nonblock(fd);
	return fd;
}

struct rd {
	int fd;
	char buf[4096];
	ssize_t n; /* bytes so far; -1 none yet */
	bool eof;
};

static bool have_bytes(struct ctx *c, void *arg)
{
	struct rd *r = arg;
	ssize_t n = recv(r->fd, r->buf + (r->n > 0 ? r->n : 0),
	                 sizeof(r->buf) - 1 - (size_t)(r->n > 0 ? r->n : 0), 0);

	if (n == 0) {
		r->eof = true;
		return true;
	}
	if (n > 0) {
		r->n = (r->n > 0 ? r->n : 0) + n;
		r->buf[r->n] = '\0';
		return true;
	}
	return false;
}

/* Waits up to ms for bytes (or EOF) on fd. */
static struct rd *wait_bytes(struct ctx *c, struct rd *r, int fd, uint64_t ms)
{
	*r = (struct rd){.fd = fd, .n = -1};
	sock_nonblock(fd);
	pump(c, ms, have_bytes, r);
	return r;
}

static void send_to_lis(int fd, const struct tp_lis *l, const char *p)
{
	const struct sockaddr *sa = tp_lis_addr(l);

	assert_int_equal(sendto(fd, p, strlen(p), 0, sa,
	                        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                                  : sizeof(struct sockaddr_in)),
	                 (ssize_t)strlen(p));
}

static void tcp_write(int fd, const char *p, size_t len)
{
	assert_int_equal(send(fd, p, len, 0), (ssize_t)len);
}

/* A request with Content-Length; via is the whole Via value. */
static const char *req_make(char *out, size_t cap, const char *method, const char *cseq_method,
                            const char *via)
{
	snprintf(out, cap,
	         "%s sip:edge@127.0.0.1 SIP/2.0\r\n"
	         "Via: %s\r\n"
	         "Max-Forwards: 70\r\n"
	         "From: <sip:a@example.com>;tag=f1\r\n"
	         "To: <sip:edge@127.0.0.1>\r\n"
	         "Call-ID: c1@example.com\r\n"
	         "CSeq: 1 %s\r\n"
	         "Content-Length: 0\r\n\r\n",
	         method, via, cseq_method);
	return out;
}

/* ------------------------------------------------------------ basics */

static void test_names(void **state)
{
	enum tp_proto p;
	struct sockaddr_storage ss;
	char s[64];

	(void)state;
	assert_string_equal(tp_proto_name(TP_TCP), "TCP");
	assert_int_equal(tp_proto_from(SLICE("udp"), &p), 0);
	assert_int_equal(p, TP_UDP);
	assert_int_equal(tp_proto_from(SLICE("Tls"), &p), 0);
	assert_int_equal(p, TP_TLS);
	assert_int_equal(tp_proto_from(SLICE("sctp"), &p), -EPROTONOSUPPORT);
	uv_ip6_addr("::1", 5060, (struct sockaddr_in6 *)&ss);
	tp_sockaddr_fmt((struct sockaddr *)&ss, s, sizeof(s));
	assert_string_equal(s, "[::1]:5060");
	uv_ip4_addr("127.0.0.1", 5061, (struct sockaddr_in *)&ss);
	tp_sockaddr_fmt((struct sockaddr *)&ss, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1:5061");
}

/* ------------------------------------------------------------ UDP */

static void test_udp_request_in(void **state)
{
	struct ctx c;
	char req[1024];
	int fd, one = 1;
	const struct sockaddr_in *from;

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "127.0.0.1", false);
	fd = sock_open(AF_INET, SOCK_DGRAM, "127.0.0.1");
	send_to_lis(fd, c.udp,
	            req_make(req, sizeof(req), "OPTIONS", "OPTIONS",
	                     "SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKu1"));
	assert_true(pump(&c, 2000, have_msgs, &one));
	assert_true(c.msgs[0]->req);
	assert_int_equal(c.msgs[0]->mid, SIP_METHOD_OPTIONS);
	assert_int_equal(c.peers[0].proto, TP_UDP);
	assert_ptr_equal(c.peers[0].lis, c.udp);
	assert_int_equal(c.peers[0].conn_id, 0);
	from = (const struct sockaddr_in *)&c.peers[0].addr;
	assert_int_equal(ntohs(from->sin_port), sock_port(fd));
	assert_int_equal(from->sin_addr.s_addr, htonl(0x7f000001));
	/* The kept message outlives its datagram: more traffic, then read it again. */
	send_to_lis(fd, c.udp, "\r\n\r\n");
	pump(&c, 20, NULL, NULL);
	assert_true(slice_eq(c.msgs[0]->call_id, SLICE("c1@example.com")));
	assert_int_equal(tp_stats(c.tp)->rx_req[SIP_METHOD_OPTIONS], 1);
	assert_int_equal(tp_stats(c.tp)->rx_msgs[TP_UDP], 1);
	assert_int_equal(tp_stats(c.tp)->keepalives, 1);
	close(fd);
	ctx_stop(&c);
}

/* A burst read in one recvmmsg batch: every datagram becomes its own message. */
static void test_udp_batch(void **state)
{
	struct ctx c;
	char req[1024], cid[32];
	int fd, twelve = 12;

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "127.0.0.1", false);
	fd = sock_open(AF_INET, SOCK_DGRAM, "127.0.0.1");
	for (int i = 0; i < 12; i++) {
		req_make(req, sizeof(req), "OPTIONS", "OPTIONS",
		         "SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKb");
		snprintf(cid, sizeof(cid), "c%c@example.com", 'a' + i);
		memcpy(strstr(req, "c1@example.com"), cid, 14); /* same length */
		send_to_lis(fd, c.udp, req);
	}
	assert_true(pump(&c, 2000, have_msgs, &twelve));
	for (int i = 0; i < 12; i++) {
		snprintf(cid, sizeof(cid), "c%c@example.com", 'a' + i);
		assert_true(slice_eq(c.msgs[i]->call_id, (struct slice){cid, strlen(cid)}));
		/* Each message owns a buffer of its own size, not a slot of the batch. */
		assert_int_equal(c.msgs[i]->raw.len, strlen(req));
	}
	assert_int_equal(tp_stats(c.tp)->rx_req[SIP_METHOD_OPTIONS], 12);
	close(fd);
	ctx_stop(&c);
}

/* tp_close() from the receive callback, mid-batch and mid-stream: the rest is dropped. */
static void test_close_in_callback(void **state)
{
	struct ctx c;
	char req[1024];
	int fd, tfd, one = 1;

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "127.0.0.1", false);
	fd = sock_open(AF_INET, SOCK_DGRAM, "127.0.0.1");
	tfd = tcp_client(c.tcp);
	req_make(req, sizeof(req), "OPTIONS", "OPTIONS", "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKc");
	pump(&c, 20, NULL, NULL); /* the connection is accepted before the close */
	for (int i = 0; i < 4; i++)
		send_to_lis(fd, c.udp, req);
	tcp_write(tfd, req, strlen(req));
	tcp_write(tfd, req, strlen(req));
	c.close_in_cb = true;
	assert_true(pump(&c, 2000, have_msgs, &one));
	assert_null(c.tp);
	pump(&c, 20, NULL, NULL);
	assert_int_equal(c.nmsgs, 1);
	close(fd);
	close(tfd);
	ctx_stop(&c);
}

static void test_udp_malformed_answered(void **state)
{
	struct ctx c;
	struct rd r;
	char req[1024];
	int fd;

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "127.0.0.1", false);
	fd = sock_open(AF_INET, SOCK_DGRAM, "127.0.0.1");
	/* CSeq names another method: the parser's 400, sent back to the source (rport). */
	send_to_lis(fd, c.udp,
	            req_make(req, sizeof(req), "INVITE", "OPTIONS",
	                     "SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKbad1"));
	wait_bytes(&c, &r, fd, 2000);
	assert_true(r.n > 0);
	assert_non_null(strstr(r.buf, "SIP/2.0 400 Bad Request (CSeq: "));
	assert_null(strstr(r.buf, "(\r\n")); /* the phrase stays on its line */
	assert_non_null(strstr(r.buf, "To: <sip:edge@127.0.0.1>;tag="));
	assert_non_null(strstr(r.buf, ";received=127.0.0.1;rport="));
	assert_non_null(strstr(r.buf, "CSeq: 1 OPTIONS\r\n"));
	assert_int_equal(c.nmsgs, 0);
	assert_int_equal(tp_stats(c.tp)->parse_errors, 1);
	assert_int_equal(tp_stats(c.tp)->answered_errors, 1);
	assert_int_equal(tp_stats(c.tp)->tx_resp, 1);
	assert_int_equal(tp_stats(c.tp)->tx_msgs[TP_UDP], 1);
	close(fd);
	ctx_stop(&c);
}

static void test_udp_garbage_dropped(void **state)
{
	struct ctx c;
	struct rd r;
	int fd;

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "127.0.0.1", false);
	fd = sock_open(AF_INET, SOCK_DGRAM, "127.0.0.1");
	send_to_lis(fd, c.udp, "hello world\r\n\r\n");
	/* A response that fails the checks: dropped, never answered. */
	send_to_lis(fd, c.udp,
	            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\n"
	            "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: one INVITE\r\n"
	            "Content-Length: 0\r\n\r\n");
	/* An ACK is never answered, even when malformed. */
	send_to_lis(fd, c.udp,
	            "ACK sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKy\r\n"
	            "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n"
	            "Content-Length: 0\r\n\r\n");
	wait_bytes(&c, &r, fd, 150);
	assert_int_equal(r.n, -1);
	assert_int_equal(c.nmsgs, 0);
	assert_int_equal(tp_stats(c.tp)->rx_msgs[TP_UDP], 3);
	assert_int_equal(tp_stats(c.tp)->parse_errors, 3);
	assert_int_equal(tp_stats(c.tp)->dropped, 3);
	assert_int_equal(tp_stats(c.tp)->answered_errors, 0);
	close(fd);
	ctx_stop(&c);
}

static void test_udp_response_routing(void **state)
{
	struct ctx c;
	struct rd r;
	char req[1024], via[128];
	int fd, other, n;

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "127.0.0.1", false);
	c.reply_status = 200;
	fd = sock_open(AF_INET, SOCK_DGRAM, "127.0.0.1");
	other = sock_open(AF_INET, SOCK_DGRAM, "127.0.0.1");

	/* rport: back to the packet's source port, with received and rport filled in. */
	snprintf(via, sizeof(via), "SIP/2.0/UDP 127.0.0.1:%u;rport;branch=z9hG4bKr1",
	         sock_port(other));
	send_to_lis(fd, c.udp, req_make(req, sizeof(req), "OPTIONS", "OPTIONS", via));
	wait_bytes(&c, &r, fd, 2000);
	assert_int_equal(c.send_rc, 0);
	assert_true(r.n > 0);
	snprintf(via, sizeof(via),
	         "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKr1;received=127.0.0.1;rport=%u\r\n",
	         sock_port(other), sock_port(fd));
	assert_non_null(strstr(r.buf, via));

	/* No rport, sent-by elsewhere: to received (the source IP) at the sent-by port. */
	snprintf(via, sizeof(via), "SIP/2.0/UDP 192.0.2.1:%u;branch=z9hG4bKr2", sock_port(other));
	send_to_lis(fd, c.udp, req_make(req, sizeof(req), "OPTIONS", "OPTIONS", via));
	wait_bytes(&c, &r, other, 2000);
	assert_true(r.n > 0);
	assert_non_null(strstr(r.buf, "SIP/2.0 200 OK\r\n"));
	assert_non_null(strstr(r.buf, ";branch=z9hG4bKr2;received=127.0.0.1\r\n"));
	n = (int)recv(fd, req, sizeof(req), MSG_DONTWAIT);
	assert_int_equal(n, -1); /* nothing went to the source port */

	/* Sent-by equal to the source: no stamp, the bytes go out untouched. */
	snprintf(via, sizeof(via), "SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKr3", sock_port(other));
	send_to_lis(fd, c.udp, req_make(req, sizeof(req), "OPTIONS", "OPTIONS", via));
	wait_bytes(&c, &r, other, 2000);
	assert_true(r.n > 0);
	assert_non_null(strstr(r.buf, ";branch=z9hG4bKr3\r\n"));
	assert_int_equal(tp_stats(c.tp)->tx_resp, 3);
	close(fd);
	close(other);
	ctx_stop(&c);
}

static void test_udp_ipv6(void **state)
{
	struct ctx c;
	struct rd r;
	char req[1024];
	int fd, one = 1;

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "::1", true);
	c.reply_status = 200;
	fd = sock_open(AF_INET6, SOCK_DGRAM, "::1");
	send_to_lis(fd, c.udp,
	            req_make(req, sizeof(req), "OPTIONS", "OPTIONS",
	                     "SIP/2.0/UDP [::1]:9;rport;branch=z9hG4bK6"));
	assert_true(pump(&c, 2000, have_msgs, &one));
	assert_int_equal(c.peers[0].addr.ss_family, AF_INET6);
	wait_bytes(&c, &r, fd, 2000);
	assert_true(r.n > 0);
	assert_non_null(strstr(r.buf, "SIP/2.0 200 OK\r\n"));
	assert_non_null(strstr(r.buf, ";received=::1;rport="));
	/* The transport sends requests too: to the client, from the v6 socket. */
	{
		struct tp_peer dst = {.proto = TP_UDP, .addr = c.peers[0].addr, .lis = c.udp};

		assert_int_equal(tp_send(c.tp, &dst, req, strlen(req), NULL, NULL), 0);
		wait_bytes(&c, &r, fd, 2000);
		assert_true(r.n > 0);
		assert_memory_equal(r.buf, "OPTIONS ", 8);
		assert_int_equal(tp_stats(c.tp)->tx_req[SIP_METHOD_OPTIONS], 1);
	}
	close(fd);
	ctx_stop(&c);
}

/* ------------------------------------------------------------ TCP */

static void test_tcp_framing(void **state)
{
	struct ctx c;
	struct rd r;
	char a[1024], b[1024], both[2048];
	int fd, two = 2, three = 3;
	size_t len;

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "127.0.0.1", false);
	fd = tcp_client(c.tcp);
	req_make(a, sizeof(a), "OPTIONS", "OPTIONS", "SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKt1");
	req_make(b, sizeof(b), "INFO", "INFO", "SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKt2");
	/* Two messages in one segment. */
	snprintf(both, sizeof(both), "%s%s", a, b);
	tcp_write(fd, both, strlen(both));
	assert_true(pump(&c, 2000, have_msgs, &two));
	assert_int_equal(c.msgs[0]->mid, SIP_METHOD_OPTIONS);
	assert_int_equal(c.msgs[1]->mid, SIP_METHOD_INFO);
	assert_int_equal(c.peers[0].proto, TP_TCP);
	assert_ptr_equal(c.peers[0].lis, c.tcp);
	assert_true(c.peers[0].conn_id != 0);
	assert_true(c.peers[0].conn_id == c.peers[1].conn_id);
	/* One message in three writes: nothing until the last byte is in. */
	len = strlen(a);
	tcp_write(fd, a, 10);
	pump(&c, 30, NULL, NULL);
	tcp_write(fd, a + 10, len - 12);
	pump(&c, 30, NULL, NULL);
	assert_int_equal(c.nmsgs, 2);
	tcp_write(fd, a + len - 2, 2);
	assert_true(pump(&c, 2000, have_msgs, &three));
	assert_int_equal(c.msgs[2]->mid, SIP_METHOD_OPTIONS);
	/* RFC 5626 ping: CRLFCRLF gets one CRLF back, in two halves too. */
	tcp_write(fd, "\r\n", 2);
	pump(&c, 20, NULL, NULL);
	tcp_write(fd, "\r\n", 2);
	wait_bytes(&c, &r, fd, 2000);
	assert_int_equal(r.n, 2);
	assert_memory_equal(r.buf, "\r\n", 2);
	assert_int_equal(tp_stats(c.tp)->keepalives, 1);
	assert_int_equal(tp_stats(c.tp)->tcp_accepted, 1);
	assert_int_equal(tp_stats(c.tp)->tcp_conns, 1);
	assert_int_equal(tp_stats(c.tp)->rx_msgs[TP_TCP], 3);
	close(fd);
	ctx_stop(&c);
}

static void test_tcp_no_content_length(void **state)
{
	struct ctx c;
	struct rd r;
	int fd;
	const char *m =
	    "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\n"
	    "Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKn1\r\n"
	    "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
	    "\r\n";

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "127.0.0.1", false);
	fd = tcp_client(c.tcp);
	tcp_write(fd, m, strlen(m));
	wait_bytes(&c, &r, fd, 2000);
	assert_true(r.eof);
	assert_int_equal(c.nmsgs, 0);
	assert_int_equal(tp_stats(c.tp)->tcp_closed, 1);
	assert_int_equal(tp_stats(c.tp)->tcp_conns, 0);
	assert_int_equal(tp_stats(c.tp)->parse_errors, 1);
	close(fd);
	ctx_stop(&c);
}

static void test_tcp_malformed_answered(void **state)
{
	struct ctx c;
	struct rd r;
	char req[1024];
	int fd;

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "127.0.0.1", false);
	fd = tcp_client(c.tcp);
	req_make(req, sizeof(req), "BYE", "INVITE", "SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKm1");
	tcp_write(fd, req, strlen(req));
	wait_bytes(&c, &r, fd, 2000);
	assert_true(r.n > 0);
	assert_non_null(strstr(r.buf, "SIP/2.0 400 Bad Request (CSeq"));
	/* Answered on the connection it came on, which stays open. */
	assert_int_equal(tp_stats(c.tp)->tcp_conns, 1);
	assert_int_equal(tp_stats(c.tp)->tcp_connected, 0);
	close(fd);
	ctx_stop(&c);
}

static bool accept_ready(int lfd)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

static void test_tcp_reuse(void **state)
{
	struct ctx c;
	struct rd r;
	char req[1024], via[128];
	int fd, lfd, one = 1;
	struct tp_peer dst;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "127.0.0.1", false);
	/* The peer listens on lfd (its sent-by) but talks from an ephemeral port. */
	lfd = sock_open(AF_INET, SOCK_STREAM, "127.0.0.1");
	assert_int_equal(listen(lfd, 4), 0);
	fd = tcp_client(c.tcp);
	snprintf(via, sizeof(via), "SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKa1", sock_port(lfd));
	req_make(req, sizeof(req), "OPTIONS", "OPTIONS", via);
	tcp_write(fd, req, strlen(req));
	assert_true(pump(&c, 2000, have_msgs, &one));

	/* To the connection's remote address, without its id: the same connection. */
	getsockname(fd, (struct sockaddr *)&ss, &len);
	dst = (struct tp_peer){.proto = TP_TCP, .addr = ss, .lis = c.udp};
	assert_int_equal(tp_send(c.tp, &dst, "BYE x SIP/2.0\r\n", 15, fail_h, &c), 0);
	wait_bytes(&c, &r, fd, 2000);
	assert_int_equal(r.n, 15);
	/* To the sent-by (an alias of the connection): the same connection again. */
	dst = (struct tp_peer){.proto = TP_TCP, .lis = c.tcp};
	uv_ip4_addr("127.0.0.1", sock_port(lfd), (struct sockaddr_in *)&dst.addr);
	assert_int_equal(tp_send(c.tp, &dst, "INFO x SIP/2.0\r\n", 16, fail_h, &c), 0);
	wait_bytes(&c, &r, fd, 2000);
	assert_int_equal(r.n, 16);
	/* By id, whatever the address says. */
	dst = c.peers[0];
	uv_ip4_addr("127.0.0.1", 9, (struct sockaddr_in *)&dst.addr);
	assert_int_equal(tp_send(c.tp, &dst, "ACK x SIP/2.0\r\n", 15, fail_h, &c), 0);
	wait_bytes(&c, &r, fd, 2000);
	assert_int_equal(r.n, 15);
	assert_false(accept_ready(lfd));
	assert_int_equal(tp_stats(c.tp)->tcp_connected, 0);
	assert_int_equal(tp_stats(c.tp)->tx_req[SIP_METHOD_BYE], 1);
	assert_int_equal(tp_stats(c.tp)->tx_req[SIP_METHOD_INFO], 1);
	assert_int_equal(c.fails, 0);
	close(fd);
	close(lfd);
	ctx_stop(&c);
}

static void test_tcp_connect_out(void **state)
{
	struct ctx c;
	char req[1024], resp[1024], got[2048];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	struct tp_peer dst = {.proto = TP_TCP};
	int lfd, afd = -1, one = 1;
	ssize_t n = 0;

	(void)state;
	ctx_start(&c, NULL);
	/* The edge's gateway on 127.0.0.2: connections it opens must come from there. */
	listen_on(&c, "127.0.0.2", false);
	lfd = sock_open(AF_INET, SOCK_STREAM, "127.0.0.1");
	assert_int_equal(listen(lfd, 4), 0);
	sock_nonblock(lfd);
	uv_ip4_addr("127.0.0.1", sock_port(lfd), (struct sockaddr_in *)&dst.addr);
	dst.lis = c.udp;
	req_make(req, sizeof(req), "OPTIONS", "OPTIONS", "SIP/2.0/TCP 127.0.0.2;branch=z9hG4bKo1");
	/* Queued while connecting, written once connected. */
	assert_int_equal(tp_send(c.tp, &dst, req, strlen(req), fail_h, &c), 0);
	assert_int_equal(tp_send(c.tp, &dst, req, strlen(req), fail_h, &c), 0);
	for (int i = 0; i < 400 && afd < 0; i++) {
		pump(&c, 5, NULL, NULL);
		afd = accept(lfd, (struct sockaddr *)&from, &flen);
	}
	assert_true(afd >= 0);
	assert_int_equal(((struct sockaddr_in *)&from)->sin_addr.s_addr, htonl(0x7f000002));
	sock_nonblock(afd);
	for (int i = 0; i < 400 && n < (ssize_t)(2 * strlen(req)); i++) {
		ssize_t k = recv(afd, got + n, sizeof(got) - (size_t)n, 0);

		if (k > 0)
			n += k;
		else
			pump(&c, 5, NULL, NULL);
	}
	assert_int_equal(n, 2 * strlen(req));
	assert_int_equal(tp_stats(c.tp)->tcp_connected, 1);
	/* A response on that connection comes up with its id and the gateway's listener. */
	snprintf(resp, sizeof(resp),
	         "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.2;branch=z9hG4bKo1\r\n"
	         "From: <sip:a@example.com>;tag=f1\r\nTo: <sip:edge@127.0.0.1>;tag=x\r\n"
	         "Call-ID: c1@example.com\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	tcp_write(afd, resp, strlen(resp));
	assert_true(pump(&c, 2000, have_msgs, &one));
	assert_false(c.msgs[0]->req);
	assert_int_equal(c.peers[0].proto, TP_TCP);
	assert_ptr_equal(c.peers[0].lis, c.tcp);
	assert_true(c.peers[0].conn_id != 0);
	assert_int_equal(tp_stats(c.tp)->rx_resp, 1);
	assert_int_equal(c.fails, 0);
	close(afd);
	close(lfd);
	ctx_stop(&c);
}

static void test_tcp_refused(void **state)
{
	struct ctx c;
	struct tp_peer dst = {.proto = TP_TCP};
	int fd;
	uint16_t port;

	(void)state;
	ctx_start(&c, NULL);
	listen_on(&c, "127.0.0.1", false);
	/* A port that was just free: nothing listens there. */
	fd = sock_open(AF_INET, SOCK_STREAM, "127.0.0.1");
	port = sock_port(fd);
	close(fd);
	uv_ip4_addr("127.0.0.1", port, (struct sockaddr_in *)&dst.addr);
	dst.lis = c.tcp;
	assert_int_equal(tp_send(c.tp, &dst, "OPTIONS x SIP/2.0\r\n", 19, fail_h, &c), 0);
	assert_true(pump(&c, 2000, have_fail, NULL));
	assert_int_equal(c.fails, 1);
	assert_int_equal(c.fail_err, -ECONNREFUSED);
	pump(&c, 20, NULL, NULL);
	assert_int_equal(tp_stats(c.tp)->tcp_conns, 0);

	/* A forgotten sender hears nothing. */
	c.fails = 0;
	assert_int_equal(tp_send(c.tp, &dst, "OPTIONS x SIP/2.0\r\n", 19, fail_h, &c), 0);
	tp_forget(c.tp, &c);
	pump(&c, 100, have_fail, NULL);
	assert_int_equal(c.fails, 0);
	assert_int_equal(tp_stats(c.tp)->send_errors, 2);
	ctx_stop(&c);
}

static void test_tcp_connect_timeout(void **state)
{
	struct ctx c;
	struct tp_conf conf;
	struct tp_peer dst = {.proto = TP_TCP};
	struct sockaddr_in to;
	int lfd, fill[4];

	(void)state;
	tp_conf_default(&conf);
	conf.tcp_connect_timeout_ms = 150;
	ctx_start(&c, &conf);
	listen_on(&c, "127.0.0.1", false);
	/* A listener that never accepts, its queue full: the kernel drops further SYNs. */
	lfd = sock_open(AF_INET, SOCK_STREAM, "127.0.0.1");
	assert_int_equal(listen(lfd, 0), 0);
	uv_ip4_addr("127.0.0.1", sock_port(lfd), &to);
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM, 0);
		sock_nonblock(fill[i]);
		connect(fill[i], (struct sockaddr *)&to, sizeof(to));
	}
	pump(&c, 20, NULL, NULL);
	memcpy(&dst.addr, &to, sizeof(to));
	assert_int_equal(tp_send(c.tp, &dst, "OPTIONS x SIP/2.0\r\n", 19, fail_h, &c), 0);
	assert_true(pump(&c, 3000, have_fail, NULL));
	assert_int_equal(c.fail_err, -ETIMEDOUT);
	pump(&c, 20, NULL, NULL);
	assert_int_equal(tp_stats(c.tp)->tcp_conns, 0);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
	ctx_stop(&c);
}

static void test_tcp_idle_and_limit(void **state)
{
	struct ctx c;
	struct tp_conf conf;
	struct rd r;
	int fd, fd2;

	(void)state;
	tp_conf_default(&conf);
	conf.tcp_idle_timeout_ms = 100;
	conf.tcp_max_conns = 1;
	ctx_start(&c, &conf);
	listen_on(&c, "127.0.0.1", false);
	fd = tcp_client(c.tcp);
	pump(&c, 30, NULL, NULL);
	assert_int_equal(tp_stats(c.tp)->tcp_conns, 1);
	/* Over the limit: accepted and closed at once. */
	fd2 = tcp_client(c.tcp);
	wait_bytes(&c, &r, fd2, 1000);
	assert_true(r.eof);
	assert_int_equal(tp_stats(c.tp)->tcp_refused, 1);
	/* Idle: closed by the edge after tcp_idle_timeout_ms. */
	wait_bytes(&c, &r, fd, 2000);
	assert_true(r.eof);
	assert_int_equal(tp_stats(c.tp)->tcp_idle_closed, 1);
	assert_int_equal(tp_stats(c.tp)->tcp_conns, 0);
	close(fd);
	close(fd2);
	ctx_stop(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_udp_request_in),
	    cmocka_unit_test(test_udp_batch),
	    cmocka_unit_test(test_close_in_callback),
	    cmocka_unit_test(test_udp_malformed_answered),
	    cmocka_unit_test(test_udp_garbage_dropped),
	    cmocka_unit_test(test_udp_response_routing),
	    cmocka_unit_test(test_udp_ipv6),
	    cmocka_unit_test(test_tcp_framing),
	    cmocka_unit_test(test_tcp_no_content_length),
	    cmocka_unit_test(test_tcp_malformed_answered),
	    cmocka_unit_test(test_tcp_reuse),
	    cmocka_unit_test(test_tcp_connect_out),
	    cmocka_unit_test(test_tcp_refused),
	    cmocka_unit_test(test_tcp_connect_timeout),
	    cmocka_unit_test(test_tcp_idle_and_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
