/* Seeding: creates the config's seed records that are missing, once per item (markers in settings).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app/seed.h"

#define MOD "seed"

struct seeder {
	struct store *st;
	unsigned flags;
	struct seed_stats stats;
	char *err;
	size_t errlen;
};

/* What a create needs: the account, the config entry, the owner's SID. */
struct seed_ctx {
	const struct config_seed_account *acct;
	const void *item;
	const char *parent; /* list SID (addresses, credentials) or domain SID (mappings) */
	size_t index;       /* the address of an ACL; the mapping kind */
};

typedef int(seed_make_h)(struct seeder *s, const struct seed_ctx *x, char sid[35],
                         struct store_err *e);

static int fail(struct seeder *s, const char *what, int rc, const struct store_err *e)
{
	if (s->err && s->errlen)
		snprintf(s->err, s->errlen, "seed: %s: %s", what,
		         e->msg[0] ? e->msg : strerror(-rc));
	return rc;
}

static void sid_copy(char sid[35], const char *from)
{
	snprintf(sid, 35, "%s", from);
}

/* ------------------------------------------------------------ lookups */

/* 0 and sid when a record of kind has this SID; -ENOENT when none. */
static int find_sid(struct seeder *s, enum store_kind kind, const char *want, char sid[35],
                    struct store_err *e)
{
	struct store_page *pg = NULL;
	int rc = store_get(s->st, kind, want, &pg, e);

	if (!rc)
		sid_copy(sid, want);
	mem_deref(pg);
	return rc;
}

/* The first record of kind with f1 = v1 and f2 = v2; -ENOENT when none. */
static int find_where(struct seeder *s, enum store_kind kind, const char *f1, const char *v1,
                      const char *f2, const char *v2, char sid[35], struct store_err *e)
{
	struct store_query q = {.page_size = 1};
	struct store_page *pg = NULL;
	int rc;

	q.where[0].field = f1;
	q.where[0].value = v1;
	q.where[1].field = f2;
	q.where[1].value = v2;
	rc = store_list(s->st, kind, &q, &pg, e);
	if (!rc && pg->n == 0)
		rc = -ENOENT;
	else if (!rc) /* every record struct starts with its SID */
		sid_copy(sid, *(const char *const *)pg->rows);
	mem_deref(pg);
	return rc;
}

/* ------------------------------------------------------------ the rule */

/*
 * found is the lookup's result.  Found: leave it, mark it.  Missing and
 * marked: the user deleted it; leave it deleted (1).  Missing: make it,
 * mark it.  0 means the item exists now, with its SID in sid.
 */
static int settle(struct seeder *s, const char *item, const char *what, int found,
                  seed_make_h *make, const struct seed_ctx *x, char sid[35])
{
	char key[STORE_SETTING_KEY_MAX + 1], mark[40];
	struct store_err e = {""};
	bool marked;
	int rc;

	if (found && found != -ENOENT)
		return found;
	if ((size_t)snprintf(key, sizeof(key), "seed.applied.%s", item) >= sizeof(key))
		return fail(s, what, -ENAMETOOLONG, &e);
	rc = store_setting_get(s->st, key, mark, sizeof(mark), &e);
	if (rc && rc != -ENOENT)
		return fail(s, what, rc, &e);
	marked = rc == 0;
	if (found == -ENOENT && marked && !(s->flags & SEED_F_AGAIN)) {
		log_debug(MOD, "%s was seeded once and deleted since: left deleted", what);
		s->stats.deleted++;
		return 1;
	}
	if (found == -ENOENT) {
		rc = make(s, x, sid, &e);
		if (rc)
			return fail(s, what, rc, &e);
		if (strstr(what, sid))
			log_info(MOD, "created %s", what);
		else
			log_info(MOD, "created %s (%s)", what, sid);
		s->stats.created++;
	} else {
		s->stats.present++;
		if (marked)
			return 0;
	}
	rc = store_setting_set(s->st, key, sid, &e);
	return rc ? fail(s, what, rc, &e) : 0;
}

/* ------------------------------------------------------------ creates */

