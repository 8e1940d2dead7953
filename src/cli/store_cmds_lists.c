/* ixctl acls, credlists and mappings: IP ACLs with addresses, credential lists, domain mappings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_cmds.h"

#define N(a) (a), ARRAY_SIZE(a)

/* The entries of a list: an ACL's addresses, a credential list's credentials. */
struct child {
	enum store_kind kind;
	const char *parent_field; /* the entry's field naming its list */
	const char *key_field;    /* what a user names an entry by besides its SID */
	const char *cols;
};

static const struct child acl_child = {STORE_IP, "ip_access_control_list_sid", "ip_address",
                                       "sid ip_address cidr_prefix_length friendly_name"};
static const struct child credlist_child = {STORE_CRED, "credential_list_sid", "username",
                                            "sid username date_created"};

static int children(struct sc_run *r, const struct child *c, const char *list_sid,
                    struct store_page ***pages, size_t *n)
{
	struct store_query q = {0};

	q.where[0].field = c->parent_field;
	q.where[0].value = list_sid;
	return sc_list_all(r, c->kind, &q, 0, pages, n);
}

/* A list and its entries: "field value" lines and a table, or one JSON object. */
static int show_with_children(struct sc_run *r, enum store_kind kind, const struct child *c)
{
	struct store_page *pg = NULL, **pages = NULL;
	size_t n = 0;
	int rc, st;

	rc = store_get(r->st, kind, r->pos[0], &pg, &r->err);
	if (!rc)
		rc = children(r, c, r->pos[0], &pages, &n);
	if (rc) {
		mem_deref(pg);
		return sc_fail(r, rc);
	}
	if (r->json) {
		json_t *o = sc_json_rec(kind, pg->rows), *a = json_array();
		const struct store_kind_info *ck = store_kind_get(c->kind);

		st = o && a && !json_object_set_new(o, ck->name, a) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		for (size_t pi = 0; !st && pi < n; pi++)
			for (size_t i = 0; !st && i < pages[pi]->n; i++)
				st = json_array_append_new(
				         a, sc_json_rec(c->kind, (const char *)pages[pi]->rows +
				                                     i * ck->size))
				         ? CLI_EXIT_FAIL
				         : CLI_EXIT_OK;
		if (!o || !a)
			json_decref(a);
		st = st ? (json_decref(o), sc_failf(r, "out of memory")) : sc_json_print(o);
	} else {
		size_t rows = 0;

		st = sc_print_one(r, pg);
		for (size_t pi = 0; pi < n; pi++)
			rows += pages[pi]->n;
		printf("%s:%s\n", store_kind_get(c->kind)->name, rows ? "" : " none");
		if (rows)
			sc_table(pages, n, c->cols, 2);
	}
	sc_pages_free(pages, n);
	mem_deref(pg);
	return st;
}

/*
 * An entry of list_sid by its SID or by its key (address, username), so
 * users need not look SIDs up.  An entry of another list is "not found".
 */
static int child_find(struct sc_run *r, const struct child *c, const char *list_sid,
                      const char *arg, struct store_page **out)
{
	const struct store_kind_info *ck = store_kind_get(c->kind);
	struct store_query q = {.page_size = 1};
	struct store_page *pg = NULL;
	const struct store_field *pf = NULL;
	int rc;

	/* The list first, so a wrong list SID says so rather than "no such entry". */
	rc = store_get(r->st, c->kind == STORE_IP ? STORE_ACL : STORE_CREDLIST, list_sid, &pg,
	               &r->err);
	if (rc)
		return rc;
	pg = mem_deref(pg);
	for (size_t i = 0; i < ck->nfields; i++)
		if (!strcmp(ck->fields[i].name, c->parent_field))
			pf = &ck->fields[i];
	if (strlen(arg) == 34 && !strncmp(arg, ck->prefix, 2)) {
		rc = store_get(r->st, c->kind, arg, &pg, &r->err);
		if (rc)
			return rc;
		if (strcmp(*(const char *const *)((const char *)pg->rows + pf->off), list_sid)) {
			mem_deref(pg);
			snprintf(r->err.msg, sizeof(r->err.msg), "%s %s not found in %s", ck->one,
			         arg, list_sid);
			return -ENOENT;
		}
		*out = pg;
		return 0;
	}
	q.where[0].field = c->parent_field;
	q.where[0].value = list_sid;
	q.where[1].field = c->key_field;
	q.where[1].value = arg;
	rc = store_list(r->st, c->kind, &q, &pg, &r->err);
	if (rc)
		return rc;
	if (!pg->n) {
		mem_deref(pg);
		snprintf(r->err.msg, sizeof(r->err.msg), "no %s '%s' in %s", ck->one, arg,
		         list_sid);
		return -ENOENT;
	}
	*out = pg;
	return 0;
}

