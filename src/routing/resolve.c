/* Inbound: which SIP domain, edge and base domain a Request-URI host names. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "routing/routing_priv.h"

/* Longest IPv6 text with brackets, plus room to tell "too long" apart. */
#define IP_TEXT_MAX 48

/* Hosts PBXs send when they dial a gateway by address: sip:+1555@127.0.1.64. */
static bool is_ip_literal(struct slice h)
{
	char text[IP_TEXT_MAX + 1];
	unsigned char bin[sizeof(struct in6_addr)];

	if (h.len >= 2 && h.p[0] == '[' && h.p[h.len - 1] == ']') {
		h.p++;
		h.len -= 2;
	}
	if (!h.len || h.len > IP_TEXT_MAX)
		return false;
	memcpy(text, h.p, h.len);
	text[h.len] = '\0';
	return inet_pton(AF_INET, text, bin) == 1 || inet_pton(AF_INET6, text, bin) == 1;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A DNS label (RFC 1035 2.3.1, digits first allowed as RFC 1123 does). */
static bool is_label(struct slice s)
{
	if (!s.len || s.len > 63 || s.p[0] == '-' || s.p[s.len - 1] == '-')
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (!is_alnum(s.p[i]) && s.p[i] != '-')
			return false;
	}
	return true;
}

/* Splits the first label off *rest; the dot is consumed.  false when none is left. */
static bool label_next(struct slice *rest, struct slice *label)
{
	const char *dot;

	if (!rest->p)
		return false;
	dot = slice_chr(*rest, '.');
	if (!dot) {
		*label = *rest;
		*rest = SLICE_NULL;
		return true;
	}
	*label = (struct slice){rest->p, (size_t)(dot - rest->p)};
	*rest = (struct slice){dot + 1, (size_t)(slice_end(*rest) - dot - 1)};
	return true;
}

/* The labels of the reference that name no SIP edge (twilio-compat.md). */
static bool is_roaming(struct slice s)
{
	return slice_ieq_cstr(s, "roaming") || slice_ieq_cstr(s, "gll") ||
	       slice_ieq_cstr(s, "gll-ix");
}

/*
 * The longest configured base that is all of rest or ends it after a dot;
 * -1 when none does.  The longest, so that with bases "twilio.com" and
 * "eu.twilio.com" the edge label of x.sip.e.eu.twilio.com is "e".
 */
static int base_find(const struct routing *r, struct slice rest, bool *whole)
{
	int best = -1;
	size_t best_len = 0;

	for (size_t i = 0; i < r->nbase; i++) {
		struct slice b = slice_cstr(r->bases[i]);
		struct slice tail;

		if (b.len > rest.len || b.len <= best_len)
			continue;
		tail = (struct slice){rest.p + rest.len - b.len, b.len};
		if (!slice_ieq(tail, b))
			continue;
		if (b.len < rest.len && rest.p[rest.len - b.len - 1] != '.')
			continue;
		best = (int)i;
		best_len = b.len;
		*whole = b.len == rest.len;
	}
	return best;
}

static int fail(struct routing_target *out, enum routing_fail f, struct slice what, int rc)
{
	out->fail = f;
	out->what = what;
	return rc;
}

int routing_resolve_host(const struct routing *r, struct slice host, struct routing_target *out)
{
	struct slice rest, first, second, label, edge;
	bool whole = false;
	int base, idx;
	enum routing_form form;

	*out = (struct routing_target){.edge = -1, .base = -1};
	if (is_ip_literal(host)) {
		out->form = ROUTING_FORM_NONE;
		return 0;
	}
	if (host.len && host.p[host.len - 1] == '.')
		host.len--;
	if (!host.len)
		return fail(out, ROUTING_FAIL_NOT_SIP, host, -ENOENT);

	rest = host;
	label_next(&rest, &first);
	if (slice_ieq_cstr(first, "sip") || (!first.len && rest.p))
		return fail(out, ROUTING_FAIL_NO_DOMAIN, host, -EBADMSG);
	if (!label_next(&rest, &second))
		return fail(out, ROUTING_FAIL_NOT_SIP, host, -ENOENT);
	if (!slice_ieq_cstr(second, "sip")) {
		/* "sip" further on: the domain part has more than one label. */
		struct slice scan = rest, l;

		while (label_next(&scan, &l)) {
			if (slice_ieq_cstr(l, "sip")) {
				struct slice dom = {host.p, (size_t)(l.p - 1 - host.p)};

				return fail(out, ROUTING_FAIL_BAD_DOMAIN, dom, -EBADMSG);
			}
		}
		return fail(out, ROUTING_FAIL_NOT_SIP, host, -ENOENT);
	}

	/* {domain}.sip.REST: REST is {base} or {edge}.{base}. */
	base = rest.p ? base_find(r, rest, &whole) : -1;
	if (base < 0)
		return fail(out, ROUTING_FAIL_BASE, host, -ENOENT);
	out->base = base;
	if (whole) {
		out->form = ROUTING_FORM_GLOBAL;
	} else {
		edge = (struct slice){rest.p, rest.len - strlen(r->bases[base]) - 1};
		if (is_roaming(edge))
			return fail(out, ROUTING_FAIL_ROAMING, edge, -ENOENT);
		idx = routing_edge_find(r, edge, &form);
		if (idx < 0)
			return fail(out, ROUTING_FAIL_EDGE, edge, -ENOENT);
		out->edge = idx;
		out->form = form;
		out->label = edge;
	}
	label = first;
	if (!is_label(label))
		return fail(out, ROUTING_FAIL_BAD_DOMAIN, label, -EBADMSG);
	out->domain = label;
	return 0;
}

size_t routing_target_phrase(const struct routing_target *t, char *buf, size_t cap)
{
	static const char pre[] = "Not Found (";
	size_t n;

	if (cap < sizeof(pre) + 1) {
		if (cap)
			buf[0] = '\0';
		return 0;
	}
	memcpy(buf, pre, sizeof(pre) - 1);
	n = sizeof(pre) - 1;
	/* Leave room for the closing parenthesis. */
	n += routing_fail_format(t->fail, t->what, buf + n, cap - n - 1);
	buf[n++] = ')';
	buf[n] = '\0';
	return n;
}
