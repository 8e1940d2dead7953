/* Config sections for call handling: sip.timers, calls, routes, routing and probes. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/config_val.h"
#include "app/config_walk.h"

int config_sip_timers(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"t1", "t2", "t4"};
	yaml_node_t *v[ARRAY_SIZE(keys)];
	struct config *cfg = c->cfg;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0, v);

	rc = rc ? rc : config_walk_u32_key(c, v[0], keys[0], 10, 10000, &cfg->t1_ms);
	rc = rc ? rc : config_walk_u32_key(c, v[1], keys[1], 10, 60000, &cfg->t2_ms);
	rc = rc ? rc : config_walk_u32_key(c, v[2], keys[2], 10, 60000, &cfg->t4_ms);
	if (!rc && cfg->t2_ms < cfg->t1_ms)
		rc = config_walk_fail(c, n, "t2 (%u ms) must not be below t1 (%u ms)", cfg->t2_ms,
		                      cfg->t1_ms);
	return rc;
}

int config_calls(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"ring_timeout", "max_duration", "session_expires",
	                                   "min_se",       "account_sid",  "x_headers"};
	yaml_node_t *v[ARRAY_SIZE(keys)];
	struct config_calls *cc = &c->cfg->calls;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0, v);

	rc = rc ? rc : config_walk_u32_key(c, v[0], keys[0], 1, 600, &cc->ring_timeout_s);
	rc = rc ? rc : config_walk_u32_key(c, v[1], keys[1], 0, 7 * 86400, &cc->max_duration_s);
	rc = rc ? rc : config_walk_u32_key(c, v[2], keys[2], 0, 86400, &cc->session_expires_s);
	rc = rc ? rc : config_walk_u32_key(c, v[3], keys[3], 90, 86400, &cc->min_se_s);
	if (!rc && v[4]) {
		size_t old = config_walk_key(c, keys[4]);
		const char *s;

		rc = config_walk_str(c, v[4], &s);
		if (!rc && !config_val_is_sid(s, "AC"))
			rc = config_walk_fail(c, v[4], "expected AC + 32 lowercase hex digits");
		if (!rc)
			memcpy(cc->account_sid, s, sizeof(cc->account_sid));
		config_walk_pop(c, old);
	}
	if (!rc && v[5]) {
		size_t old = config_walk_key(c, keys[5]), count = 0;

		rc = config_walk_seq(c, v[5], 0, CONFIG_MAX_X_HEADERS, &count);
		cc->x_headers = rc ? NULL : config_walk_array(count + 1, sizeof(char *));
		if (!rc && !cc->x_headers)
			rc = config_walk_fail(c, v[5], "out of memory");
		for (size_t i = 0; i < count && !rc; i++) {
			yaml_node_t *it = config_walk_item(c, v[5], i);
			size_t o2 = config_walk_index(c, i);
			const char *s;

			rc = config_walk_str(c, it, &s);
			if (!rc && (strncasecmp(s, "X-", 2) != 0 || strlen(s) > 64))
				rc =
				    config_walk_fail(c, it, "'%s' is not an X- header name pattern",
				                     config_walk_show(c, s));
			if (!rc)
				rc = config_walk_dup(c, it, s, &cc->x_headers[i]);
			config_walk_pop(c, o2);
		}
		config_walk_pop(c, old);
	}
	if (!rc && cc->session_expires_s && cc->session_expires_s < cc->min_se_s)
		rc = config_walk_fail(c, n, "session_expires (%u) must not be below min_se (%u)",
		                      cc->session_expires_s, cc->min_se_s);
	return rc;
}

/* A target template must become a sip:/sips: URI once {user} is filled in. */
static bool target_valid(const char *tpl)
{
	char uri[600];
	struct sip_uri u;

	if (config_route_expand(tpl, "user", uri, sizeof(uri)))
		return false;
	return sip_uri_decode(&u, slice_cstr(uri), NULL) == 0 &&
	       (u.scheme == SIP_SCHEME_SIP || u.scheme == SIP_SCHEME_SIPS) &&
	       (u.host_type == SIP_HOST_IPV4 || u.host_type == SIP_HOST_IPV6);
}

int config_routes(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"match", "target", "domain"};
	struct config *cfg = c->cfg;
	size_t count;
	int rc = config_walk_seq(c, n, 0, CONFIG_MAX_ROUTES, &count);

	if (rc || !count)
		return rc;
	cfg->routes = config_walk_array(count, sizeof(*cfg->routes));
	if (!cfg->routes)
		return config_walk_fail(c, n, "out of memory");
	for (size_t i = 0; i < count && !rc; i++) {
		yaml_node_t *it = config_walk_item(c, n, i), *v[3];
		size_t old = config_walk_index(c, i), o2;
		const char *s;

		cfg->nroutes = i + 1; /* counted before filling so a partial entry is freed */
		rc = config_walk_map(c, it, keys, 3, 0x3, v);
		if (!rc) {
			o2 = config_walk_key(c, "match");
			rc = config_walk_str(c, v[0], &s);
			rc = rc ? rc : config_walk_dup(c, v[0], s, &cfg->routes[i].match);
			config_walk_pop(c, o2);
		}
		if (!rc) {
			o2 = config_walk_key(c, "target");
			rc = config_walk_str(c, v[1], &s);
			if (!rc && !target_valid(s))
				rc =
				    config_walk_fail(c, v[1],
				                     "'%s' is not a sip: URI with a numeric host "
				                     "({user} is replaced by the Request-URI user)",
				                     config_walk_show(c, s));
			rc = rc ? rc : config_walk_dup(c, v[1], s, &cfg->routes[i].target);
			config_walk_pop(c, o2);
		}
		if (!rc) {
			o2 = config_walk_key(c, "domain");
			rc = v[2] ? config_walk_str(c, v[2], &s) : (s = "*", 0);
			rc = rc ? rc
			        : config_walk_dup(c, v[2] ? v[2] : it, s, &cfg->routes[i].domain);
			config_walk_pop(c, o2);
		}
		config_walk_pop(c, old);
	}
	return rc;
}

