/* Routing tables: built once from the topology, searched without allocating. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routing/routing_priv.h"

/* Values quoted in reasons are cut here: enough for any name, short for a log line. */
#define ROUTING_WHAT_MAX 64

static const struct {
	const char *reason; /* static phrase */
	const char *pre;    /* before the quoted value; NULL: the reason alone */
	const char *post;   /* after it */
} fails[] = {
    [ROUTING_OK] = {"ok", NULL, NULL},
    [ROUTING_FAIL_NOT_SIP] = {"not a SIP domain name", "not a SIP domain name '", "'"},
    [ROUTING_FAIL_BASE] = {"no configured base domain", "no configured base domain in '", "'"},
    [ROUTING_FAIL_EDGE] = {"unknown edge", "unknown edge '", "'"},
    [ROUTING_FAIL_ROAMING] = {"roaming is not valid for SIP domains", "edge '",
                              "' is roaming, not valid for SIP domains"},
    [ROUTING_FAIL_NO_DOMAIN] = {"missing domain label", "missing domain label in '", "'"},
    [ROUTING_FAIL_BAD_DOMAIN] = {"bad domain label", "bad domain label '", "'"},
    [ROUTING_FAIL_TNX] = {"unknown interconnect connection", "unknown interconnect connection '",
                          "'"},
    [ROUTING_FAIL_REGION] = {"unknown region", "unknown region '", "'"},
    [ROUTING_FAIL_REGION_EMPTY] = {"region has no edge", "region '", "' has no edge"},
    [ROUTING_FAIL_EMPTY_PARAM] = {"routing parameter without a value", "parameter '",
                                  "' has no value"},
    [ROUTING_FAIL_TRANSPORT] = {"unsupported transport", "unsupported transport '", "'"},
    [ROUTING_FAIL_SCHEME] = {"not a sip: or sips: URI", "not a sip: or sips: URI '", "'"},
    [ROUTING_FAIL_NO_EDGE] = {"no edge to send from", NULL, NULL},
    [ROUTING_FAIL_URI_SPACE] = {"Request-URI too long", NULL, NULL},
};

const char *routing_fail_reason(enum routing_fail f)
{
	if ((size_t)f >= ARRAY_SIZE(fails) || !fails[f].reason)
		return "unknown routing failure";
	return fails[f].reason;
}

/* Appends s to buf at *n, keeping room for the NUL. */
static void put(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
	for (size_t i = 0; i < len && *n + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[(*n)++] = c < 0x20 || c > 0x7e ? '?' : (char)c;
	}
}

size_t routing_fail_format(enum routing_fail f, struct slice what, char *buf, size_t cap)
{
	size_t n = 0;

	if (!cap)
		return 0;
	if ((size_t)f >= ARRAY_SIZE(fails) || !fails[f].reason) {
		put(buf, cap, &n, "unknown routing failure", 23);
	} else if (!fails[f].pre) {
		put(buf, cap, &n, fails[f].reason, strlen(fails[f].reason));
	} else {
		put(buf, cap, &n, fails[f].pre, strlen(fails[f].pre));
		if (what.len > ROUTING_WHAT_MAX) {
			put(buf, cap, &n, what.p, ROUTING_WHAT_MAX);
			put(buf, cap, &n, "...", 3);
		} else if (what.len) {
			put(buf, cap, &n, what.p, what.len);
		}
		put(buf, cap, &n, fails[f].post, strlen(fails[f].post));
	}
	buf[n] = '\0';
	return n;
}

const char *routing_form_name(enum routing_form f)
{
	static const char *const names[] = {
	    [ROUTING_FORM_NONE] = "none",
	    [ROUTING_FORM_GLOBAL] = "global",
	    [ROUTING_FORM_EDGE] = "edge",
	    [ROUTING_FORM_LEGACY] = "legacy",
	    [ROUTING_FORM_LEGACY_SHORT] = "legacy-short",
	};

	return (size_t)f < ARRAY_SIZE(names) ? names[f] : "?";
}

