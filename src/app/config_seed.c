/* Config section seed: accounts, ACLs, credential lists and domains created in the store. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/config_val.h"
#include "app/config_walk.h"
#include "store/store.h"
#include "control/twiml.h"

/*
 * Everything the store would refuse is refused here, with the file position,
 * so `ixedge --check` catches it before a start-up fails half-seeded.  The
 * rules repeat the store's (docs/STORE.md); the store stays the authority.
 */

#define SEED_TEXT_MAX  255   /* friendly names */
#define SEED_URL_MAX   2048  /* voice URLs */
#define SEED_TWIML_MAX 65536 /* inline TwiML (the store's limit, TWIML_MAX_DOC_SIZE) */
#define SEED_USER_MAX  128
#define SEED_PASS_MIN  12
#define SEED_PASS_MAX  128

/* ------------------------------------------------------------ scalars */

static bool has_control(const char *s, bool multiline)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch < 0x20 && !(multiline && (ch == '\t' || ch == '\n' || ch == '\r'))) ||
		    ch == 0x7f)
			return true;
	}
	return false;
}

/* An optional string key: absent keeps *out NULL. */
static int opt_text(struct config_walk *c, yaml_node_t *v, const char *key, size_t max, char **out)
{
	const char *s;
	size_t old;
	int rc;

	if (!v)
		return 0;
	old = config_walk_key(c, key);
	rc = config_walk_str(c, v, &s);
	if (!rc && strlen(s) > max)
		rc = config_walk_fail(c, v, "longer than %zu bytes", max);
	if (!rc && has_control(s, false))
		rc = config_walk_fail(c, v, "contains a control character");
	rc = rc ? rc : config_walk_dup(c, v, s, out);
	config_walk_pop(c, old);
	return rc;
}

static int opt_sid(struct config_walk *c, yaml_node_t *v, const char *prefix, char **out)
{
	const char *s;
	size_t old;
	int rc;

	if (!v)
		return 0;
	old = config_walk_key(c, "sid");
	rc = config_walk_str(c, v, &s);
	if (!rc && !config_val_is_sid(s, prefix))
		rc = config_walk_fail(c, v, "expected %s + 32 lowercase hex digits", prefix);
	rc = rc ? rc : config_walk_dup(c, v, s, out);
	config_walk_pop(c, old);
	return rc;
}

static int opt_url(struct config_walk *c, yaml_node_t *v, const char *key, char **out)
{
	int rc = opt_text(c, v, key, SEED_URL_MAX, out);
	size_t old;

	/* The store's own rule for its URL fields (key is the field's name), checked
	 * here so the error names the config line. */
	if (rc || !*out || (**out && store_field_valid(STORE_DOMAIN, key, *out, NULL) == 0))
		return rc;
	old = config_walk_key(c, key);
	rc = config_walk_fail(c, v, "'%s' is not an http:// or https:// URL with a host",
	                      config_walk_show(c, *out));
	config_walk_pop(c, old);
	return rc;
}

static int opt_method(struct config_walk *c, yaml_node_t *v, const char *key, char **out)
{
	const char *s;
	size_t old;
	int rc;

	if (!v)
		return 0;
	old = config_walk_key(c, key);
	rc = config_walk_str(c, v, &s);
	if (!rc && strcasecmp(s, "GET") && strcasecmp(s, "POST"))
		rc = config_walk_fail(c, v, "expected GET or POST");
	rc = rc ? rc : config_walk_dup(c, v, strcasecmp(s, "GET") ? "POST" : "GET", out);
	config_walk_pop(c, old);
	return rc;
}

