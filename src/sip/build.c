/* Building SIP messages: edited copies, responses (RFC 3261 8.2.6) and new requests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ixedge/sip.h"

/*
 * Every builder first collects the header lines into a list of items, then
 * applies the caller's edits to that list, then writes it out.  Doing the
 * edits on a list (not while writing) lets them see each other's results:
 * REMOVE Via followed by ADD_TOP Via leaves exactly the new Via.
 */
enum item_kind {
	ITEM_RAW,  /* a header line copied byte for byte from the source message */
	ITEM_HDR,  /* "name: value" written by us */
	ITEM_CLEN, /* Content-Length, computed from the body when writing */
};

struct item {
	enum item_kind kind;
	enum sip_hdr_id id;
	struct slice name;  /* matched case-insensitively when id is SIP_HDR_OTHER */
	struct slice value; /* ITEM_HDR: may hold folds when copied from a request */
	struct slice tag;   /* ITEM_HDR: appended as ";tag=" when non-empty */
	struct slice line;  /* ITEM_RAW: from the name to the last byte before the line end */
};

struct items {
	struct item *v;
	size_t n, cap;
};

/* The header an edit refers to, after mapping names (and compact forms) to ids. */
struct target {
	enum sip_hdr_id id;
	struct slice name;
};

static bool is_token_char(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("-.!%*_+`'~", c) != NULL;
}

/* RFC 3261 25.1 token: what method names, header names and tags must be. */
static bool is_token(struct slice s)
{
	if (!s.len || !s.p)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (!is_token_char(s.p[i]))
			return false;
	}
	return true;
}

/*
 * CR and LF end a line (some parsers take either alone); NUL ends strings.
 * A line break followed by SP or HTAB is folding (LWS), as in a header
 * value copied from a received message: it is written unfolded, so only a
 * break that would start a new line is refused (header injection).
 */
static bool has_line_break(struct slice s)
{
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == '\0')
			return true;
		if (s.p[i] == '\r' || s.p[i] == '\n') {
			while (i < s.len && (s.p[i] == '\r' || s.p[i] == '\n'))
				i++;
			if (i == s.len || (s.p[i] != ' ' && s.p[i] != '\t'))
				return true;
		}
	}
	return false;
}

