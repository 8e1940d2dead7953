/* Unit tests: the TwiML interpreter walked step by step with scripted dial results. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/twiml.h"

#define R(body) "<Response>" body "</Response>"
#define SIPA    "<Sip>sip:a@127.0.0.1</Sip>"

static struct twiml_doc *doc_of(const char *xml)
{
	struct twiml_doc *doc = NULL;
	struct twiml_err err;

	if (twiml_parse(&doc, xml, strlen(xml), &err))
		fail_msg("parse: %s", err.what);
	return doc;
}

/* A run with its first document loaded; the run keeps the only reference. */
static struct twiml_run *run_of(const char *xml)
{
	struct twiml_doc *doc = doc_of(xml);
	struct twiml_run *run;

	assert_int_equal(twiml_run_alloc(&run), 0);
	assert_int_equal(twiml_run_load(run, doc), 0);
	mem_deref(doc);
	return run;
}

static int load_rc(struct twiml_run *run, const char *xml)
{
	struct twiml_doc *doc = doc_of(xml);
	int rc = twiml_run_load(run, doc);

	mem_deref(doc);
	return rc;
}

static void load(struct twiml_run *run, const char *xml)
{
	assert_int_equal(load_rc(run, xml), 0);
}

static struct twiml_step next(struct twiml_run *run, enum twiml_step_type want)
{
	struct twiml_step st;

	assert_int_equal(twiml_run_next(run, &st), 0);
	if (st.type != want)
		fail_msg("step %s, want %s", twiml_step_name(st.type), twiml_step_name(want));
	return st;
}

static void assert_slice(struct slice got, const char *want)
{
	if (got.len != strlen(want) || memcmp(got.p, want, got.len) != 0)
		fail_msg("got '%.*s', want '%s'", (int)got.len, got.p ? got.p : "", want);
}

/* Compares the FETCH parameters with "name=value" strings, in order. */
static void assert_params(const struct twiml_fetch *f, const char *const *want, size_t n)
{
	char nv[512];

	if (f->nparam != n)
		fail_msg("%zu parameters, want %zu", f->nparam, n);
	for (size_t i = 0; i < n; i++) {
		snprintf(nv, sizeof(nv), "%.*s=%.*s", SLICE_ARG(f->param[i].name),
		         SLICE_ARG(f->param[i].value));
		assert_string_equal(nv, want[i]);
	}
}

static void test_dial_action(void **state)
{
	struct twiml_run *run = run_of(
	    R("<Dial action=\"/after\" method=\"GET\" timeout=\"10\">"
	      "<Sip username=\"u\" password=\"p\">sip:b@127.0.0.1:5080;edge=london-ix</Sip>" SIPA
	      "</Dial><Hangup/>"));
	static const struct twiml_header hdr[] = {
	    {SLICE("X-Reason"), SLICE("all circuits busy")},
	    {SLICE("Contact"), SLICE("<sip:b@127.0.0.1>")},
	    {SLICE("x-lower"), SLICE("1")},
	    {SLICE("X-"), SLICE("no name")},
	};
	struct twiml_dial_result res = {
	    .status = TWIML_DIAL_BUSY,
	    .sip_status = 486,
	    .call_sid = SLICE("CA0123456789abcdef0123456789abcdef"),
	    .sip_call_id = SLICE("abc@127.0.0.1"),
	    .hdr = hdr,
	    .nhdr = ARRAY_SIZE(hdr),
	};
	static const char *const want[] = {
	    "DialCallStatus=busy",
	    "DialCallSid=CA0123456789abcdef0123456789abcdef",
	    "DialSipCallId=abc@127.0.0.1",
	    "DialSipResponseCode=486",
	    "DialSipHeader_X-Reason=all circuits busy",
	    "DialSipHeader_x-lower=1",
	};
	struct twiml_step st;

	(void)state;
	st = next(run, TWIML_STEP_DIAL);
	assert_int_equal(st.line, 1);
	assert_int_equal(st.u.dial->timeout, 10);
	assert_int_equal(st.u.dial->nsip, 2);
	assert_slice(st.u.dial->sip[0].uri, "sip:b@127.0.0.1:5080;edge=london-ix");
	assert_slice(st.u.dial->sip[0].username, "u");
	assert_slice(st.u.dial->sip[0].password, "p");
	/* nothing moves until the result is in, and no document may replace it */
	assert_int_equal(twiml_run_next(run, &st), -EINPROGRESS);
	assert_int_equal(twiml_run_next(run, &st), -EINPROGRESS);
	assert_int_equal(load_rc(run, R("")), -EBUSY);
	assert_int_equal(twiml_run_dial_result(run, &res), 0);
	assert_int_equal(twiml_run_dial_result(run, &res), -EINVAL); /* only once */

	st = next(run, TWIML_STEP_FETCH);
	assert_slice(st.u.fetch.url, "/after");
	assert_int_equal(st.u.fetch.method, TWIML_METHOD_GET);
	assert_params(&st.u.fetch, want, ARRAY_SIZE(want));
	/* the <Hangup> after an action's <Dial> is never reached */
	assert_int_equal(twiml_run_next(run, &st), -ENODATA);
	assert_false(twiml_run_done(run));
	load(run, R("<Pause length=\"2\"/>"));
	st = next(run, TWIML_STEP_PAUSE);
	assert_int_equal(st.u.pause.ms, 2000);
	next(run, TWIML_STEP_END);
	assert_true(twiml_run_done(run));
	mem_deref(run);
}

