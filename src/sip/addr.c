/* name-addr / addr-spec (RFC 3261 20.10), comma lists, quoted strings, header params. */
#include <string.h>

#include "sip_priv.h"

/* Scans a quoted-string at *pp (at the opening quote); *pp ends past the close. */
static int quoted_scan(const char **pp, const char *end, struct slice *inner)
{
	const char *p = *pp + 1, *s = p;

	while (p < end && *p != '"') {
		if (*p == '\\') {
			if (++p == end)
				return -EBADMSG;
		}
		p++;
	}
	if (p == end)
		return -EBADMSG;
	*inner = (struct slice){s, (size_t)(p - s)};
	*pp = p + 1;
	return 0;
}

int sip_unquote(struct slice s, char *out, size_t cap)
{
	size_t n = 0;

	if (s.len >= 2 && s.p[0] == '"' && s.p[s.len - 1] == '"') {
		s.p++;
		s.len -= 2;
	}
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (c == '\\') {
			if (++i == s.len)
				return -EBADMSG;
			c = s.p[i];
		}
		if (n >= cap)
			return -E2BIG;
		out[n++] = c;
	}
	return (int)n;
}

int sip_list_next(struct slice *rest, struct slice *elem)
{
	const char *p = rest->p, *end = slice_end(*rest), *s;
	bool quoted = false;
	int angle = 0;

	p = skip_ws(p, end);
	if (p == end) {
		*rest = (struct slice){end, 0};
		return -ENOENT;
	}
	/* Most values are a single element without quotes: no state machine. */
	if (!memchr(p, ',', (size_t)(end - p)) && !memchr(p, '"', (size_t)(end - p))) {
		*elem = slice_trim((struct slice){p, (size_t)(end - p)});
		*rest = (struct slice){end, 0};
		return 0;
	}
	for (s = p; p < end; p++) {
		if (quoted) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '"')
				quoted = false;
		} else if (*p == '"') {
			quoted = true;
		} else if (*p == '<') {
			angle++;
		} else if (*p == '>' && angle > 0) {
			angle--;
		} else if (*p == ',' && angle == 0) {
			break;
		}
	}
	if (quoted)
		return -EBADMSG;
	*elem = slice_trim((struct slice){s, (size_t)(p - s)});
	if (elem->len == 0)
		return -EBADMSG;
	if (p < end) {
		p++; /* the comma */
		if (skip_ws(p, end) == end)
			return -EBADMSG; /* a trailing comma announces an empty element */
	}
	*rest = (struct slice){p, (size_t)(end - p)};
	return 0;
}

/* gen-value: token, host (incl. IPv6 and its colons/brackets) or quoted-string. */
static const char *gen_value_scan(const char *p, const char *end)
{
	if (p < end && *p == '"') {
		struct slice inner;

		return quoted_scan(&p, end, &inner) ? NULL : p;
	}
	while (p < end && (cc_is(*p, CC_TOKEN) || *p == ':' || *p == '[' || *p == ']'))
		p++;
	return p;
}

int sip_params_scan(const char **pp, const char *end, struct slice *params,
                    sip_param_visit_h *visit, void *ctx)
{
	const char *p = skip_ws(*pp, end), *first = NULL, *last = NULL;
	int e;

	*params = (struct slice){p, 0};
	while (p < end && *p == ';') {
		const char *n = skip_ws(p + 1, end), *ne;

		ne = skip_class(n, end, CC_TOKEN);
		if (ne == n)
			return -EBADMSG;
		if (!first)
			first = n;
		last = ne;
		p = skip_ws(ne, end);
		if (p < end && *p == '=') {
			const char *v = skip_ws(p + 1, end), *ve = gen_value_scan(v, end);

			if (!ve || ve == v)
				return -EBADMSG;
			last = ve;
			p = skip_ws(ve, end);
			e = visit ? visit(ctx, (struct slice){n, (size_t)(ne - n)},
			                  (struct slice){v, (size_t)(ve - v)})
			          : 0;
		} else {
			e = visit ? visit(ctx, (struct slice){n, (size_t)(ne - n)},
			                  (struct slice){ne, 0})
			          : 0;
		}
		if (e)
			return e;
	}
	if (first)
		*params = (struct slice){first, (size_t)(last - first)};
	*pp = p;
	return 0;
}

/* display-name as *(token LWS): only tokens and LWS may come before '<'. */
static bool token_dname_valid(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (!cc_is(*p, CC_TOKEN | CC_WS))
			return false;
	}
	return true;
}

/* The first ;tag parameter, picked up while the parameters are scanned. */
struct tag_seen {
	bool seen;
	struct slice value;
};

static int tag_visit_h(void *ctx, struct slice name, struct slice value)
{
	struct tag_seen *t = ctx;

	if (!t->seen && slice_ieq(name, SLICE("tag"))) {
		t->seen = true;
		t->value = value;
	}
	return 0;
}

int sip_addr_decode(struct sip_addr *addr, struct slice s, struct sip_perr *err)
{
	struct tag_seen tag = {0};
	const char *p = s.p, *end = slice_end(s), *lt, *uri_s, *uri_e;
	struct sip_perr sub = {0};
	int e;

	if (err)
		*err = (struct sip_perr){0};
	memset(addr, 0, sizeof(*addr));
	p = skip_ws(p, end);
	if (p < end && *p == '*' && skip_ws(p + 1, end) == end) {
		addr->wildcard = true;
		return 0;
	}
	if (p < end && *p == '"') {
		if (quoted_scan(&p, end, &addr->dname))
			return sip_fail(err, s.p, p, "unterminated quoted display name", 400);
		addr->dname_quoted = true;
		p = skip_ws(p, end);
		if (p == end || *p != '<')
			return sip_fail(err, s.p, p, "expected '<' after display name", 400);
	}
	lt = memchr(p, '<', (size_t)(end - p));
	if (lt) {
		const char *gt;

		if (!addr->dname_quoted) {
			if (!token_dname_valid(p, lt))
				return sip_fail(err, s.p, p, "bad character in display name", 400);
			addr->dname = slice_trim((struct slice){p, (size_t)(lt - p)});
		}
		gt = memchr(lt, '>', (size_t)(end - lt));
		if (!gt)
			return sip_fail(err, s.p, lt, "missing '>' after URI", 400);
		uri_s = lt + 1;
		uri_e = gt;
		p = gt + 1;
	} else {
		/* addr-spec: the URI ends at LWS or ';' and may not hold ',' or '?'
		 * (RFC 3261 20: such URIs must be enclosed in <>). */
		uri_s = p;
		while (p < end && *p != ';' && !cc_is(*p, CC_WS)) {
			if (*p == ',' || *p == '?')
				return sip_fail(err, s.p, p, "URI with ',' or '?' must be in <>",
				                400);
			p++;
		}
		uri_e = p;
	}
	e = sip_uri_decode(&addr->uri, (struct slice){uri_s, (size_t)(uri_e - uri_s)}, &sub);
	if (e)
		return sip_adopt(err, s.p, SLICE_NULL, uri_s, &sub, e);
	if (sip_params_scan(&p, end, &addr->params, tag_visit_h, &tag))
		return sip_fail(err, s.p, p, "bad header parameter", 400);
	if (skip_ws(p, end) != end)
		return sip_fail(err, s.p, p, "unexpected text after address", 400);
	if (tag.seen && tag.value.len == 0)
		return sip_fail(err, s.p, p, "empty tag parameter", 400);
	addr->tag = tag.value;
	return 0;
}
