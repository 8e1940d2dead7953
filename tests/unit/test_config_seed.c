/* Unit tests: the config's seed: section, valid and broken, and the lab's demo seed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/config.h"

/* A valid topology; every case appends its seed: section (from line 9). */
static const char topo[] = "regions:\n"                                /* 1 */
                           "  - {name: us-east}\n"                     /* 2 */
                           "edges:\n"                                  /* 3 */
                           "  - name: ashburn-ix\n"                    /* 4 */
                           "    region: us-east\n"                     /* 5 */
                           "    gateways:\n"                           /* 6 */
                           "      - {address: 127.0.1.64}\n"           /* 7 */
                           "    media: {addresses: [127.86.128.1]}\n"; /* 8 */

#define AC  "AC0123456789abcdef0123456789abcdef"
#define AC2 "ACfedcba9876543210fedcba9876543210"
#define HEAD                                                                                       \
	"seed:\n"             /* 9 */                                                              \
	"  accounts:\n"       /* 10 */                                                             \
	"    - sid: " AC "\n" /* 11 */

static const char full[] = HEAD "      friendly_name: Demo\n"                          /* 12 */
                                "      auth_token: 0123456789abcdef0123456789abcdef\n" /* 13 */
                                "      acls:\n"                                        /* 14 */
                                "        - name: local\n"                              /* 15 */
                                "          sid: AL0123456789abcdef0123456789abcdef\n"
                                "          addresses: [127.0.0.0/8, 10.1.2.3]\n"
                                "      credential_lists:\n"
                                "        - name: users\n"
                                "          credentials:\n"
                                "            - {username: alice, password: AliceDemo1234}\n"
                                "            - {username: bob, password: BobDemo123456}\n"
                                "        - {name: empty}\n"
                                "      domains:\n"
                                "        - name: demo\n"
                                "          sid: SD0123456789abcdef0123456789abcdef\n"
                                "          friendly_name: The demo\n"
                                "          voice_url: https://example.com/voice\n"
                                "          voice_method: get\n"
                                "          secure: true\n"
                                "          twiml: |\n"
                                "            <Response><Dial><Sip>sip:callee@127.0.0.1:5080"
                                ";edge=london-ix</Sip></Dial></Response>\n"
                                "          calls: {acls: [local], credential_lists: [users]}\n"
                                "          registrations: {credential_lists: [empty, users]}\n"
                                "    - sid: " AC2 "\n"
                                "      domains: [{name: other}]\n";

static void test_full(void **state)
{
	size_t len = strlen(topo) + strlen(full);
	char *text = malloc(len + 1), err[512] = "";
	const struct config_seed_account *a;
	const struct config_seed_domain *d;
	struct config *cfg;

	strcpy(text, topo);
	strcat(text, full);
	if (config_parse(&cfg, "t.yaml", text, len, err, sizeof(err)))
		fail_msg("%s", err);
	free(text);
	assert_int_equal(cfg->seed.naccounts, 2);
	a = &cfg->seed.accounts[0];
	assert_string_equal(a->sid, AC);
	assert_string_equal(a->friendly_name, "Demo");
	assert_string_equal(a->auth_token, "0123456789abcdef0123456789abcdef");
	assert_int_equal(a->nacls, 1);
	assert_string_equal(a->acls[0].name, "local");
	assert_string_equal(a->acls[0].sid, "AL0123456789abcdef0123456789abcdef");
	assert_int_equal(a->acls[0].naddrs, 2);
	assert_string_equal(a->acls[0].addrs[0].ip.text, "127.0.0.0");
	assert_int_equal(a->acls[0].addrs[0].plen, 8);
	assert_string_equal(a->acls[0].addrs[1].ip.text, "10.1.2.3");
	assert_int_equal(a->acls[0].addrs[1].plen, 32);
	assert_int_equal(a->ncredlists, 2);
	assert_null(a->credlists[0].sid);
	assert_int_equal(a->credlists[0].ncreds, 2);
	assert_string_equal(a->credlists[0].creds[1].username, "bob");
	assert_string_equal(a->credlists[0].creds[1].password, "BobDemo123456");
	assert_int_equal(a->credlists[1].ncreds, 0);
	d = &a->domains[0];
	assert_int_equal(a->ndomains, 1);
	assert_string_equal(d->name, "demo");
	assert_string_equal(d->friendly_name, "The demo");
	assert_string_equal(d->voice_method, "GET"); /* normalised */
	assert_null(d->voice_fallback_url);
	assert_true(d->secure);
	assert_false(d->sip_registration);
	assert_non_null(strstr(d->twiml, "edge=london-ix</Sip>"));
	assert_int_equal(d->nmap[CONFIG_SEED_CALL_ACL], 1);
	assert_int_equal(d->map[CONFIG_SEED_CALL_ACL][0], 0);
	assert_int_equal(d->nmap[CONFIG_SEED_CALL_CREDS], 1);
	assert_int_equal(d->nmap[CONFIG_SEED_REG_CREDS], 2);
	assert_int_equal(d->map[CONFIG_SEED_REG_CREDS][0], 1);
	assert_int_equal(d->map[CONFIG_SEED_REG_CREDS][1], 0);
	assert_string_equal(cfg->seed.accounts[1].domains[0].name, "other");
	mem_deref(cfg);
}

