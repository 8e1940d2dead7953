/* TwiML call control: one parse + validation point (expat) and a socket-free interpreter. */
#ifndef IXEDGE_TWIML_H
#define IXEDGE_TWIML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ixedge/base.h"

/*
 * Threading: twiml_parse() is pure computation (no globals written), so any
 * thread may parse.  A parsed document is immutable and refcounted, so it can
 * be shared read-only (e.g. a domain's inline TwiML parsed once and used by
 * every call).  A struct twiml_run belongs to one call and is used only by
 * the thread that owns the call (the signalling loop).
 *
 * docs/TWIML.md lists the supported subset, every error and the decisions
 * (defaults, ranges, Reject status codes) behind these constants.
 */

/* ------------------------------------------------------------- limits */

#define TWIML_MAX_DOC_SIZE   65536u /* bytes of XML */
#define TWIML_MAX_VERBS      256u   /* verbs in one <Response> */
#define TWIML_MAX_SIP        10u    /* <Sip> nouns in one <Dial> */
#define TWIML_MAX_SIP_URI    254u   /* a <Sip> URI without its ?headers ("under 255") */
#define TWIML_MAX_SIP_HDRS   1023u  /* the ?headers part of a <Sip> URI ("under 1024") */
#define TWIML_MAX_URL        2048u  /* action, url, statusCallback, <Redirect> */
#define TWIML_MAX_CRED       255u   /* <Sip> username, password */
#define TWIML_MAX_CALLER_ID  255u
#define TWIML_RUN_MAX_DOCS   100u  /* documents one run may load (Redirect loops) */
#define TWIML_MAX_DIAL_HDRS  32u   /* X- headers of a dial result passed to the action */
#define TWIML_MAX_PARAM_SIZE 8192u /* bytes of one action's parameters */

/* Defaults and ranges of the numeric attributes (seconds). */
#define TWIML_DIAL_TIMEOUT_DEFAULT    30u
#define TWIML_DIAL_TIMEOUT_MAX        600u
#define TWIML_DIAL_TIME_LIMIT_DEFAULT 14400u
#define TWIML_DIAL_TIME_LIMIT_MAX     86400u
#define TWIML_PAUSE_DEFAULT           1u
#define TWIML_PAUSE_MAX               600u

/*
 * SIP status an unanswered inbound call gets for <Reject>.  busy: 486 Busy
 * Here.  rejected: 404 Not Found, as the reference records for the hosted
 * service (603 Decline is also seen there; see docs/TWIML.md).
 */
#define TWIML_REJECT_BUSY_STATUS     486u
#define TWIML_REJECT_REJECTED_STATUS 404u

/* ------------------------------------------------------------- errors */

/*
 * Why a document was refused.  line and column are 1-based positions from
 * expat (0 when the document was refused before parsing, e.g. for its
 * size).  what is the whole message, position included, ready for the log
 * and the call record: "line 3: <Dial>: unknown attribute 'foo'".
 */
struct twiml_err {
	int line, column;
	char what[160];
};

/* ----------------------------------------------------------- document */

enum twiml_method { TWIML_METHOD_POST = 0, TWIML_METHOD_GET };
const char *twiml_method_name(enum twiml_method m); /* "POST", "GET" */

enum twiml_verb_type {
	TWIML_VERB_DIAL = 0,
	TWIML_VERB_REJECT,
	TWIML_VERB_HANGUP,
	TWIML_VERB_PAUSE,
	TWIML_VERB_REDIRECT,
};
const char *twiml_verb_name(enum twiml_verb_type t); /* "Dial", ... */

enum twiml_record {
	TWIML_RECORD_NONE = 0, /* do-not-record (default) */
	TWIML_RECORD_FROM_ANSWER,
	TWIML_RECORD_FROM_RINGING,
	TWIML_RECORD_FROM_ANSWER_DUAL,
	TWIML_RECORD_FROM_RINGING_DUAL,
};
const char *twiml_record_name(enum twiml_record r); /* "do-not-record", ... */

