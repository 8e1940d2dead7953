/* Unit tests: seeding the store from the config: create if missing, once, never overwrite. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "app/seed.h"
#include "domain/digest.h"

#define AC      "AC0123456789abcdef0123456789abcdef"
#define SD_DEMO "SD0123456789abcdef0123456789abcd01"
#define AL      "AL0123456789abcdef0123456789abcd01"
#define PASS    "AliceDemo1234"

static const char yaml[] =
    "regions: [{name: us-east}]\n"
    "edges:\n"
    "  - {name: ashburn-ix, region: us-east, gateways: [{address: 127.0.1.64}],\n"
    "     media: {addresses: [127.86.128.1]}}\n"
    "seed:\n"
    "  accounts:\n"
    "    - sid: " AC "\n"
    "      friendly_name: Demo\n"
    "      acls:\n"
    "        - {name: demo-local, sid: " AL ", addresses: [127.0.0.0/8, 192.0.2.7]}\n"
    "      credential_lists:\n"
    "        - name: demo-users\n"
    "          credentials: [{username: alice, password: " PASS "}]\n"
    "      domains:\n"
    "        - name: demo\n"
    "          sid: " SD_DEMO "\n"
    "          twiml: |\n"
    "            <Response><Dial><Sip>sip:callee@127.0.0.1:5080</Sip></Dial></Response>\n"
    "          calls: {acls: [demo-local]}\n"
    "        - name: demo-auth\n"
    "          voice_url: https://example.com/voice\n"
    "          voice_method: GET\n"
    "          calls: {credential_lists: [demo-users]}\n"
    "          registrations: {credential_lists: [demo-users]}\n";

/* account, ACL, 2 addresses, credential list, credential, 2 domains, 3 mappings */
#define NITEMS 11

struct fx {
	char dir[64];
	struct store *st;
	struct config *cfg;
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
	struct store_err e = {""};
	char err[512] = "";

	strcpy(fx->dir, "/tmp/ixseed-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	if (store_open(&fx->st, fx->dir, &e))
		fail_msg("%s", e.msg);
	if (config_parse(&fx->cfg, "t.yaml", yaml, strlen(yaml), err, sizeof(err)))
		fail_msg("%s", err);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	mem_deref(fx->cfg);
	mem_deref(fx->st);
	rm_dir(fx->dir);
	free(fx);
	return 0;
}

static void apply(struct fx *fx, unsigned flags, struct seed_stats *stats)
{
	char err[512] = "";

	if (seed_apply(fx->st, fx->cfg, flags, stats, err, sizeof(err)))
		fail_msg("%s", err);
}

static size_t count(struct store *st, enum store_kind kind)
{
	struct store_query q = {.page_size = STORE_PAGE_SIZE_MAX};
	struct store_page *pg = NULL;
	size_t n;

	assert_int_equal(store_list(st, kind, &q, &pg, NULL), 0);
	n = pg->n;
	mem_deref(pg);
	return n;
}

static size_t nmapped(struct store *st, enum store_map map, const char *dsid)
{
	struct store_page *pg = NULL;
	size_t n;

	assert_int_equal(store_map_list(st, map, dsid, NULL, &pg, NULL), 0);
	n = pg->n;
	mem_deref(pg);
	return n;
}

/* Every record of every config kind, as text: two equal dumps mean an unchanged store. */
static char *dump(struct store *st)
{
	static const enum store_kind kinds[] = {STORE_ACCOUNT, STORE_DOMAIN,   STORE_ACL,
	                                        STORE_IP,      STORE_CREDLIST, STORE_CRED};
	struct buf b = {0};

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		const struct store_kind_info *ki = store_kind_get(kinds[k]);
		struct store_query q = {.page_size = STORE_PAGE_SIZE_MAX};
		struct store_page *pg = NULL;

		assert_int_equal(store_list(st, kinds[k], &q, &pg, NULL), 0);
		for (size_t r = 0; r < pg->n; r++) {
			const char *rec = (const char *)pg->rows + r * ki->size;

			for (size_t f = 0; f < ki->nfields; f++) {
				char tmp[64];

				buf_printf(&b, "%s=%s;", ki->fields[f].name,
				           store_field_text(&ki->fields[f], rec, tmp, sizeof(tmp)));
			}
			buf_append_cstr(&b, "\n");
		}
		mem_deref(pg);
	}
	for (size_t m = 0; m < STORE_NMAPS; m++)
		buf_printf(&b, "%s:%zu\n", store_map_name((enum store_map)m),
		           nmapped(st, (enum store_map)m, SD_DEMO));
	buf_append(&b, "", 1);
	return b.p;
}

