/* ixedge configuration: the topology and settings loaded from one YAML file. */
#ifndef IXEDGE_APP_CONFIG_H
#define IXEDGE_APP_CONFIG_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "ixedge/base.h"
#include "ixedge/sip.h"
#include "ixedge/topology.h"

/*
 * Threading: a loaded config is immutable.  It is built on the signalling
 * loop at start-up (and, later, on reload) and only read after that, so any
 * thread holding a reference may read it.
 *
 * Ownership: config_load()/config_parse() return a mem object; every string
 * and array inside it belongs to it and goes away with the last mem_deref().
 */

/* Caps that keep a hostile or runaway file from costing unbounded work. */
#define CONFIG_MAX_FILE_SIZE    (1u << 20)
#define CONFIG_MAX_EDGES        256
#define CONFIG_MAX_REGIONS      256
#define CONFIG_MAX_GATEWAYS     64  /* per edge */
#define CONFIG_MAX_LEGACY       16  /* legacy codes per edge */
#define CONFIG_MAX_MEDIA_ADDRS  256 /* per edge */
#define CONFIG_MAX_FAILOVER     16  /* per region */
#define CONFIG_MAX_CONNECTIONS  4096
#define CONFIG_MAX_BASE_DOMAINS 64
#define CONFIG_MAX_ROUTES       256
#define CONFIG_MAX_X_HEADERS    64
#define CONFIG_MAX_PROBES       256

/* Call handling (calls:). Times in seconds. */
struct config_calls {
	uint32_t ring_timeout_s;    /* 60 */
	uint32_t max_duration_s;    /* 0 = no limit */
	uint32_t session_expires_s; /* 1800; 0 = no session timer */
	uint32_t min_se_s;          /* 90 */
	char account_sid[CONFIG_SID_LEN + 1];
	char **x_headers; /* NULL-terminated patterns, NULL = "X-*" */
};

/* Edge routing (routing:). */
struct config_routing {
	char *default_edge;           /* name or legacy code; NULL = the first edge */
	bool reject_edge_mismatch;    /* a gateway of one edge named by another edge's URI */
	uint32_t failover_timeout_ms; /* no response at all from a path: try the next one */
};

/* An OPTIONS probe of a customer target (probes:). */
struct config_probe {
	char *target; /* sip: URI with a numeric host */
	uint32_t interval_ms, fail_threshold, recover_threshold;
};

/* A static route (routes:), until domains and edges route calls. */
struct config_route {
	char *match;  /* glob on the Request-URI user */
	char *target; /* sip: URI template; {user} is the Request-URI user */
};

struct config {
	char *file; /* the name errors were reported against */
	enum log_level log_level;
	struct sip_limits sip_limits;
	uint32_t tcp_idle_timeout;    /* seconds */
	uint32_t tcp_max_connections; /* across all TCP listeners */
	char **base_domains;
	size_t nbase_domains;
	struct config_region *regions;
	size_t nregions;
	struct config_edge *edges;
	size_t nedges;
	struct config_connection *connections;
	size_t nconnections;
	struct config_ip admin_ip;
	uint16_t admin_port;
	char *data_dir;
	uint32_t t1_ms, t2_ms, t4_ms; /* sip.timers */
	struct config_calls calls;
	struct config_route *routes;
	size_t nroutes;
	struct config_routing routing;
	struct config_probe *probes;
	size_t nprobes;
};

/*
 * Loads and validates the YAML file at path.  0 and *cfgp set (a mem
 * object), or a negative errno with err holding one line such as
 * "etc/lab.yaml:12:5: edges[0].gateways[1].udp: port must be 1-65535".
 * -EINVAL for an invalid file, the open/read errno otherwise.
 */
int config_load(struct config **cfgp, const char *path, char *err, size_t errlen);

/* The same from text in memory; name is what error messages call the file. */
int config_parse(struct config **cfgp, const char *name, const char *text, size_t len, char *err,
                 size_t errlen);

const char *config_edge_kind_name(enum config_edge_kind kind);

/* The first route after `after` (NULL: from the start) whose match covers user, or NULL. */
const struct config_route *config_route_find(const struct config *cfg, const char *user,
                                             const struct config_route *after);
/* Fills {user} in a route target; -E2BIG when out is too small. */
int config_route_expand(const char *tpl, const char *user, char *out, size_t len);

/* Total gateways over all edges. */
size_t config_gateway_count(const struct config *cfg);

#endif
