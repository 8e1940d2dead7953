/* Tests for src/sip/build.c and status.c: derive, responses, requests, reason phrases. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ixedge/sip.h"

/* Slice and edit initialisers usable in static tables (SLICE() is a compound literal). */
/* clang-format off */
#define S(lit) {(lit), sizeof(lit) - 1}
#define ED(op, id, name, value) {SIP_EDIT_##op, SIP_HDR_##id, S(name), S(value)}
/* clang-format on */

/*
 * Expected texts mark the Content-Length value with '#', filled in with the
 * body length by expand(), so the tables do not hard-code byte counts.
 */
#define CLEN "Content-Length: #\r\n"

#define SDP_BODY                                                                                   \
	"v=0\r\n"                                                                                  \
	"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"                                      \
	"s=-\r\n"                                                                                  \
	"c=IN IP4 192.0.2.10\r\n"                                                                  \
	"t=0 0\r\n"                                                                                \
	"m=audio 49170 RTP/AVP 0 8 101\r\n"                                                        \
	"a=rtpmap:101 telephone-event/8000\r\n"

#define SDP_EDGE                                                                                   \
	"v=0\r\n"                                                                                  \
	"o=ixedge 1 1 IN IP4 127.0.3.10\r\n"                                                       \
	"s=-\r\n"                                                                                  \
	"c=IN IP4 127.0.3.10\r\n"                                                                  \
	"t=0 0\r\n"                                                                                \
	"m=audio 10000 RTP/AVP 0\r\n"

/* A realistic INVITE: compact forms, odd spelling, a folded line, repeated Via and RR. */
#define INV_START "INVITE sip:+15551230000@acme.sip.ashburn-ix.example.com SIP/2.0\r\n"
#define INV_VIA1  "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
#define INV_VIA2  "v: SIP/2.0/TCP 198.51.100.7:5060;branch=z9hG4bKnashds8;received=198.51.100.7\r\n"
#define INV_VIA3_V                                                                                 \
	"SIP/2.0/UDP 203.0.113.5;branch=z9hG4bK4b43c2ff8.1, SIP/2.0/UDP "                          \
	"203.0.113.9;branch=z9hG4bK77ef4c23"
#define INV_VIA3    "VIA: " INV_VIA3_V "\r\n"
#define INV_MF      "Max-Forwards: 69\r\n"
#define INV_FROM    "f: \"Alice\" <sip:alice@pbx.example.org>;tag=1928301774\r\n"
#define INV_TO      "t: <sip:+15551230000@acme.sip.ashburn-ix.example.com>\r\n"
#define INV_CALLID  "i: a84b4c76e66710@pbx.example.org\r\n"
#define INV_CSEQ    "CSeq: 314159 INVITE\r\n"
#define INV_TS      "Timestamp: 54\r\n"
#define INV_CONTACT "m: <sip:alice@192.0.2.10:5060;transport=udp>\r\n"
#define INV_SUBJECT "Subject: quarterly\r\n\t review call\r\n"
#define INV_RR1     "Record-Route: <sip:p1.example.org;lr>\r\n"
#define INV_RR2     "Record-Route: <sip:p2.example.org;lr>,<sip:p3.example.org;lr>\r\n"
#define INV_XCUST   "X-Customer-Id:   42 \r\n"
#define INV_CLEN    "l:   #\r\n"
#define INV_CTYPE   "c: application/sdp\r\n"

#define INV_TOP       INV_VIA1 INV_VIA2 INV_VIA3 INV_MF INV_FROM INV_TO INV_CALLID INV_CSEQ INV_TS
#define INV_MID       INV_CONTACT INV_SUBJECT INV_RR1 INV_RR2 INV_XCUST
#define INV_HEAD      INV_START INV_TOP INV_MID INV_CLEN INV_CTYPE "\r\n"
#define INV_AFTER_VIA INV_MF INV_FROM INV_TO INV_CALLID INV_CSEQ INV_TS INV_MID
/* What derive writes for the INVITE with no edits: only Content-Length changes. */
#define INV_SAME_HDRS INV_START INV_TOP INV_MID CLEN INV_CTYPE
#define INV_SAME      INV_SAME_HDRS "\r\n"

#define OPT_HDRS                                                                                   \
	"OPTIONS sip:127.0.1.64:5060 SIP/2.0\r\n"                                                  \
	"Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bKprobe1;rport\r\n"                          \
	"Max-Forwards: 70\r\n"                                                                     \
	"From: <sip:probe@192.0.2.50>\r\n ;tag=abc\r\n"                                            \
	"To: <sip:127.0.1.64:5060>\r\n"                                                            \
	"Call-ID: probe-1@192.0.2.50\r\n"                                                          \
	"CSeq: 1 OPTIONS\r\n"                                                                      \
	"Accept: application/sdp\r\n"
#define OPT_MSG OPT_HDRS "\r\n"

#define BYE_MSG                                                                                    \
	"BYE sip:alice@192.0.2.10:5060 SIP/2.0\r\n"                                                \
	"Via: SIP/2.0/UDP 127.0.2.64;branch=z9hG4bKbye1\r\n"                                       \
	"Max-Forwards: 70\r\n"                                                                     \
	"From: <sip:+15551230000@acme.sip.ashburn-ix.example.com>;tag=as83kd9\r\n"                 \
	"To: \"Alice\" <sip:alice@pbx.example.org>;TAG=1928301774\r\n"                             \
	"Call-ID: a84b4c76e66710@pbx.example.org\r\n"                                              \
	"CSeq: 231 BYE\r\n"                                                                        \
	"Content-Length: 0\r\n"                                                                    \
	"\r\n"

/* Response header blocks built from the INVITE. */
#define R_VIAS                                                                                     \
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"                       \
	"Via: SIP/2.0/TCP 198.51.100.7:5060;branch=z9hG4bKnashds8;received=198.51.100.7\r\n"       \
	"Via: " INV_VIA3_V "\r\n"
