/* Unit tests: SDP parse (valid bodies, every error with its status and reason) and the per-leg
 * rewrite. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sdp/sdp.h"

#define HEAD "v=0\r\no=alice 2890844526 2890844526 IN IP4 host.atlanta.example\r\ns=-\r\n"
#define C4   "c=IN IP4 198.51.100.7\r\n"
#define T0   "t=0 0\r\n"
#define AUD  "m=audio 49170 RTP/AVP 0 8 101\r\n"

static struct slice S(const char *s) {
	return (struct slice){s, strlen(s)};
}

static void
addr_is(const struct sockaddr_storage *ss, const char *want, uint16_t port)
{
	char text[INET6_ADDRSTRLEN] = "";
	uint16_t got_port;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, text, sizeof(text));
		got_port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, text,
		          sizeof(text));
		got_port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else {
		fail_msg("address family %d, want %s", ss->ss_family, want);
		return;
	}
	assert_string_equal(text, want);
	assert_int_equal(got_port, port);
}

static struct sockaddr_storage ip(const char *text)
{
	struct sockaddr_storage ss = {0};

	if (strchr(text, ':')) {
		ss.ss_family = AF_INET6;
		assert_int_equal(
		    inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
	} else {
		ss.ss_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr),
		                 1);
	}
	return ss;
}

/* ------------------------------------------------------------ valid bodies */

struct want_media {
	const char *type;
	uint16_t port;
	const char *addr; /* NULL: no address */
	enum sdp_dir dir;
	bool hold, rtp, usable, mux, ice;
	uint16_t rtcp_port;
	const char *rtcp_addr; /* a=rtcp with an address */
};

struct parse_case {
	const char *name;
	const char *sdp;
	int rc; /* 0, or -ENOTSUP for "complete but nothing usable" */
	size_t nmedia;
	struct want_media m[3];
};

