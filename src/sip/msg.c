/* SIP message decoding: start line, header framing, the eager core headers, body. */
#include <string.h>

#include "sip_priv.h"
#include "hdr.h"

void sip_limits_default(struct sip_limits *lim)
{
	lim->max_msg_size = 65535;
	lim->max_line_len = 8192;
	lim->max_uri_len = 4096;
	lim->max_headers = 256;
	lim->max_body_size = 65535;
}

static void msg_destroy(void *obj)
{
	struct sip_msg *msg = obj;

	mem_deref(msg->owner);
}

/* Error inside a header value: offsets become message offsets, name is kept. */
static int hdr_fail(struct sip_perr *err, const struct sip_msg *msg, const struct sip_hdr *h,
                    const char *at, const char *what, uint16_t status)
{
	if (err && !err->what) {
		err->hname = h->name;
		return sip_fail(err, msg->raw.p, at, what, status);
	}
	return -EBADMSG;
}

/* Runs a value sub-parser into a fresh error and adopts it as a message error. */
#define SUB(call, h, base)                                                                         \
	do {                                                                                       \
		struct sip_perr sub_ = {0};                                                        \
		int e_ = (call);                                                                   \
		if (e_)                                                                            \
			return sip_adopt(err, m->raw.p, (h)->name, (base), &sub_, e_);             \
	} while (0)

/* "SIP/" 1*DIGIT "." 1*DIGIT; *is20 tells whether it is 2.0. */
static bool version_scan(struct slice v, bool *is20)
{
	const char *p = v.p, *end = slice_end(v), *q;

	if (v.len < 7 || !slice_ieq((struct slice){p, 4}, SLICE("SIP/")))
		return false;
	p += 4;
	q = skip_class(p, end, CC_DIGIT);
	if (q == p || q == end || *q != '.')
		return false;
	p = q + 1;
	q = skip_class(p, end, CC_DIGIT);
	if (q == p || q != end)
		return false;
	*is20 = v.len == 7 && v.p[4] == '2' && v.p[6] == '0';
	return true;
}

/* Request-Line or Status-Line in [p, le).  Single SPs only (RFC 4475 3.1.2.9/10). */
static int start_line(struct sip_msg *m, const char *p, const char *le,
                      const struct sip_limits *lim, struct sip_perr *err, bool *bad_version)
{
	const char *base = m->raw.p, *q;
	bool is20 = false;

	if ((size_t)(le - p) > lim->max_line_len)
		return sip_fail(err, base, p, "start line too long", 400);
	if (le - p >= 4 && memcmp(p, "SIP/", 4) == 0) {
		uint64_t code;

		q = memchr(p, ' ', (size_t)(le - p));
		if (!q)
			return sip_fail(err, base, p, "status line without status code", 400);
		m->version = (struct slice){p, (size_t)(q - p)};
		if (!version_scan(m->version, &is20))
			return sip_fail(err, base, p, "bad SIP version", 400);
		p = q + 1;
		q = skip_class(p, le, CC_DIGIT);
		if (q - p != 3 || slice_to_u64((struct slice){p, 3}, 699, &code) || code < 100)
			return sip_fail(err, base, p, "bad status code", 400);
		m->status = (uint16_t)code;
		if (q < le && *q != ' ')
			return sip_fail(err, base, q, "bad status code", 400);
		m->reason = q < le ? (struct slice){q + 1, (size_t)(le - q - 1)} : SLICE_NULL;
		*bad_version = !is20;
		return 0;
	}

	m->req = true;
	q = skip_class(p, le, CC_TOKEN);
	if (q == p || q == le || *q != ' ')
		return sip_fail(err, base, q, "bad method in request line", 400);
	m->method = (struct slice){p, (size_t)(q - p)};
	m->mid = sip_method_from(m->method);
	p = q + 1;
	q = memchr(p, ' ', (size_t)(le - p));
	if (!q)
		return sip_fail(err, base, p, "request line without SIP version", 400);
	if ((size_t)(q - p) > lim->max_uri_len)
		return sip_fail(err, base, p, "Request-URI too long", 414);
	{
		struct sip_perr sub = {0};
		int e = sip_uri_decode(&m->ruri, (struct slice){p, (size_t)(q - p)}, &sub);

		if (e)
			return sip_adopt(err, base, SLICE_NULL, p, &sub, e);
	}
	if (m->ruri.headers.len)
		return sip_fail(err, base, m->ruri.headers.p, "Request-URI must not have headers",
		                400);
	m->version = (struct slice){q + 1, (size_t)(le - q - 1)};
	if (!version_scan(m->version, &is20))
		return sip_fail(err, base, q + 1, "bad SIP version in request line", 400);
	*bad_version = !is20;
	return 0;
}