const char *routing_proto_name(enum routing_proto p)
{
	static const char *const names[] = {"udp", "tcp", "tls"};

	return (size_t)p < ARRAY_SIZE(names) ? names[p] : "?";
}

const char *routing_source_name(enum routing_source s)
{
	static const char *const names[] = {
	    [ROUTING_BY_EDGE] = "edge=",           [ROUTING_BY_TNX] = "tnx=",
	    [ROUTING_BY_REGION] = "region=",       [ROUTING_BY_INBOUND] = "inbound edge",
	    [ROUTING_BY_DEFAULT] = "default edge",
	};

	return (size_t)s < ARRAY_SIZE(names) ? names[s] : "?";
}

static int lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* ASCII case-insensitive order; a prefix sorts first. */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		int d = lower((unsigned char)a[i]) - lower((unsigned char)b[i]);

		if (d)
			return d;
	}
	return alen < blen ? -1 : alen > blen;
}

/* Equal names group together, best form (edge < legacy < short) first. */
static int entry_cmp(const void *pa, const void *pb)
{
	const struct routing_name *a = pa, *b = pb;
	int d = name_cmp(a->s, a->len, b->s, b->len);

	if (d)
		return d;
	return (int)a->form - (int)b->form;
}

const struct routing_name *routing_name_find(const struct routing_name *tab, size_t n,
                                             struct slice key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = name_cmp(key.p, key.len, tab[mid].s, tab[mid].len);

		if (d == 0)
			return &tab[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * Sorts tab and drops the weaker duplicates: a short legacy form loses to an
 * exact name or code.  Two entries of the same strength for different
 * targets are ambiguous: -EINVAL.
 */
static int names_finish(struct routing_name *tab, size_t *n)
{
	size_t out = 0;

	qsort(tab, *n, sizeof(*tab), entry_cmp);
	for (size_t i = 0; i < *n; i++) {
		const struct routing_name *prev = out ? &tab[out - 1] : NULL;

		if (prev && name_cmp(prev->s, prev->len, tab[i].s, tab[i].len) == 0) {
			bool weaker = tab[i].form == ROUTING_FORM_LEGACY_SHORT &&
			              prev->form != ROUTING_FORM_LEGACY_SHORT;

			if (prev->idx != tab[i].idx && !weaker)
				return -EINVAL;
			continue;
		}
		tab[out++] = tab[i];
	}
	*n = out;
	return 0;
}

static void routing_destroy(void *obj)
{
	struct routing *r = obj;

	free(r->names);
	free(r->rnames);
	free(r->sids);
	free(r->redges);
	free(r->roff);
}

static bool has_ix_suffix(const char *s, size_t len)
{
	return len > 3 && name_cmp(s + len - 3, 3, "-ix", 3) == 0;
}

static int build_names(struct routing *r)
{
	size_t cap = 0, n = 0;

	for (size_t i = 0; i < r->nedges; i++)
		cap += 1 + 2 * r->edges[i].nlegacy;
	r->names = calloc(cap ? cap : 1, sizeof(*r->names));
	if (!r->names)
		return -ENOMEM;
	for (size_t i = 0; i < r->nedges; i++) {
		const struct config_edge *e = &r->edges[i];

		r->names[n++] =
		    (struct routing_name){e->name, strlen(e->name), (int)i, ROUTING_FORM_EDGE};
		for (size_t j = 0; j < e->nlegacy; j++) {
			const char *code = e->legacy[j];
			size_t len;

			if (!code)
				return -EINVAL;
			len = strlen(code);
			r->names[n++] =
			    (struct routing_name){code, len, (int)i, ROUTING_FORM_LEGACY};
			if (has_ix_suffix(code, len))
				r->names[n++] = (struct routing_name){code, len - 3, (int)i,
				                                      ROUTING_FORM_LEGACY_SHORT};
		}
	}
	r->nnames = n;
	return names_finish(r->names, &r->nnames);
}

static int build_regions(struct routing *r)
{
	size_t k = 0;

	r->rnames = calloc(r->nregions ? r->nregions : 1, sizeof(*r->rnames));
	r->roff = calloc(r->nregions + 1, sizeof(*r->roff));
	r->redges = calloc(r->nedges ? r->nedges : 1, sizeof(*r->redges));
	if (!r->rnames || !r->roff || !r->redges)
		return -ENOMEM;
	for (size_t i = 0; i < r->nregions; i++) {
		const struct config_region *g = &r->regions[i];

		if (!g->name)
			return -EINVAL;
		for (size_t j = 0; j < g->nfailover; j++) {
			if (g->failover[j] >= r->nregions)
				return -EINVAL;
		}
		r->rnames[i] = (struct routing_name){g->name, strlen(g->name), (int)i, 0};
		/* Edges grouped by region, in config order within a region. */
		r->roff[i] = k;
		for (size_t e = 0; e < r->nedges; e++) {
			if (r->edges[e].region == i)
				r->redges[k++] = e;
		}
	}
	r->roff[r->nregions] = k;
	r->nrnames = r->nregions;
	return names_finish(r->rnames, &r->nrnames);
}

static int build_sids(struct routing *r)
{
	r->sids = calloc(r->nconns ? r->nconns : 1, sizeof(*r->sids));
	if (!r->sids)
		return -ENOMEM;
	for (size_t i = 0; i < r->nconns; i++) {
		const struct config_connection *c = &r->conns[i];

		if (c->edge >= r->nedges)
			return -EINVAL;
		r->sids[i] =
		    (struct routing_name){c->sid, strnlen(c->sid, sizeof(c->sid)), (int)c->edge, 0};
	}
	r->nsids = r->nconns;
	return names_finish(r->sids, &r->nsids);
}

int routing_build(struct routing **rp, const struct config_edge *edges, size_t nedges,
                  const struct config_region *regions, size_t nregions,
                  const struct config_connection *conns, size_t nconns, char *const *base_domains,
                  size_t nbase)
{
	struct routing *r;
	int rc;

	if (!rp || (nedges && !edges) || (nregions && !regions) || (nconns && !conns) ||
	    (nbase && !base_domains) || nedges > INT32_MAX || nregions > INT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i < nedges; i++) {
		if (!edges[i].name || edges[i].region >= nregions ||
		    (edges[i].ngateways && !edges[i].gateways) ||
		    (edges[i].nlegacy && !edges[i].legacy))
			return -EINVAL;
	}
	for (size_t i = 0; i < nbase; i++) {
		if (!base_domains[i] || !base_domains[i][0])
			return -EINVAL;
	}
	r = mem_alloc(sizeof(*r), routing_destroy);
	if (!r)
		return -ENOMEM;
	*r = (struct routing){edges, nedges, regions, nregions, conns, nconns, base_domains, nbase};
	rc = build_names(r);
	if (!rc)
		rc = build_regions(r);
	if (!rc)
		rc = build_sids(r);
	if (rc) {
		mem_deref(r);
		return rc;
	}
	*rp = r;
	return 0;
}

size_t routing_edge_count(const struct routing *r)
{
	return r->nedges;
}

const struct config_edge *routing_edge(const struct routing *r, int edge)
{
	return edge >= 0 && (size_t)edge < r->nedges ? &r->edges[edge] : NULL;
}

int routing_edge_find(const struct routing *r, struct slice name, enum routing_form *form)
{
	const struct routing_name *n = routing_name_find(r->names, r->nnames, name);

	if (!n)
		return -ENOENT;
	if (form)
		*form = n->form;
	return n->idx;
}

int routing_region_find(const struct routing *r, struct slice name)
{
	const struct routing_name *n = routing_name_find(r->rnames, r->nrnames, name);

	return n ? n->idx : -ENOENT;
}

int routing_connection_edge(const struct routing *r, struct slice sid)
{
	const struct routing_name *n = routing_name_find(r->sids, r->nsids, sid);

	if (n)
		return n->idx;
	return r->conn_h ? r->conn_h(r->conn_arg, sid) : -ENOENT;
}

void routing_set_connection_lookup(struct routing *r, routing_conn_h *h, void *arg)
{
	r->conn_h = h;
	r->conn_arg = arg;
}