static const struct parse_case parse_cases[] = {
    {"audio",
     HEAD C4 T0 AUD "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
                    "a=fmtp:101 0-15\r\na=ptime:20\r\n",
     0,
     1,
     {{"audio", 49170, "198.51.100.7", SDP_SENDRECV, .rtp = 1, .usable = 1, .rtcp_port = 49171}}},
    {"audio+video, LF only",
     "v=0\no=- 1 1 IN IP4 203.0.113.5\ns=call\nc=IN IP4 203.0.113.5\nt=0 0\n"
     "m=audio 5004 RTP/AVP 0\nm=video 5006 RTP/AVPF 96 97\na=rtpmap:96 H264/90000\n",
     0,
     2,
     {{"audio", 5004, "203.0.113.5", SDP_SENDRECV, .rtp = 1, .usable = 1, .rtcp_port = 5005},
      {"video", 5006, "203.0.113.5", SDP_SENDRECV, .rtp = 1, .usable = 1, .rtcp_port = 5007}}},
    {"rtcp-mux",
     HEAD C4 T0 AUD "a=rtcp-mux\r\n",
     0,
     1,
     {{"audio", 49170, "198.51.100.7", .rtp = 1, .usable = 1, .mux = 1, .rtcp_port = 49171}}},
    {"a=rtcp with an address",
     HEAD C4 T0 AUD "a=rtcp:53020 IN IP4 126.16.64.4\r\n",
     0,
     1,
     {{"audio", 49170, "198.51.100.7", .rtp = 1, .usable = 1, .rtcp_port = 53020,
       .rtcp_addr = "126.16.64.4"}}},
    {"a=rtcp port only",
     HEAD C4 T0 AUD "a=rtcp:60001\r\n",
     0,
     1,
     {{"audio", 49170, "198.51.100.7", .rtp = 1, .usable = 1, .rtcp_port = 60001}}},
    {"IPv6",
     "v=0\r\no=bob 1 2 IN IP6 2001:db8::2\r\ns= \r\nc=IN IP6 2001:db8::2\r\nt=0 0\r\n"
     "m=audio 6000 RTP/SAVP 0\r\na=rtcp:6001 IN IP6 2001:db8::3\r\n",
     0,
     1,
     {{"audio", 6000, "2001:db8::2", .rtp = 1, .usable = 1, .rtcp_port = 6001,
       .rtcp_addr = "2001:db8::3"}}},
    {"hold sendonly",
     HEAD C4 T0 AUD "a=sendonly\r\n",
     0,
     1,
     {{"audio", 49170, "198.51.100.7", SDP_SENDONLY, .rtp = 1, .usable = 1, .rtcp_port = 49171}}},
    {"hold inactive",
     HEAD C4 T0 AUD "a=inactive\r\n",
     0,
     1,
     {{"audio", 49170, "198.51.100.7", SDP_INACTIVE, .rtp = 1, .usable = 1, .rtcp_port = 49171}}},
    {"hold c=0.0.0.0 (RFC 2543)",
     HEAD "c=IN IP4 0.0.0.0\r\n" T0 AUD,
     0,
     1,
     {{"audio", 49170, "0.0.0.0", SDP_SENDONLY, .hold = 1, .rtp = 1, .usable = 1,
       .rtcp_port = 49171}}},
    {"c=0.0.0.0 with recvonly",
     HEAD "c=IN IP4 0.0.0.0\r\n" T0 AUD "a=recvonly\r\n",
     0,
     1,
     {{"audio", 49170, "0.0.0.0", SDP_INACTIVE, .hold = 1, .rtp = 1, .usable = 1,
       .rtcp_port = 49171}}},
    {"port 0 stream, no c= needed for it",
     HEAD T0 "m=video 0 RTP/AVP 96\r\n" AUD C4,
     0,
     2,
     {{"video", 0, NULL, .rtp = 1},
      {"audio", 49170, "198.51.100.7", .rtp = 1, .usable = 1, .rtcp_port = 49171}}},
    {"WebRTC, ICE",
     "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
     "a=group:BUNDLE 0\r\na=ice-options:trickle\r\na=msid-semantic: WMS\r\n"
     "m=audio 54400 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 203.0.113.9\r\n"
     "a=rtcp:9 IN IP4 0.0.0.0\r\n"
     "a=candidate:1 1 udp 2113937151 192.168.1.4 54400 typ host generation 0\r\n"
     "a=candidate:2 1 udp 1845501695 203.0.113.9 54400 typ srflx raddr 192.168.1.4 rport "
     "54400\r\na=end-of-candidates\r\n"
     "a=ice-ufrag:F7gI\r\na=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\n"
     "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:"
     "34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\n"
     "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n",
     0,
     1,
     {{"audio", 54400, "203.0.113.9", SDP_SENDRECV, .rtp = 1, .usable = 1, .mux = 1, .ice = 1,
       .rtcp_port = 9, .rtcp_addr = "0.0.0.0"}}},
    {"session-level direction",
     HEAD C4 T0 "a=sendonly\r\n" AUD "m=video 5006 RTP/AVP 96\r\na=recvonly\r\n",
     0,
     2,
     {{"audio", 49170, "198.51.100.7", SDP_SENDONLY, .rtp = 1, .usable = 1, .rtcp_port = 49171},
      {"video", 5006, "198.51.100.7", SDP_RECVONLY, .rtp = 1, .usable = 1, .rtcp_port = 5007}}},
    {"media c= wins",
     HEAD C4 T0 AUD "c=IN IP4 198.51.100.99\r\nm=audio 49180 RTP/AVP 0\r\n",
     0,
     2,
     {{"audio", 49170, "198.51.100.99", .rtp = 1, .usable = 1, .rtcp_port = 49171},
      {"audio", 49180, "198.51.100.7", .rtp = 1, .usable = 1, .rtcp_port = 49181}}},
    {"T.38 beside audio",
     HEAD C4 T0 AUD "m=image 49172 udptl t38\r\na=T38FaxVersion:0\r\n",
     0,
     2,
     {{"audio", 49170, "198.51.100.7", .rtp = 1, .usable = 1, .rtcp_port = 49171},
      {"image", 49172, "198.51.100.7", .rtcp_port = 49173}}},
    {"port range is not usable",
     HEAD C4 T0 "m=audio 49170/2 RTP/AVP 0\r\n" AUD,
     0,
     2,
     {{"audio", 49170, "198.51.100.7", .rtp = 1, .rtcp_port = 49171},
      {"audio", 49170, "198.51.100.7", .rtp = 1, .usable = 1, .rtcp_port = 49171}}},
    {"trailing blanks and a trailing empty line",
     HEAD C4 T0 AUD "a=sendonly \r\n\r\n",
     0,
     1,
     {{"audio", 49170, "198.51.100.7", SDP_SENDONLY, .rtp = 1, .usable = 1, .rtcp_port = 49171}}},
    {"every stream rejected: complete, 488",
     HEAD C4 T0 "m=audio 0 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n",
     -ENOTSUP,
     2,
     {{"audio", 0, "198.51.100.7", .rtp = 1}, {"video", 0, "198.51.100.7", .rtp = 1}}},
};

static void check_media(const struct sdp_media *m, const struct want_media *w)
{
	assert_true(slice_eq(m->type, S(w->type)));
	assert_int_equal(m->port, w->port);
	assert_int_equal(m->has_addr, w->addr != NULL);
	if (w->addr)
		addr_is(&m->addr, w->addr, 0);
	assert_int_equal(m->dir, w->dir);
	assert_int_equal(m->hold_addr, w->hold);
	assert_int_equal(m->rtp, w->rtp);
	assert_int_equal(m->usable, w->usable);
	assert_int_equal(m->rtcp_mux, w->mux);
	assert_int_equal(m->ice, w->ice);
	assert_int_equal(m->rtcp_port, w->rtcp_port);
	assert_int_equal(m->has_rtcp_addr, w->rtcp_addr != NULL);
	if (w->rtcp_addr)
		addr_is(&m->rtcp_addr, w->rtcp_addr, 0);
}

static void test_parse_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		const struct parse_case *pc = &parse_cases[i];
		struct sdp sdp;
		struct sdp_err err;
		int rc = sdp_parse(&sdp, S(pc->sdp), &err);

		print_message("case: %s\n", pc->name);
		if (rc != pc->rc)
			fail_msg("%s: rc %d, want %d (%s)", pc->name, rc, pc->rc, err.what);
		assert_true(sdp.complete);
		assert_int_equal(err.status, pc->rc ? 488 : 0);
		assert_int_equal(sdp.nmedia, pc->nmedia);
		for (size_t j = 0; j < pc->nmedia; j++)
			check_media(&sdp.media[j], &pc->m[j]);
	}
}