/* Finds the line ending at or after p: *le is the end of content, return is the next line. */
static const char *line_end(const char *p, const char *end, const char **le)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (!nl)
		return NULL;
	*le = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
	return nl + 1;
}

/* Splits header lines in [p, hend) into m->hdr, unfolding continuation lines. */
static int header_lines(struct sip_msg *m, const char *p, const char *hend, size_t cap,
                        const char *const *lends, size_t ncached, const struct sip_limits *lim,
                        struct sip_perr *err)
{
	const char *base = m->raw.p, *le = hend, *next;
	struct sip_hdr *h = NULL;

	sip_names_init();

	for (size_t li = 0; p < hend; p = next, li++) {
		const char *n = p, *ne, *v;

		if (li < ncached) { /* line ends found by pass 1 */
			le = lends[li];
			next = le + (*le == '\r' ? 2 : 1);
		} else {
			next = line_end(p, hend, &le);
		}
		if (!next)
			return sip_fail(err, base, p, "unterminated header line", 400);
		if (*p == ' ' || *p == '\t') {
			if (!h)
				return sip_fail(err, base, p, "continuation line before any header",
				                400);
			h->value.len = (size_t)(le - h->value.p);
		} else {
			if (m->nhdr >= cap || m->nhdr >= lim->max_headers)
				return sip_fail(err, base, p, "too many headers", 400);
			ne = skip_class(n, le, CC_TOKEN);
			v = ne;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			if (ne == n || v == le || *v != ':') {
				if (err && !err->what)
					err->hname = (struct slice){n, (size_t)(ne - n)};
				return sip_fail(err, base, ne, "header line without ':'", 400);
			}
			h = &m->hdr[m->nhdr++];
			h->name = (struct slice){n, (size_t)(ne - n)};
			h->value = (struct slice){v + 1, (size_t)(le - v - 1)};
			h->offset = (uint32_t)(n - base);
			h->id = sip_hdr_id_lookup(h->name);
		}
		if ((size_t)(le - base) - h->offset > lim->max_line_len) {
			if (err && !err->what)
				err->hname = h->name;
			return sip_fail(err, base, p, "header line too long", 400);
		}
	}
	for (uint32_t i = 0; i < m->nhdr; i++) {
		enum sip_hdr_id id = m->hdr[i].id;

		m->hdr[i].value = slice_trim(m->hdr[i].value);
		if (!m->first[id])
			m->first[id] = (uint16_t)(i + 1);
		else
			m->repeated |= 1ull << id;
	}
	return 0;
}

