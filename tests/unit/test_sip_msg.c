/* Unit tests: message decoding, errors (offset/header/status), limits, lazy access, framing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ixedge/sip.h"

#define S(x) slice_cstr(x)

static void assert_slice(struct slice got, const char *want)
{
	if (got.len != strlen(want) || (got.len && memcmp(got.p, want, got.len) != 0))
		fail_msg("got '%.*s', want '%s'", (int)got.len, got.p ? got.p : "", want);
}

#define HDRS                                                                                       \
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"                                  \
	"From: Alice <sip:alice@example.com>;tag=9fxced76sl\r\n"                                   \
	"To: <sip:bob@example.net>\r\n"                                                            \
	"Call-ID: 3848276298220188511@192.0.2.1\r\n"

static const char invite[] =
    "INVITE sip:bob@example.net SIP/2.0\r\n" HDRS "CSeq: 1 INVITE\r\n"
    "Max-Forwards: 70\r\n"
    "v: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb\r\n"
    "Contact: <sip:alice@192.0.2.1>\r\n"
    "Record-Route: <sip:p1.example.com;lr>,\r\n <sip:p2.example.com;lr>\r\n"
    "X-Twilio-Test: folded\r\n  value\r\n"
    "c: application/sdp\r\n"
    "l: 4\r\n"
    "\r\n"
    "v=0\n";

static void test_decode_invite(void **state)
{
	struct sip_msg *m;
	struct sip_perr err;
	struct sip_hdr_iter it;
	struct slice v;
	const struct sip_hdr *h;
	int n = 0;

	(void)state;
	assert_int_equal(sip_msg_decode(&m, invite, strlen(invite), NULL, NULL, &err), 0);
	assert_int_equal(sip_msg_check(m, &err), 0);
	assert_true(m->req);
	assert_int_equal(m->mid, SIP_METHOD_INVITE);
	assert_slice(m->ruri.user, "bob");
	assert_slice(m->via.branch, "z9hG4bK74bf9");
	assert_slice(m->from.tag, "9fxced76sl");
	assert_slice(m->from.dname, "Alice");
	assert_int_equal(m->to.tag.len, 0);
	assert_slice(m->call_id, "3848276298220188511@192.0.2.1");
	assert_int_equal(m->cseq.num, 1);
	assert_int_equal(m->max_forwards, 70);
	assert_int_equal(m->content_length, 4);
	assert_slice(m->content_type, "application/sdp");
	assert_slice(m->body, "v=0\n");

	/* Via values across a full and a compact header, in order */
	sip_hdr_iter_init(&it, m, SIP_HDR_VIA);
	while (sip_hdr_iter_next(&it, &v) == 0)
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(sip_msg_hdr_count(m, SIP_HDR_VIA), 2);

	/* Record-Route values split across a folded line */
	sip_hdr_iter_init(&it, m, SIP_HDR_RECORD_ROUTE);
	assert_int_equal(sip_hdr_iter_next(&it, &v), 0);
	assert_slice(v, "<sip:p1.example.com;lr>");
	assert_int_equal(sip_hdr_iter_next(&it, &v), 0);
	assert_slice(v, "<sip:p2.example.com;lr>");
	assert_int_equal(sip_hdr_iter_next(&it, &v), -ENOENT);

	h = sip_msg_hdr_named(m, S("x-twilio-test"));
	assert_non_null(h);
	assert_slice(h->value, "folded\r\n  value");
	assert_null(sip_msg_hdr(m, SIP_HDR_ROUTE));
	assert_int_equal(h->offset, (uint32_t)(strstr(invite, "X-Twilio-Test") - invite));
	mem_deref(m);
}

static void test_owner_ref(void **state)
{
	struct sip_msg *m;
	char *buf = mem_alloc(sizeof(invite), NULL);

	(void)state;
	memcpy(buf, invite, sizeof(invite));
	assert_int_equal(sip_msg_decode(&m, buf, strlen(buf), buf, NULL, NULL), 0);
	assert_int_equal(mem_nrefs(buf), 2);
	mem_deref(buf); /* the message keeps its bytes alive */
	assert_slice(m->call_id, "3848276298220188511@192.0.2.1");
	mem_deref(m);
}

