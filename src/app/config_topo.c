/* Config topology sections: regions, edges with gateways and media pools, connections. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app/config_val.h"
#include "app/config_walk.h"

static long region_find(const struct config *cfg, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (cfg->regions[i].name && strcmp(cfg->regions[i].name, name) == 0)
			return (long)i;
	}
	return -1;
}

/* Two passes: every name first, so failover may point forward. */
int config_topo_regions(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"name", "failover"};
	struct config *cfg = c->cfg;
	size_t count;
	int rc = config_walk_seq(c, n, 1, CONFIG_MAX_REGIONS, &count);

	if (rc)
		return rc;
	cfg->regions = config_walk_array(count, sizeof(*cfg->regions));
	if (!cfg->regions)
		return config_walk_fail(c, n, "out of memory");
	cfg->nregions = count;
	for (int pass = 0; pass < 2 && !rc; pass++) {
		for (size_t i = 0; i < count && !rc; i++) {
			struct config_region *r = &cfg->regions[i];
			size_t old = config_walk_index(c, i), old2, nf = 0;
			yaml_node_t *v[ARRAY_SIZE(keys)];
			const char *s;
			long at;

			rc = config_walk_map(c, config_walk_item(c, n, i), keys, ARRAY_SIZE(keys),
			                     0x1, v);
			if (!rc && pass == 0) {
				old2 = config_walk_key(c, "name");
				rc = config_walk_label(c, v[0], &s);
				at = rc ? -1 : region_find(cfg, i, s);
				if (at >= 0)
					rc = config_walk_fail(
					    c, v[0],
					    "region '%s' is already defined by regions[%ld]", s,
					    at);
				if (!rc)
					rc = config_walk_dup(c, v[0], s, &r->name);
				config_walk_pop(c, old2);
			}
			if (!rc && pass == 1 && v[1]) {
				old2 = config_walk_key(c, "failover");
				rc = config_walk_seq(c, v[1], 0, CONFIG_MAX_FAILOVER, &nf);
				r->failover = rc ? NULL : config_walk_array(nf, sizeof(size_t));
				if (!rc && !r->failover)
					rc = config_walk_fail(c, v[1], "out of memory");
				for (size_t j = 0; j < nf && !rc; j++) {
					yaml_node_t *it = config_walk_item(c, v[1], j);
					size_t old3 = config_walk_index(c, j);

					rc = config_walk_label(c, it, &s);
					at = rc ? -1 : region_find(cfg, count, s);
					if (!rc && at < 0)
						rc = config_walk_fail(c, it, "unknown region '%s'",
						                      s);
					else if (!rc && (size_t)at == i)
						rc = config_walk_fail(
						    c, it, "a region cannot fail over to itself");
					for (size_t k = 0; !rc && k < j; k++) {
						if (r->failover[k] == (size_t)at)
							rc = config_walk_fail(
							    c, it, "region '%s' is listed twice",
							    s);
					}
					if (!rc)
						r->failover[r->nfailover++] = (size_t)at;
					config_walk_pop(c, old3);
				}
				config_walk_pop(c, old2);
			}
			config_walk_pop(c, old);
		}
	}
	return rc;
}

/* Which earlier edge (or this one) already uses name as its name or a legacy code. */
static const struct config_edge *edge_using(const struct config *cfg, size_t nedges,
                                            const char *name)
{
	for (size_t i = 0; i < nedges; i++) {
		const struct config_edge *e = &cfg->edges[i];

		if (e->name && strcmp(e->name, name) == 0)
			return e;
		for (size_t j = 0; j < e->nlegacy; j++) {
			if (strcmp(e->legacy[j], name) == 0)
				return e;
		}
	}
	return NULL;
}

/* UDP ports clash with UDP ports; TCP and TLS share the TCP port space. */
static bool gateway_uses(const struct config_gateway *gw, bool stream, uint16_t port)
{
	return stream ? gw->tcp == port || gw->tls == port : gw->udp == port;
}

