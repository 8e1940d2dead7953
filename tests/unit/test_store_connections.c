/* Unit tests: interconnect connections in the store (migration 2, CRUD, validation, snapshot). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"

#define NX1 "NX0123456789abcdef0123456789abcdef"
#define NX2 "NXfedcba9876543210fedcba9876543210"

struct fx {
	char dir[64];
	struct store *st;
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

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	strcpy(fx->dir, "/tmp/ixconn-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(store_open(&fx->st, fx->dir, NULL), 0);
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

/* Creates a connection from "field=value" pairs (NULL-terminated). */
static int conn_create(struct store *st, struct store_page **out, struct store_err *err, ...)
{
	struct store_connection c = {0};
	char names[8][32];
	uint64_t mask = 0;
	const char *kv;
	size_t n = 0;
	va_list ap;
	int rc = 0;

	va_start(ap, err);
	while ((kv = va_arg(ap, const char *)) && !rc) {
		const char *eq = strchr(kv, '=');

		assert_non_null(eq);
		assert_true(n < 8);
		snprintf(names[n], sizeof(names[n]), "%.*s", (int)(eq - kv), kv);
		rc = store_field_set(STORE_CONNECTION, &c, &mask, names[n], eq + 1, err);
		n++;
	}
	va_end(ap);
	return rc ? rc : store_create(st, STORE_CONNECTION, &c, mask, out, err);
}

static void test_kind(void **state)
{
	const struct store_kind_info *k = store_kind_get(STORE_CONNECTION);
	enum store_kind kind = STORE_ACCOUNT;

	(void)state;
	assert_non_null(k);
	assert_string_equal(k->prefix, "NX");
	assert_string_equal(k->name, "connections");
	assert_int_equal(store_kind_find("connection", &kind), 0);
	assert_int_equal(kind, STORE_CONNECTION);
	assert_null(store_kind_get(STORE_NKINDS));
}