static void test_parse_fields(void **state)
{
	const char *body = parse_cases[0].sdp;
	struct sdp sdp;

	(void)state;
	assert_int_equal(sdp_parse(&sdp, S(body), NULL), 0);
	assert_true(slice_eq(sdp.o_user, SLICE("alice")));
	assert_true(slice_eq(sdp.o_sess_id, SLICE("2890844526")));
	assert_true(slice_eq(sdp.o_version, SLICE("2890844526")));
	assert_true(slice_eq(sdp.o_addr, SLICE("host.atlanta.example")));
	assert_true(slice_eq(sdp.name, SLICE("-")));
	assert_true(slice_eq(sdp.media[0].proto, SLICE("RTP/AVP")));
	assert_true(slice_eq(sdp.media[0].fmts, SLICE("0 8 101")));
	assert_int_equal(sdp.media[0].nports, 1);
	assert_int_equal(sdp.media[0].line, 6);
	assert_int_equal(sdp.nusable, 1);
	/* The sections tile the body. */
	assert_ptr_equal(sdp.sess.p, body);
	assert_ptr_equal(sdp.media[0].sect.p, body + sdp.sess.len);
	assert_int_equal(sdp.sess.len + sdp.media[0].sect.len, strlen(body));
}

/* ------------------------------------------------------------------ errors */

struct err_case {
	const char *sdp;
	int rc;
	uint16_t status;
	const char *what;
};