/* Sets the mask bit of each named field; names are the store's. */
static int mask_of(enum store_kind kind, const char *names, uint64_t *mask, struct store_err *e)
{
	uint64_t m = 0;
	int rc = store_field_mask(kind, names, &m, e);

	*mask |= m;
	return rc;
}

static int created_sid(struct store_page *pg, char sid[35])
{
	sid_copy(sid, *(const char *const *)pg->rows);
	mem_deref(pg);
	return 0;
}

static int make_account(struct seeder *s, const struct seed_ctx *x, char sid[35],
                        struct store_err *e)
{
	const struct config_seed_account *a = x->acct;
	struct store_account rec = {
	    .sid = a->sid, .friendly_name = a->friendly_name, .auth_token = a->auth_token};
	struct store_page *pg = NULL;
	uint64_t m = 0;
	int rc = mask_of(STORE_ACCOUNT, "sid", &m, e);

	if (!rc && a->friendly_name)
		rc = mask_of(STORE_ACCOUNT, "friendly_name", &m, e);
	if (!rc && a->auth_token)
		rc = mask_of(STORE_ACCOUNT, "auth_token", &m, e);
	rc = rc ? rc : store_create(s->st, STORE_ACCOUNT, &rec, m, &pg, e);
	return rc ? rc : created_sid(pg, sid);
}

/* ACLs and credential lists: the same three fields. */
static int make_list(struct seeder *s, const struct seed_ctx *x, char sid[35], struct store_err *e,
                     enum store_kind kind, const char *lsid, const char *name)
{
	struct store_acl rec = {.sid = lsid, .account_sid = x->acct->sid, .friendly_name = name};
	struct store_credlist crec = {
	    .sid = lsid, .account_sid = x->acct->sid, .friendly_name = name};
	struct store_page *pg = NULL;
	uint64_t m = 0;
	int rc = mask_of(kind, lsid ? "sid account_sid friendly_name" : "account_sid friendly_name",
	                 &m, e);

	if (!rc)
		rc = store_create(s->st, kind, kind == STORE_ACL ? (const void *)&rec : &crec, m,
		                  &pg, e);
	return rc ? rc : created_sid(pg, sid);
}

static int make_acl(struct seeder *s, const struct seed_ctx *x, char sid[35], struct store_err *e)
{
	const struct config_seed_acl *l = x->item;

	return make_list(s, x, sid, e, STORE_ACL, l->sid, l->name);
}

static int make_credlist(struct seeder *s, const struct seed_ctx *x, char sid[35],
                         struct store_err *e)
{
	const struct config_seed_credlist *l = x->item;

	return make_list(s, x, sid, e, STORE_CREDLIST, l->sid, l->name);
}

/* An address is named by its CIDR text, the way the config writes it. */
static int make_ip(struct seeder *s, const struct seed_ctx *x, char sid[35], struct store_err *e)
{
	const struct config_prefix *p = &((const struct config_seed_acl *)x->item)->addrs[x->index];
	char name[64];
	struct store_ip rec = {.ip_access_control_list_sid = x->parent,
	                       .friendly_name = name,
	                       .ip_address = p->ip.text,
	                       .cidr_prefix_length = p->plen};
	struct store_page *pg = NULL;
	uint64_t m = 0;
	int rc;

	snprintf(name, sizeof(name), "%s/%u", p->ip.text, p->plen);
	rc = mask_of(STORE_IP,
	             "ip_access_control_list_sid friendly_name ip_address cidr_prefix_length", &m,
	             e);
	rc = rc ? rc : store_create(s->st, STORE_IP, &rec, m, &pg, e);
	return rc ? rc : created_sid(pg, sid);
}

static int make_cred(struct seeder *s, const struct seed_ctx *x, char sid[35], struct store_err *e)
{
	const struct config_seed_cred *c = x->item;
	struct store_cred rec = {
	    .credential_list_sid = x->parent, .username = c->username, .password = c->password};
	struct store_page *pg = NULL;
	uint64_t m = 0;
	int rc = mask_of(STORE_CRED, "credential_list_sid username password", &m, e);

	rc = rc ? rc : store_create(s->st, STORE_CRED, &rec, m, &pg, e);
	return rc ? rc : created_sid(pg, sid);
}

