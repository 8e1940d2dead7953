/* TwiML interpreter: walks documents verb by verb and asks its caller for the next document. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/twiml.h"

/*
 * States.  A run waits for a document (WAIT_DOC) until twiml_run_load();
 * READY yields verbs; a DIAL parks it in WAIT_DIAL until the result; a Dial
 * with an action then yields one FETCH (FETCH state) and waits for the
 * action's document.  DONE is final.
 */
enum run_state { RUN_WAIT_DOC = 0, RUN_READY, RUN_WAIT_DIAL, RUN_FETCH, RUN_DONE };

/* DialCallStatus, DialCallSid, DialCallDuration, DialSipCallId, DialSipResponseCode. */
#define FIXED_PARAMS 5

struct twiml_run {
	enum run_state state;
	struct twiml_doc *doc; /* reference held */
	size_t pc;             /* index of the next verb in doc */
	unsigned ndocs;
	const struct twiml_dial *dial; /* the Dial waiting for (or just given) its result */

	/* parameters of the pending FETCH: "name\0value\0" pairs in pbuf */
	struct buf pbuf;
	struct twiml_param param[FIXED_PARAMS + TWIML_MAX_DIAL_HDRS];
	size_t nparam;
};

static const char *const method_names[] = {
    [TWIML_METHOD_POST] = "POST", [TWIML_METHOD_GET] = "GET"};
static const char *const verb_names[] = {
    [TWIML_VERB_DIAL] = "Dial",         [TWIML_VERB_REJECT] = "Reject",
    [TWIML_VERB_HANGUP] = "Hangup",     [TWIML_VERB_PAUSE] = "Pause",
    [TWIML_VERB_REDIRECT] = "Redirect",
};
static const char *const step_names[] = {
    [TWIML_STEP_DIAL] = "dial",         [TWIML_STEP_REJECT] = "reject",
    [TWIML_STEP_HANGUP] = "hangup",     [TWIML_STEP_PAUSE] = "pause",
    [TWIML_STEP_REDIRECT] = "redirect", [TWIML_STEP_FETCH] = "fetch",
    [TWIML_STEP_END] = "end",
};
static const char *const status_names[] = {
    [TWIML_DIAL_COMPLETED] = "completed", [TWIML_DIAL_BUSY] = "busy",
    [TWIML_DIAL_NO_ANSWER] = "no-answer", [TWIML_DIAL_FAILED] = "failed",
    [TWIML_DIAL_CANCELED] = "canceled",
};

#define NAME_OF(table, i) ((size_t)(i) < ARRAY_SIZE(table) && table[i] ? table[i] : "?")

const char *twiml_method_name(enum twiml_method m)
{
	return NAME_OF(method_names, m);
}

const char *twiml_verb_name(enum twiml_verb_type t)
{
	return NAME_OF(verb_names, t);
}

const char *twiml_step_name(enum twiml_step_type t)
{
	return NAME_OF(step_names, t);
}

const char *twiml_dial_status_name(enum twiml_dial_status s)
{
	return NAME_OF(status_names, s);
}

static void run_destroy(void *obj)
{
	struct twiml_run *run = obj;

	mem_deref(run->doc);
	buf_free(&run->pbuf);
}

int twiml_run_alloc(struct twiml_run **out)
{
	struct twiml_run *run = mem_alloc(sizeof(*run), run_destroy);

	if (!run)
		return -ENOMEM;
	run->state = RUN_WAIT_DOC;
	*out = run;
	return 0;
}

int twiml_run_load(struct twiml_run *run, struct twiml_doc *doc)
{
	if (!run || !doc)
		return -EINVAL;
	if (run->state == RUN_DONE)
		return -EALREADY;
	if (run->state == RUN_WAIT_DIAL)
		return -EBUSY;
	if (run->ndocs >= TWIML_RUN_MAX_DOCS)
		return -ELOOP;
	/* Loading in READY or FETCH replaces the rest of the current document
	 * (a live call redirected by the REST API); a pending FETCH is dropped. */
	mem_ref(doc);
	mem_deref(run->doc);
	run->doc = doc;
	run->pc = 0;
	run->ndocs++;
	run->dial = NULL;
	run->nparam = 0;
	buf_reset(&run->pbuf);
	run->state = RUN_READY;
	return 0;
}

bool twiml_run_done(const struct twiml_run *run)
{
	return run->state == RUN_DONE;
}

static void step_verb(struct twiml_run *run, const struct twiml_verb *v, struct twiml_step *out)
{
	out->line = v->line;
	switch (v->type) {
	case TWIML_VERB_DIAL:
		out->type = TWIML_STEP_DIAL;
		out->u.dial = &v->u.dial;
		run->dial = &v->u.dial;
		run->state = RUN_WAIT_DIAL;
		return;
	case TWIML_VERB_REJECT:
		out->type = TWIML_STEP_REJECT;
		out->u.reject.reason = v->u.reject.reason;
		out->u.reject.status = v->u.reject.reason == TWIML_REJECT_BUSY
		                           ? TWIML_REJECT_BUSY_STATUS
		                           : TWIML_REJECT_REJECTED_STATUS;
		run->state = RUN_DONE;
		return;
	case TWIML_VERB_HANGUP:
		out->type = TWIML_STEP_HANGUP;
		run->state = RUN_DONE;
		return;
	case TWIML_VERB_PAUSE:
		out->type = TWIML_STEP_PAUSE;
		out->u.pause.ms = v->u.pause.length * 1000u;
		return;
	case TWIML_VERB_REDIRECT:
		/* The rest of this document is never reached. */
		out->type = TWIML_STEP_REDIRECT;
		out->u.fetch.url = v->u.redirect.url;
		out->u.fetch.method = v->u.redirect.method;
		run->state = RUN_WAIT_DOC;
		return;
	}
	/* A document only ever holds the verbs above; anything else ends the run. */
	out->type = TWIML_STEP_END;
	out->line = 0;
	run->state = RUN_DONE;
}