static const struct err_case err_cases[] = {
    {"", -EBADMSG, 400, "empty body"},
    {"\r\n", -EBADMSG, 400, "v=: missing"},
    {"o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n", -EBADMSG, 400, "line 1: v=: must be the first line"},
    {"v=1\r\n", -EBADMSG, 400, "line 1: v=: version must be 0"},
    {"v=0\r\nv=0\r\n", -EBADMSG, 400, "line 2: v=: duplicate"},
    {"v=0\r\ns=-\r\n" T0 C4 AUD, -EBADMSG, 400, "o=: missing"},
    {"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n" T0 C4 AUD, -EBADMSG, 400, "s=: missing"},
    {HEAD C4 AUD, -EBADMSG, 400, "t=: missing"},
    {"v=0\r\no=- 1 1 IN IP4\r\n", -EBADMSG, 400, "line 2: o=: expected 6 fields"},
    {"v=0\r\no=- 1 1 IN IP4 a b\r\n", -EBADMSG, 400, "line 2: o=: expected 6 fields"},
    {"v=0\r\no=- x1 1 IN IP4 a\r\n", -EBADMSG, 400, "line 2: o=: bad sess-id"},
    {"v=0\r\no=- 1 -1 IN IP4 a\r\n", -EBADMSG, 400, "line 2: o=: bad sess-version"},
    {HEAD "s=again\r\n", -EBADMSG, 400, "line 4: s=: duplicate"},
    {HEAD "t=0\r\n", -EBADMSG, 400, "line 4: t=: expected <start-time> <stop-time>"},
    {HEAD "r=7d 1h 0 25h\r\n" T0, -EBADMSG, 400, "line 4: r=: before t="},
    {HEAD "b=AS\r\n", -EBADMSG, 400, "line 4: b=: expected <bwtype>:<bandwidth>"},
    {HEAD T0 AUD, -EBADMSG, 400, "line 5: m=: no c= in the media or the session section"},
    {HEAD C4 T0 "m=audio 65536 RTP/AVP 0\r\n", -EBADMSG, 400, "line 6: m=: bad port"},
    {HEAD C4 T0 "m=audio -1 RTP/AVP 0\r\n", -EBADMSG, 400, "line 6: m=: bad port"},
    {HEAD C4 T0 "m=audio 4000/0 RTP/AVP 0\r\n", -EBADMSG, 400, "line 6: m=: bad port count"},
    {HEAD C4 T0 "m=audio 4000 RTP/AVP\r\n", -EBADMSG, 400, "line 6: m=: no formats"},
    {HEAD C4 T0 "m=audio 4000 RTP/AVP \r\n", -EBADMSG, 400, "line 6: m=: no formats"},
    {HEAD C4 T0 "m=audio 4000\r\n", -EBADMSG, 400,
     "line 6: m=: expected <media> <port> <proto> <fmt>..."},
    {HEAD C4 T0 "m=audio 4000 RTP//AVP 0\r\n", -EBADMSG, 400, "line 6: m=: bad proto"},
    {HEAD C4 T0 "m=audio 4000 RTP/AVP 0 128\r\n", -EBADMSG, 400,
     "line 6: m=: bad RTP payload type"},
    {HEAD C4 T0 "m=audio 4000 RTP/AVP PCMU\r\n", -EBADMSG, 400, "line 6: m=: bad RTP payload type"},
    {HEAD "c=IN IP4 pbx.example.com\r\n" T0 AUD, -ENOTSUP, 488,
     "line 4: c=: host names are not supported"},
    {HEAD "c=IN IP4 224.2.36.42/127\r\n" T0 AUD, -ENOTSUP, 488,
     "line 4: c=: multicast is not supported"},
    {HEAD "c=IN IP6 ff15::101\r\n" T0 AUD, -ENOTSUP, 488, "line 4: c=: multicast is not supported"},
    {HEAD "c=IN IP4 192.0.2.1/127\r\n" T0 AUD, -EBADMSG, 400,
     "line 4: c=: a /ttl or /count is only for multicast"},
    {HEAD "c=IN IP4 192.0.2\r\n" T0 AUD, -EBADMSG, 400, "line 4: c=: bad IPv4 address"},
    {HEAD "c=IN IP4 2001:db8::1\r\n" T0 AUD, -EBADMSG, 400, "line 4: c=: bad IPv4 address"},
    {HEAD "c=IN IP6 192.0.2.1\r\n" T0 AUD, -EBADMSG, 400, "line 4: c=: bad IPv6 address"},
    {HEAD "c=IN IP4\r\n" T0 AUD, -EBADMSG, 400, "line 4: c=: expected 'IN IP4|IP6 address'"},
    {HEAD "c=ATM NSAP 47.0005\r\n" T0 AUD, -ENOTSUP, 488,
     "line 4: c=: network types other than IN are not supported"},
    {HEAD "c=IN IPX 1.2.3.4\r\n" T0 AUD, -ENOTSUP, 488,
     "line 4: c=: address types other than IP4 and IP6 are not supported"},
    {HEAD C4 C4, -EBADMSG, 400, "line 5: c=: duplicate"},
    {HEAD T0 AUD C4 C4, -ENOTSUP, 488, "line 7: c=: more than one address is not supported"},
    {HEAD C4 T0 "x=1\r\n", -EBADMSG, 400, "line 6: x=: unknown line type"},
    {HEAD "S=-\r\n", -EBADMSG, 400, "line 4: expected <type>=<value>"},
    {HEAD "junk\r\n", -EBADMSG, 400, "line 4: expected <type>=<value>"},
    {HEAD "a\r\n", -EBADMSG, 400, "line 4: expected <type>=<value>"},
    {HEAD C4 T0 AUD "e=a@b.example\r\n", -EBADMSG, 400,
     "line 7: e=: not allowed in a media section"},
    {HEAD C4 T0 AUD "t=0 0\r\n", -EBADMSG, 400, "line 7: t=: not allowed in a media section"},
    {HEAD C4 T0 AUD "a=\r\n", -EBADMSG, 400, "line 7: a=: bad attribute name"},
    {HEAD C4 T0 AUD "a=:x\r\n", -EBADMSG, 400, "line 7: a=: bad attribute name"},
    {HEAD C4 T0 AUD "a=sendonly\r\na=recvonly\r\n", -EBADMSG, 400,
     "line 8: a=recvonly: conflicts with a=sendonly"},
    {HEAD C4 T0 AUD "a=inactive:1\r\n", -EBADMSG, 400, "line 7: a=inactive: takes no value"},
    {HEAD C4 T0 AUD "a=rtcp:0\r\n", -EBADMSG, 400, "line 7: a=rtcp: bad port"},
    {HEAD C4 T0 AUD "a=rtcp:x\r\n", -EBADMSG, 400, "line 7: a=rtcp: bad port"},
    {HEAD C4 T0 AUD "a=rtcp:5000\r\na=rtcp:5001\r\n", -EBADMSG, 400, "line 8: a=rtcp: duplicate"},
    {HEAD C4 T0 "a=rtcp:5000\r\n" AUD, -EBADMSG, 400,
     "line 6: a=rtcp: only valid in a media section"},
    {HEAD C4 T0 AUD "a=rtcp:5001 IN IP4 rtcp.example\r\n", -ENOTSUP, 488,
     "line 7: a=rtcp: host names are not supported"},
    {HEAD C4 T0 AUD "a=rtcp:5001 IN IP4 1.2.3.256\r\n", -EBADMSG, 400,
     "line 7: a=rtcp: bad IPv4 address"},
    {HEAD C4 T0 AUD "a=x\0y\r\n", -EBADMSG, 400, "line 7: NUL byte"},
    {HEAD C4 T0 AUD "a=x\ry\r\n", -EBADMSG, 400, "line 7: CR without LF"},
    {HEAD C4 T0 "\r\n" AUD, -EBADMSG, 400, "line 7: blank line inside the body"},
    {HEAD C4 T0, -ENOTSUP, 488, "no usable media: every m= has port 0 or a non-RTP transport"},
    {HEAD C4 T0 "m=message 7394 TCP/MSRP *\r\n", -ENOTSUP, 488,
     "no usable media: every m= has port 0 or a non-RTP transport"},
    {HEAD C4 T0 "m=audio 0 RTP/AVP 0\r\n", -ENOTSUP, 488,
     "no usable media: every m= has port 0 or a non-RTP transport"},
};