struct bad_case {
	const char *msg;
	const char *what;  /* substring of err.what */
	const char *hname; /* err.hname, "" for the start line */
	uint16_t status;
	const char *at;  /* err.offset points at the first occurrence of this */
	bool answerable; /* sip_msg_can_answer() */
	int stage;       /* 0 decode fails, 1 check fails */
};

static const struct bad_case bad_cases[] = {
    {"INVITE sip:bob@example.net SIP/2.0\r\n" HDRS "CSeq: 1 BYE\r\n\r\n", "does not match", "CSeq",
     400, "1 BYE", true},
    {"INVITE sip:bob@example.net SIP/7.0\r\n" HDRS "CSeq: 1 INVITE\r\n\r\n", "version", "", 505,
     "SIP/7.0", true},
    /* the first error wins: a later bad header must not move its offset */
    {"INVITE sip:bob@example.net S%P/2.0\r\n"
     "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@b\r\nTo: <sip:c@d>\r\n"
     "Call-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
     "version", "", 400, "S%P", true},
    {"INVITE  sip:bob@example.net SIP/2.0\r\n" HDRS "CSeq: 1 INVITE\r\n\r\n", "URI", "", 400,
     " sip:bob", true},
    {"INVITE sip:bob@example.net SIP/2.0 \r\n" HDRS "CSeq: 1 INVITE\r\n\r\n", "version", "", 400,
     "SIP/2.0 ", true},
    {"INVITE <sip:bob@example.net> SIP/2.0\r\n" HDRS "CSeq: 1 INVITE\r\n\r\n", "scheme", "", 400,
     "<sip", true},
    {"INVITE sip:bob@example.net?Route=%3Csip:x%3E SIP/2.0\r\n" HDRS "CSeq: 1 INVITE\r\n\r\n",
     "headers", "", 400, "Route=", true},
    {"OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS "\r\n", "missing", "CSeq", 400, "OPTIONS",
     false},
    {"OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\nMax-Forwards: 300\r\n\r\n",
     "255", "Max-Forwards", 400, "300", true},
    {"OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS
     "CSeq: 1 OPTIONS\r\nContent-Length: -999\r\n\r\n",
     "Content-Length", "Content-Length", 400, "-999", true},
    {"OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS
     "CSeq: 1 OPTIONS\r\nContent-Length: 10\r\n\r\nabc",
     "larger", "Content-Length", 400, "10\r\n", true},
    {"OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS
     "CSeq: 1 OPTIONS\r\nl: 0\r\nContent-Length: 0\r\n\r\n",
     "repeat", "Content-Length", 400, "Content-Length: 0", true},
    {"OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\nBad Header: x\r\n\r\n",
     "':'", "Bad", 400, " Header", false},
    {"OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\n", "empty line", "", 400,
     "", false},
    {"OPTIONS sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n\r\n", "Via",
     "Via", 400, ";;,", false},
    {"ACK sip:bob@example.net SIP/2.0\r\n" HDRS "CSeq: 1 INVITE\r\n\r\n", "does not match", "CSeq",
     400, "1 INVITE", false},
    {"SIP/2.0 4294967301 better not break the receiver\r\n" HDRS "CSeq: 1 INVITE\r\n\r\n",
     "status code", "", 400, "4294967301", false},
    {"SIP/2.0 200 OK\r\n" HDRS "CSeq: 1 INVITE\r\nDate: Fri, 01 Jan 2010 16:00:00 EST\r\n\r\n",
     "Date", "Date", 400, "Fri, 01", false, 1},
    {"SIP/2.0 503 Service Unavailable\r\n" HDRS
     "CSeq: 1 INVITE\r\nWarning: 1812 overture \"In Progress\"\r\n\r\n",
     "Warning", "Warning", 400, "1812", false, 1},
    {"OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS
     "CSeq: 1 OPTIONS\r\nContact: <sip:a@b>;expires=10000000000000000000000\r\n\r\n",
     "expires", "Contact", 400, "10000000000000000000000", true, 1},
    {"REGISTER sip:example.net SIP/2.0\r\n" HDRS
     "CSeq: 1 REGISTER\r\nContact: *, <sip:a@b>\r\n\r\n",
     "alone", "Contact", 400, "*, <sip", true, 1},
    {"OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\nRoute: sip:p1\r\n\r\n",
     "<URI>", "Route", 400, "sip:p1", true, 1},
    {"OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\nSubject: a\x01z\r\n\r\n",
     "control", "Subject", 400, "\x01", true, 1},
};

