/* Values of single headers: CSeq, credentials/challenges, Date, Warning, numbers. */
#include <string.h>

#include "sip_priv.h"
#include "hdr.h"

int sip_cseq_decode(struct sip_cseq *cseq, struct slice s, struct sip_perr *err)
{
	const char *p = skip_ws(s.p, slice_end(s)), *end = slice_end(s), *q;
	uint64_t v;

	if (err)
		*err = (struct sip_perr){0};
	memset(cseq, 0, sizeof(*cseq));
	q = skip_class(p, end, CC_DIGIT);
	switch (slice_to_u64((struct slice){p, (size_t)(q - p)}, UINT32_MAX, &v)) {
	case 0:
		break;
	case -ERANGE:
		return sip_fail(err, s.p, p, "CSeq number above 2**32-1", 400);
	default:
		return sip_fail(err, s.p, p, "bad CSeq number", 400);
	}
	cseq->num = (uint32_t)v;
	p = skip_ws(q, end);
	if (p == q)
		return sip_fail(err, s.p, p, "CSeq method missing", 400);
	q = skip_class(p, end, CC_TOKEN);
	cseq->method = (struct slice){p, (size_t)(q - p)};
	if (cseq->method.len == 0 || skip_ws(q, end) != end)
		return sip_fail(err, s.p, q, "bad CSeq method", 400);
	cseq->mid = sip_method_from(cseq->method);
	return 0;
}

static void auth_field(struct sip_auth *a, struct slice n, struct slice v)
{
	static const struct {
		struct slice name;
		size_t off;
	} fields[] = {
	    {SLICE("username"), offsetof(struct sip_auth, username)},
	    {SLICE("realm"), offsetof(struct sip_auth, realm)},
	    {SLICE("nonce"), offsetof(struct sip_auth, nonce)},
	    {SLICE("uri"), offsetof(struct sip_auth, uri)},
	    {SLICE("response"), offsetof(struct sip_auth, response)},
	    {SLICE("algorithm"), offsetof(struct sip_auth, algorithm)},
	    {SLICE("cnonce"), offsetof(struct sip_auth, cnonce)},
	    {SLICE("opaque"), offsetof(struct sip_auth, opaque)},
	    {SLICE("qop"), offsetof(struct sip_auth, qop)},
	    {SLICE("nc"), offsetof(struct sip_auth, nc)},
	};

	if (v.len >= 2 && v.p[0] == '"') {
		v.p++;
		v.len -= 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (slice_ieq(n, fields[i].name)) {
			*(struct slice *)((char *)a + fields[i].off) = v;
			return;
		}
	}
	if (slice_ieq(n, SLICE("stale")))
		a->stale = slice_ieq(v, SLICE("true"));
}

int sip_auth_decode(struct sip_auth *auth, struct slice s, struct sip_perr *err)
{
	const char *p = skip_ws(s.p, slice_end(s)), *end = slice_end(s), *q;
	struct slice rest, elem;
	int e;

	if (err)
		*err = (struct sip_perr){0};
	memset(auth, 0, sizeof(*auth));
	q = skip_class(p, end, CC_TOKEN);
	auth->scheme = (struct slice){p, (size_t)(q - p)};
	if (auth->scheme.len == 0)
		return sip_fail(err, s.p, p, "missing auth scheme", 400);
	p = skip_ws(q, end);
	if (p == q && p != end)
		return sip_fail(err, s.p, p, "bad auth scheme", 400);
	auth->params = (struct slice){p, (size_t)(end - p)};
	rest = auth->params;
	while ((e = sip_list_next(&rest, &elem)) == 0) {
		const char *n = elem.p, *ne = skip_class(n, slice_end(elem), CC_TOKEN);
		const char *v = skip_ws(ne, slice_end(elem));
		struct slice val;

		if (ne == n || v == slice_end(elem) || *v != '=')
			return sip_fail(err, s.p, elem.p, "bad auth parameter", 400);
		v = skip_ws(v + 1, slice_end(elem));
		val = (struct slice){v, (size_t)(slice_end(elem) - v)};
		if (val.len == 0)
			return sip_fail(err, s.p, v, "empty auth parameter value", 400);
		if (val.p[0] == '"') {
			if (val.len < 2 || val.p[val.len - 1] != '"')
				return sip_fail(err, s.p, v, "unterminated quoted auth value", 400);
		} else if (skip_class(val.p, val.p + val.len, CC_TOKEN) != val.p + val.len) {
			return sip_fail(err, s.p, v, "bad auth parameter value", 400);
		}
		auth_field(auth, (struct slice){n, (size_t)(ne - n)}, val);
	}
	if (e == -EBADMSG)
		return sip_fail(err, s.p, rest.p, "empty auth parameter", 400);
	return 0;
}