#define R_FROM   "From: \"Alice\" <sip:alice@pbx.example.org>;tag=1928301774\r\n"
#define R_TO     "To: <sip:+15551230000@acme.sip.ashburn-ix.example.com>"
#define R_DIALOG "Call-ID: a84b4c76e66710@pbx.example.org\r\nCSeq: 314159 INVITE\r\n"
#define R_RRS    "Record-Route: <sip:p1.example.org;lr>\r\n" INV_RR2

/* Copies tmpl into b with every '#' replaced by n. */
static void expand(struct buf *b, const char *tmpl, size_t n)
{
	for (const char *p = tmpl; *p; p++) {
		if (*p == '#')
			assert_int_equal(buf_printf(b, "%zu", n), 0);
		else
			assert_int_equal(buf_append(b, p, 1), 0);
	}
}

/* Decodes a message and requires both the decoder and the full check to accept it. */
static struct sip_msg *decode_ok(const char *what, const char *p, size_t len)
{
	struct sip_limits lim;
	struct sip_perr perr = {0};
	struct sip_msg *msg = NULL;
	int rc;

	sip_limits_default(&lim);
	rc = sip_msg_decode(&msg, p, len, NULL, &lim, &perr);
	if (rc == 0)
		rc = sip_msg_check(msg, &perr);
	if (rc != 0) {
		print_message("%s: parse back failed (%d): %s at offset %zu, header '%.*s'\n%.*s\n",
		              what, rc, perr.what ? perr.what : "?", perr.offset,
		              SLICE_ARG(perr.hname), (int)len, p);
		mem_deref(msg);
		fail();
	}
	return msg;
}

static void assert_text(const char *what, struct slice got, struct slice want)
{
	if (slice_eq(got, want))
		return;
	print_message("%s: output differs\n--- want\n%.*s\n--- got\n%.*s\n---\n", what,
	              SLICE_ARG(want), SLICE_ARG(got));
	fail();
}

static void assert_slice_str(struct slice got, const char *want)
{
	if (!slice_eq(got, slice_cstr(want))) {
		print_message("got '%.*s', want '%s'\n", SLICE_ARG(got), want);
		fail();
	}
}

/* Decodes one of the sample requests (its '#' set to the SDP length). */
static struct sip_msg *sample(struct buf *raw, const char *tmpl, const char *body)
{
	expand(raw, tmpl, strlen(body));
	assert_int_equal(buf_append_cstr(raw, body), 0);
	return decode_ok("sample", raw->p, raw->len);
}

/* Table rows list their edits up to the first unset one (ED() always sets name.p). */
static size_t count_edits(const struct sip_edit *e, size_t max)
{
	size_t n = 0;

	while (n < max && e[n].name.p)
		n++;
	return n;
}

/* ------------------------------------------------------------- derive */

#define NEW_VIA   "Via: SIP/2.0/UDP 127.0.1.64:5060;branch=z9hG4bKedge1\r\n"
#define NEW_VIA_V "SIP/2.0/UDP 127.0.1.64:5060;branch=z9hG4bKedge1"

struct derive_case {
	const char *name;
	const char *start_line; /* NULL: keep */
	const char *body;       /* NULL: keep */
	struct sip_edit edits[4];
	const char *expect; /* without the body; '#' is the body length */
};

/* clang-format off */
static const struct derive_case derive_cases[] = {
	{"no edits: bytes kept, l: becomes Content-Length in place", NULL, NULL, {{0}}, INV_SAME},
	{"remove by id, by canonical name of a compact header, by lower-case X- name", NULL, NULL,
	 {ED(REMOVE, RECORD_ROUTE, "", ""), ED(REMOVE, OTHER, "Contact", ""),
	  ED(REMOVE, OTHER, "x-customer-id", "")},
	 INV_START INV_TOP INV_SUBJECT CLEN INV_CTYPE "\r\n"},
	{"remove a folded header", NULL, NULL, {ED(REMOVE, SUBJECT, "", "")},
	 INV_START INV_TOP INV_CONTACT INV_RR1 INV_RR2 INV_XCUST CLEN INV_CTYPE "\r\n"},
	{"add_top goes before the first occurrence", NULL, NULL,
	 {ED(ADD_TOP, VIA, "", NEW_VIA_V), ED(ADD_TOP, RECORD_ROUTE, "", "<sip:127.0.1.64;lr>")},
	 INV_START NEW_VIA INV_TOP INV_CONTACT INV_SUBJECT "Record-Route: <sip:127.0.1.64;lr>\r\n"
	 INV_RR1 INV_RR2 INV_XCUST CLEN INV_CTYPE "\r\n"},
	{"add_top of an absent header goes to the top", NULL, NULL,
	 {ED(ADD_TOP, ROUTE, "", "<sip:127.0.2.64;lr>")},
	 INV_START "Route: <sip:127.0.2.64;lr>\r\n" INV_TOP INV_MID CLEN INV_CTYPE "\r\n"},
	{"add appends at the end, by id and by name, empty value allowed", NULL, NULL,
	 {ED(ADD, P_ASSERTED_IDENTITY, "", "<sip:+15551230000@example.com>"),
	  ED(ADD, OTHER, "X-Edge", "ashburn-ix"), ED(ADD, OTHER, "X-Empty", "")},
	 INV_SAME_HDRS "P-Asserted-Identity: <sip:+15551230000@example.com>\r\n"
	 "X-Edge: ashburn-ix\r\nX-Empty: \r\n\r\n"},
	{"replace keeps the position; compact name given as name maps to its id", NULL, NULL,
	 {ED(REPLACE, CONTACT, "", "<sip:127.0.1.64:5060>"), ED(REPLACE, OTHER, "X-CUSTOMER-ID", "43"),
	  ED(REPLACE, OTHER, "t", "<sip:bob@example.com>"), ED(REPLACE, MAX_FORWARDS, "", "68")},
	 INV_START INV_VIA1 INV_VIA2 INV_VIA3 "Max-Forwards: 68\r\n" INV_FROM
	 "To: <sip:bob@example.com>\r\n" INV_CALLID INV_CSEQ INV_TS "Contact: <sip:127.0.1.64:5060>\r\n"
	 INV_SUBJECT INV_RR1 INV_RR2 "X-CUSTOMER-ID: 43\r\n" CLEN INV_CTYPE "\r\n"},
	{"replace of an absent header appends", NULL, NULL, {ED(REPLACE, OTHER, "X-New", "1")},
	 INV_SAME_HDRS "X-New: 1\r\n\r\n"},
	{"replace of a repeated header leaves one where the first stood", NULL, NULL,
	 {ED(REPLACE, VIA, "", NEW_VIA_V)},
	 INV_START NEW_VIA INV_AFTER_VIA CLEN INV_CTYPE "\r\n"},
	{"edits apply in order: remove then add_top, add then remove", NULL, NULL,
	 {ED(REMOVE, VIA, "", ""), ED(ADD_TOP, OTHER, "v", NEW_VIA_V), ED(ADD, OTHER, "X-A", "1"),
	  ED(REMOVE, OTHER, "x-a", "")},
	 INV_START NEW_VIA INV_AFTER_VIA CLEN INV_CTYPE "\r\n"},
	{"start line and body replaced, Content-Length follows the body",
	 "INVITE sip:bob@127.0.2.64:5060 SIP/2.0", SDP_EDGE, {ED(REPLACE, MAX_FORWARDS, "", "68")},
	 "INVITE sip:bob@127.0.2.64:5060 SIP/2.0\r\n" INV_VIA1 INV_VIA2 INV_VIA3 "Max-Forwards: 68\r\n"
	 INV_FROM INV_TO INV_CALLID INV_CSEQ INV_TS INV_MID CLEN INV_CTYPE "\r\n"},
	{"empty body gives Content-Length: 0", NULL, "", {ED(REMOVE, CONTENT_TYPE, "", "")},
	 INV_START INV_TOP INV_MID CLEN "\r\n"},
	{"edits naming Content-Length are ignored", NULL, NULL,
	 {ED(ADD, CONTENT_LENGTH, "", "999"), ED(REPLACE, OTHER, "l", "5"),
	  ED(REMOVE, CONTENT_LENGTH, "", ""), ED(ADD_TOP, OTHER, "content-length", "1")},
	 INV_SAME},
};
/* clang-format on */

