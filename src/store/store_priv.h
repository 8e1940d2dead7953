/* Store internals: the backend operations table and the helpers the generic layer shares. */
#ifndef IXEDGE_STORE_PRIV_H
#define IXEDGE_STORE_PRIV_H

#include "store/store.h"

#define STORE_DB_FILE       "ixedge.db"
#define STORE_REALM_DEFAULT "sip.twilio.com"
#define STORE_BUSY_MS       5000

/* Field flags only the generic layer uses (above the public ones). */
#define STORE_F_SID    (1u << 8)  /* the record's SID */
#define STORE_F_PARENT (1u << 9)  /* the owner's SID: account, or list for IPs and credentials */
#define STORE_F_UNIQUE (1u << 10) /* unique among the parent's records (globally if no parent) */
#define STORE_F_AUTO   (1u << 11) /* set by the store (dates, derived account_sid, hashes) */

/* An equality filter on one field; text is parsed per the field's type. */
struct store_where {
	const struct store_field *f;
	const char *text;
	int64_t num;
};

struct store_kind_def;

/* What a backend select returns rows of. */
struct store_sel {
	const struct store_kind_info *k;
	const char *table;
	const struct store_where *where;
	size_t nwhere;
	const char *not_sid;   /* rows other than this SID (uniqueness on update) */
	const char *map_table; /* only rows mapped to map_domain in this mapping table */
	const char *map_domain;
	int64_t after_seq; /* keyset: rows after this seq in the order, 0 = from the start */
	bool newest_first;
	size_t offset;
	size_t limit; /* 0: all */
};

/* One row: strings valid until the callback returns.  Non-zero stops the select. */
typedef int(store_row_h)(void *arg, int64_t seq, const void *rec);
typedef int(store_pair_h)(void *arg, const char *domain_sid, const char *list_sid);

/*
 * A backend.  Every operation works on the connection in st->be and
 * returns 0 or a negative errno (the codes of store.h).  The generic layer
 * validates everything before calling; backends only store and fetch.
 */
struct store_ops {
	const char *name;
	int (*open)(struct store *st, const char *dir, struct store_err *err);
	void (*close)(struct store *st);
	int (*begin)(struct store *st, bool write);
	int (*end)(struct store *st, bool commit);
	int (*insert)(struct store *st, const struct store_kind_def *kd, const void *rec);
	/* Insert, or replace every field but date_created of the row with the same SID. */
	int (*upsert)(struct store *st, const struct store_kind_def *kd, const void *rec);
	int (*update)(struct store *st, const struct store_kind_def *kd, const char *sid,
	              const void *rec, uint64_t mask); /* -ENOENT when no such row */
	int (*remove)(struct store *st, const struct store_kind_def *kd, const char *sid);
	int (*select)(struct store *st, const struct store_sel *sel, store_row_h *h, void *arg);
	int (*count)(struct store *st, const struct store_sel *sel, uint64_t *n);
	int (*map_add)(struct store *st, const char *table, const char *domain_sid,
	               const char *list_sid, int64_t now);
	int (*map_remove)(struct store *st, const char *table, const char *domain_sid,
	                  const char *list_sid);
	int (*map_each)(struct store *st, const char *table, store_pair_h *h, void *arg);
	int (*setting_get)(struct store *st, const char *key, char *buf, size_t n);
	int (*setting_set)(struct store *st, const char *key, const char *value);
	int (*config_version)(struct store *st, uint64_t *v);
	int (*config_bump)(struct store *st);
	int (*check)(struct store *st, struct store_err *err);
	int (*schema_version)(struct store *st, int *version);
};

extern const struct store_ops store_sqlite_ops;

struct store {
	const struct store_ops *ops;
	void *be;
	char *dir;
};

/*
 * One operation's working state: the record being written, the error to
 * fill and a scratch area for values the store makes (normalised names,
 * SIDs, tokens, hashes).
 */
struct store_op {
	struct store *st;
	const struct store_kind_def *kd;
	struct store_err *err;
	bool create;
	const void *old; /* update: the record as stored */
	char scratch[1024];
	size_t used;
};

/* What the generic layer knows about a kind beyond the public descriptor. */
struct store_kind_def {
	struct store_kind_info info;
	enum store_kind kind;
	const char *table;
	const struct store_field *sid, *parent, *account; /* account: account_sid, if any */
	enum store_kind parent_kind;
	unsigned limit; /* records per parent at most, 0 = none */
	bool newest_first;
	/* After validation, inside the write transaction: derived fields. */
	int (*prepare)(struct store_op *op, void *rec, uint64_t *mask);
};

const struct store_kind_def *store_kind_def(enum store_kind kind);
/* The prepare hooks of accounts (auth token) and credentials (HA1s), in store.c. */
int store_prepare_account(struct store_op *op, void *rec, uint64_t *mask);
int store_prepare_cred(struct store_op *op, void *rec, uint64_t *mask);
int store_errf(struct store_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int64_t store_now_ms(void);
char *store_op_strdup(struct store_op *op, const char *s, size_t len);

static inline void *store_fptr(const void *rec, const struct store_field *f)
{
	return (char *)(uintptr_t)rec + f->off;
}
static inline const char *store_ftext(const void *rec, const struct store_field *f)
{
	const char *s = *(const char *const *)store_fptr(rec, f);

	return s ? s : "";
}

/* Validates the fields of mask in rec (and the required ones on create). */
int store_fields_check(struct store_op *op, void *rec, uint64_t mask);
/* SID syntax: the prefix and 32 lowercase hex digits. */
bool store_sid_valid(const char *sid, const char *prefix);
/* The text parser of store_field_set(), writing into rec. */
int store_field_parse(const struct store_field *f, void *rec, const char *text,
                      struct store_err *err);
/* Lowercase hex HA1s of user:realm:password. */
int store_ha1(const char *user, const char *realm, const char *password, char md5[33],
              char sha256[65]);

/* Page builder: collects rows (copying their strings) into one store_page. */
struct store_pageb;
int store_pageb_new(struct store_pageb **pbp, const struct store_kind_info *k);
store_row_h store_pageb_add;
int store_pageb_finish(struct store_pageb *pb, struct store_page **out);
void store_pageb_free(struct store_pageb *pb);

/* Map table names, by enum store_map. */
const char *store_map_table(enum store_map map);

/* Shared by store.c, map.c and snapshot.c. */
int store_txn_begin(struct store *st, bool write, struct store_err *err);
/* Commits when rc is 0, else rolls back; returns rc or the commit's error. */
int store_txn_end(struct store *st, int rc, struct store_err *err);
int store_sel_sid(struct store *st, const struct store_kind_def *kd, const char *sid,
                  store_row_h *h, void *arg);
/* The account owning record sid of kind (its own SID for an account); -ENOENT with a message. */
int store_owner_account(struct store *st, enum store_kind kind, const char *sid, char account[35],
                        struct store_err *err);
/* Runs a list query; sel may carry a mapping join, the rest is filled from q. */
int store_list_run(struct store *st, const struct store_kind_def *kd, const struct store_query *q,
                   struct store_sel *sel, struct store_page **out, struct store_err *err);
/* The mask bit of a field by name (0 when absent). */
uint64_t store_field_bit(const struct store_kind_def *kd, const char *name);

#endif
