/* SQLite backend: the store operations as SQL generated from the field tables. */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_priv.h"

#define SQ_REC_MAX 512 /* bytes: larger than any record struct */

int sq_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return -EEXIST;
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return -ENOENT;
		return -EINVAL;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_TOOBIG:
		return -E2BIG;
	default:
		return -EIO;
	}
}

static struct sq *sq_of(struct store *st)
{
	return st->be;
}

/* A prepared statement for sql, from the cache; the caller resets it after use. */
static int prep(struct sq *q, const char *sql, sqlite3_stmt **out)
{
	sqlite3_stmt *s;
	char *copy;
	size_t i;
	int rc;

	for (i = 0; i < SQ_CACHE; i++) {
		if (q->cache[i].sql && !strcmp(q->cache[i].sql, sql)) {
			*out = q->cache[i].stmt;
			return 0;
		}
	}
	rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK)
		return sq_errno(rc);
	copy = strdup(sql);
	if (!copy) {
		sqlite3_finalize(s);
		return -ENOMEM;
	}
	i = q->next;
	q->next = (q->next + 1) % SQ_CACHE;
	sqlite3_finalize(q->cache[i].stmt);
	free(q->cache[i].sql);
	q->cache[i].sql = copy;
	q->cache[i].stmt = s;
	*out = s;
	return 0;
}

static int done(sqlite3_stmt *s, int rc)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

/* Runs a statement that returns no rows. */
static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	return done(s, rc == SQLITE_DONE ? 0 : sq_errno(sqlite3_reset(s)));
}

static bool stored(const struct store_field *f)
{
	return !(f->flags & STORE_F_SECRET);
}

static int bind_field(sqlite3_stmt *s, int idx, const struct store_field *f, const void *rec)
{
	const void *v = store_fptr(rec, f);

	switch (f->type) {
	case STORE_TEXT:
		return sqlite3_bind_text(s, idx, store_ftext(rec, f), -1, SQLITE_STATIC);
	case STORE_BOOL:
		return sqlite3_bind_int(s, idx, *(const bool *)v);
	case STORE_INT:
	case STORE_TIME:
		return sqlite3_bind_int64(s, idx, *(const int64_t *)v);
	}
	return SQLITE_MISUSE;
}

static int sq_write(struct store *st, const struct store_kind_def *kd, const void *rec, bool upsert)
{
	const struct store_kind_info *k = &kd->info;
	struct buf b = {0};
	sqlite3_stmt *s;
	const char *sep = "";
	int rc, idx = 0;

	buf_printf(&b, "INSERT INTO \"%s\" (", kd->table);
	for (size_t i = 0; i < k->nfields; i++, sep = ", ")
		if (stored(&k->fields[i]))
			buf_printf(&b, "%s\"%s\"", sep, k->fields[i].name);
	buf_append_cstr(&b, ") VALUES (");
	sep = "";
	for (size_t i = 0; i < k->nfields; i++)
		if (stored(&k->fields[i]))
			buf_printf(&b, "%s?%d", sep, ++idx), sep = ", ";
	buf_append_cstr(&b, ")");
	if (upsert) {
		/* The row keeps its seq (so its place in lists) and its date_created. */
		buf_append_cstr(&b, " ON CONFLICT (\"sid\") DO UPDATE SET ");
		sep = "";
		for (size_t i = 0; i < k->nfields; i++) {
			const struct store_field *f = &k->fields[i];

			if (!stored(f) || f == kd->sid || !strcmp(f->name, "date_created"))
				continue;
			buf_printf(&b, "%s\"%s\" = excluded.\"%s\"", sep, f->name, f->name);
			sep = ", ";
		}
	}
	if (!b.p) /* buf_* failed to allocate */
		return -ENOMEM;
	rc = prep(sq_of(st), b.p, &s);
	buf_free(&b);
	if (rc)
		return rc;
	idx = 0;
	for (size_t i = 0; i < k->nfields; i++)
		if (stored(&k->fields[i]) && bind_field(s, ++idx, &k->fields[i], rec) != SQLITE_OK)
			return done(s, -ENOMEM);
	return step_done(s);
}

static int sq_insert(struct store *st, const struct store_kind_def *kd, const void *rec)
{
	return sq_write(st, kd, rec, false);
}

static int sq_upsert(struct store *st, const struct store_kind_def *kd, const void *rec)
{
	return sq_write(st, kd, rec, true);
}