/* An edge named by name or legacy code (long or short: us1-ix, us1). */
static bool edge_known(const struct config *cfg, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < cfg->nedges; i++) {
		const struct config_edge *e = &cfg->edges[i];

		if (strcasecmp(e->name, name) == 0)
			return true;
		for (size_t j = 0; j < e->nlegacy; j++) {
			size_t l = strlen(e->legacy[j]);

			if (strcasecmp(e->legacy[j], name) == 0 ||
			    (l == n + 3 && strncasecmp(e->legacy[j], name, n) == 0 &&
			     strcasecmp(e->legacy[j] + n, "-ix") == 0))
				return true;
		}
	}
	return false;
}

int config_routing(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"default_edge", "edge_mismatch", "failover_timeout"};
	yaml_node_t *v[ARRAY_SIZE(keys)];
	struct config_routing *r = &c->cfg->routing;
	uint32_t secs = r->failover_timeout_ms / 1000;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0, v);

	if (!rc && v[0]) {
		size_t old = config_walk_key(c, keys[0]);
		const char *s;

		rc = config_walk_str(c, v[0], &s);
		if (!rc && !edge_known(c->cfg, s))
			rc = config_walk_fail(c, v[0], "'%s' is not a configured edge",
			                      config_walk_show(c, s));
		if (!rc)
			rc = config_walk_dup(c, v[0], s, &r->default_edge);
		config_walk_pop(c, old);
	}
	rc = rc ? rc
	        : config_walk_either_key(c, v[1], keys[1], "accept", "reject", "reject",
	                                 &r->reject_edge_mismatch);
	rc = rc ? rc : config_walk_u32_key(c, v[2], keys[2], 1, 60, &secs);
	r->failover_timeout_ms = secs * 1000;
	return rc;
}

int config_probes(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"target", "interval", "fail_threshold",
	                                   "recover_threshold"};
	struct config *cfg = c->cfg;
	size_t count;
	int rc = config_walk_seq(c, n, 0, CONFIG_MAX_PROBES, &count);

	if (rc || !count)
		return rc;
	cfg->probes = config_walk_array(count, sizeof(*cfg->probes));
	if (!cfg->probes)
		return config_walk_fail(c, n, "out of memory");
	for (size_t i = 0; i < count && !rc; i++) {
		yaml_node_t *it = config_walk_item(c, n, i), *v[ARRAY_SIZE(keys)];
		struct config_probe *p = &cfg->probes[i];
		size_t old = config_walk_index(c, i);
		uint32_t interval = 30;

		cfg->nprobes = i + 1; /* counted before filling so a partial entry is freed */
		p->fail_threshold = 3;
		p->recover_threshold = 2;
		rc = config_walk_map(c, it, keys, ARRAY_SIZE(keys), 0x1, v);
		if (!rc) {
			size_t o2 = config_walk_key(c, "target");
			const char *s;

			rc = config_walk_str(c, v[0], &s);
			if (!rc && !target_valid(s))
				rc = config_walk_fail(c, v[0],
				                      "'%s' is not a sip: URI with a numeric host",
				                      config_walk_show(c, s));
			rc = rc ? rc : config_walk_dup(c, v[0], s, &p->target);
			config_walk_pop(c, o2);
		}
		rc = rc ? rc : config_walk_u32_key(c, v[1], keys[1], 1, 3600, &interval);
		rc = rc ? rc : config_walk_u32_key(c, v[2], keys[2], 1, 100, &p->fail_threshold);
		rc = rc ? rc : config_walk_u32_key(c, v[3], keys[3], 1, 100, &p->recover_threshold);
		p->interval_ms = interval * 1000;
		config_walk_pop(c, old);
	}
	return rc;
}

int config_route_expand(const char *tpl, const char *user, char *out, size_t len)
{
	size_t n = 0, ul = strlen(user);

	for (const char *p = tpl; *p; p++) {
		if (strncmp(p, "{user}", 6) == 0) {
			if (n + ul >= len)
				return -E2BIG;
			memcpy(out + n, user, ul);
			n += ul;
			p += 5;
		} else {
			if (n + 1 >= len)
				return -E2BIG;
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return 0;
}

const struct config_route *config_route_find(const struct config *cfg, const char *domain,
                                             const char *user, const struct config_route *after)
{
	for (size_t i = after ? (size_t)(after - cfg->routes) + 1 : 0; i < cfg->nroutes; i++) {
		if (fnmatch(cfg->routes[i].domain, domain, FNM_CASEFOLD) == 0 &&
		    fnmatch(cfg->routes[i].match, user, 0) == 0)
			return &cfg->routes[i];
	}
	return NULL;
}