/* ACL and credential list names: what mappings refer to them by. */
static int list_name(struct config_walk *c, yaml_node_t *v, const char **out)
{
	size_t old = config_walk_key(c, "name"), n;
	int rc = config_walk_str(c, v, out);

	n = rc ? 0 : strlen(*out);
	if (!rc &&
	    (n == 0 || n > CONFIG_SEED_NAME_MAX ||
	     strspn(*out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
	         n))
		rc = config_walk_fail(c, v, "'%s' must be 1-%d letters, digits, '-', '_' or '.'",
		                      config_walk_show(c, *out), CONFIG_SEED_NAME_MAX);
	config_walk_pop(c, old);
	return rc;
}

/*
 * Inline TwiML goes through the one TwiML parser, so a document calls would
 * refuse is refused now.  In a literal block (twiml: |) the document's line
 * N is N lines below the '|', which is where the error points.
 */
static int twiml_key(struct config_walk *c, yaml_node_t *v, char **out)
{
	struct twiml_err terr = {0};
	struct twiml_doc *doc = NULL;
	const char *s;
	size_t old = config_walk_key(c, "twiml");
	int rc = config_walk_str(c, v, &s);

	if (!rc && strlen(s) > SEED_TWIML_MAX)
		rc = config_walk_fail(c, v, "longer than %d bytes", SEED_TWIML_MAX);
	if (!rc && twiml_parse(&doc, s, strlen(s), &terr)) {
		yaml_node_t at = *v;

		if (v->data.scalar.style == YAML_LITERAL_SCALAR_STYLE && terr.line > 0) {
			at.start_mark.line += (size_t)terr.line;
			at.start_mark.column = 0;
		}
		rc = config_walk_fail(c, &at, "invalid TwiML: %s", terr.what);
	}
	mem_deref(doc);
	rc = rc ? rc : config_walk_dup(c, v, s, out);
	config_walk_pop(c, old);
	return rc;
}

/* ------------------------------------------------------------ lists */

/* sid (given at v) against one seen before: a SID names one record. */
static int sid_unique(struct config_walk *c, yaml_node_t *v, const char *sid, const char *seen)
{
	size_t old;
	int rc;

	if (!sid || !seen || strcmp(sid, seen))
		return 0;
	old = config_walk_key(c, "sid");
	rc = config_walk_fail(c, v, "SID %s is used twice", sid);
	config_walk_pop(c, old);
	return rc;
}

static int acl_addrs(struct config_walk *c, yaml_node_t *n, struct config_seed_acl *a)
{
	size_t count, old = config_walk_key(c, "addresses");
	int rc = config_walk_seq(c, n, 0, CONFIG_MAX_SEED_ADDRS, &count);

	a->addrs = rc ? NULL : config_walk_array(count, sizeof(*a->addrs));
	if (!rc && !a->addrs)
		rc = config_walk_fail(c, n, "out of memory");
	for (size_t i = 0; i < count && !rc; i++) {
		yaml_node_t *it = config_walk_item(c, n, i);
		struct config_prefix *p = &a->addrs[i];
		size_t o2 = config_walk_index(c, i);
		char net[64];
		const char *s;

		rc = config_walk_str(c, it, &s);
		if (!rc) {
			int vr = config_val_prefix(s, p, net, sizeof(net));

			if (vr == -EBADMSG)
				rc = config_walk_fail(c, it,
				                      "'%s' has host bits set (the network is %s)",
				                      config_walk_show(c, s), net);
			else if (vr || p->ip.family != AF_INET)
				rc = config_walk_fail(c, it,
				                      "'%s' is not an IPv4 address or CIDR prefix",
				                      config_walk_show(c, s));
		}
		/* The store keys an ACL's entries by address. */
		for (size_t j = 0; !rc && j < i; j++) {
			if (strcmp(a->addrs[j].ip.text, p->ip.text) == 0)
				rc = config_walk_fail(c, it, "address %s is listed twice",
				                      p->ip.text);
		}
		if (!rc)
			a->naddrs = i + 1;
		config_walk_pop(c, o2);
	}
	config_walk_pop(c, old);
	return rc;
}

static int acl_one(struct config_walk *c, yaml_node_t *n, struct config_seed_account *acct)
{
	static const char *const keys[] = {"name", "sid", "addresses"};
	struct config_seed_acl *a = &acct->acls[acct->nacls];
	const struct config_seed *seed = &c->cfg->seed;
	yaml_node_t *v[ARRAY_SIZE(keys)];
	const char *name;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0x1, v);

	acct->nacls++; /* counted before filling so a partial entry is freed */
	rc = rc ? rc : list_name(c, v[0], &name);
	for (size_t j = 0; !rc && j + 1 < acct->nacls; j++) {
		if (strcmp(acct->acls[j].name, name) == 0) {
			size_t old = config_walk_key(c, "name");

			rc = config_walk_fail(c, v[0], "ACL '%s' is defined twice", name);
			config_walk_pop(c, old);
		}
	}
	rc = rc ? rc : config_walk_dup(c, v[0], name, &a->name);
	rc = rc ? rc : opt_sid(c, v[1], "AL", &a->sid);
	for (size_t i = 0; !rc && a->sid && i < seed->naccounts; i++) {
		const struct config_seed_account *o = &seed->accounts[i];

		for (size_t j = 0; !rc && j < o->nacls && &o->acls[j] != a; j++)
			rc = sid_unique(c, v[1], a->sid, o->acls[j].sid);
	}
	if (!rc && v[2])
		rc = acl_addrs(c, v[2], a);
	return rc;
}

