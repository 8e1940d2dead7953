/* ixctl accounts, domains and connections: create, list, show, update, delete. */
#include <errno.h>
#include <string.h>

#include "routing/routing.h"
#include "store_cmds.h"

#define N(a) (a), ARRAY_SIZE(a)

/* ---------------------------------------------------------------- accounts */

static const struct sc_opt account_create_opts[] = {
    {"friendly-name", "friendly_name", 0, "NAME"},
    {"sid", "sid", 0, "AC..."},
    {"auth-token", "auth_token", 0, "HEX32"},
};
static const struct sc_opt account_update_opts[] = {
    {"friendly-name", "friendly_name", 0, "NAME"},
    {"auth-token", "auth_token", 0, "HEX32"},
};

SC_DEFINE(cli_cmd_accounts_create, "accounts", "create",
          "[--friendly-name NAME] [--sid AC...] [--auth-token HEX32] [--json]", "create an account",
          "Creates an account.  The SID and the auth token (32 lowercase hex digits, it\n"
          "signs webhooks and authenticates the REST API) are generated unless given.\n"
          "Prints the account.\n",
          .kind = STORE_ACCOUNT, .opts = N(account_create_opts), .write = true, .run = sc_h_create);
SC_DEFINE(cli_cmd_accounts_list, "accounts", "list", "[--json]", "list the accounts",
          "Lists every account, oldest first.\n", .kind = STORE_ACCOUNT,
          .cols = "sid friendly_name date_created", .run = sc_h_list);
SC_DEFINE(cli_cmd_accounts_show, "accounts", "show", "AC... [--json]", "show one account",
          "Prints the account, its auth token included.\n", .kind = STORE_ACCOUNT, .min_pos = 1,
          .max_pos = 1, .run = sc_h_show);
SC_DEFINE(cli_cmd_accounts_update, "accounts", "update",
          "AC... [--friendly-name NAME] [--auth-token HEX32] [--json]", "change an account",
          "Changes the fields given; prints the account.\n", .kind = STORE_ACCOUNT,
          .opts = N(account_update_opts), .min_pos = 1, .max_pos = 1, .run = sc_h_update);
SC_DEFINE(cli_cmd_accounts_delete, "accounts", "delete", "AC... [--json]",
          "delete an account and all its configuration",
          "Deletes the account with its domains, ACLs and credential lists (and their\n"
          "addresses, credentials and mappings).  Its call records stay: they are history.\n",
          .kind = STORE_ACCOUNT, .min_pos = 1, .max_pos = 1, .run = sc_h_delete);

/* ----------------------------------------------------------------- domains */

#define DOMAIN_FIELD_OPTS                                                                          \
	{"friendly-name", "friendly_name", 0, "NAME"}, {"voice-url", "voice_url", 0, "URL"},       \
	    {"voice-method", "voice_method", 0, "GET|POST"},                                       \
	    {"voice-fallback-url", "voice_fallback_url", 0, "URL"},                                \
	    {"voice-fallback-method", "voice_fallback_method", 0, "GET|POST"},                     \
	    {"voice-status-callback-url", "voice_status_callback_url", 0, "URL"},                  \
	    {"voice-status-callback-method", "voice_status_callback_method", 0, "GET|POST"},       \
	    {"secure", "secure", SC_BOOL, "BOOL"},                                                 \
	    {"sip-registration", "sip_registration", SC_BOOL, "BOOL"},                             \
	{                                                                                          \
		"twiml", "inline_twiml", SC_FILE, "FILE|-"                                         \
	}

static const struct sc_opt domain_create_opts[] = {
    {"account", "account_sid", SC_REQUIRED, "AC..."},
    {"name", "domain_name", SC_REQUIRED, "LABEL"},
    {"sid", "sid", 0, "SD..."},
    DOMAIN_FIELD_OPTS,
};
static const struct sc_opt domain_update_opts[] = {
    {"name", "domain_name", 0, "LABEL"},
    DOMAIN_FIELD_OPTS,
};
static const struct sc_opt account_filter_opts[] = {
    {"account", NULL, 0, "AC..."},
};