/* The headers every transaction needs, parsed now; others stay raw. */
static int core_headers(struct sip_msg *m, struct sip_perr *err)
{
	static const enum sip_hdr_id required[] = {SIP_HDR_VIA, SIP_HDR_FROM, SIP_HDR_TO,
	                                           SIP_HDR_CALL_ID, SIP_HDR_CSEQ};
	static const enum sip_hdr_id single[] = {SIP_HDR_FROM,         SIP_HDR_TO,
	                                         SIP_HDR_CALL_ID,      SIP_HDR_CSEQ,
	                                         SIP_HDR_MAX_FORWARDS, SIP_HDR_CONTENT_LENGTH,
	                                         SIP_HDR_CONTENT_TYPE};
	const struct sip_hdr *h;
	struct slice rest, v;
	struct sip_via via;
	uint64_t n;

	/* Via first: with it a response can be routed even if the rest is bad. */
	h = sip_msg_hdr(m, SIP_HDR_VIA);
	if (h) {
		rest = h->value;
		if (sip_list_next(&rest, &v))
			return hdr_fail(err, m, h, h->value.p, "empty Via", 400);
		SUB(sip_via_decode(&via, v, &sub_), h, v.p);
		m->via = via;
	}
	for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
		if (!m->first[required[i]]) {
			if (err && !err->what)
				err->hname = slice_cstr(sip_hdr_name(required[i]));
			return sip_fail(err, m->raw.p, m->raw.p, "missing mandatory header", 400);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(single); i++) {
		if (m->repeated & (1ull << single[i])) {
			const struct sip_hdr *dup = NULL;

			for (uint32_t k = m->first[single[i]]; k < m->nhdr && !dup; k++)
				dup = m->hdr[k].id == single[i] ? &m->hdr[k] : NULL;
			return hdr_fail(err, m, dup, dup->name.p, "header must not repeat", 400);
		}
	}

	h = sip_msg_hdr(m, SIP_HDR_CSEQ);
	SUB(sip_cseq_decode(&m->cseq, h->value, &sub_), h, h->value.p);
	if (m->req && !slice_eq(m->cseq.method, m->method))
		return hdr_fail(err, m, h, h->value.p, "CSeq method does not match request method",
		                400);

	h = sip_msg_hdr(m, SIP_HDR_CALL_ID);
	m->call_id = h->value;
	if (!sip_call_id_valid(m->call_id))
		return hdr_fail(err, m, h, h->value.p, "bad Call-ID", 400);

	h = sip_msg_hdr(m, SIP_HDR_FROM);
	SUB(sip_addr_decode(&m->from, h->value, &sub_), h, h->value.p);
	h = sip_msg_hdr(m, SIP_HDR_TO);
	SUB(sip_addr_decode(&m->to, h->value, &sub_), h, h->value.p);
	if (m->from.wildcard || m->to.wildcard)
		return hdr_fail(err, m, h, h->value.p, "'*' is not an address", 400);

	m->max_forwards = -1;
	h = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS);
	if (h) {
		switch (slice_to_u64(h->value, 255, &n)) {
		case 0:
			m->max_forwards = (int)n;
			break;
		case -ERANGE:
			return hdr_fail(err, m, h, h->value.p, "Max-Forwards above 255", 400);
		default:
			return hdr_fail(err, m, h, h->value.p, "bad Max-Forwards", 400);
		}
	}
	h = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	if (h)
		m->content_type = h->value;
	return 0;
}

static int body_locate(struct sip_msg *m, const char *body, const char *end,
                       const struct sip_limits *lim, struct sip_perr *err)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH);
	size_t avail = (size_t)(end - body), blen = avail;
	uint64_t n;

	m->content_length = -1;
	if (h) {
		switch (slice_to_u64(h->value, INT32_MAX, &n)) {
		case 0:
			break;
		case -ERANGE:
			return hdr_fail(err, m, h, h->value.p, "Content-Length too large", 400);
		default:
			return hdr_fail(err, m, h, h->value.p, "bad Content-Length", 400);
		}
		if (n > avail)
			return hdr_fail(err, m, h, h->value.p,
			                "Content-Length larger than the message", 400);
		m->content_length = (int64_t)n;
		blen = (size_t)n; /* octets after it are discarded (RFC 3261 18.3) */
	}
	if (blen > lim->max_body_size) {
		sip_fail(err, m->raw.p, body, "body too large", 413);
		return -E2BIG;
	}
	m->body = (struct slice){body, blen};
	m->raw.len = (size_t)(body + blen - m->raw.p);
	return 0;
}

