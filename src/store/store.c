/* The generic store: the rules of every write (validation, owners, limits, uniqueness). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/rand.h"
#include "store/store_priv.h"

/* Big enough for any record: create and update work on a copy. */
union store_any {
	struct store_account a;
	struct store_domain d;
	struct store_acl l;
	struct store_ip i;
	struct store_credlist c;
	struct store_cred r;
	struct store_call_rec k;
	struct store_connection x;
};

static void store_destroy(void *obj)
{
	struct store *st = obj;

	if (st->be)
		st->ops->close(st);
	free(st->dir);
}

int store_open(struct store **sp, const char *dir, struct store_err *err)
{
	struct store *st;
	int rc;

	if (!sp || !dir || !*dir)
		return store_errf(err, -EINVAL, "store: no data directory");
	st = mem_alloc(sizeof(*st), store_destroy);
	if (!st || !(st->dir = strdup(dir))) {
		mem_deref(st);
		return store_errf(err, -ENOMEM, "store: out of memory");
	}
	st->ops = &store_sqlite_ops;
	rc = st->ops->open(st, dir, err);
	if (rc) {
		mem_deref(st);
		return rc;
	}
	*sp = st;
	return 0;
}

int store_check(struct store *st, struct store_err *err)
{
	return st->ops->check(st, err);
}

int store_schema_version(struct store *st, int *version)
{
	return st->ops->schema_version(st, version);
}

static int be_fail(struct store_err *err, int rc, const char *what)
{
	if (rc == -EBUSY)
		return store_errf(err, rc, "%s: the database stayed locked by another writer",
		                  what);
	return store_errf(err, rc, "%s: %s", what, strerror(-rc));
}

int store_txn_begin(struct store *st, bool write, struct store_err *err)
{
	int rc = st->ops->begin(st, write);

	return rc ? be_fail(err, rc, "store: begin") : 0;
}

int store_txn_end(struct store *st, int rc, struct store_err *err)
{
	int rc2;

	if (rc) {
		st->ops->end(st, false);
		return rc;
	}
	rc2 = st->ops->end(st, true);
	return rc2 ? be_fail(err, rc2, "store: commit") : 0;
}

uint64_t store_field_bit(const struct store_kind_def *kd, const char *name)
{
	for (size_t i = 0; i < kd->info.nfields; i++)
		if (!strcmp(kd->info.fields[i].name, name))
			return 1ull << i;
	return 0;
}

int store_sel_sid(struct store *st, const struct store_kind_def *kd, const char *sid,
                  store_row_h *h, void *arg)
{
	struct store_where w = {kd->sid, sid, 0};
	struct store_sel sel = {
	    .k = &kd->info, .table = kd->table, .where = &w, .nwhere = 1, .limit = 1};

	return st->ops->select(st, &sel, h, arg);
}

struct acct_cap {
	const struct store_kind_def *kd;
	char account[35];
	bool found;
};

static int acct_h(void *arg, int64_t seq, const void *rec)
{
	struct acct_cap *c = arg;
	const struct store_field *f = c->kd->account ? c->kd->account : c->kd->sid;

	(void)seq;
	snprintf(c->account, sizeof(c->account), "%s", store_ftext(rec, f));
	c->found = true;
	return 1;
}

int store_owner_account(struct store *st, enum store_kind kind, const char *sid, char account[35],
                        struct store_err *err)
{
	struct acct_cap c = {store_kind_def(kind), "", false};
	int rc = store_sel_sid(st, c.kd, sid, acct_h, &c);

	if (rc)
		return be_fail(err, rc, "store: select");
	if (!c.found)
		return store_errf(err, -ENOENT, "%s %s not found", c.kd->info.one, sid);
	memcpy(account, c.account, 35);
	return 0;
}

static int count_where(struct store *st, const struct store_kind_def *kd,
                       const struct store_where *w, size_t nw, const char *not_sid, uint64_t *n)
{
	struct store_sel sel = {
	    .k = &kd->info, .table = kd->table, .where = w, .nwhere = nw, .not_sid = not_sid};

	return st->ops->count(st, &sel, n);
}