static int sq_update(struct store *st, const struct store_kind_def *kd, const char *sid,
                     const void *rec, uint64_t mask)
{
	const struct store_kind_info *k = &kd->info;
	struct sq *q = sq_of(st);
	struct buf b = {0};
	sqlite3_stmt *s;
	const char *sep = "";
	int rc, idx = 0;

	buf_printf(&b, "UPDATE \"%s\" SET ", kd->table);
	for (size_t i = 0; i < k->nfields; i++) {
		if (!(mask & (1ull << i)) || !stored(&k->fields[i]))
			continue;
		buf_printf(&b, "%s\"%s\" = ?%d", sep, k->fields[i].name, ++idx);
		sep = ", ";
	}
	buf_printf(&b, " WHERE \"sid\" = ?%d", ++idx);
	if (!b.p || !*sep)
		return b.p ? (buf_free(&b), -EINVAL) : -ENOMEM;
	rc = prep(q, b.p, &s);
	buf_free(&b);
	if (rc)
		return rc;
	idx = 0;
	for (size_t i = 0; i < k->nfields; i++) {
		if (!(mask & (1ull << i)) || !stored(&k->fields[i]))
			continue;
		if (bind_field(s, ++idx, &k->fields[i], rec) != SQLITE_OK)
			return done(s, -ENOMEM);
	}
	sqlite3_bind_text(s, ++idx, sid, -1, SQLITE_STATIC);
	rc = step_done(s);
	if (!rc && sqlite3_changes(q->db) == 0)
		rc = -ENOENT;
	return rc;
}

static int sq_remove(struct store *st, const struct store_kind_def *kd, const char *sid)
{
	struct sq *q = sq_of(st);
	struct buf b = {0};
	sqlite3_stmt *s;
	int rc;

	if (buf_printf(&b, "DELETE FROM \"%s\" WHERE \"sid\" = ?1", kd->table))
		return -ENOMEM;
	rc = prep(q, b.p, &s);
	buf_free(&b);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, sid, -1, SQLITE_STATIC);
	rc = step_done(s);
	if (!rc && sqlite3_changes(q->db) == 0)
		rc = -ENOENT;
	return rc;
}

/* FROM, JOIN and WHERE of a select or count; binds come in the same order (bind_where). */
static void sql_where(struct buf *b, const struct store_sel *sel)
{
	buf_printf(b, " FROM \"%s\" t", sel->table);
	if (sel->map_table)
		buf_printf(b, " JOIN \"%s\" m ON m.list_sid = t.sid AND m.domain_sid = ?",
		           sel->map_table);
	buf_append_cstr(b, " WHERE 1");
	for (size_t i = 0; i < sel->nwhere; i++)
		buf_printf(b, " AND t.\"%s\" = ?", sel->where[i].f->name);
	if (sel->not_sid)
		buf_append_cstr(b, " AND t.sid <> ?");
	if (sel->after_seq)
		buf_printf(b, " AND t.seq %s ?", sel->newest_first ? "<" : ">");
}

static int bind_where(sqlite3_stmt *s, const struct store_sel *sel)
{
	int idx = 0, rc = SQLITE_OK;

	if (sel->map_table)
		rc |= sqlite3_bind_text(s, ++idx, sel->map_domain, -1, SQLITE_STATIC);
	for (size_t i = 0; i < sel->nwhere; i++) {
		if (sel->where[i].f->type == STORE_TEXT)
			rc |= sqlite3_bind_text(s, ++idx, sel->where[i].text, -1, SQLITE_STATIC);
		else
			rc |= sqlite3_bind_int64(s, ++idx, sel->where[i].num);
	}
	if (sel->not_sid)
		rc |= sqlite3_bind_text(s, ++idx, sel->not_sid, -1, SQLITE_STATIC);
	if (sel->after_seq)
		rc |= sqlite3_bind_int64(s, ++idx, sel->after_seq);
	return rc == SQLITE_OK ? idx : -ENOMEM;
}