/* statusCallbackEvent bits of a <Sip> noun. */
#define TWIML_EVENT_INITIATED 0x1u
#define TWIML_EVENT_RINGING   0x2u
#define TWIML_EVENT_ANSWERED  0x4u
#define TWIML_EVENT_COMPLETED 0x8u

/*
 * Strings are slices into the document's own storage, NUL-terminated there
 * (p[len] == '\0') so they can also be used as C strings.  An absent
 * optional attribute, or one given as "", is {NULL, 0}.
 */
struct twiml_sip {
	struct slice uri;      /* trimmed text of <Sip>, checked sip:/sips: with sip_uri_decode */
	struct slice username; /* answer to the far end's digest challenge */
	struct slice password;
	struct slice url; /* call-screening webhook on answer */
	enum twiml_method method;
	struct slice status_callback;
	enum twiml_method status_callback_method;
	unsigned status_callback_events; /* TWIML_EVENT_*; COMPLETED when not given */
	uint32_t line;
};

struct twiml_dial {
	struct slice action; /* fetched with the dial result when set */
	enum twiml_method method;
	uint32_t timeout; /* seconds of ringing before no-answer */
	struct slice caller_id;
	bool answer_on_bridge;
	uint32_t time_limit; /* seconds a bridged call may last */
	enum twiml_record record;
	const struct twiml_sip *sip; /* dialled in parallel: first answer wins */
	size_t nsip;                 /* 1 .. TWIML_MAX_SIP */
};

enum twiml_reject_reason { TWIML_REJECT_REJECTED = 0, TWIML_REJECT_BUSY };

struct twiml_verb {
	enum twiml_verb_type type;
	uint32_t line; /* where the verb starts, for logs */
	union {
		struct twiml_dial dial;
		struct {
			enum twiml_reject_reason reason;
		} reject;
		struct {
			uint32_t length; /* seconds */
		} pause;
		struct {
			struct slice url;
			enum twiml_method method;
		} redirect;
	} u;
};

/* A parsed, validated document: a mem object, immutable, one allocation. */
struct twiml_doc {
	const struct twiml_verb *verb;
	size_t nverb; /* 0 for <Response/> */
};

/*
 * Parses and validates xml[0..len) (UTF-8, UTF-16 or ISO-8859-1 per its
 * declaration).  The only TwiML parse in the project: whatever passes here
 * is safe for the call layer to act on.  On success *out is a new mem object
 * (mem_deref() it).  On failure *out is NULL and err (when not NULL) says
 * what and where:
 *   -EBADMSG  not XML, not TwiML, an unknown verb/noun/attribute, a bad value
 *   -ENOTSUP  a real TwiML verb, noun or attribute this edge does not do yet
 *   -E2BIG    a limit (document size, verbs, <Sip> per <Dial>, URI lengths)
 *   -ENOMEM   out of memory
 * Every failure ends the call the way the hosted service does (500).
 */
int twiml_parse(struct twiml_doc **out, const char *xml, size_t len, struct twiml_err *err);

/* -------------------------------------------------------- interpreter */

/*
 * The interpreter walks documents verb by verb and never touches sockets or
 * SIP: the caller performs each step and reports back.  It never knows where
 * a document came from (inline TwiML, a webhook, the REST API): when it needs
 * one it yields a REDIRECT or FETCH step and waits for twiml_run_load().
 *
 *   run = twiml_run_alloc(); twiml_run_load(run, first_doc);
 *   loop: twiml_run_next(run, &step):
 *     DIAL      dial step.dial->sip[] in parallel; then twiml_run_dial_result()
 *     REJECT    answer step.reject.status (486/404) if not answered yet,
 *               else hang up; the run is over
 *     HANGUP    hang up; the run is over
 *     PAUSE     wait step.pause.ms, then next
 *     REDIRECT  fetch step.fetch (a <Redirect>), twiml_run_load() the result
 *     FETCH     fetch step.fetch (a <Dial action> with the Dial* parameters),
 *               twiml_run_load() the result
 *     END       the document ran out: hang up; the run is over
 *
 * Step contents point into the current document or the run; they stay valid
 * until the next twiml_run_load() or twiml_run_dial_result() (a DIAL step
 * stays valid until its result is reported, so legs may keep pointers).
 */