#define DOMAIN_OPTS_HELP                                                                           \
	"  --friendly-name NAME         a name for people\n"                                       \
	"  --voice-url URL              fetched for TwiML when a call comes in\n"                  \
	"  --voice-method GET|POST      (default POST)\n"                                          \
	"  --voice-fallback-url URL     fetched when the voice URL fails\n"                        \
	"  --voice-fallback-method M\n"                                                            \
	"  --voice-status-callback-url URL\n"                                                      \
	"  --voice-status-callback-method M\n"                                                     \
	"  --secure[=BOOL]              require TLS and SRTP (default false)\n"                    \
	"  --sip-registration[=BOOL]    accept REGISTER (default false)\n"                         \
	"  --twiml FILE|-               inline TwiML, used when there is no voice URL\n"           \
	"BOOL is true or false; an empty URL (--voice-url '') clears it.\n"

static int domain_show(struct sc_run *r)
{
	struct store_page *pg = NULL;
	char sid[35];
	int rc = sc_domain_resolve(r, r->pos[0], sid), st;

	if (!rc)
		rc = store_get(r->st, STORE_DOMAIN, sid, &pg, &r->err);
	if (rc)
		return sc_fail(r, rc);
	st = sc_print_one(r, pg);
	mem_deref(pg);
	return st;
}

static int domain_update(struct sc_run *r)
{
	char sid[35];
	int rc = sc_domain_resolve(r, r->pos[0], sid);

	return rc ? sc_fail(r, rc) : sc_h_update_sid(r, sid);
}

static int domain_delete(struct sc_run *r)
{
	char sid[35];
	int rc = sc_domain_resolve(r, r->pos[0], sid);

	if (!rc)
		rc = store_delete(r->st, STORE_DOMAIN, sid, &r->err);
	return rc ? sc_fail(r, rc) : sc_print_deleted(r, "domain", sid);
}

SC_DEFINE(cli_cmd_domains_create, "domains", "create",
          "--account AC... --name LABEL [--sid SD...] [OPTIONS] [--json]", "create a SIP domain",
          "Creates the SIP domain LABEL.sip.<edge>.<base> of the account.  The label is one\n"
          "DNS label (letters, digits, inner '-'), stored lowercase and unique across all\n"
          "accounts.  A domain takes calls only once an ACL or a credential list is mapped\n"
          "to it (ixctl mappings add).\n" DOMAIN_OPTS_HELP,
          .kind = STORE_DOMAIN, .opts = N(domain_create_opts), .write = true, .run = sc_h_create);
SC_DEFINE(cli_cmd_domains_list, "domains", "list", "[--account AC...] [--json]",
          "list the SIP domains", "Lists the domains, oldest first; --account: of one account.\n",
          .kind = STORE_DOMAIN, .opts = N(account_filter_opts),
          .cols = "sid domain_name account_sid friendly_name voice_url secure", .run = sc_h_list);
SC_DEFINE(cli_cmd_domains_show, "domains", "show", "SD...|LABEL [--json]", "show one SIP domain",
          "Prints the domain named by its SID or by its label.\n", .kind = STORE_DOMAIN,
          .min_pos = 1, .max_pos = 1, .run = domain_show);
SC_DEFINE(cli_cmd_domains_update, "domains", "update",
          "SD...|LABEL [--name LABEL] [OPTIONS] [--json]", "change a SIP domain",
          "Changes the fields given; prints the domain.\n" DOMAIN_OPTS_HELP, .kind = STORE_DOMAIN,
          .opts = N(domain_update_opts), .min_pos = 1, .max_pos = 1, .run = domain_update);
SC_DEFINE(cli_cmd_domains_delete, "domains", "delete", "SD...|LABEL [--json]",
          "delete a SIP domain", "Deletes the domain and its mappings.\n", .kind = STORE_DOMAIN,
          .min_pos = 1, .max_pos = 1, .run = domain_delete);

/* ------------------------------------------------------------- connections */