static void test_bad_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct sip_msg *m = NULL;
		struct sip_perr err;
		int e = sip_msg_decode(&m, c->msg, strlen(c->msg), NULL, NULL, &err);
		const char *at;

		if (c->stage == 1) {
			if (e)
				fail_msg("case %zu: decode failed: %s", i, err.what);
			e = sip_msg_check(m, &err);
		}
		if (e != -EBADMSG)
			fail_msg("case %zu: accepted, want '%s'", i, c->what);
		if (!strstr(err.what, c->what))
			fail_msg("case %zu: what '%s', want '%s'", i, err.what, c->what);
		assert_slice(err.hname, c->hname);
		assert_int_equal(err.status, c->status);
		at = c->at[0] ? strstr(c->msg, c->at) : c->msg + strlen(c->msg);
		assert_non_null(at);
		if (err.offset != (size_t)(at - c->msg))
			fail_msg("case %zu: offset %zu, want %zu", i, err.offset,
			         (size_t)(at - c->msg));
		if (sip_msg_can_answer(m) != c->answerable)
			fail_msg("case %zu: can_answer %d", i, !c->answerable);
		mem_deref(m);
	}
}

static void test_datagram_body(void **state)
{
	/* RFC 3261 18.3: octets past Content-Length are discarded; none -> rest is body */
	const char *extra = "OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS
	                    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\nINVITE sip:x SIP/2.0\r\n";
	const char *nocl =
	    "OPTIONS sip:bob@example.net SIP/2.0\r\n" HDRS "CSeq: 1 OPTIONS\r\n\r\nab";
	const char *lf = "OPTIONS sip:bob@example.net SIP/2.0\n"
	                 "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\n"
	                 "To: <sip:c@d>\nCall-ID: x\nCSeq: 2 OPTIONS\n\n";
	struct sip_msg *m;

	(void)state;
	assert_int_equal(sip_msg_decode(&m, extra, strlen(extra), NULL, NULL, NULL), 0);
	assert_int_equal(m->body.len, 0);
	assert_int_equal(sip_msg_check(m, NULL), 0);
	assert_true(m->raw.len < strlen(extra));
	mem_deref(m);
	assert_int_equal(sip_msg_decode(&m, nocl, strlen(nocl), NULL, NULL, NULL), 0);
	assert_slice(m->body, "ab");
	assert_int_equal(m->content_length, -1);
	mem_deref(m);
	/* bare LF line ends are tolerated */
	assert_int_equal(sip_msg_decode(&m, lf, strlen(lf), NULL, NULL, NULL), 0);
	assert_int_equal(m->cseq.num, 2);
	mem_deref(m);
}

