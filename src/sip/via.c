/* Via header values (RFC 3261 20.42, RFC 3581 rport). */
#include <string.h>

#include "sip_priv.h"

static const char *token_at(const char *p, const char *end, struct slice *tok)
{
	const char *e = skip_class(p, end, CC_TOKEN);

	*tok = (struct slice){p, (size_t)(e - p)};
	return e;
}

/* SLASH = SWS "/" SWS */
static const char *slash_at(const char *p, const char *end)
{
	p = skip_ws(p, end);
	if (p == end || *p != '/')
		return NULL;
	return skip_ws(p + 1, end);
}

struct via_ctx {
	struct sip_via *via;
	const char *base;
	struct sip_perr *err;
};

/* The parameters the edge acts on, checked as the scan meets them. */
static int via_param_h(void *arg, struct slice n, struct slice v)
{
	struct via_ctx *c = arg;
	struct sip_via *via = c->via;
	enum sip_host_type t;
	uint64_t num;

	if (slice_ieq(n, SLICE("branch"))) {
		if (v.len == 0 || skip_class(v.p, slice_end(v), CC_TOKEN) != slice_end(v))
			return sip_fail(c->err, c->base, v.p, "bad Via branch", 400);
		via->branch = v;
	} else if (slice_ieq(n, SLICE("received"))) {
		/* received is an IPv4 or IPv6 address (RFC 5118 4.5: brackets optional) */
		if (!sip_ip_literal(v, &t))
			return sip_fail(c->err, c->base, v.p, "bad Via received", 400);
		via->received = v;
	} else if (slice_ieq(n, SLICE("rport"))) {
		via->rport = true;
		if (v.len) {
			if (slice_to_u64(v, 65535, &num) || num == 0)
				return sip_fail(c->err, c->base, v.p, "bad Via rport", 400);
			via->rport_val = (uint16_t)num;
		}
	} else if (slice_ieq(n, SLICE("ttl"))) {
		if (slice_to_u64(v, 255, &num))
			return sip_fail(c->err, c->base, v.p, "bad Via ttl", 400);
		via->ttl = (int)num;
	} else if (slice_ieq(n, SLICE("maddr"))) {
		if (v.len == 0)
			return sip_fail(c->err, c->base, v.p, "bad Via maddr", 400);
		via->maddr = v;
	}
	return 0;
}

int sip_via_decode(struct sip_via *via, struct slice s, struct sip_perr *err)
{
	const char *p = s.p, *end = slice_end(s), *q;
	struct slice name, version;
	struct via_ctx ctx;
	bool has_port;
	int e;

	if (err)
		*err = (struct sip_perr){0};
	memset(via, 0, sizeof(*via));
	via->ttl = -1;
	p = skip_ws(p, end);
	q = token_at(p, end, &name);
	if (name.len == 0 || !(q = slash_at(q, end)))
		return sip_fail(err, s.p, q ? q : p, "bad Via protocol", 400);
	q = token_at(q, end, &version);
	if (version.len == 0)
		return sip_fail(err, s.p, q, "bad Via protocol version", 400);
	via->proto = (struct slice){name.p, (size_t)(version.p + version.len - name.p)};
	if (!(q = slash_at(q, end)))
		return sip_fail(err, s.p, p, "bad Via protocol", 400);
	q = token_at(q, end, &via->transport);
	if (via->transport.len == 0)
		return sip_fail(err, s.p, q, "missing Via transport", 400);
	p = skip_ws(q, end);
	if (p == q)
		return sip_fail(err, s.p, p, "missing space before Via sent-by", 400);
	if (sip_host_port_scan(&p, end, &via->host, &via->host_type, &via->port, &has_port))
		return sip_fail(err, s.p, p, "bad Via sent-by", 400);
	ctx = (struct via_ctx){via, s.p, err};
	e = sip_params_scan(&p, end, &via->params, via_param_h, &ctx);
	if (e)
		return e == -EBADMSG && err && err->what
		           ? e
		           : sip_fail(err, s.p, p, "bad Via parameter", 400);
	if (skip_ws(p, end) != end)
		return sip_fail(err, s.p, p, "unexpected text in Via", 400);
	return 0;
}

bool sip_via_branch_is_3261(const struct sip_via *via)
{
	/* The cookie alone carries no transaction id (RFC 4475 3.2.1). */
	return via->branch.len > 7 && memcmp(via->branch.p, "z9hG4bK", 7) == 0;
}
