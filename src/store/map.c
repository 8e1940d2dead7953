/* A domain's auth mappings: the ACLs and credential lists that admit calls and registrations. */
#include <errno.h>
#include <string.h>

#include "store/store_priv.h"

static const struct {
	const char *name, *table;
	enum store_kind list;
} maps[STORE_NMAPS] = {
    [STORE_MAP_CALL_ACL] = {"calls-acl", "sip_domain_acl_calls", STORE_ACL},
    [STORE_MAP_CALL_CREDS] = {"calls-credentials", "sip_domain_credlist_calls", STORE_CREDLIST},
    [STORE_MAP_REG_CREDS] = {"registrations-credentials", "sip_domain_credlist_regs",
                             STORE_CREDLIST},
};

const char *store_map_name(enum store_map map)
{
	return (unsigned)map < STORE_NMAPS ? maps[map].name : "?";
}

const char *store_map_table(enum store_map map)
{
	return maps[map].table;
}

int store_map_find(const char *name, enum store_map *map)
{
	for (size_t i = 0; i < STORE_NMAPS; i++) {
		if (!strcmp(name, maps[i].name)) {
			*map = (enum store_map)i;
			return 0;
		}
	}
	return -ENOENT;
}

enum store_kind store_map_list_kind(enum store_map map)
{
	return maps[map].list;
}

static int map_args(enum store_map map, const char *domain_sid, const char *list_sid,
                    struct store_err *err)
{
	if ((unsigned)map >= STORE_NMAPS)
		return store_errf(err, -EINVAL, "store: unknown mapping");
	if (!store_sid_valid(domain_sid, "SD"))
		return store_errf(err, -EINVAL, "'%.40s' is not a domain SID",
		                  domain_sid ? domain_sid : "");
	if (list_sid && !store_sid_valid(list_sid, store_kind_get(maps[map].list)->prefix))
		return store_errf(err, -EINVAL, "'%.40s' is not a %s SID", list_sid,
		                  store_kind_get(maps[map].list)->one);
	return 0;
}

static int map_add_locked(struct store *st, enum store_map map, const char *domain_sid,
                          const char *list_sid, struct store_err *err)
{
	char dacc[35], lacc[35];
	int rc;

	rc = store_owner_account(st, STORE_DOMAIN, domain_sid, dacc, err);
	if (!rc)
		rc = store_owner_account(st, maps[map].list, list_sid, lacc, err);
	if (rc)
		return rc;
	/* A list of another account would let that account's callers into this domain. */
	if (strcmp(dacc, lacc))
		return store_errf(err, -EINVAL, "%s %s belongs to another account than domain %s",
		                  store_kind_get(maps[map].list)->one, list_sid, domain_sid);
	rc = st->ops->map_add(st, maps[map].table, domain_sid, list_sid, store_now_ms());
	if (rc == -EEXIST)
		return store_errf(err, rc, "%s is already mapped to domain %s for %s", list_sid,
		                  domain_sid, maps[map].name);
	return rc ? store_errf(err, rc, "store: mapping: %s", strerror(-rc)) : 0;
}

int store_map_add(struct store *st, enum store_map map, const char *domain_sid,
                  const char *list_sid, struct store_err *err)
{
	int rc = map_args(map, domain_sid, list_sid, err);

	if (rc)
		return rc;
	if (!list_sid)
		return store_errf(err, -EINVAL, "store: no list SID");
	rc = store_txn_begin(st, true, err);
	if (rc)
		return rc;
	return store_txn_end(st, map_add_locked(st, map, domain_sid, list_sid, err), err);
}

int store_map_remove(struct store *st, enum store_map map, const char *domain_sid,
                     const char *list_sid, struct store_err *err)
{
	int rc = map_args(map, domain_sid, list_sid, err);

	if (rc)
		return rc;
	if (!list_sid)
		return store_errf(err, -EINVAL, "store: no list SID");
	rc = st->ops->map_remove(st, maps[map].table, domain_sid, list_sid);
	if (rc == -ENOENT)
		return store_errf(err, rc, "%s is not mapped to domain %s for %s", list_sid,
		                  domain_sid, maps[map].name);
	return rc ? store_errf(err, rc, "store: mapping: %s", strerror(-rc)) : 0;
}

int store_map_list(struct store *st, enum store_map map, const char *domain_sid,
                   const struct store_query *q, struct store_page **out, struct store_err *err)
{
	struct store_sel sel = {0};
	char acc[35];
	int rc = map_args(map, domain_sid, NULL, err);

	if (rc)
		return rc;
	rc = store_owner_account(st, STORE_DOMAIN, domain_sid, acc, err);
	if (rc)
		return rc;
	sel.map_table = maps[map].table;
	sel.map_domain = domain_sid;
	return store_list_run(st, store_kind_def(maps[map].list), q, &sel, out, err);
}
