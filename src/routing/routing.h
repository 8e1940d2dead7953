/* Routing: edges, localized SIP domain URIs, outbound edge selection, failover plans, probes. */
#ifndef IXEDGE_ROUTING_H
#define IXEDGE_ROUTING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ixedge/base.h"
#include "ixedge/sip.h"
#include "ixedge/topology.h"

/*
 * Threading: signalling loop only.  A struct routing is immutable once
 * built, so lookups never write; probes are owned by whoever probes.
 *
 * Ownership: routing_build() returns a mem object holding index tables
 * only.  It points into the topology arrays it was built from (edges,
 * regions, connections, base domains), so those must outlive it: keep a
 * reference to the struct config it came from.  On reload build a new one
 * from the new config and swap.
 *
 * No lookup allocates: names are found by binary search in tables sorted
 * once at build time, and results are slices into the caller's input.
 *
 * docs/ROUTING.md describes the URI forms, the precedence of the outbound
 * parameters, the failover order and the probe state machine.
 */

struct routing;

/* How a name matched, or which form a Request-URI host had. */
enum routing_form {
	ROUTING_FORM_NONE = 0,     /* numeric host: no domain in it (the caller decides) */
	ROUTING_FORM_GLOBAL,       /* {domain}.sip.{base} */
	ROUTING_FORM_EDGE,         /* {domain}.sip.{edge name}.{base} */
	ROUTING_FORM_LEGACY,       /* {domain}.sip.{legacy code}.{base}, e.g. us1-ix */
	ROUTING_FORM_LEGACY_SHORT, /* a legacy code without its "-ix": de1 for de1-ix */
};
const char *routing_form_name(enum routing_form f); /* "edge", "legacy", ... */

/* Why a lookup failed.  Each has a static reason (routing_fail_reason()). */
enum routing_fail {
	ROUTING_OK = 0,
	/* inbound: routing_resolve_host() */
	ROUTING_FAIL_NOT_SIP,    /* no "sip" label after the domain label: not a SIP domain */
	ROUTING_FAIL_BASE,       /* no configured base domain at the end of the name */
	ROUTING_FAIL_EDGE,       /* edge label (or edge= value) not a configured edge */
	ROUTING_FAIL_ROAMING,    /* roaming / gll: never valid for SIP domains */
	ROUTING_FAIL_NO_DOMAIN,  /* nothing before ".sip.", or more than one label */
	ROUTING_FAIL_BAD_DOMAIN, /* the domain label is not a DNS label */
	/* outbound: routing_outbound() */
	ROUTING_FAIL_TNX,          /* tnx= names no configured connection */
	ROUTING_FAIL_REGION,       /* region= names no region and no legacy code */
	ROUTING_FAIL_REGION_EMPTY, /* region= names a region without edges */
	ROUTING_FAIL_EMPTY_PARAM,  /* edge=, tnx= or region= without a value */
	ROUTING_FAIL_TRANSPORT,    /* transport= other than udp, tcp, tls */
	ROUTING_FAIL_SCHEME,       /* not a sip: or sips: URI */
	ROUTING_FAIL_NO_EDGE,      /* no parameter, no inbound edge and no default edge */
	ROUTING_FAIL_URI_SPACE,    /* the Request-URI does not fit the caller's buffer */
};

/* A static English phrase: "unknown edge". */
const char *routing_fail_reason(enum routing_fail f);

/*
 * The reason with the offending value quoted, e.g. "unknown edge 'foo-ix'"
 * or "unknown interconnect connection 'NX...'", into buf (always
 * NUL-terminated when cap > 0).  Bytes outside printable ASCII are shown as
 * '?' and long values are cut, so the text is safe in a SIP reason phrase
 * and a log line.  Returns the length written.
 */
size_t routing_fail_format(enum routing_fail f, struct slice what, char *buf, size_t cap);

/* ------------------------------------------------------------- building */

