/* Tests for src/media: parsers, port pools, relay, latching, RTCP, mux, free under traffic, IPv6.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/rand.h"
#include "media/media.h"
#include "media/rtp.h"

#define WAIT_MS   2000 /* for what must arrive */
#define QUIET_MS  150  /* for what must not */
#define POOL_SPAN 200

/* ---- helpers ---------------------------------------------------------- */

static struct sockaddr_storage addr_of(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
	}
	return ss;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
	                                       : ((const struct sockaddr_in *)ss)->sin_port);
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* A random even port range of POOL_SPAN ports in 20000-59000, so parallel runs rarely meet. */
static uint16_t pool_base(void)
{
	return (uint16_t)(20000 + 2 * (rand_u64() % ((59000 - 20000 - POOL_SPAN) / 2)));
}

/* A test party: a UDP socket on an ephemeral loopback port. */
struct party {
	int fd;
	struct sockaddr_storage addr;
};

static struct party party_open(const char *ip)
{
	struct party p;
	socklen_t len = sizeof(p.addr);

	p.addr = addr_of(ip, 0);
	p.fd = socket(p.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(p.fd >= 0);
	assert_int_equal(bind(p.fd, (struct sockaddr *)&p.addr, ss_len(&p.addr)), 0);
	assert_int_equal(getsockname(p.fd, (struct sockaddr *)&p.addr, &len), 0);
	return p;
}

static void party_send(const struct party *p, const struct sockaddr_storage *to, const void *b,
                       size_t len)
{
	assert_int_equal(sendto(p->fd, b, len, 0, (const struct sockaddr *)to, ss_len(to)),
	                 (ssize_t)len);
}

/* One datagram within ms, or -1; src gets the sender. */
static ssize_t party_recv(const struct party *p, void *b, size_t cap, int ms,
                          struct sockaddr_storage *src)
{
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	socklen_t len = sizeof(*src);

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return recvfrom(p->fd, b, cap, 0, (struct sockaddr *)src, &len);
}

static size_t rtp_build(uint8_t *b, uint16_t seq, uint8_t pt, size_t payload)
{
	b[0] = 0x80;
	b[1] = pt;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	memset(b + 4, 0, 4);                  /* timestamp */
	memcpy(b + 8, "\x11\x22\x33\x44", 4); /* SSRC */
	for (size_t i = 0; i < payload; i++)
		b[12 + i] = (uint8_t)(seq + i);
	return 12 + payload;
}

/* RR with one report block (fraction, cumulative lost, jitter), then an SDES CNAME. */
static size_t rtcp_rr_build(uint8_t *b, uint8_t fraction, int32_t cum, uint32_t jitter)
{
	static const uint8_t sdes[] = {0x81, 202, 0,   4,   0x11, 0x22, 0x33, 0x44, 1, 4,
	                               't',  'e', 's', 't', 0,    0,    0,    0,    0, 0};
	uint32_t c = (uint32_t)cum & 0xffffff;
	uint8_t *q = b + 8;

	memcpy(b, "\x81\xc9\x00\x07\x11\x22\x33\x44", 8);
	memcpy(q, "\xaa\xbb\xcc\xdd", 4);
	q[4] = fraction;
	q[5] = (uint8_t)(c >> 16);
	q[6] = (uint8_t)(c >> 8);
	q[7] = (uint8_t)c;
	memcpy(q + 8, "\x00\x00\x10\x00", 4);
	q[12] = (uint8_t)(jitter >> 24);
	q[13] = (uint8_t)(jitter >> 16);
	q[14] = (uint8_t)(jitter >> 8);
	q[15] = (uint8_t)jitter;
	memset(q + 16, 0, 8);
	memcpy(b + 32, sdes, sizeof(sdes));
	return 32 + sizeof(sdes);
}

static bool v6_available(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Waits (bounded) until the endpoint's counter reaches want. */
#define STATS_WAIT(ep, field, want)                                                                \
	do {                                                                                       \
		struct media_stats st_;                                                            \
		for (int i_ = 0; i_ < WAIT_MS / 5; i_++) {                                         \
			media_ep_stats((ep), &st_);                                                \
			if (st_.field >= (want))                                                   \
				break;                                                             \
			sleep_ms(5);                                                               \
		}                                                                                  \
		media_ep_stats((ep), &st_);                                                        \
		assert_int_equal(st_.field, (want));                                               \
	} while (0)

struct fix {
	struct media *m;
	uint16_t base;
};

static struct fix fix_open(const struct media_conf *c, const char *ip1, const char *ip2)
{
	struct sockaddr_storage addrs[2];
	struct media_conf def;
	struct fix f;

	if (!c) {
		media_conf_default(&def);
		c = &def;
	}
	assert_int_equal(media_alloc(&f.m, c), 0);
	f.base = pool_base();
	addrs[0] = addr_of(ip1, 0);
	if (ip2)
		addrs[1] = addr_of(ip2, 0);
	assert_int_equal(
	    media_pool_add(f.m, "edge", addrs, ip2 ? 2 : 1, f.base, f.base + POOL_SPAN - 1), 0);
	return f;
}

/* The endpoint's RTP (comp 0) or RTCP (comp 1) address. */
static struct sockaddr_storage ep_addr(const struct media_ep *ep, int comp)
{
	struct sockaddr_storage ss;
	uint16_t rtcp;

	media_ep_local(ep, &ss, &rtcp);
	if (comp) {
		if (ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(rtcp);
		else
			((struct sockaddr_in *)&ss)->sin_port = htons(rtcp);
	}
	return ss;
}

/* ---- parsers -------------------------------------------------------------- */

static void test_rtp_decode(void **state)
{
	/* CC=1, X, P: 12 + 4 CSRC + 4 ext hdr + 4 ext + 3 payload + 2 padding */
	static const uint8_t full[] = {0xb1, 0xe5, 0x01, 0x02, 0,   0,   0,    9,    0, 0,
	                               0,    7,    1,    2,    3,   4,   0xbe, 0xde, 0, 1,
	                               5,    6,    7,    8,    'a', 'b', 'c',  0,    2};
	static const struct {
		const char *name;
		uint8_t b[20];
		size_t len;
	} bad[] = {
	    {"short", {0x80, 0}, 11},
	    {"version 1", {0x40, 0}, 12},
	    {"CSRC past end", {0x82, 0}, 15},
	    {"extension header past end", {0x90, 0}, 14},
	    {"extension data past end", {0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, 20},
	    {"padding 0", {0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 14},
	    {"padding past header", {0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3}, 14},
	};
	struct rtp_hdr h;

	(void)state;
	assert_int_equal(rtp_hdr_decode(&h, full, sizeof(full)), 0);
	assert_int_equal(h.cc, 1);
	assert_true(h.marker);
	assert_int_equal(h.pt, 101);
	assert_int_equal(h.seq, 0x0102);
	assert_int_equal(h.ts, 9);
	assert_int_equal(h.ssrc, 7);
	assert_true(h.ext);
	assert_int_equal(h.ext_profile, 0xbede);
	assert_int_equal(h.ext_len, 4);
	assert_int_equal(h.hdr_len, 24);
	assert_int_equal(h.pad_len, 2);
	assert_int_equal(h.payload_len, 3);
	assert_int_equal(rtp_classify(full, sizeof(full)), RTP_KIND_RTP);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		print_message("bad RTP: %s\n", bad[i].name);
		assert_int_equal(rtp_hdr_decode(&h, bad[i].b, bad[i].len), -EBADMSG);
		assert_int_equal(rtp_classify(bad[i].b, bad[i].len), RTP_KIND_OTHER);
	}
}

static void test_rtcp_decode(void **state)
{
	uint8_t b[128], sr[60] = {0x81, 200, 0, 12};
	struct rtcp_sum s;
	size_t len;

	(void)state;
	len = rtcp_rr_build(b, 0x40, -3, 1234);
	assert_int_equal(rtp_classify(b, len), RTP_KIND_RTCP);
	assert_int_equal(rtcp_compound_decode(&s, b, len), 0);
	assert_int_equal(s.npkts, 2);
	assert_int_equal(s.nblocks, 1);
	assert_int_equal(s.last.ssrc, 0xaabbccdd);
	assert_int_equal(s.last.fraction_lost, 0x40);
	assert_int_equal(s.last.cum_lost, -3);
	assert_int_equal(s.last.ext_seq, 0x1000);
	assert_int_equal(s.last.jitter, 1234);
	/* SR: 28 bytes before its block, 13 words in all; the block says 5 lost, jitter 7. */
	sr[35] = 5;
	sr[43] = 7;
	assert_int_equal(rtcp_compound_decode(&s, sr, 52), 0);
	assert_int_equal(s.nblocks, 1);
	assert_int_equal(s.last.cum_lost, 5);
	assert_int_equal(s.last.jitter, 7);
	/* The length field runs past the datagram; then one byte short of a whole compound. */
	assert_int_equal(rtcp_compound_decode(&s, sr, 48), -EBADMSG);
	assert_int_equal(rtcp_compound_decode(&s, b, len - 4), -EBADMSG);
	/* RC says 2 blocks, the packet holds 1. */
	b[0] = 0x82;
	assert_int_equal(rtcp_compound_decode(&s, b, len), -EBADMSG);
	/* Padding on the first of two packets. */
	b[0] = 0xa1;
	assert_int_equal(rtcp_compound_decode(&s, b, len), -EBADMSG);
	/* Version 1; an empty datagram. */
	b[0] = 0x41;
	assert_int_equal(rtcp_compound_decode(&s, b, len), -EBADMSG);
	assert_int_equal(rtcp_compound_decode(&s, b, 0), -EBADMSG);
}

static void test_stun_recognize(void **state)
{
	uint8_t req[20] = {0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1,  2,
	                   3, 4, 5, 6, 7,    8,    9,    10,   11, 12};
	uint8_t bad[24];

	(void)state;
	assert_true(stun_is(req, sizeof(req)));
	assert_int_equal(rtp_classify(req, sizeof(req)), RTP_KIND_STUN);
	/* Length field not matching the datagram; wrong cookie (RFC 3489 style). */
	memcpy(bad, req, 20);
	memset(bad + 20, 0, 4);
	assert_false(stun_is(bad, sizeof(bad)));
	bad[3] = 4;
	assert_true(stun_is(bad, sizeof(bad)));
	bad[4] = 0;
	assert_false(stun_is(bad, sizeof(bad)));
	assert_int_equal(rtp_classify(bad, sizeof(bad)), RTP_KIND_OTHER);
}

/* ---- pools ---------------------------------------------------------------- */

static void test_pool_ports(void **state)
{
	struct fix f = fix_open(NULL, "127.0.0.1", NULL);
	struct sockaddr_storage rtp, bad[1] = {addr_of("127.0.0.1", 0)};
	struct media_ep *eps[10], *ep;
	uint16_t rtcp;

	(void)state;
	assert_int_equal(media_pool_add(f.m, "edge", bad, 1, 30000, 30010), -EEXIST);
	assert_int_equal(media_pool_add(f.m, "x", bad, 1, 30001, 30001), -EINVAL);
	assert_int_equal(media_pool_add(f.m, "x", bad, 0, 30000, 30010), -EINVAL);
	assert_int_equal(media_ep_alloc(&ep, f.m, "nope", AF_UNSPEC, false), -ENOENT);
	assert_int_equal(media_ep_alloc(&ep, f.m, "edge", AF_INET6, false), -ENOENT);
	for (size_t i = 0; i < ARRAY_SIZE(eps); i++) {
		assert_int_equal(media_ep_alloc(&eps[i], f.m, "edge", AF_UNSPEC, i % 2), 0);
		media_ep_local(eps[i], &rtp, &rtcp);
		assert_int_equal(rtp.ss_family, AF_INET);
		assert_int_equal(port_of(&rtp) % 2, 0);
		assert_true(port_of(&rtp) >= f.base && port_of(&rtp) < f.base + POOL_SPAN);
		assert_int_equal(rtcp, i % 2 ? port_of(&rtp) : port_of(&rtp) + 1);
		for (size_t j = 0; j < i; j++) {
			struct sockaddr_storage o;

			media_ep_local(eps[j], &o, NULL);
			assert_int_not_equal(port_of(&o), port_of(&rtp));
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(eps); i++)
		media_ep_free(eps[i]);
	media_free(f.m);
}

static void test_pool_exhaust_quarantine(void **state)
{
	struct sockaddr_storage a[1] = {addr_of("127.0.0.1", 0)};
	struct media_ep *e1, *e2, *e3;
	struct media_conf c;
	struct buf out = {0};
	struct media *m;
	uint16_t base = pool_base();
	uint64_t t0;
	int err = 0;

	(void)state;
	media_conf_default(&c);
	c.quarantine_ms = 300;
	assert_int_equal(media_alloc(&m, &c), 0);
	/* An odd minimum: the first pair starts at the next even port; two pairs fit. */
	assert_int_equal(media_pool_add(m, "tiny", a, 1, base - 1, base + 3), 0);
	assert_int_equal(media_ep_alloc(&e1, m, "tiny", AF_INET, false), 0);
	assert_int_equal(media_ep_alloc(&e2, m, "tiny", AF_INET, false), 0);
	assert_int_equal(media_ep_alloc(&e3, m, "tiny", AF_INET, false), -EAGAIN);
	assert_int_equal(media_ep_alloc(&e3, m, "tiny", AF_INET, true), -EAGAIN);
	t0 = media_now_ms();
	media_ep_free(e1);
	/* The ports return (into quarantine) once the media thread has let go of e1. */
	for (int i = 0; i < 100; i++) {
		buf_reset(&out);
		assert_int_equal(media_metrics(m, &out), 0);
		if (strstr(out.p, "ixedge_media_ports_in_use{pool=\"tiny\"} 2\n"))
			break;
		sleep_ms(2);
	}
	assert_non_null(strstr(out.p, "ixedge_media_ports_in_use{pool=\"tiny\"} 2\n"));
	assert_int_equal(media_ep_alloc(&e3, m, "tiny", AF_INET, false), -EAGAIN);
	buf_reset(&out);
	assert_int_equal(media_metrics(m, &out), 0);
	assert_non_null(strstr(out.p, "ixedge_media_exhausted_total{pool=\"tiny\"} 3\n"));
	assert_non_null(strstr(out.p, "ixedge_media_endpoints 1\n"));
	for (int i = 0; i < 200; i++) {
		err = media_ep_alloc(&e3, m, "tiny", AF_INET, false);
		if (err != -EAGAIN)
			break;
		sleep_ms(10);
	}
	assert_int_equal(err, 0);
	assert_true(media_now_ms() - t0 >= 290);
	media_ep_free(e3);
	media_ep_free(e2);
	buf_free(&out);
	media_free(m);
}

/* ---- relay ---------------------------------------------------------------- */

/* Sends n RTP packets from `from` to `to` and checks they arrive at `at` from `via`. */
static void relay_check(const struct party *from, const struct sockaddr_storage *to,
                        const struct party *at, const struct sockaddr_storage *via, int n)
{
	uint8_t b[200], r[300];
	struct sockaddr_storage src;

	for (int i = 0; i < n; i++) {
		size_t len = rtp_build(b, (uint16_t)i, 0, 160);

		party_send(from, to, b, len);
		assert_int_equal(party_recv(at, r, sizeof(r), WAIT_MS, &src), (ssize_t)len);
		assert_memory_equal(b, r, len);
		assert_int_equal(port_of(&src), port_of(via));
	}
}

static void expect_nothing(const struct party *at)
{
	uint8_t r[300];
	struct sockaddr_storage src;

	assert_int_equal(party_recv(at, r, sizeof(r), QUIET_MS, &src), -1);
}

static void relay_pair(const char *ip, const struct media_conf *c)
{
	struct fix f = fix_open(c, ip, NULL);
	struct party s1 = party_open(ip), s2 = party_open(ip);
	struct sockaddr_storage a_rtp, b_rtp;
	struct media_ep *a, *b;
	struct media_stats st;

	assert_int_equal(media_ep_alloc(&a, f.m, "edge", AF_UNSPEC, false), 0);
	assert_int_equal(media_ep_alloc(&b, f.m, "edge", AF_UNSPEC, false), 0);
	a_rtp = ep_addr(a, 0);
	b_rtp = ep_addr(b, 0);
	media_ep_remote(a, &s1.addr, NULL, false);
	media_ep_remote(b, &s2.addr, NULL, false);
	media_ep_link(a, b);
	relay_check(&s1, &a_rtp, &s2, &b_rtp, 20);
	relay_check(&s2, &b_rtp, &s1, &a_rtp, 5);
	/* Send counters move after sendmmsg returns, maybe after the datagram arrived. */
	STATS_WAIT(a, tx_pkts, 5);
	STATS_WAIT(b, tx_pkts, 20);
	media_ep_stats(a, &st);
	assert_int_equal(st.rx_pkts, 20);
	assert_int_equal(st.rx_bytes, 20 * 172);
	assert_int_equal(st.tx_bytes, 5 * 172);
	assert_int_equal(st.dropped, 0);
	assert_true(st.last_rx_ms > 0 && st.last_rx_ms <= media_now_ms());
	assert_int_equal(media_ep_last_rx_ms(a), st.last_rx_ms);
	media_ep_stats(b, &st);
	assert_int_equal(st.rx_pkts, 5);
	assert_int_equal(st.tx_pkts, 20);
	assert_int_equal(st.tx_bytes, 20 * 172);
	media_ep_free(a);
	media_ep_free(b);
	close(s1.fd);
	close(s2.fd);
	media_free(f.m);
}

static void test_relay_v4(void **state)
{
	(void)state;
	relay_pair("127.0.0.1", NULL);
}

static void test_relay_v6(void **state)
{
	struct fix f;
	struct media_ep *ep;
	struct sockaddr_storage ss;

	(void)state;
	if (!v6_available())
		skip();
	relay_pair("::1", NULL);
	/* Two addresses: AF_UNSPEC alternates, a family picks. */
	f = fix_open(NULL, "127.0.0.1", "::1");
	for (int i = 0; i < 4; i++) {
		assert_int_equal(media_ep_alloc(&ep, f.m, "edge", AF_UNSPEC, false), 0);
		media_ep_local(ep, &ss, NULL);
		assert_int_equal(ss.ss_family, i % 2 ? AF_INET6 : AF_INET);
		media_ep_free(ep);
	}
	assert_int_equal(media_ep_alloc(&ep, f.m, "edge", AF_INET6, true), 0);
	media_ep_local(ep, &ss, NULL);
	assert_int_equal(ss.ss_family, AF_INET6);
	/* An IPv4 remote on an IPv6 endpoint is ignored rather than sent to. */
	ss = addr_of("127.0.0.1", 9);
	media_ep_remote(ep, &ss, NULL, true);
	media_ep_free(ep);
	media_free(f.m);
}

static void test_relay_threads(void **state)
{
	struct media_conf c;

	(void)state;
	media_conf_default(&c);
	c.threads = 3;
	relay_pair("127.0.0.1", &c);
}

/* Latching: the reply goes to the real source; a second source waits for silence. */
static void test_latch(void **state)
{
	struct media_conf c;
	struct fix f;
	struct party sdp, real, other, s2;
	struct sockaddr_storage a_rtp, b_rtp;
	struct media_ep *a, *b;
	uint8_t p[200];
	size_t len = rtp_build(p, 1, 8, 100);

	(void)state;
	media_conf_default(&c);
	c.relatch_ms = 300;
	f = fix_open(&c, "127.0.0.1", NULL);
	sdp = party_open("127.0.0.1");
	real = party_open("127.0.0.1");
	other = party_open("127.0.0.1");
	s2 = party_open("127.0.0.1");
	assert_int_equal(media_ep_alloc(&a, f.m, "edge", AF_INET, false), 0);
	assert_int_equal(media_ep_alloc(&b, f.m, "edge", AF_INET, false), 0);
	a_rtp = ep_addr(a, 0);
	b_rtp = ep_addr(b, 0);
	media_ep_remote(a, &sdp.addr, NULL, false);
	media_ep_remote(b, &s2.addr, NULL, false);
	media_ep_link(a, b);
	/* Nothing latched yet: the SDP address. */
	relay_check(&s2, &b_rtp, &sdp, &a_rtp, 1);
	/* The first packet from behind the NAT latches; replies follow it. */
	relay_check(&real, &a_rtp, &s2, &b_rtp, 1);
	relay_check(&s2, &b_rtp, &real, &a_rtp, 2);
	expect_nothing(&sdp);
	/* Another source while the latched one is talking: dropped. */
	party_send(&other, &a_rtp, p, len);
	STATS_WAIT(a, dropped, 1);
	expect_nothing(&s2);
	/* Silent long enough: the new source takes over. */
	sleep_ms(c.relatch_ms + 50);
	relay_check(&other, &a_rtp, &s2, &b_rtp, 1);
	relay_check(&s2, &b_rtp, &other, &a_rtp, 1);
	/* A new SDP address resets the latch at once. */
	media_ep_remote(a, &sdp.addr, NULL, false);
	relay_check(&s2, &b_rtp, &sdp, &a_rtp, 1);
	relay_check(&real, &a_rtp, &s2, &b_rtp, 1);
	relay_check(&s2, &b_rtp, &real, &a_rtp, 1);
	media_ep_free(b);
	media_ep_free(a);
	close(sdp.fd);
	close(real.fd);
	close(other.fd);
	close(s2.fd);
	media_free(f.m);
}

static void test_strict(void **state)
{
	struct media_conf c;
	struct fix f;
	struct party sdp, real, s2;
	struct sockaddr_storage a_rtp, b_rtp;
	struct media_ep *a, *b;
	uint8_t p[200];
	size_t len = rtp_build(p, 1, 8, 100);

	(void)state;
	media_conf_default(&c);
	c.strict_latch = true;
	f = fix_open(&c, "127.0.0.1", NULL);
	sdp = party_open("127.0.0.1");
	real = party_open("127.0.0.1");
	s2 = party_open("127.0.0.1");
	assert_int_equal(media_ep_alloc(&a, f.m, "edge", AF_INET, false), 0);
	assert_int_equal(media_ep_alloc(&b, f.m, "edge", AF_INET, false), 0);
	a_rtp = ep_addr(a, 0);
	b_rtp = ep_addr(b, 0);
	media_ep_link(a, b);
	media_ep_remote(b, &s2.addr, NULL, false);
	/* No SDP address yet: strict accepts nothing. */
	party_send(&sdp, &a_rtp, p, len);
	STATS_WAIT(a, dropped, 1);
	media_ep_remote(a, &sdp.addr, NULL, false);
	party_send(&real, &a_rtp, p, len);
	STATS_WAIT(a, dropped, 2);
	expect_nothing(&s2);
	relay_check(&sdp, &a_rtp, &s2, &b_rtp, 2);
	relay_check(&s2, &b_rtp, &sdp, &a_rtp, 2);
	expect_nothing(&real);
	media_ep_free(a);
	media_ep_free(b);
	close(sdp.fd);
	close(real.fd);
	close(s2.fd);
	media_free(f.m);
}

/* RTCP on the RTCP ports, the RR parsed into the receiving endpoint's stats. */
static void test_rtcp_relay(void **state)
{
	struct fix f = fix_open(NULL, "127.0.0.1", NULL);
	struct party s1 = party_open("127.0.0.1"), s1c = party_open("127.0.0.1");
	struct party s2 = party_open("127.0.0.1"), s2c = party_open("127.0.0.1");
	struct sockaddr_storage a_rtcp, b_rtcp, src;
	struct media_ep *a, *b;
	struct media_stats st;
	uint8_t p[128], r[256];
	size_t len = rtcp_rr_build(p, 0x40, -3, 1234);

	(void)state;
	assert_int_equal(media_ep_alloc(&a, f.m, "edge", AF_INET, false), 0);
	assert_int_equal(media_ep_alloc(&b, f.m, "edge", AF_INET, false), 0);
	a_rtcp = ep_addr(a, 1);
	b_rtcp = ep_addr(b, 1);
	media_ep_remote(a, &s1.addr, &s1c.addr, false);
	media_ep_remote(b, &s2.addr, &s2c.addr, false);
	media_ep_link(a, b);
	party_send(&s1c, &a_rtcp, p, len);
	assert_int_equal(party_recv(&s2c, r, sizeof(r), WAIT_MS, &src), (ssize_t)len);
	assert_memory_equal(p, r, len);
	assert_int_equal(port_of(&src), port_of(&b_rtcp));
	expect_nothing(&s2);
	media_ep_stats(a, &st);
	assert_int_equal(st.rtcp_rx, 1);
	assert_int_equal(st.rr_blocks, 1);
	assert_int_equal(st.rr_fraction_lost, 0x40);
	assert_int_equal(st.rr_cum_lost, -3);
	assert_int_equal(st.rr_jitter, 1234);
	/* The other way, and an RTCP that does not parse is still relayed, without stats. */
	len = rtcp_rr_build(p, 1, 2, 3);
	p[0] = 0x82;
	party_send(&s2c, &b_rtcp, p, len);
	assert_int_equal(party_recv(&s1c, r, sizeof(r), WAIT_MS, &src), (ssize_t)len);
	media_ep_stats(b, &st);
	assert_int_equal(st.rtcp_rx, 1);
	assert_int_equal(st.rr_blocks, 0);
	media_ep_free(a);
	media_ep_free(b);
	close(s1.fd);
	close(s1c.fd);
	close(s2.fd);
	close(s2c.fd);
	media_free(f.m);
}

/* a muxed (one port) facing a muxed remote, b classic facing a classic remote. */
static void test_mux(void **state)
{
	struct fix f = fix_open(NULL, "127.0.0.1", NULL);
	struct party s1 = party_open("127.0.0.1");
	struct party s2 = party_open("127.0.0.1"), s2c = party_open("127.0.0.1");
	struct sockaddr_storage a_rtp, b_rtp, b_rtcp, src;
	struct media_ep *a, *b;
	struct media_stats st;
	uint8_t p[128], r[256];
	size_t len;
	uint16_t rtcp;

	(void)state;
	assert_int_equal(media_ep_alloc(&a, f.m, "edge", AF_INET, true), 0);
	assert_int_equal(media_ep_alloc(&b, f.m, "edge", AF_INET, false), 0);
	media_ep_local(a, &a_rtp, &rtcp);
	assert_int_equal(rtcp, port_of(&a_rtp));
	b_rtp = ep_addr(b, 0);
	b_rtcp = ep_addr(b, 1);
	media_ep_remote(a, &s1.addr, NULL, true);
	media_ep_remote(b, &s2.addr, &s2c.addr, false);
	media_ep_link(a, b);
	/* RTP and RTCP on a's one port: RTP to b's RTP remote, RTCP to its RTCP remote. */
	relay_check(&s1, &a_rtp, &s2, &b_rtp, 2);
	len = rtcp_rr_build(p, 9, 1, 2);
	party_send(&s1, &a_rtp, p, len);
	assert_int_equal(party_recv(&s2c, r, sizeof(r), WAIT_MS, &src), (ssize_t)len);
	assert_int_equal(port_of(&src), port_of(&b_rtcp));
	media_ep_stats(a, &st);
	assert_int_equal(st.rtcp_rx, 1);
	assert_int_equal(st.rr_fraction_lost, 9);
	/* b's RTCP comes back on a's one port, to s1's one port. */
	party_send(&s2c, &b_rtcp, p, len);
	assert_int_equal(party_recv(&s1, r, sizeof(r), WAIT_MS, &src), (ssize_t)len);
	assert_int_equal(port_of(&src), port_of(&a_rtp));
	relay_check(&s2, &b_rtp, &s1, &a_rtp, 1);
	/* b's remote switches to rtcp-mux: RTCP toward it leaves b's RTP port. */
	media_ep_remote(b, &s2.addr, NULL, true);
	party_send(&s1, &a_rtp, p, len);
	assert_int_equal(party_recv(&s2, r, sizeof(r), WAIT_MS, &src), (ssize_t)len);
	assert_int_equal(port_of(&src), port_of(&b_rtp));
	media_ep_free(a);
	media_ep_free(b);
	close(s1.fd);
	close(s2.fd);
	close(s2c.fd);
	media_free(f.m);
}

static void test_unlink_stun(void **state)
{
	struct fix f = fix_open(NULL, "127.0.0.1", NULL);
	struct party s1 = party_open("127.0.0.1"), s2 = party_open("127.0.0.1");
	struct sockaddr_storage a_rtp, b_rtp;
	struct media_ep *a, *b;
	struct media_stats st;
	struct buf out = {0};
	uint8_t stun[20] = {0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42}, junk[30] = {0x17, 0xfe, 0xfd};
	uint8_t p[200];
	size_t len = rtp_build(p, 1, 0, 160);

	(void)state;
	assert_int_equal(media_ep_alloc(&a, f.m, "edge", AF_INET, false), 0);
	assert_int_equal(media_ep_alloc(&b, f.m, "edge", AF_INET, false), 0);
	a_rtp = ep_addr(a, 0);
	b_rtp = ep_addr(b, 0);
	media_ep_remote(a, &s1.addr, NULL, false);
	media_ep_remote(b, &s2.addr, NULL, false);
	media_ep_link(a, b);
	relay_check(&s1, &a_rtp, &s2, &b_rtp, 1);
	/* STUN is counted and dropped; DTLS-looking junk is dropped. */
	party_send(&s1, &a_rtp, stun, sizeof(stun));
	party_send(&s1, &a_rtp, junk, sizeof(junk));
	STATS_WAIT(a, dropped, 1);
	STATS_WAIT(a, stun_rx, 1);
	expect_nothing(&s2);
	media_ep_link(a, NULL);
	party_send(&s1, &a_rtp, p, len);
	party_send(&s2, &b_rtp, p, len);
	STATS_WAIT(a, dropped, 2);
	STATS_WAIT(b, dropped, 1);
	expect_nothing(&s2);
	expect_nothing(&s1);
	media_ep_stats(a, &st);
	assert_int_equal(st.rx_pkts, 4);
	assert_int_equal(st.tx_pkts, 0);
	/* Relinked: flows again. */
	media_ep_link(b, a);
	relay_check(&s2, &b_rtp, &s1, &a_rtp, 1);
	assert_int_equal(media_metrics(f.m, &out), 0);
	assert_non_null(strstr(out.p, "ixedge_media_stun_packets_total 1\n"));
	assert_non_null(strstr(out.p, "ixedge_media_rx_packets_total 6\n"));
	assert_non_null(strstr(out.p, "ixedge_media_ports_in_use{pool=\"edge\"} 4\n"));
	buf_free(&out);
	media_ep_free(a);
	media_ep_free(b);
	close(s1.fd);
	close(s2.fd);
	media_free(f.m);
}

/* ---- free while packets flow ---------------------------------------------- */

struct blaster {
	struct party s;
	struct sockaddr_storage to[8];
	_Atomic int nto;
	_Atomic bool stop;
	pthread_mutex_t lock;
};

static void *blast_main(void *arg)
{
	struct blaster *bl = arg;
	uint8_t p[200];
	size_t len = rtp_build(p, 1, 0, 160);

	/* Bounded: 2 s at most even if the main thread fails. */
	for (uint64_t t0 = media_now_ms(); !bl->stop && media_now_ms() - t0 < 2000;) {
		struct sockaddr_storage to[8];
		int n;

		pthread_mutex_lock(&bl->lock);
		n = bl->nto;
		memcpy(to, bl->to, sizeof(to));
		pthread_mutex_unlock(&bl->lock);
		for (int i = 0; i < n; i++)
			sendto(bl->s.fd, p, len, MSG_DONTWAIT, (struct sockaddr *)&to[i],
			       ss_len(&to[i]));
	}
	return NULL;
}

static void test_free_under_traffic(void **state)
{
	struct media_conf c;
	struct fix f;
	struct blaster bl = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct party sink = party_open("127.0.0.1");
	pthread_t tid;
	uint64_t relayed = 0;

	(void)state;
	media_conf_default(&c);
	c.threads = 2;
	c.quarantine_ms = 0;
	f = fix_open(&c, "127.0.0.1", NULL);
	bl.s = party_open("127.0.0.1");
	assert_int_equal(pthread_create(&tid, NULL, blast_main, &bl), 0);
	for (int round = 0; round < 40; round++) {
		struct media_ep *ep[4];
		struct media_stats st;

		for (int i = 0; i < 4; i++) {
			assert_int_equal(media_ep_alloc(&ep[i], f.m, "edge", AF_INET, i == 3), 0);
			media_ep_remote(ep[i], &sink.addr, NULL, false);
		}
		media_ep_link(ep[0], ep[1]);
		media_ep_link(ep[2], ep[3]);
		pthread_mutex_lock(&bl.lock);
		for (int i = 0; i < 4; i++) {
			bl.to[2 * i] = ep_addr(ep[i], 0);
			bl.to[2 * i + 1] = ep_addr(ep[i], 1);
		}
		bl.nto = 8;
		pthread_mutex_unlock(&bl.lock);
		sleep_ms(3);
		/* Relink across while packets flow, then free in an order that leaves peers
		 * dangling. */
		media_ep_link(ep[1], ep[2]);
		media_ep_free(ep[round % 4]);
		sleep_ms(1);
		for (int i = 0; i < 4; i++) {
			if (i == round % 4)
				continue;
			media_ep_stats(ep[i], &st);
			relayed += st.tx_pkts;
			media_ep_free(ep[i]);
		}
		/* Drain what reached the sink so its buffer never fills. */
		while (recv(sink.fd, (char[256]){0}, 256, MSG_DONTWAIT) > 0)
			;
	}
	bl.stop = true;
	pthread_join(tid, NULL);
	assert_true(relayed > 0);
	close(bl.s.fd);
	close(sink.fd);
	media_free(f.m);
}

/* Endpoints left at media_free are freed with it (checked by ASan's leak report). */
static void test_free_with_live_eps(void **state)
{
	struct fix f = fix_open(NULL, "127.0.0.1", NULL);
	struct media_ep *a, *b;

	(void)state;
	assert_int_equal(media_ep_alloc(&a, f.m, "edge", AF_INET, false), 0);
	assert_int_equal(media_ep_alloc(&b, f.m, "edge", AF_INET, true), 0);
	media_ep_link(a, b);
	media_free(f.m);
	media_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rtp_decode),
	    cmocka_unit_test(test_rtcp_decode),
	    cmocka_unit_test(test_stun_recognize),
	    cmocka_unit_test(test_pool_ports),
	    cmocka_unit_test(test_pool_exhaust_quarantine),
	    cmocka_unit_test(test_relay_v4),
	    cmocka_unit_test(test_relay_v6),
	    cmocka_unit_test(test_relay_threads),
	    cmocka_unit_test(test_latch),
	    cmocka_unit_test(test_strict),
	    cmocka_unit_test(test_rtcp_relay),
	    cmocka_unit_test(test_mux),
	    cmocka_unit_test(test_unlink_stun),
	    cmocka_unit_test(test_free_under_traffic),
	    cmocka_unit_test(test_free_with_live_eps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
