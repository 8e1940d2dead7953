/* Failover: the ordered gateways an outbound INVITE tries, across edges and regions. */
#include <arpa/inet.h>
#include <string.h>

#include "routing/routing_priv.h"

static uint16_t gateway_port(const struct config_gateway *gw, enum routing_proto proto)
{
	return proto == ROUTING_PROTO_TLS   ? gw->tls
	       : proto == ROUTING_PROTO_TCP ? gw->tcp
	                                    : gw->udp;
}

static void hop_fill(struct routing_hop *h, int edge, int gw, const struct config_gateway *g,
                     enum routing_proto proto)
{
	uint16_t port = htons(gateway_port(g, proto));

	memset(h, 0, sizeof(*h));
	h->edge = edge;
	h->gateway = gw;
	if (g->ip.family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&h->local;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = g->ip.a.v6;
		in6->sin6_port = port;
		h->local_len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&h->local;

		in->sin_family = AF_INET;
		in->sin_addr = g->ip.a.v4;
		in->sin_port = port;
		h->local_len = sizeof(*in);
	}
}

/* Adds the gateways of one edge; *n counts every hop, written or not. */
static void add_edge(const struct routing *r, size_t edge, enum routing_proto proto,
                     struct routing_hop *hops, size_t max, size_t *n)
{
	const struct config_edge *e = &r->edges[edge];

	for (size_t g = 0; g < e->ngateways; g++, (*n)++) {
		if (*n < max)
			hop_fill(&hops[*n], (int)edge, (int)g, &e->gateways[g], proto);
	}
}

/*
 * Failover stays on the same kind of edge: a call meant for a private
 * interconnect must not fall back to the public internet (or back).
 */
static size_t plan(const struct routing *r, int edge, enum routing_proto proto,
                   struct routing_hop *hops, size_t max)
{
	const struct config_edge *e;
	const struct config_region *reg;
	size_t n = 0;

	if (edge < 0 || (size_t)edge >= r->nedges)
		return 0;
	e = &r->edges[edge];
	reg = &r->regions[e->region];
	add_edge(r, (size_t)edge, proto, hops, max, &n);
	for (size_t i = 0; i < reg->nfailover; i++) {
		size_t f = reg->failover[i];

		for (size_t k = r->roff[f]; k < r->roff[f + 1]; k++) {
			if (r->edges[r->redges[k]].kind == e->kind)
				add_edge(r, r->redges[k], proto, hops, max, &n);
		}
	}
	return n;
}

size_t routing_failover_plan(const struct routing *r, int edge, enum routing_proto proto,
                             struct routing_hop *hops, size_t max)
{
	size_t n = plan(r, edge, proto, hops, max);

	return n < max ? n : max;
}

size_t routing_failover_count(const struct routing *r, int edge)
{
	return plan(r, edge, ROUTING_PROTO_UDP, NULL, 0);
}