/* Two gateways on one ip:port could never both bind; edges[idx] is half parsed. */
static int check_listener(struct config_walk *c, yaml_node_t *n, const struct config_gateway *gw,
                          const char *proto, uint16_t port, size_t idx)
{
	bool stream = strcmp(proto, "udp") != 0;

	for (size_t i = 0; i <= idx; i++) {
		const struct config_edge *e = &c->cfg->edges[i];

		for (size_t j = 0; j < e->ngateways; j++) {
			const struct config_gateway *o = &e->gateways[j];

			if (o != gw && strcmp(o->ip.text, gw->ip.text) == 0 &&
			    gateway_uses(o, stream, port))
				return config_walk_fail(c, n,
				                        "%s %s:%u is already used by edge '%s'",
				                        proto, gw->ip.text, port, e->name);
		}
	}
	return 0;
}

static int parse_gateway(struct config_walk *c, yaml_node_t *n, struct config_gateway *gw,
                         size_t edge)
{
	static const char *const keys[] = {"address", "udp", "tcp", "tls"};
	yaml_node_t *v[ARRAY_SIZE(keys)];
	const char *s;
	size_t old;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0x1, v);

	if (rc)
		return rc;
	gw->udp = 5060;
	gw->tcp = 5060;
	gw->tls = 5061;
	old = config_walk_key(c, "address");
	rc = config_walk_str(c, v[0], &s);
	if (!rc && config_val_ip(s, &gw->ip))
		rc = config_walk_fail(c, v[0], "'%s' is not an IPv4 or IPv6 address",
		                      config_walk_show(c, s));
	if (!rc && !config_val_is_unicast(&gw->ip))
		rc = config_walk_fail(c, v[0], "%s is not a unicast address", gw->ip.text);
	config_walk_pop(c, old);
	for (size_t i = 1; i < 4 && !rc; i++) {
		uint16_t *port = i == 1 ? &gw->udp : i == 2 ? &gw->tcp : &gw->tls;

		if (!v[i])
			continue;
		old = config_walk_key(c, keys[i]);
		rc = config_walk_port(c, v[i], port);
		config_walk_pop(c, old);
	}
	if (!rc && gw->tcp == gw->tls)
		rc = config_walk_fail(c,
		                      v[3]   ? v[3]
		                      : v[2] ? v[2]
		                             : n,
		                      "tcp and tls cannot share port %u", gw->tcp);
	if (!rc)
		rc = check_listener(c, n, gw, "udp", gw->udp, edge);
	if (!rc)
		rc = check_listener(c, n, gw, "tcp", gw->tcp, edge);
	if (!rc)
		rc = check_listener(c, n, gw, "tls", gw->tls, edge);
	return rc;
}

static int parse_media(struct config_walk *c, yaml_node_t *n, struct config_media *m)
{
	static const char *const keys[] = {"addresses", "ports"};
	yaml_node_t *v[ARRAY_SIZE(keys)];
	const char *s;
	size_t old, count = 1;
	bool single;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0x1, v);

	if (rc)
		return rc;
	m->port_min = 10000;
	m->port_max = 60000;
	old = config_walk_key(c, "addresses");
	single = v[0]->type == YAML_SCALAR_NODE && !config_walk_is_null(v[0]);
	if (!single)
		rc = config_walk_seq(c, v[0], 1, CONFIG_MAX_MEDIA_ADDRS, &count);
	m->addrs = rc ? NULL : config_walk_array(count, sizeof(*m->addrs));
	if (!rc && !m->addrs)
		rc = config_walk_fail(c, v[0], "out of memory");
	for (size_t i = 0; i < count && !rc; i++) {
		yaml_node_t *it = single ? v[0] : config_walk_item(c, v[0], i);
		size_t old2 = single ? c->plen : config_walk_index(c, i);
		char net[INET6_ADDRSTRLEN + 8];

		rc = config_walk_str(c, it, &s);
		if (!rc) {
			rc = config_val_prefix(s, &m->addrs[i], net, sizeof(net));
			if (rc == -EBADMSG)
				rc = config_walk_fail(c, it,
				                      "'%s' has host bits set (the network is %s)",
				                      config_walk_show(c, s), net);
			else if (rc)
				rc = config_walk_fail(c, it,
				                      "'%s' is not an IP address or CIDR prefix",
				                      config_walk_show(c, s));
		}
		if (!rc)
			m->naddrs = i + 1;
		config_walk_pop(c, old2);
	}
	config_walk_pop(c, old);
	if (rc || !v[1])
		return rc;
	old = config_walk_key(c, "ports");
	rc = config_walk_str(c, v[1], &s);
	if (!rc && config_val_port_range(s, &m->port_min, &m->port_max))
		rc = config_walk_fail(c, v[1],
		                      "port range must be LOW-HIGH within 1024-65535, LOW <= HIGH");
	config_walk_pop(c, old);
	return rc;
}