/* A Request-URI is one word: no whitespace or control characters at all. */
static bool is_uri_word(struct slice s)
{
	if (!s.len || !s.p)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static int items_init(struct items *it, size_t a, size_t b)
{
	size_t cap;

	if (a > SIZE_MAX - b - 1)
		return -ENOMEM;
	cap = a + b + 1;
	if (cap > SIZE_MAX / sizeof(*it->v))
		return -ENOMEM;
	it->v = calloc(cap, sizeof(*it->v));
	if (!it->v)
		return -ENOMEM;
	it->n = 0;
	it->cap = cap;
	return 0;
}

static void items_free(struct items *it)
{
	free(it->v);
	*it = (struct items){0};
}

/* Capacity is sized by the callers for every item they can add, so this cannot fail. */
static void items_insert(struct items *it, size_t pos, const struct item *x)
{
	if (it->n >= it->cap)
		abort();
	memmove(&it->v[pos + 1], &it->v[pos], (it->n - pos) * sizeof(*it->v));
	it->v[pos] = *x;
	it->n++;
}

static void items_push(struct items *it, const struct item *x)
{
	items_insert(it, it->n, x);
}

static bool item_match(const struct item *x, const struct target *t)
{
	if (x->kind == ITEM_CLEN)
		return false;
	if (t->id != SIP_HDR_OTHER)
		return x->id == t->id;
	return x->id == SIP_HDR_OTHER && slice_ieq(x->name, t->name);
}

/* Removes every item matching t; returns the index the first one had, or n if none. */
static size_t items_remove(struct items *it, const struct target *t)
{
	size_t first = SIZE_MAX, j = 0;

	for (size_t i = 0; i < it->n; i++) {
		if (item_match(&it->v[i], t)) {
			if (first == SIZE_MAX)
				first = j;
			continue;
		}
		it->v[j++] = it->v[i];
	}
	it->n = j;
	return first == SIZE_MAX ? it->n : first;
}

/*
 * Checks one edit and works out which header it names.  Returns 1 for an
 * edit to skip: Content-Length is always computed from the body, so letting
 * callers set it could only produce a message that frames wrongly.
 */
static int edit_target(const struct sip_edit *e, struct target *t)
{
	const char *canon;

	if (e->op != SIP_EDIT_ADD && e->op != SIP_EDIT_ADD_TOP && e->op != SIP_EDIT_REMOVE &&
	    e->op != SIP_EDIT_REPLACE)
		return -EINVAL;
	if ((unsigned)e->id >= SIP_HDR__COUNT)
		return -EINVAL;
	t->id = e->id;
	t->name = e->name;
	if (t->id == SIP_HDR_OTHER) {
		if (!is_token(e->name))
			return -EINVAL;
		/* "v" and "Via" must name the same header whichever way it is written. */
		t->id = sip_hdr_id_from(e->name);
		if ((unsigned)t->id >= SIP_HDR__COUNT)
			return -EINVAL;
	}
	if (t->id != SIP_HDR_OTHER) {
		canon = sip_hdr_name(t->id);
		if (!canon)
			return -EINVAL;
		t->name = slice_cstr(canon);
	}
	if (e->op != SIP_EDIT_REMOVE && (has_line_break(e->value) || (e->value.len && !e->value.p)))
		return -EINVAL;
	return t->id == SIP_HDR_CONTENT_LENGTH ? 1 : 0;
}

static int items_apply(struct items *it, const struct sip_edit *edits, size_t nedits)
{
	for (size_t k = 0; k < nedits; k++) {
		const struct sip_edit *e = &edits[k];
		struct target t;
		struct item x;
		size_t pos;
		int err = edit_target(e, &t);

		if (err < 0)
			return err;
		if (err > 0)
			continue;
		x = (struct item){.kind = ITEM_HDR, .id = t.id, .name = t.name, .value = e->value};
		switch (e->op) {
		case SIP_EDIT_ADD:
			items_push(it, &x);
			break;
		case SIP_EDIT_ADD_TOP:
			for (pos = 0; pos < it->n && !item_match(&it->v[pos], &t); pos++)
				;
			items_insert(it, pos == it->n ? 0 : pos, &x);
			break;
		case SIP_EDIT_REMOVE:
			items_remove(it, &t);
			break;
		case SIP_EDIT_REPLACE:
			items_insert(it, items_remove(it, &t), &x);
			break;
		}
	}
	return 0;
}

/* Copies bytes that may span folded lines, ending every line with CRLF whatever it had. */
static int emit_lines(struct buf *out, struct slice s)
{
	const char *p = s.p, *end = s.p + s.len;
	int err = 0;

	while (!err && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		if (e > p && e[-1] == '\r')
			e--;
		err = buf_append(out, p, (size_t)(e - p));
		if (!err && nl)
			err = buf_append(out, "\r\n", 2);
		p = nl ? nl + 1 : end;
	}
	return err ? err : buf_append(out, "\r\n", 2);
}

/* Writes a value on one line: each fold (line break and the LWS around it) becomes one SP. */
static int emit_unfolded(struct buf *out, struct slice s)
{
	size_t i = 0, start = 0;
	int err = 0;

	if (!s.len)
		return 0;
	while (!err && i < s.len) {
		size_t j;

		if (s.p[i] != '\r' && s.p[i] != '\n') {
			i++;
			continue;
		}
		j = i;
		while (j > start && (s.p[j - 1] == ' ' || s.p[j - 1] == '\t'))
			j--;
		err = buf_append(out, s.p + start, j - start);
		if (!err)
			err = buf_append(out, " ", 1);
		while (i < s.len &&
		       (s.p[i] == '\r' || s.p[i] == '\n' || s.p[i] == ' ' || s.p[i] == '\t'))
			i++;
		start = i;
	}
	return err ? err : buf_append(out, s.p + start, s.len - start);
}

/* Header lines, then Content-Length (where it stood, else last), then the blank line. */
static int items_emit(struct buf *out, const struct items *it, size_t body_len)
{
	bool clen = false;
	int err = 0;

	for (size_t i = 0; !err && i < it->n; i++) {
		const struct item *x = &it->v[i];

		switch (x->kind) {
		case ITEM_RAW:
			err = emit_lines(out, x->line);
			break;
		case ITEM_HDR:
			err = buf_printf(out, SLICE_FMT ": ", SLICE_ARG(x->name));
			if (!err)
				err = emit_unfolded(out, x->value);
			if (!err && x->tag.len)
				err = buf_printf(out, ";tag=" SLICE_FMT, SLICE_ARG(x->tag));
			if (!err)
				err = buf_append(out, "\r\n", 2);
			break;
		case ITEM_CLEN:
			clen = true;
			err = buf_printf(out, "Content-Length: %zu\r\n", body_len);
			break;
		}
	}
	if (!err && !clen)
		err = buf_printf(out, "Content-Length: %zu\r\n", body_len);
	return err ? err : buf_append(out, "\r\n", 2);
}

static int emit_body(struct buf *out, struct slice body)
{
	return body.len ? buf_append_slice(out, body) : 0;
}

/* Leaves out as it was before a failed build, so callers never send half a message. */
static int out_finish(struct buf *out, size_t old_len, int err)
{
	if (err && out->p) {
		out->len = old_len;
		out->p[old_len] = '\0';
	}
	return err;
}

/*
 * The bytes of one header line of msg, folds included, without the final
 * line break.  The end is found by scanning rather than from the value
 * slice, so trailing LWS and folds after the value are kept as they were.
 */
static int raw_line(const struct sip_msg *msg, const struct sip_hdr *h, struct slice *line)
{
	const char *start, *p, *end = msg->raw.p + msg->raw.len;

	if (!msg->raw.p || h->offset >= msg->raw.len)
		return -EINVAL;
	start = p = msg->raw.p + h->offset;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl) {
			p = end;
			break;
		}
		if (nl + 1 < end && (nl[1] == ' ' || nl[1] == '\t')) {
			p = nl + 1;
			continue;
		}
		p = nl;
		break;
	}
	if (p > start && p[-1] == '\r')
		p--;
	*line = (struct slice){start, (size_t)(p - start)};
	return 0;
}