static void test_dial_completed_params(void **state)
{
	struct twiml_run *run = run_of(R("<Dial action=\"https://h.example/a\">" SIPA "</Dial>"));
	struct twiml_dial_result res = {.status = TWIML_DIAL_COMPLETED,
	                                .sip_status = 200,
	                                .call_sid = SLICE("CA1"),
	                                .duration = 42};
	static const char *const want[] = {"DialCallStatus=completed", "DialCallSid=CA1",
	                                   "DialCallDuration=42", "DialSipResponseCode=200"};
	struct twiml_step st;

	(void)state;
	next(run, TWIML_STEP_DIAL);
	assert_int_equal(twiml_run_dial_result(run, &res), 0);
	st = next(run, TWIML_STEP_FETCH);
	assert_int_equal(st.u.fetch.method, TWIML_METHOD_POST);
	assert_params(&st.u.fetch, want, ARRAY_SIZE(want));
	mem_deref(run);
}

/* A leg that never got a response: only the status is known. */
static void test_dial_failed_minimal(void **state)
{
	static const char *const names[] = {"completed", "busy", "no-answer", "failed", "canceled"};
	struct twiml_step st;

	(void)state;
	for (int s = TWIML_DIAL_BUSY; s <= TWIML_DIAL_CANCELED; s++) {
		struct twiml_run *run = run_of(R("<Dial action=\"/a\">" SIPA "</Dial>"));
		struct twiml_dial_result res = {.status = (enum twiml_dial_status)s};
		char want[64];
		const char *w = want;

		snprintf(want, sizeof(want), "DialCallStatus=%s", names[s]);
		next(run, TWIML_STEP_DIAL);
		assert_int_equal(twiml_run_dial_result(run, &res), 0);
		st = next(run, TWIML_STEP_FETCH);
		assert_params(&st.u.fetch, &w, 1);
		mem_deref(run);
	}
}

static void test_dial_no_action_then_hangup(void **state)
{
	struct twiml_run *run = run_of(R("<Dial>" SIPA "</Dial>\n<Hangup/><Pause/>"));
	struct twiml_dial_result res = {.status = TWIML_DIAL_NO_ANSWER, .sip_status = 487};
	struct twiml_step st;

	(void)state;
	next(run, TWIML_STEP_DIAL);
	assert_int_equal(twiml_run_dial_result(run, &res), 0);
	st = next(run, TWIML_STEP_HANGUP);
	assert_int_equal(st.line, 2);
	assert_true(twiml_run_done(run));
	/* nothing after a hangup runs, however often the caller asks */
	next(run, TWIML_STEP_END);
	next(run, TWIML_STEP_END);
	assert_int_equal(load_rc(run, R("")), -EALREADY);
	mem_deref(run);
}