static int child_remove(struct sc_run *r, const struct child *c, const char *key)
{
	struct store_page *pg = NULL;
	char sid[35];
	int rc = child_find(r, c, r->pos[0], key, &pg);

	if (rc)
		return sc_fail(r, rc);
	snprintf(sid, sizeof(sid), "%s", *(const char *const *)pg->rows);
	mem_deref(pg);
	rc = store_delete(r->st, c->kind, sid, &r->err);
	return rc ? sc_fail(r, rc) : sc_print_deleted(r, store_kind_get(c->kind)->one, sid);
}

/* -------------------------------------------------------------------- acls */

static const struct sc_opt list_create_opts[] = {
    {"account", "account_sid", SC_REQUIRED, "AC..."},
    {"friendly-name", "friendly_name", SC_REQUIRED, "NAME"},
    {"sid", "sid", 0, NULL},
};
static const struct sc_opt list_update_opts[] = {
    {"friendly-name", "friendly_name", SC_REQUIRED, "NAME"},
};
static const struct sc_opt account_filter_opts[] = {
    {"account", NULL, 0, "AC..."},
};
static const struct sc_opt address_opts[] = {
    {"friendly-name", "friendly_name", 0, "NAME"},
    {"sid", "sid", 0, "IP..."},
};

static int acl_show(struct sc_run *r)
{
	return show_with_children(r, STORE_ACL, &acl_child);
}

/* ADDR[/PREFIX]: the store checks both parts. */
static int address_add(struct sc_run *r)
{
	char addr[64];
	const char *slash = strchr(r->pos[1], '/');
	int rc;

	if (strlen(r->pos[1]) >= sizeof(addr))
		return sc_failf(r, "'%.64s...' is not an IPv4 address", r->pos[1]);
	snprintf(addr, sizeof(addr), "%s", r->pos[1]);
	if (slash) {
		addr[slash - r->pos[1]] = '\0';
		rc = sc_set(r, "cidr_prefix_length", slash + 1);
		if (rc)
			return sc_fail(r, rc);
	}
	rc = sc_set(r, "ip_access_control_list_sid", r->pos[0]);
	if (!rc)
		rc = sc_set(r, "ip_address", addr);
	/* The API requires a name for an address; the address itself is a fine one. */
	if (!rc && !sc_opt_value(r, "friendly-name"))
		rc = sc_set(r, "friendly_name", r->pos[1]);
	return rc ? sc_fail(r, rc) : sc_h_create(r);
}

static int address_remove(struct sc_run *r)
{
	char addr[64];
	const char *slash = strchr(r->pos[1], '/');
	struct store_page *pg = NULL;
	uint64_t plen;
	int rc;

	if (!slash)
		return child_remove(r, &acl_child, r->pos[1]);
	/* ADDR/PREFIX names the entry only when both match. */
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - r->pos[1]), r->pos[1]);
	rc = child_find(r, &acl_child, r->pos[0], addr, &pg);
	if (rc)
		return sc_fail(r, rc);
	if (slice_to_u64(slice_cstr(slash + 1), 32, &plen) ||
	    (int64_t)plen != STORE_ROWS(pg, struct store_ip)->cidr_prefix_length) {
		mem_deref(pg);
		return sc_failf(r, "no ip_address '%s' in %s", r->pos[1], r->pos[0]);
	}
	mem_deref(pg);
	return child_remove(r, &acl_child, addr);
}