/*
 * Builds the index tables.  Arrays as in struct config (include/ixedge/
 * topology.h); base_domains are lowercase names like "twilio.com".
 * -EINVAL when indexes point outside the arrays or two edges share a name
 * or legacy code (the config loader already refuses both); -ENOMEM.
 */
int routing_build(struct routing **rp, const struct config_edge *edges, size_t nedges,
                  const struct config_region *regions, size_t nregions,
                  const struct config_connection *conns, size_t nconns, char *const *base_domains,
                  size_t nbase);

size_t routing_edge_count(const struct routing *r);
const struct config_edge *routing_edge(const struct routing *r,
                                       int edge); /* NULL if out of range */

/*
 * An edge by name or legacy code, long or short form, case-insensitive.
 * Edge index >= 0 (and *form when form is non-NULL), or -ENOENT.
 * An exact name or legacy code wins over another edge's short form.
 */
int routing_edge_find(const struct routing *r, struct slice name, enum routing_form *form);

/* A region by name (case-insensitive): its index, or -ENOENT. */
int routing_region_find(const struct routing *r, struct slice name);

/* The edge a connection SID (NX...) lands on, or -ENOENT. */
int routing_connection_edge(const struct routing *r, struct slice sid);

/*
 * Connections that are not in the config (the store's, managed with ixctl):
 * h gives the edge index of sid, or -ENOENT.  Asked after the config's.
 */
typedef int(routing_conn_h)(void *arg, struct slice sid);
void routing_set_connection_lookup(struct routing *r, routing_conn_h *h, void *arg);

/* ------------------------------------------------------------- inbound */

struct routing_target {
	enum routing_form form;
	struct slice domain; /* "acme": a slice into host; empty for ROUTING_FORM_NONE */
	int edge;            /* edge index; -1 for the global form and numeric hosts */
	int base;            /* index into base_domains; -1 for numeric hosts */
	struct slice label;  /* the edge label as written; empty for global */
	/* on failure */
	enum routing_fail fail;
	struct slice what; /* the offending part of host, for routing_target_phrase() */
};

/*
 * Resolves a Request-URI host (without the [] of an IPv6 reference):
 *   {domain}.sip.{edge}.{base}     edge name, legacy code, or short legacy code
 *   {domain}.sip.{base}            global
 *   an IPv4 or IPv6 literal        0 with form ROUTING_FORM_NONE
 * Case-insensitive; one trailing dot is accepted.  The longest configured
 * base domain that ends the name is used.
 *
 * 0 and *out filled, or -ENOENT (not a SIP domain, unknown base, unknown
 * edge, roaming) or -EBADMSG (domain label missing or malformed) with
 * out->fail and out->what set.
 */
int routing_resolve_host(const struct routing *r, struct slice host, struct routing_target *out);

/* "Not Found (unknown edge 'foo-ix')": the reason phrase of the 404 for a
 * failed resolution; returns the length written (NUL-terminated). */
size_t routing_target_phrase(const struct routing_target *t, char *buf, size_t cap);

/* ------------------------------------------------------------ outbound */

enum routing_proto { ROUTING_PROTO_UDP = 0, ROUTING_PROTO_TCP, ROUTING_PROTO_TLS };
const char *routing_proto_name(enum routing_proto p); /* "udp", "tcp", "tls" */

/* Which rule chose the outbound edge, in order of precedence. */
enum routing_source {
	ROUTING_BY_EDGE = 0, /* edge= */
	ROUTING_BY_TNX,      /* tnx= (deprecated) */
	ROUTING_BY_REGION,   /* region= (older) */
	ROUTING_BY_INBOUND,  /* the edge the call came in on */
	ROUTING_BY_DEFAULT,  /* the configured default edge */
};
const char *routing_source_name(enum routing_source s); /* "edge=", "tnx=", ... */

struct routing_choice {
	/* in: where the Request-URI to send goes; ruri NULL when not wanted */
	char *ruri;
	size_t ruri_cap;
	/* out */
	size_t ruri_len; /* without the NUL that always follows it */
	int edge;
	enum routing_source source;
	enum routing_proto proto;
	enum routing_fail fail;
	struct slice what; /* the offending value, a slice into the URI */
};