static int sq_select(struct store *st, const struct store_sel *sel, store_row_h *h, void *arg)
{
	const struct store_kind_info *k = sel->k;
	alignas(max_align_t) char rec[SQ_REC_MAX];
	struct buf b = {0};
	sqlite3_stmt *s;
	int rc, idx;

	if (k->size > sizeof(rec))
		return -EINVAL;
	buf_append_cstr(&b, "SELECT t.seq");
	for (size_t i = 0; i < k->nfields; i++)
		if (stored(&k->fields[i]))
			buf_printf(&b, ", t.\"%s\"", k->fields[i].name);
	sql_where(&b, sel);
	buf_printf(&b, " ORDER BY t.seq%s", sel->newest_first ? " DESC" : "");
	if (sel->limit || sel->offset)
		buf_append_cstr(&b, " LIMIT ? OFFSET ?");
	if (!b.p)
		return -ENOMEM;
	rc = prep(sq_of(st), b.p, &s);
	buf_free(&b);
	if (rc)
		return rc;
	idx = bind_where(s, sel);
	if (idx < 0)
		return done(s, idx);
	if (sel->limit || sel->offset) {
		sqlite3_bind_int64(s, idx + 1, sel->limit ? (int64_t)sel->limit : -1);
		sqlite3_bind_int64(s, idx + 2, (int64_t)sel->offset);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int col = 1, hr;

		memset(rec, 0, k->size);
		for (size_t i = 0; i < k->nfields; i++) {
			const struct store_field *f = &k->fields[i];
			void *v = store_fptr(rec, f);
			const unsigned char *t;

			if (!stored(f)) {
				*(const char **)v = "";
				continue;
			}
			switch (f->type) {
			case STORE_TEXT:
				t = sqlite3_column_text(s, col);
				*(const char **)v = t ? (const char *)t : "";
				break;
			case STORE_BOOL:
				*(bool *)v = sqlite3_column_int64(s, col) != 0;
				break;
			case STORE_INT:
			case STORE_TIME:
				*(int64_t *)v = sqlite3_column_int64(s, col);
				break;
			}
			col++;
		}
		hr = h(arg, sqlite3_column_int64(s, 0), rec);
		if (hr)
			return done(s, hr < 0 ? hr : 0);
	}
	return done(s, rc == SQLITE_DONE ? 0 : sq_errno(sqlite3_reset(s)));
}

static int sq_count(struct store *st, const struct store_sel *sel, uint64_t *n)
{
	struct buf b = {0};
	sqlite3_stmt *s;
	int rc;

	buf_append_cstr(&b, "SELECT count(*)");
	sql_where(&b, sel);
	if (!b.p)
		return -ENOMEM;
	rc = prep(sq_of(st), b.p, &s);
	buf_free(&b);
	if (rc)
		return rc;
	rc = bind_where(s, sel);
	if (rc < 0)
		return done(s, rc);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return done(s, sq_errno(sqlite3_reset(s)));
	*n = (uint64_t)sqlite3_column_int64(s, 0);
	return done(s, 0);
}

/* A statement from fixed SQL with up to three text binds (NULL ends them). */
static int prep_text(struct store *st, const char *sql, sqlite3_stmt **out, const char *a,
                     const char *b, const char *c)
{
	const char *args[3] = {a, b, c};
	int rc = prep(sq_of(st), sql, out);

	for (int i = 0; !rc && i < 3 && args[i]; i++)
		if (sqlite3_bind_text(*out, i + 1, args[i], -1, SQLITE_STATIC) != SQLITE_OK)
			rc = done(*out, -ENOMEM);
	return rc;
}

static int sq_map_add(struct store *st, const char *table, const char *domain_sid,
                      const char *list_sid, int64_t now)
{
	struct buf b = {0};
	sqlite3_stmt *s;
	int rc;

	if (buf_printf(
	        &b, "INSERT INTO \"%s\" (domain_sid, list_sid, date_created) VALUES (?1, ?2, ?3)",
	        table))
		return -ENOMEM;
	rc = prep_text(st, b.p, &s, domain_sid, list_sid, NULL);
	buf_free(&b);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 3, now);
	return step_done(s);
}

static int sq_map_remove(struct store *st, const char *table, const char *domain_sid,
                         const char *list_sid)
{
	struct buf b = {0};
	sqlite3_stmt *s;
	int rc;

	if (buf_printf(&b, "DELETE FROM \"%s\" WHERE domain_sid = ?1 AND list_sid = ?2", table))
		return -ENOMEM;
	rc = prep_text(st, b.p, &s, domain_sid, list_sid, NULL);
	buf_free(&b);
	if (!rc)
		rc = step_done(s);
	if (!rc && sqlite3_changes(sq_of(st)->db) == 0)
		rc = -ENOENT;
	return rc;
}

static int sq_map_each(struct store *st, const char *table, store_pair_h *h, void *arg)
{
	struct buf b = {0};
	sqlite3_stmt *s;
	int rc;

	if (buf_printf(&b, "SELECT domain_sid, list_sid FROM \"%s\" ORDER BY seq", table))
		return -ENOMEM;
	rc = prep(sq_of(st), b.p, &s);
	buf_free(&b);
	if (rc)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int hr = h(arg, (const char *)sqlite3_column_text(s, 0),
		           (const char *)sqlite3_column_text(s, 1));

		if (hr)
			return done(s, hr < 0 ? hr : 0);
	}
	return done(s, rc == SQLITE_DONE ? 0 : sq_errno(sqlite3_reset(s)));
}