static int cred_one(struct config_walk *c, yaml_node_t *n, struct config_seed_credlist *l)
{
	static const char *const keys[] = {"username", "password"};
	struct config_seed_cred *cr = &l->creds[l->ncreds];
	bool lower = false, upper = false, digit = false;
	yaml_node_t *v[ARRAY_SIZE(keys)];
	const char *s;
	size_t old, len;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0x3, v);

	l->ncreds++;
	if (rc)
		return rc;
	old = config_walk_key(c, "username");
	rc = config_walk_str(c, v[0], &s);
	len = rc ? 0 : strlen(s);
	if (!rc && (len > SEED_USER_MAX ||
	            strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                      "-_.!~*'()&=+$,;?/") != len))
		rc = config_walk_fail(c, v[0],
		                      "'%s' must be 1-%d of letters, digits and -_.!~*'()&=+$,;?/",
		                      config_walk_show(c, s), SEED_USER_MAX);
	for (size_t j = 0; !rc && j + 1 < l->ncreds; j++) {
		if (strcmp(l->creds[j].username, s) == 0)
			rc = config_walk_fail(c, v[0], "user '%s' is listed twice", s);
	}
	rc = rc ? rc : config_walk_dup(c, v[0], s, &cr->username);
	config_walk_pop(c, old);
	if (rc)
		return rc;
	/* Never echo the password: the message names the rule only. */
	old = config_walk_key(c, "password");
	rc = config_walk_str(c, v[1], &s);
	len = rc ? 0 : strlen(s);
	for (size_t i = 0; i < len; i++) {
		lower |= s[i] >= 'a' && s[i] <= 'z';
		upper |= s[i] >= 'A' && s[i] <= 'Z';
		digit |= s[i] >= '0' && s[i] <= '9';
	}
	if (!rc && (len < SEED_PASS_MIN || len > SEED_PASS_MAX || !lower || !upper || !digit))
		rc = config_walk_fail(
		    c, v[1],
		    "must be %d-%d characters with an uppercase letter, a lowercase "
		    "letter and a digit",
		    SEED_PASS_MIN, SEED_PASS_MAX);
	if (!rc && has_control(s, false))
		rc = config_walk_fail(c, v[1], "contains a control character");
	rc = rc ? rc : config_walk_dup(c, v[1], s, &cr->password);
	config_walk_pop(c, old);
	return rc;
}

static int credlist_one(struct config_walk *c, yaml_node_t *n, struct config_seed_account *acct)
{
	static const char *const keys[] = {"name", "sid", "credentials"};
	struct config_seed_credlist *l = &acct->credlists[acct->ncredlists];
	const struct config_seed *seed = &c->cfg->seed;
	yaml_node_t *v[ARRAY_SIZE(keys)];
	const char *name;
	size_t count = 0, old;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0x1, v);

	acct->ncredlists++;
	rc = rc ? rc : list_name(c, v[0], &name);
	for (size_t j = 0; !rc && j + 1 < acct->ncredlists; j++) {
		if (strcmp(acct->credlists[j].name, name) == 0) {
			old = config_walk_key(c, "name");
			rc = config_walk_fail(c, v[0], "credential list '%s' is defined twice",
			                      name);
			config_walk_pop(c, old);
		}
	}
	rc = rc ? rc : config_walk_dup(c, v[0], name, &l->name);
	rc = rc ? rc : opt_sid(c, v[1], "CL", &l->sid);
	for (size_t i = 0; !rc && l->sid && i < seed->naccounts; i++) {
		const struct config_seed_account *o = &seed->accounts[i];

		for (size_t j = 0; !rc && j < o->ncredlists && &o->credlists[j] != l; j++)
			rc = sid_unique(c, v[1], l->sid, o->credlists[j].sid);
	}
	if (rc || !v[2])
		return rc;
	old = config_walk_key(c, "credentials");
	rc = config_walk_seq(c, v[2], 0, CONFIG_MAX_SEED_CREDS, &count);
	l->creds = rc ? NULL : config_walk_array(count, sizeof(*l->creds));
	if (!rc && !l->creds)
		rc = config_walk_fail(c, v[2], "out of memory");
	for (size_t i = 0; i < count && !rc; i++) {
		size_t o2 = config_walk_index(c, i);

		rc = cred_one(c, config_walk_item(c, v[2], i), l);
		config_walk_pop(c, o2);
	}
	config_walk_pop(c, old);
	return rc;
}

