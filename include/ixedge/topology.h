/* The edge topology as configured: edges, gateways, media pools, regions, connections. */
#ifndef IXEDGE_TOPOLOGY_H
#define IXEDGE_TOPOLOGY_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * Plain data filled by the config loader (src/app/config*.c) and read by the
 * layers that route calls.  Immutable once loaded; indexes refer into the
 * arrays of the same struct config.
 */

#define CONFIG_SID_LEN 34 /* two-letter prefix + 32 hex digits */

/* An IP address as configured: text for logs, binary for sockets. */
struct config_ip {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
	char text[INET6_ADDRSTRLEN];
};

/* An IP address with a prefix length (a plain address has the full length). */
struct config_prefix {
	struct config_ip ip;
	unsigned plen;
};

struct config_gateway {
	struct config_ip ip;
	uint16_t udp, tcp, tls;
};

struct config_media {
	struct config_prefix *addrs;
	size_t naddrs;
	uint16_t port_min, port_max;
};

enum config_edge_kind { CONFIG_EDGE_INTERCONNECT, CONFIG_EDGE_PUBLIC };

struct config_edge {
	char *name;
	char **legacy;
	size_t nlegacy;
	enum config_edge_kind kind;
	size_t region; /* index into config.regions */
	struct config_gateway *gateways;
	size_t ngateways;
	struct config_media media;
};

struct config_region {
	char *name;
	size_t *failover; /* indexes into config.regions, in order of preference */
	size_t nfailover;
};

struct config_connection {
	char sid[CONFIG_SID_LEN + 1];
	size_t edge; /* index into config.edges */
};

#endif