static void test_derive_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(derive_cases); i++) {
		const struct derive_case *c = &derive_cases[i];
		const char *body = c->body ? c->body : SDP_BODY;
		struct buf raw = {0}, out = {0}, want = {0};
		struct slice nb = slice_cstr(c->body);
		struct sip_msg *msg = sample(&raw, INV_HEAD, SDP_BODY), *back;
		int rc;

		rc = sip_msg_derive(&out, msg, slice_cstr(c->start_line), c->edits,
		                    count_edits(c->edits, ARRAY_SIZE(c->edits)),
		                    c->body ? &nb : NULL);
		if (rc != 0)
			print_message("%s: rc %d\n", c->name, rc);
		assert_int_equal(rc, 0);
		expand(&want, c->expect, strlen(body));
		assert_int_equal(buf_append_cstr(&want, body), 0);
		assert_text(c->name, buf_slice(&out), buf_slice(&want));

		back = decode_ok(c->name, out.p, out.len);
		assert_int_equal(back->content_length, (int64_t)strlen(body));
		assert_slice_str(back->body, body);
		assert_slice_str(back->call_id, "a84b4c76e66710@pbx.example.org");
		assert_int_equal(back->cseq.num, 314159);
		assert_int_equal(back->mid, SIP_METHOD_INVITE);
		assert_slice_str(back->from.tag, "1928301774");
		assert_int_equal(sip_msg_hdr_count(back, SIP_HDR_CONTENT_LENGTH), 1);

		mem_deref(back);
		mem_deref(msg);
		buf_free(&raw);
		buf_free(&out);
		buf_free(&want);
	}
}

/* A message without Content-Length gets one at the end; derive appends to out. */
static void test_derive_adds_content_length(void **state)
{
	struct buf out = {0};
	struct sip_msg *msg = decode_ok("options", OPT_MSG, strlen(OPT_MSG)), *back;
	const char *want = "prefix|" OPT_HDRS "Content-Length: 0\r\n\r\n";

	(void)state;
	assert_int_equal(buf_append_cstr(&out, "prefix|"), 0);
	assert_int_equal(sip_msg_derive(&out, msg, SLICE_NULL, NULL, 0, NULL), 0);
	assert_text("options", buf_slice(&out), slice_cstr(want));
	back = decode_ok("options derived", out.p + 7, out.len - 7);
	assert_slice_str(back->from.tag, "abc");
	assert_int_equal(back->content_length, 0);
	mem_deref(back);
	mem_deref(msg);
	buf_free(&out);
}

/* Bare-LF input (which the parser accepts) comes out with CRLF, folds included. */
static void test_derive_line_ends(void **state)
{
	static const char lf[] = "OPTIONS sip:a@127.0.0.1 SIP/2.0\n"
	                         "Via: SIP/2.0/UDP 192.0.2.50;branch=z9hG4bK1\n"
	                         "From: <sip:a@192.0.2.50>;tag=1\n"
	                         "To: <sip:b@127.0.0.1>\n"
	                         "Call-ID: lf-1\n"
	                         "CSeq: 1 OPTIONS\n"
	                         "Subject: a\n  b\r\n\tc\n"
	                         "Content-Length: 4\n"
	                         "\n"
	                         "body";
	static const char want[] = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n"
	                           "Via: SIP/2.0/UDP 192.0.2.50;branch=z9hG4bK1\r\n"
	                           "From: <sip:a@192.0.2.50>;tag=1\r\n"
	                           "To: <sip:b@127.0.0.1>\r\n"
	                           "Call-ID: lf-1\r\n"
	                           "CSeq: 1 OPTIONS\r\n"
	                           "Subject: a\r\n  b\r\n\tc\r\n"
	                           "Content-Length: 4\r\n"
	                           "\r\n"
	                           "body";
	struct sip_msg *msg = decode_ok("bare LF", lf, sizeof(lf) - 1), *back;
	struct buf out = {0};

	(void)state;
	assert_int_equal(sip_msg_derive(&out, msg, SLICE_NULL, NULL, 0, NULL), 0);
	assert_text("bare LF", buf_slice(&out), SLICE(want));
	back = decode_ok("bare LF derived", out.p, out.len);
	assert_slice_str(back->body, "body");
	mem_deref(back);
	mem_deref(msg);
	buf_free(&out);
}