/* ------------------------------------------------------------ domains */

/* A list of names, each resolved to an index into the account's ACLs or credential lists. */
static int map_names(struct config_walk *c, yaml_node_t *n, const struct config_seed_account *acct,
                     bool acl, size_t **out, size_t *nout)
{
	size_t count;
	int rc = config_walk_seq(c, n, 0, CONFIG_MAX_SEED_ITEMS, &count);

	*out = rc ? NULL : config_walk_array(count, sizeof(**out));
	if (!rc && !*out)
		rc = config_walk_fail(c, n, "out of memory");
	for (size_t i = 0; i < count && !rc; i++) {
		yaml_node_t *it = config_walk_item(c, n, i);
		size_t o2 = config_walk_index(c, i), nl = acl ? acct->nacls : acct->ncredlists, k;
		const char *s;

		rc = config_walk_str(c, it, &s);
		for (k = 0; !rc && k < nl; k++) {
			if (!strcmp(acl ? acct->acls[k].name : acct->credlists[k].name, s))
				break;
		}
		if (!rc && k == nl)
			rc = config_walk_fail(c, it, "no %s '%s' in this account's %s",
			                      acl ? "ACL" : "credential list",
			                      config_walk_show(c, s),
			                      acl ? "acls" : "credential_lists");
		for (size_t j = 0; !rc && j < i; j++) {
			if ((*out)[j] == k)
				rc = config_walk_fail(c, it, "'%s' is mapped twice", s);
		}
		if (!rc) {
			(*out)[i] = k;
			*nout = i + 1;
		}
		config_walk_pop(c, o2);
	}
	return rc;
}

/* calls: {acls, credential_lists} or registrations: {credential_lists}. */
static int domain_auth(struct config_walk *c, yaml_node_t *n, const char *key,
                       const struct config_seed_account *acct, struct config_seed_domain *d)
{
	static const char *const call_keys[] = {"acls", "credential_lists"};
	static const char *const reg_keys[] = {"credential_lists"};
	bool calls = strcmp(key, "calls") == 0;
	yaml_node_t *v[2];
	size_t old = config_walk_key(c, key), o2;
	int rc = calls ? config_walk_map(c, n, call_keys, 2, 0, v)
	               : config_walk_map(c, n, reg_keys, 1, 0, v);

	if (!rc && calls && v[0]) {
		o2 = config_walk_key(c, "acls");
		rc = map_names(c, v[0], acct, true, &d->map[CONFIG_SEED_CALL_ACL],
		               &d->nmap[CONFIG_SEED_CALL_ACL]);
		config_walk_pop(c, o2);
	}
	if (!rc && v[calls ? 1 : 0]) {
		enum config_seed_map m = calls ? CONFIG_SEED_CALL_CREDS : CONFIG_SEED_REG_CREDS;

		o2 = config_walk_key(c, "credential_lists");
		rc = map_names(c, v[calls ? 1 : 0], acct, false, &d->map[m], &d->nmap[m]);
		config_walk_pop(c, o2);
	}
	config_walk_pop(c, old);
	return rc;
}

/* Domain names route calls, so they are unique across every account. */
static int domain_name(struct config_walk *c, yaml_node_t *v, struct config_seed_domain *d)
{
	const struct config_seed *seed = &c->cfg->seed;
	size_t old = config_walk_key(c, "name");
	const char *s;
	int rc = config_walk_label(c, v, &s);

	for (size_t i = 0; !rc && i < seed->naccounts; i++) {
		const struct config_seed_account *o = &seed->accounts[i];

		for (size_t j = 0; !rc && j < o->ndomains && &o->domains[j] != d; j++) {
			if (strcmp(o->domains[j].name, s) == 0)
				rc = config_walk_fail(c, v, "domain '%s' is defined twice", s);
		}
	}
	rc = rc ? rc : config_walk_dup(c, v, s, &d->name);
	config_walk_pop(c, old);
	return rc;
}