struct broken {
	const char *name, *seed, *want;
};

/* Each seed follows HEAD (line 11 is the account's sid). */
static const struct broken broken[] = {
    {"unknown key", "      domians: []\n",
     "t.yaml:12:7: seed.accounts[0].domians: unknown key (expected one of: sid, friendly_name, "
     "auth_token, acls, credential_lists, domains)"},
    {"bad account sid", NULL,
     "t.yaml:11:12: seed.accounts[0].sid: expected AC + 32 lowercase hex digits"},
    {"account twice", "    - sid: " AC "\n",
     "t.yaml:12:12: seed.accounts[1].sid: account " AC " is defined twice"},
    {"bad auth token", "      auth_token: 0123\n",
     "t.yaml:12:19: seed.accounts[0].auth_token: expected 32 lowercase hex digits"},
    {"host bits", "      acls: [{name: a, addresses: [10.0.0.1/8]}]\n",
     "t.yaml:12:36: seed.accounts[0].acls[0].addresses[0]: '10.0.0.1/8' has host bits set (the "
     "network is 10.0.0.0/8)"},
    {"not a prefix", "      acls: [{name: a, addresses: [10.0.0.0/33]}]\n",
     "t.yaml:12:36: seed.accounts[0].acls[0].addresses[0]: '10.0.0.0/33' is not an IPv4 address "
     "or CIDR prefix"},
    {"IPv6 address", "      acls: [{name: a, addresses: ['::1']}]\n",
     "t.yaml:12:36: seed.accounts[0].acls[0].addresses[0]: '::1' is not an IPv4 address or CIDR "
     "prefix"},
    {"address twice", "      acls: [{name: a, addresses: [10.0.0.0/8, 10.0.0.0/16]}]\n",
     "t.yaml:12:48: seed.accounts[0].acls[0].addresses[1]: address 10.0.0.0 is listed twice"},
    {"ACL twice", "      acls: [{name: a}, {name: a}]\n",
     "t.yaml:12:32: seed.accounts[0].acls[1].name: ACL 'a' is defined twice"},
    {"ACL bad sid", "      acls: [{name: a, sid: CL0123456789abcdef0123456789abcdef}]\n",
     "t.yaml:12:29: seed.accounts[0].acls[0].sid: expected AL + 32 lowercase hex digits"},
    {"ACL sid twice",
     "      acls: [{name: a, sid: AL0123456789abcdef0123456789abcdef},\n"
     "             {name: b, sid: AL0123456789abcdef0123456789abcdef}]\n",
     "t.yaml:13:29: seed.accounts[0].acls[1].sid: SID AL0123456789abcdef0123456789abcdef is used "
     "twice"},
    {"bad list name", "      credential_lists: [{name: 'a b'}]\n",
     "t.yaml:12:33: seed.accounts[0].credential_lists[0].name: 'a b' must be 1-64 letters, "
     "digits, '-', '_' or '.'"},
    {"credential list twice", "      credential_lists: [{name: a}, {name: a}]\n",
     "t.yaml:12:44: seed.accounts[0].credential_lists[1].name: credential list 'a' is defined "
     "twice"},
    {"weak password",
     "      credential_lists: [{name: a, credentials: [{username: u, password: secret}]}]\n",
     "t.yaml:12:74: seed.accounts[0].credential_lists[0].credentials[0].password: must be 12-128 "
     "characters with an uppercase letter, a lowercase letter and a digit"},
    {"bad username",
     "      credential_lists: [{name: a, credentials: [{username: 'a b', password: "
     "AliceDemo1234}]}]\n",
     "t.yaml:12:61: seed.accounts[0].credential_lists[0].credentials[0].username: 'a b' must be "
     "1-128 of letters, digits and -_.!~*'()&=+$,;?/"},
    {"user twice",
     "      credential_lists: [{name: a, credentials: [{username: u, password: AliceDemo1234},\n"
     "                                                 {username: u, password: AliceDemo1234}]}]\n",
     "t.yaml:13:61: seed.accounts[0].credential_lists[0].credentials[1].username: user 'u' is "
     "listed twice"},
    {"missing password", "      credential_lists: [{name: a, credentials: [{username: u}]}]\n",
     "t.yaml:12:50: seed.accounts[0].credential_lists[0].credentials[0]: missing required key "
     "'password'"},
    {"domain not a label", "      domains: [{name: Demo}]\n",
     "t.yaml:12:24: seed.accounts[0].domains[0].name: 'Demo' must be lowercase letters, digits "
     "and '-' (a DNS label)"},
    {"domain twice across accounts",
     "      domains: [{name: demo}]\n    - sid: " AC2 "\n      domains: [{name: demo}]\n",
     "t.yaml:14:24: seed.accounts[1].domains[0].name: domain 'demo' is defined twice"},
    {"bad url", "      domains: [{name: d, voice_url: 'ftp://x'}]\n",
     "t.yaml:12:38: seed.accounts[0].domains[0].voice_url: 'ftp://x' is not an http:// or "
     "https:// URL with a host"},
    {"url without host", "      domains: [{name: d, voice_fallback_url: 'https:///x'}]\n",
     "t.yaml:12:47: seed.accounts[0].domains[0].voice_fallback_url: 'https:///x' is not an "
     "http:// or https:// URL with a host"},
    {"bad method", "      domains: [{name: d, voice_method: PUT}]\n",
     "t.yaml:12:41: seed.accounts[0].domains[0].voice_method: expected GET or POST"},
    {"bad bool", "      domains: [{name: d, secure: yes}]\n",
     "t.yaml:12:35: seed.accounts[0].domains[0].secure: expected true or false"},
    {"unknown ACL", "      domains: [{name: d, calls: {acls: [nope]}}]\n",
     "t.yaml:12:42: seed.accounts[0].domains[0].calls.acls[0]: no ACL 'nope' in this account's "
     "acls"},
    {"ACL of another account",
     "      acls: [{name: a}]\n    - sid: " AC2
     "\n      domains: [{name: d, calls: {acls: [a]}}]\n",
     "t.yaml:14:42: seed.accounts[1].domains[0].calls.acls[0]: no ACL 'a' in this account's acls"},
    {"unknown credential list",
     "      domains: [{name: d, registrations: {credential_lists: [x]}}]\n",
     "t.yaml:12:62: seed.accounts[0].domains[0].registrations.credential_lists[0]: no credential "
     "list 'x' in this account's credential_lists"},
    {"acls for registrations",
     "      acls: [{name: a}]\n"
     "      domains: [{name: d, registrations: {acls: [a]}}]\n",
     "t.yaml:13:43: seed.accounts[0].domains[0].registrations.acls: unknown key (expected one of: "
     "credential_lists)"},
    {"mapped twice", "      acls: [{name: a}]\n      domains: [{name: d, calls: {acls: [a, a]}}]\n",
     "t.yaml:13:45: seed.accounts[0].domains[0].calls.acls[1]: 'a' is mapped twice"},
    {"bad TwiML in a block",
     "      domains:\n"
     "        - name: d\n"
     "          twiml: |\n"
     "            <Response>\n"
     "              <Dial foo=\"1\"><Sip>sip:a@127.0.0.1</Sip></Dial>\n"
     "            </Response>\n",
     "t.yaml:16:1: seed.accounts[0].domains[0].twiml: invalid TwiML: line 2: <Dial>: unknown "
     "attribute 'foo'"},
    {"TwiML not XML", "      domains: [{name: d, twiml: 'hello'}]\n", NULL},
    {"domain sid of another kind", "      domains: [{name: d, sid: " AC "}]\n",
     "t.yaml:12:32: seed.accounts[0].domains[0].sid: expected SD + 32 lowercase hex digits"},
};

