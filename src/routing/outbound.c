/* Outbound: the edge and transport a leg to a SIP URI uses, and the Request-URI it sends. */
#include <errno.h>
#include <string.h>

#include "routing/routing_priv.h"

/* Decoded parameter values longer than this cannot be a name or a SID. */
#define VALUE_MAX 80

enum param_kind { P_OTHER = 0, P_EDGE, P_TNX, P_REGION, P_TRANSPORT, P_SECURE };

static enum param_kind param_kind(struct slice name)
{
	static const struct {
		const char *name;
		enum param_kind kind;
	} known[] = {
	    {"edge", P_EDGE},           {"tnx", P_TNX},       {"region", P_REGION},
	    {"transport", P_TRANSPORT}, {"secure", P_SECURE},
	};

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		if (slice_ieq_cstr(name, known[i].name))
			return known[i].kind;
	}
	return P_OTHER;
}

static bool is_routing_param(enum param_kind k)
{
	return k == P_EDGE || k == P_TNX || k == P_REGION;
}

/* %-decodes v into buf; false for a bad escape or a value too long to be a name. */
static bool value_decode(struct slice v, char *buf, size_t cap, struct slice *out)
{
	int n = sip_unescape(v, buf, cap);

	if (n < 0)
		return false;
	*out = (struct slice){buf, (size_t)n};
	return true;
}

int routing_uri_strip(const struct sip_uri *uri, char *out, size_t cap)
{
	const char *end = slice_end(uri->raw);
	struct slice rest = uri->params, name, val;
	size_t n;

	/* Everything before the parameters (or headers) is kept as written. */
	if (uri->params.p)
		end = uri->params.p - 1;
	else if (uri->headers.p)
		end = uri->headers.p - 1;
	n = (size_t)(end - uri->raw.p);
	if (n >= cap)
		return -E2BIG;
	memcpy(out, uri->raw.p, n);
	while (rest.p && sip_param_next(&rest, &name, &val) == 0) {
		/* The parameter as written: up to the next ';' (rest starts there). */
		struct slice whole = slice_trim((struct slice){name.p, (size_t)(rest.p - name.p)});

		if (is_routing_param(param_kind(name)))
			continue;
		if (n + 1 + whole.len >= cap)
			return -E2BIG;
		out[n++] = ';';
		memcpy(out + n, whole.p, whole.len);
		n += whole.len;
	}
	out[n] = '\0';
	return (int)n;
}

static int choice_fail(struct routing_choice *out, enum routing_fail f, struct slice what, int rc)
{
	out->fail = f;
	out->what = what;
	out->edge = -1;
	return rc;
}

/* region=: a region name (its first edge), or a legacy code (that edge, in its region). */
static int region_edge(const struct routing *r, struct slice v, enum routing_fail *f)
{
	enum routing_form form;
	int idx = routing_region_find(r, v);

	if (idx >= 0) {
		if (r->roff[idx] == r->roff[idx + 1]) {
			*f = ROUTING_FAIL_REGION_EMPTY;
			return -ENOENT;
		}
		return (int)r->redges[r->roff[idx]];
	}
	idx = routing_edge_find(r, v, &form);
	if (idx >= 0 && form != ROUTING_FORM_EDGE)
		return idx;
	*f = ROUTING_FAIL_REGION;
	return -ENOENT;
}

/* One edge=, tnx= or region= value: the edge it names, or a failure. */
static int param_edge(const struct routing *r, enum param_kind k, struct slice raw,
                      enum routing_fail *f)
{
	char buf[VALUE_MAX];
	struct slice v;
	int idx = -ENOENT;

	*f = k == P_EDGE ? ROUTING_FAIL_EDGE : k == P_TNX ? ROUTING_FAIL_TNX : ROUTING_FAIL_REGION;
	if (!value_decode(raw, buf, sizeof(buf), &v))
		return -ENOENT;
	if (k == P_EDGE)
		idx = routing_edge_find(r, v, NULL);
	else if (k == P_TNX)
		idx = routing_connection_edge(r, v);
	else
		idx = region_edge(r, v, f);
	return idx;
}

int routing_outbound(const struct routing *r, const struct sip_uri *uri, int inbound_edge,
                     int default_edge, struct routing_choice *out)
{
	int by[3] = {-1, -1, -1}; /* edge=, tnx=, region= */
	struct slice rest = uri->params, name, val;
	enum routing_fail f;
	int rc;

	out->ruri_len = 0;
	out->fail = ROUTING_OK;
	out->what = SLICE_NULL;
	out->proto = ROUTING_PROTO_UDP;
	if (uri->scheme != SIP_SCHEME_SIP && uri->scheme != SIP_SCHEME_SIPS)
		return choice_fail(out, ROUTING_FAIL_SCHEME, uri->raw, -EINVAL);

	while (rest.p && sip_param_next(&rest, &name, &val) == 0) {
		enum param_kind k = param_kind(name);
		char buf[VALUE_MAX];
		struct slice v;
		int idx;

		switch (k) {
		case P_EDGE:
		case P_TNX:
		case P_REGION:
			if (!val.len)
				return choice_fail(out, ROUTING_FAIL_EMPTY_PARAM, name, -EINVAL);
			idx = param_edge(r, k, val, &f);
			if (idx < 0)
				return choice_fail(out, f, val, -ENOENT);
			/* The first occurrence decides; later ones are still checked. */
			if (by[k - P_EDGE] < 0)
				by[k - P_EDGE] = idx;
			break;
		case P_TRANSPORT:
			if (!value_decode(val, buf, sizeof(buf), &v))
				v = val;
			if (slice_ieq_cstr(v, "udp"))
				out->proto = ROUTING_PROTO_UDP;
			else if (slice_ieq_cstr(v, "tcp"))
				out->proto = ROUTING_PROTO_TCP;
			else if (slice_ieq_cstr(v, "tls"))
				out->proto = ROUTING_PROTO_TLS;
			else
				return choice_fail(out, ROUTING_FAIL_TRANSPORT, val, -EINVAL);
			break;
		case P_SECURE:
		case P_OTHER:
			break;
		}
	}
	/* sips: and secure=true mean TLS whatever transport= says. */
	if (uri->scheme == SIP_SCHEME_SIPS ||
	    (sip_param_get(uri->params, "secure", &val) == 0 && slice_ieq_cstr(val, "true")))
		out->proto = ROUTING_PROTO_TLS;

	if (by[0] >= 0) {
		out->edge = by[0];
		out->source = ROUTING_BY_EDGE;
	} else if (by[1] >= 0) {
		out->edge = by[1];
		out->source = ROUTING_BY_TNX;
	} else if (by[2] >= 0) {
		out->edge = by[2];
		out->source = ROUTING_BY_REGION;
	} else if (inbound_edge >= 0 && (size_t)inbound_edge < r->nedges) {
		out->edge = inbound_edge;
		out->source = ROUTING_BY_INBOUND;
	} else if (default_edge >= 0 && (size_t)default_edge < r->nedges) {
		out->edge = default_edge;
		out->source = ROUTING_BY_DEFAULT;
	} else {
		return choice_fail(out, ROUTING_FAIL_NO_EDGE, SLICE_NULL, -ENOENT);
	}

	if (out->ruri) {
		rc = routing_uri_strip(uri, out->ruri, out->ruri_cap);
		if (rc < 0)
			return choice_fail(out, ROUTING_FAIL_URI_SPACE, uri->raw, rc);
		out->ruri_len = (size_t)rc;
	}
	return 0;
}