static int parse_edge(struct config_walk *c, yaml_node_t *n, size_t idx)
{
	static const char *const keys[] = {"name", "legacy", "kind", "region", "gateways", "media"};
	struct config *cfg = c->cfg;
	struct config_edge *e = &cfg->edges[idx];
	const struct config_edge *other;
	yaml_node_t *v[ARRAY_SIZE(keys)];
	size_t old, count;
	const char *s;
	long at;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0x1 | 0x8 | 0x10 | 0x20, v);

	if (rc)
		return rc;
	old = config_walk_key(c, "name");
	rc = config_walk_label(c, v[0], &s);
	other = rc ? NULL : edge_using(cfg, idx, s);
	if (other)
		rc = config_walk_fail(c, v[0],
		                      "'%s' is already the name or a legacy code of edge '%s'", s,
		                      other->name);
	if (!rc)
		rc = config_walk_dup(c, v[0], s, &e->name);
	config_walk_pop(c, old);
	if (!rc && v[1]) {
		old = config_walk_key(c, "legacy");
		rc = config_walk_seq(c, v[1], 0, CONFIG_MAX_LEGACY, &count);
		e->legacy = rc ? NULL : config_walk_array(count, sizeof(char *));
		if (!rc && !e->legacy)
			rc = config_walk_fail(c, v[1], "out of memory");
		for (size_t i = 0; i < count && !rc; i++) {
			yaml_node_t *it = config_walk_item(c, v[1], i);
			size_t old2 = config_walk_index(c, i);

			rc = config_walk_label(c, it, &s);
			/* idx + 1: this edge's own name and earlier codes count too. */
			other = rc ? NULL : edge_using(cfg, idx + 1, s);
			if (other)
				rc = config_walk_fail(
				    c, it, "'%s' is already the name or a legacy code of edge '%s'",
				    s, other->name);
			if (!rc)
				rc = config_walk_dup(c, it, s, &e->legacy[i]);
			if (!rc)
				e->nlegacy = i + 1;
			config_walk_pop(c, old2);
		}
		config_walk_pop(c, old);
	}
	if (!rc && v[2]) {
		old = config_walk_key(c, "kind");
		rc = config_walk_str(c, v[2], &s);
		if (!rc && strcmp(s, "interconnect") == 0)
			e->kind = CONFIG_EDGE_INTERCONNECT;
		else if (!rc && strcmp(s, "public") == 0)
			e->kind = CONFIG_EDGE_PUBLIC;
		else if (!rc)
			rc = config_walk_fail(c, v[2], "kind must be 'interconnect' or 'public'");
		config_walk_pop(c, old);
	}
	if (!rc) {
		old = config_walk_key(c, "region");
		rc = config_walk_str(c, v[3], &s);
		at = rc ? -1 : region_find(cfg, cfg->nregions, s);
		if (!rc && at < 0)
			rc = config_walk_fail(c, v[3], "unknown region '%s' (not in regions)",
			                      config_walk_show(c, s));
		e->region = at < 0 ? 0 : (size_t)at;
		config_walk_pop(c, old);
	}
	if (!rc) {
		old = config_walk_key(c, "gateways");
		rc = config_walk_seq(c, v[4], 1, CONFIG_MAX_GATEWAYS, &count);
		if (!rc && c->ngateways + count > CONFIG_MAX_GATEWAYS_TOTAL)
			rc = config_walk_fail(c, v[4], "too many gateways in all (at most %d)",
			                      CONFIG_MAX_GATEWAYS_TOTAL);
		e->gateways = rc ? NULL : config_walk_array(count, sizeof(*e->gateways));
		if (!rc && !e->gateways)
			rc = config_walk_fail(c, v[4], "out of memory");
		for (size_t i = 0; i < count && !rc; i++) {
			size_t old2 = config_walk_index(c, i);

			rc = parse_gateway(c, config_walk_item(c, v[4], i), &e->gateways[i], idx);
			if (!rc)
				e->ngateways = i + 1;
			config_walk_pop(c, old2);
		}
		c->ngateways += e->ngateways;
		config_walk_pop(c, old);
	}
	if (!rc) {
		old = config_walk_key(c, "media");
		rc = parse_media(c, v[5], &e->media);
		config_walk_pop(c, old);
	}
	return rc;
}

