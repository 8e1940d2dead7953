/* Unit tests: TwiML parsing and validation (tables of documents, values and error messages). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/twiml.h"

#define R(body) "<Response>" body "</Response>"
#define D(sip)  R("<Dial>" sip "</Dial>")
#define SIPA    "<Sip>sip:a@127.0.0.1</Sip>"

static void assert_slice(struct slice got, const char *want)
{
	if (!want) {
		if (got.p || got.len)
			fail_msg("got '%.*s', want absent", (int)got.len, got.p);
		return;
	}
	if (got.len != strlen(want) || memcmp(got.p, want, got.len) != 0)
		fail_msg("got '%.*s', want '%s'", (int)got.len, got.p ? got.p : "", want);
	assert_int_equal(got.p[got.len], '\0'); /* pool strings are NUL-terminated */
}

static struct twiml_doc *parse_ok(const char *xml)
{
	struct twiml_doc *doc = NULL;
	struct twiml_err err;
	int rc = twiml_parse(&doc, xml, strlen(xml), &err);

	if (rc)
		fail_msg("parse failed (%d): %s\n%s", rc, err.what, xml);
	assert_non_null(doc);
	return doc;
}

/* ------------------------------------------------------- valid documents */

static void test_dial_full(void **state)
{
	const char *xml =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<Response>\n"
	    "  <!-- a comment -->\n"
	    "  <Dial action=\"https://app.example.com/after?x=1&amp;y=2\" method=\"get\"\n"
	    "        timeout=\" 45 \" callerId=\"+15551230000\" answerOnBridge=\"True\"\n"
	    "        timeLimit=\"600\" record=\"record-from-answer-dual\">\n"
	    "    <Sip username=\"alice\" password=\"s3cr&lt;t\" url=\"/screen\"\n"
	    "         method=\"GET\" statusCallback=\"https://cb.example.com/s\"\n"
	    "         statusCallbackMethod=\"GET\"\n"
	    "         statusCallbackEvent=\"initiated  ringing answered completed\">\n"
	    "      sip:callee@127.0.0.1:5080;edge=london-ix?X-Foo=1&amp;X-Bar=2\n"
	    "    </Sip>\n"
	    "    <Sip statusCallbackEvent=\"ringing\"><![CDATA[sips:b@example.com]]></Sip>\n"
	    "  </Dial>\n"
	    "</Response>\n";
	struct twiml_doc *doc = parse_ok(xml);
	const struct twiml_dial *d;
	const struct twiml_sip *s;

	(void)state;
	assert_int_equal(doc->nverb, 1);
	assert_int_equal(doc->verb[0].type, TWIML_VERB_DIAL);
	assert_int_equal(doc->verb[0].line, 4);
	d = &doc->verb[0].u.dial;
	assert_slice(d->action, "https://app.example.com/after?x=1&y=2");
	assert_int_equal(d->method, TWIML_METHOD_GET);
	assert_int_equal(d->timeout, 45);
	assert_slice(d->caller_id, "+15551230000");
	assert_true(d->answer_on_bridge);
	assert_int_equal(d->time_limit, 600);
	assert_int_equal(d->record, TWIML_RECORD_FROM_ANSWER_DUAL);
	assert_int_equal(d->nsip, 2);
	s = &d->sip[0];
	assert_slice(s->uri, "sip:callee@127.0.0.1:5080;edge=london-ix?X-Foo=1&X-Bar=2");
	assert_slice(s->username, "alice");
	assert_slice(s->password, "s3cr<t");
	assert_slice(s->url, "/screen");
	assert_int_equal(s->method, TWIML_METHOD_GET);
	assert_slice(s->status_callback, "https://cb.example.com/s");
	assert_int_equal(s->status_callback_method, TWIML_METHOD_GET);
	assert_int_equal(s->status_callback_events, TWIML_EVENT_INITIATED | TWIML_EVENT_RINGING |
	                                                TWIML_EVENT_ANSWERED |
	                                                TWIML_EVENT_COMPLETED);
	assert_int_equal(s->line, 7);
	s = &d->sip[1];
	assert_slice(s->uri, "sips:b@example.com");
	assert_slice(s->username, NULL);
	assert_slice(s->password, NULL);
	assert_int_equal(s->status_callback_events, TWIML_EVENT_RINGING);
	assert_int_equal(mem_nrefs(doc), 1);
	mem_deref(doc);
}