static void test_crud(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	struct store_page *pg = NULL;
	struct store_connection up = {.edge = "Frankfurt-IX"};
	uint64_t mask = 0;
	int v = 0;

	assert_int_equal(store_schema_version(fx->st, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(conn_create(fx->st, &pg, &err, "sid=" NX1, "edge=Ashburn-IX",
	                             "friendly_name=Equinix DC2", NULL),
	                 0);
	assert_int_equal(pg->n, 1);
	/* Stored lowercase: routing compares edge names that way. */
	assert_string_equal(STORE_ROWS(pg, struct store_connection)->edge, "ashburn-ix");
	assert_string_equal(STORE_ROWS(pg, struct store_connection)->friendly_name, "Equinix DC2");
	assert_true(STORE_ROWS(pg, struct store_connection)->date_created > 0);
	pg = mem_deref(pg);

	/* Same SID again, no edge, a bad edge, a bad SID. */
	assert_int_equal(conn_create(fx->st, NULL, &err, "sid=" NX1, "edge=london-ix", NULL),
	                 -EEXIST);
	assert_non_null(strstr(err.msg, "already exists"));
	assert_int_equal(conn_create(fx->st, NULL, &err, "friendly_name=x", NULL), -EINVAL);
	assert_non_null(strstr(err.msg, "connection.edge is required"));
	assert_int_equal(conn_create(fx->st, NULL, &err, "edge=ash burn", NULL), -EINVAL);
	assert_non_null(strstr(err.msg, "connection.edge"));
	assert_int_equal(conn_create(fx->st, NULL, &err, "edge=-ix", NULL), -EINVAL);
	assert_int_equal(conn_create(fx->st, NULL, &err, "sid=AC0123456789abcdef0123456789abcdef",
	                             "edge=x", NULL),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "not a connection SID"));

	/* A generated SID; list oldest first. */
	assert_int_equal(conn_create(fx->st, NULL, &err, "edge=tokyo-ix", NULL), 0);
	assert_int_equal(store_list(fx->st, STORE_CONNECTION, NULL, &pg, &err), 0);
	assert_int_equal(pg->n, 2);
	assert_string_equal(STORE_ROWS(pg, struct store_connection)[0].sid, NX1);
	assert_int_equal(strncmp(STORE_ROWS(pg, struct store_connection)[1].sid, "NX", 2), 0);
	pg = mem_deref(pg);

	assert_int_equal(store_field_mask(STORE_CONNECTION, "edge", &mask, &err), 0);
	assert_int_equal(store_update(fx->st, STORE_CONNECTION, NX1, &up, mask, &pg, &err), 0);
	assert_string_equal(STORE_ROWS(pg, struct store_connection)->edge, "frankfurt-ix");
	pg = mem_deref(pg);

	assert_int_equal(store_delete(fx->st, STORE_CONNECTION, NX1, &err), 0);
	assert_int_equal(store_delete(fx->st, STORE_CONNECTION, NX1, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "connection " NX1 " not found"));
	assert_int_equal(store_get(fx->st, STORE_CONNECTION, NX1, &pg, &err), -ENOENT);
}

static void test_snapshot(void **state)
{
	struct fx *fx = *state;
	struct store_snapshot *snap = NULL;
	const struct store_connection *c;
	bool changed = false;

	assert_int_equal(conn_create(fx->st, NULL, NULL, "sid=" NX1, "edge=ashburn-ix", NULL), 0);
	assert_int_equal(store_snapshot_load(fx->st, &snap, NULL), 0);
	assert_int_equal(snap->nconnections, 1);
	c = store_snapshot_connection(snap, slice_cstr(NX1));
	assert_non_null(c);
	assert_string_equal(c->edge, "ashburn-ix");
	assert_null(store_snapshot_connection(snap, slice_cstr(NX2)));

	/* Connections are config: a change is seen by store_changed(). */
	assert_int_equal(store_changed(fx->st, snap, &changed), 0);
	assert_false(changed);
	assert_int_equal(conn_create(fx->st, NULL, NULL, "sid=" NX2, "edge=london-ix", NULL), 0);
	assert_int_equal(store_changed(fx->st, snap, &changed), 0);
	assert_true(changed);
	mem_deref(snap);

	assert_int_equal(store_snapshot_load(fx->st, &snap, NULL), 0);
	assert_int_equal(snap->nconnections, 2);
	assert_string_equal(store_snapshot_connection(snap, slice_cstr(NX2))->edge, "london-ix");
	mem_deref(snap);
}

static int count_h(void *arg, const struct store_connection *c)
{
	size_t *n = arg;

	/* Oldest first: NX1 was created first. */
	if (*n == 0)
		assert_string_equal(c->sid, NX1);
	(*n)++;
	return *n == 2 ? 7 : 0;
}

static void test_snapshot_each(void **state)
{
	struct fx *fx = *state;
	struct store_snapshot *snap = NULL;
	size_t n = 0;

	assert_int_equal(conn_create(fx->st, NULL, NULL, "sid=" NX1, "edge=a", NULL), 0);
	assert_int_equal(conn_create(fx->st, NULL, NULL, "sid=" NX2, "edge=b", NULL), 0);
	assert_int_equal(conn_create(fx->st, NULL, NULL, "edge=c", NULL), 0);
	assert_int_equal(store_snapshot_load(fx->st, &snap, NULL), 0);
	/* A non-zero return stops the walk and comes back. */
	assert_int_equal(store_snapshot_connection_each(snap, count_h, &n), 7);
	assert_int_equal(n, 2);
	mem_deref(snap);
}

/* The check a write applies, for one value (list filters use it). */
static void test_field_valid(void **state)
{
	struct store_err err = {""};

	(void)state;
	assert_int_equal(store_field_valid(STORE_CALL, "status", "completed", &err), 0);
	assert_int_equal(store_field_valid(STORE_CALL, "status", "complete", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "call.status: must be one of:"));
	assert_int_equal(store_field_valid(STORE_CALL, "direction", "inbound", &err), 0);
	assert_int_equal(store_field_valid(STORE_CALL, "sip_status", "700", &err), -EINVAL);
	assert_int_equal(store_field_valid(STORE_CALL, "sip_status", "x", &err), -EINVAL);
	assert_int_equal(store_field_valid(STORE_DOMAIN, "account_sid", "AC0", &err), -EINVAL);
	assert_int_equal(store_field_valid(STORE_DOMAIN, "domain_name", "Acme", &err), 0);
	assert_int_equal(store_field_valid(STORE_IP, "ip_address", "192.0.2.256", &err), -EINVAL);
	assert_int_equal(store_field_valid(STORE_CONNECTION, "edge", "us1-ix", &err), 0);
	assert_int_equal(store_field_valid(STORE_CONNECTION, "nope", "x", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "connection has no field 'nope'"));
	assert_int_equal(store_field_valid(STORE_NKINDS, "sid", "x", &err), -EINVAL);
}

/* A file at schema version 1 (as shipped before connections and media counters) is migrated on
 * open. */
static void test_migrate_from_1(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	char path[128];
	sqlite3 *db;
	int v = 0;

	fx->st = mem_deref(fx->st);
	snprintf(path, sizeof(path), "%s/ixedge.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "DROP TABLE connections; "
	                              "ALTER TABLE calls DROP COLUMN media_packets_received; "
	                              "ALTER TABLE calls DROP COLUMN media_bytes_received; "
	                              "ALTER TABLE calls DROP COLUMN media_packets_sent; "
	                              "ALTER TABLE calls DROP COLUMN media_bytes_sent; "
	                              "ALTER TABLE calls DROP COLUMN media_packets_lost; "
	                              "ALTER TABLE calls DROP COLUMN media_jitter; "
	                              "DELETE FROM schema_version WHERE version >= 2",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(&fx->st, fx->dir, &err), 0);
	assert_int_equal(store_schema_version(fx->st, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(conn_create(fx->st, NULL, &err, "sid=" NX1, "edge=ashburn-ix", NULL), 0);
	assert_int_equal(store_check(fx->st, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kind),
	    cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_each, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_from_1, setup, teardown),
	    cmocka_unit_test(test_field_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
