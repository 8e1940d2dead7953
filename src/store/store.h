/* The store: accounts, SIP domains, ACLs, credentials, mappings, connections and call records. */
#ifndef IXEDGE_STORE_H
#define IXEDGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ixedge/base.h"

/*
 * One interface, one backend today (SQLite, DIR/ixedge.db); nothing outside
 * src/store/ knows which.  See docs/STORE.md.
 *
 * Threading:
 * - A struct store is one connection.  Use it from one thread at a time.
 *   Several connections (threads or processes, e.g. the daemon and ixctl)
 *   may use one data directory at once.
 * - Every call below is synchronous and may wait on the disk or on another
 *   writer (busy timeout 5 s): keep them off the signalling loop, except
 *   store_changed(), which is one small indexed read.  The hot path uses a
 *   snapshot and the worker.
 * - A snapshot is immutable.  Its reference count is not atomic: take and
 *   drop references on one thread (the loop); build it anywhere and hand it
 *   over with its one reference.
 *
 * Errors: 0 or a negative errno, and struct store_err (may be NULL) says why
 * in one line naming the field or record.  -EINVAL bad input, -ENOENT no
 * such record, -EEXIST a unique value or SID is taken, -E2BIG a list is
 * full, -EBUSY the database stayed locked, -ENOTSUP the file's schema is
 * newer than this build, -EBADMSG not a database or corrupt, -EIO the disk.
 *
 * Times are Unix time in milliseconds (int64_t), UTC.  Strings returned by
 * the store are never NULL ("" when empty) and live as long as the page or
 * snapshot holding them.
 */

struct store;
struct store_worker;
struct store_snapshot;

struct store_err {
	char msg[256];
};

/* Record kinds; each has a struct below, a table and a SID prefix. */
enum store_kind {
	STORE_ACCOUNT,    /* AC */
	STORE_DOMAIN,     /* SD */
	STORE_ACL,        /* AL: IP access control list */
	STORE_IP,         /* IP: an address of an ACL */
	STORE_CREDLIST,   /* CL: credential list */
	STORE_CRED,       /* CR: a credential of a list */
	STORE_CALL,       /* CA: one call or leg */
	STORE_CONNECTION, /* NX: interconnect connection (deployment-wide, no account) */
	STORE_NKINDS
};

/* Field names are the REST API's (snake_case); see store_kind_get(). */
struct store_account {
	const char *sid;
	const char *friendly_name;
	const char *auth_token; /* 32 hex digits; generated when not given */
	int64_t date_created, date_updated;
};

struct store_domain {
	const char *sid;
	const char *account_sid;
	const char *domain_name; /* the label: "acme" for acme.sip.<edge>.<base> */
	const char *friendly_name;
	const char *voice_url;
	const char *voice_method; /* GET or POST (default POST) */
	const char *voice_fallback_url;
	const char *voice_fallback_method;
	const char *voice_status_callback_url;
	const char *voice_status_callback_method;
	bool secure;
	bool sip_registration;
	const char *inline_twiml; /* TwiML used when voice_url is empty */
	int64_t date_created, date_updated;
};

struct store_acl {
	const char *sid;
	const char *account_sid;
	const char *friendly_name;
	int64_t date_created, date_updated;
};

struct store_ip {
	const char *sid;
	const char *account_sid; /* taken from the list */
	const char *ip_access_control_list_sid;
	const char *friendly_name;
	const char *ip_address;     /* dotted IPv4 */
	int64_t cidr_prefix_length; /* 0-32, default 32 */
	int64_t date_created, date_updated;
};

struct store_credlist {
	const char *sid;
	const char *account_sid;
	const char *friendly_name;
	int64_t date_created, date_updated;
};

/*
 * The password is write-only: it is hashed on create/update into HA1 =
 * H(username:realm:password) for MD5 and SHA-256 and never stored or
 * returned (always "" when read).  realm is the store's digest realm at the
 * time the password was set (store_realm_get()).
 */
struct store_cred {
	const char *sid;
	const char *account_sid; /* taken from the list */
	const char *credential_list_sid;
	const char *username;
	const char *password;
	const char *realm;
	const char *ha1_md5;    /* 32 lowercase hex */
	const char *ha1_sha256; /* 64 lowercase hex */
	int64_t date_created, date_updated;
};