static void test_reject(void **state)
{
	static const struct {
		const char *xml;
		enum twiml_reject_reason reason;
		uint16_t status;
	} cases[] = {
	    {R("<Reject/>"), TWIML_REJECT_REJECTED, 404},
	    {R("<Reject reason=\"rejected\"/>"), TWIML_REJECT_REJECTED, 404},
	    {R("<Reject reason=\"busy\"/><Hangup/>"), TWIML_REJECT_BUSY, 486},
	    {R("<Reject reason=\"BUSY\"/>"), TWIML_REJECT_BUSY, 486},
	};

	(void)state;
	assert_int_equal(TWIML_REJECT_BUSY_STATUS, 486);
	assert_int_equal(TWIML_REJECT_REJECTED_STATUS, 404);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct twiml_run *run = run_of(cases[i].xml);
		struct twiml_step st = next(run, TWIML_STEP_REJECT);

		assert_int_equal(st.u.reject.reason, cases[i].reason);
		assert_int_equal(st.u.reject.status, cases[i].status);
		next(run, TWIML_STEP_END);
		mem_deref(run);
	}
}

static void test_pause_and_end(void **state)
{
	struct twiml_run *run = run_of(R("<Pause/><Pause length=\"600\"/>"));
	struct twiml_step st;

	(void)state;
	st = next(run, TWIML_STEP_PAUSE);
	assert_int_equal(st.u.pause.ms, 1000);
	st = next(run, TWIML_STEP_PAUSE);
	assert_int_equal(st.u.pause.ms, 600000);
	st = next(run, TWIML_STEP_END);
	assert_int_equal(st.line, 0);
	mem_deref(run);

	run = run_of(R(""));
	next(run, TWIML_STEP_END);
	mem_deref(run);
}

static void test_redirect(void **state)
{
	struct twiml_run *run = run_of(
	    R("<Pause/><Redirect method=\"GET\">https://h.example/next</Redirect><Hangup/>"));
	struct twiml_step st;

	(void)state;
	next(run, TWIML_STEP_PAUSE);
	st = next(run, TWIML_STEP_REDIRECT);
	assert_int_equal(st.line, 1);
	assert_slice(st.u.fetch.url, "https://h.example/next");
	assert_int_equal(st.u.fetch.method, TWIML_METHOD_GET);
	assert_int_equal(st.u.fetch.nparam, 0);
	assert_int_equal(twiml_run_next(run, &st), -ENODATA);
	assert_int_equal(twiml_run_dial_result(run, &(struct twiml_dial_result){0}), -EINVAL);
	load(run, R("<Reject reason=\"busy\"/>"));
	next(run, TWIML_STEP_REJECT);
	next(run, TWIML_STEP_END);
	mem_deref(run);
}

/* A document that redirects to itself forever is cut off. */
static void test_redirect_loop(void **state)
{
	struct twiml_doc *doc = doc_of(R("<Redirect>/self</Redirect>"));
	struct twiml_run *run;
	unsigned loads = 0;
	struct twiml_step st;

	(void)state;
	assert_int_equal(twiml_run_alloc(&run), 0);
	assert_int_equal(twiml_run_next(run, &st), -ENODATA); /* no document yet */
	for (;;) {
		int rc = twiml_run_load(run, doc);

		if (rc) {
			assert_int_equal(rc, -ELOOP);
			break;
		}
		loads++;
		next(run, TWIML_STEP_REDIRECT);
		assert_true(loads <= TWIML_RUN_MAX_DOCS);
	}
	assert_int_equal(loads, TWIML_RUN_MAX_DOCS);
	assert_int_equal(mem_nrefs(doc), 2); /* ours and the run's */
	mem_deref(run);
	assert_int_equal(mem_nrefs(doc), 1);
	mem_deref(doc);
}

/* Loading while verbs remain replaces the rest (a live call redirected). */
static void test_replace_midway(void **state)
{
	struct twiml_run *run = run_of(R("<Pause/><Pause/><Pause/>"));

	(void)state;
	next(run, TWIML_STEP_PAUSE);
	load(run, R("<Hangup/>"));
	next(run, TWIML_STEP_HANGUP);
	mem_deref(run);
}