static int make_domain(struct seeder *s, const struct seed_ctx *x, char sid[35],
                       struct store_err *e)
{
	const struct config_seed_domain *d = x->item;
	struct store_domain rec = {.sid = d->sid,
	                           .account_sid = x->acct->sid,
	                           .domain_name = d->name,
	                           .friendly_name = d->friendly_name,
	                           .voice_url = d->voice_url,
	                           .voice_method = d->voice_method,
	                           .voice_fallback_url = d->voice_fallback_url,
	                           .voice_fallback_method = d->voice_fallback_method,
	                           .voice_status_callback_url = d->voice_status_callback_url,
	                           .voice_status_callback_method = d->voice_status_callback_method,
	                           .secure = d->secure,
	                           .sip_registration = d->sip_registration,
	                           .inline_twiml = d->twiml};
	/* Optional fields go in the mask only when given, so the store's defaults apply. */
	const struct {
		const void *given;
		const char *name;
	} opt[] = {{d->sid, "sid"},
	           {d->friendly_name, "friendly_name"},
	           {d->voice_url, "voice_url"},
	           {d->voice_method, "voice_method"},
	           {d->voice_fallback_url, "voice_fallback_url"},
	           {d->voice_fallback_method, "voice_fallback_method"},
	           {d->voice_status_callback_url, "voice_status_callback_url"},
	           {d->voice_status_callback_method, "voice_status_callback_method"},
	           {d->twiml, "inline_twiml"}};
	struct store_page *pg = NULL;
	uint64_t m = 0;
	int rc = mask_of(STORE_DOMAIN, "account_sid domain_name secure sip_registration", &m, e);

	for (size_t i = 0; i < ARRAY_SIZE(opt) && !rc; i++) {
		if (opt[i].given)
			rc = mask_of(STORE_DOMAIN, opt[i].name, &m, e);
	}
	rc = rc ? rc : store_create(s->st, STORE_DOMAIN, &rec, m, &pg, e);
	return rc ? rc : created_sid(pg, sid);
}

static const enum store_map map_of[CONFIG_SEED_NMAPS] = {
    [CONFIG_SEED_CALL_ACL] = STORE_MAP_CALL_ACL,
    [CONFIG_SEED_CALL_CREDS] = STORE_MAP_CALL_CREDS,
    [CONFIG_SEED_REG_CREDS] = STORE_MAP_REG_CREDS,
};

/* A mapping has no SID of its own: sid is the list's, given in (and left in) sid. */
static int make_map(struct seeder *s, const struct seed_ctx *x, char sid[35], struct store_err *e)
{
	return store_map_add(s->st, map_of[x->index], x->parent, sid, e);
}

/* ------------------------------------------------------------ items */

static int seed_ips(struct seeder *s, const struct config_seed_account *a,
                    const struct config_seed_acl *l, const char *lsid)
{
	struct seed_ctx x = {a, l, lsid, 0};
	char item[STORE_SETTING_KEY_MAX], what[160], sid[35];
	int rc = 0;

	for (size_t i = 0; i < l->naddrs && rc >= 0; i++) {
		const struct config_prefix *p = &l->addrs[i];
		struct store_err e = {""};

		snprintf(item, sizeof(item), "ip.%s.%s.%s", a->sid, l->name, p->ip.text);
		snprintf(what, sizeof(what), "address %s/%u of ACL '%s'", p->ip.text, p->plen,
		         l->name);
		x.index = i;
		rc = find_where(s, STORE_IP, "ip_access_control_list_sid", lsid, "ip_address",
		                p->ip.text, sid, &e);
		if (rc && rc != -ENOENT)
			return fail(s, what, rc, &e);
		rc = settle(s, item, what, rc, make_ip, &x, sid);
	}
	return rc < 0 ? rc : 0;
}