struct store_call_rec {
	const char *sid;
	const char *account_sid;
	const char *parent_call_sid; /* "" for a call's first leg */
	const char *direction;       /* inbound, outbound-api, outbound-dial */
	const char *from;
	const char *to;
	const char
	    *status; /* queued ringing in-progress completed busy failed no-answer canceled */
	int64_t start_time, answer_time, end_time; /* 0: not (yet) */
	int64_t duration;                          /* seconds */
	const char *edge;
	const char *gateway;
	const char *sip_call_id;
	int64_t sip_status; /* final SIP status of the leg, 0 for none */
	const char *end_reason;
	const char *hung_up_by;
	/* The leg's media through the edge: from its party (received) and to it
	 * (sent); lost and jitter as the party's RTCP reports last said. */
	int64_t media_packets_received, media_bytes_received;
	int64_t media_packets_sent, media_bytes_sent;
	int64_t media_packets_lost, media_jitter;
	int64_t date_created, date_updated;
};

/*
 * An interconnect connection: the SID a `tnx=` URI parameter names, and the
 * edge it lands on (an edge name of the config; the store checks only its
 * form, whoever writes it checks that the config has it).  Like the edges,
 * connections belong to the deployment, not to an account.
 */
struct store_connection {
	const char *sid;
	const char *friendly_name;
	const char *edge; /* lowercase edge name, "ashburn-ix" */
	int64_t date_created, date_updated;
};

/* Field descriptors, for generic renderers (ixctl tables, JSON, REST). */
enum store_type { STORE_TEXT, STORE_INT, STORE_BOOL, STORE_TIME };

enum store_field_flag {
	STORE_F_CREATE = 1 << 0,   /* may be given on create */
	STORE_F_UPDATE = 1 << 1,   /* may be changed by update */
	STORE_F_REQUIRED = 1 << 2, /* must be given on create */
	STORE_F_SECRET = 1 << 3,   /* write-only: never stored as given, never returned */
	STORE_F_INTERNAL = 1 << 4, /* stored, derived, not for API output (digest hashes) */
};

struct store_field;
struct store_kind_info {
	const char *name;   /* plural, the REST list key: "domains", "ip_addresses" */
	const char *one;    /* singular, for messages: "domain", "ip_address" */
	const char *prefix; /* SID prefix: "SD" */
	const struct store_field *fields;
	size_t nfields;
	size_t size; /* sizeof the record struct */
};

struct store_field {
	const char *name;
	enum store_type type;
	unsigned flags;
	size_t off; /* offset in the record struct */
	/* internal: validation */
	int (*check)(void *op, const struct store_field *f, void *val);
	const char *def; /* default on create, as text */
	size_t max;      /* bytes for text, largest value for numbers */
};

const struct store_kind_info *store_kind_get(enum store_kind kind);
/* By plural or singular name ("domains", "domain"); -ENOENT when unknown. */
int store_kind_find(const char *name, enum store_kind *kind);

/*
 * Field masks say which fields a create or update gives: bit i is field i of
 * the kind.  A field is taken from the record iff its bit is set; fields not
 * given on create get their defaults.
 */
int store_field_mask(enum store_kind kind, const char *names, uint64_t *mask,
                     struct store_err *err); /* names: space or comma separated */
/* Sets one field of rec from text ("true", "32", ...) and its mask bit; text is borrowed. */
int store_field_set(enum store_kind kind, void *rec, uint64_t *mask, const char *name,
                    const char *text, struct store_err *err);
/*
 * Whether text is a valid value for the field, by the rules a write applies
 * (e.g. a list filter: "status" must be one of the call statuses).  0 or
 * -EINVAL with err naming the field.
 */
int store_field_valid(enum store_kind kind, const char *name, const char *text,
                      struct store_err *err);
/* The value as text: strings as they are, numbers in decimal, bools "true"/"false". */
const char *store_field_text(const struct store_field *f, const void *rec, char *tmp, size_t n);

/* Opens (creating if needed) DIR/ixedge.db and applies pending schema migrations. */
int store_open(struct store **sp, const char *dir, struct store_err *err);
/* Closes with mem_deref(st). */

/* PRAGMA integrity_check and foreign keys: 0 when the file is sound, -EBADMSG otherwise. */
int store_check(struct store *st, struct store_err *err);
int store_schema_version(struct store *st, int *version);

/*
 * The digest realm credentials are hashed under (default "sip.twilio.com";
 * the daemon sets "sip.<base>").  Changing it leaves existing credentials
 * under the old realm: they stop authenticating until their password is set
 * again, and snapshots count them as stale.
 */
int store_realm_get(struct store *st, char *buf, size_t n);
int store_realm_set(struct store *st, const char *realm, struct store_err *err);

