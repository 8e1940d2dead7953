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

/* seed: (per account for items; addresses and credentials at the store's limits) */
#define CONFIG_MAX_SEED_ACCOUNTS 64
#define CONFIG_MAX_SEED_ITEMS    64   /* ACLs, credential lists, domains: each, per account */
#define CONFIG_MAX_SEED_ADDRS    100  /* per ACL (the store's limit) */
#define CONFIG_MAX_SEED_CREDS    1000 /* per credential list (the store's limit) */
#define CONFIG_SEED_NAME_MAX     64   /* ACL and credential list names */

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
	char *domain; /* glob on the SIP domain label ("acme"; "" for numeric hosts), default "*" */
	char *match;  /* glob on the Request-URI user */
	char *target; /* sip: URI template; {user} is the Request-URI user */
};

/*
 * Store records seeded on start-up (seed:, applied by src/app/seed.c).
 * Optional SIDs are NULL when not given (the store generates one); optional
 * text is NULL when not given (the store's default).  Passwords are the
 * config file's plaintext: the store keeps only their digest hashes.
 */
struct config_seed_acl {
	char *sid, *name;
	struct config_prefix *addrs; /* IPv4, no host bits beyond the prefix */
	size_t naddrs;
};

struct config_seed_cred {
	char *username, *password;
};

struct config_seed_credlist {
	char *sid, *name;
	struct config_seed_cred *creds;
	size_t ncreds;
};

/* A domain's auth mappings, in the order of enum store_map. */
enum config_seed_map {
	CONFIG_SEED_CALL_ACL,
	CONFIG_SEED_CALL_CREDS,
	CONFIG_SEED_REG_CREDS,
	CONFIG_SEED_NMAPS
};

struct config_seed_domain {
	char *sid, *name, *friendly_name;
	char *voice_url, *voice_method, *voice_fallback_url, *voice_fallback_method;
	char *voice_status_callback_url, *voice_status_callback_method;
	bool secure, sip_registration;
	char *twiml; /* inline TwiML, validated by twiml_parse() */
	/* Indexes into the account's acls (CALL_ACL) or credlists (the others). */
	size_t *map[CONFIG_SEED_NMAPS];
	size_t nmap[CONFIG_SEED_NMAPS];
};

struct config_seed_account {
	char sid[CONFIG_SID_LEN + 1];
	char *friendly_name, *auth_token;
	struct config_seed_acl *acls;
	size_t nacls;
	struct config_seed_credlist *credlists;
	size_t ncredlists;
	struct config_seed_domain *domains;
	size_t ndomains;
};

struct config_seed {
	struct config_seed_account *accounts;
	size_t naccounts;
};

/* media: the relay (the pools are per edge, in edges[].media). */
struct config_media_relay {
	uint32_t threads;       /* 1-64 (1) */
	bool strict_latch;      /* latch: strict | symmetric (symmetric) */
	uint32_t timeout_s;     /* no packets: the call ends (60); 0 off */
	uint32_t quarantine_ms; /* a freed port rests this long (5000) */
};

/* auth: inbound digest authentication (docs/AUTH.md). */
struct config_auth {
	uint32_t nonce_lifetime_s; /* 1-86400 (300): an older nonce is stale */
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
	struct config_seed seed;
	struct config_media_relay media;
	struct config_auth auth;
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

/* The first route after `after` (NULL: from the start) for the domain label and user, or NULL. */
const struct config_route *config_route_find(const struct config *cfg, const char *domain,
                                             const char *user, const struct config_route *after);
/* Fills {user} in a route target; -E2BIG when out is too small. */
int config_route_expand(const char *tpl, const char *user, char *out, size_t len);

/* Total gateways over all edges. */
size_t config_gateway_count(const struct config *cfg);

/* Replaces data_dir (ixedge --data-dir); -ENOMEM. */
int config_set_data_dir(struct config *cfg, const char *dir);

#endif