/*
 * Unique fields are unique among their list's records (an address in an
 * ACL, a username in a credential list) and globally otherwise (a domain
 * name routes calls, so no two accounts may share it).
 */
static int unique_check(struct store_op *op, const void *rec, uint64_t mask, const char *psid,
                        const char *not_sid)
{
	const struct store_kind_def *kd = op->kd;
	bool scoped = kd->parent && kd->parent_kind != STORE_ACCOUNT;

	for (size_t i = 0; i < kd->info.nfields; i++) {
		const struct store_field *f = &kd->info.fields[i];
		struct store_where w[2] = {{f, NULL, 0}, {kd->parent, psid, 0}};
		uint64_t n = 0;
		int rc;

		if (!(f->flags & STORE_F_UNIQUE) || !(mask & (1ull << i)))
			continue;
		w[0].text = store_ftext(rec, f);
		rc = count_where(op->st, kd, w, scoped ? 2 : 1, not_sid, &n);
		if (rc)
			return be_fail(op->err, rc, "store: count");
		if (n) {
			if (scoped)
				return store_errf(op->err, -EEXIST,
				                  "%s.%s: '%s' already exists in %s", kd->info.one,
				                  f->name, store_ftext(rec, f), psid);
			return store_errf(op->err, -EEXIST, "%s.%s: '%s' is taken", kd->info.one,
			                  f->name, store_ftext(rec, f));
		}
	}
	return 0;
}

static int fill_defaults(struct store_op *op, void *rec, uint64_t mask)
{
	const struct store_kind_info *k = &op->kd->info;

	for (size_t i = 0; i < k->nfields; i++) {
		const struct store_field *f = &k->fields[i];
		int rc;

		if (mask & (1ull << i)) {
			if (f->type == STORE_TEXT && !*(const char **)store_fptr(rec, f))
				*(const char **)store_fptr(rec, f) = "";
			continue;
		}
		if (f->type == STORE_TEXT) {
			*(const char **)store_fptr(rec, f) = f->def ? f->def : "";
			continue;
		}
		rc = store_field_parse(f, rec, f->def ? f->def : "0", op->err);
		if (rc)
			return rc;
	}
	return 0;
}

int store_prepare_account(struct store_op *op, void *rec, uint64_t *mask)
{
	static const char hex[] = "0123456789abcdef";
	struct store_account *a = rec;
	unsigned char raw[16];
	char tok[33];

	(void)mask;
	if (!op->create || *a->auth_token)
		return 0;
	/* The token signs webhooks and authenticates the REST API: a secret, so OpenSSL's RNG. */
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return store_errf(op->err, -EIO, "account: no random bytes for the auth token");
	for (size_t i = 0; i < sizeof(raw); i++) {
		tok[2 * i] = hex[raw[i] >> 4];
		tok[2 * i + 1] = hex[raw[i] & 15];
	}
	a->auth_token = store_op_strdup(op, tok, 32);
	return a->auth_token ? 0 : -ENOMEM;
}

int store_prepare_cred(struct store_op *op, void *rec, uint64_t *mask)
{
	const struct store_kind_def *kd = op->kd;
	struct store_cred *c = rec;
	const struct store_cred *old = op->old;
	char realm[254], md5[33], sha[65];
	int rc;

	if (!(*mask & store_field_bit(kd, "password")))
		return 0;
	rc = op->st->ops->setting_get(op->st, "digest_realm", realm, sizeof(realm));
	if (rc)
		return be_fail(op->err, rc, "store: digest realm");
	rc = store_ha1(op->create ? c->username : old->username, realm, c->password, md5, sha);
	if (rc)
		return store_errf(op->err, rc, "credential: hashing failed");
	c->realm = store_op_strdup(op, realm, strlen(realm));
	c->ha1_md5 = store_op_strdup(op, md5, 32);
	c->ha1_sha256 = store_op_strdup(op, sha, 64);
	if (!c->realm || !c->ha1_md5 || !c->ha1_sha256)
		return -ENOMEM;
	*mask |= store_field_bit(kd, "realm") | store_field_bit(kd, "ha1_md5") |
	         store_field_bit(kd, "ha1_sha256");
	return 0;
}