/*
 * Named values other modules keep in the store (settings table), e.g. the
 * seed's "seed.applied.*" markers.  A key is "OWNER.NAME": 3-255 printable
 * ASCII characters without spaces and with a '.', so it never collides with
 * the store's own settings (digest_realm).  A value is at most 1024 bytes of
 * text.  Not config: setting one does not change store_config_version().
 * get: -ENOENT when absent, -E2BIG when buf is too small.
 */
#define STORE_SETTING_KEY_MAX   255
#define STORE_SETTING_VALUE_MAX 1024
int store_setting_get(struct store *st, const char *key, char *buf, size_t n,
                      struct store_err *err);
int store_setting_set(struct store *st, const char *key, const char *value, struct store_err *err);

/* A page of records: rows is an array of n records of the kind's struct. */
struct store_page {
	enum store_kind kind;
	size_t n;
	const void *rows;
	size_t page;         /* page number of this page (0 when reached by token) */
	size_t page_size;    /* as asked (after defaults) */
	char next_token[24]; /* "" on the last page */
};
#define STORE_ROWS(page, type) ((const type *)(page)->rows)

#define STORE_PAGE_SIZE_DEFAULT 50
#define STORE_PAGE_SIZE_MAX     1000
#define STORE_QUERY_MAX_WHERE   4

/*
 * A list query.  Config records come oldest first, calls newest first.  A
 * page token (next_token of the previous page) continues where that page
 * ended even when rows were added meanwhile; without one, page numbers
 * count from 0.  where[] are equality filters on fields (e.g.
 * {"account_sid", "AC..."}, {"status", "completed"}); unused entries NULL.
 */
struct store_query {
	size_t page_size; /* 0: 50; at most 1000 */
	size_t page;
	const char *page_token;
	struct {
		const char *field, *value;
	} where[STORE_QUERY_MAX_WHERE];
};

/*
 * Generic CRUD.  rec points to the kind's struct (struct store_domain for
 * STORE_DOMAIN ...).  Create generates the SID unless given, fills
 * account_sid of IPs and credentials from their list (a given account_sid
 * must match it), and when out is not NULL returns the stored record.
 */
int store_create(struct store *st, enum store_kind kind, const void *rec, uint64_t mask,
                 struct store_page **out, struct store_err *err);
int store_get(struct store *st, enum store_kind kind, const char *sid, struct store_page **out,
              struct store_err *err);
int store_list(struct store *st, enum store_kind kind, const struct store_query *q,
               struct store_page **out, struct store_err *err);
int store_update(struct store *st, enum store_kind kind, const char *sid, const void *rec,
                 uint64_t mask, struct store_page **out, struct store_err *err);
/* Deleting a record deletes what it owns (a list's entries, mappings to it; an account's all). */
int store_delete(struct store *st, enum store_kind kind, const char *sid, struct store_err *err);
/*
 * Closes call records left open by an earlier run (queued, ringing or
 * in-progress: the daemon was killed mid-call): answered ones become
 * completed, the others failed,
 * ended at now (ms) with reason, hung up by "edge".  *closed counts them.
 */
int store_calls_close_open(struct store *st, int64_t now, const char *reason, size_t *closed,
                           struct store_err *err);
/* The domain with this label (case-insensitive). */
int store_domain_by_name(struct store *st, const char *name, struct store_page **out,
                         struct store_err *err);

#define STORE_ACL_MAX_IPS       100
#define STORE_CREDLIST_MAX_CRED 1000

/* A domain's auth mappings: which lists apply to calls and to registrations. */
enum store_map {
	STORE_MAP_CALL_ACL,   /* IP ACLs for calls */
	STORE_MAP_CALL_CREDS, /* credential lists for calls */
	STORE_MAP_REG_CREDS,  /* credential lists for registrations */
	STORE_NMAPS
};
/* "calls-acl", "calls-credentials", "registrations-credentials" */
const char *store_map_name(enum store_map map);
int store_map_find(const char *name, enum store_map *map);
/* The kind of list a mapping holds: STORE_ACL or STORE_CREDLIST. */
enum store_kind store_map_list_kind(enum store_map map);

/* Domain and list must exist and belong to one account; -EEXIST when mapped already. */
int store_map_add(struct store *st, enum store_map map, const char *domain_sid,
                  const char *list_sid, struct store_err *err);
int store_map_remove(struct store *st, enum store_map map, const char *domain_sid,
                     const char *list_sid, struct store_err *err);
/* The mapped lists (a page of struct store_acl or struct store_credlist). */
int store_map_list(struct store *st, enum store_map map, const char *domain_sid,
                   const struct store_query *q, struct store_page **out, struct store_err *err);

