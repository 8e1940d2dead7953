/* URI parsing (RFC 3261 19.1 / 25.1, RFC 3966 tel) and parameter lists. */
#include <arpa/inet.h>
#include <string.h>

#include "sip_priv.h"

/* The end of a dotted quad at p (each part 0-255, no leading zeros, as inet_pton
 * wants), or NULL. */
static const char *ipv4_scan(const char *p, const char *end)
{
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;

		if (part && (p == end || *p++ != '.'))
			return NULL;
		while (p < end && *p >= '0' && *p <= '9' && digits < 4) {
			if (digits && v == 0)
				return NULL;
			v = v * 10 + (unsigned)(*p++ - '0');
			digits++;
		}
		if (!digits || v > 255)
			return NULL;
	}
	return p;
}

static bool ipv4_valid(struct slice s)
{
	return ipv4_scan(s.p, slice_end(s)) == slice_end(s) && s.len;
}

static bool ipv6_valid(struct slice s)
{
	char tmp[64], *c3;
	struct in6_addr a;

	if (s.len == 0 || s.len >= sizeof(tmp))
		return false;
	memcpy(tmp, s.p, s.len);
	tmp[s.len] = '\0';
	if (inet_pton(AF_INET6, tmp, &a) == 1)
		return true;
	/* RFC 3261's ABNF admitted ":::" before an embedded IPv4 address; RFC 5118
	 * 4.10 asks parsers to accept it as "::" (RFC 5954 fixed the grammar). */
	c3 = strstr(tmp, ":::");
	if (!c3 || !strchr(c3, '.') || strstr(c3 + 1, ":::"))
		return false;
	memmove(c3, c3 + 1, strlen(c3 + 1) + 1);
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

bool sip_ip_literal(struct slice s, enum sip_host_type *type)
{
	if (s.len > 2 && s.p[0] == '[' && s.p[s.len - 1] == ']')
		s = (struct slice){s.p + 1, s.len - 2};
	else if (ipv4_valid(s))
		return *type = SIP_HOST_IPV4, true;
	if (ipv6_valid(s))
		return *type = SIP_HOST_IPV6, true;
	return false;
}

/* hostname: labels of alphanum, '-' and '_' separated by single dots. */
static const char *hostname_scan(const char *p, const char *end, bool *digits_dots, bool *ok)
{
	bool label_empty = true;

	*digits_dots = true;
	*ok = true;
	for (; p < end && cc_is(*p, CC_HOST); p++) {
		if (*p == '.') {
			*ok &= !label_empty;
			label_empty = true;
		} else {
			*digits_dots &= cc_is(*p, CC_DIGIT);
			label_empty = false;
		}
	}
	return p;
}

int sip_host_port_scan(const char **pp, const char *end, struct slice *host,
                       enum sip_host_type *type, uint16_t *port, bool *has_port)
{
	const char *p = *pp, *q;

	*port = 0;
	*has_port = false;
	if (p < end && *p == '[') {
		q = memchr(p, ']', (size_t)(end - p));
		if (!q)
			return -EBADMSG;
		*host = (struct slice){p + 1, (size_t)(q - p - 1)};
		if (!ipv6_valid(*host))
			return -EBADMSG;
		*type = SIP_HOST_IPV6;
		p = q + 1;
	} else if (cc_is(*p, CC_DIGIT) && (q = ipv4_scan(p, end)) &&
	           (q == end || !cc_is(*q, CC_HOST))) {
		/* One pass for the common numeric host. */
		*host = (struct slice){p, (size_t)(q - p)};
		*type = SIP_HOST_IPV4;
		p = q;
	} else {
		bool digits_dots, ok;

		q = hostname_scan(p, end, &digits_dots, &ok);
		*host = (struct slice){p, (size_t)(q - p)};
		if (host->len == 0)
			return -EBADMSG;
		if (digits_dots) {
			if (!ipv4_valid(*host))
				return -EBADMSG;
			*type = SIP_HOST_IPV4;
		} else {
			if (!ok)
				return -EBADMSG;
			*type = SIP_HOST_NAME;
		}
		p = q;
	}
	if (p < end && *p == ':') {
		uint64_t v;

		q = skip_class(++p, end, CC_DIGIT);
		if (slice_to_u64((struct slice){p, (size_t)(q - p)}, 65535, &v) || v == 0)
			return -EBADMSG;
		*port = (uint16_t)v;
		*has_port = true;
		p = q;
	}
	*pp = p;
	return 0;
}

/* ";name[=value]" pairs with URI character classes (no LWS), up to stop. */
static int uri_params_check(const char *p, const char *end)
{
	bool bad = false;

	while (p < end) {
		const char *n = p;

		p = sip_skip_escaped(p, end, CC_PARAM, &bad);
		if (bad || p == n)
			return -EBADMSG;
		if (p < end && *p == '=') {
			const char *v = ++p;

			p = sip_skip_escaped(p, end, CC_PARAM, &bad);
			if (bad || p == v)
				return -EBADMSG;
		}
		if (p == end)
			break;
		if (*p != ';')
			return -EBADMSG;
		p++;
		if (p == end)
			return -EBADMSG; /* trailing ';' */
	}
	return 0;
}

static int uri_headers_check(const char *p, const char *end)
{
	bool bad = false;

	while (p < end) {
		const char *n = p;

		p = sip_skip_escaped(p, end, CC_HNV, &bad);
		if (bad || p == n || p == end || *p != '=')
			return -EBADMSG;
		p = sip_skip_escaped(p + 1, end, CC_HNV, &bad);
		if (bad)
			return -EBADMSG;
		if (p == end)
			break;
		if (*p != '&' || p + 1 == end)
			return -EBADMSG;
		p++;
	}
	return 0;
}

/* Splits params (after ';') and headers (after '?') off the tail at p. */
static int uri_tail(struct sip_uri *uri, const char *p, const char *end, struct sip_perr *err,
                    const char *base)
{
	const char *q;

	if (p < end && *p == ';') {
		q = memchr(p, '?', (size_t)(end - p));
		if (!q)
			q = end;
		if (q == p + 1 || uri_params_check(p + 1, q))
			return sip_fail(err, base, p, "bad URI parameter", 400);
		uri->params = (struct slice){p + 1, (size_t)(q - p - 1)};
		p = q;
	}
	if (p < end && *p == '?') {
		if (p + 1 == end || uri_headers_check(p + 1, end))
			return sip_fail(err, base, p, "bad URI headers", 400);
		uri->headers = (struct slice){p + 1, (size_t)(end - p - 1)};
		p = end;
	}
	if (p != end)
		return sip_fail(err, base, p, "unexpected character in URI", 400);
	return 0;
}

static int sip_uri_body(struct sip_uri *uri, const char *p, const char *end, struct sip_perr *err,
                        const char *base)
{
	const char *at = memchr(p, '@', (size_t)(end - p));
	bool bad = false, has_port;

	/* '@' cannot appear unescaped after the userinfo, so the first one ends it. */
	if (at) {
		const char *u = p;

		p = sip_skip_escaped(p, at, CC_USER, &bad);
		uri->user = (struct slice){u, (size_t)(p - u)};
		if (bad || uri->user.len == 0)
			return sip_fail(err, base, p, "bad user part in URI", 400);
		if (p < at && *p == ':') {
			const char *pw = ++p;

			p = sip_skip_escaped(p, at, CC_PASS, &bad);
			uri->password = (struct slice){pw, (size_t)(p - pw)};
			uri->has_password = true;
		}
		if (bad || p != at)
			return sip_fail(err, base, p, "bad user part in URI", 400);
		p = at + 1;
	}
	if (sip_host_port_scan(&p, end, &uri->host, &uri->host_type, &uri->port, &has_port))
		return sip_fail(err, base, p, "bad host or port in URI", 400);
	return uri_tail(uri, p, end, err, base);
}

static int tel_uri_body(struct sip_uri *uri, const char *p, const char *end, struct sip_perr *err,
                        const char *base)
{
	const char *u = p;

	while (p < end && *p != ';' && *p != '?') {
		char c = *p;

		if (!(cc_is(c, CC_HEX) || c == '+' || c == '-' || c == '.' || c == '(' ||
		      c == ')' || c == '*' || c == '#' || c == '%'))
			return sip_fail(err, base, p, "bad tel URI number", 400);
		p++;
	}
	uri->user = (struct slice){u, (size_t)(p - u)};
	if (uri->user.len == 0)
		return sip_fail(err, base, p, "empty tel URI number", 400);
	uri->host_type = SIP_HOST_NONE;
	return uri_tail(uri, p, end, err, base);
}

int sip_uri_decode(struct sip_uri *uri, struct slice s, struct sip_perr *err)
{
	const char *p = s.p, *end = slice_end(s), *colon;

	if (err)
		*err = (struct sip_perr){0};
	memset(uri, 0, sizeof(*uri));
	uri->raw = s;
	if (s.len == 0 || !cc_is(*p, CC_ALPHA))
		return sip_fail(err, s.p, p, "URI does not start with a scheme", 400);
	colon = skip_class(p, end, CC_SCHEME);
	if (colon == end || *colon != ':')
		return sip_fail(err, s.p, colon, "URI has no scheme", 400);
	uri->scheme_raw = (struct slice){p, (size_t)(colon - p)};
	p = colon + 1;
	if (slice_ieq(uri->scheme_raw, SLICE("sip")))
		uri->scheme = SIP_SCHEME_SIP;
	else if (slice_ieq(uri->scheme_raw, SLICE("sips")))
		uri->scheme = SIP_SCHEME_SIPS;
	else if (slice_ieq(uri->scheme_raw, SLICE("tel")))
		uri->scheme = SIP_SCHEME_TEL;

	switch (uri->scheme) {
	case SIP_SCHEME_SIP:
	case SIP_SCHEME_SIPS:
		return sip_uri_body(uri, p, end, err, s.p);
	case SIP_SCHEME_TEL:
		return tel_uri_body(uri, p, end, err, s.p);
	case SIP_SCHEME_OTHER:
		break;
	}
	/* An absolute URI of a scheme the edge does not know: opaque, no LWS. */
	uri->opaque = (struct slice){p, (size_t)(end - p)};
	if (uri->opaque.len == 0)
		return sip_fail(err, s.p, p, "empty URI", 400);
	for (const char *q = p; q < end; q++) {
		if (cc_is(*q, CC_WS | CC_CTL) || *q == '<' || *q == '>' || *q == '"')
			return sip_fail(err, s.p, q, "bad character in URI", 400);
	}
	return 0;
}

int sip_param_next(struct slice *rest, struct slice *name, struct slice *val)
{
	const char *p = rest->p, *end = slice_end(*rest), *n, *ne;
	bool quoted = false;

	/* Leading separators and LWS (values of header params may carry LWS). */
	while (p < end && (*p == ';' || cc_is(*p, CC_WS)))
		p++;
	if (p == end) {
		*rest = (struct slice){end, 0};
		return -ENOENT;
	}
	n = p;
	while (p < end && *p != ';' && *p != '=' && !cc_is(*p, CC_WS))
		p++;
	ne = p;
	p = skip_ws(p, end);
	*name = (struct slice){n, (size_t)(ne - n)};
	*val = (struct slice){ne, 0};
	if (p < end && *p == '=') {
		const char *v;

		p = skip_ws(p + 1, end);
		v = p;
		while (p < end && (quoted || *p != ';')) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '\\' && quoted && p + 1 < end)
				p++;
			p++;
		}
		*val = slice_trim((struct slice){v, (size_t)(p - v)});
	}
	*rest = (struct slice){p, (size_t)(end - p)};
	return 0;
}

int sip_param_get(struct slice params, const char *name, struct slice *val)
{
	struct slice want = slice_cstr(name), n, v;

	while (sip_param_next(&params, &n, &v) == 0) {
		if (slice_ieq(n, want)) {
			if (val)
				*val = v;
			return 0;
		}
	}
	return -ENOENT;
}

int sip_unescape(struct slice s, char *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (c == '%') {
			if (i + 2 >= s.len || hexval(s.p[i + 1]) < 0 || hexval(s.p[i + 2]) < 0)
				return -EBADMSG;
			c = (char)(hexval(s.p[i + 1]) << 4 | hexval(s.p[i + 2]));
			i += 2;
		}
		if (n >= cap)
			return -E2BIG;
		out[n++] = c;
	}
	return (int)n;
}