static void test_limits(void **state)
{
	struct sip_limits lim;
	struct sip_msg *m;
	struct sip_perr err;
	char *big;
	size_t n;

	(void)state;
	sip_limits_default(&lim);
	lim.max_msg_size = 100;
	assert_int_equal(sip_msg_decode(&m, invite, strlen(invite), NULL, &lim, &err), -E2BIG);
	assert_null(m);
	assert_int_equal(err.status, 513);

	sip_limits_default(&lim);
	lim.max_headers = 5;
	assert_int_equal(sip_msg_decode(&m, invite, strlen(invite), NULL, &lim, &err), -EBADMSG);
	assert_non_null(strstr(err.what, "too many headers"));
	mem_deref(m);

	sip_limits_default(&lim);
	lim.max_uri_len = 10;
	assert_int_equal(sip_msg_decode(&m, invite, strlen(invite), NULL, &lim, &err), -EBADMSG);
	assert_int_equal(err.status, 414);
	mem_deref(m);

	sip_limits_default(&lim);
	lim.max_line_len = 40;
	assert_int_equal(sip_msg_decode(&m, invite, strlen(invite), NULL, &lim, &err), -EBADMSG);
	assert_non_null(strstr(err.what, "too long"));
	mem_deref(m);

	sip_limits_default(&lim);
	lim.max_body_size = 2;
	assert_int_equal(sip_msg_decode(&m, invite, strlen(invite), NULL, &lim, &err), -E2BIG);
	assert_int_equal(err.status, 413);
	mem_deref(m);

	/* 10 MB of header lines: rejected by the size limit before any work */
	n = 10u << 20;
	big = malloc(n);
	assert_non_null(big);
	memset(big, 'a', n);
	sip_limits_default(&lim);
	assert_int_equal(sip_msg_decode(&m, big, n, NULL, &lim, &err), -E2BIG);
	free(big);
}

struct frame_case {
	const char *in;
	int ret;
	size_t skip, len;
};

static const struct frame_case frame_cases[] = {
    {"\r\n\r\n", -ENODATA, 4, 0},
    {"OPTIONS sip:a SIP/2.0\r\nContent-Length: 3\r\n\r\nabcNEXT", 0, 0, 47},
    {"\r\n\r\nOPTIONS sip:a SIP/2.0\r\nl: 0\r\n\r\n", 0, 4, 31},
    {"OPTIONS sip:a SIP/2.0\r\nContent-Length: 3\r\n\r\nab", -ENODATA, 0, 0},
    {"OPTIONS sip:a SIP/2.0\r\nContent-Length: 3\r\n", -ENODATA, 0, 0},
    {"OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n", -EBADMSG, 0, 0},
    {"OPTIONS sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n", -EBADMSG, 0, 0},
    {"OPTIONS sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n", -EBADMSG, 0, 0},
    {"OPTIONS sip:a SIP/2.0\r\nContent-Length:\r\n 2\r\n\r\nab", 0, 0, 48},
    {"OPTIONS sip:a SIP/2.0\r\nContent-Length: 99999999\r\n\r\n", -E2BIG, 0, 0},
};

static void test_stream_frame(void **state)
{
	struct sip_limits lim;
	char *big;

	(void)state;
	sip_limits_default(&lim);
	for (size_t i = 0; i < ARRAY_SIZE(frame_cases); i++) {
		const struct frame_case *c = &frame_cases[i];
		size_t skip = 99, len = 99;
		struct sip_perr err;
		int e = sip_stream_frame(c->in, strlen(c->in), &lim, &skip, &len, &err);

		if (e != c->ret)
			fail_msg("case %zu: ret %d want %d (%s)", i, e, c->ret,
			         err.what ? err.what : "");
		assert_int_equal(skip, c->skip);
		if (e == 0)
			assert_int_equal(len, c->len);
	}
	/* a stream that never ends its header block stops at the limit */
	big = malloc(lim.max_msg_size + 10);
	memset(big, 'x', lim.max_msg_size + 10);
	{
		size_t skip, len;

		assert_int_equal(
		    sip_stream_frame(big, lim.max_msg_size + 10, &lim, &skip, &len, NULL), -E2BIG);
	}
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_invite), cmocka_unit_test(test_owner_ref),
	    cmocka_unit_test(test_bad_table),     cmocka_unit_test(test_datagram_body),
	    cmocka_unit_test(test_limits),        cmocka_unit_test(test_stream_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