static void test_defaults(void **state)
{
	struct twiml_doc *doc = parse_ok(R("<Dial action=\"\" callerId=\"\">" SIPA
	                                   "</Dial><Reject/><Pause/><Redirect>next</"
	                                   "Redirect><Hangup></Hangup>"));
	const struct twiml_dial *d = &doc->verb[0].u.dial;

	(void)state;
	assert_int_equal(doc->nverb, 5);
	assert_slice(d->action, NULL); /* "" counts as absent */
	assert_slice(d->caller_id, NULL);
	assert_int_equal(d->method, TWIML_METHOD_POST);
	assert_int_equal(d->timeout, TWIML_DIAL_TIMEOUT_DEFAULT);
	assert_int_equal(d->timeout, 30);
	assert_int_equal(d->time_limit, 14400);
	assert_false(d->answer_on_bridge);
	assert_int_equal(d->record, TWIML_RECORD_NONE);
	assert_int_equal(d->sip[0].method, TWIML_METHOD_POST);
	assert_int_equal(d->sip[0].status_callback_method, TWIML_METHOD_POST);
	assert_int_equal(d->sip[0].status_callback_events, TWIML_EVENT_COMPLETED);
	assert_slice(d->sip[0].url, NULL);
	assert_int_equal(doc->verb[1].type, TWIML_VERB_REJECT);
	assert_int_equal(doc->verb[1].u.reject.reason, TWIML_REJECT_REJECTED);
	assert_int_equal(doc->verb[2].type, TWIML_VERB_PAUSE);
	assert_int_equal(doc->verb[2].u.pause.length, 1);
	assert_int_equal(doc->verb[3].type, TWIML_VERB_REDIRECT);
	assert_slice(doc->verb[3].u.redirect.url, "next");
	assert_int_equal(doc->verb[3].u.redirect.method, TWIML_METHOD_POST);
	assert_int_equal(doc->verb[4].type, TWIML_VERB_HANGUP);
	mem_deref(doc);
}

static void test_simple_verbs(void **state)
{
	struct twiml_doc *doc = parse_ok(
	    R("<Reject reason=\"busy\"/><Reject reason=\"rejected\"/><Pause length=\"600\"/>"
	      "<Redirect method=\"GET\"> http://h.example/x </Redirect>"));

	(void)state;
	assert_int_equal(doc->nverb, 4);
	assert_int_equal(doc->verb[0].u.reject.reason, TWIML_REJECT_BUSY);
	assert_int_equal(doc->verb[1].u.reject.reason, TWIML_REJECT_REJECTED);
	assert_int_equal(doc->verb[2].u.pause.length, 600);
	assert_slice(doc->verb[3].u.redirect.url, "http://h.example/x");
	assert_int_equal(doc->verb[3].u.redirect.method, TWIML_METHOD_GET);
	mem_deref(doc);
}

static void test_empty_response(void **state)
{
	static const char *const docs[] = {"<Response/>", "<Response></Response>",
	                                   "\n<Response>\n\t \n</Response>\n",
	                                   "<?xml version=\"1.0\"?><!--x--><Response/><!--y-->"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		struct twiml_doc *doc = parse_ok(docs[i]);

		assert_int_equal(doc->nverb, 0);
		assert_null(doc->verb);
		mem_deref(doc);
	}
}

/* Strings come out as UTF-8 whatever the declared encoding. */
/* The legacy boolean record values, and credentials kept byte for byte. */
static void test_record_and_creds(void **state)
{
	struct twiml_doc *doc = parse_ok(
	    R("<Dial record=\"true\"><Sip username=\" a \" password=\" p w \">sip:a@h</Sip></Dial>"
	      "<Dial record=\"False\">" SIPA "</Dial>"
	      "<Dial record=\"RECORD-FROM-RINGING\">" SIPA "</Dial>"));

	(void)state;
	assert_int_equal(doc->verb[0].u.dial.record, TWIML_RECORD_FROM_ANSWER);
	assert_slice(doc->verb[0].u.dial.sip[0].username, " a ");
	assert_slice(doc->verb[0].u.dial.sip[0].password, " p w ");
	assert_int_equal(doc->verb[1].u.dial.record, TWIML_RECORD_NONE);
	assert_int_equal(doc->verb[2].u.dial.record, TWIML_RECORD_FROM_RINGING);
	mem_deref(doc);
}

