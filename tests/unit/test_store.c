/* Unit tests: the store's schema migrations, CRUD with validation, limits, mappings and paging. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"

struct fx {
	char dir[64];
	struct store *st;
	char account[35];
};

static void rm_dir(const char *dir)
{
	static const char *const files[] = {"ixedge.db", "ixedge.db-wal", "ixedge.db-shm",
	                                    "ixedge.db-journal"};
	char path[128];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static char *make_account(struct store *st, char out[35])
{
	struct store_account a = {.friendly_name = "test"};
	struct store_page *pg = NULL;
	uint64_t m = 0;

	assert_int_equal(store_field_mask(STORE_ACCOUNT, "friendly_name", &m, NULL), 0);
	assert_int_equal(store_create(st, STORE_ACCOUNT, &a, m, &pg, NULL), 0);
	strcpy(out, STORE_ROWS(pg, struct store_account)->sid);
	mem_deref(pg);
	return out;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct store_err err = {""};

	strcpy(fx->dir, "/tmp/ixstore-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(store_open(&fx->st, fx->dir, &err), 0);
	make_account(fx->st, fx->account);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	mem_deref(fx->st);
	rm_dir(fx->dir);
	free(fx);
	return 0;
}

/* Creates from "field=value" pairs; returns the rc, the new SID in sid when non-NULL. */
static int create_kv(struct store *st, enum store_kind kind, char *sid, struct store_err *err, ...)
{
	union {
		struct store_domain d;
		struct store_call_rec c;
		struct store_cred r;
	} rec;
	struct store_page *pg = NULL;
	uint64_t mask = 0;
	const char *kv;
	va_list ap;
	int rc = 0;
	char buf[16][2048];
	size_t nb = 0;

	memset(&rec, 0, sizeof(rec));
	va_start(ap, err);
	while ((kv = va_arg(ap, const char *)) && !rc) {
		const char *eq = strchr(kv, '=');

		assert_non_null(eq);
		assert_true(nb < 16);
		snprintf(buf[nb], sizeof(buf[nb]), "%.*s", (int)(eq - kv), kv);
		rc = store_field_set(kind, &rec, &mask, buf[nb], eq + 1, err);
		nb++;
	}
	va_end(ap);
	if (rc)
		return rc;
	rc = store_create(st, kind, &rec, mask, sid ? &pg : NULL, err);
	if (!rc && sid) {
		strcpy(sid, *(const char *const *)pg->rows); /* sid is every record's first field */
		mem_deref(pg);
	}
	return rc;
}