static int create_locked(struct store_op *op, void *rec, uint64_t mask)
{
	const struct store_kind_def *kd = op->kd;
	struct store *st = op->st;
	const char *psid = kd->parent ? store_ftext(rec, kd->parent) : NULL;
	const char *sid = store_ftext(rec, kd->sid);
	struct store_where w = {kd->parent, psid, 0};
	char account[35];
	uint64_t n = 0;
	int64_t now;
	int rc;

	if (psid) {
		rc = store_owner_account(st, kd->parent_kind, psid, account, op->err);
		if (rc)
			return rc;
		if (kd->account != kd->parent) {
			const char *given = store_ftext(rec, kd->account);

			if (*given && strcmp(given, account))
				return store_errf(op->err, -ENOENT, "%s %s not found in account %s",
				                  store_kind_def(kd->parent_kind)->info.one, psid,
				                  given);
			given = store_op_strdup(op, account, 34);
			if (!given)
				return store_errf(op->err, -ENOMEM, "store: out of scratch space");
			*(const char **)store_fptr(rec, kd->account) = given;
		}
	}
	if (kd->limit) {
		rc = count_where(st, kd, &w, 1, NULL, &n);
		if (rc)
			return be_fail(op->err, rc, "store: count");
		if (n >= kd->limit)
			return store_errf(op->err, -E2BIG, "%s %s already holds %u %s (the limit)",
			                  store_kind_def(kd->parent_kind)->info.one, psid,
			                  kd->limit, kd->info.name);
	}
	rc = unique_check(op, rec, ~0ull, psid, NULL);
	if (rc)
		return rc;
	w = (struct store_where){kd->sid, sid, 0};
	rc = count_where(st, kd, &w, 1, NULL, &n);
	if (rc)
		return be_fail(op->err, rc, "store: count");
	if (n)
		return store_errf(op->err, -EEXIST, "%s %s already exists", kd->info.one, sid);
	if (kd->prepare && (rc = kd->prepare(op, rec, &mask)))
		return rc;
	now = store_now_ms();
	for (size_t i = 0; i < kd->info.nfields; i++)
		if (kd->info.fields[i].type == STORE_TIME &&
		    !strncmp(kd->info.fields[i].name, "date_", 5))
			*(int64_t *)store_fptr(rec, &kd->info.fields[i]) = now;
	rc = st->ops->insert(st, kd, rec);
	if (rc == -EEXIST)
		return store_errf(op->err, rc, "%s: a unique value is taken", kd->info.one);
	return rc ? be_fail(op->err, rc, "store: insert") : 0;
}

int store_create(struct store *st, enum store_kind kind, const void *rec, uint64_t mask,
                 struct store_page **out, struct store_err *err)
{
	const struct store_kind_def *kd = store_kind_def(kind);
	struct store_op op = {.st = st, .kd = kd, .err = err, .create = true};
	union store_any work;
	char sid[35];
	int rc;

	if (!st || !kd || !rec)
		return store_errf(err, -EINVAL, "store: bad arguments");
	memcpy(&work, rec, kd->info.size);
	rc = store_fields_check(&op, &work, mask);
	if (!rc)
		rc = fill_defaults(&op, &work, mask);
	if (rc)
		return rc;
	if (!*store_ftext(&work, kd->sid)) {
		rand_sid(sid, kd->info.prefix);
		*(const char **)store_fptr(&work, kd->sid) = sid;
	} else {
		snprintf(sid, sizeof(sid), "%s", store_ftext(&work, kd->sid));
	}
	rc = store_txn_begin(st, true, err);
	if (rc)
		return rc;
	rc = store_txn_end(st, create_locked(&op, &work, mask), err);
	if (!rc && out)
		rc = store_get(st, kind, sid, out, err);
	return rc;
}

static int sid_arg(const struct store_kind_def *kd, const char *sid, struct store_err *err)
{
	if (!kd)
		return store_errf(err, -EINVAL, "store: unknown record kind");
	if (!store_sid_valid(sid, kd->info.prefix))
		return store_errf(err, -EINVAL, "'%.40s' is not a %s SID", sid ? sid : "",
		                  kd->info.one);
	return 0;
}