struct bad_edit_case {
	const char *name;
	const char *start_line;
	struct sip_edit edit;
};

static const struct bad_edit_case bad_edits[] = {
    {"CRLF in value", NULL, ED(ADD, OTHER, "X-A", "1\r\nX-Injected: 1")},
    {"LF in value", NULL, ED(ADD, SUBJECT, "", "1\nX-Injected: 1")},
    {"CR in value", NULL, ED(REPLACE, SUBJECT, "", "1\rX-Injected: 1")},
    {"NUL in value", NULL, ED(ADD_TOP, VIA, "", "SIP/2.0/UDP a\0b")},
    {"CRLF in name", NULL, ED(ADD, OTHER, "X-A\r\nX-B", "1")},
    {"space in name", NULL, ED(ADD, OTHER, "X A", "1")},
    {"colon in name", NULL, ED(ADD, OTHER, "X-A:", "1")},
    {"no name for OTHER", NULL, ED(ADD, OTHER, "", "1")},
    {"bad name even for REMOVE", NULL, ED(REMOVE, OTHER, "X-A\r\n", "")},
    {"unknown op", NULL, {(enum sip_edit_op)99, SIP_HDR_SUBJECT, S(""), S("x")}},
    {"id out of range", NULL, {SIP_EDIT_ADD, SIP_HDR__COUNT, S(""), S("x")}},
    {"CRLF in start line", "INVITE sip:a@b SIP/2.0\r\nX-Injected: 1", ED(ADD, OTHER, "X-A", "1")},
};

static void test_derive_rejects(void **state)
{
	struct buf raw = {0};
	struct sip_msg *msg = sample(&raw, INV_HEAD, SDP_BODY);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_edits); i++) {
		const struct bad_edit_case *c = &bad_edits[i];
		struct buf out = {0};
		int rc;

		assert_int_equal(buf_append_cstr(&out, "keep"), 0);
		rc = sip_msg_derive(&out, msg, slice_cstr(c->start_line), &c->edit, 1, NULL);
		if (rc != -EINVAL)
			print_message("%s: rc %d\n", c->name, rc);
		assert_int_equal(rc, -EINVAL);
		assert_text(c->name, buf_slice(&out), SLICE("keep"));
		buf_free(&out);
	}
	mem_deref(msg);
	buf_free(&raw);
}

/* ---------------------------------------------------------- responses */

struct resp_case {
	const char *name;
	const char *req; /* template; '#' is the SDP length */
	uint16_t status;
	const char *reason;
	const char *to_tag;
	const char *want_to_tag; /* in the response, parsed back */
	const char *body;
	struct sip_edit extra[3];
	const char *expect; /* without the body; '#' is the body length */
};

#define R_TAGGED R_VIAS R_FROM R_TO ";tag=as83kd9\r\n" R_DIALOG

/* clang-format off */
static const struct resp_case resp_cases[] = {
	{"180 to INVITE: tag added, Via order kept, Record-Route copied",
	 INV_HEAD, 180, NULL, "as83kd9", "as83kd9", "", {{0}},
	 "SIP/2.0 180 Ringing\r\n" R_TAGGED R_RRS CLEN "\r\n"},
	{"404 to INVITE: no Record-Route", INV_HEAD, 404, NULL, "as83kd9", "as83kd9", "", {{0}},
	 "SIP/2.0 404 Not Found\r\n" R_TAGGED CLEN "\r\n"},
	{"200 to INVITE with Contact and SDP; Content-Length extra ignored",
	 INV_HEAD, 200, NULL, "as83kd9", "as83kd9", SDP_EDGE,
	 {ED(ADD, CONTACT, "", "<sip:127.0.1.64:5060>"), ED(ADD, CONTENT_TYPE, "", "application/sdp"),
	  ED(ADD, CONTENT_LENGTH, "", "1")},
	 "SIP/2.0 200 OK\r\n" R_TAGGED R_RRS "Contact: <sip:127.0.1.64:5060>\r\n"
	 "Content-Type: application/sdp\r\n" CLEN "\r\n"},
	{"486 with its own reason and Retry-After",
	 INV_HEAD, 486, "Busy Here (all trunks)", "as83kd9", "as83kd9", "",
	 {ED(ADD, RETRY_AFTER, "", "60")},
	 "SIP/2.0 486 Busy Here (all trunks)\r\n" R_TAGGED "Retry-After: 60\r\n" CLEN "\r\n"},
	{"100 to INVITE: Timestamp echoed, no tag", INV_HEAD, 100, NULL, "", "", "", {{0}},
	 "SIP/2.0 100 Trying\r\n" R_VIAS R_FROM R_TO "\r\n" R_DIALOG "Timestamp: 54\r\n" CLEN "\r\n"},
	{"183 with extras that edit the copied headers",
	 INV_HEAD, 183, NULL, "as83kd9", "as83kd9", "",
	 {ED(REMOVE, RECORD_ROUTE, "", ""), ED(ADD, OTHER, "X-Edge", "ashburn-ix")},
	 "SIP/2.0 183 Session Progress\r\n" R_TAGGED "X-Edge: ashburn-ix\r\n" CLEN "\r\n"},
	{"200 to OPTIONS, empty to_tag: To as is, a folded From on one line",
	 OPT_MSG, 200, NULL, "", "", "", {ED(ADD, ALLOW, "", "INVITE, ACK, BYE, CANCEL, OPTIONS")},
	 "SIP/2.0 200 OK\r\n"
	 "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bKprobe1;rport\r\n"
	 "From: <sip:probe@192.0.2.50> ;tag=abc\r\n"
	 "To: <sip:127.0.1.64:5060>\r\n"
	 "Call-ID: probe-1@192.0.2.50\r\n"
	 "CSeq: 1 OPTIONS\r\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n" CLEN "\r\n"},
	{"200 to in-dialog BYE: the existing To tag (spelt TAG) is kept",
	 BYE_MSG, 200, NULL, "newtag", "1928301774", "", {{0}},
	 "SIP/2.0 200 OK\r\n"
	 "Via: SIP/2.0/UDP 127.0.2.64;branch=z9hG4bKbye1\r\n"
	 "From: <sip:+15551230000@acme.sip.ashburn-ix.example.com>;tag=as83kd9\r\n"
	 "To: \"Alice\" <sip:alice@pbx.example.org>;TAG=1928301774\r\n"
	 "Call-ID: a84b4c76e66710@pbx.example.org\r\n"
	 "CSeq: 231 BYE\r\n" CLEN "\r\n"},
};
/* clang-format on */