struct twiml_run;

enum twiml_step_type {
	TWIML_STEP_DIAL = 0,
	TWIML_STEP_REJECT,
	TWIML_STEP_HANGUP,
	TWIML_STEP_PAUSE,
	TWIML_STEP_REDIRECT,
	TWIML_STEP_FETCH,
	TWIML_STEP_END,
};
const char *twiml_step_name(enum twiml_step_type t); /* "dial", "reject", ... */

struct twiml_param {
	struct slice name, value;
};

/* A document to fetch next.  The caller adds its own request parameters
 * (CallSid, From, To...) and resolves a relative url against the URL of
 * the document the verb came from. */
struct twiml_fetch {
	struct slice url;
	enum twiml_method method;
	const struct twiml_param *param; /* FETCH: DialCallStatus...; REDIRECT: none */
	size_t nparam;
};

struct twiml_step {
	enum twiml_step_type type;
	uint32_t line; /* of the verb in its document; 0 for FETCH and END */
	union {
		const struct twiml_dial *dial;
		struct {
			enum twiml_reject_reason reason;
			uint16_t status; /* TWIML_REJECT_BUSY_STATUS or _REJECTED_STATUS */
		} reject;
		struct {
			uint32_t ms;
		} pause;
		struct twiml_fetch fetch; /* REDIRECT and FETCH */
	} u;
};

/* DialCallStatus values. */
enum twiml_dial_status {
	TWIML_DIAL_COMPLETED = 0, /* answered and bridged */
	TWIML_DIAL_BUSY,
	TWIML_DIAL_NO_ANSWER,
	TWIML_DIAL_FAILED,
	TWIML_DIAL_CANCELED, /* the caller hung up before an answer */
};
const char *twiml_dial_status_name(enum twiml_dial_status s); /* "no-answer", ... */

struct twiml_header {
	struct slice name, value;
};

/* What became of a DIAL step; the run copies what it keeps. */
struct twiml_dial_result {
	enum twiml_dial_status status;
	uint16_t sip_status;      /* final SIP response of the dialled leg; 0 if none */
	struct slice call_sid;    /* CallSid of the dialled leg (empty: not created) */
	struct slice sip_call_id; /* SIP Call-ID of the dialled leg */
	uint32_t duration;        /* seconds bridged (completed only) */
	/* headers of the final response; only X- ones become DialSipHeader_X-... */
	const struct twiml_header *hdr;
	size_t nhdr;
};

/* A new run waiting for its first document (-ENOMEM).  mem_deref() it. */
int twiml_run_alloc(struct twiml_run **out);

/*
 * Gives the run its next document (takes a reference): the first one, or
 * the answer to a REDIRECT or FETCH step.  -EBUSY while a DIAL waits for its
 * result, -EALREADY once the run is over, -ELOOP after TWIML_RUN_MAX_DOCS
 * documents (a Redirect loop: end the call).
 */
int twiml_run_load(struct twiml_run *run, struct twiml_doc *doc);

/*
 * The next step.  0 with *out filled; -ENODATA while waiting for a document
 * (before the first load or after REDIRECT/FETCH); -EINPROGRESS while a DIAL
 * waits for its result.  After REJECT, HANGUP or END every call yields END.
 */
int twiml_run_next(struct twiml_run *run, struct twiml_step *out);

/*
 * Reports the outcome of the last DIAL step.  With an action the next step
 * is FETCH {action, method, DialCallStatus, DialCallSid, DialCallDuration,
 * DialSipCallId, DialSipResponseCode, DialSipHeader_X-...}; without one the
 * next verb runs.  -EINVAL when no DIAL is waiting or the result is bad,
 * -E2BIG when its strings exceed TWIML_MAX_PARAM_SIZE, -ENOMEM.
 */
int twiml_run_dial_result(struct twiml_run *run, const struct twiml_dial_result *res);

/* Whether the run has finished (REJECT, HANGUP or END yielded). */
bool twiml_run_done(const struct twiml_run *run);

#endif