static void domain_sid(struct store *st, const char *name, char sid[35])
{
	struct store_page *pg = NULL;

	assert_int_equal(store_domain_by_name(st, name, &pg, NULL), 0);
	strcpy(sid, STORE_ROWS(pg, struct store_domain)->sid);
	mem_deref(pg);
}

static void test_first_start(void **state)
{
	struct fx *fx = *state;
	struct seed_stats stats;
	struct store_page *pg = NULL;
	char auth[35], realm[64], hex[65];
	const struct store_domain *d;
	uint8_t ha1[DIGEST_MAX_HASH];

	apply(fx, 0, &stats);
	assert_int_equal(stats.created, NITEMS);
	assert_int_equal(stats.present, 0);
	assert_int_equal(count(fx->st, STORE_ACCOUNT), 1);
	assert_int_equal(count(fx->st, STORE_DOMAIN), 2);
	assert_int_equal(count(fx->st, STORE_IP), 2);
	assert_int_equal(count(fx->st, STORE_CRED), 1);

	/* The fixed SIDs, so docs can name them. */
	assert_int_equal(store_get(fx->st, STORE_ACCOUNT, AC, &pg, NULL), 0);
	assert_string_equal(STORE_ROWS(pg, struct store_account)->friendly_name, "Demo");
	assert_int_equal(strlen(STORE_ROWS(pg, struct store_account)->auth_token), 32);
	pg = mem_deref(pg);
	assert_int_equal(store_get(fx->st, STORE_DOMAIN, SD_DEMO, &pg, NULL), 0);
	d = STORE_ROWS(pg, struct store_domain);
	assert_string_equal(d->domain_name, "demo");
	assert_string_equal(d->account_sid, AC);
	assert_string_equal(d->inline_twiml, "<Response><Dial><Sip>sip:callee@127.0.0.1:5080</Sip>"
	                                     "</Dial></Response>\n");
	assert_string_equal(d->voice_method, "POST"); /* the store's default */
	pg = mem_deref(pg);
	assert_int_equal(nmapped(fx->st, STORE_MAP_CALL_ACL, SD_DEMO), 1);
	assert_int_equal(nmapped(fx->st, STORE_MAP_CALL_CREDS, SD_DEMO), 0);

	domain_sid(fx->st, "demo-auth", auth);
	assert_int_equal(store_get(fx->st, STORE_DOMAIN, auth, &pg, NULL), 0);
	assert_string_equal(STORE_ROWS(pg, struct store_domain)->voice_url,
	                    "https://example.com/voice");
	assert_string_equal(STORE_ROWS(pg, struct store_domain)->voice_method, "GET");
	pg = mem_deref(pg);
	assert_int_equal(nmapped(fx->st, STORE_MAP_CALL_ACL, auth), 0);
	assert_int_equal(nmapped(fx->st, STORE_MAP_CALL_CREDS, auth), 1);
	assert_int_equal(nmapped(fx->st, STORE_MAP_REG_CREDS, auth), 1);

	/* The credential is stored as its HA1 under the store's realm, never as given. */
	assert_int_equal(store_list(fx->st, STORE_CRED, NULL, &pg, NULL), 0);
	assert_int_equal(store_realm_get(fx->st, realm, sizeof(realm)), 0);
	assert_int_equal(
	    digest_ha1(DIGEST_ALG_SHA256, SLICE("alice"), slice_cstr(realm), SLICE(PASS), ha1), 0);
	digest_hex(ha1, 32, hex);
	assert_string_equal(STORE_ROWS(pg, struct store_cred)->ha1_sha256, hex);
	assert_string_equal(STORE_ROWS(pg, struct store_cred)->password, "");
	mem_deref(pg);
}