static void test_response_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(resp_cases); i++) {
		const struct resp_case *c = &resp_cases[i];
		struct buf raw = {0}, out = {0}, want = {0};
		struct sip_msg *req = sample(&raw, c->req, SDP_BODY), *back;
		int rc;

		rc = sip_response_build(&out, req, c->status, c->reason, slice_cstr(c->to_tag),
		                        c->extra, count_edits(c->extra, ARRAY_SIZE(c->extra)),
		                        slice_cstr(c->body));
		if (rc != 0)
			print_message("%s: rc %d\n", c->name, rc);
		assert_int_equal(rc, 0);
		expand(&want, c->expect, strlen(c->body));
		assert_int_equal(buf_append_cstr(&want, c->body), 0);
		assert_text(c->name, buf_slice(&out), buf_slice(&want));

		back = decode_ok(c->name, out.p, out.len);
		assert_false(back->req);
		assert_int_equal(back->status, c->status);
		assert_slice_str(back->reason,
		                 c->reason ? c->reason : sip_status_reason(c->status));
		assert_slice_str(back->to.tag, c->want_to_tag);
		assert_true(slice_eq(back->from.tag, req->from.tag));
		assert_true(slice_eq(back->call_id, req->call_id));
		assert_int_equal(back->cseq.num, req->cseq.num);
		assert_int_equal(back->cseq.mid, req->mid);
		assert_true(slice_eq(back->via.branch, req->via.branch));
		assert_int_equal(sip_msg_hdr_count(back, SIP_HDR_VIA),
		                 sip_msg_hdr_count(req, SIP_HDR_VIA));
		assert_slice_str(back->body, c->body);

		mem_deref(back);
		mem_deref(req);
		buf_free(&raw);
		buf_free(&out);
		buf_free(&want);
	}
}

/* Requests the decoder refuses but that still deserve an answer (a 400). */
struct partial_case {
	const char *name;
	const char *req;
	const char *expect;
	bool parses_back;
};

#define BAD_HEAD                                                                                   \
	"INVITE sip:bob@127.0.1.64 SIP/2.0\r\n"                                                    \
	"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKbad1\r\n"
#define BAD_TAIL                                                                                   \
	"Call-ID: bad@192.0.2.10\r\n"                                                              \
	"CSeq: 9 INVITE\r\n"                                                                       \
	"Content-Length: 0\r\n\r\n"
#define BAD_RESP_HEAD                                                                              \
	"SIP/2.0 400 Bad Request\r\n"                                                              \
	"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKbad1\r\n"

static const struct partial_case partial_cases[] = {
    {"bad Max-Forwards",
     BAD_HEAD "Max-Forwards: lots\r\nFrom: <sip:alice@192.0.2.10>;tag=77\r\n"
              "To: <sip:bob@127.0.1.64>\r\n" BAD_TAIL,
     BAD_RESP_HEAD "From: <sip:alice@192.0.2.10>;tag=77\r\n"
                   "To: <sip:bob@127.0.1.64>;tag=e1\r\n" BAD_TAIL,
     true},
    {"unparseable To that has a tag: no second tag",
     BAD_HEAD "From: <sip:alice@192.0.2.10>;tag=77\r\nTo: <sip:bob@[::1>;tag=abc\r\n" BAD_TAIL,
     BAD_RESP_HEAD "From: <sip:alice@192.0.2.10>;tag=77\r\n"
                   "To: <sip:bob@[::1>;tag=abc\r\n" BAD_TAIL,
     false},
    {"unparseable To without a tag: tag added",
     BAD_HEAD
     "From: <sip:alice@192.0.2.10>;tag=77\r\nTo: <sip:bob@[::1>;x=\"a;tag=b\"\r\n" BAD_TAIL,
     BAD_RESP_HEAD "From: <sip:alice@192.0.2.10>;tag=77\r\n"
                   "To: <sip:bob@[::1>;x=\"a;tag=b\";tag=e1\r\n" BAD_TAIL,
     false},
};

static void test_response_partial(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(partial_cases); i++) {
		const struct partial_case *c = &partial_cases[i];
		struct sip_limits lim;
		struct sip_perr perr = {0};
		struct sip_msg *req = NULL, *back;
		struct buf out = {0};
		int rc;

		sip_limits_default(&lim);
		rc = sip_msg_decode(&req, c->req, strlen(c->req), NULL, &lim, &perr);
		if (rc == 0 || !req)
			print_message("%s: decode rc %d, msg %p\n", c->name, rc, (void *)req);
		assert_int_not_equal(rc, 0);
		assert_non_null(req);
		if (c->parses_back)
			assert_true(sip_msg_can_answer(req));
		rc = sip_response_build(&out, req, 400, NULL, SLICE("e1"), NULL, 0, SLICE_NULL);
		assert_int_equal(rc, 0);
		assert_text(c->name, buf_slice(&out), slice_cstr(c->expect));
		if (c->parses_back) {
			back = decode_ok(c->name, out.p, out.len);
			assert_slice_str(back->to.tag, "e1");
			mem_deref(back);
		}
		mem_deref(req);
		buf_free(&out);
	}
}

struct bad_resp_case {
	const char *name;
	uint16_t status;
	const char *reason;
	const char *to_tag;
	struct sip_edit extra;
};