static int sq_setting_get(struct store *st, const char *key, char *buf, size_t n)
{
	sqlite3_stmt *s;
	int rc = prep_text(st, "SELECT value FROM settings WHERE key = ?1", &s, key, NULL, NULL);
	const unsigned char *v;

	if (rc)
		return rc;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return done(s, rc == SQLITE_DONE ? -ENOENT : sq_errno(sqlite3_reset(s)));
	v = sqlite3_column_text(s, 0);
	if (!v || strlen((const char *)v) >= n)
		return done(s, -E2BIG);
	memcpy(buf, v, strlen((const char *)v) + 1);
	return done(s, 0);
}

static int sq_setting_set(struct store *st, const char *key, const char *value)
{
	sqlite3_stmt *s;
	int rc = prep_text(st, "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)", &s,
	                   key, value, NULL);

	return rc ? rc : step_done(s);
}

static int sq_config_version(struct store *st, uint64_t *v)
{
	sqlite3_stmt *s;
	int rc = prep(sq_of(st), "SELECT version FROM config_version WHERE id = 1", &s);

	if (rc)
		return rc;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return done(s, rc == SQLITE_DONE ? -EBADMSG : sq_errno(sqlite3_reset(s)));
	*v = (uint64_t)sqlite3_column_int64(s, 0);
	return done(s, 0);
}

static int sq_config_bump(struct store *st)
{
	sqlite3_stmt *s;
	int rc = prep(sq_of(st), "UPDATE config_version SET version = version + 1", &s);

	return rc ? rc : step_done(s);
}

static int sq_schema_version(struct store *st, int *version)
{
	sqlite3_stmt *s;
	int rc = prep(sq_of(st), "SELECT coalesce(max(version), 0) FROM schema_version", &s);

	if (rc)
		return rc;
	if (sqlite3_step(s) != SQLITE_ROW)
		return done(s, sq_errno(sqlite3_reset(s)));
	*version = sqlite3_column_int(s, 0);
	return done(s, 0);
}

static int sq_check(struct store *st, struct store_err *err)
{
	static const char *const checks[] = {"PRAGMA integrity_check", "PRAGMA foreign_key_check"};
	struct sq *q = sq_of(st);

	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		sqlite3_stmt *s;
		int rc = sqlite3_prepare_v2(q->db, checks[i], -1, &s, NULL);

		if (rc != SQLITE_OK)
			return store_errf(err, sq_errno(rc), "%s: %s", checks[i],
			                  sqlite3_errmsg(q->db));
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(s, 0);

			/* integrity_check says "ok"; foreign_key_check says nothing when sound. */
			if (i > 0 || !t || strcmp(t, "ok")) {
				rc = store_errf(err, -EBADMSG, "%s: %s", checks[i],
				                t ? t : "problem found");
				sqlite3_finalize(s);
				return rc;
			}
		} else if (rc != SQLITE_DONE) {
			rc = store_errf(err, sq_errno(rc), "%s: %s", checks[i],
			                sqlite3_errmsg(q->db));
			sqlite3_finalize(s);
			return rc;
		}
		sqlite3_finalize(s);
	}
	return 0;
}

static int sq_begin(struct store *st, bool write)
{
	/* IMMEDIATE takes the write lock now, so a writer never fails to upgrade later. */
	return sq_exec(sq_of(st)->db, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

static int sq_end(struct store *st, bool commit)
{
	struct sq *q = sq_of(st);
	int rc;

	if (!commit)
		return sq_exec(q->db, "ROLLBACK");
	rc = sq_exec(q->db, "COMMIT");
	if (rc && !sqlite3_get_autocommit(q->db))
		sq_exec(q->db, "ROLLBACK");
	return rc;
}

static void sq_close(struct store *st)
{
	struct sq *q = sq_of(st);

	for (size_t i = 0; i < SQ_CACHE; i++) {
		sqlite3_finalize(q->cache[i].stmt);
		free(q->cache[i].sql);
	}
	sqlite3_close_v2(q->db);
	free(q);
	st->be = NULL;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .end = sq_end,
    .insert = sq_insert,
    .upsert = sq_upsert,
    .update = sq_update,
    .remove = sq_remove,
    .select = sq_select,
    .count = sq_count,
    .map_add = sq_map_add,
    .map_remove = sq_map_remove,
    .map_each = sq_map_each,
    .setting_get = sq_setting_get,
    .setting_set = sq_setting_set,
    .config_version = sq_config_version,
    .config_bump = sq_config_bump,
    .check = sq_check,
    .schema_version = sq_schema_version,
};