static const struct sc_opt conn_create_opts[] = {
    {"edge", NULL, SC_REQUIRED, "EDGE"},
    {"sid", "sid", 0, "NX..."},
    {"friendly-name", "friendly_name", 0, "NAME"},
};
static const struct sc_opt conn_update_opts[] = {
    {"edge", NULL, 0, "EDGE"},
    {"friendly-name", "friendly_name", 0, "NAME"},
};

/*
 * The edge must be one of the config's (by name or legacy code, as `tnx=`
 * routing would find it); the store keeps its name, so renaming a legacy
 * code in the config cannot strand a connection.
 */
static int edge_take(struct sc_run *r)
{
	const char *edge = sc_opt_value(r, "edge");
	const struct config *cfg = r->cfg;
	struct routing *rt = NULL;
	int idx, rc;

	if (!edge)
		return CLI_EXIT_OK;
	if (!cfg)
		return cli_usage_error(
		    r->ctx, r->cmd, "--edge needs the configuration (-c FILE) to check the edge");
	rc = routing_build(&rt, cfg->edges, cfg->nedges, cfg->regions, cfg->nregions,
	                   cfg->connections, cfg->nconnections, cfg->base_domains,
	                   cfg->nbase_domains);
	if (rc)
		return sc_failf(r, "%s: %s", r->ctx->config, strerror(-rc));
	idx = routing_edge_find(rt, slice_cstr(edge), NULL);
	if (idx < 0) {
		mem_deref(rt);
		return sc_failf(r, "unknown edge '%s' in %s", edge, r->ctx->config);
	}
	rc = sc_set(r, "edge", routing_edge(rt, idx)->name);
	mem_deref(rt);
	return rc ? sc_fail(r, rc) : CLI_EXIT_OK;
}

static int conn_create(struct sc_run *r)
{
	const char *sid = sc_opt_value(r, "sid");
	int st = edge_take(r);

	if (st)
		return st;
	/* Two definitions of one SID would route `tnx=` by whichever the daemon read last. */
	for (size_t i = 0; sid && i < r->cfg->nconnections; i++)
		if (!strcmp(r->cfg->connections[i].sid, sid))
			return sc_failf(r, "connection %s is already defined in %s", sid,
			                r->ctx->config);
	return sc_h_create(r);
}

static int conn_update(struct sc_run *r)
{
	int st = edge_take(r);

	return st ? st : sc_h_update(r);
}

SC_DEFINE(cli_cmd_connections_create, "connections", "create",
          "--edge EDGE [--sid NX...] [--friendly-name NAME] [--json]",
          "create an interconnect connection",
          "Creates an interconnect connection: the SID a `tnx=` URI parameter names, and\n"
          "the edge it lands on.  EDGE is an edge name or legacy code of the configuration\n"
          "(-c FILE is required to check it); the edge's name is stored.  A SID already in\n"
          "the configuration's connections: list is refused.\n",
          .kind = STORE_CONNECTION, .opts = N(conn_create_opts), .write = true, .need_config = true,
          .run = conn_create);
SC_DEFINE(cli_cmd_connections_list, "connections", "list", "[--json]",
          "list the interconnect connections",
          "Lists the connections in the store, oldest first.\n", .kind = STORE_CONNECTION,
          .cols = "sid edge friendly_name date_created", .run = sc_h_list);
SC_DEFINE(cli_cmd_connections_show, "connections", "show", "NX... [--json]",
          "show one interconnect connection", "Prints the connection.\n", .kind = STORE_CONNECTION,
          .min_pos = 1, .max_pos = 1, .run = sc_h_show);
SC_DEFINE(cli_cmd_connections_update, "connections", "update",
          "NX... [--edge EDGE] [--friendly-name NAME] [--json]",
          "change an interconnect connection",
          "Changes the fields given (--edge needs -c FILE); prints the connection.\n",
          .kind = STORE_CONNECTION, .opts = N(conn_update_opts), .min_pos = 1, .max_pos = 1,
          .run = conn_update);
SC_DEFINE(cli_cmd_connections_delete, "connections", "delete", "NX... [--json]",
          "delete an interconnect connection", "Deletes the connection.\n",
          .kind = STORE_CONNECTION, .min_pos = 1, .max_pos = 1, .run = sc_h_delete);