static int seed_creds(struct seeder *s, const struct config_seed_account *a,
                      const struct config_seed_credlist *l, const char *lsid)
{
	char item[STORE_SETTING_KEY_MAX], what[200], sid[35];
	int rc = 0;

	for (size_t i = 0; i < l->ncreds && rc >= 0; i++) {
		const struct config_seed_cred *c = &l->creds[i];
		struct seed_ctx x = {a, c, lsid, 0};
		struct store_err e = {""};

		snprintf(item, sizeof(item), "cred.%s.%s.%s", a->sid, l->name, c->username);
		snprintf(what, sizeof(what), "credential '%.128s' of list '%s'", c->username,
		         l->name);
		rc = find_where(s, STORE_CRED, "credential_list_sid", lsid, "username", c->username,
		                sid, &e);
		if (rc && rc != -ENOENT)
			return fail(s, what, rc, &e);
		rc = settle(s, item, what, rc, make_cred, &x, sid);
	}
	return rc < 0 ? rc : 0;
}

/* An ACL or credential list and its entries; lsid is "" when it is gone. */
static int seed_list(struct seeder *s, const struct config_seed_account *a, bool acl, size_t i,
                     char lsid[35])
{
	const char *name = acl ? a->acls[i].name : a->credlists[i].name;
	const char *given = acl ? a->acls[i].sid : a->credlists[i].sid;
	enum store_kind kind = acl ? STORE_ACL : STORE_CREDLIST;
	struct seed_ctx x = {a, acl ? (const void *)&a->acls[i] : &a->credlists[i], NULL, 0};
	char item[STORE_SETTING_KEY_MAX], what[160];
	struct store_err e = {""};
	int rc;

	snprintf(item, sizeof(item), "%s.%s.%s", acl ? "acl" : "credlist", a->sid, name);
	snprintf(what, sizeof(what), "%s '%s' of account %s", acl ? "ACL" : "credential list", name,
	         a->sid);
	rc = given ? find_sid(s, kind, given, lsid, &e) : -ENOENT;
	if (rc == -ENOENT)
		rc = find_where(s, kind, "account_sid", a->sid, "friendly_name", name, lsid, &e);
	if (rc && rc != -ENOENT)
		return fail(s, what, rc, &e);
	rc = settle(s, item, what, rc, acl ? make_acl : make_credlist, &x, lsid);
	if (rc) {
		lsid[0] = '\0';
		return rc < 0 ? rc : 0;
	}
	return acl ? seed_ips(s, a, &a->acls[i], lsid) : seed_creds(s, a, &a->credlists[i], lsid);
}

/* 0 and dsid when the domain is the account's; 1 when another account holds the name. */
static int find_domain(struct seeder *s, const struct config_seed_account *a,
                       const struct config_seed_domain *d, char dsid[35], struct store_err *e)
{
	struct store_page *pg = NULL;
	int rc = d->sid ? find_sid(s, STORE_DOMAIN, d->sid, dsid, e) : -ENOENT;

	if (rc != -ENOENT)
		return rc;
	rc = store_domain_by_name(s->st, d->name, &pg, e);
	if (rc)
		return rc;
	sid_copy(dsid, STORE_ROWS(pg, struct store_domain)->sid);
	if (strcmp(STORE_ROWS(pg, struct store_domain)->account_sid, a->sid) != 0) {
		log_warn(MOD, "domain '%s' belongs to account %s, not %s: not seeded", d->name,
		         STORE_ROWS(pg, struct store_domain)->account_sid, a->sid);
		s->stats.foreign++;
		rc = 1;
	}
	mem_deref(pg);
	return rc;
}