SC_DEFINE(cli_cmd_acls_create, "acls", "create", "--account AC... --friendly-name NAME [--json]",
          "create an IP access control list",
          "Creates an IP access control list (AL...) of the account.  Add addresses with\n"
          "`ixctl acls add-address` and map it to a domain with `ixctl mappings add`.\n",
          .kind = STORE_ACL, .opts = N(list_create_opts), .write = true, .run = sc_h_create);
SC_DEFINE(cli_cmd_acls_list, "acls", "list", "[--account AC...] [--json]",
          "list the IP access control lists", "Lists the ACLs, oldest first.\n", .kind = STORE_ACL,
          .opts = N(account_filter_opts), .cols = "sid account_sid friendly_name date_created",
          .run = sc_h_list);
SC_DEFINE(cli_cmd_acls_show, "acls", "show", "AL... [--json]",
          "show an IP access control list and its addresses",
          "Prints the ACL and its addresses (JSON: under \"ip_addresses\").\n", .kind = STORE_ACL,
          .min_pos = 1, .max_pos = 1, .run = acl_show);
SC_DEFINE(cli_cmd_acls_update, "acls", "update", "AL... --friendly-name NAME [--json]",
          "rename an IP access control list", "Changes the ACL's friendly name.\n",
          .kind = STORE_ACL, .opts = N(list_update_opts), .min_pos = 1, .max_pos = 1,
          .run = sc_h_update);
SC_DEFINE(cli_cmd_acls_delete, "acls", "delete", "AL... [--json]",
          "delete an IP access control list",
          "Deletes the ACL with its addresses and its mappings to domains.\n", .kind = STORE_ACL,
          .min_pos = 1, .max_pos = 1, .run = sc_h_delete);
SC_DEFINE(cli_cmd_acls_add_address, "acls", "add-address",
          "AL... IPV4[/PREFIX] [--friendly-name NAME] [--sid IP...] [--json]",
          "add an address or network to an IP access control list",
          "Adds a dotted IPv4 address, or a network with a CIDR prefix length (0-32,\n"
          "default 32), to the ACL: at most 100 per ACL, each once.  The friendly name\n"
          "defaults to the address as given.\n",
          .kind = STORE_IP, .opts = N(address_opts), .min_pos = 2, .max_pos = 2, .write = true,
          .run = address_add);
SC_DEFINE(cli_cmd_acls_remove_address, "acls", "remove-address",
          "AL... IPV4[/PREFIX]|IP... [--json]", "remove an address from an IP access control list",
          "Removes the entry named by its address (with its prefix, if given, which must\n"
          "match) or by its SID.\n",
          .kind = STORE_IP, .min_pos = 2, .max_pos = 2, .run = address_remove);

/* --------------------------------------------------------------- credlists */

static const struct sc_opt cred_opts[] = {
    {"password", NULL, 0, "PASSWORD"},
    {"sid", "sid", 0, "CR..."},
};
static const struct sc_opt password_opts[] = {
    {"password", NULL, 0, "PASSWORD"},
};

/*
 * HA1s depend on the realm.  With the configuration at hand, use the realm
 * the daemon challenges with (sip.<first base domain>), so what is hashed
 * now authenticates when the daemon runs; without it, the store's.
 */
static int realm_sync(struct sc_run *r)
{
	char want[300], cur[254] = "";
	int rc;

	if (!r->cfg || !r->cfg->nbase_domains)
		return 0;
	snprintf(want, sizeof(want), "sip.%s", r->cfg->base_domains[0]);
	rc = store_realm_get(r->st, cur, sizeof(cur));
	if (!rc && !strcasecmp(cur, want))
		return 0;
	rc = store_realm_set(r->st, want, &r->err);
	if (!rc)
		fprintf(stderr,
		        "%s: note: digest realm set to %s (was %s): credentials hashed under the "
		        "old realm need their password set again\n",
		        r->ctx->prog, want, cur[0] ? cur : "unset");
	return rc;
}