/* What the hot path sees: the demo lets loopback in, demo-auth knows alice. */
static void test_snapshot_sees_it(void **state)
{
	struct fx *fx = *state;
	struct store_snapshot *snap = NULL;
	const struct store_snap_domain *d;

	apply(fx, 0, NULL);
	assert_int_equal(store_snapshot_load(fx->st, &snap, NULL), 0);
	d = store_snapshot_domain(snap, SLICE("demo"));
	assert_non_null(d);
	assert_true(store_snap_domain_ip_allowed(d, 0x7f000001u));
	assert_true(store_snap_domain_ip_allowed(d, 0xc0000207u));
	assert_false(store_snap_domain_ip_allowed(d, 0xc0000208u));
	d = store_snapshot_domain(snap, SLICE("demo-auth"));
	assert_non_null(d);
	assert_false(store_snap_domain_ip_allowed(d, 0x7f000001u));
	assert_non_null(store_snap_cred_find(d, STORE_MAP_CALL_CREDS, SLICE("alice"), NULL));
	mem_deref(snap);
}

static void test_twice_is_once(void **state)
{
	struct fx *fx = *state;
	struct seed_stats stats;
	char *before, *after;

	apply(fx, 0, &stats);
	before = dump(fx->st);
	apply(fx, 0, &stats);
	assert_int_equal(stats.created, 0);
	assert_int_equal(stats.present, NITEMS);
	assert_int_equal(stats.deleted, 0);
	after = dump(fx->st);
	assert_string_equal(before, after);
	free(after);
	/* SEED_F_AGAIN with nothing missing changes nothing either. */
	apply(fx, SEED_F_AGAIN, &stats);
	assert_int_equal(stats.created, 0);
	after = dump(fx->st);
	assert_string_equal(before, after);
	free(after);
	free(before);
}

static void test_changes_are_kept(void **state)
{
	struct fx *fx = *state;
	struct store_domain rec = {.friendly_name = "mine", .inline_twiml = "<Response/>"};
	struct store_account arec = {.auth_token = "ffffffffffffffffffffffffffffffff"};
	struct store_page *pg = NULL;
	struct seed_stats stats;
	uint64_t m = 0;
	char *before, *after;

	apply(fx, 0, NULL);
	assert_int_equal(store_field_mask(STORE_DOMAIN, "friendly_name inline_twiml", &m, NULL), 0);
	assert_int_equal(store_update(fx->st, STORE_DOMAIN, SD_DEMO, &rec, m, NULL, NULL), 0);
	m = 0;
	assert_int_equal(store_field_mask(STORE_ACCOUNT, "auth_token", &m, NULL), 0);
	assert_int_equal(store_update(fx->st, STORE_ACCOUNT, AC, &arec, m, NULL, NULL), 0);
	before = dump(fx->st);
	apply(fx, 0, &stats);
	apply(fx, SEED_F_AGAIN, &stats);
	assert_int_equal(stats.created, 0);
	after = dump(fx->st);
	assert_string_equal(before, after);
	assert_int_equal(store_get(fx->st, STORE_DOMAIN, SD_DEMO, &pg, NULL), 0);
	assert_string_equal(STORE_ROWS(pg, struct store_domain)->inline_twiml, "<Response/>");
	mem_deref(pg);
	free(before);
	free(after);
}

static void test_deleted_stays_deleted(void **state)
{
	struct fx *fx = *state;
	struct store_query q = {.page_size = 10};
	struct store_page *pg = NULL;
	struct seed_stats stats;
	char auth[35], ip[35];

	apply(fx, 0, NULL);
	domain_sid(fx->st, "demo-auth", auth);
	assert_int_equal(store_delete(fx->st, STORE_DOMAIN, auth, NULL), 0);
	q.where[0].field = "ip_address";
	q.where[0].value = "192.0.2.7";
	assert_int_equal(store_list(fx->st, STORE_IP, &q, &pg, NULL), 0);
	assert_int_equal(pg->n, 1);
	strcpy(ip, STORE_ROWS(pg, struct store_ip)->sid);
	pg = mem_deref(pg);
	assert_int_equal(store_delete(fx->st, STORE_IP, ip, NULL), 0);
	assert_int_equal(store_map_remove(fx->st, STORE_MAP_CALL_ACL, SD_DEMO, AL, NULL), 0);

	apply(fx, 0, &stats);
	assert_int_equal(stats.created, 0);
	assert_int_equal(stats.deleted,
	                 3); /* the domain (its mappings went with it), the IP, the map */
	assert_int_equal(count(fx->st, STORE_DOMAIN), 1);
	assert_int_equal(count(fx->st, STORE_IP), 1);
	assert_int_equal(nmapped(fx->st, STORE_MAP_CALL_ACL, SD_DEMO), 0);
	apply(fx, 0, &stats); /* and on every later start */
	assert_int_equal(stats.created, 0);
	assert_int_equal(count(fx->st, STORE_DOMAIN), 1);

	/* SEED_F_AGAIN brings them back: the domain with its two mappings, the IP, the map. */
	apply(fx, SEED_F_AGAIN, &stats);
	assert_int_equal(stats.created, 5);
	assert_int_equal(count(fx->st, STORE_DOMAIN), 2);
	assert_int_equal(count(fx->st, STORE_IP), 2);
	assert_int_equal(nmapped(fx->st, STORE_MAP_CALL_ACL, SD_DEMO), 1);
}

