/* Unit tests: the store snapshot (lookups, ACLs, credentials) and change detection across
 * connections. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"

struct fx {
	char dir[64];
	struct store *a, *b; /* two connections to one file, like the daemon and ixctl */
	char account[35], domain[35], acl[35], acl2[35], cl[35], cl2[35], reg[35];
};

static void rm_dir(const char *dir)
{
	static const char *const files[] = {"ixedge.db", "ixedge.db-wal", "ixedge.db-shm"};
	char path[128];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Creates one record from "field=value" pairs into sid. */
static void mk(struct store *st, enum store_kind kind, char sid[35], ...)
{
	union {
		struct store_domain d;
		struct store_cred c;
		struct store_ip i;
	} rec;
	struct store_err err = {""};
	struct store_page *pg = NULL;
	char names[8][64];
	uint64_t mask = 0;
	const char *kv;
	size_t n = 0;
	va_list ap;

	memset(&rec, 0, sizeof(rec));
	va_start(ap, sid);
	while ((kv = va_arg(ap, const char *))) {
		const char *eq = strchr(kv, '=');

		snprintf(names[n], sizeof(names[n]), "%.*s", (int)(eq - kv), kv);
		assert_int_equal(store_field_set(kind, &rec, &mask, names[n], eq + 1, &err), 0);
		n++;
	}
	va_end(ap);
	if (store_create(st, kind, &rec, mask, &pg, &err))
		fail_msg("create: %s", err.msg);
	if (sid)
		strcpy(sid, *(const char *const *)pg->rows);
	mem_deref(pg);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char acc[64], l[64], c[64], c2[64], r[64];

	strcpy(fx->dir, "/tmp/ixsnap-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(store_open(&fx->a, fx->dir, NULL), 0);
	assert_int_equal(store_open(&fx->b, fx->dir, NULL), 0);
	mk(fx->a, STORE_ACCOUNT, fx->account, "friendly_name=demo", NULL);
	snprintf(acc, sizeof(acc), "account_sid=%s", fx->account);
	mk(fx->a, STORE_DOMAIN, fx->domain, acc, "domain_name=acme",
	   "inline_twiml=<Response><Hangup/></Response>", NULL);
	mk(fx->a, STORE_ACL, fx->acl, acc, "friendly_name=lab", NULL);
	mk(fx->a, STORE_ACL, fx->acl2, acc, "friendly_name=empty", NULL);
	snprintf(l, sizeof(l), "ip_access_control_list_sid=%s", fx->acl);
	mk(fx->a, STORE_IP, NULL, l, "friendly_name=net", "ip_address=10.1.2.3",
	   "cidr_prefix_length=8", NULL);
	mk(fx->a, STORE_IP, NULL, l, "friendly_name=host", "ip_address=192.0.2.7", NULL);
	mk(fx->a, STORE_CREDLIST, fx->cl, acc, "friendly_name=staff", NULL);
	mk(fx->a, STORE_CREDLIST, fx->cl2, acc, "friendly_name=more", NULL);
	mk(fx->a, STORE_CREDLIST, fx->reg, acc, "friendly_name=phones", NULL);
	snprintf(c, sizeof(c), "credential_list_sid=%s", fx->cl);
	snprintf(c2, sizeof(c2), "credential_list_sid=%s", fx->cl2);
	snprintf(r, sizeof(r), "credential_list_sid=%s", fx->reg);
	mk(fx->a, STORE_CRED, NULL, c, "username=alice", "password=Secret123456", NULL);
	mk(fx->a, STORE_CRED, NULL, c, "username=bob", "password=Secret123456", NULL);
	mk(fx->a, STORE_CRED, NULL, c2, "username=alice", "password=Another12345x", NULL);
	mk(fx->a, STORE_CRED, NULL, r, "username=phone1", "password=Secret123456", NULL);
	assert_int_equal(store_map_add(fx->a, STORE_MAP_CALL_ACL, fx->domain, fx->acl, NULL), 0);
	assert_int_equal(store_map_add(fx->a, STORE_MAP_CALL_ACL, fx->domain, fx->acl2, NULL), 0);
	assert_int_equal(store_map_add(fx->a, STORE_MAP_CALL_CREDS, fx->domain, fx->cl, NULL), 0);
	assert_int_equal(store_map_add(fx->a, STORE_MAP_CALL_CREDS, fx->domain, fx->cl2, NULL), 0);
	assert_int_equal(store_map_add(fx->a, STORE_MAP_REG_CREDS, fx->domain, fx->reg, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	mem_deref(fx->a);
	mem_deref(fx->b);
	rm_dir(fx->dir);
	free(fx);
	return 0;
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

struct nets {
	uint32_t net[8];
	unsigned prefix[8];
	size_t n, stop_at;
};

static int net_h(void *arg, uint32_t net, unsigned prefix)
{
	struct nets *ns = arg;

	if (ns->stop_at)
		return 7;
	assert_true(ns->n < 8);
	ns->net[ns->n] = net;
	ns->prefix[ns->n++] = prefix;
	return 0;
}

static void test_contents(void **state)
{
	struct fx *fx = *state;
	struct store_snapshot *s = NULL;
	const struct store_snap_domain *d;
	const struct store_snap_cred *c, *c2;
	struct store_err err = {""};

	assert_int_equal(store_snapshot_load(fx->b, &s, &err), 0);
	assert_int_equal(s->naccounts, 1);
	assert_int_equal(s->ndomains, 1);
	assert_int_equal(s->stale_creds, 0);
	assert_string_equal(s->realm, "sip.twilio.com");

	assert_null(store_snapshot_domain(s, SLICE("nope")));
	d = store_snapshot_domain(s, SLICE("ACME"));
	assert_non_null(d);
	assert_string_equal(store_snap_domain_rec(d)->sid, fx->domain);
	assert_string_equal(store_snap_domain_rec(d)->inline_twiml,
	                    "<Response><Hangup/></Response>");
	assert_string_equal(store_snap_domain_account(d)->sid, fx->account);
	assert_int_equal(strlen(store_snap_domain_account(d)->auth_token), 32);
	assert_ptr_equal(store_snapshot_account(s, slice_cstr(fx->account)),
	                 store_snap_domain_account(d));
	assert_int_equal(store_snap_domain_nmapped(d, STORE_MAP_CALL_ACL), 2);
	assert_int_equal(store_snap_domain_nmapped(d, STORE_MAP_CALL_CREDS), 2);
	assert_int_equal(store_snap_domain_nmapped(d, STORE_MAP_REG_CREDS), 1);
	assert_int_equal(store_snap_domain_nmapped(d, STORE_NMAPS), 5);

	/* 10.1.2.3/8 covers 10/8; 192.0.2.7/32 only itself. */
	assert_true(store_snap_domain_ip_allowed(d, IP4(10, 0, 0, 1)));
	assert_true(store_snap_domain_ip_allowed(d, IP4(10, 255, 255, 255)));
	assert_false(store_snap_domain_ip_allowed(d, IP4(11, 0, 0, 0)));
	assert_true(store_snap_domain_ip_allowed(d, IP4(192, 0, 2, 7)));
	assert_false(store_snap_domain_ip_allowed(d, IP4(192, 0, 2, 8)));
	assert_false(store_snap_domain_ip_allowed(d, IP4(127, 0, 0, 1)));

	/* The raw entries, for the domain layer's compiled matcher: 10.0.0.0/8 and 192.0.2.7/32. */
	struct nets nets = {0};
	assert_int_equal(store_snap_domain_acl_each(d, net_h, &nets), 0);
	assert_int_equal(nets.n, 2);
	assert_true((nets.net[0] == IP4(10, 0, 0, 0) && nets.prefix[0] == 8 &&
	             nets.net[1] == IP4(192, 0, 2, 7) && nets.prefix[1] == 32) ||
	            (nets.net[1] == IP4(10, 0, 0, 0) && nets.prefix[1] == 8 &&
	             nets.net[0] == IP4(192, 0, 2, 7) && nets.prefix[0] == 32));
	nets.stop_at = 1;
	assert_int_equal(store_snap_domain_acl_each(d, net_h, &nets), 7);

	/* alice is in both call lists, in mapping order; phone1 only for registrations. */
	c = store_snap_cred_find(d, STORE_MAP_CALL_CREDS, SLICE("alice"), NULL);
	assert_non_null(c);
	assert_string_equal(c->credential_list_sid, fx->cl);
	assert_string_equal(c->ha1_md5, "50d018f5c1a720a6e885fc17d8f6bc73");
	assert_int_equal(strlen(c->ha1_sha256), 64);
	c2 = store_snap_cred_find(d, STORE_MAP_CALL_CREDS, SLICE("alice"), c);
	assert_non_null(c2);
	assert_string_equal(c2->credential_list_sid, fx->cl2);
	assert_string_not_equal(c2->ha1_md5, c->ha1_md5);
	assert_null(store_snap_cred_find(d, STORE_MAP_CALL_CREDS, SLICE("alice"), c2));
	assert_null(store_snap_cred_find(d, STORE_MAP_CALL_CREDS, SLICE("Alice"), NULL));
	assert_null(store_snap_cred_find(d, STORE_MAP_CALL_CREDS, SLICE("phone1"), NULL));
	assert_non_null(store_snap_cred_find(d, STORE_MAP_REG_CREDS, SLICE("phone1"), NULL));
	assert_null(store_snap_cred_find(d, STORE_MAP_REG_CREDS, SLICE("bob"), NULL));
	assert_null(store_snap_cred_find(d, STORE_MAP_CALL_ACL, SLICE("bob"), NULL));
	mem_deref(s);
}

static void test_changes_across_connections(void **state)
{
	struct fx *fx = *state;
	struct store_snapshot *s = NULL, *s2 = NULL;
	const struct store_snap_domain *d;
	struct store_err err = {""};
	char acc[64], dom[35];
	bool changed = true;

	/* The daemon's connection (a) holds a snapshot; ixctl's (b) changes things. */
	assert_int_equal(store_snapshot_load(fx->a, &s, &err), 0);
	assert_int_equal(store_changed(fx->a, s, &changed), 0);
	assert_false(changed);
	assert_int_equal(store_changed(fx->a, NULL, &changed), 0);
	assert_true(changed);

	snprintf(acc, sizeof(acc), "account_sid=%s", fx->account);
	mk(fx->b, STORE_DOMAIN, dom, acc, "domain_name=beta", NULL);
	assert_int_equal(store_changed(fx->a, s, &changed), 0);
	assert_true(changed);
	assert_int_equal(store_snapshot_load(fx->a, &s2, &err), 0);
	assert_true(s2->version > s->version);
	assert_null(store_snapshot_domain(s, SLICE("beta"))); /* the old one is immutable */
	d = store_snapshot_domain(s2, SLICE("beta"));
	assert_non_null(d);
	assert_int_equal(store_snap_domain_nmapped(d, STORE_NMAPS), 0);
	mem_deref(s);
	s = s2;

	/* A mapping change is a change; a call record is not. */
	assert_int_equal(store_map_remove(fx->b, STORE_MAP_CALL_ACL, fx->domain, fx->acl, &err), 0);
	assert_int_equal(store_changed(fx->a, s, &changed), 0);
	assert_true(changed);
	mem_deref(s);
	assert_int_equal(store_snapshot_load(fx->a, &s, &err), 0);
	d = store_snapshot_domain(s, SLICE("acme"));
	assert_int_equal(store_snap_domain_nmapped(d, STORE_MAP_CALL_ACL), 1);
	assert_false(store_snap_domain_ip_allowed(d, IP4(10, 0, 0, 1)));

	struct store_call_rec call = {
	    .account_sid = fx->account, .direction = "inbound", .status = "ringing"};
	uint64_t m = 0;
	assert_int_equal(store_field_mask(STORE_CALL, "account_sid direction status", &m, &err), 0);
	assert_int_equal(store_create(fx->b, STORE_CALL, &call, m, NULL, &err), 0);
	assert_int_equal(store_changed(fx->a, s, &changed), 0);
	assert_false(changed);

	/* A new realm: every credential is stale until its password is set again. */
	assert_int_equal(store_realm_set(fx->b, "sip.example.net", &err), 0);
	assert_int_equal(store_changed(fx->a, s, &changed), 0);
	assert_true(changed);
	mem_deref(s);
	assert_int_equal(store_snapshot_load(fx->a, &s, &err), 0);
	assert_string_equal(s->realm, "sip.example.net");
	assert_int_equal(s->stale_creds, 4);
	d = store_snapshot_domain(s, SLICE("acme"));
	assert_null(store_snap_cred_find(d, STORE_MAP_CALL_CREDS, SLICE("alice"), NULL));
	/* Setting the same realm again changes nothing. */
	assert_int_equal(store_realm_set(fx->b, "sip.example.net", &err), 0);
	assert_int_equal(store_changed(fx->a, s, &changed), 0);
	assert_false(changed);
	mem_deref(s);
}

/* The other process (this program run again, see main()): unmaps a registration list. */
static int child_unmap(const char *dir, const char *domain, const char *list)
{
	struct store *st;
	int rc = store_open(&st, dir, NULL);

	if (!rc)
		rc = store_map_remove(st, STORE_MAP_REG_CREDS, domain, list, NULL);
	mem_deref(st);
	return rc ? 1 : 0;
}

/* ixctl is another process: a change it makes shows up on the daemon's open connection. */
static void test_change_from_other_process(void **state)
{
	struct fx *fx = *state;
	struct store_snapshot *s = NULL;
	bool changed = true;
	pid_t pid;
	int status;

	assert_int_equal(store_snapshot_load(fx->a, &s, NULL), 0);
	/* exec, not just fork: SQLite connections must not cross a fork. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_store_snapshot", "--child-unmap", fx->dir, fx->domain,
		      fx->reg, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(store_changed(fx->a, s, &changed), 0);
	assert_true(changed);
	mem_deref(s);
	assert_int_equal(store_snapshot_load(fx->a, &s, NULL), 0);
	assert_int_equal(
	    store_snap_domain_nmapped(store_snapshot_domain(s, SLICE("acme")), STORE_MAP_REG_CREDS),
	    0);
	mem_deref(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_contents, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changes_across_connections, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_change_from_other_process, setup, teardown),
	};

	if (argc == 5 && !strcmp(argv[1], "--child-unmap"))
		return child_unmap(argv[2], argv[3], argv[4]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