static int seed_maps(struct seeder *s, const struct config_seed_account *a,
                     const struct config_seed_domain *d, const char *dsid, char (*acl_sids)[35],
                     char (*cl_sids)[35])
{
	char item[STORE_SETTING_KEY_MAX], what[200], sid[35];
	int rc = 0;

	for (size_t m = 0; m < CONFIG_SEED_NMAPS; m++) {
		for (size_t i = 0; i < d->nmap[m] && rc >= 0; i++) {
			size_t li = d->map[m][i];
			const char *lname =
			    m == CONFIG_SEED_CALL_ACL ? a->acls[li].name : a->credlists[li].name;
			const char *lsid = m == CONFIG_SEED_CALL_ACL ? acl_sids[li] : cl_sids[li];
			struct seed_ctx x = {a, d, dsid, m};
			struct store_query q = {.page_size = 1};
			struct store_page *pg = NULL;
			struct store_err e = {""};

			if (!lsid[0])
				continue; /* the list is gone */
			snprintf(item, sizeof(item), "map.%s.%s.%s", store_map_name(map_of[m]),
			         d->name, lname);
			snprintf(what, sizeof(what), "mapping %s of domain '%s' to '%s'",
			         store_map_name(map_of[m]), d->name, lname);
			q.where[0].field = "sid";
			q.where[0].value = lsid;
			rc = store_map_list(s->st, map_of[m], dsid, &q, &pg, &e);
			if (!rc && pg->n == 0)
				rc = -ENOENT;
			mem_deref(pg);
			if (rc && rc != -ENOENT)
				return fail(s, what, rc, &e);
			sid_copy(sid, lsid);
			rc = settle(s, item, what, rc, make_map, &x, sid);
		}
	}
	return rc < 0 ? rc : 0;
}

static int seed_domain(struct seeder *s, const struct config_seed_account *a, size_t i,
                       char (*acl_sids)[35], char (*cl_sids)[35])
{
	const struct config_seed_domain *d = &a->domains[i];
	struct seed_ctx x = {a, d, NULL, 0};
	char item[STORE_SETTING_KEY_MAX], what[96], dsid[35];
	struct store_err e = {""};
	int rc;

	snprintf(item, sizeof(item), "domain.%s", d->name);
	snprintf(what, sizeof(what), "domain '%s'", d->name);
	rc = find_domain(s, a, d, dsid, &e);
	if (rc == 1)
		return 0;
	if (rc && rc != -ENOENT)
		return fail(s, what, rc, &e);
	rc = settle(s, item, what, rc, make_domain, &x, dsid);
	if (rc)
		return rc < 0 ? rc : 0;
	return seed_maps(s, a, d, dsid, acl_sids, cl_sids);
}

static int seed_account(struct seeder *s, const struct config_seed_account *a)
{
	struct seed_ctx x = {a, a, NULL, 0};
	char item[48], what[48], asid[35];
	char acl_sids[CONFIG_MAX_SEED_ITEMS][35], cl_sids[CONFIG_MAX_SEED_ITEMS][35];
	struct store_err e = {""};
	int rc;

	snprintf(item, sizeof(item), "account.%s", a->sid);
	snprintf(what, sizeof(what), "account %s", a->sid);
	rc = find_sid(s, STORE_ACCOUNT, a->sid, asid, &e);
	if (rc && rc != -ENOENT)
		return fail(s, what, rc, &e);
	rc = settle(s, item, what, rc, make_account, &x, asid);
	if (rc)
		return rc < 0 ? rc : 0; /* deleted: everything it owned went with it */
	for (size_t i = 0; i < a->nacls && !rc; i++)
		rc = seed_list(s, a, true, i, acl_sids[i]);
	for (size_t i = 0; i < a->ncredlists && !rc; i++)
		rc = seed_list(s, a, false, i, cl_sids[i]);
	for (size_t i = 0; i < a->ndomains && !rc; i++)
		rc = seed_domain(s, a, i, acl_sids, cl_sids);
	return rc;
}

int seed_apply(struct store *st, const struct config *cfg, unsigned flags, struct seed_stats *stats,
               char *err, size_t errlen)
{
	struct seeder s = {.st = st, .flags = flags, .err = err, .errlen = errlen};
	int rc = 0;

	if (err && errlen)
		err[0] = '\0';
	for (size_t i = 0; i < cfg->seed.naccounts && !rc; i++)
		rc = seed_account(&s, &cfg->seed.accounts[i]);
	if (stats)
		*stats = s.stats;
	return rc;
}