static void expect_err(struct slice body, int want_rc, uint16_t status, const char *what)
{
	struct sdp sdp;
	struct sdp_err err;
	int rc = sdp_parse(&sdp, body, &err);

	if (rc != want_rc || err.status != status || strcmp(err.what, what))
		fail_msg("'%.*s...': got %d %u '%s', want %d %u '%s'",
		         (int)(body.len > 60 ? 60 : body.len), body.p, rc, err.status, err.what,
		         want_rc, status, what);
}

static void test_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
		const struct err_case *ec = &err_cases[i];
		/* The NUL case needs its real length. */
		size_t len = strlen(ec->sdp);

		if (strstr(ec->what, "NUL"))
			len += 1 + strlen(ec->sdp + len + 1);
		expect_err((struct slice){ec->sdp, len}, ec->rc, ec->status, ec->what);
	}
}

static void test_parse_limits(void **state)
{
	struct buf b = {0};
	char what[128];

	(void)state;
	/* 17 m= lines */
	assert_int_equal(buf_append_cstr(&b, HEAD C4 T0), 0);
	for (int i = 0; i < 17; i++)
		assert_int_equal(buf_printf(&b, "m=audio %d RTP/AVP 0\r\n", 4000 + 2 * i), 0);
	expect_err(buf_slice(&b), -E2BIG, 400, "line 22: m=: more than 16 media sections");
	/* a line one byte too long, and one that just fits */
	buf_reset(&b);
	assert_int_equal(buf_append_cstr(&b, HEAD C4 T0 AUD "a=x:"), 0);
	for (size_t i = 4; i < SDP_MAX_LINE; i++)
		assert_int_equal(buf_append_cstr(&b, "y"), 0);
	assert_int_equal(buf_append_cstr(&b, "\r\n"), 0);
	{
		struct sdp sdp;

		assert_int_equal(sdp_parse(&sdp, buf_slice(&b), NULL), 0);
	}
	b.len -= 2;
	assert_int_equal(buf_append_cstr(&b, "y\r\n"), 0);
	expect_err(buf_slice(&b), -E2BIG, 400, "line 7: longer than 2048 bytes");
	/* too many lines */
	buf_reset(&b);
	assert_int_equal(buf_append_cstr(&b, HEAD C4 T0 AUD), 0);
	for (int i = 6; i < SDP_MAX_LINES + 1; i++)
		assert_int_equal(buf_append_cstr(&b, "a=x\r\n"), 0);
	snprintf(what, sizeof(what), "line %d: more than %d lines", SDP_MAX_LINES + 1,
	         SDP_MAX_LINES);
	expect_err(buf_slice(&b), -E2BIG, 400, what);
	/* too many bytes */
	buf_reset(&b);
	assert_int_equal(buf_append_cstr(&b, HEAD C4 T0 AUD), 0);
	while (b.len <= SDP_MAX_SIZE)
		assert_int_equal(buf_append_cstr(&b, "a=x\r\n"), 0);
	expect_err(buf_slice(&b), -E2BIG, 400, "body larger than 65536 bytes");
	buf_free(&b);
}

static void test_media_remote(void **state)
{
	struct sockaddr_storage rtp, rtcp;
	struct sdp sdp;

	(void)state;
	assert_int_equal(sdp_parse(&sdp, S(HEAD C4 T0 AUD), NULL), 0);
	assert_int_equal(sdp_media_remote(&sdp.media[0], &rtp, &rtcp), 0);
	addr_is(&rtp, "198.51.100.7", 49170);
	addr_is(&rtcp, "198.51.100.7", 49171);
	assert_int_equal(
	    sdp_parse(&sdp, S(HEAD C4 T0 AUD "a=rtcp:53020 IN IP6 2001:db8::9\r\n"), NULL), 0);
	assert_int_equal(sdp_media_remote(&sdp.media[0], &rtp, &rtcp), 0);
	addr_is(&rtp, "198.51.100.7", 49170);
	addr_is(&rtcp, "2001:db8::9", 53020);
	assert_int_equal(sdp_parse(&sdp, S(HEAD C4 T0 AUD "a=rtcp:53020\r\na=rtcp-mux\r\n"), NULL),
	                 0);
	assert_int_equal(sdp_media_remote(&sdp.media[0], &rtp, &rtcp), 0);
	addr_is(&rtcp, "198.51.100.7", 49170);
	assert_int_equal(sdp_parse(&sdp, S(HEAD "c=IN IP6 2001:db8::5\r\n" T0 AUD), NULL), 0);
	assert_int_equal(sdp_media_remote(&sdp.media[0], &rtp, &rtcp), 0);
	addr_is(&rtp, "2001:db8::5", 49170);
	addr_is(&rtcp, "2001:db8::5", 49171);
	/* m= port 65535: RTCP has no port + 1 */
	assert_int_equal(sdp_parse(&sdp, S(HEAD C4 T0 "m=audio 65535 RTP/AVP 0\r\n"), NULL), 0);
	assert_int_equal(sdp_media_remote(&sdp.media[0], &rtp, &rtcp), 0);
	addr_is(&rtcp, "198.51.100.7", 0);
	/* nowhere to send: hold address, rejected stream, not RTP */
	assert_int_equal(sdp_parse(&sdp, S(HEAD "c=IN IP4 0.0.0.0\r\n" T0 AUD), NULL), 0);
	assert_int_equal(sdp_media_remote(&sdp.media[0], &rtp, &rtcp), -ENOENT);
	assert_int_equal(sdp_parse(&sdp,
	                           S(HEAD C4 T0 AUD "m=audio 0 RTP/AVP 0\r\n"
	                                            "m=image 5000 udptl t38\r\n"),
	                           NULL),
	                 0);
	assert_int_equal(sdp_media_remote(&sdp.media[1], &rtp, &rtcp), -ENOENT);
	assert_int_equal(sdp_media_remote(&sdp.media[2], &rtp, &rtcp), -ENOENT);
}

