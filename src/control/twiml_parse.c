/* TwiML parsing with expat: the one place a document is read and validated. */
#include <errno.h>
#include <expat.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/twiml_priv.h"

enum elem_kind { EL_RESPONSE, EL_DIAL, EL_REJECT, EL_HANGUP, EL_PAUSE, EL_REDIRECT, EL_SIP };

/* TwiML has three levels: <Response>, verbs, nouns.  Anything deeper is an
 * error before it is pushed, so the stack never needs more. */
#define MAX_DEPTH 3

/* An element being parsed: where it started, for errors about its content. */
struct open_elem {
	enum elem_kind kind;
	int line, col;
};

struct pctx {
	XML_Parser xp;
	struct twiml_err *err;
	int rc;       /* first failure; handlers do nothing once set */
	bool parsing; /* inside XML_Parse(), where XML_StopParser() is allowed */

	struct open_elem stack[MAX_DEPTH];
	unsigned depth;
	struct buf text; /* character data since the last tag */

	/* The string pool is sized once from the document length so it never
	 * moves while slices point into it; finish() compacts it. */
	char *pool;
	size_t pool_len, pool_cap;

	struct twiml_verb *verb;
	size_t nverb, cap_verb;
	struct twiml_sip *sip;
	size_t nsip, cap_sip;
};

/* ------------------------------------------------------------- errors */