/* --password, else $IXCTL_PASSWORD (kept out of the process list and shell history). */
static int password_take(struct sc_run *r)
{
	const char *pw = sc_opt_value(r, "password");
	int rc;

	if (!pw)
		pw = getenv("IXCTL_PASSWORD");
	if (!pw)
		return cli_usage_error(r->ctx, r->cmd,
		                       "which password? (--password PASSWORD or IXCTL_PASSWORD)");
	rc = sc_set(r, "password", pw);
	if (!rc)
		rc = realm_sync(r);
	return rc ? sc_fail(r, rc) : CLI_EXIT_OK;
}

static int credlist_show(struct sc_run *r)
{
	return show_with_children(r, STORE_CREDLIST, &credlist_child);
}

static int cred_add(struct sc_run *r)
{
	int st = password_take(r), rc;

	if (st)
		return st;
	rc = sc_set(r, "credential_list_sid", r->pos[0]);
	if (!rc)
		rc = sc_set(r, "username", r->pos[1]);
	return rc ? sc_fail(r, rc) : sc_h_create(r);
}

static int cred_password(struct sc_run *r)
{
	struct store_page *pg = NULL;
	char sid[35];
	int st = password_take(r), rc;

	if (st)
		return st;
	rc = child_find(r, &credlist_child, r->pos[0], r->pos[1], &pg);
	if (rc)
		return sc_fail(r, rc);
	snprintf(sid, sizeof(sid), "%s", STORE_ROWS(pg, struct store_cred)->sid);
	mem_deref(pg);
	return sc_h_update_sid(r, sid);
}

static int cred_remove(struct sc_run *r)
{
	return child_remove(r, &credlist_child, r->pos[1]);
}

SC_DEFINE(cli_cmd_credlists_create, "credlists", "create",
          "--account AC... --friendly-name NAME [--json]", "create a credential list",
          "Creates a credential list (CL...) of the account.  Add credentials with\n"
          "`ixctl credlists add-credential` and map it with `ixctl mappings add`.\n",
          .kind = STORE_CREDLIST, .opts = N(list_create_opts), .write = true, .run = sc_h_create);
SC_DEFINE(cli_cmd_credlists_list, "credlists", "list", "[--account AC...] [--json]",
          "list the credential lists", "Lists the credential lists, oldest first.\n",
          .kind = STORE_CREDLIST, .opts = N(account_filter_opts),
          .cols = "sid account_sid friendly_name date_created", .run = sc_h_list);
SC_DEFINE(cli_cmd_credlists_show, "credlists", "show", "CL... [--json]",
          "show a credential list and its usernames",
          "Prints the list and its credentials (JSON: under \"credentials\"); passwords\n"
          "and their hashes are never shown.\n",
          .kind = STORE_CREDLIST, .min_pos = 1, .max_pos = 1, .run = credlist_show);
SC_DEFINE(cli_cmd_credlists_update, "credlists", "update", "CL... --friendly-name NAME [--json]",
          "rename a credential list", "Changes the list's friendly name.\n", .kind = STORE_CREDLIST,
          .opts = N(list_update_opts), .min_pos = 1, .max_pos = 1, .run = sc_h_update);
SC_DEFINE(cli_cmd_credlists_delete, "credlists", "delete", "CL... [--json]",
          "delete a credential list",
          "Deletes the list with its credentials and its mappings to domains.\n",
          .kind = STORE_CREDLIST, .min_pos = 1, .max_pos = 1, .run = sc_h_delete);