static const struct bad_resp_case bad_resps[] = {
    {"status 99", 99, NULL, "t", ED(ADD, OTHER, "X-A", "1")},
    {"status 700", 700, NULL, "t", ED(ADD, OTHER, "X-A", "1")},
    {"status 0", 0, "Zero", "t", ED(ADD, OTHER, "X-A", "1")},
    {"CRLF in reason", 200, "OK\r\nX-Injected: 1", "t", ED(ADD, OTHER, "X-A", "1")},
    {"LF in reason", 200, "OK\nX-Injected: 1", "t", ED(ADD, OTHER, "X-A", "1")},
    {"CRLF in to_tag", 200, NULL, "t\r\nX-Injected: 1", ED(ADD, OTHER, "X-A", "1")},
    {"';' in to_tag", 200, NULL, "t;x=1", ED(ADD, OTHER, "X-A", "1")},
    {"space in to_tag", 200, NULL, "t x", ED(ADD, OTHER, "X-A", "1")},
    {"CRLF in extra value", 200, NULL, "t", ED(ADD, OTHER, "X-A", "1\r\nX-Injected: 1")},
    {"LF in extra name", 200, NULL, "t", ED(ADD, OTHER, "X-A\nX-B", "1")},
};

static void test_response_rejects(void **state)
{
	struct buf raw = {0}, resp = {0};
	struct sip_msg *req = sample(&raw, INV_HEAD, SDP_BODY), *msg;
	struct sip_msg fake = {0};
	struct sip_hdr fh[4];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_resps); i++) {
		const struct bad_resp_case *c = &bad_resps[i];
		struct buf out = {0};
		int rc;

		assert_int_equal(buf_append_cstr(&out, "keep"), 0);
		rc = sip_response_build(&out, req, c->status, c->reason, slice_cstr(c->to_tag),
		                        &c->extra, 1, SLICE_NULL);
		if (rc != -EINVAL)
			print_message("%s: rc %d\n", c->name, rc);
		assert_int_equal(rc, -EINVAL);
		assert_text(c->name, buf_slice(&out), SLICE("keep"));
		buf_free(&out);
	}

	/* No response to a response. */
	assert_int_equal(sip_response_build(&resp, req, 200, NULL, SLICE("t"), NULL, 0, SLICE_NULL),
	                 0);
	msg = decode_ok("200", resp.p, resp.len);
	buf_reset(&resp);
	assert_int_equal(sip_response_build(&resp, msg, 200, NULL, SLICE_NULL, NULL, 0, SLICE_NULL),
	                 -EINVAL);
	assert_int_equal(resp.len, 0);
	mem_deref(msg);

	/* A request without Call-ID cannot be answered. */
	fh[0] =
	    (struct sip_hdr){SLICE("Via"), SLICE("SIP/2.0/UDP h;branch=z9hG4bK1"), SIP_HDR_VIA, 0};
	fh[1] = (struct sip_hdr){SLICE("From"), SLICE("<sip:a@h>;tag=1"), SIP_HDR_FROM, 0};
	fh[2] = (struct sip_hdr){SLICE("To"), SLICE("<sip:b@h>"), SIP_HDR_TO, 0};
	fh[3] = (struct sip_hdr){SLICE("CSeq"), SLICE("1 OPTIONS"), SIP_HDR_CSEQ, 0};
	fake.req = true;
	fake.hdr = fh;
	fake.nhdr = 4;
	assert_int_equal(
	    sip_response_build(&resp, &fake, 400, NULL, SLICE_NULL, NULL, 0, SLICE_NULL), -EBADMSG);
	assert_int_equal(resp.len, 0);

	mem_deref(req);
	buf_free(&raw);
	buf_free(&resp);
}

/* ----------------------------------------------------------- requests */

struct req_case {
	const char *name;
	const char *method;
	const char *ruri;
	enum sip_method mid;
	const char *from_tag;
	int max_forwards;
	const char *body;
	struct sip_edit hdrs[10];
	const char *expect; /* without the body */
};

/* clang-format off */
static const struct req_case req_cases[] = {
	{"INVITE with SDP", "INVITE", "sip:+15551230000@pbx.example.org:5060;transport=udp",
	 SIP_METHOD_INVITE, "f00d", 70, SDP_EDGE,
	 {ED(ADD, VIA, "", "SIP/2.0/UDP 127.0.1.64:5060;branch=z9hG4bKout1;rport"),
	  ED(ADD, MAX_FORWARDS, "", "70"),
	  ED(ADD, FROM, "", "\"ixedge\" <sip:+15557654321@acme.sip.ashburn-ix.example.com>;tag=f00d"),
	  ED(ADD, TO, "", "<sip:+15551230000@pbx.example.org>"),
	  ED(ADD, CALL_ID, "", "out-1@127.0.1.64"), ED(ADD, CSEQ, "", "1 INVITE"),
	  ED(ADD, CONTACT, "", "<sip:127.0.1.64:5060>"), ED(ADD, OTHER, "X-Edge", "ashburn-ix"),
	  ED(ADD, CONTENT_TYPE, "", "application/sdp"), ED(ADD, CONTENT_LENGTH, "", "5")},
	 "INVITE sip:+15551230000@pbx.example.org:5060;transport=udp SIP/2.0\r\n"
	 "Via: SIP/2.0/UDP 127.0.1.64:5060;branch=z9hG4bKout1;rport\r\n"
	 "Max-Forwards: 70\r\n"
	 "From: \"ixedge\" <sip:+15557654321@acme.sip.ashburn-ix.example.com>;tag=f00d\r\n"
	 "To: <sip:+15551230000@pbx.example.org>\r\n"
	 "Call-ID: out-1@127.0.1.64\r\n"
	 "CSeq: 1 INVITE\r\n"
	 "Contact: <sip:127.0.1.64:5060>\r\n"
	 "X-Edge: ashburn-ix\r\n"
	 "Content-Type: application/sdp\r\n" CLEN "\r\n"},
	{"OPTIONS: compact name written canonically, add_top Route goes first",
	 "OPTIONS", "sip:192.0.2.50:5060", SIP_METHOD_OPTIONS, "p1", 0, "",
	 {ED(ADD, OTHER, "v", "SIP/2.0/UDP 127.0.1.64;branch=z9hG4bKping"),
	  ED(ADD, OTHER, "f", "<sip:ping@127.0.1.64>;tag=p1"), ED(ADD, TO, "", "<sip:192.0.2.50>"),
	  ED(ADD, CALL_ID, "", "ping-1@127.0.1.64"), ED(ADD, CSEQ, "", "7 OPTIONS"),
	  ED(ADD_TOP, ROUTE, "", "<sip:127.0.2.64;lr>"), ED(ADD, MAX_FORWARDS, "", "0")},
	 "OPTIONS sip:192.0.2.50:5060 SIP/2.0\r\n"
	 "Route: <sip:127.0.2.64;lr>\r\n"
	 "Via: SIP/2.0/UDP 127.0.1.64;branch=z9hG4bKping\r\n"
	 "From: <sip:ping@127.0.1.64>;tag=p1\r\n"
	 "To: <sip:192.0.2.50>\r\n"
	 "Call-ID: ping-1@127.0.1.64\r\n"
	 "CSeq: 7 OPTIONS\r\n"
	 "Max-Forwards: 0\r\n" CLEN "\r\n"},
	{"extension method", "PING", "sip:192.0.2.50", SIP_METHOD_OTHER, "x", -1, "",
	 {ED(ADD, VIA, "", "SIP/2.0/TCP 127.0.1.64;branch=z9hG4bKx1"),
	  ED(ADD, FROM, "", "<sip:a@127.0.1.64>;tag=x"), ED(ADD, TO, "", "<sip:192.0.2.50>"),
	  ED(ADD, CALL_ID, "", "x1"), ED(ADD, CSEQ, "", "1 PING")},
	 "PING sip:192.0.2.50 SIP/2.0\r\n"
	 "Via: SIP/2.0/TCP 127.0.1.64;branch=z9hG4bKx1\r\n"
	 "From: <sip:a@127.0.1.64>;tag=x\r\n"
	 "To: <sip:192.0.2.50>\r\n"
	 "Call-ID: x1\r\n"
	 "CSeq: 1 PING\r\n" CLEN "\r\n"},
};
/* clang-format on */