/*
 * Chooses the edge an outbound leg to a sip:/sips: URI leaves from:
 * edge= > tnx= > region= > inbound_edge > default_edge (-1: none).  Every
 * routing parameter present is checked, even one that a higher one
 * overrides, so a stale tnx= never passes silently.  The transport is udp
 * unless transport=tcp|tls; sips: or secure=true mean tls.
 *
 * The Request-URI to send is the URI with the edge, tnx and region
 * parameters removed (the others kept, in order and as written) and
 * without its ?headers (RFC 3261 19.1.1: not allowed in a Request-URI; the
 * caller turns them into header fields).
 *
 * 0 and out filled; -ENOENT (unknown edge, connection or region, no edge
 * at all), -EINVAL (empty parameter, bad transport, not sip/sips), -E2BIG
 * (ruri_cap too small), with out->fail and out->what set.
 */
int routing_outbound(const struct routing *r, const struct sip_uri *uri, int inbound_edge,
                     int default_edge, struct routing_choice *out);

/* The URI without routing parameters and headers, as routing_outbound()
 * writes it, NUL-terminated: its length, or -E2BIG when it does not fit. */
int routing_uri_strip(const struct sip_uri *uri, char *out, size_t cap);

/* ------------------------------------------------------------ failover */

/* One way to send an INVITE: from this gateway of this edge. */
struct routing_hop {
	int edge;
	int gateway;                   /* index into that edge's gateways */
	struct sockaddr_storage local; /* gateway address and its port for the protocol */
	socklen_t local_len;
};

/*
 * The order in which an outbound INVITE tries gateways: the gateways of
 * edge, then for each failover region of edge's region (in the configured
 * order) the edges of that region of the same kind (in config order), each
 * with its gateways in order.  Writes at most max hops; returns how many it
 * wrote (0 for an edge out of range).
 */
size_t routing_failover_plan(const struct routing *r, int edge, enum routing_proto proto,
                             struct routing_hop *hops, size_t max);

/* How many hops routing_failover_plan() would give with no limit. */
size_t routing_failover_count(const struct routing *r, int edge);

/* -------------------------------------------------------------- probes */

/*
 * OPTIONS probing of one customer target, without sockets or timers: the
 * owner sends an OPTIONS when routing_probe_due() says so, and feeds each
 * outcome to routing_probe_result().  A target starts up.
 */
struct routing_probe_conf {
	uint32_t interval_ms;       /* between probes (default 30000) */
	uint32_t fail_threshold;    /* consecutive failures that mark it down (default 3) */
	uint32_t recover_threshold; /* consecutive successes that mark it up again (default 2) */
};
void routing_probe_conf_default(struct routing_probe_conf *conf);

enum routing_probe_change {
	ROUTING_PROBE_SAME = 0,
	ROUTING_PROBE_WENT_DOWN,
	ROUTING_PROBE_WENT_UP
};

struct routing_probe {
	struct routing_probe_conf conf;
	bool down;
	uint32_t fails, oks;                   /* consecutive, the current run */
	uint64_t next_ms;                      /* when the next probe is due */
	uint64_t changed_ms;                   /* last state change (or init) */
	uint64_t probes, failures, downs, ups; /* totals, for /metrics */
};

/* -EINVAL for a zero interval or threshold. */
int routing_probe_init(struct routing_probe *p, const struct routing_probe_conf *conf,
                       uint64_t now_ms);
bool routing_probe_due(const struct routing_probe *p, uint64_t now_ms);
/* Records one outcome and schedules the next probe one interval after now. */
enum routing_probe_change routing_probe_result(struct routing_probe *p, bool ok, uint64_t now_ms);
bool routing_probe_is_down(const struct routing_probe *p);

/*
 * Whether a final response to an OPTIONS counts as alive.  Any response
 * means something answered, except 408 and 503 (and 0: Timer F or a
 * transport error), which the failover logic also treats as a dead path.
 */
bool routing_probe_status_ok(uint16_t status);

#endif