int twiml_run_next(struct twiml_run *run, struct twiml_step *out)
{
	memset(out, 0, sizeof(*out));
	switch (run->state) {
	case RUN_WAIT_DOC:
		return -ENODATA;
	case RUN_WAIT_DIAL:
		return -EINPROGRESS;
	case RUN_DONE:
		out->type = TWIML_STEP_END;
		return 0;
	case RUN_FETCH:
		out->type = TWIML_STEP_FETCH;
		out->u.fetch.url = run->dial->action;
		out->u.fetch.method = run->dial->method;
		out->u.fetch.param = run->param;
		out->u.fetch.nparam = run->nparam;
		run->state = RUN_WAIT_DOC;
		return 0;
	case RUN_READY:
		break;
	}
	if (run->pc >= run->doc->nverb) {
		out->type = TWIML_STEP_END;
		run->state = RUN_DONE;
		return 0;
	}
	step_verb(run, &run->doc->verb[run->pc++], out);
	return 0;
}

/* Appends "name\0value\0"; the slices are set once pbuf stops moving. */
static int param_add(struct twiml_run *run, struct slice prefix, struct slice name,
                     struct slice value)
{
	size_t need = prefix.len + name.len + value.len + 2;
	int rc;

	if (run->nparam >= ARRAY_SIZE(run->param))
		return -E2BIG;
	if (need > TWIML_MAX_PARAM_SIZE - run->pbuf.len)
		return -E2BIG;
	rc = buf_append_slice(&run->pbuf, prefix);
	rc = rc ? rc : buf_append_slice(&run->pbuf, name);
	rc = rc ? rc : buf_append(&run->pbuf, "", 1);
	rc = rc ? rc : buf_append_slice(&run->pbuf, value);
	rc = rc ? rc : buf_append(&run->pbuf, "", 1);
	if (rc)
		return rc;
	run->param[run->nparam].name.len = prefix.len + name.len;
	run->param[run->nparam].value.len = value.len;
	run->nparam++;
	return 0;
}

static void params_fix(struct twiml_run *run)
{
	const char *p = run->pbuf.p;

	for (size_t i = 0; i < run->nparam; i++) {
		struct twiml_param *pm = &run->param[i];

		pm->name.p = p;
		p += pm->name.len + 1;
		pm->value.p = p;
		p += pm->value.len + 1;
	}
}

static bool is_x_header(struct slice name)
{
	return name.len > 2 && (name.p[0] == 'X' || name.p[0] == 'x') && name.p[1] == '-';
}

static int params_build(struct twiml_run *run, const struct twiml_dial_result *res)
{
	char num[16];
	int rc, n;

	run->nparam = 0;
	buf_reset(&run->pbuf);
	rc = param_add(run, SLICE_NULL, SLICE("DialCallStatus"),
	               slice_cstr(twiml_dial_status_name(res->status)));
	if (!rc && res->call_sid.len)
		rc = param_add(run, SLICE_NULL, SLICE("DialCallSid"), res->call_sid);
	if (!rc && res->status == TWIML_DIAL_COMPLETED) {
		n = snprintf(num, sizeof(num), "%u", res->duration);
		rc = param_add(run, SLICE_NULL, SLICE("DialCallDuration"),
		               (struct slice){num, (size_t)n});
	}
	if (!rc && res->sip_call_id.len)
		rc = param_add(run, SLICE_NULL, SLICE("DialSipCallId"), res->sip_call_id);
	if (!rc && res->sip_status) {
		n = snprintf(num, sizeof(num), "%u", res->sip_status);
		rc = param_add(run, SLICE_NULL, SLICE("DialSipResponseCode"),
		               (struct slice){num, (size_t)n});
	}
	if (rc)
		return rc;
	/* Headers beyond the count or size limits are left out rather than
	 * failing the call: the far end chose them, not the customer. */
	for (size_t i = 0, nx = 0; i < res->nhdr && nx < TWIML_MAX_DIAL_HDRS; i++) {
		const struct twiml_header *h = &res->hdr[i];

		if (!is_x_header(h->name))
			continue;
		rc = param_add(run, SLICE("DialSipHeader_"), h->name, h->value);
		if (rc == -ENOMEM)
			return rc;
		nx += rc == 0;
	}
	params_fix(run);
	return 0;
}

int twiml_run_dial_result(struct twiml_run *run, const struct twiml_dial_result *res)
{
	int rc;

	if (!run || !res || run->state != RUN_WAIT_DIAL)
		return -EINVAL;
	if ((size_t)res->status >= ARRAY_SIZE(status_names) || (res->nhdr && !res->hdr) ||
	    (res->sip_status && (res->sip_status < 100 || res->sip_status > 699)))
		return -EINVAL;
	if (!run->dial->action.len) {
		run->state = RUN_READY;
		return 0;
	}
	rc = params_build(run, res);
	if (rc) {
		run->nparam = 0;
		buf_reset(&run->pbuf);
		return rc;
	}
	run->state = RUN_FETCH;
	return 0;
}