static void test_request_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(req_cases); i++) {
		const struct req_case *c = &req_cases[i];
		struct buf out = {0}, want = {0};
		struct sip_msg *back;
		const struct sip_hdr *h;
		size_t nhdrs = count_edits(c->hdrs, ARRAY_SIZE(c->hdrs));
		int rc;

		rc = sip_request_build(&out, slice_cstr(c->method), slice_cstr(c->ruri), c->hdrs,
		                       nhdrs, slice_cstr(c->body));
		if (rc != 0)
			print_message("%s: rc %d\n", c->name, rc);
		assert_int_equal(rc, 0);
		expand(&want, c->expect, strlen(c->body));
		assert_int_equal(buf_append_cstr(&want, c->body), 0);
		assert_text(c->name, buf_slice(&out), buf_slice(&want));

		back = decode_ok(c->name, out.p, out.len);
		assert_true(back->req);
		assert_slice_str(back->method, c->method);
		assert_int_equal(back->mid, c->mid);
		assert_slice_str(back->ruri.raw, c->ruri);
		assert_slice_str(back->from.tag, c->from_tag);
		assert_int_equal(back->max_forwards, c->max_forwards);
		assert_int_equal(back->content_length, (int64_t)strlen(c->body));
		assert_slice_str(back->body, c->body);
		assert_true(slice_eq(back->cseq.method, back->method));
		/* Every header we asked for is there with the value we gave. */
		for (size_t k = 0; k < nhdrs; k++) {
			const struct sip_edit *e = &c->hdrs[k];
			enum sip_hdr_id id = e->id ? e->id : sip_hdr_id_from(e->name);

			if (id == SIP_HDR_CONTENT_LENGTH)
				continue;
			h = id ? sip_msg_hdr(back, id) : sip_msg_hdr_named(back, e->name);
			assert_non_null(h);
			assert_true(slice_eq(h->value, e->value));
		}
		mem_deref(back);
		buf_free(&out);
		buf_free(&want);
	}
}

/* Header injection must be impossible through any argument. */
struct inject_case {
	const char *name;
	const char *method;
	const char *ruri;
	struct sip_edit hdr;
	int rc;
};

static const struct inject_case inject_cases[] = {
    {"valid (control row)", "MESSAGE", "sip:a@127.0.0.1", ED(ADD, OTHER, "X-A", "1"), 0},
    {"CRLF in method", "INVITE\r\nX-Injected: 1", "sip:a@b", ED(ADD, OTHER, "X-A", "1"), -EINVAL},
    {"space in method", "INV ITE", "sip:a@b", ED(ADD, OTHER, "X-A", "1"), -EINVAL},
    {"empty method", "", "sip:a@b", ED(ADD, OTHER, "X-A", "1"), -EINVAL},
    {"colon in method", "INVITE:", "sip:a@b", ED(ADD, OTHER, "X-A", "1"), -EINVAL},
    {"CRLF in ruri", "INVITE", "sip:a@b\r\nX-Injected: 1", ED(ADD, OTHER, "X-A", "1"), -EINVAL},
    {"space in ruri", "INVITE", "sip:a@b SIP/2.0\r\nX: 1", ED(ADD, OTHER, "X-A", "1"), -EINVAL},
    {"only a space in ruri", "INVITE", "sip:a@b x", ED(ADD, OTHER, "X-A", "1"), -EINVAL},
    {"tab in ruri", "INVITE", "sip:a@b\tx", ED(ADD, OTHER, "X-A", "1"), -EINVAL},
    {"empty ruri", "INVITE", "", ED(ADD, OTHER, "X-A", "1"), -EINVAL},
    {"CRLF in value", "INVITE", "sip:a@b", ED(ADD, SUBJECT, "", "hi\r\nX-Injected: 1"), -EINVAL},
    {"LF in value", "INVITE", "sip:a@b", ED(ADD, SUBJECT, "", "hi\nX-Injected: 1"), -EINVAL},
    {"CR in value", "INVITE", "sip:a@b", ED(ADD, SUBJECT, "", "hi\rX-Injected: 1"), -EINVAL},
    {"NUL in value", "INVITE", "sip:a@b", ED(ADD, SUBJECT, "", "hi\0there"), -EINVAL},
    {"CRLF at the end of a value", "INVITE", "sip:a@b", ED(ADD, SUBJECT, "", "hi\r\n"), -EINVAL},
    {"CRLF then a header", "INVITE", "sip:a@b", ED(ADD, SUBJECT, "", "a\r\n \r\nX: 1"), -EINVAL},
    {"CRLF in name", "INVITE", "sip:a@b", ED(ADD, OTHER, "X-A\r\nX-Injected", "1"), -EINVAL},
    {"space in name", "INVITE", "sip:a@b", ED(ADD, OTHER, "X A", "1"), -EINVAL},
    {"colon in name", "INVITE", "sip:a@b", ED(ADD, OTHER, "X-A: 1\r\nX", "1"), -EINVAL},
    {"empty name for OTHER", "INVITE", "sip:a@b", ED(ADD, OTHER, "", "1"), -EINVAL},
};