static int get_locked(struct store *st, const struct store_kind_def *kd, const char *sid,
                      struct store_page **out, struct store_err *err)
{
	struct store_pageb *pb;
	struct store_page *pg;
	int rc = store_pageb_new(&pb, &kd->info);

	if (rc)
		return store_errf(err, rc, "store: out of memory");
	rc = store_sel_sid(st, kd, sid, store_pageb_add, pb);
	if (rc) {
		store_pageb_free(pb);
		return be_fail(err, rc, "store: select");
	}
	rc = store_pageb_finish(pb, &pg);
	if (rc)
		return store_errf(err, rc, "store: out of memory");
	pg->kind = kd->kind;
	if (!pg->n) {
		mem_deref(pg);
		return store_errf(err, -ENOENT, "%s %s not found", kd->info.one, sid);
	}
	*out = pg;
	return 0;
}

int store_get(struct store *st, enum store_kind kind, const char *sid, struct store_page **out,
              struct store_err *err)
{
	const struct store_kind_def *kd = store_kind_def(kind);
	int rc = sid_arg(kd, sid, err);

	return rc ? rc : get_locked(st, kd, sid, out, err);
}

static int update_locked(struct store_op *op, const char *sid, void *rec, uint64_t mask)
{
	const struct store_kind_def *kd = op->kd;
	struct store_page *old;
	const char *psid;
	uint64_t secret = 0;
	int rc;

	rc = get_locked(op->st, kd, sid, &old, op->err);
	if (rc)
		return rc;
	op->old = old->rows;
	psid = kd->parent ? store_ftext(old->rows, kd->parent) : NULL;
	rc = unique_check(op, rec, mask, psid, sid);
	if (!rc && kd->prepare)
		rc = kd->prepare(op, rec, &mask);
	if (!rc) {
		for (size_t i = 0; i < kd->info.nfields; i++) {
			const struct store_field *f = &kd->info.fields[i];

			if (f->flags & STORE_F_SECRET)
				secret |= 1ull << i;
			if (!strcmp(f->name, "date_updated")) {
				*(int64_t *)store_fptr(rec, f) = store_now_ms();
				mask |= 1ull << i;
			}
		}
		rc = op->st->ops->update(op->st, kd, sid, rec, mask & ~secret);
		if (rc == -ENOENT)
			rc = store_errf(op->err, rc, "%s %s not found", kd->info.one, sid);
		else if (rc)
			rc = be_fail(op->err, rc, "store: update");
	}
	mem_deref(old);
	return rc;
}

int store_update(struct store *st, enum store_kind kind, const char *sid, const void *rec,
                 uint64_t mask, struct store_page **out, struct store_err *err)
{
	const struct store_kind_def *kd = store_kind_def(kind);
	struct store_op op = {.st = st, .kd = kd, .err = err, .create = false};
	union store_any work;
	int rc = sid_arg(kd, sid, err);

	if (rc)
		return rc;
	if (!rec)
		return store_errf(err, -EINVAL, "store: bad arguments");
	memcpy(&work, rec, kd->info.size);
	rc = store_fields_check(&op, &work, mask);
	if (rc)
		return rc;
	for (size_t i = 0; i < kd->info.nfields; i++) {
		const struct store_field *f = &kd->info.fields[i];

		if ((mask & (1ull << i)) && f->type == STORE_TEXT &&
		    !*(const char **)store_fptr(&work, f))
			*(const char **)store_fptr(&work, f) = "";
	}
	rc = store_txn_begin(st, true, err);
	if (rc)
		return rc;
	rc = store_txn_end(st, update_locked(&op, sid, &work, mask), err);
	if (!rc && out)
		rc = store_get(st, kind, sid, out, err);
	return rc;
}

int store_delete(struct store *st, enum store_kind kind, const char *sid, struct store_err *err)
{
	const struct store_kind_def *kd = store_kind_def(kind);
	int rc = sid_arg(kd, sid, err);

	if (rc)
		return rc;
	rc = st->ops->remove(st, kd, sid);
	if (rc == -ENOENT)
		return store_errf(err, rc, "%s %s not found", kd->info.one, sid);
	return rc ? be_fail(err, rc, "store: delete") : 0;
}