static int domain_one(struct config_walk *c, yaml_node_t *n, struct config_seed_account *acct)
{
	static const char *const keys[] = {"name",
	                                   "sid",
	                                   "friendly_name",
	                                   "voice_url",
	                                   "voice_method",
	                                   "voice_fallback_url",
	                                   "voice_fallback_method",
	                                   "voice_status_callback_url",
	                                   "voice_status_callback_method",
	                                   "secure",
	                                   "sip_registration",
	                                   "twiml",
	                                   "calls",
	                                   "registrations"};
	struct config_seed_domain *d = &acct->domains[acct->ndomains];
	const struct config_seed *seed = &c->cfg->seed;
	yaml_node_t *v[ARRAY_SIZE(keys)];
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0x1, v);

	acct->ndomains++;
	rc = rc ? rc : domain_name(c, v[0], d);
	rc = rc ? rc : opt_sid(c, v[1], "SD", &d->sid);
	for (size_t i = 0; !rc && d->sid && i < seed->naccounts; i++) {
		const struct config_seed_account *o = &seed->accounts[i];

		for (size_t j = 0; !rc && j < o->ndomains && &o->domains[j] != d; j++)
			rc = sid_unique(c, v[1], d->sid, o->domains[j].sid);
	}
	rc = rc ? rc : opt_text(c, v[2], keys[2], SEED_TEXT_MAX, &d->friendly_name);
	rc = rc ? rc : opt_url(c, v[3], keys[3], &d->voice_url);
	rc = rc ? rc : opt_method(c, v[4], keys[4], &d->voice_method);
	rc = rc ? rc : opt_url(c, v[5], keys[5], &d->voice_fallback_url);
	rc = rc ? rc : opt_method(c, v[6], keys[6], &d->voice_fallback_method);
	rc = rc ? rc : opt_url(c, v[7], keys[7], &d->voice_status_callback_url);
	rc = rc ? rc : opt_method(c, v[8], keys[8], &d->voice_status_callback_method);
	rc =
	    rc ? rc : config_walk_either_key(c, v[9], keys[9], "true", "false", "true", &d->secure);
	rc = rc ? rc
	        : config_walk_either_key(c, v[10], keys[10], "true", "false", "true",
	                                 &d->sip_registration);
	if (!rc && v[11])
		rc = twiml_key(c, v[11], &d->twiml);
	if (!rc && v[12])
		rc = domain_auth(c, v[12], keys[12], acct, d);
	if (!rc && v[13])
		rc = domain_auth(c, v[13], keys[13], acct, d);
	return rc;
}

/* ------------------------------------------------------------ accounts */

typedef int(seed_item_h)(struct config_walk *c, yaml_node_t *n, struct config_seed_account *acct);

/* One of an account's lists: the array is allocated, then each entry parsed into it. */
static int account_items(struct config_walk *c, yaml_node_t *n, const char *key,
                         struct config_seed_account *acct, void **arr, size_t size,
                         seed_item_h *item)
{
	size_t count, old = config_walk_key(c, key);
	int rc = config_walk_seq(c, n, 0, CONFIG_MAX_SEED_ITEMS, &count);

	*arr = rc ? NULL : config_walk_array(count, size);
	if (!rc && !*arr)
		rc = config_walk_fail(c, n, "out of memory");
	for (size_t i = 0; i < count && !rc; i++) {
		size_t o2 = config_walk_index(c, i);

		rc = item(c, config_walk_item(c, n, i), acct);
		config_walk_pop(c, o2);
	}
	config_walk_pop(c, old);
	return rc;
}