SC_DEFINE(cli_cmd_credlists_add_credential, "credlists", "add-credential",
          "CL... USERNAME [--password PASSWORD] [--sid CR...] [--json]",
          "add a username and password to a credential list",
          "Adds a credential.  The password comes from --password or, better (it stays out\n"
          "of the process list), from the IXCTL_PASSWORD environment variable: at least 12\n"
          "characters with an uppercase letter, a lowercase letter and a digit.  Only its\n"
          "digest hashes (MD5 and SHA-256 HA1 under the store's realm) are stored.  With\n"
          "-c FILE the realm is first set to sip.<first base domain>, the daemon's.\n",
          .kind = STORE_CRED, .opts = N(cred_opts), .min_pos = 2, .max_pos = 2, .write = true,
          .run = cred_add);
SC_DEFINE(cli_cmd_credlists_set_password, "credlists", "set-password",
          "CL... USERNAME|CR... [--password PASSWORD] [--json]",
          "set a credential's password again",
          "Sets the password of a credential (named by username or SID), hashing it under\n"
          "the current realm: the way to revive credentials after a realm change.\n",
          .kind = STORE_CRED, .opts = N(password_opts), .min_pos = 2, .max_pos = 2,
          .run = cred_password);
SC_DEFINE(cli_cmd_credlists_remove_credential, "credlists", "remove-credential",
          "CL... USERNAME|CR... [--json]", "remove a credential from a credential list",
          "Removes the credential named by its username or its SID.\n", .kind = STORE_CRED,
          .min_pos = 2, .max_pos = 2, .run = cred_remove);

/* ---------------------------------------------------------------- mappings */

/* PURPOSE TYPE as ixctl spells them, to the store's mapping. */
static int map_parse(struct sc_run *r, const char *purpose, const char *type, enum store_map *m)
{
	bool calls = !strcmp(purpose, "calls"), acl = !strcmp(type, "acl");

	if (!calls && strcmp(purpose, "registrations"))
		return cli_usage_error(r->ctx, r->cmd, "'%s': calls or registrations?", purpose);
	if (!acl && strcmp(type, "credlist"))
		return cli_usage_error(r->ctx, r->cmd, "'%s': acl or credlist?", type);
	if (!calls && acl)
		return cli_usage_error(r->ctx, r->cmd,
		                       "registrations take credential lists only (credlist)");
	*m = calls ? (acl ? STORE_MAP_CALL_ACL : STORE_MAP_CALL_CREDS) : STORE_MAP_REG_CREDS;
	return CLI_EXIT_OK;
}

static int map_change(struct sc_run *r, bool add)
{
	enum store_map m = STORE_MAP_CALL_ACL;
	char sid[35];
	int st = map_parse(r, r->pos[1], r->pos[2], &m), rc;

	if (st)
		return st;
	rc = sc_domain_resolve(r, r->pos[0], sid);
	if (!rc)
		rc = add ? store_map_add(r->st, m, sid, r->pos[3], &r->err)
		         : store_map_remove(r->st, m, sid, r->pos[3], &r->err);
	if (rc)
		return sc_fail(r, rc);
	if (r->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "domain_sid", sid, "mapping",
		                      store_map_name(m), "sid", r->pos[3], "mapped", add);

		return o ? sc_json_print(o) : sc_failf(r, "out of memory");
	}
	printf("%s %s %s domain %s for %s\n", add ? "mapped" : "unmapped", r->pos[3],
	       add ? "to" : "from", sid, store_map_name(m));
	return CLI_EXIT_OK;
}

static int map_add(struct sc_run *r)
{
	return map_change(r, true);
}

static int map_remove(struct sc_run *r)
{
	return map_change(r, false);
}

/* Where each mapping sits in the JSON: the hosted API's subresource names. */
static const struct {
	const char *purpose, *key;
} map_json[STORE_NMAPS] = {
    [STORE_MAP_CALL_ACL] = {"calls", "ip_access_control_list_mappings"},
    [STORE_MAP_CALL_CREDS] = {"calls", "credential_list_mappings"},
    [STORE_MAP_REG_CREDS] = {"registrations", "credential_list_mappings"},
};