static void test_deleted_account(void **state)
{
	struct fx *fx = *state;
	struct seed_stats stats;

	apply(fx, 0, NULL);
	assert_int_equal(store_delete(fx->st, STORE_ACCOUNT, AC, NULL), 0);
	apply(fx, 0, &stats);
	assert_int_equal(stats.created, 0);
	assert_int_equal(stats.deleted, 1); /* its lists and domains are not even looked at */
	assert_int_equal(count(fx->st, STORE_ACCOUNT), 0);
	assert_int_equal(count(fx->st, STORE_DOMAIN), 0);
	assert_int_equal(count(fx->st, STORE_ACL), 0);
}

/* Records made before the seed ran are found by name, used, and left as they are. */
static void test_existing_records(void **state)
{
	struct fx *fx = *state;
	struct store_account other = {.sid = "ACfedcba9876543210fedcba9876543210"};
	struct store_account mine = {.sid = AC, .friendly_name = "made by hand"};
	struct store_credlist cl = {.account_sid = AC, .friendly_name = "demo-users"};
	struct store_domain dom = {.account_sid = other.sid, .domain_name = "demo-auth"};
	struct store_page *pg = NULL;
	struct seed_stats stats;
	uint64_t m = 0;

	assert_int_equal(store_field_mask(STORE_ACCOUNT, "sid friendly_name", &m, NULL), 0);
	assert_int_equal(store_create(fx->st, STORE_ACCOUNT, &other, m, NULL, NULL), 0);
	assert_int_equal(store_create(fx->st, STORE_ACCOUNT, &mine, m, NULL, NULL), 0);
	m = 0;
	assert_int_equal(store_field_mask(STORE_CREDLIST, "account_sid friendly_name", &m, NULL),
	                 0);
	assert_int_equal(store_create(fx->st, STORE_CREDLIST, &cl, m, NULL, NULL), 0);
	m = 0;
	assert_int_equal(store_field_mask(STORE_DOMAIN, "account_sid domain_name", &m, NULL), 0);
	assert_int_equal(store_create(fx->st, STORE_DOMAIN, &dom, m, NULL, NULL), 0);

	apply(fx, 0, &stats);
	assert_int_equal(stats.present, 2); /* the account and the credential list */
	assert_int_equal(stats.foreign, 1); /* demo-auth is another account's */
	/* demo-auth and its 2 mappings are not seeded */
	assert_int_equal(stats.created, NITEMS - 2 - 3);
	assert_int_equal(count(fx->st, STORE_CREDLIST), 1);
	assert_int_equal(store_get(fx->st, STORE_ACCOUNT, AC, &pg, NULL), 0);
	assert_string_equal(STORE_ROWS(pg, struct store_account)->friendly_name, "made by hand");
	pg = mem_deref(pg);
	assert_int_equal(store_domain_by_name(fx->st, "demo-auth", &pg, NULL), 0);
	assert_string_equal(STORE_ROWS(pg, struct store_domain)->account_sid, other.sid);
	mem_deref(pg);
}