static void test_broken(void **state)
{
	unsigned failures = 0;

	for (size_t i = 0; i < ARRAY_SIZE(broken); i++) {
		const struct broken *b = &broken[i];
		char text[4096], err[512] = "";
		struct config *cfg = (struct config *)1;
		int rc;

		if (b->seed)
			snprintf(text, sizeof(text), "%s%s%s", topo, HEAD, b->seed);
		else /* the account SID itself is broken */
			snprintf(text, sizeof(text), "%sseed:\n  accounts:\n    - sid: AC0123\n",
			         topo);
		rc = config_parse(&cfg, "t.yaml", text, strlen(text), err, sizeof(err));
		if (rc != -EINVAL || cfg != NULL) {
			print_error("%s: rc %d, want -EINVAL and no config\n", b->name, rc);
			failures++;
		} else if (b->want && strcmp(err, b->want) != 0) {
			print_error("%s:\n  got  %s\n  want %s\n", b->name, err, b->want);
			failures++;
		} else if (strstr(err, "AliceDemo1234") || strstr(err, "secret")) {
			print_error("%s: the message shows a password: %s\n", b->name, err);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_empty_and_absent(void **state)
{
	const char *const variants[] = {"", "seed:\n", "seed: {}\n", "seed: {accounts: []}\n",
	                                "seed:\n  accounts:\n"};
	unsigned failures = 0;

	for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
		char text[1024], err[512] = "";
		struct config *cfg = NULL;

		snprintf(text, sizeof(text), "%s%s", topo, variants[i]);
		if (config_parse(&cfg, "t.yaml", text, strlen(text), err, sizeof(err))) {
			print_error("variant %zu: %s\n", i, err);
			failures++;
			continue;
		}
		if (cfg->seed.naccounts != 0)
			failures++;
		mem_deref(cfg);
	}
	assert_int_equal(failures, 0);
}

/* The lab's demo, as README and docs/CONFIG.md describe it. */
static void test_lab_demo(void **state)
{
	const struct config_seed_account *a;
	const struct config_seed_domain *d;
	struct config *cfg;
	char err[512] = "";

	if (config_load(&cfg, IXEDGE_SOURCE_DIR "/etc/lab.yaml", err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(cfg->seed.naccounts, 1);
	a = &cfg->seed.accounts[0];
	assert_string_equal(a->sid, cfg->calls.account_sid);
	assert_int_equal(a->nacls, 1);
	assert_string_equal(a->acls[0].name, "demo-local");
	assert_int_equal(a->acls[0].naddrs, 1);
	assert_string_equal(a->acls[0].addrs[0].ip.text, "127.0.0.0");
	assert_int_equal(a->acls[0].addrs[0].plen, 8);
	assert_int_equal(a->ndomains, 2);
	d = &a->domains[0];
	assert_string_equal(d->name, "demo");
	assert_string_equal(d->twiml,
	                    "<Response><Dial><Sip>sip:callee@127.0.0.1:5080;edge=london-ix"
	                    "</Sip></Dial></Response>\n");
	assert_int_equal(d->nmap[CONFIG_SEED_CALL_ACL], 1);
	assert_int_equal(d->nmap[CONFIG_SEED_CALL_CREDS], 0); /* no password for the demo */
	assert_int_equal(d->nmap[CONFIG_SEED_REG_CREDS], 0);
	d = &a->domains[1];
	assert_string_equal(d->name, "demo-auth");
	assert_int_equal(d->nmap[CONFIG_SEED_CALL_ACL], 0);
	assert_int_equal(d->nmap[CONFIG_SEED_CALL_CREDS], 1);
	assert_string_equal(a->credlists[d->map[CONFIG_SEED_CALL_CREDS][0]].creds[0].username,
	                    "alice");
	mem_deref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_broken),
	    cmocka_unit_test(test_empty_and_absent),
	    cmocka_unit_test(test_lab_demo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