struct list_cap {
	struct store_pageb *pb;
	size_t want, n;
	int64_t last_seq;
	bool more;
};

static int list_h(void *arg, int64_t seq, const void *rec)
{
	struct list_cap *c = arg;
	int rc;

	if (c->n == c->want) {
		c->more = true;
		return 1;
	}
	rc = store_pageb_add(c->pb, seq, rec);
	c->n++;
	c->last_seq = seq;
	return rc;
}

int store_list_run(struct store *st, const struct store_kind_def *kd, const struct store_query *q,
                   struct store_sel *sel, struct store_page **out, struct store_err *err)
{
	struct store_where w[STORE_QUERY_MAX_WHERE];
	struct store_query dq = {0};
	struct list_cap c = {0};
	struct store_page *pg;
	size_t nw = 0;
	uint64_t v;
	int rc;

	if (!q)
		q = &dq;
	c.want = q->page_size ? q->page_size : STORE_PAGE_SIZE_DEFAULT;
	if (c.want > STORE_PAGE_SIZE_MAX)
		return store_errf(err, -EINVAL, "page_size: at most %d", STORE_PAGE_SIZE_MAX);
	for (size_t i = 0; i < STORE_QUERY_MAX_WHERE && q->where[i].field; i++) {
		const struct store_field *f = NULL;

		for (size_t j = 0; j < kd->info.nfields; j++)
			if (!strcmp(kd->info.fields[j].name, q->where[i].field))
				f = &kd->info.fields[j];
		if (!f || (f->flags & (STORE_F_SECRET | STORE_F_INTERNAL)))
			return store_errf(err, -EINVAL, "%s has no field '%s' to filter on",
			                  kd->info.name, q->where[i].field);
		w[nw] = (struct store_where){f, q->where[i].value ? q->where[i].value : "", 0};
		if (f->type != STORE_TEXT) {
			union store_any tmp;

			rc = store_field_parse(f, &tmp, w[nw].text, err);
			if (rc)
				return rc;
			w[nw].num = f->type == STORE_BOOL ? *(bool *)store_fptr(&tmp, f)
			                                  : *(int64_t *)store_fptr(&tmp, f);
		}
		nw++;
	}
	sel->k = &kd->info;
	sel->table = kd->table;
	sel->where = w;
	sel->nwhere = nw;
	sel->newest_first = kd->newest_first;
	sel->limit = c.want + 1;
	if (q->page_token && *q->page_token) {
		if (strncmp(q->page_token, "PT", 2) ||
		    slice_to_u64(slice_cstr(q->page_token + 2), INT64_MAX, &v) || !v)
			return store_errf(err, -EINVAL, "page_token: '%.30s' is not a page token",
			                  q->page_token);
		sel->after_seq = (int64_t)v;
	} else {
		if (q->page > 1000000)
			return store_errf(err, -EINVAL, "page: too large");
		sel->offset = q->page * c.want;
	}
	rc = store_pageb_new(&c.pb, &kd->info);
	if (rc)
		return store_errf(err, rc, "store: out of memory");
	rc = st->ops->select(st, sel, list_h, &c);
	if (rc) {
		store_pageb_free(c.pb);
		return be_fail(err, rc, "store: select");
	}
	rc = store_pageb_finish(c.pb, &pg);
	if (rc)
		return store_errf(err, rc, "store: out of memory");
	pg->kind = kd->kind;
	pg->page_size = c.want;
	pg->page = (q->page_token && *q->page_token) ? 0 : q->page;
	if (c.more)
		snprintf(pg->next_token, sizeof(pg->next_token), "PT%lld", (long long)c.last_seq);
	*out = pg;
	return 0;
}

int store_list(struct store *st, enum store_kind kind, const struct store_query *q,
               struct store_page **out, struct store_err *err)
{
	const struct store_kind_def *kd = store_kind_def(kind);
	struct store_sel sel = {0};

	if (!st || !kd || !out)
		return store_errf(err, -EINVAL, "store: bad arguments");
	return store_list_run(st, kd, q, &sel, out, err);
}