/* The start line as received, skipping the CRLFs RFC 3261 7.5 allows in front of it. */
static int raw_start_line(const struct sip_msg *msg, struct slice *line)
{
	const char *p = msg->raw.p, *end = msg->raw.p + msg->raw.len, *nl;

	if (!p)
		return -EINVAL;
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		nl = end;
	if (nl > p && nl[-1] == '\r')
		nl--;
	if (nl == p)
		return -EINVAL;
	*line = (struct slice){p, (size_t)(nl - p)};
	return 0;
}

int sip_msg_derive(struct buf *out, const struct sip_msg *msg, struct slice start_line,
                   const struct sip_edit *edits, size_t nedits, const struct slice *body)
{
	struct items it = {0};
	struct slice sl, b;
	size_t old_len;
	bool clen = false;
	int err;

	if (!out || !msg || (nedits && !edits) || (msg->nhdr && !msg->hdr))
		return -EINVAL;
	if (has_line_break(start_line) || (body && body->len && !body->p))
		return -EINVAL;
	b = body ? *body : msg->body;
	old_len = out->len;

	if (start_line.len)
		sl = start_line;
	else if ((err = raw_start_line(msg, &sl)) != 0)
		return err;

	err = items_init(&it, msg->nhdr, nedits);
	if (err)
		return err;
	for (uint32_t i = 0; !err && i < msg->nhdr; i++) {
		const struct sip_hdr *h = &msg->hdr[i];
		struct item x = {.kind = ITEM_RAW, .id = h->id, .name = h->name};

		if (h->id == SIP_HDR_CONTENT_LENGTH) {
			/* One Content-Length, where the first one stood, in long form. */
			if (!clen)
				items_push(&it, &(struct item){.kind = ITEM_CLEN});
			clen = true;
			continue;
		}
		err = raw_line(msg, h, &x.line);
		if (!err)
			items_push(&it, &x);
	}
	if (!err)
		err = items_apply(&it, edits, nedits);
	if (!err)
		err = buf_append_slice(out, sl);
	if (!err)
		err = buf_append(out, "\r\n", 2);
	if (!err)
		err = items_emit(out, &it, b.len);
	if (!err)
		err = emit_body(out, b);
	items_free(&it);
	return out_finish(out, old_len, err);
}

/* First header with that id, found by scanning so a partly decoded message works too. */
static const struct sip_hdr *find_hdr(const struct sip_msg *msg, enum sip_hdr_id id)
{
	for (uint32_t i = 0; i < msg->nhdr; i++) {
		if (msg->hdr[i].id == id && msg->hdr[i].value.len)
			return &msg->hdr[i];
	}
	return NULL;
}

/* Whether a To value (name-addr or addr-spec) already carries a tag parameter. */
static bool to_has_tag(struct slice v)
{
	struct sip_addr addr;
	struct sip_perr perr;
	bool quoted = false;
	int depth = 0;

	if (sip_addr_decode(&addr, v, &perr) == 0)
		return sip_param_get(addr.params, "tag", NULL) == 0;
	/*
	 * The parser refused the value (we may be answering a bad request with
	 * a 400); look for ";tag" outside quotes and <> so we do not add a
	 * second one.
	 */
	for (size_t i = 0; i < v.len; i++) {
		char c = v.p[i];
		size_t j;

		if (quoted) {
			if (c == '\\')
				i++;
			else if (c == '"')
				quoted = false;
			continue;
		}
		if (c == '"')
			quoted = true;
		else if (c == '<')
			depth++;
		else if (c == '>' && depth > 0)
			depth--;
		if (c != ';' || depth)
			continue;
		for (j = i + 1; j < v.len && (v.p[j] == ' ' || v.p[j] == '\t'); j++)
			;
		if (v.len - j < 3 || !slice_ieq((struct slice){v.p + j, 3}, SLICE("tag")))
			continue;
		for (j += 3; j < v.len && (v.p[j] == ' ' || v.p[j] == '\t'); j++)
			;
		if (j == v.len || v.p[j] == '=' || v.p[j] == ';')
			return true;
	}
	return false;
}