/* A store refusal names the seed item; what was created before stays, and a retry carries on. */
static void test_store_refusal(void **state)
{
	struct fx *fx = *state;
	struct store_acl acl = {.sid = AL, .account_sid = AC, .friendly_name = "demo-local"};
	struct store_account acct = {.sid = AC};
	struct seed_stats stats;
	char err[512] = "", addr[16];
	uint64_t m = 0;

	assert_int_equal(store_field_mask(STORE_ACCOUNT, "sid", &m, NULL), 0);
	assert_int_equal(store_create(fx->st, STORE_ACCOUNT, &acct, m, NULL, NULL), 0);
	m = 0;
	assert_int_equal(store_field_mask(STORE_ACL, "sid account_sid friendly_name", &m, NULL), 0);
	assert_int_equal(store_create(fx->st, STORE_ACL, &acl, m, NULL, NULL), 0);
	/* Fill the ACL to the store's limit, so the seed's addresses do not fit. */
	for (unsigned i = 0; i < STORE_ACL_MAX_IPS; i++) {
		struct store_ip ip = {
		    .ip_access_control_list_sid = AL, .friendly_name = "hand", .ip_address = addr};

		m = 0;
		snprintf(addr, sizeof(addr), "10.0.%u.%u", i / 250, i % 250 + 1);
		assert_int_equal(
		    store_field_mask(
		        STORE_IP, "ip_access_control_list_sid friendly_name ip_address", &m, NULL),
		    0);
		assert_int_equal(store_create(fx->st, STORE_IP, &ip, m, NULL, NULL), 0);
	}
	assert_int_equal(seed_apply(fx->st, fx->cfg, 0, &stats, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "seed: address 127.0.0.0/8 of ACL 'demo-local': "));
	assert_int_equal(stats.present, 2);
	assert_int_equal(count(fx->st, STORE_DOMAIN), 0);
}

/* The shipped lab seed goes into a store as docs/CONFIG.md says. */
static void test_lab_seed(void **state)
{
	struct fx *fx = *state;
	struct store_page *pg = NULL;
	struct seed_stats stats;
	char err[512] = "";

	mem_deref(fx->cfg);
	if (config_load(&fx->cfg, IXEDGE_SOURCE_DIR "/etc/lab.yaml", err, sizeof(err)))
		fail_msg("%s", err);
	apply(fx, 0, &stats);
	assert_int_equal(stats.created, 9);
	assert_int_equal(store_get(fx->st, STORE_DOMAIN, SD_DEMO, &pg, NULL), 0);
	assert_string_equal(STORE_ROWS(pg, struct store_domain)->domain_name, "demo");
	assert_non_null(strstr(STORE_ROWS(pg, struct store_domain)->inline_twiml,
	                       "<Sip>sip:callee@127.0.0.1:5080;edge=london-ix</Sip>"));
	mem_deref(pg);
	assert_int_equal(nmapped(fx->st, STORE_MAP_CALL_ACL, SD_DEMO), 1);
	assert_int_equal(nmapped(fx->st, STORE_MAP_CALL_CREDS, SD_DEMO), 0);
	apply(fx, 0, &stats);
	assert_int_equal(stats.created, 0);
	assert_int_equal(stats.present, 9);
}

/* The markers' home: namespaced keys only, no config version bump. */
static void test_settings(void **state)
{
	struct fx *fx = *state;
	struct store_err e = {""};
	uint64_t v0, v1;
	char buf[8], big[STORE_SETTING_VALUE_MAX + 2];

	assert_int_equal(store_config_version(fx->st, &v0), 0);
	assert_int_equal(store_setting_get(fx->st, "seed.x", buf, sizeof(buf), &e), -ENOENT);
	assert_int_equal(store_setting_set(fx->st, "seed.x", "1234", &e), 0);
	assert_int_equal(store_setting_get(fx->st, "seed.x", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "1234");
	assert_int_equal(store_setting_set(fx->st, "seed.x", "12345678", &e), 0);
	assert_int_equal(store_setting_get(fx->st, "seed.x", buf, sizeof(buf), &e), -E2BIG);
	assert_int_equal(store_config_version(fx->st, &v1), 0);
	assert_true(v0 == v1);
	/* The store's own settings stay out of reach. */
	assert_int_equal(store_setting_set(fx->st, "digest_realm", "evil.example", &e), -EINVAL);
	assert_int_equal(store_setting_get(fx->st, "digest_realm", buf, sizeof(buf), &e), -EINVAL);
	assert_int_equal(store_setting_set(fx->st, ".x", "1", &e), -EINVAL);
	assert_int_equal(store_setting_set(fx->st, "a. b", "1", &e), -EINVAL);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(store_setting_set(fx->st, "seed.big", big, &e), -EINVAL);
	big[sizeof(big) - 2] = '\0';
	assert_int_equal(store_setting_set(fx->st, "seed.big", big, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_first_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_sees_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_twice_is_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changes_are_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_stays_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_account, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_existing_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_refusal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lab_seed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