static void test_header_limits(void **state)
{
	struct twiml_run *run = run_of(R("<Dial action=\"/a\">" SIPA "</Dial>"));
	struct twiml_header hdr[TWIML_MAX_DIAL_HDRS + 8];
	char names[ARRAY_SIZE(hdr)][16];
	static char big[TWIML_MAX_PARAM_SIZE];
	struct twiml_dial_result res = {.status = TWIML_DIAL_FAILED, .hdr = hdr};
	struct twiml_step st;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(hdr); i++) {
		snprintf(names[i], sizeof(names[i]), "X-H%zu", i);
		hdr[i] = (struct twiml_header){slice_cstr(names[i]), SLICE("v")};
	}
	memset(big, 'b', sizeof(big));
	hdr[1].value = (struct slice){big, sizeof(big)}; /* too big: left out */
	res.nhdr = ARRAY_SIZE(hdr);
	next(run, TWIML_STEP_DIAL);
	assert_int_equal(twiml_run_dial_result(run, &res), 0);
	st = next(run, TWIML_STEP_FETCH);
	assert_int_equal(st.u.fetch.nparam, 1 + TWIML_MAX_DIAL_HDRS);
	assert_slice(st.u.fetch.param[1].name, "DialSipHeader_X-H0");
	assert_slice(st.u.fetch.param[2].name, "DialSipHeader_X-H2");
	assert_slice(st.u.fetch.param[TWIML_MAX_DIAL_HDRS].name, "DialSipHeader_X-H32");
	mem_deref(run);

	/* the fixed parameters themselves too big: the result is refused */
	run = run_of(R("<Dial action=\"/a\">" SIPA "</Dial>"));
	res = (struct twiml_dial_result){.status = TWIML_DIAL_FAILED,
	                                 .sip_call_id = {big, sizeof(big)}};
	next(run, TWIML_STEP_DIAL);
	assert_int_equal(twiml_run_dial_result(run, &res), -E2BIG);
	/* still waiting: a sane result can follow */
	res.sip_call_id = SLICE("c@h");
	assert_int_equal(twiml_run_dial_result(run, &res), 0);
	next(run, TWIML_STEP_FETCH);
	mem_deref(run);
}

static void test_bad_results(void **state)
{
	struct twiml_run *run = run_of(R("<Dial>" SIPA "</Dial>"));
	struct twiml_dial_result res = {0};

	(void)state;
	assert_int_equal(twiml_run_dial_result(run, &res), -EINVAL); /* no DIAL yet */
	next(run, TWIML_STEP_DIAL);
	res.status = (enum twiml_dial_status)99;
	assert_int_equal(twiml_run_dial_result(run, &res), -EINVAL);
	res.status = TWIML_DIAL_FAILED;
	res.sip_status = 99;
	assert_int_equal(twiml_run_dial_result(run, &res), -EINVAL);
	res.sip_status = 700;
	assert_int_equal(twiml_run_dial_result(run, &res), -EINVAL);
	res.sip_status = 503;
	res.nhdr = 1; /* without headers */
	assert_int_equal(twiml_run_dial_result(run, &res), -EINVAL);
	res.nhdr = 0;
	assert_int_equal(twiml_run_dial_result(run, &res), 0);
	next(run, TWIML_STEP_END);
	assert_int_equal(twiml_run_load(run, NULL), -EINVAL);
	mem_deref(run);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(twiml_step_name(TWIML_STEP_FETCH), "fetch");
	assert_string_equal(twiml_dial_status_name(TWIML_DIAL_NO_ANSWER), "no-answer");
	assert_string_equal(twiml_method_name(TWIML_METHOD_GET), "GET");
	assert_string_equal(twiml_verb_name(TWIML_VERB_REDIRECT), "Redirect");
	assert_string_equal(twiml_record_name(TWIML_RECORD_FROM_RINGING), "record-from-ringing");
	assert_string_equal(twiml_step_name((enum twiml_step_type)42), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dial_action),
	    cmocka_unit_test(test_dial_completed_params),
	    cmocka_unit_test(test_dial_failed_minimal),
	    cmocka_unit_test(test_dial_no_action_then_hangup),
	    cmocka_unit_test(test_reject),
	    cmocka_unit_test(test_pause_and_end),
	    cmocka_unit_test(test_redirect),
	    cmocka_unit_test(test_redirect_loop),
	    cmocka_unit_test(test_replace_midway),
	    cmocka_unit_test(test_header_limits),
	    cmocka_unit_test(test_bad_results),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