int sip_msg_decode(struct sip_msg **msgp, const char *p, size_t len, void *owner,
                   const struct sip_limits *lim, struct sip_perr *err)
{
	const char *end = p + len, *ls, *le, *next, *first_le = NULL, *hstart = NULL, *body;
	const char *lends[128]; /* content ends of the first lines, reused by pass 2 */
	struct sip_limits dflt;
	struct sip_msg *m;
	size_t nlines = 0;
	bool bad_version = false;
	int e, first;

	*msgp = NULL;
	if (err)
		*err = (struct sip_perr){0};
	if (!lim) {
		sip_limits_default(&dflt);
		lim = &dflt;
	}
	if (len > lim->max_msg_size) {
		sip_fail(err, p, p + lim->max_msg_size, "message too large", 513);
		return -E2BIG;
	}
	if (len == 0)
		return sip_fail(err, p, p, "empty message", 400);

	/* Pass 1: find the blank line and count lines, to size the header array. */
	for (ls = p;; ls = next) {
		next = line_end(ls, end, &le);
		if (!next)
			return sip_fail(err, p, end, "no empty line after the headers", 400);
		if (le == ls)
			break;
		if (!first_le) {
			first_le = le;
			hstart = next;
		}
		if (nlines < ARRAY_SIZE(lends))
			lends[nlines] = le;
		nlines++;
	}
	if (!first_le)
		return sip_fail(err, p, p, "empty start line", 400);
	body = next;

	m = mem_alloc(sizeof(*m) + (nlines - 1) * sizeof(struct sip_hdr), msg_destroy);
	if (!m)
		return -ENOMEM;
	m->hdr = (struct sip_hdr *)(m + 1);
	m->raw = (struct slice){p, len};
	m->owner = mem_ref(owner);
	m->max_forwards = -1;
	m->content_length = -1;
	m->via.ttl = -1;

	/* A request whose method was read is kept even if its Request-URI or
	 * version is bad: its headers still let the edge answer 400 or 505. */
	first = start_line(m, p, first_le, lim, err, &bad_version);
	if (first && !(m->req && m->method.len)) {
		mem_deref(m);
		return first;
	}
	*msgp = m;
	e = header_lines(m, hstart, ls, nlines - 1, lends + 1,
	                 (nlines < ARRAY_SIZE(lends) ? nlines : ARRAY_SIZE(lends)) - 1, lim, err);
	if (!e)
		e = core_headers(m, err);
	if (!e)
		e = body_locate(m, body, end, lim, err);
	if (first)
		return first;
	if (e)
		return e;
	if (bad_version)
		return sip_fail(err, p, m->version.p, "unsupported SIP version", 505);
	return 0;
}

bool sip_msg_can_answer(const struct sip_msg *msg)
{
	return msg && msg->req && msg->mid != SIP_METHOD_ACK && msg->via.proto.len > 0 &&
	       msg->first[SIP_HDR_FROM] && msg->first[SIP_HDR_TO] && msg->first[SIP_HDR_CALL_ID] &&
	       msg->first[SIP_HDR_CSEQ];
}

const struct sip_hdr *sip_msg_hdr(const struct sip_msg *msg, enum sip_hdr_id id)
{
	uint16_t i = (unsigned)id < SIP_HDR__COUNT ? msg->first[id] : 0;

	return i ? &msg->hdr[i - 1] : NULL;
}

const struct sip_hdr *sip_msg_hdr_named(const struct sip_msg *msg, struct slice name)
{
	enum sip_hdr_id id = sip_hdr_id_from(name);

	if (id != SIP_HDR_OTHER)
		return sip_msg_hdr(msg, id);
	for (uint32_t i = 0; i < msg->nhdr; i++) {
		if (msg->hdr[i].id == SIP_HDR_OTHER && slice_ieq(msg->hdr[i].name, name))
			return &msg->hdr[i];
	}
	return NULL;
}

uint32_t sip_msg_hdr_count(const struct sip_msg *msg, enum sip_hdr_id id)
{
	uint32_t n = 0;

	if ((unsigned)id >= SIP_HDR__COUNT || !msg->first[id])
		return 0;
	if (!(msg->repeated & (1ull << id)))
		return 1;
	for (uint32_t i = msg->first[id] - 1u; i < msg->nhdr; i++)
		n += msg->hdr[i].id == id;
	return n;
}

void sip_hdr_iter_init(struct sip_hdr_iter *it, const struct sip_msg *msg, enum sip_hdr_id id)
{
	*it = (struct sip_hdr_iter){.msg = msg, .id = id};
	it->i = ((unsigned)id < SIP_HDR__COUNT && msg->first[id]) ? msg->first[id] - 1u : msg->nhdr;
}

int sip_hdr_iter_next(struct sip_hdr_iter *it, struct slice *val)
{
	bool list = sip_hdr_flags(it->id) & SIP_HF_LIST;

	for (;;) {
		if (it->cur && list) {
			int e = sip_list_next(&it->rest, val);

			if (e != -ENOENT)
				return e;
		}
		while (it->i < it->msg->nhdr && it->msg->hdr[it->i].id != it->id)
			it->i++;
		if (it->i >= it->msg->nhdr)
			return -ENOENT;
		it->cur = &it->msg->hdr[it->i++];
		it->rest = it->cur->value;
		if (!list) {
			*val = it->cur->value;
			return 0;
		}
	}
}