static void test_latin1(void **state)
{
	const char xml[] = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
	                   "<Response><Dial><Sip password=\"\xe9\xe9\xe9\">sip:a@h</Sip></Dial>"
	                   "</Response>";
	struct twiml_doc *doc = parse_ok(xml);

	(void)state;
	assert_slice(doc->verb[0].u.dial.sip[0].password, "\xc3\xa9\xc3\xa9\xc3\xa9");
	mem_deref(doc);
}

static void test_max_sip_and_verbs(void **state)
{
	struct buf b = {0};
	struct twiml_doc *doc;

	(void)state;
	buf_append_cstr(&b, "<Response><Dial>");
	for (unsigned i = 0; i < TWIML_MAX_SIP; i++)
		buf_printf(&b, "<Sip>sip:u%u@127.0.0.1</Sip>", i);
	buf_append_cstr(&b, "</Dial>");
	for (unsigned i = 1; i < TWIML_MAX_VERBS; i++)
		buf_append_cstr(&b, "<Pause/>");
	buf_append_cstr(&b, "</Response>");
	doc = parse_ok(b.p);
	assert_int_equal(doc->nverb, TWIML_MAX_VERBS);
	assert_int_equal(doc->verb[0].u.dial.nsip, TWIML_MAX_SIP);
	assert_slice(doc->verb[0].u.dial.sip[9].uri, "sip:u9@127.0.0.1");
	mem_deref(doc);
	buf_free(&b);
}

/* Exactly the size limit passes; one byte more does not. */
static void test_size_limit(void **state)
{
	char *xml = malloc(TWIML_MAX_DOC_SIZE + 1);
	const char *head = R("<Hangup/>") "<!--";
	struct twiml_doc *doc = NULL;
	struct twiml_err err;
	size_t hl = strlen(head);

	(void)state;
	memcpy(xml, head, hl);
	memset(xml + hl, 'x', TWIML_MAX_DOC_SIZE - hl - 3);
	memcpy(xml + TWIML_MAX_DOC_SIZE - 3, "-->", 3);
	xml[TWIML_MAX_DOC_SIZE] = '\n';
	assert_int_equal(twiml_parse(&doc, xml, TWIML_MAX_DOC_SIZE, &err), 0);
	assert_int_equal(doc->nverb, 1);
	mem_deref(doc);
	assert_int_equal(twiml_parse(&doc, xml, TWIML_MAX_DOC_SIZE + 1, &err), -E2BIG);
	assert_null(doc);
	assert_int_equal(err.line, 0);
	assert_string_equal(err.what, "document is 65537 bytes, over the 65536-byte limit");
	free(xml);
}

/* Several <Dial>s: each one's nouns stay with it. */
static void test_two_dials(void **state)
{
	struct twiml_doc *doc =
	    parse_ok(R("<Dial><Sip>sip:a@h1</Sip><Sip>sip:b@h1</Sip></Dial>"
	               "<Pause/><Dial timeout=\"5\"><Sip>sip:c@h2</Sip></Dial>"));

	(void)state;
	assert_int_equal(doc->verb[0].u.dial.nsip, 2);
	assert_slice(doc->verb[0].u.dial.sip[1].uri, "sip:b@h1");
	assert_int_equal(doc->verb[2].u.dial.nsip, 1);
	assert_slice(doc->verb[2].u.dial.sip[0].uri, "sip:c@h2");
	assert_int_equal(doc->verb[2].u.dial.timeout, 5);
	mem_deref(doc);
}

/* ------------------------------------------------------------- errors */

struct bad_case {
	const char *xml;
	int rc;
	const char *what; /* the whole message, position included */
};