int config_topo_edges(struct config_walk *c, yaml_node_t *n)
{
	struct config *cfg = c->cfg;
	size_t count;
	int rc = config_walk_seq(c, n, 1, CONFIG_MAX_EDGES, &count);

	if (rc)
		return rc;
	cfg->edges = config_walk_array(count, sizeof(*cfg->edges));
	if (!cfg->edges)
		return config_walk_fail(c, n, "out of memory");
	cfg->nedges = count;
	for (size_t i = 0; i < count && !rc; i++) {
		size_t old = config_walk_index(c, i);

		rc = parse_edge(c, config_walk_item(c, n, i), i);
		config_walk_pop(c, old);
	}
	return rc;
}

int config_topo_connections(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"sid", "edge"};
	struct config *cfg = c->cfg;
	size_t count;
	int rc = config_walk_seq(c, n, 0, CONFIG_MAX_CONNECTIONS, &count);

	if (rc)
		return rc;
	cfg->connections = config_walk_array(count, sizeof(*cfg->connections));
	if (!cfg->connections)
		return config_walk_fail(c, n, "out of memory");
	for (size_t i = 0; i < count && !rc; i++) {
		struct config_connection *cn = &cfg->connections[i];
		size_t old = config_walk_index(c, i), old2;
		yaml_node_t *v[ARRAY_SIZE(keys)];
		const char *s;

		rc = config_walk_map(c, config_walk_item(c, n, i), keys, ARRAY_SIZE(keys), 0x3, v);
		if (!rc) {
			old2 = config_walk_key(c, "sid");
			rc = config_walk_str(c, v[0], &s);
			if (!rc && !config_val_is_sid(s, "NX"))
				rc = config_walk_fail(
				    c, v[0],
				    "sid must be 'NX' followed by 32 lowercase hex digits");
			for (size_t j = 0; !rc && j < i; j++) {
				if (strcmp(cfg->connections[j].sid, s) == 0)
					rc = config_walk_fail(
					    c, v[0], "sid %s is already used by connections[%zu]",
					    s, j);
			}
			if (!rc)
				memcpy(cn->sid, s, CONFIG_SID_LEN + 1);
			config_walk_pop(c, old2);
		}
		if (!rc) {
			const struct config_edge *e;

			old2 = config_walk_key(c, "edge");
			rc = config_walk_str(c, v[1], &s);
			e = rc ? NULL : edge_using(cfg, cfg->nedges, s);
			if (!rc && !e)
				rc = config_walk_fail(c, v[1], "unknown edge '%s'",
				                      config_walk_show(c, s));
			if (!rc)
				cn->edge = (size_t)(e - cfg->edges);
			config_walk_pop(c, old2);
		}
		if (!rc)
			cfg->nconnections = i + 1;
		config_walk_pop(c, old);
	}
	return rc;
}