static void test_open_reopen(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	struct store_page *pg;
	struct stat sb;
	char path[128];
	int v = 0;

	assert_int_equal(store_schema_version(fx->st, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(store_check(fx->st, &err), 0);
	/* Auth tokens and hashes inside: owner-only. */
	snprintf(path, sizeof(path), "%s/ixedge.db", fx->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/ixedge.db-wal", fx->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/ixedge.db-shm", fx->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/ixedge.db", fx->dir);
	/* WAL is a property of the file: a fresh connection sees it. */
	sqlite3 *db;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);
	fx->st = mem_deref(fx->st);

	/* Reopening applies nothing and keeps the data. */
	assert_int_equal(store_open(&fx->st, fx->dir, &err), 0);
	assert_int_equal(store_schema_version(fx->st, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(store_get(fx->st, STORE_ACCOUNT, fx->account, &pg, &err), 0);
	assert_int_equal(pg->n, 1);
	mem_deref(pg);
}

static void test_open_errors(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	struct store *st = NULL;
	sqlite3 *db;
	char path[128];
	FILE *f;

	/* A file written by a newer build: refused, with a message saying so. */
	snprintf(path, sizeof(path), "%s/ixedge.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "INSERT INTO schema_version VALUES (99, 0)", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(&st, fx->dir, &err), -ENOTSUP);
	assert_null(st);
	assert_non_null(strstr(err.msg, "schema version 99 is newer"));

	/* Not a database at all. */
	fx->st = mem_deref(fx->st);
	rm_dir(fx->dir);
	assert_int_equal(mkdir(fx->dir, 0700), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database, just text. ", f);
	fclose(f);
	assert_int_equal(store_open(&st, fx->dir, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "ixedge.db"));

	/* No such directory. */
	assert_int_equal(store_open(&st, "/nonexistent/ixedge-store", &err), -ENOENT);
	assert_int_equal(store_open(&st, "", &err), -EINVAL);
	/* teardown needs a store */
	rm_dir(fx->dir);
	assert_int_equal(mkdir(fx->dir, 0700), 0);
	assert_int_equal(store_open(&fx->st, fx->dir, &err), 0);
}

static void test_accounts(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	const struct store_account *a;
	struct store_page *pg;
	char sid[35];
	uint64_t m = 0;

	assert_int_equal(store_get(fx->st, STORE_ACCOUNT, fx->account, &pg, &err), 0);
	a = STORE_ROWS(pg, struct store_account);
	assert_int_equal(strlen(a->sid), 34);
	assert_memory_equal(a->sid, "AC", 2);
	assert_int_equal(strlen(a->auth_token), 32);
	assert_int_equal(strspn(a->auth_token, "0123456789abcdef"), 32);
	assert_string_equal(a->friendly_name, "test");
	assert_true(a->date_created > 1600000000000ll);
	assert_true(a->date_updated == a->date_created);
	mem_deref(pg);

	/* Given SID and token (seeding), then the same SID again. */
	assert_int_equal(create_kv(fx->st, STORE_ACCOUNT, sid, &err,
	                           "sid=AC0123456789abcdef0123456789abcdef",
	                           "auth_token=00112233445566778899aabbccddeeff", NULL),
	                 0);
	assert_string_equal(sid, "AC0123456789abcdef0123456789abcdef");
	assert_int_equal(create_kv(fx->st, STORE_ACCOUNT, NULL, &err,
	                           "sid=AC0123456789abcdef0123456789abcdef", NULL),
	                 -EEXIST);
	assert_non_null(strstr(err.msg, "already exists"));
	assert_int_equal(create_kv(fx->st, STORE_ACCOUNT, NULL, &err,
	                           "sid=SD0123456789abcdef0123456789abcdef", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "account.sid"));
	assert_int_equal(create_kv(fx->st, STORE_ACCOUNT, NULL, &err,
	                           "sid=AC0123456789ABCDEF0123456789abcdef", NULL),
	                 -EINVAL);
	assert_int_equal(create_kv(fx->st, STORE_ACCOUNT, NULL, &err, "auth_token=xyz", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "auth_token"));
	assert_int_equal(create_kv(fx->st, STORE_ACCOUNT, NULL, &err, "friendly_name=a\001b", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "control character"));
	assert_int_equal(create_kv(fx->st, STORE_ACCOUNT, NULL, &err, "friendly_name=\xc3(", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "UTF-8"));
	assert_int_equal(create_kv(fx->st, STORE_ACCOUNT, NULL, &err, "date_created=5", NULL),
	                 -EINVAL);

	/* Update: friendly name; the SID cannot change. */
	struct store_account up = {.friendly_name = "renamed", .sid = "AC"};
	assert_int_equal(store_field_mask(STORE_ACCOUNT, "friendly_name", &m, NULL), 0);
	assert_int_equal(store_update(fx->st, STORE_ACCOUNT, sid, &up, m, &pg, &err), 0);
	a = STORE_ROWS(pg, struct store_account);
	assert_string_equal(a->friendly_name, "renamed");
	assert_string_equal(a->auth_token, "00112233445566778899aabbccddeeff");
	assert_true(a->date_updated >= a->date_created);
	mem_deref(pg);
	m = 0;
	assert_int_equal(store_field_mask(STORE_ACCOUNT, "sid", &m, NULL), 0);
	assert_int_equal(store_update(fx->st, STORE_ACCOUNT, sid, &up, m, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "cannot be changed"));
	assert_int_equal(store_field_mask(STORE_ACCOUNT, "nope", &m, &err), -EINVAL);

	/* Delete, then it is gone everywhere. */
	assert_int_equal(store_delete(fx->st, STORE_ACCOUNT, sid, &err), 0);
	assert_int_equal(store_get(fx->st, STORE_ACCOUNT, sid, &pg, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "not found"));
	assert_int_equal(store_delete(fx->st, STORE_ACCOUNT, sid, &err), -ENOENT);
	assert_int_equal(store_update(fx->st, STORE_ACCOUNT, sid, &up, 0, NULL, &err), -ENOENT);
	assert_int_equal(store_get(fx->st, STORE_ACCOUNT, "ACnothex", &pg, &err), -EINVAL);
}

static void test_domains(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	const struct store_domain *d;
	struct store_page *pg;
	char acc[48], sid[35], other[35];
	uint64_t m = 0;

	snprintf(acc, sizeof(acc), "account_sid=%s", fx->account);
	assert_int_equal(create_kv(fx->st, STORE_DOMAIN, NULL, &err, "domain_name=acme", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "domain.account_sid is required"));
	assert_int_equal(create_kv(fx->st, STORE_DOMAIN, NULL, &err, acc, NULL), -EINVAL);
	assert_non_null(strstr(err.msg, "domain.domain_name is required"));
	assert_int_equal(create_kv(fx->st, STORE_DOMAIN, NULL, &err,
	                           "account_sid=AC00000000000000000000000000000000",
	                           "domain_name=acme", NULL),
	                 -ENOENT);
	assert_non_null(strstr(err.msg, "account AC00000000000000000000000000000000 not found"));

	static const char *const bad_names[] = {
	    "a.b",   "-acme",
	    "acme-", "ac me",
	    "",      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 64 */};
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		char kv[96];

		snprintf(kv, sizeof(kv), "domain_name=%s", bad_names[i]);
		assert_int_equal(create_kv(fx->st, STORE_DOMAIN, NULL, &err, acc, kv, NULL),
		                 -EINVAL);
		assert_non_null(strstr(err.msg, "domain_name"));
	}
	assert_int_equal(create_kv(fx->st, STORE_DOMAIN, NULL, &err, acc, "domain_name=x",
	                           "voice_url=ftp://example.com/", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "voice_url"));
	assert_int_equal(create_kv(fx->st, STORE_DOMAIN, NULL, &err, acc, "domain_name=x",
	                           "voice_url=http:///path", NULL),
	                 -EINVAL);
	assert_int_equal(create_kv(fx->st, STORE_DOMAIN, NULL, &err, acc, "domain_name=x",
	                           "voice_url=http://a b/", NULL),
	                 -EINVAL);
	assert_int_equal(create_kv(fx->st, STORE_DOMAIN, NULL, &err, acc, "domain_name=x",
	                           "voice_method=PUT", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "GET or POST"));
	assert_int_equal(
	    create_kv(fx->st, STORE_DOMAIN, NULL, &err, acc, "domain_name=x", "secure=maybe", NULL),
	    -EINVAL);

	/* A good one: the label is stored lowercase, methods default to POST. */
	assert_int_equal(create_kv(fx->st, STORE_DOMAIN, sid, &err, acc, "domain_name=Acme",
	                           "friendly_name=Acme Corp", "voice_url=https://app.example/voice",
	                           "voice_fallback_method=get", "secure=true",
	                           "inline_twiml=<Response>\n\t<Hangup/>\r\n</Response>", NULL),
	                 0);
	assert_int_equal(store_get(fx->st, STORE_DOMAIN, sid, &pg, &err), 0);
	d = STORE_ROWS(pg, struct store_domain);
	assert_string_equal(d->domain_name, "acme");
	assert_string_equal(d->account_sid, fx->account);
	assert_string_equal(d->friendly_name, "Acme Corp");
	assert_string_equal(d->voice_url, "https://app.example/voice");
	assert_string_equal(d->voice_method, "POST");
	assert_string_equal(d->voice_fallback_method, "GET");
	assert_string_equal(d->voice_status_callback_method, "POST");
	assert_string_equal(d->voice_fallback_url, "");
	assert_true(d->secure);
	assert_false(d->sip_registration);
	assert_string_equal(d->inline_twiml, "<Response>\n\t<Hangup/>\r\n</Response>");
	mem_deref(pg);

	/* Domain names are global and case-insensitive. */
	assert_int_equal(create_kv(fx->st, STORE_DOMAIN, NULL, &err, acc, "domain_name=ACME", NULL),
	                 -EEXIST);
	assert_non_null(strstr(err.msg, "'acme' is taken"));
	assert_int_equal(store_domain_by_name(fx->st, "ACME", &pg, &err), 0);
	assert_string_equal(STORE_ROWS(pg, struct store_domain)->sid, sid);
	mem_deref(pg);
	assert_int_equal(store_domain_by_name(fx->st, "nope", &pg, &err), -ENOENT);

	/* Updates: renaming onto a taken name fails, to a free one works; account is fixed. */
	assert_int_equal(
	    create_kv(fx->st, STORE_DOMAIN, other, &err, acc, "domain_name=beta", NULL), 0);
	struct store_domain up = {.domain_name = "ACME", .sip_registration = true, .voice_url = ""};
	assert_int_equal(store_field_mask(STORE_DOMAIN, "domain_name", &m, NULL), 0);
	assert_int_equal(store_update(fx->st, STORE_DOMAIN, other, &up, m, NULL, &err), -EEXIST);
	up.domain_name = "gamma";
	m = 0;
	assert_int_equal(store_field_mask(STORE_DOMAIN, "domain_name sip_registration", &m, NULL),
	                 0);
	assert_int_equal(store_update(fx->st, STORE_DOMAIN, other, &up, m, &pg, &err), 0);
	d = STORE_ROWS(pg, struct store_domain);
	assert_string_equal(d->domain_name, "gamma");
	assert_true(d->sip_registration);
	mem_deref(pg);
	/* Renaming to its own name is no conflict. */
	assert_int_equal(store_update(fx->st, STORE_DOMAIN, other, &up, m, NULL, &err), 0);
	/* Clearing a URL. */
	m = 0;
	assert_int_equal(store_field_mask(STORE_DOMAIN, "voice_url", &m, NULL), 0);
	assert_int_equal(store_update(fx->st, STORE_DOMAIN, sid, &up, m, &pg, &err), 0);
	assert_string_equal(STORE_ROWS(pg, struct store_domain)->voice_url, "");
	assert_string_equal(STORE_ROWS(pg, struct store_domain)->domain_name, "acme");
	mem_deref(pg);
	m = 0;
	assert_int_equal(store_field_mask(STORE_DOMAIN, "account_sid", &m, NULL), 0);
	assert_int_equal(store_update(fx->st, STORE_DOMAIN, sid, &up, m, NULL, &err), -EINVAL);
	assert_int_equal(store_delete(fx->st, STORE_DOMAIN, other, &err), 0);
	assert_int_equal(store_delete(fx->st, STORE_DOMAIN, other, &err), -ENOENT);
}

static void test_acls_and_limit(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	struct store_query q = {.page_size = 1000};
	struct store_page *pg;
	char acc[48], acl[35], acl2[35], lkv[64], ip[35], other[35], okv[48];

	snprintf(acc, sizeof(acc), "account_sid=%s", fx->account);
	assert_int_equal(create_kv(fx->st, STORE_ACL, NULL, &err, acc, NULL), -EINVAL);
	assert_non_null(strstr(err.msg, "friendly_name is required"));
	assert_int_equal(create_kv(fx->st, STORE_ACL, NULL, &err, acc, "friendly_name=", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "friendly_name is required"));
	assert_int_equal(create_kv(fx->st, STORE_ACL, acl, &err, acc, "friendly_name=office", NULL),
	                 0);
	assert_int_equal(create_kv(fx->st, STORE_ACL, acl2, &err, acc, "friendly_name=dc", NULL),
	                 0);
	snprintf(lkv, sizeof(lkv), "ip_access_control_list_sid=%s", acl);

	static const char *const bad_ips[] = {"1.2.3.256", "01.2.3.4", "::1",
	                                      "1.2.3",     "1.2.3.4 ", "a.b.c.d"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_ips); i++) {
		char kv[64];

		snprintf(kv, sizeof(kv), "ip_address=%s", bad_ips[i]);
		assert_int_equal(
		    create_kv(fx->st, STORE_IP, NULL, &err, lkv, "friendly_name=x", kv, NULL),
		    -EINVAL);
		assert_non_null(strstr(err.msg, "ip_address"));
	}
	assert_int_equal(create_kv(fx->st, STORE_IP, NULL, &err, lkv, "friendly_name=x",
	                           "ip_address=10.0.0.0", "cidr_prefix_length=33", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "cidr_prefix_length"));
	assert_int_equal(
	    create_kv(fx->st, STORE_IP, NULL, &err, "friendly_name=x", "ip_address=10.0.0.1", NULL),
	    -EINVAL);

	/* Default prefix 32, an explicit 0 stays 0; account_sid comes from the list. */
	assert_int_equal(create_kv(fx->st, STORE_IP, ip, &err, lkv, "friendly_name=pbx",
	                           "ip_address=192.0.2.10", NULL),
	                 0);
	assert_int_equal(store_get(fx->st, STORE_IP, ip, &pg, &err), 0);
	assert_int_equal(STORE_ROWS(pg, struct store_ip)->cidr_prefix_length, 32);
	assert_string_equal(STORE_ROWS(pg, struct store_ip)->account_sid, fx->account);
	assert_string_equal(STORE_ROWS(pg, struct store_ip)->ip_access_control_list_sid, acl);
	mem_deref(pg);
	assert_int_equal(create_kv(fx->st, STORE_IP, ip, &err, lkv, "friendly_name=all",
	                           "ip_address=0.0.0.0", "cidr_prefix_length=0", NULL),
	                 0);
	assert_int_equal(store_get(fx->st, STORE_IP, ip, &pg, &err), 0);
	assert_int_equal(STORE_ROWS(pg, struct store_ip)->cidr_prefix_length, 0);
	mem_deref(pg);

	/* The same address twice in a list: no; in another list: yes. */
	assert_int_equal(create_kv(fx->st, STORE_IP, NULL, &err, lkv, "friendly_name=dup",
	                           "ip_address=192.0.2.10", NULL),
	                 -EEXIST);
	assert_non_null(strstr(err.msg, "192.0.2.10"));
	char l2kv[64];
	snprintf(l2kv, sizeof(l2kv), "ip_access_control_list_sid=%s", acl2);
	assert_int_equal(create_kv(fx->st, STORE_IP, NULL, &err, l2kv, "friendly_name=dup",
	                           "ip_address=192.0.2.10", NULL),
	                 0);

	/* Another account's list is not found through this account. */
	make_account(fx->st, other);
	snprintf(okv, sizeof(okv), "account_sid=%s", other);
	assert_int_equal(create_kv(fx->st, STORE_IP, NULL, &err, lkv, okv, "friendly_name=x",
	                           "ip_address=10.1.1.1", NULL),
	                 -ENOENT);
	assert_int_equal(create_kv(fx->st, STORE_IP, NULL, &err,
	                           "ip_access_control_list_sid=AL00000000000000000000000000000000",
	                           "friendly_name=x", "ip_address=10.1.1.1", NULL),
	                 -ENOENT);
	assert_int_equal(create_kv(fx->st, STORE_IP, NULL, &err,
	                           "ip_access_control_list_sid=CL00000000000000000000000000000000",
	                           "friendly_name=x", "ip_address=10.1.1.1", NULL),
	                 -EINVAL);

	/* 100 addresses per list: the 101st is refused. */
	for (int i = 2; i < 100; i++) {
		char kv[48];

		snprintf(kv, sizeof(kv), "ip_address=10.0.%d.%d", i / 200, i % 200);
		assert_int_equal(
		    create_kv(fx->st, STORE_IP, NULL, &err, lkv, "friendly_name=n", kv, NULL), 0);
	}
	assert_int_equal(create_kv(fx->st, STORE_IP, NULL, &err, lkv, "friendly_name=n",
	                           "ip_address=10.9.9.9", NULL),
	                 -E2BIG);
	assert_non_null(strstr(err.msg, "100"));
	q.where[0].field = "ip_access_control_list_sid";
	q.where[0].value = acl;
	assert_int_equal(store_list(fx->st, STORE_IP, &q, &pg, &err), 0);
	assert_int_equal(pg->n, 100);
	mem_deref(pg);

	/* Deleting the list deletes its addresses. */
	assert_int_equal(store_delete(fx->st, STORE_ACL, acl, &err), 0);
	assert_int_equal(store_list(fx->st, STORE_IP, &q, &pg, &err), 0);
	assert_int_equal(pg->n, 0);
	mem_deref(pg);
	assert_int_equal(store_get(fx->st, STORE_IP, ip, &pg, &err), -ENOENT);
}

static void test_credentials(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	const struct store_cred *c;
	struct store_page *pg;
	char acc[48], cl[35], lkv[64], cr[35];
	uint64_t m = 0;

	snprintf(acc, sizeof(acc), "account_sid=%s", fx->account);
	assert_int_equal(
	    create_kv(fx->st, STORE_CREDLIST, cl, &err, acc, "friendly_name=staff", NULL), 0);
	snprintf(lkv, sizeof(lkv), "credential_list_sid=%s", cl);

	static const char *const bad_pw[] = {"Short1a", "alllowercase123", "ALLUPPERCASE123",
	                                     "NoDigitsHereAtAll", "Tab\there123456"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_pw); i++) {
		char kv[64];

		snprintf(kv, sizeof(kv), "password=%s", bad_pw[i]);
		assert_int_equal(
		    create_kv(fx->st, STORE_CRED, NULL, &err, lkv, "username=alice", kv, NULL),
		    -EINVAL);
		assert_non_null(strstr(err.msg, "credential.password"));
	}
	assert_int_equal(create_kv(fx->st, STORE_CRED, NULL, &err, lkv, "username=al\"ice",
	                           "password=Secret123456", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "username"));
	assert_int_equal(create_kv(fx->st, STORE_CRED, NULL, &err, lkv, "username=a@b",
	                           "password=Secret123456", NULL),
	                 -EINVAL);
	assert_int_equal(create_kv(fx->st, STORE_CRED, NULL, &err, lkv, "username=alice", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "password is required"));
	/* Derived fields cannot be given. */
	assert_int_equal(create_kv(fx->st, STORE_CRED, NULL, &err, lkv, "username=alice",
	                           "password=Secret123456", "ha1_md5=00", NULL),
	                 -EINVAL);

	assert_int_equal(create_kv(fx->st, STORE_CRED, cr, &err, lkv, "username=alice",
	                           "password=Secret123456", NULL),
	                 0);
	assert_int_equal(store_get(fx->st, STORE_CRED, cr, &pg, &err), 0);
	c = STORE_ROWS(pg, struct store_cred);
	assert_string_equal(c->username, "alice");
	assert_string_equal(c->password, ""); /* never returned */
	assert_string_equal(c->realm, "sip.twilio.com");
	/* H(alice:sip.twilio.com:Secret123456), computed independently. */
	assert_string_equal(c->ha1_md5, "50d018f5c1a720a6e885fc17d8f6bc73");
	assert_string_equal(c->ha1_sha256,
	                    "12f553b169cc00e0b18959f42b411f7d7652d10ec8a4dc963efaad12297ae574");
	assert_string_equal(c->account_sid, fx->account);
	mem_deref(pg);
	assert_int_equal(create_kv(fx->st, STORE_CRED, NULL, &err, lkv, "username=alice",
	                           "password=Other1234567x", NULL),
	                 -EEXIST);

	/* A new password under a new realm rehashes; the username is fixed. */
	assert_int_equal(store_realm_set(fx->st, "SIP.Example.NET", &err), 0);
	assert_int_equal(store_realm_set(fx->st, "bad realm", &err), -EINVAL);
	assert_int_equal(store_realm_set(fx->st, "a..b", &err), -EINVAL);
	struct store_cred up = {.password = "Secret123456", .username = "bob"};
	assert_int_equal(store_field_mask(STORE_CRED, "password", &m, NULL), 0);
	assert_int_equal(store_update(fx->st, STORE_CRED, cr, &up, m, &pg, &err), 0);
	c = STORE_ROWS(pg, struct store_cred);
	assert_string_equal(c->realm, "sip.example.net");
	assert_string_equal(c->ha1_md5, "256e54239dd8817f3d58e784d9236b41");
	assert_string_equal(c->username, "alice");
	mem_deref(pg);
	m = 0;
	assert_int_equal(store_field_mask(STORE_CRED, "username", &m, NULL), 0);
	assert_int_equal(store_update(fx->st, STORE_CRED, cr, &up, m, NULL, &err), -EINVAL);
	up.password = "weak";
	m = 0;
	assert_int_equal(store_field_mask(STORE_CRED, "password", &m, NULL), 0);
	assert_int_equal(store_update(fx->st, STORE_CRED, cr, &up, m, NULL, &err), -EINVAL);

	/* The plaintext is nowhere in the file. */
	char path[128], *text;
	FILE *f;
	long len;
	fx->st = mem_deref(fx->st); /* checkpoints the WAL into the file */
	snprintf(path, sizeof(path), "%s/ixedge.db", fx->dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = malloc((size_t)len);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_null(memmem(text, (size_t)len, "Secret123456", 12));
	assert_non_null(memmem(text, (size_t)len, "alice", 5));
	free(text);
	assert_int_equal(store_open(&fx->st, fx->dir, &err), 0);
}

static void test_credential_limit(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	char acc[48], cl[35], lkv[64];

	snprintf(acc, sizeof(acc), "account_sid=%s", fx->account);
	assert_int_equal(
	    create_kv(fx->st, STORE_CREDLIST, cl, &err, acc, "friendly_name=big", NULL), 0);
	snprintf(lkv, sizeof(lkv), "credential_list_sid=%s", cl);
	for (int i = 0; i < 1000; i++) {
		char kv[32];

		snprintf(kv, sizeof(kv), "username=user%d", i);
		assert_int_equal(create_kv(fx->st, STORE_CRED, NULL, &err, lkv, kv,
		                           "password=Secret123456", NULL),
		                 0);
	}
	assert_int_equal(create_kv(fx->st, STORE_CRED, NULL, &err, lkv, "username=one-more",
	                           "password=Secret123456", NULL),
	                 -E2BIG);
	assert_non_null(strstr(err.msg, "1000"));
}

static void test_mappings(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	struct store_page *pg;
	char acc[48], dom[35], acl[35], cl[35], cl2[35], other[35], okv[48], foreign[35];

	snprintf(acc, sizeof(acc), "account_sid=%s", fx->account);
	assert_int_equal(create_kv(fx->st, STORE_DOMAIN, dom, &err, acc, "domain_name=acme", NULL),
	                 0);
	assert_int_equal(create_kv(fx->st, STORE_ACL, acl, &err, acc, "friendly_name=a", NULL), 0);
	assert_int_equal(create_kv(fx->st, STORE_CREDLIST, cl, &err, acc, "friendly_name=c", NULL),
	                 0);
	assert_int_equal(create_kv(fx->st, STORE_CREDLIST, cl2, &err, acc, "friendly_name=d", NULL),
	                 0);
	make_account(fx->st, other);
	snprintf(okv, sizeof(okv), "account_sid=%s", other);
	assert_int_equal(create_kv(fx->st, STORE_ACL, foreign, &err, okv, "friendly_name=f", NULL),
	                 0);

	assert_int_equal(store_map_add(fx->st, STORE_MAP_CALL_ACL, dom, acl, &err), 0);
	assert_int_equal(store_map_add(fx->st, STORE_MAP_CALL_ACL, dom, acl, &err), -EEXIST);
	assert_int_equal(store_map_add(fx->st, STORE_MAP_CALL_ACL, dom, foreign, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "another account"));
	assert_int_equal(store_map_add(fx->st, STORE_MAP_CALL_ACL, dom, cl, &err), -EINVAL);
	assert_int_equal(store_map_add(fx->st, STORE_MAP_CALL_CREDS, dom,
	                               "CL00000000000000000000000000000000", &err),
	                 -ENOENT);
	assert_int_equal(store_map_add(fx->st, STORE_MAP_CALL_CREDS,
	                               "SD00000000000000000000000000000000", cl, &err),
	                 -ENOENT);
	assert_int_equal(store_map_add(fx->st, STORE_MAP_CALL_CREDS, dom, cl2, &err), 0);
	assert_int_equal(store_map_add(fx->st, STORE_MAP_CALL_CREDS, dom, cl, &err), 0);
	assert_int_equal(store_map_add(fx->st, STORE_MAP_REG_CREDS, dom, cl, &err), 0);

	assert_int_equal(store_map_list(fx->st, STORE_MAP_CALL_CREDS, dom, NULL, &pg, &err), 0);
	assert_int_equal(pg->kind, STORE_CREDLIST);
	assert_int_equal(pg->n, 2);
	mem_deref(pg);
	assert_int_equal(store_map_list(fx->st, STORE_MAP_CALL_ACL, dom, NULL, &pg, &err), 0);
	assert_int_equal(pg->n, 1);
	assert_string_equal(STORE_ROWS(pg, struct store_acl)->sid, acl);
	assert_string_equal(STORE_ROWS(pg, struct store_acl)->friendly_name, "a");
	mem_deref(pg);

	/* Removing, and deleting a mapped list, both unmap. */
	assert_int_equal(store_map_remove(fx->st, STORE_MAP_CALL_CREDS, dom, cl2, &err), 0);
	assert_int_equal(store_map_remove(fx->st, STORE_MAP_CALL_CREDS, dom, cl2, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "not mapped"));
	assert_int_equal(store_delete(fx->st, STORE_CREDLIST, cl, &err), 0);
	assert_int_equal(store_map_list(fx->st, STORE_MAP_CALL_CREDS, dom, NULL, &pg, &err), 0);
	assert_int_equal(pg->n, 0);
	mem_deref(pg);
	assert_int_equal(store_map_list(fx->st, STORE_MAP_REG_CREDS, dom, NULL, &pg, &err), 0);
	assert_int_equal(pg->n, 0);
	mem_deref(pg);

	/* Deleting the account deletes its config. */
	assert_int_equal(store_delete(fx->st, STORE_ACCOUNT, fx->account, &err), 0);
	assert_int_equal(store_get(fx->st, STORE_DOMAIN, dom, &pg, &err), -ENOENT);
	assert_int_equal(store_get(fx->st, STORE_ACL, acl, &pg, &err), -ENOENT);
	assert_int_equal(store_map_list(fx->st, STORE_MAP_CALL_ACL, dom, NULL, &pg, &err), -ENOENT);
	assert_int_equal(store_check(fx->st, &err), 0);

	enum store_map map;
	assert_int_equal(store_map_find("registrations-credentials", &map), 0);
	assert_int_equal(map, STORE_MAP_REG_CREDS);
	assert_string_equal(store_map_name(STORE_MAP_CALL_ACL), "calls-acl");
	assert_int_equal(store_map_find("x", &map), -ENOENT);
}

static void test_paging(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	struct store_query q = {0};
	struct store_page *pg;
	char acc[48], sids[120][35], token[24];
	size_t seen = 0;

	snprintf(acc, sizeof(acc), "account_sid=%s", fx->account);
	for (int i = 0; i < 120; i++)
		assert_int_equal(
		    create_kv(fx->st, STORE_ACL, sids[i], &err, acc, "friendly_name=l", NULL), 0);

	/* Default 50 a page, oldest first, tokens to continue. */
	for (int p = 0; p < 3; p++) {
		assert_int_equal(store_list(fx->st, STORE_ACL, &q, &pg, &err), 0);
		assert_int_equal(pg->page_size, 50);
		assert_int_equal(pg->n, p < 2 ? 50 : 20);
		for (size_t i = 0; i < pg->n; i++)
			assert_string_equal(STORE_ROWS(pg, struct store_acl)[i].sid,
			                    sids[seen + i]);
		seen += pg->n;
		assert_int_equal(!!pg->next_token[0], p < 2);
		strcpy(token, pg->next_token);
		q.page_token = token;
		mem_deref(pg);
	}
	assert_int_equal(seen, 120);

	/* Page numbers, a filter, and the size bounds. */
	q = (struct store_query){.page_size = 7, .page = 3};
	assert_int_equal(store_list(fx->st, STORE_ACL, &q, &pg, &err), 0);
	assert_int_equal(pg->n, 7);
	assert_int_equal(pg->page, 3);
	assert_string_equal(STORE_ROWS(pg, struct store_acl)[0].sid, sids[21]);
	mem_deref(pg);
	q = (struct store_query){.page_size = 1000};
	q.where[0].field = "account_sid";
	q.where[0].value = "AC00000000000000000000000000000000";
	assert_int_equal(store_list(fx->st, STORE_ACL, &q, &pg, &err), 0);
	assert_int_equal(pg->n, 0);
	assert_string_equal(pg->next_token, "");
	mem_deref(pg);
	q.where[0].value = fx->account;
	assert_int_equal(store_list(fx->st, STORE_ACL, &q, &pg, &err), 0);
	assert_int_equal(pg->n, 120);
	mem_deref(pg);
	q.page_size = 1001;
	assert_int_equal(store_list(fx->st, STORE_ACL, &q, &pg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "page_size"));
	q = (struct store_query){.page_token = "PTx"};
	assert_int_equal(store_list(fx->st, STORE_ACL, &q, &pg, &err), -EINVAL);
	q = (struct store_query){0};
	q.where[0].field = "password";
	q.where[0].value = "x";
	assert_int_equal(store_list(fx->st, STORE_CRED, &q, &pg, &err), -EINVAL);
	q.where[0].field = "nope";
	assert_int_equal(store_list(fx->st, STORE_ACL, &q, &pg, &err), -EINVAL);
}

static void test_calls(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	struct store_query q = {0};
	const struct store_call_rec *c;
	struct store_page *pg;
	char acc[48], first[35], second[35], pkv[64];

	snprintf(acc, sizeof(acc), "account_sid=%s", fx->account);
	assert_int_equal(create_kv(fx->st, STORE_CALL, NULL, &err, acc, "direction=sideways",
	                           "status=queued", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "outbound-dial"));
	assert_int_equal(create_kv(fx->st, STORE_CALL, NULL, &err, acc, "direction=inbound",
	                           "status=done", NULL),
	                 -EINVAL);
	assert_int_equal(create_kv(fx->st, STORE_CALL, NULL, &err, acc, "direction=inbound",
	                           "status=completed", "sip_status=99", NULL),
	                 -EINVAL);
	assert_int_equal(create_kv(fx->st, STORE_CALL, NULL, &err, acc, "direction=inbound",
	                           "status=completed", "parent_call_sid=CAxyz", NULL),
	                 -EINVAL);
	assert_int_equal(
	    create_kv(fx->st, STORE_CALL, first, &err, acc, "direction=inbound", "status=completed",
	              "from=sip:alice@192.0.2.1", "to=sip:bob@demo.sip.ashburn-ix.twilio.com",
	              "start_time=1700000000000", "answer_time=1700000001000",
	              "end_time=1700000031000", "duration=30", "edge=ashburn-ix",
	              "gateway=127.0.1.64:5060", "sip_call_id=abc@host", "sip_status=200",
	              "end_reason=caller hung up", "hung_up_by=caller", NULL),
	    0);
	snprintf(pkv, sizeof(pkv), "parent_call_sid=%s", first);
	assert_int_equal(create_kv(fx->st, STORE_CALL, second, &err, acc, pkv,
	                           "direction=outbound-dial", "status=busy", "sip_status=486",
	                           NULL),
	                 0);
	assert_int_equal(store_get(fx->st, STORE_CALL, first, &pg, &err), 0);
	c = STORE_ROWS(pg, struct store_call_rec);
	assert_string_equal(c->from, "sip:alice@192.0.2.1");
	assert_string_equal(c->to, "sip:bob@demo.sip.ashburn-ix.twilio.com");
	assert_int_equal(c->answer_time, 1700000001000ll);
	assert_int_equal(c->duration, 30);
	assert_int_equal(c->sip_status, 200);
	assert_string_equal(c->hung_up_by, "caller");
	assert_string_equal(c->parent_call_sid, "");
	mem_deref(pg);

	/* Newest first; filters by status and by parent. */
	assert_int_equal(store_list(fx->st, STORE_CALL, &q, &pg, &err), 0);
	assert_int_equal(pg->n, 2);
	assert_string_equal(STORE_ROWS(pg, struct store_call_rec)[0].sid, second);
	mem_deref(pg);
	q.where[0].field = "parent_call_sid";
	q.where[0].value = first;
	q.where[1].field = "sip_status";
	q.where[1].value = "486";
	assert_int_equal(store_list(fx->st, STORE_CALL, &q, &pg, &err), 0);
	assert_int_equal(pg->n, 1);
	assert_string_equal(STORE_ROWS(pg, struct store_call_rec)->status, "busy");
	mem_deref(pg);

	/* Records an earlier run left open (killed mid-call) are closed once. */
	{
		char ringing[35], talking[35];
		size_t closed = 0;

		assert_int_equal(create_kv(fx->st, STORE_CALL, ringing, &err, acc,
		                           "direction=inbound", "status=ringing",
		                           "start_time=1700000100000", NULL),
		                 0);
		assert_int_equal(create_kv(fx->st, STORE_CALL, talking, &err, acc,
		                           "direction=inbound", "status=in-progress",
		                           "start_time=1700000100000", "answer_time=1700000101000",
		                           NULL),
		                 0);
		assert_int_equal(
		    store_calls_close_open(fx->st, 1700000161000, "edge restarted", &closed, &err),
		    0);
		assert_int_equal(closed, 2);
		assert_int_equal(store_get(fx->st, STORE_CALL, ringing, &pg, &err), 0);
		c = STORE_ROWS(pg, struct store_call_rec);
		assert_string_equal(c->status, "failed");
		assert_int_equal(c->end_time, 1700000161000ll);
		assert_string_equal(c->end_reason, "edge restarted");
		assert_string_equal(c->hung_up_by, "edge");
		mem_deref(pg);
		assert_int_equal(store_get(fx->st, STORE_CALL, talking, &pg, &err), 0);
		c = STORE_ROWS(pg, struct store_call_rec);
		assert_string_equal(c->status, "completed");
		assert_int_equal(c->duration, 60);
		mem_deref(pg);
		/* Records with a final status are left as they were (even without an
		 * end time); a second run finds none. */
		assert_int_equal(store_get(fx->st, STORE_CALL, first, &pg, &err), 0);
		assert_string_equal(STORE_ROWS(pg, struct store_call_rec)->end_reason,
		                    "caller hung up");
		mem_deref(pg);
		assert_int_equal(store_get(fx->st, STORE_CALL, second, &pg, &err), 0);
		assert_string_equal(STORE_ROWS(pg, struct store_call_rec)->status, "busy");
		assert_int_equal(STORE_ROWS(pg, struct store_call_rec)->end_time, 0);
		mem_deref(pg);
		assert_int_equal(store_calls_close_open(fx->st, 1700000200000, "x", &closed, &err),
		                 0);
		assert_int_equal(closed, 0);
	}

	/* Call records outlive their account. */
	assert_int_equal(store_delete(fx->st, STORE_ACCOUNT, fx->account, &err), 0);
	assert_int_equal(store_get(fx->st, STORE_CALL, second, &pg, &err), 0);
	mem_deref(pg);
	assert_int_equal(store_delete(fx->st, STORE_CALL, second, &err), 0);
	assert_int_equal(store_get(fx->st, STORE_CALL, second, &pg, &err), -ENOENT);
}

static void test_descriptors(void **state)
{
	const struct store_kind_info *k = store_kind_get(STORE_DOMAIN);
	struct store_domain d = {.domain_name = "acme", .secure = true};
	enum store_kind kind;
	char tmp[24];

	(void)state;
	assert_string_equal(k->name, "domains");
	assert_string_equal(k->prefix, "SD");
	assert_int_equal(store_kind_find("ip_addresses", &kind), 0);
	assert_int_equal(kind, STORE_IP);
	assert_int_equal(store_kind_find("credential", &kind), 0);
	assert_int_equal(kind, STORE_CRED);
	assert_int_equal(store_kind_find("things", &kind), -ENOENT);
	for (size_t i = 0; i < k->nfields; i++) {
		if (!strcmp(k->fields[i].name, "secure"))
			assert_string_equal(store_field_text(&k->fields[i], &d, tmp, sizeof(tmp)),
			                    "true");
		if (!strcmp(k->fields[i].name, "domain_name"))
			assert_string_equal(store_field_text(&k->fields[i], &d, tmp, sizeof(tmp)),
			                    "acme");
		if (!strcmp(k->fields[i].name, "voice_url"))
			assert_string_equal(store_field_text(&k->fields[i], &d, tmp, sizeof(tmp)),
			                    "");
	}
	k = store_kind_get(STORE_IP);
	struct store_ip ip = {.cidr_prefix_length = 24};
	for (size_t i = 0; i < k->nfields; i++)
		if (!strcmp(k->fields[i].name, "cidr_prefix_length"))
			assert_string_equal(store_field_text(&k->fields[i], &ip, tmp, sizeof(tmp)),
			                    "24");
	assert_null(store_kind_get(STORE_NKINDS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_acls_and_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_credential_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mappings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_calls, setup, teardown),
	    cmocka_unit_test(test_descriptors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