/* ----------------------------------------------------------------- rewrite */

#define EDGE4  "192.0.2.10"
#define OLINE4 "o=ixedge 42 %llu IN IP4 " EDGE4 "\r\n"

/* Writes body through origin o with rewrites rw; returns the text (caller frees). */
static char *rewrite(const char *body, const struct sdp_rewrite_media *rw, size_t nrw,
                     struct sdp_origin *o)
{
	struct sdp sdp;
	struct sdp_err err;
	struct buf b = {0};
	int rc = sdp_parse(&sdp, S(body), &err);
	char *text;

	if (rc && !(rc == -ENOTSUP && sdp.complete))
		fail_msg("parse: %s", err.what);
	assert_int_equal(sdp_write(&b, &sdp, rw, nrw, o), 0);
	/* What the edge writes, the edge parses again. */
	rc = sdp_parse(&sdp, buf_slice(&b), &err);
	if (rc && !(rc == -ENOTSUP && sdp.complete))
		fail_msg("reparse: %s\n%.*s", err.what, (int)b.len, b.p);
	text = strndup(b.p, b.len);
	buf_free(&b);
	return text;
}

static struct sdp_origin origin(const char *addr)
{
	struct sdp_origin o;
	struct sockaddr_storage ss = ip(addr);

	assert_int_equal(sdp_origin_init(&o, &ss), 0);
	assert_string_equal(o.user, "ixedge");
	assert_int_equal(o.version, 1);
	o.sess_id = 42; /* fixed so the expected text can name it */
	return o;
}

static struct sdp_rewrite_media rwm(uint16_t rtp, bool mux)
{
	return (struct sdp_rewrite_media){
	    .rtp_port = rtp, .rtcp_port = (uint16_t)(rtp + 1), .rtcp_mux = mux, .dir_override = -1};
}

/* want names the version as "%llu" (once, in o=); compared byte for byte. */
static void expect_text(char *got, const char *want_tmpl, unsigned long long version)
{
	const char *mark = strstr(want_tmpl, "%llu");
	char want[4096];

	assert_non_null(mark);
	snprintf(want, sizeof(want), "%.*s%llu%s", (int)(mark - want_tmpl), want_tmpl, version,
	         mark + 4);
	if (strcmp(got, want))
		fail_msg("got:\n%s\nwant:\n%s", got, want);
	free(got);
}

static void test_write_basic(void **state)
{
	struct sdp_origin o = origin(EDGE4);
	struct sdp_rewrite_media rw = rwm(30000, false);

	(void)state;
	/* Addresses and ports replaced, unknown attributes kept in their order. */
	expect_text(
	    rewrite(HEAD "i=info\r\n" C4 "b=AS:64\r\n" T0 AUD "c=IN IP4 198.51.100.8\r\n"
	                 "a=x-first:1\r\na=rtpmap:0 PCMU/8000\r\na=rtcp:49999\r\n"
	                 "a=ptime:20\r\na=x-last\r\n",
	            &rw, 1, &o),
	    "v=0\r\n" OLINE4 "s=-\r\ni=info\r\nc=IN IP4 " EDGE4 "\r\nb=AS:64\r\nt=0 0\r\n"
	    "m=audio 30000 RTP/AVP 0 8 101\r\n"
	    "a=x-first:1\r\na=rtpmap:0 PCMU/8000\r\na=rtcp:30001\r\na=ptime:20\r\na=x-last\r\n",
	    1);
}

static void test_write_ice_removed(void **state)
{
	struct sdp_origin o = origin(EDGE4);
	struct sdp_rewrite_media rw = rwm(30000, true);

	(void)state;
	expect_text(
	    rewrite(parse_cases[11].sdp, &rw, 1, &o),
	    "v=0\r\n" OLINE4 "s=-\r\nc=IN IP4 " EDGE4 "\r\nt=0 0\r\n"
	    "a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n"
	    "m=audio 30000 UDP/TLS/RTP/SAVPF 111 0\r\n"
	    "a=rtcp-mux\r\n"
	    "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:"
	    "3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\n"
	    "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n",
	    1);
}