static int map_list_json(struct sc_run *r, const char *sid, struct store_page *pg[STORE_NMAPS])
{
	json_t *o = json_pack("{s:s, s:{}, s:{}}", "domain_sid", sid, "calls", "registrations");
	int bad = !o;

	for (size_t m = 0; !bad && m < STORE_NMAPS; m++) {
		const struct store_kind_info *k = store_kind_get(pg[m]->kind);
		json_t *a = json_array();

		bad = !a || json_object_set_new(json_object_get(o, map_json[m].purpose),
		                                map_json[m].key, a);
		for (size_t i = 0; !bad && i < pg[m]->n; i++)
			bad = json_array_append_new(
			    a, sc_json_rec(pg[m]->kind, (const char *)pg[m]->rows + i * k->size));
	}
	if (bad) {
		json_decref(o);
		return sc_failf(r, "out of memory");
	}
	return sc_json_print(o);
}

static void map_list_table(const char *sid, struct store_page *pg[STORE_NMAPS])
{
	size_t total = 0;

	for (size_t m = 0; m < STORE_NMAPS; m++)
		total += pg[m]->n;
	if (!total) {
		printf("domain %s: nothing mapped (it takes no calls or registrations)\n", sid);
		return;
	}
	printf("%-25s  %-34s  %s\n", "MAPPING", "SID", "FRIENDLY_NAME");
	for (size_t m = 0; m < STORE_NMAPS; m++) {
		const struct store_kind_info *k = store_kind_get(pg[m]->kind);

		for (size_t i = 0; i < pg[m]->n; i++) {
			/* ACLs and credential lists both start with sid, account_sid,
			 * friendly_name. */
			const struct store_acl *l =
			    (const struct store_acl *)((const char *)pg[m]->rows + i * k->size);

			printf("%-25s  %-34s  %s\n", store_map_name((enum store_map)m), l->sid,
			       *l->friendly_name ? l->friendly_name : "-");
		}
	}
}

static int map_list(struct sc_run *r)
{
	struct store_page *pg[STORE_NMAPS] = {0};
	struct store_query q = {.page_size = STORE_PAGE_SIZE_MAX};
	char sid[35];
	int rc = sc_domain_resolve(r, r->pos[0], sid), st = CLI_EXIT_OK;

	/* A domain maps few lists; one page of 1000 per purpose holds them all. */
	for (size_t m = 0; !rc && m < STORE_NMAPS; m++)
		rc = store_map_list(r->st, (enum store_map)m, sid, &q, &pg[m], &r->err);
	if (rc)
		st = sc_fail(r, rc);
	else if (r->json)
		st = map_list_json(r, sid, pg);
	else
		map_list_table(sid, pg);
	for (size_t m = 0; m < STORE_NMAPS; m++)
		mem_deref(pg[m]);
	return st;
}

SC_DEFINE(cli_cmd_mappings_add, "mappings", "add",
          "SD...|LABEL calls|registrations acl|credlist AL...|CL... [--json]",
          "map an ACL or credential list to a domain",
          "Lets the list admit traffic to the domain: `calls acl` (source addresses of\n"
          "calls), `calls credlist` (digest credentials of calls), `registrations\n"
          "credlist` (digest credentials of REGISTER).  Domain and list must belong to one\n"
          "account.  A domain with nothing mapped takes no traffic.\n",
          .kind = STORE_DOMAIN, .min_pos = 4, .max_pos = 4, .run = map_add);
SC_DEFINE(cli_cmd_mappings_remove, "mappings", "remove",
          "SD...|LABEL calls|registrations acl|credlist AL...|CL... [--json]",
          "unmap an ACL or credential list from a domain", "Removes one mapping.\n",
          .kind = STORE_DOMAIN, .min_pos = 4, .max_pos = 4, .run = map_remove);
SC_DEFINE(cli_cmd_mappings_list, "mappings", "list", "SD...|LABEL [--json]",
          "list a domain's mappings",
          "Lists the lists mapped to the domain, for calls and for registrations.\n",
          .kind = STORE_DOMAIN, .min_pos = 1, .max_pos = 1, .run = map_list);