static const struct bad_case bad_cases[] = {
    /* not XML, not TwiML */
    {"", -EBADMSG, "line 1: not XML: no element found"},
    {"hello", -EBADMSG, "line 1: not XML: syntax error"},
    {"INVITE sip:a@b SIP/2.0\r\n\r\n", -EBADMSG, "line 1: not XML: syntax error"},
    {"<Response>", -EBADMSG, "line 1: not XML: no element found"},
    {"<Response><Hangup></Response>", -EBADMSG, "line 1: not XML: mismatched tag"},
    {"<Response/><Response/>", -EBADMSG, "line 1: not XML: junk after document element"},
    {"<Response a='1' a='2'/>", -EBADMSG, "line 1: not XML: duplicate attribute"},
    {R("&foo;"), -EBADMSG, "line 1: not XML: undefined entity"},
    {"<html><body/></html>", -EBADMSG,
     "line 1: not TwiML: the root element is <html>, not <Response>"},
    {"<response/>", -EBADMSG, "line 1: not TwiML: the root element is <response>, not <Response>"},
    {"<Dial/>", -EBADMSG, "line 1: not TwiML: the root element is <Dial>, not <Response>"},
    {"<t:Response xmlns:t='urn:x'/>", -EBADMSG,
     "line 1: not TwiML: the root element is <t:Response>, not <Response>"},
    {"<Response foo='1'/>", -EBADMSG, "line 1: <Response>: unknown attribute 'foo'"},
    /* entity attacks and DOCTYPEs */
    {"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
     "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\n<Response>&lol2;</Response>",
     -EBADMSG, "line 2: a DOCTYPE is not allowed in TwiML"},
    {"<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><Response/>", -EBADMSG,
     "line 1: a DOCTYPE is not allowed in TwiML"},
    {"<!DOCTYPE Response><Response/>", -EBADMSG, "line 1: a DOCTYPE is not allowed in TwiML"},
    /* verbs */
    {R("<Foo/>"), -EBADMSG, "line 1: unknown verb <Foo>"},
    {R("<dial/>"), -EBADMSG, "line 1: unknown verb <dial>"},
    {R("<Say>hi</Say>"), -ENOTSUP, "line 1: <Say> is not supported yet (it needs media)"},
    {R("<Play>x.wav</Play>"), -ENOTSUP, "line 1: <Play> is not supported yet (it needs media)"},
    {R("<Gather/>"), -ENOTSUP, "line 1: <Gather> is not supported yet (it needs media)"},
    {R("<Record/>"), -ENOTSUP, "line 1: <Record> is not supported yet (it needs media)"},
    {R("<Enqueue>q</Enqueue>"), -ENOTSUP, "line 1: <Enqueue> is not supported yet"},
    {R("<Response/>"), -EBADMSG, "line 1: <Response> inside <Response>"},
    {R("<Sip>sip:a@b</Sip>"), -EBADMSG, "line 1: <Sip> is only allowed inside <Dial>"},
    {R("<Number>+1555</Number>"), -EBADMSG, "line 1: <Number> is only allowed inside <Dial>"},
    {R("hello<Hangup/>"), -EBADMSG, "line 1: <Response>: unexpected text"},
    {R("<Hangup/>bye"), -EBADMSG, "line 1: <Response>: unexpected text"},
    {R("<Hangup>now</Hangup>"), -EBADMSG, "line 1: <Hangup>: unexpected text"},
    {R("<Hangup><Pause/></Hangup>"), -EBADMSG,
     "line 1: <Hangup> cannot contain elements (found <Pause>)"},
    {R("<Reject>x</Reject>"), -EBADMSG, "line 1: <Reject>: unexpected text"},
    {R("<Pause>3</Pause>"), -EBADMSG, "line 1: <Pause>: unexpected text"},
    /* <Dial> and its nouns */
    {R("<Dial/>"), -EBADMSG, "line 1: <Dial>: no <Sip> to dial"},
    {R("<Dial> </Dial>"), -EBADMSG, "line 1: <Dial>: no <Sip> to dial"},
    {R("<Dial>+15551234567</Dial>"), -ENOTSUP,
     "line 1: <Dial>: dialling a number given as text is not supported yet; use <Sip>"},
    {R("<Dial>1" SIPA "</Dial>"), -ENOTSUP,
     "line 1: <Dial>: dialling a number given as text is not supported yet; use <Sip>"},
    {R("<Dial><Number>+1555</Number></Dial>"), -ENOTSUP,
     "line 1: <Dial>: <Number> is not supported yet; use <Sip>"},
    {R("<Dial><Client>bob</Client></Dial>"), -ENOTSUP,
     "line 1: <Dial>: <Client> is not supported yet; use <Sip>"},
    {R("<Dial><Conference>c</Conference></Dial>"), -ENOTSUP,
     "line 1: <Dial>: <Conference> is not supported yet; use <Sip>"},
    {R("<Dial><Hangup/></Dial>"), -EBADMSG,
     "line 1: <Dial>: <Hangup> is not allowed inside <Dial>"},
    {R("<Dial><Sipp>x</Sipp></Dial>"), -EBADMSG, "line 1: <Dial>: unknown noun <Sipp>"},
    {R("<Dial><Sip>sip:a@b<Pause/></Sip></Dial>"), -EBADMSG,
     "line 1: <Sip> cannot contain elements (found <Pause>)"},
    {D(SIPA SIPA SIPA SIPA SIPA SIPA SIPA SIPA SIPA SIPA SIPA), -E2BIG,
     "line 1: <Dial>: more than 10 <Sip> nouns"},
    {R("<Dial foo=\"1\">" SIPA "</Dial>"), -EBADMSG, "line 1: <Dial>: unknown attribute 'foo'"},
    {R("<Dial Timeout=\"1\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: unknown attribute 'Timeout'"},
    {R("<Dial ringTone=\"us\">" SIPA "</Dial>"), -ENOTSUP,
     "line 1: <Dial>: attribute 'ringTone' is not supported yet"},
    {R("<Dial hangupOnStar=\"true\">" SIPA "</Dial>"), -ENOTSUP,
     "line 1: <Dial>: attribute 'hangupOnStar' is not supported yet"},
    {R("<Dial timeout=\"0\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: timeout '0' is out of range 1-600"},
    {R("<Dial timeout=\"601\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: timeout '601' is out of range 1-600"},
    {R("<Dial timeout=\"99999999999999999999\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: timeout '99999999999999999999' is out of range 1-600"},
    {R("<Dial timeout=\"-1\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: timeout '-1' is not a whole number of seconds"},
    {R("<Dial timeout=\"\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: timeout '' is not a whole number of seconds"},
    {R("<Dial timeout=\"1.5\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: timeout '1.5' is not a whole number of seconds"},
    {R("<Dial timeLimit=\"0\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: timeLimit '0' is out of range 1-86400"},
    {R("<Dial timeLimit=\"86401\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: timeLimit '86401' is out of range 1-86400"},
    {R("<Dial method=\"PUT\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: method 'PUT' is not GET or POST"},
    {R("<Dial answerOnBridge=\"yes\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: answerOnBridge 'yes' is not true or false"},
    {R("<Dial record=\"yes\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: record 'yes' is not one of do-not-record, record-from-answer[-dual], "
     "record-from-ringing[-dual], true, false"},
    {R("<Dial action=\"ftp://h/x\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: action: URL scheme is not http or https"},
    {R("<Dial action=\"http://\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: action: URL has no host"},
    {R("<Dial action=\"/a b\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: action: URL contains a space or control character"},
    {R("<Dial action=\"/caf\xc3\xa9\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: action: URL contains a non-ASCII byte (percent-encode it)"},
    {R("<Dial callerId=\"&lt;sip:a@b&gt;\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: callerId: not a sip:, sips: or tel: URI"},
    {R("<Dial callerId=\"Alice Smith\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: callerId: contains a character not allowed in a SIP user part"},
    {R("<Dial callerId=\"sip:a@b?X-A=1\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: callerId: the URI carries headers"},
    /* <Sip> */
    {D("<Sip></Sip>"), -EBADMSG, "line 1: <Sip>: no SIP URI"},
    {D("<Sip>  </Sip>"), -EBADMSG, "line 1: <Sip>: no SIP URI"},
    {D("<Sip>tel:+15551234567</Sip>"), -EBADMSG, "line 1: <Sip>: not a sip: or sips: URI"},
    {D("<Sip>http://example.com/</Sip>"), -EBADMSG, "line 1: <Sip>: not a sip: or sips: URI"},
    {D("<Sip>alice@example.com</Sip>"), -EBADMSG,
     "line 1: <Sip>: bad SIP URI at offset 5: URI has no scheme"},
    {D("<Sip>sip:a b@h</Sip>"), -EBADMSG,
     "line 1: <Sip>: bad SIP URI at offset 5: bad user part in URI"},
    {D("<Sip>sip:a@h;transport=sctp</Sip>"), -EBADMSG,
     "line 1: <Sip>: transport=sctp is not udp, tcp or tls"},
    {D("<Sip>sip:a@h;edge</Sip>"), -EBADMSG, "line 1: <Sip>: URI parameter edge= has no value"},
    {D("<Sip>sip:a@h;secure=yes</Sip>"), -EBADMSG, "line 1: <Sip>: secure= is not true or false"},
    {D("<Sip>sip:a@h?Subject=hi</Sip>"), -EBADMSG,
     "line 1: <Sip>: URI header 'Subject' is not an X- header (only X- headers may be sent)"},
    {D("<Sip>sip:a@h?X-A=1&amp;Route=%3Csip:evil%3E</Sip>"), -EBADMSG,
     "line 1: <Sip>: URI header 'Route' is not an X- header (only X- headers may be sent)"},
    {D("<Sip>sip:a@h?X-A=1%0D%0AVia:%20x</Sip>"), -EBADMSG,
     "line 1: <Sip>: value of URI header 'X-A' contains a control character"},
    {D("<Sip>sip:a@h?X%20A=1</Sip>"), -EBADMSG,
     "line 1: <Sip>: bad header name 'X%20A' in the URI"},
    {D("<Sip foo=\"1\">sip:a@h</Sip>"), -EBADMSG, "line 1: <Sip>: unknown attribute 'foo'"},
    {D("<Sip machineDetection=\"Enable\">sip:a@h</Sip>"), -ENOTSUP,
     "line 1: <Sip>: attribute 'machineDetection' is not supported yet"},
    {D("<Sip method=\"DELETE\">sip:a@h</Sip>"), -EBADMSG,
     "line 1: <Sip>: method 'DELETE' is not GET or POST"},
    {D("<Sip statusCallbackMethod=\"x\">sip:a@h</Sip>"), -EBADMSG,
     "line 1: <Sip>: statusCallbackMethod 'x' is not GET or POST"},
    {D("<Sip statusCallbackEvent=\"ringing hungup\">sip:a@h</Sip>"), -EBADMSG,
     "line 1: <Sip>: statusCallbackEvent 'ringing hungup' is not a space-separated list of "
     "initiated, ringing, answered, completed"},
    {D("<Sip statusCallbackEvent=\" \">sip:a@h</Sip>"), -EBADMSG,
     "line 1: <Sip>: statusCallbackEvent '' is not a space-separated list of initiated, "
     "ringing, answered, completed"},
    {D("<Sip username=\"a&#10;b\">sip:a@h</Sip>"), -EBADMSG,
     "line 1: <Sip>: username: contains a control character"},
    {D("<Sip password=\"a&#1;b\">sip:a@h</Sip>"), -EBADMSG,
     "line 1: not XML: reference to invalid character number"},
    {D("<Sip url=\"gopher://h/\">sip:a@h</Sip>"), -EBADMSG,
     "line 1: <Sip>: url: URL scheme is not http or https"},
    {D("<Sip statusCallback=\"https://h/\tx\">sip:a@h</Sip>"), -EBADMSG,
     "line 1: <Sip>: statusCallback: URL contains a space or control character"},
    /* other verbs */
    {R("<Reject reason=\"maybe\"/>"), -EBADMSG,
     "line 1: <Reject>: reason 'maybe' is not busy or rejected"},
    {R("<Reject Reason=\"busy\"/>"), -EBADMSG, "line 1: <Reject>: unknown attribute 'Reason'"},
    {R("<Hangup reason=\"x\"/>"), -EBADMSG, "line 1: <Hangup>: unknown attribute 'reason'"},
    {R("<Pause length=\"0\"/>"), -EBADMSG, "line 1: <Pause>: length '0' is out of range 1-600"},
    {R("<Pause length=\"601\"/>"), -EBADMSG, "line 1: <Pause>: length '601' is out of range 1-600"},
    {R("<Pause length=\"x\"/>"), -EBADMSG,
     "line 1: <Pause>: length 'x' is not a whole number of seconds"},
    {R("<Pause len=\"1\"/>"), -EBADMSG, "line 1: <Pause>: unknown attribute 'len'"},
    {R("<Redirect/>"), -EBADMSG, "line 1: <Redirect>: no URL"},
    {R("<Redirect> </Redirect>"), -EBADMSG, "line 1: <Redirect>: no URL"},
    {R("<Redirect>mailto:a@b</Redirect>"), -EBADMSG,
     "line 1: <Redirect>: URL scheme is not http or https"},
    {R("<Redirect method=\"HEAD\">/x</Redirect>"), -EBADMSG,
     "line 1: <Redirect>: method 'HEAD' is not GET or POST"},
    {R("<Redirect url=\"/x\">/x</Redirect>"), -EBADMSG,
     "line 1: <Redirect>: unknown attribute 'url'"},
    /* positions: the line of the element at fault */
    {"<Response>\n  <Pause/>\n  <Dial foo=\"1\">\n" SIPA "</Dial>\n</Response>", -EBADMSG,
     "line 3: <Dial>: unknown attribute 'foo'"},
    {"<Response>\n<Dial>\n\n    <Sip>\n  sip:\n</Sip>\n</Dial>\n</Response>", -EBADMSG,
     "line 4: <Sip>: bad SIP URI at offset 4: bad host or port in URI"},
    {"<Response>\n<Dial>\n</Dial></Response>", -EBADMSG, "line 2: <Dial>: no <Sip> to dial"},
    /* the first problem wins, even before a later XML error */
    {R("<Foo/>") "<<<", -EBADMSG, "line 1: unknown verb <Foo>"},
    /* values in messages are cut and their control characters hidden */
    {R("<Dial timeout=\"123456789012345678901234567890123456789\">" SIPA "</Dial>"), -EBADMSG,
     "line 1: <Dial>: timeout '12345678901234567890123456789012...' is out of range 1-600"},
    {R("<Reject reason=\"a&#10;b\"/>"), -EBADMSG,
     "line 1: <Reject>: reason 'a?b' is not busy or rejected"},
};

static void test_bad(void **state)
{
	unsigned bad = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct twiml_doc *doc = (struct twiml_doc *)&doc; /* must be reset to NULL */
		struct twiml_err err;
		int rc = twiml_parse(&doc, c->xml, strlen(c->xml), &err);

		if (rc != c->rc || strcmp(err.what, c->what) != 0)
			fail_msg("case %zu: %s\n got %d '%s'\nwant %d '%s'", i, c->xml, rc,
			         err.what, c->rc, c->what);
		assert_null(doc);
		if (strncmp(c->what, "line ", 5) == 0)
			assert_int_equal(err.line, atoi(c->what + 5));
		assert_true(err.column >= 1);
	}
	assert_int_equal(bad, 0);
}

static void test_bad_column(void **state)
{
	const char *xml = "<Response>\n  <Pause/>   <Dial foo=\"1\">" SIPA "</Dial></Response>";
	struct twiml_doc *doc;
	struct twiml_err err;

	(void)state;
	assert_int_equal(twiml_parse(&doc, xml, strlen(xml), &err), -EBADMSG);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.column, 14);
	/* a NULL err is allowed */
	assert_int_equal(twiml_parse(&doc, xml, strlen(xml), NULL), -EBADMSG);
	assert_null(doc);
	assert_int_equal(twiml_parse(&doc, NULL, 1, &err), -EINVAL);
	assert_int_equal(twiml_parse(&doc, NULL, 0, &err), -EBADMSG);
	assert_string_equal(err.what, "line 1: not XML: no element found");
}

static void test_too_many(void **state)
{
	struct buf b = {0};
	struct twiml_doc *doc;
	struct twiml_err err;

	(void)state;
	buf_append_cstr(&b, "<Response>");
	for (unsigned i = 0; i <= TWIML_MAX_VERBS; i++)
		buf_append_cstr(&b, "<Hangup/>\n");
	buf_append_cstr(&b, "</Response>");
	assert_int_equal(twiml_parse(&doc, b.p, b.len, &err), -E2BIG);
	assert_string_equal(err.what, "line 257: more than 256 verbs");
	buf_free(&b);

	/* the URI length limit: 254 characters before '?' pass, 255 do not */
	for (unsigned extra = 0; extra < 2; extra++) {
		buf_append_cstr(&b, "<Response><Dial><Sip>sip:");
		for (size_t i = 0; i < TWIML_MAX_SIP_URI + extra - 6; i++)
			buf_append(&b, "u", 1);
		buf_append_cstr(&b, "@h?X-A=1</Sip></Dial></Response>");
		doc = NULL;
		assert_int_equal(twiml_parse(&doc, b.p, b.len, &err), extra ? -E2BIG : 0);
		if (extra)
			assert_string_equal(err.what,
			                    "line 1: <Sip>: SIP URI longer than 254 characters");
		else
			assert_int_equal(doc->verb[0].u.dial.sip[0].uri.len, TWIML_MAX_SIP_URI + 6);
		mem_deref(doc);
		buf_free(&b);
	}

	/* the URI headers limit: 1023 characters after '?' pass, 1024 do not */
	for (unsigned extra = 0; extra < 2; extra++) {
		size_t hl = TWIML_MAX_SIP_HDRS + extra - 4;

		buf_append_cstr(&b, "<Response><Dial><Sip>sip:a@h?X-A=");
		for (size_t i = 0; i < hl; i++)
			buf_append(&b, "v", 1);
		buf_append_cstr(&b, "</Sip></Dial></Response>");
		doc = NULL;
		assert_int_equal(twiml_parse(&doc, b.p, b.len, &err), extra ? -E2BIG : 0);
		if (extra)
			assert_string_equal(
			    err.what, "line 1: <Sip>: URI headers longer than 1023 characters "
			              "in total");
		mem_deref(doc);
		buf_free(&b);
	}
}

/* A nested-entity bomb cannot get started, and a huge flat document is cut at the size limit. */
static void test_entity_bombs(void **state)
{
	struct buf b = {0};
	struct twiml_doc *doc;
	struct twiml_err err;

	(void)state;
	buf_append_cstr(&b, "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a0 \"ha\">");
	for (int i = 1; i < 10; i++)
		buf_printf(&b, "<!ENTITY a%d \"&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;\">", i,
		           i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	buf_append_cstr(&b, "]><Response><Redirect>&a9;</Redirect></Response>");
	assert_int_equal(twiml_parse(&doc, b.p, b.len, &err), -EBADMSG);
	assert_string_equal(err.what, "line 1: a DOCTYPE is not allowed in TwiML");
	buf_free(&b);

	/* parameter entities and external subsets are refused the same way */
	buf_append_cstr(&b, "<!DOCTYPE x [<!ENTITY % p SYSTEM \"http://127.0.0.1/x.dtd\"> %p;]>"
	                    "<Response/>");
	assert_int_equal(twiml_parse(&doc, b.p, b.len, &err), -EBADMSG);
	assert_string_equal(err.what, "line 1: a DOCTYPE is not allowed in TwiML");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dial_full),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_simple_verbs),
	    cmocka_unit_test(test_empty_response),
	    cmocka_unit_test(test_latin1),
	    cmocka_unit_test(test_record_and_creds),
	    cmocka_unit_test(test_max_sip_and_verbs),
	    cmocka_unit_test(test_size_limit),
	    cmocka_unit_test(test_two_dials),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_bad_column),
	    cmocka_unit_test(test_too_many),
	    cmocka_unit_test(test_entity_bombs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