int sip_delta_check(struct slice v, uint64_t max, bool params, const char **why)
{
	const char *p = v.p, *end = slice_end(v), *q = skip_class(p, end, CC_DIGIT);
	struct slice prm;
	uint64_t n;

	switch (slice_to_u64((struct slice){p, (size_t)(q - p)}, max, &n)) {
	case 0:
		break;
	case -ERANGE:
		*why = "value out of range";
		return -EBADMSG;
	default:
		*why = "expected a number";
		return -EBADMSG;
	}
	if (params) {
		p = skip_ws(q, end);
		if (p < end && *p == '(') { /* Retry-After comment */
			const char *c = memchr(p, ')', (size_t)(end - p));

			if (!c) {
				*why = "unterminated comment";
				return -EBADMSG;
			}
			q = c + 1;
		}
		if (sip_params_scan(&q, end, &prm, NULL, NULL)) {
			*why = "bad parameter";
			return -EBADMSG;
		}
	}
	if (skip_ws(q, end) != end) {
		*why = "unexpected text after number";
		return -EBADMSG;
	}
	return 0;
}

static bool match_word(const char *p, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (memcmp(p, words[i], 3) == 0)
			return true;
	}
	return false;
}

static bool digits_at(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!cc_is(p[i], CC_DIGIT))
			return false;
	}
	return true;
}

bool sip_date_valid(struct slice v)
{
	/* rfc1123-date "Sun, 06 Nov 1994 08:49:37 GMT", always GMT (RFC 3261 20.17). */
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	const char *p = v.p;

	if (v.len != 29)
		return false;
	return match_word(p, days, 7) && memcmp(p + 3, ", ", 2) == 0 && digits_at(p + 5, 2) &&
	       p[7] == ' ' && match_word(p + 8, months, 12) && p[11] == ' ' &&
	       digits_at(p + 12, 4) && p[16] == ' ' && digits_at(p + 17, 2) && p[19] == ':' &&
	       digits_at(p + 20, 2) && p[22] == ':' && digits_at(p + 23, 2) &&
	       memcmp(p + 25, " GMT", 4) == 0;
}

bool sip_warning_valid(struct slice v)
{
	/* warn-code SP warn-agent SP warn-text(quoted-string) */
	const char *p = v.p, *end = slice_end(v), *q;

	if (v.len < 4 || !digits_at(p, 3) || p[3] != ' ')
		return false;
	p += 4;
	q = p;
	while (q < end && *q != ' ')
		q++;
	if (q == p || q == end)
		return false;
	p = q + 1;
	return end - p >= 2 && *p == '"' && end[-1] == '"';
}

bool sip_token_list_elem_valid(struct slice v, bool params)
{
	const char *p = v.p, *end = slice_end(v), *q = skip_class(p, end, CC_TOKEN);
	struct slice prm;

	if (q == p)
		return false;
	if (params && sip_params_scan(&q, end, &prm, NULL, NULL))
		return false;
	return skip_ws(q, end) == end;
}

bool sip_media_type_valid(struct slice v)
{
	/* m-type SLASH m-subtype *(SEMI m-parameter) */
	const char *p = v.p, *end = slice_end(v), *q;
	struct slice prm;
	unsigned cls = CC_TOKEN; /* a token may be "*", so Accept wildcards pass */

	q = skip_class(p, end, cls);
	if (q == p)
		return false;
	p = skip_ws(q, end);
	if (p == end || *p != '/')
		return false;
	p = skip_ws(p + 1, end);
	q = skip_class(p, end, cls);
	if (q == p)
		return false;
	if (sip_params_scan(&q, end, &prm, NULL, NULL))
		return false;
	return skip_ws(q, end) == end;
}

bool sip_call_id_valid(struct slice v)
{
	/* word [ "@" word ] */
	const char *p = v.p, *end = slice_end(v), *q = skip_class(p, end, CC_WORD);

	if (q == p)
		return false;
	if (q < end && *q == '@') {
		p = q + 1;
		q = skip_class(p, end, CC_WORD);
		if (q == p)
			return false;
	}
	return q == end;
}