static void push_copy(struct items *it, const struct sip_hdr *h, enum sip_hdr_id id)
{
	struct item x = {.kind = ITEM_HDR, .id = id, .value = h->value};

	x.name = slice_cstr(sip_hdr_name(id));
	items_push(it, &x);
}

static void push_all(struct items *it, const struct sip_msg *msg, enum sip_hdr_id id)
{
	for (uint32_t i = 0; i < msg->nhdr; i++) {
		if (msg->hdr[i].id == id && msg->hdr[i].value.len)
			push_copy(it, &msg->hdr[i], id);
	}
}

int sip_response_build(struct buf *out, const struct sip_msg *req, uint16_t status,
                       const char *reason, struct slice to_tag, const struct sip_edit *extra,
                       size_t nextra, struct slice body)
{
	const struct sip_hdr *from, *to, *call_id, *cseq, *ts;
	struct items it = {0};
	struct slice rs;
	size_t old_len;
	int err;

	if (!out || !req || !req->req || (nextra && !extra) || (req->nhdr && !req->hdr))
		return -EINVAL;
	if (status < 100 || status > 699 || (body.len && !body.p))
		return -EINVAL;
	rs = slice_cstr(reason ? reason : sip_status_reason(status));
	if (has_line_break(rs) || (to_tag.len && !is_token(to_tag)))
		return -EINVAL;
	from = find_hdr(req, SIP_HDR_FROM);
	to = find_hdr(req, SIP_HDR_TO);
	call_id = find_hdr(req, SIP_HDR_CALL_ID);
	cseq = find_hdr(req, SIP_HDR_CSEQ);
	if (!find_hdr(req, SIP_HDR_VIA) || !from || !to || !call_id || !cseq)
		return -EBADMSG;
	old_len = out->len;

	err = items_init(&it, req->nhdr, nextra);
	if (err)
		return err;
	push_all(&it, req, SIP_HDR_VIA);
	push_copy(&it, from, SIP_HDR_FROM);
	push_copy(&it, to, SIP_HDR_TO);
	if (to_tag.len && !to_has_tag(to->value))
		it.v[it.n - 1].tag = to_tag;
	push_copy(&it, call_id, SIP_HDR_CALL_ID);
	push_copy(&it, cseq, SIP_HDR_CSEQ);
	/* The route set of a dialog the response may create (RFC 3261 12.1.1). */
	if (status >= 180 && status <= 299)
		push_all(&it, req, SIP_HDR_RECORD_ROUTE);
	/* RFC 3261 8.2.6.1: a 100 echoes the Timestamp so the UAC can measure the RTT. */
	ts = find_hdr(req, SIP_HDR_TIMESTAMP);
	if (status == 100 && ts)
		push_copy(&it, ts, SIP_HDR_TIMESTAMP);

	err = items_apply(&it, extra, nextra);
	if (!err)
		err = buf_printf(out, "SIP/2.0 %u " SLICE_FMT "\r\n", (unsigned)status,
		                 SLICE_ARG(rs));
	if (!err)
		err = items_emit(out, &it, body.len);
	if (!err)
		err = emit_body(out, body);
	items_free(&it);
	return out_finish(out, old_len, err);
}

int sip_request_build(struct buf *out, struct slice method, struct slice ruri,
                      const struct sip_edit *hdrs, size_t nhdrs, struct slice body)
{
	struct items it = {0};
	size_t old_len;
	int err;

	if (!out || (nhdrs && !hdrs) || (body.len && !body.p))
		return -EINVAL;
	if (!is_token(method) || !is_uri_word(ruri))
		return -EINVAL;
	old_len = out->len;

	err = items_init(&it, nhdrs, 0);
	if (err)
		return err;
	err = items_apply(&it, hdrs, nhdrs);
	if (!err)
		err = buf_printf(out, SLICE_FMT " " SLICE_FMT " SIP/2.0\r\n", SLICE_ARG(method),
		                 SLICE_ARG(ruri));
	if (!err)
		err = items_emit(out, &it, body.len);
	if (!err)
		err = emit_body(out, body);
	items_free(&it);
	return out_finish(out, old_len, err);
}