static void fail_at(struct pctx *c, int rc, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void fail_at(struct pctx *c, int rc, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->rc)
		return;
	c->rc = rc;
	if (c->err) {
		c->err->line = line;
		c->err->column = col;
		n = snprintf(c->err->what, sizeof(c->err->what), "line %d: ", line);
		if (n < 0 || (size_t)n >= sizeof(c->err->what))
			n = 0;
		va_start(ap, fmt);
		vsnprintf(c->err->what + n, sizeof(c->err->what) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	if (c->parsing)
		XML_StopParser(c->xp, XML_FALSE);
}

static int cur_line(struct pctx *c)
{
	return (int)XML_GetCurrentLineNumber(c->xp);
}

static int cur_col(struct pctx *c)
{
	return (int)XML_GetCurrentColumnNumber(c->xp) + 1;
}

#define fail(c, rc, ...) fail_at(c, rc, cur_line(c), cur_col(c), __VA_ARGS__)

static void show_cstr(char *out, size_t cap, const char *s)
{
	twiml_show(out, cap, slice_cstr(s));
}

/* ------------------------------------------------------- names, tables */

static const char *const elem_names[] = {
    [EL_RESPONSE] = "Response", [EL_DIAL] = "Dial",   [EL_REJECT] = "Reject",
    [EL_HANGUP] = "Hangup",     [EL_PAUSE] = "Pause", [EL_REDIRECT] = "Redirect",
    [EL_SIP] = "Sip",
};

/* Real TwiML verbs and nouns this edge does not do yet: a clearer refusal
 * than "unknown".  Media verbs need the media layer's players/recorders. */
static const char *const media_verbs[] = {"Say", "Play", "Gather", "Record"};
static const char *const later_verbs[] = {"Enqueue", "Leave",   "Message", "Sms",
                                          "Refer",   "Connect", "Start",   "Stop",
                                          "Pay",     "Prompt",  "Stream",  "Echo"};
static const char *const later_nouns[] = {"Number", "Client",      "Conference",
                                          "Queue",  "Application", "Sim"};

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

/* Attribute types; each knows how to check and store its value. */
enum attr_type {
	A_URL,       /* struct slice */
	A_METHOD,    /* enum twiml_method */
	A_SECONDS,   /* uint32_t in [min, max] */
	A_BOOL,      /* bool */
	A_RECORD,    /* enum twiml_record */
	A_REASON,    /* enum twiml_reject_reason */
	A_CRED,      /* struct slice */
	A_CALLER_ID, /* struct slice */
	A_EVENTS,    /* unsigned TWIML_EVENT_* bits */
};

struct attr_spec {
	const char *name;
	enum attr_type type;
	size_t off; /* into the struct the element fills */
	uint32_t min, max;
};

#define DIAL(f) offsetof(struct twiml_dial, f)
#define SIP(f)  offsetof(struct twiml_sip, f)
#define VERB(f) offsetof(struct twiml_verb, u.f)

static const struct attr_spec dial_attrs[] = {
    {"action", A_URL, DIAL(action), 0, 0},
    {"method", A_METHOD, DIAL(method), 0, 0},
    {"timeout", A_SECONDS, DIAL(timeout), 1, TWIML_DIAL_TIMEOUT_MAX},
    {"callerId", A_CALLER_ID, DIAL(caller_id), 0, 0},
    {"answerOnBridge", A_BOOL, DIAL(answer_on_bridge), 0, 0},
    {"timeLimit", A_SECONDS, DIAL(time_limit), 1, TWIML_DIAL_TIME_LIMIT_MAX},
    {"record", A_RECORD, DIAL(record), 0, 0},
};
static const char *const dial_later[] = {"hangupOnStar",
                                         "ringTone",
                                         "recordingStatusCallback",
                                         "recordingStatusCallbackMethod",
                                         "recordingStatusCallbackEvent",
                                         "recordingTrack",
                                         "trim",
                                         "referUrl",
                                         "referMethod",
                                         "sequential",
                                         "callReason"};

static const struct attr_spec sip_attrs[] = {
    {"username", A_CRED, SIP(username), 0, 0},
    {"password", A_CRED, SIP(password), 0, 0},
    {"url", A_URL, SIP(url), 0, 0},
    {"method", A_METHOD, SIP(method), 0, 0},
    {"statusCallback", A_URL, SIP(status_callback), 0, 0},
    {"statusCallbackMethod", A_METHOD, SIP(status_callback_method), 0, 0},
    {"statusCallbackEvent", A_EVENTS, SIP(status_callback_events), 0, 0},
};
static const char *const sip_later[] = {"machineDetection", "amdStatusCallback",
                                        "amdStatusCallbackMethod", "machineDetectionTimeout"};

static const struct attr_spec reject_attrs[] = {{"reason", A_REASON, VERB(reject.reason), 0, 0}};
static const struct attr_spec pause_attrs[] = {
    {"length", A_SECONDS, VERB(pause.length), 1, TWIML_PAUSE_MAX}};
static const struct attr_spec redirect_attrs[] = {
    {"method", A_METHOD, VERB(redirect.method), 0, 0}};

struct elem_attrs {
	const struct attr_spec *spec;
	size_t n;
	const char *const *later;
	size_t nlater;
};

static const struct elem_attrs attrs_of[] = {
    [EL_RESPONSE] = {NULL, 0, NULL, 0},
    [EL_DIAL] = {dial_attrs, ARRAY_SIZE(dial_attrs), dial_later, ARRAY_SIZE(dial_later)},
    [EL_REJECT] = {reject_attrs, ARRAY_SIZE(reject_attrs), NULL, 0},
    [EL_HANGUP] = {NULL, 0, NULL, 0},
    [EL_PAUSE] = {pause_attrs, ARRAY_SIZE(pause_attrs), NULL, 0},
    [EL_REDIRECT] = {redirect_attrs, ARRAY_SIZE(redirect_attrs), NULL, 0},
    [EL_SIP] = {sip_attrs, ARRAY_SIZE(sip_attrs), sip_later, ARRAY_SIZE(sip_later)},
};

/* --------------------------------------------------------------- pool */

static int pool_add(struct pctx *c, struct slice s, struct slice *out)
{
	if (!s.len) {
		*out = SLICE_NULL;
		return 0;
	}
	if (s.len >= c->pool_cap - c->pool_len)
		return -E2BIG; /* cannot happen with the sizing in twiml_parse() */
	memcpy(c->pool + c->pool_len, s.p, s.len);
	*out = (struct slice){c->pool + c->pool_len, s.len};
	c->pool_len += s.len;
	c->pool[c->pool_len++] = '\0';
	return 0;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* --------------------------------------------------------- attributes */

static const char *const record_names[] = {
    [TWIML_RECORD_NONE] = "do-not-record",
    [TWIML_RECORD_FROM_ANSWER] = "record-from-answer",
    [TWIML_RECORD_FROM_RINGING] = "record-from-ringing",
    [TWIML_RECORD_FROM_ANSWER_DUAL] = "record-from-answer-dual",
    [TWIML_RECORD_FROM_RINGING_DUAL] = "record-from-ringing-dual",
};

const char *twiml_record_name(enum twiml_record r)
{
	return (size_t)r < ARRAY_SIZE(record_names) ? record_names[r] : "?";
}

static int parse_events(struct slice v, unsigned *out)
{
	static const char *const names[] = {"initiated", "ringing", "answered", "completed"};
	const char *p = v.p, *end = slice_end(v);
	unsigned bits = 0;

	while (p < end) {
		const char *w;
		size_t i;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		w = p;
		while (p < end && *p != ' ')
			p++;
		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (slice_ieq_cstr((struct slice){w, (size_t)(p - w)}, names[i]))
				break;
		if (i == ARRAY_SIZE(names))
			return -EBADMSG;
		bits |= 1u << i;
	}
	if (!bits)
		return -EBADMSG;
	*out = bits;
	return 0;
}

/* Checks one attribute value and stores it at base + spec->off. */
static void attr_set(struct pctx *c, enum elem_kind k, const struct attr_spec *a, char *base,
                     const char *value)
{
	/* Credentials are taken as written: a space may be part of a password. */
	struct slice v = a->type == A_CRED ? slice_cstr(value) : slice_trim(slice_cstr(value));
	const char *el = elem_names[k];
	char why[120], show[48];
	uint64_t n;
	int rc;

	twiml_show(show, sizeof(show), v);
	switch (a->type) {
	case A_URL:
	case A_CRED:
	case A_CALLER_ID:
		if (!v.len) {
			*(struct slice *)(base + a->off) = SLICE_NULL;
			return;
		}
		rc = a->type == A_URL    ? twiml_check_url(v, why, sizeof(why))
		     : a->type == A_CRED ? twiml_check_cred(v, why, sizeof(why))
		                         : twiml_check_caller_id(v, why, sizeof(why));
		if (rc) {
			fail(c, rc, "<%s>: %s: %s", el, a->name, why);
			return;
		}
		if (pool_add(c, v, (struct slice *)(base + a->off)))
			fail(c, -E2BIG, "<%s>: %s: out of pool space", el, a->name);
		return;
	case A_METHOD:
		if (slice_ieq_cstr(v, "POST"))
			*(enum twiml_method *)(base + a->off) = TWIML_METHOD_POST;
		else if (slice_ieq_cstr(v, "GET"))
			*(enum twiml_method *)(base + a->off) = TWIML_METHOD_GET;
		else
			fail(c, -EBADMSG, "<%s>: %s '%s' is not GET or POST", el, a->name, show);
		return;
	case A_SECONDS:
		rc = slice_to_u64(v, UINT32_MAX, &n);
		if (rc == -EBADMSG) {
			fail(c, -EBADMSG, "<%s>: %s '%s' is not a whole number of seconds", el,
			     a->name, show);
			return;
		}
		if (rc || n < a->min || n > a->max) {
			fail(c, -EBADMSG, "<%s>: %s '%s' is out of range %u-%u", el, a->name, show,
			     a->min, a->max);
			return;
		}
		*(uint32_t *)(base + a->off) = (uint32_t)n;
		return;
	case A_BOOL:
		if (slice_ieq_cstr(v, "true"))
			*(bool *)(base + a->off) = true;
		else if (slice_ieq_cstr(v, "false"))
			*(bool *)(base + a->off) = false;
		else
			fail(c, -EBADMSG, "<%s>: %s '%s' is not true or false", el, a->name, show);
		return;
	case A_RECORD:
		/* The older boolean form is still accepted by the hosted service. */
		if (slice_ieq_cstr(v, "true") || slice_ieq_cstr(v, "false")) {
			*(enum twiml_record *)(base + a->off) = slice_ieq_cstr(v, "true")
			                                            ? TWIML_RECORD_FROM_ANSWER
			                                            : TWIML_RECORD_NONE;
			return;
		}
		for (size_t i = 0; i < ARRAY_SIZE(record_names); i++)
			if (slice_ieq_cstr(v, record_names[i])) {
				*(enum twiml_record *)(base + a->off) = (enum twiml_record)i;
				return;
			}
		fail(c, -EBADMSG,
		     "<%s>: record '%s' is not one of do-not-record, record-from-answer[-dual], "
		     "record-from-ringing[-dual], true, false",
		     el, show);
		return;
	case A_REASON:
		if (slice_ieq_cstr(v, "rejected"))
			*(enum twiml_reject_reason *)(base + a->off) = TWIML_REJECT_REJECTED;
		else if (slice_ieq_cstr(v, "busy"))
			*(enum twiml_reject_reason *)(base + a->off) = TWIML_REJECT_BUSY;
		else
			fail(c, -EBADMSG, "<%s>: reason '%s' is not busy or rejected", el, show);
		return;
	case A_EVENTS:
		if (parse_events(v, (unsigned *)(base + a->off)))
			fail(c, -EBADMSG,
			     "<%s>: %s '%s' is not a space-separated list of initiated, ringing, "
			     "answered, completed",
			     el, a->name, show);
		return;
	}
}

static void attrs_apply(struct pctx *c, enum elem_kind k, char *base, const char **atts)
{
	const struct elem_attrs *ea = &attrs_of[k];

	for (size_t i = 0; atts[i] && atts[i + 1] && !c->rc; i += 2) {
		const struct attr_spec *a = NULL;
		char show[48];

		for (size_t j = 0; j < ea->n; j++)
			if (strcmp(atts[i], ea->spec[j].name) == 0)
				a = &ea->spec[j];
		if (a) {
			attr_set(c, k, a, base, atts[i + 1]);
			continue;
		}
		show_cstr(show, sizeof(show), atts[i]);
		if (ea->later && in_list(atts[i], ea->later, ea->nlater))
			fail(c, -ENOTSUP, "<%s>: attribute '%s' is not supported yet",
			     elem_names[k], show);
		else
			fail(c, -EBADMSG, "<%s>: unknown attribute '%s'", elem_names[k], show);
	}
}

/* ----------------------------------------------------------- elements */

static bool text_blank(const struct buf *t)
{
	return slice_trim(buf_slice(t)).len == 0;
}

/* Character data may only stand inside <Sip> and <Redirect>. */
static void text_check(struct pctx *c, enum elem_kind k)
{
	if (k == EL_SIP || k == EL_REDIRECT || text_blank(&c->text))
		return;
	if (k == EL_DIAL)
		fail(c, -ENOTSUP,
		     "<Dial>: dialling a number given as text is not supported yet; "
		     "use <Sip>");
	else
		fail(c, -EBADMSG, "<%s>: unexpected text", elem_names[k]);
}

static int kind_of(const char *name, enum elem_kind *k)
{
	for (size_t i = 0; i < ARRAY_SIZE(elem_names); i++)
		if (strcmp(name, elem_names[i]) == 0) {
			*k = (enum elem_kind)i;
			return 0;
		}
	return -ENOENT;
}

/* Where an element may stand: the root, a verb in <Response>, a noun in <Dial>. */
static bool place_check(struct pctx *c, const char *name, bool known, enum elem_kind k)
{
	char show[48];

	show_cstr(show, sizeof(show), name);
	if (c->depth == 0) {
		if (known && k == EL_RESPONSE)
			return true;
		fail(c, -EBADMSG, "not TwiML: the root element is <%s>, not <Response>", show);
		return false;
	}
	switch (c->stack[c->depth - 1].kind) {
	case EL_RESPONSE:
		if (known && k != EL_RESPONSE && k != EL_SIP)
			return true;
		if (known && k == EL_RESPONSE)
			fail(c, -EBADMSG, "<Response> inside <Response>");
		else if (known)
			fail(c, -EBADMSG, "<Sip> is only allowed inside <Dial>");
		else if (in_list(name, media_verbs, ARRAY_SIZE(media_verbs)))
			fail(c, -ENOTSUP, "<%s> is not supported yet (it needs media)", show);
		else if (in_list(name, later_verbs, ARRAY_SIZE(later_verbs)))
			fail(c, -ENOTSUP, "<%s> is not supported yet", show);
		else if (in_list(name, later_nouns, ARRAY_SIZE(later_nouns)))
			fail(c, -EBADMSG, "<%s> is only allowed inside <Dial>", show);
		else
			fail(c, -EBADMSG, "unknown verb <%s>", show);
		return false;
	case EL_DIAL:
		if (known && k == EL_SIP)
			return true;
		if (in_list(name, later_nouns, ARRAY_SIZE(later_nouns)))
			fail(c, -ENOTSUP, "<Dial>: <%s> is not supported yet; use <Sip>", show);
		else if (known)
			fail(c, -EBADMSG, "<Dial>: <%s> is not allowed inside <Dial>", show);
		else
			fail(c, -EBADMSG, "<Dial>: unknown noun <%s>", show);
		return false;
	default:
		fail(c, -EBADMSG, "<%s> cannot contain elements (found <%s>)",
		     elem_names[c->stack[c->depth - 1].kind], show);
		return false;
	}
}

static void verb_defaults(struct twiml_verb *v, enum elem_kind k, int line)
{
	static const enum twiml_verb_type types[] = {
	    [EL_DIAL] = TWIML_VERB_DIAL,         [EL_REJECT] = TWIML_VERB_REJECT,
	    [EL_HANGUP] = TWIML_VERB_HANGUP,     [EL_PAUSE] = TWIML_VERB_PAUSE,
	    [EL_REDIRECT] = TWIML_VERB_REDIRECT,
	};

	memset(v, 0, sizeof(*v));
	v->type = types[k];
	v->line = (uint32_t)line;
	if (k == EL_DIAL) {
		v->u.dial.timeout = TWIML_DIAL_TIMEOUT_DEFAULT;
		v->u.dial.time_limit = TWIML_DIAL_TIME_LIMIT_DEFAULT;
	} else if (k == EL_PAUSE) {
		v->u.pause.length = TWIML_PAUSE_DEFAULT;
	}
}

static void start_h(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct pctx *c = ud;
	enum elem_kind k = EL_RESPONSE;
	bool known;
	int line, col;
	char *base = NULL;

	if (c->rc)
		return;
	if (c->depth)
		text_check(c, c->stack[c->depth - 1].kind);
	buf_reset(&c->text);
	known = kind_of(name, &k) == 0;
	if (c->rc || !place_check(c, name, known, k))
		return;
	line = cur_line(c);
	col = cur_col(c);
	if (k == EL_SIP) {
		struct twiml_verb *dial = &c->verb[c->nverb - 1];

		if (dial->u.dial.nsip >= TWIML_MAX_SIP) {
			fail(c, -E2BIG, "<Dial>: more than %u <Sip> nouns", TWIML_MAX_SIP);
			return;
		}
		if (grow((void **)&c->sip, &c->cap_sip, c->nsip, sizeof(*c->sip))) {
			fail(c, -ENOMEM, "out of memory");
			return;
		}
		dial->u.dial.nsip++;
		base = (char *)&c->sip[c->nsip++];
		memset(base, 0, sizeof(*c->sip));
		c->sip[c->nsip - 1].line = (uint32_t)line;
		c->sip[c->nsip - 1].status_callback_events = TWIML_EVENT_COMPLETED;
	} else if (k != EL_RESPONSE) {
		if (c->nverb >= TWIML_MAX_VERBS) {
			fail(c, -E2BIG, "more than %u verbs", TWIML_MAX_VERBS);
			return;
		}
		if (grow((void **)&c->verb, &c->cap_verb, c->nverb, sizeof(*c->verb))) {
			fail(c, -ENOMEM, "out of memory");
			return;
		}
		verb_defaults(&c->verb[c->nverb], k, line);
		base = (char *)&c->verb[c->nverb++];
		if (k == EL_DIAL)
			base += offsetof(struct twiml_verb, u.dial);
	}
	if (base)
		attrs_apply(c, k, base, atts);
	else if (atts[0]) {
		char show[48];

		show_cstr(show, sizeof(show), atts[0]);
		fail(c, -EBADMSG, "<Response>: unknown attribute '%s'", show);
	}
	c->stack[c->depth++] = (struct open_elem){k, line, col};
}

/* Text of <Sip> (the URI) and <Redirect> (the URL), checked and stored. */
static void text_store(struct pctx *c, const struct open_elem *e)
{
	struct slice t = slice_trim(buf_slice(&c->text)), *dst;
	char why[120];
	int rc;

	if (e->kind == EL_SIP) {
		dst = &c->sip[c->nsip - 1].uri;
		rc = twiml_check_sip_uri(t, why, sizeof(why));
	} else {
		dst = &c->verb[c->nverb - 1].u.redirect.url;
		rc = t.len ? twiml_check_url(t, why, sizeof(why)) : -EBADMSG;
		if (!t.len)
			snprintf(why, sizeof(why), "no URL");
	}
	if (rc) {
		fail_at(c, rc, e->line, e->col, "<%s>: %s", elem_names[e->kind], why);
		return;
	}
	if (pool_add(c, t, dst))
		fail_at(c, -E2BIG, e->line, e->col, "<%s>: out of pool space", elem_names[e->kind]);
}

static void end_h(void *ud, const XML_Char *name)
{
	struct pctx *c = ud;
	const struct open_elem *e;

	(void)name; /* expat has matched it with the start tag */
	if (c->rc || !c->depth)
		return;
	e = &c->stack[--c->depth];
	if (e->kind == EL_SIP || e->kind == EL_REDIRECT)
		text_store(c, e);
	else
		text_check(c, e->kind);
	buf_reset(&c->text);
	if (!c->rc && e->kind == EL_DIAL && c->verb[c->nverb - 1].u.dial.nsip == 0)
		fail_at(c, -EBADMSG, e->line, e->col, "<Dial>: no <Sip> to dial");
}

static void text_h(void *ud, const XML_Char *s, int len)
{
	struct pctx *c = ud;

	if (c->rc || len <= 0)
		return;
	if (buf_append(&c->text, s, (size_t)len))
		fail(c, -ENOMEM, "out of memory");
}

/* No DOCTYPE means no entity declarations: the billion-laughs and external
 * entity attacks have nothing to start from. */
static void doctype_h(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                      int has_internal_subset)
{
	fail((struct pctx *)ud, -EBADMSG, "a DOCTYPE is not allowed in TwiML");
}

static void entity_h(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                     int value_len, const XML_Char *base, const XML_Char *sysid,
                     const XML_Char *pubid, const XML_Char *notation)
{
	fail((struct pctx *)ud, -EBADMSG, "entity declarations are not allowed in TwiML");
}

/* ------------------------------------------------------------ finish */

static void rebase(struct slice *s, const char *old, char *pool)
{
	if (s->p)
		s->p = pool + (s->p - old);
}

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

/* Copies verbs, nouns and strings into one mem object and fixes pointers. */
static int finish(struct pctx *c, struct twiml_doc **out)
{
	size_t off_verb = align_up(sizeof(struct twiml_doc), alignof(struct twiml_verb));
	size_t off_sip =
	    align_up(off_verb + c->nverb * sizeof(struct twiml_verb), alignof(struct twiml_sip));
	size_t off_pool = off_sip + c->nsip * sizeof(struct twiml_sip);
	struct twiml_verb *verb;
	struct twiml_sip *sip;
	struct twiml_doc *doc;
	char *pool, *mem;
	size_t next_sip = 0;

	mem = mem_alloc(off_pool + c->pool_len, NULL);
	if (!mem)
		return -ENOMEM;
	doc = (struct twiml_doc *)mem;
	verb = (struct twiml_verb *)(mem + off_verb);
	sip = (struct twiml_sip *)(mem + off_sip);
	pool = mem + off_pool;
	if (c->nverb)
		memcpy(verb, c->verb, c->nverb * sizeof(*verb));
	if (c->nsip)
		memcpy(sip, c->sip, c->nsip * sizeof(*sip));
	if (c->pool_len)
		memcpy(pool, c->pool, c->pool_len);
	for (size_t i = 0; i < c->nsip; i++) {
		rebase(&sip[i].uri, c->pool, pool);
		rebase(&sip[i].username, c->pool, pool);
		rebase(&sip[i].password, c->pool, pool);
		rebase(&sip[i].url, c->pool, pool);
		rebase(&sip[i].status_callback, c->pool, pool);
	}
	for (size_t i = 0; i < c->nverb; i++) {
		struct twiml_verb *v = &verb[i];

		if (v->type == TWIML_VERB_DIAL) {
			rebase(&v->u.dial.action, c->pool, pool);
			rebase(&v->u.dial.caller_id, c->pool, pool);
			/* a Dial's nouns are contiguous, in document order */
			v->u.dial.sip = &sip[next_sip];
			next_sip += v->u.dial.nsip;
		} else if (v->type == TWIML_VERB_REDIRECT) {
			rebase(&v->u.redirect.url, c->pool, pool);
		}
	}
	doc->verb = c->nverb ? verb : NULL;
	doc->nverb = c->nverb;
	*out = doc;
	return 0;
}

int twiml_parse(struct twiml_doc **out, const char *xml, size_t len, struct twiml_err *err)
{
	struct pctx c = {.err = err};
	enum XML_Status xs;
	int rc = 0;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	if (!xml && len)
		return -EINVAL;
	if (len > TWIML_MAX_DOC_SIZE) {
		if (err)
			snprintf(err->what, sizeof(err->what),
			         "document is %zu bytes, over the %u-byte limit", len,
			         TWIML_MAX_DOC_SIZE);
		return -E2BIG;
	}
	/* Decoded strings never exceed 2 bytes per input byte (ISO-8859-1 to
	 * UTF-8; UTF-16 gives at most 1.5), and each one needs at least one more
	 * input byte than its terminating NUL. */
	c.pool_cap = 3 * len + 16;
	c.pool = malloc(c.pool_cap);
	c.xp = XML_ParserCreate(NULL);
	if (!c.pool || !c.xp) {
		rc = -ENOMEM;
		if (err)
			snprintf(err->what, sizeof(err->what), "out of memory");
		goto out;
	}
	XML_SetUserData(c.xp, &c);
	XML_SetElementHandler(c.xp, start_h, end_h);
	XML_SetCharacterDataHandler(c.xp, text_h);
	XML_SetStartDoctypeDeclHandler(c.xp, doctype_h);
	XML_SetEntityDeclHandler(c.xp, entity_h);
	XML_SetParamEntityParsing(c.xp, XML_PARAM_ENTITY_PARSING_NEVER);
	c.parsing = true;
	xs = XML_Parse(c.xp, xml ? xml : "", (int)len, XML_TRUE);
	c.parsing = false;
	if (xs != XML_STATUS_OK && !c.rc) {
		enum XML_Error xe = XML_GetErrorCode(c.xp);

		fail_at(&c, xe == XML_ERROR_NO_MEMORY ? -ENOMEM : -EBADMSG,
		        (int)XML_GetCurrentLineNumber(c.xp),
		        (int)XML_GetCurrentColumnNumber(c.xp) + 1, "not XML: %s",
		        XML_ErrorString(xe));
	}
	rc = c.rc;
	if (!rc)
		rc = finish(&c, out);
out:
	if (c.xp)
		XML_ParserFree(c.xp);
	free(c.pool);
	free(c.verb);
	free(c.sip);
	buf_free(&c.text);
	return rc;
}