static void test_request_injection(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(inject_cases); i++) {
		const struct inject_case *c = &inject_cases[i];
		struct sip_edit hdrs[2] = {ED(ADD, MAX_FORWARDS, "", "70"), c->hdr};
		struct buf out = {0};
		int rc;

		assert_int_equal(buf_append_cstr(&out, "keep"), 0);
		rc = sip_request_build(&out, slice_cstr(c->method), slice_cstr(c->ruri), hdrs, 2,
		                       SLICE_NULL);
		if (rc != c->rc)
			print_message("%s: rc %d, want %d\n", c->name, rc, c->rc);
		assert_int_equal(rc, c->rc);
		if (c->rc)
			assert_text(c->name, buf_slice(&out), SLICE("keep"));
		else
			assert_text(c->name, buf_slice(&out),
			            SLICE("keepMESSAGE sip:a@127.0.0.1 SIP/2.0\r\nMax-Forwards: "
			                  "70\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n"));
		buf_free(&out);
	}
}

/* A folded value (copied from a received message) is legal LWS: written unfolded. */
static void test_request_folded_value(void **state)
{
	struct sip_edit hdrs[2] = {ED(ADD, OTHER, "X-A", "one\r\n two\n\tthree"),
	                           ED(ADD, SUBJECT, "", "x\r\n  y")};
	struct buf out = {0};

	(void)state;
	assert_int_equal(sip_request_build(&out, SLICE("MESSAGE"), SLICE("sip:a@127.0.0.1"), hdrs,
	                                   2, SLICE_NULL),
	                 0);
	assert_text("folded", buf_slice(&out),
	            SLICE("MESSAGE sip:a@127.0.0.1 SIP/2.0\r\nX-A: one two three\r\nSubject: x "
	                  "y\r\nContent-Length: 0\r\n\r\n"));
	buf_free(&out);
}

/* ------------------------------------------------------ reason phrases */

/* "code phrase" vectors; the code is read back with strtoul. */
/* clang-format off */
static const char *const reasons[] = {
	"100 Trying", "180 Ringing", "181 Call Is Being Forwarded", "182 Queued",
	"183 Session Progress", "199 Early Dialog Terminated", "200 OK", "202 Accepted",
	"204 No Notification", "300 Multiple Choices", "302 Moved Temporarily",
	"380 Alternative Service", "400 Bad Request", "401 Unauthorized", "403 Forbidden",
	"404 Not Found", "407 Proxy Authentication Required", "408 Request Timeout",
	"412 Conditional Request Failed", "414 Request-URI Too Long", "416 Unsupported URI Scheme",
	"417 Unknown Resource-Priority", "420 Bad Extension", "421 Extension Required",
	"422 Session Interval Too Small", "423 Interval Too Brief", "428 Use Identity Header",
	"429 Provide Referrer Identity", "433 Anonymity Disallowed", "436 Bad Identity-Info",
	"437 Unsupported Certificate", "438 Invalid Identity Header",
	"439 First Hop Lacks Outbound Support", "440 Max-Breadth Exceeded", "469 Bad Info Package",
	"470 Consent Needed", "480 Temporarily Unavailable", "481 Call/Transaction Does Not Exist",
	"482 Loop Detected", "483 Too Many Hops", "486 Busy Here", "487 Request Terminated",
	"488 Not Acceptable Here", "489 Bad Event", "491 Request Pending", "493 Undecipherable",
	"494 Security Agreement Required", "500 Server Internal Error", "503 Service Unavailable",
	"504 Server Time-out", "505 Version Not Supported", "513 Message Too Large",
	"580 Precondition Failure", "600 Busy Everywhere", "603 Decline",
	"604 Does Not Exist Anywhere", "606 Not Acceptable", "607 Unwanted", "608 Rejected",
	"0 Unknown", "99 Unknown", "101 Unknown", "299 Unknown", "411 Unknown", "700 Unknown",
	"65535 Unknown"
};
/* clang-format on */

static void test_status_reason(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++) {
		char *phrase;
		unsigned long code = strtoul(reasons[i], &phrase, 10);

		assert_true(code <= UINT16_MAX && *phrase == ' ');
		if (strcmp(sip_status_reason((uint16_t)code), phrase + 1) != 0)
			print_message("%lu: '%s'\n", code, sip_status_reason((uint16_t)code));
		assert_string_equal(sip_status_reason((uint16_t)code), phrase + 1);
	}
	/* Every phrase is usable in a status line as it stands. */
	for (unsigned code = 0; code < 1000; code++) {
		const char *r = sip_status_reason((uint16_t)code);

		assert_non_null(r);
		assert_true(strlen(r) > 0);
		assert_null(strpbrk(r, "\r\n"));
		if (code < 100 || code > 699)
			assert_string_equal(r, "Unknown");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_derive_table),
	    cmocka_unit_test(test_derive_adds_content_length),
	    cmocka_unit_test(test_derive_line_ends),
	    cmocka_unit_test(test_derive_rejects),
	    cmocka_unit_test(test_response_table),
	    cmocka_unit_test(test_response_partial),
	    cmocka_unit_test(test_response_rejects),
	    cmocka_unit_test(test_request_table),
	    cmocka_unit_test(test_request_injection),
	    cmocka_unit_test(test_request_folded_value),
	    cmocka_unit_test(test_status_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