static void test_write_port0_and_streams(void **state)
{
	struct sdp_origin o = origin(EDGE4);
	struct sdp_rewrite_media rw[3] = {rwm(30000, false), rwm(30002, false), rwm(30004, false)};

	(void)state;
	/* A removed stream stays as port 0 whatever the rewrite says; keep_port0 rejects one. */
	rw[2].keep_port0 = true;
	rw[2].rtp_port = 0;
	expect_text(rewrite(HEAD C4 T0 "m=video 0 RTP/AVP 96\r\na=rtcp:5001\r\na=sendonly\r\n" AUD
	                               "m=image 49172 udptl t38\r\na=T38FaxVersion:0\r\n",
	                    rw, 3, &o),
	            "v=0\r\n" OLINE4 "s=-\r\nc=IN IP4 " EDGE4 "\r\nt=0 0\r\n"
	            "m=video 0 RTP/AVP 96\r\na=sendonly\r\n"
	            "m=audio 30002 RTP/AVP 0 8 101\r\na=rtcp:30003\r\n"
	            "m=image 0 udptl t38\r\na=T38FaxVersion:0\r\n",
	            1);
}

static void test_write_direction(void **state)
{
	struct sdp_origin o = origin(EDGE4);
	struct sdp_rewrite_media rw[2] = {rwm(30000, false), rwm(30002, false)};

	(void)state;
	/* Session direction moves into each stream; RFC 2543 hold becomes a=sendonly. */
	expect_text(rewrite(HEAD
	                    "c=IN IP4 0.0.0.0\r\n" T0 "a=tool:x\r\na=recvonly\r\n" AUD
	                    "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 198.51.100.7\r\na=sendrecv\r\n",
	                    rw, 2, &o),
	            "v=0\r\n" OLINE4 "s=-\r\nc=IN IP4 " EDGE4 "\r\nt=0 0\r\na=tool:x\r\n"
	            "m=audio 30000 RTP/AVP 0 8 101\r\na=rtcp:30001\r\na=inactive\r\n"
	            "m=audio 30002 RTP/AVP 0\r\na=sendrecv\r\na=rtcp:30003\r\n",
	            1);
	/* dir_override replaces the peer's direction in place. */
	o = origin(EDGE4);
	rw[0].dir_override = SDP_SENDONLY;
	expect_text(rewrite(HEAD C4 T0 AUD "a=x\r\na=recvonly\r\na=y\r\n", rw, 1, &o),
	            "v=0\r\n" OLINE4 "s=-\r\nc=IN IP4 " EDGE4 "\r\nt=0 0\r\n"
	            "m=audio 30000 RTP/AVP 0 8 101\r\na=x\r\na=sendonly\r\na=y\r\na=rtcp:30001\r\n",
	            1);
}

static void test_write_media_address(void **state)
{
	struct sdp_origin o = origin(EDGE4);
	struct sdp_rewrite_media rw[2] = {rwm(30000, false), rwm(30002, false)};

	(void)state;
	rw[1].addr = ip("192.0.2.11");
	rw[1].rtcp_port = 0; /* RTCP on rtp + 1: no a=rtcp */
	expect_text(rewrite(HEAD C4 T0 AUD "m=video 5006 RTP/AVP 96\r\nb=AS:500\r\n", rw, 2, &o),
	            "v=0\r\n" OLINE4 "s=-\r\nc=IN IP4 " EDGE4 "\r\nt=0 0\r\n"
	            "m=audio 30000 RTP/AVP 0 8 101\r\na=rtcp:30001\r\n"
	            "m=video 30002 RTP/AVP 96\r\nc=IN IP4 192.0.2.11\r\nb=AS:500\r\n",
	            1);
}

static void test_write_ipv6(void **state)
{
	struct sdp_origin o = origin("2001:db8::10");
	struct sdp_rewrite_media rw = rwm(30000, false);

	(void)state;
	expect_text(
	    rewrite(HEAD C4 T0 AUD, &rw, 1, &o),
	    "v=0\r\no=ixedge 42 %llu IN IP6 2001:db8::10\r\ns=-\r\nc=IN IP6 2001:db8::10\r\n"
	    "t=0 0\r\nm=audio 30000 RTP/AVP 0 8 101\r\na=rtcp:30001\r\n",
	    1);
	/* An IPv6 peer rewritten to an IPv4 leg. */
	o = origin(EDGE4);
	expect_text(rewrite(parse_cases[5].sdp, &rw, 1, &o),
	            "v=0\r\n" OLINE4 "s= \r\nc=IN IP4 " EDGE4 "\r\nt=0 0\r\n"
	            "m=audio 30000 RTP/SAVP 0\r\na=rtcp:30001\r\n",
	            1);
}