int store_domain_by_name(struct store *st, const char *name, struct store_page **out,
                         struct store_err *err)
{
	struct store_query q = {.page_size = 1};
	char low[64];
	size_t n = name ? strlen(name) : 0;
	int rc;

	if (n == 0 || n >= sizeof(low))
		return store_errf(err, -ENOENT, "domain '%.64s' not found", name ? name : "");
	for (size_t i = 0; i <= n; i++)
		low[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
	q.where[0].field = "domain_name";
	q.where[0].value = low;
	rc = store_list(st, STORE_DOMAIN, &q, out, err);
	if (!rc && !(*out)->n) {
		*out = mem_deref(*out);
		return store_errf(err, -ENOENT, "domain '%s' not found", low);
	}
	return rc;
}

int store_realm_get(struct store *st, char *buf, size_t n)
{
	return st->ops->setting_get(st, "digest_realm", buf, n);
}

int store_realm_set(struct store *st, const char *realm, struct store_err *err)
{
	char low[254], cur[254];
	size_t n = realm ? strlen(realm) : 0;
	int rc;

	if (n == 0 || n >= sizeof(low) || realm[0] == '.' || realm[n - 1] == '.' ||
	    strstr(realm, "..") ||
	    strspn(realm, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n)
		return store_errf(err, -EINVAL, "realm: '%.64s' is not a host name",
		                  realm ? realm : "");
	for (size_t i = 0; i <= n; i++)
		low[i] =
		    (realm[i] >= 'A' && realm[i] <= 'Z') ? (char)(realm[i] - 'A' + 'a') : realm[i];
	rc = store_txn_begin(st, true, err);
	if (rc)
		return rc;
	rc = st->ops->setting_get(st, "digest_realm", cur, sizeof(cur));
	if (!rc && strcmp(cur, low)) {
		rc = st->ops->setting_set(st, "digest_realm", low);
		if (!rc)
			rc = st->ops->config_bump(st);
	}
	if (rc)
		rc = be_fail(err, rc, "store: realm");
	return store_txn_end(st, rc, err);
}

int store_config_version(struct store *st, uint64_t *version)
{
	return st->ops->config_version(st, version);
}

/*
 * Call records a previous run of the daemon left open (killed or crashed
 * mid-call: still queued, ringing or in-progress) are closed: answered ones
 * as completed, the others as failed, ended now with `reason`.  Bounded: at
 * most 100 pages of STORE_PAGE_SIZE_MAX records per status.
 */
int store_calls_close_open(struct store *st, int64_t now, const char *reason, size_t *closed,
                           struct store_err *err)
{
	static const char *const open_status[] = {"queued", "ringing", "in-progress"};
	struct store_query q = {.page_size = STORE_PAGE_SIZE_MAX};
	uint64_t mask = 0;
	int rc;

	*closed = 0;
	q.where[0].field = "status";
	rc = store_field_mask(STORE_CALL, "status end_time duration end_reason hung_up_by", &mask,
	                      err);
	for (size_t k = 0; !rc && k < ARRAY_SIZE(open_status); k++) {
		q.where[0].value = open_status[k];
		/* Each page is closed, so the next query finds the next ones. */
		for (int pages = 0; !rc && pages < 100; pages++) {
			struct store_page *pg = NULL;
			size_t n;

			rc = store_list(st, STORE_CALL, &q, &pg, err);
			n = pg ? pg->n : 0;
			for (size_t i = 0; !rc && i < n; i++) {
				const struct store_call_rec *r =
				    &STORE_ROWS(pg, struct store_call_rec)[i];
				struct store_call_rec u = {
				    .status = r->answer_time ? "completed" : "failed",
				    .end_time = now,
				    .duration = r->answer_time && now > r->answer_time
				                    ? (now - r->answer_time) / 1000
				                    : 0,
				    .end_reason = reason,
				    .hung_up_by = "edge",
				};

				rc = store_update(st, STORE_CALL, r->sid, &u, mask, NULL, err);
				*closed += !rc;
			}
			mem_deref(pg);
			if (!n)
				break;
		}
	}
	return rc;
}