static int account_one(struct config_walk *c, yaml_node_t *n, struct config_seed_account *a)
{
	static const char *const keys[] = {"sid",  "friendly_name",    "auth_token",
	                                   "acls", "credential_lists", "domains"};
	struct config_seed *seed = &c->cfg->seed;
	yaml_node_t *v[ARRAY_SIZE(keys)];
	const char *s;
	size_t old;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0x1, v);

	if (rc)
		return rc;
	old = config_walk_key(c, "sid");
	rc = config_walk_str(c, v[0], &s);
	if (!rc && !config_val_is_sid(s, "AC"))
		rc = config_walk_fail(c, v[0], "expected AC + 32 lowercase hex digits");
	for (size_t i = 0; !rc && i + 1 < seed->naccounts; i++) {
		if (strcmp(seed->accounts[i].sid, s) == 0)
			rc = config_walk_fail(c, v[0], "account %s is defined twice", s);
	}
	if (!rc)
		memcpy(a->sid, s, sizeof(a->sid));
	config_walk_pop(c, old);
	rc = rc ? rc : opt_text(c, v[1], keys[1], SEED_TEXT_MAX, &a->friendly_name);
	rc = rc ? rc : opt_text(c, v[2], keys[2], 32, &a->auth_token);
	if (!rc && a->auth_token && strspn(a->auth_token, "0123456789abcdef") != 32) {
		old = config_walk_key(c, keys[2]);
		rc = config_walk_fail(c, v[2], "expected 32 lowercase hex digits");
		config_walk_pop(c, old);
	}
	/* Lists before domains, which map them by name. */
	if (!rc && v[3])
		rc = account_items(c, v[3], keys[3], a, (void **)&a->acls, sizeof(*a->acls),
		                   acl_one);
	if (!rc && v[4])
		rc = account_items(c, v[4], keys[4], a, (void **)&a->credlists,
		                   sizeof(*a->credlists), credlist_one);
	if (!rc && v[5])
		rc = account_items(c, v[5], keys[5], a, (void **)&a->domains, sizeof(*a->domains),
		                   domain_one);
	return rc;
}

int config_seed(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"accounts"};
	struct config_seed *seed = &c->cfg->seed;
	yaml_node_t *v[ARRAY_SIZE(keys)];
	size_t count, old;
	int rc;

	/* `seed:` with everything commented out seeds nothing. */
	if (config_walk_is_null(n))
		return 0;
	rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0, v);
	if (rc || !v[0])
		return rc;
	old = config_walk_key(c, "accounts");
	rc = config_walk_seq(c, v[0], 0, CONFIG_MAX_SEED_ACCOUNTS, &count);
	seed->accounts = rc ? NULL : config_walk_array(count, sizeof(*seed->accounts));
	if (!rc && !seed->accounts)
		rc = config_walk_fail(c, v[0], "out of memory");
	for (size_t i = 0; i < count && !rc; i++) {
		size_t o2 = config_walk_index(c, i);

		seed->naccounts = i + 1; /* counted before filling so a partial entry is freed */
		rc = account_one(c, config_walk_item(c, v[0], i), &seed->accounts[i]);
		config_walk_pop(c, o2);
	}
	config_walk_pop(c, old);
	return rc;
}

/* ------------------------------------------------------------ free */

static void domain_free(struct config_seed_domain *d)
{
	char **texts[] = {&d->sid,
	                  &d->name,
	                  &d->friendly_name,
	                  &d->voice_url,
	                  &d->voice_method,
	                  &d->voice_fallback_url,
	                  &d->voice_fallback_method,
	                  &d->voice_status_callback_url,
	                  &d->voice_status_callback_method,
	                  &d->twiml};

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		free(*texts[i]);
	for (size_t m = 0; m < CONFIG_SEED_NMAPS; m++)
		free(d->map[m]);
}

/* Passwords are wiped, not only freed: the config may be dumped or swapped later. */
static void credlist_free(struct config_seed_credlist *l)
{
	for (size_t k = 0; k < l->ncreds; k++) {
		if (l->creds[k].password)
			explicit_bzero(l->creds[k].password, strlen(l->creds[k].password));
		free(l->creds[k].password);
		free(l->creds[k].username);
	}
	free(l->creds);
	free(l->sid);
	free(l->name);
}

void config_seed_free(struct config_seed *s)
{
	for (size_t i = 0; i < s->naccounts; i++) {
		struct config_seed_account *a = &s->accounts[i];

		for (size_t j = 0; j < a->nacls; j++) {
			free(a->acls[j].sid);
			free(a->acls[j].name);
			free(a->acls[j].addrs);
		}
		free(a->acls);
		for (size_t j = 0; j < a->ncredlists; j++)
			credlist_free(&a->credlists[j]);
		free(a->credlists);
		for (size_t j = 0; j < a->ndomains; j++)
			domain_free(&a->domains[j]);
		free(a->domains);
		free(a->friendly_name);
		if (a->auth_token)
			explicit_bzero(a->auth_token, strlen(a->auth_token));
		free(a->auth_token);
	}
	free(s->accounts);
}