static void test_write_version(void **state)
{
	struct sdp_origin o = origin(EDGE4);
	struct sdp_rewrite_media rw = rwm(30000, false);
	const char *want = "v=0\r\n" OLINE4 "s=-\r\nc=IN IP4 " EDGE4 "\r\nt=0 0\r\n"
	                   "m=audio 30000 RTP/AVP 0 8 101\r\na=rtcp:30001\r\n";

	(void)state;
	expect_text(rewrite(HEAD C4 T0 AUD, &rw, 1, &o), want, 1);
	/* The same offer again (a re-INVITE refresh): same version. */
	expect_text(rewrite(HEAD C4 T0 AUD, &rw, 1, &o), want, 1);
	/* The peer moved its port: our side of it is unchanged, so is the version. */
	expect_text(rewrite(HEAD C4 T0 "m=audio 50000 RTP/AVP 0 8 101\r\n", &rw, 1, &o), want, 1);
	/* Hold: the written SDP changes, the version goes up once. */
	{
		char *got = rewrite(HEAD C4 T0 AUD "a=sendonly\r\n", &rw, 1, &o);

		assert_int_equal(o.version, 2);
		assert_non_null(strstr(got, "o=ixedge 42 2 IN IP4"));
		free(got);
		got = rewrite(HEAD C4 T0 AUD "a=sendonly\r\n", &rw, 1, &o);
		assert_int_equal(o.version, 2);
		free(got);
	}
	/* Resume, and our port changes: one more each time. */
	free(rewrite(HEAD C4 T0 AUD, &rw, 1, &o));
	assert_int_equal(o.version, 3);
	rw.rtp_port = 30010;
	free(rewrite(HEAD C4 T0 AUD, &rw, 1, &o));
	assert_int_equal(o.version, 4);
	/* A stream added by a re-offer, then removed again with port 0 (RFC 3264 8.2, 8.3.1). */
	{
		struct sdp_rewrite_media two[2] = {rw, rwm(30012, false)};

		free(rewrite(HEAD C4 T0 AUD "m=video 5006 RTP/AVP 96\r\n", two, 2, &o));
		assert_int_equal(o.version, 5);
		free(rewrite(HEAD C4 T0 AUD "m=video 0 RTP/AVP 96\r\n", two, 2, &o));
		assert_int_equal(o.version, 6);
	}
	assert_int_equal(o.sess_id, 42);
}

static void test_write_bad_args(void **state)
{
	struct sdp_origin o = origin(EDGE4);
	struct sdp_rewrite_media rw[2] = {rwm(30000, false), rwm(0, false)};
	struct buf b = {0};
	struct sdp sdp;

	(void)state;
	assert_int_equal(buf_append_cstr(&b, "keep"), 0);
	assert_int_equal(sdp_parse(&sdp, S(HEAD C4 T0 AUD AUD), NULL), 0);
	assert_int_equal(sdp_write(&b, &sdp, rw, 1, &o), -EINVAL); /* count differs */
	assert_int_equal(sdp_write(&b, &sdp, rw, 2, &o), -EINVAL); /* port 0 without keep_port0 */
	rw[1].rtp_port = 30002;
	rw[1].dir_override = 7;
	assert_int_equal(sdp_write(&b, &sdp, rw, 2, &o), -EINVAL);
	assert_int_equal(b.len, 4);
	assert_false(o.written);
	rw[1].dir_override = -1;
	assert_int_equal(sdp_write(&b, &sdp, rw, 2, &o), 0); /* appended after what was there */
	assert_memory_equal(b.p, "keepv=0\r\n", 9);
	assert_int_equal(sdp_parse(&sdp, S(HEAD "c=IN IP4 a.example\r\n" T0 AUD), NULL), -ENOTSUP);
	assert_int_equal(sdp_write(&b, &sdp, rw, 1, &o), -EINVAL); /* not a complete parse */
	{
		struct sockaddr_storage none = {0};

		assert_int_equal(sdp_origin_init(&o, &none), -EINVAL);
	}
	buf_free(&b);
}

/* Output that would exceed a parse limit is refused, never written. */
static void test_write_limit(void **state)
{
	struct sdp_origin o = origin(EDGE4);
	struct sdp_rewrite_media rw = rwm(30000, false);
	struct buf in = {0}, out = {0};
	struct sdp sdp;

	(void)state;
	assert_int_equal(buf_append_cstr(&in, HEAD C4 T0 "m=audio 0 RTP/AVP 0"), 0);
	while (in.len - strlen(HEAD C4 T0) < SDP_MAX_LINE)
		assert_int_equal(buf_append_cstr(&in, " 0"), 0);
	in.len -= in.len - strlen(HEAD C4 T0) - SDP_MAX_LINE;
	assert_int_equal(buf_append_cstr(&in, "\r\n" AUD), 0);
	assert_int_equal(sdp_parse(&sdp, buf_slice(&in), NULL), 0);
	{
		struct sdp_rewrite_media two[2] = {rw, rwm(30002, false)};

		two[0].keep_port0 = true; /* port stays "0": same length, fits */
		assert_int_equal(sdp_write(&out, &sdp, two, 2, &o), 0);
		buf_reset(&out);
	}
	/* now the first stream's m= grows by the longer port */
	in.p[strlen(HEAD C4 T0) + 8] = '1';
	assert_int_equal(sdp_parse(&sdp, buf_slice(&in), NULL), 0);
	{
		struct sdp_rewrite_media two[2] = {rw, rwm(30002, false)};

		assert_int_equal(sdp_write(&out, &sdp, two, 2, &o), -E2BIG);
		assert_int_equal(out.len, 0);
	}
	buf_free(&in);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_fields),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_parse_limits),
	    cmocka_unit_test(test_media_remote),
	    cmocka_unit_test(test_write_basic),
	    cmocka_unit_test(test_write_ice_removed),
	    cmocka_unit_test(test_write_port0_and_streams),
	    cmocka_unit_test(test_write_direction),
	    cmocka_unit_test(test_write_media_address),
	    cmocka_unit_test(test_write_ipv6),
	    cmocka_unit_test(test_write_version),
	    cmocka_unit_test(test_write_bad_args),
	    cmocka_unit_test(test_write_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