/*
 * The hot-path view: domains by name with their mapped ACLs and credential
 * lists, and accounts by SID.  Built in one read transaction, so it is one
 * consistent state of the store, tagged with the config version it saw.
 */
struct store_snap_domain;
struct store_snap_cred {
	const char *sid;
	const char *credential_list_sid;
	const char *username;
	const char *ha1_md5;
	const char *ha1_sha256;
};

struct store_snapshot {
	uint64_t version;
	const char *realm;
	size_t naccounts, ndomains;
	size_t stale_creds; /* credentials hashed under another realm, left out */
	size_t nconnections;
};

int store_snapshot_load(struct store *st, struct store_snapshot **out, struct store_err *err);
/* The current config version: it changes with every change to accounts, domains, lists, mappings.
 */
int store_config_version(struct store *st, uint64_t *version);
/* Whether the config changed since snap was built (cheap: the daemon polls it). */
int store_changed(struct store *st, const struct store_snapshot *snap, bool *changed);

/* Lookups return NULL when absent.  The domain name is the label, case-insensitive. */
const struct store_snap_domain *store_snapshot_domain(const struct store_snapshot *s,
                                                      struct slice name);
const struct store_account *store_snapshot_account(const struct store_snapshot *s,
                                                   struct slice sid);
/* The interconnect connection with this SID, or NULL. */
const struct store_connection *store_snapshot_connection(const struct store_snapshot *s,
                                                         struct slice sid);
/* Every connection, oldest first; a non-zero return from h stops the walk and is returned. */
int store_snapshot_connection_each(const struct store_snapshot *s,
                                   int (*h)(void *arg, const struct store_connection *c),
                                   void *arg);
const struct store_domain *store_snap_domain_rec(const struct store_snap_domain *d);
const struct store_account *store_snap_domain_account(const struct store_snap_domain *d);
/* Number of lists mapped for the purpose (0 for all three: the domain takes no traffic). */
size_t store_snap_domain_nmapped(const struct store_snap_domain *d, enum store_map map);
/* ipv4 in host byte order; true when an address of a mapped call ACL covers it. */
bool store_snap_domain_ip_allowed(const struct store_snap_domain *d, uint32_t ipv4);
/*
 * Every address of every call ACL mapped to d (network in host byte order,
 * prefix 0-32), for a caller that compiles its own matcher.  A non-zero
 * return from h stops the walk and is returned.
 */
int store_snap_domain_acl_each(const struct store_snap_domain *d,
                               int (*h)(void *arg, uint32_t net, unsigned prefix), void *arg);
/*
 * The credentials for username in the lists mapped for map (STORE_MAP_CALL_CREDS
 * or STORE_MAP_REG_CREDS), in mapping order: pass NULL, then the previous result
 * to get the next (one username may be in several lists).
 */
const struct store_snap_cred *store_snap_cred_find(const struct store_snap_domain *d,
                                                   enum store_map map, struct slice username,
                                                   const struct store_snap_cred *prev);

/*
 * The call-record writer.  It opens its own connection and writes posted
 * records in batches, one transaction each; a record posted again with the
 * same SID replaces the earlier one (post at start, again at the end).
 */
struct store_worker_opts {
	size_t queue_len; /* records waiting at most (default 4096) */
	size_t batch_max; /* records per transaction at most (default 256) */
	/* A partial batch waits up to this long for more records before its
	 * commit (group commit: one fsync for many records); 0: commit at once.
	 * Without options: 100 ms. */
	uint32_t group_ms;
	/* After each commit, on the worker thread: total records committed so far. */
	void (*commit_h)(void *arg, uint64_t committed);
	void *arg;
};

struct store_worker_stats {
	uint64_t posted;    /* accepted into the queue */
	uint64_t dropped;   /* refused: queue full or record too large */
	uint64_t committed; /* written and committed */
	uint64_t failed;    /* invalid, or not writable after retries */
	uint64_t batches;   /* transactions committed */
	size_t queued;      /* waiting now, including the batch being written */
};

int store_worker_start(struct store_worker **wp, struct store *st,
                       const struct store_worker_opts *opts, struct store_err *err);
/*
 * Copies rec into the queue and wakes the worker; never waits on the disk.
 * -ENOBUFS when the queue is full (counted as dropped).  Any thread.
 */
int store_call_record_post(struct store_worker *w, const struct store_call_rec *rec);
void store_worker_stats(struct store_worker *w, struct store_worker_stats *out);
/* Writes everything queued, stops the thread and frees the worker. */
void store_worker_stop(struct store_worker *w);

#endif
