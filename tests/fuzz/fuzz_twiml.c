/* libFuzzer target: TwiML parse, then the interpreter run to completion with scripted results. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/twiml.h"
#include "control/twiml_priv.h"

/* Strings of a parsed document are NUL-terminated and absent ones are {NULL, 0}. */
static void check_str(struct slice s)
{
	if ((s.p == NULL) != (s.len == 0) || (s.p && s.p[s.len] != '\0') ||
	    (s.p && memchr(s.p, '\0', s.len)))
		abort();
}

static void check_doc(const struct twiml_doc *doc)
{
	char why[160];

	if (doc->nverb > TWIML_MAX_VERBS || (doc->nverb == 0) != (doc->verb == NULL))
		abort();
	for (size_t i = 0; i < doc->nverb; i++) {
		const struct twiml_verb *v = &doc->verb[i];

		switch (v->type) {
		case TWIML_VERB_DIAL:
			if (v->u.dial.nsip < 1 || v->u.dial.nsip > TWIML_MAX_SIP ||
			    v->u.dial.timeout < 1 || v->u.dial.timeout > TWIML_DIAL_TIMEOUT_MAX)
				abort();
			check_str(v->u.dial.action);
			check_str(v->u.dial.caller_id);
			for (size_t j = 0; j < v->u.dial.nsip; j++) {
				const struct twiml_sip *s = &v->u.dial.sip[j];

				check_str(s->uri);
				check_str(s->username);
				check_str(s->password);
				check_str(s->url);
				check_str(s->status_callback);
				/* what passed the parser passes the check again */
				if (twiml_check_sip_uri(s->uri, why, sizeof(why)))
					abort();
			}
			break;
		case TWIML_VERB_REDIRECT:
			check_str(v->u.redirect.url);
			if (!v->u.redirect.url.len)
				abort();
			break;
		case TWIML_VERB_PAUSE:
			if (v->u.pause.length < 1 || v->u.pause.length > TWIML_PAUSE_MAX)
				abort();
			break;
		case TWIML_VERB_REJECT:
		case TWIML_VERB_HANGUP:
			break;
		default:
			abort();
		}
	}
}

/* Walks the run; dial results and reloads are chosen from the input bytes. */
static void run_doc(struct twiml_doc *doc, const uint8_t *data, size_t size)
{
	static const struct twiml_header hdr[] = {{SLICE("X-A"), SLICE("1")},
	                                          {SLICE("Contact"), SLICE("<sip:x@h>")}};
	struct twiml_run *run;
	struct twiml_step st;
	size_t k = 0;

	if (twiml_run_alloc(&run))
		return;
	if (twiml_run_load(run, doc))
		abort();
	for (unsigned i = 0; i < 10000; i++) {
		uint8_t b = size ? data[k++ % size] : 0;
		int rc = twiml_run_next(run, &st);

		if (rc == -ENODATA) {
			/* the caller fetched the next document: the same one again */
			rc = twiml_run_load(run, doc);
			if (rc == -ELOOP)
				break;
			if (rc)
				abort();
			continue;
		}
		if (rc == -EINPROGRESS) {
			struct twiml_dial_result res = {.status = (enum twiml_dial_status)(b % 5),
			                                .sip_status =
			                                    (uint16_t)(b & 1 ? 100 + b : 0),
			                                .call_sid = SLICE("CA0"),
			                                .hdr = hdr,
			                                .nhdr = b & 2 ? ARRAY_SIZE(hdr) : 0};

			if (twiml_run_dial_result(run, &res))
				abort();
			continue;
		}
		if (rc)
			abort();
		if (st.type == TWIML_STEP_END)
			break;
		if (st.type == TWIML_STEP_FETCH && st.u.fetch.nparam < 1)
			abort();
		if ((st.type == TWIML_STEP_REJECT || st.type == TWIML_STEP_HANGUP) &&
		    !twiml_run_done(run))
			abort();
	}
	mem_deref(run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct twiml_doc *doc = NULL;
	struct twiml_err err;
	size_t lines = 1;
	int rc;

	rc = twiml_parse(&doc, (const char *)data, size, &err);
	if (rc) {
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n' || data[i] == '\r';
		if (doc || !err.what[0] || err.line < 0 || (size_t)err.line > lines ||
		    memchr(err.what, '\n', strlen(err.what)))
			abort();
		return 0;
	}
	if (!doc)
		abort();
	check_doc(doc);
	run_doc(doc, data, size);
	if (mem_nrefs(doc) != 1)
		abort();
	mem_deref(doc);
	return 0;
}
