/* ixctl entry point: global options, help, and dispatch through the command table. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Every command, in the order `ixctl --help` lists them.  Add new ones here. */
static const struct cli_cmd *const cli_cmds[] = {
    &cli_cmd_sip_parse,
    &cli_cmd_allowlist,
    &cli_cmd_accounts_create,
    &cli_cmd_accounts_list,
    &cli_cmd_accounts_show,
    &cli_cmd_accounts_update,
    &cli_cmd_accounts_delete,
    &cli_cmd_domains_create,
    &cli_cmd_domains_list,
    &cli_cmd_domains_show,
    &cli_cmd_domains_update,
    &cli_cmd_domains_delete,
    &cli_cmd_acls_create,
    &cli_cmd_acls_list,
    &cli_cmd_acls_show,
    &cli_cmd_acls_update,
    &cli_cmd_acls_delete,
    &cli_cmd_acls_add_address,
    &cli_cmd_acls_remove_address,
    &cli_cmd_credlists_create,
    &cli_cmd_credlists_list,
    &cli_cmd_credlists_show,
    &cli_cmd_credlists_update,
    &cli_cmd_credlists_delete,
    &cli_cmd_credlists_add_credential,
    &cli_cmd_credlists_set_password,
    &cli_cmd_credlists_remove_credential,
    &cli_cmd_mappings_add,
    &cli_cmd_mappings_remove,
    &cli_cmd_mappings_list,
    &cli_cmd_connections_create,
    &cli_cmd_connections_list,
    &cli_cmd_connections_show,
    &cli_cmd_connections_update,
    &cli_cmd_connections_delete,
    &cli_cmd_calls_list,
    &cli_cmd_calls_show,
    &cli_cmd_calls_delete,
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "usage: %s [GLOBAL OPTIONS] GROUP COMMAND [ARGS...]\n"
	        "       %s help [GROUP [COMMAND]]\n"
	        "       %s --help | --version\n"
	        "\n"
	        "Global options (before the command):\n"
	        "  -c, --config FILE   ixedge configuration file: the store commands take the\n"
	        "                      data directory from its data_dir; allowlist reads it\n"
	        "                      when --profile is absent\n"
	        "  --data-dir DIR      ixedge data directory (the store); overrides data_dir\n"
	        "  --json              store commands print JSON (REST API field names)\n"
	        "  -h, --help          show this help and exit\n"
	        "  -V, --version       show the version and exit\n"
	        "\n"
	        "Commands:\n",
	        prog, prog, prog);
	for (size_t i = 0; i < ARRAY_SIZE(cli_cmds); i++) {
		const struct cli_cmd *c = cli_cmds[i];
		int w;

		w = (int)(strlen(c->group) + (c->name ? strlen(c->name) + 1 : 0));
		fprintf(f, "  %s%s%s%*s  %s\n", c->group, c->name ? " " : "",
		        c->name ? c->name : "", w < 28 ? 28 - w : 0, "", c->summary);
	}
	fprintf(f, "\nExit status: 0 ok, 1 rejected input or failed operation, 2 usage error.\n"
	           "See docs/IXCTL.md for details.\n");
}

static bool group_exists(const char *group)
{
	for (size_t i = 0; i < ARRAY_SIZE(cli_cmds); i++) {
		if (strcmp(cli_cmds[i]->group, group) == 0)
			return true;
	}
	return false;
}

/* name NULL finds the one-word command of a group. */
static const struct cli_cmd *cmd_find(const char *group, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cli_cmds); i++) {
		const char *n = cli_cmds[i]->name;

		if (strcmp(cli_cmds[i]->group, group) == 0 &&
		    (n && name ? strcmp(n, name) == 0 : n == name))
			return cli_cmds[i];
	}
	return NULL;
}

static void cmd_help(FILE *f, const struct cli_ctx *ctx, const struct cli_cmd *c)
{
	cli_cmd_usage(f, ctx, c);
	fprintf(f, "\n%s.\n\n%s", c->summary, c->help);
}

/* `ixctl help GROUP` and `ixctl GROUP --help`: every command of the group. */
static void group_help(FILE *f, const struct cli_ctx *ctx, const char *group)
{
	bool first = true;

	for (size_t i = 0; i < ARRAY_SIZE(cli_cmds); i++) {
		if (strcmp(cli_cmds[i]->group, group) != 0)
			continue;
		if (!first)
			fputc('\n', f);
		cmd_help(f, ctx, cli_cmds[i]);
		first = false;
	}
}

static int help_run(const struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *c;

	if (argc == 0) {
		usage(stdout, ctx->prog);
		return CLI_EXIT_OK;
	}
	if (argc > 2 || !group_exists(argv[0])) {
		fprintf(stderr, "%s: help: no such command group '%s'\n", ctx->prog, argv[0]);
		usage(stderr, ctx->prog);
		return CLI_EXIT_USAGE;
	}
	if (argc == 1) {
		group_help(stdout, ctx, argv[0]);
		return CLI_EXIT_OK;
	}
	c = cmd_find(argv[0], argv[1]);
	if (!c) {
		fprintf(stderr, "%s: help: no such command '%s %s'\n", ctx->prog, argv[0], argv[1]);
		group_help(stderr, ctx, argv[0]);
		return CLI_EXIT_USAGE;
	}
	cmd_help(stdout, ctx, c);
	return CLI_EXIT_OK;
}

static bool is_help_flag(const char *s)
{
	return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"data-dir", required_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	struct cli_ctx ctx = {.prog = "ixctl"};
	const struct cli_cmd *c;
	int opt;

	opterr = 0; /* our own messages, with the usage line */
	/* '+': stop at the first non-option, so command options stay for the command. */
	while ((opt = getopt_long(argc, argv, "+:c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			ctx.config = optarg;
			break;
		case 'd':
			ctx.data_dir = optarg;
			break;
		case 'j':
			ctx.json = true;
			break;
		case 'h':
			usage(stdout, ctx.prog);
			return CLI_EXIT_OK;
		case 'V':
			printf("ixctl %s\n", IXEDGE_VERSION);
			return CLI_EXIT_OK;
		case ':':
			fprintf(stderr, "%s: option '%s' needs an argument\n", ctx.prog,
			        argv[optind - 1]);
			usage(stderr, ctx.prog);
			return CLI_EXIT_USAGE;
		default:
			if (optopt)
				fprintf(stderr, "%s: unknown option '-%c'\n", ctx.prog, optopt);
			else
				fprintf(stderr, "%s: unknown option '%s'\n", ctx.prog,
				        argv[optind - 1]);
			usage(stderr, ctx.prog);
			return CLI_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	if (argc == 0) {
		fprintf(stderr, "%s: no command given\n", ctx.prog);
		usage(stderr, ctx.prog);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0)
		return help_run(&ctx, argc - 1, argv + 1);
	if (!group_exists(argv[0])) {
		fprintf(stderr, "%s: unknown command '%s'\n", ctx.prog, argv[0]);
		usage(stderr, ctx.prog);
		return CLI_EXIT_USAGE;
	}
	/* A one-word command parses everything after its name itself, --help too. */
	c = cmd_find(argv[0], NULL);
	if (c) {
		optind = 0;
		return c->run(&ctx, c, argc, argv);
	}
	if (argc == 1 || is_help_flag(argv[1])) {
		bool asked = argc > 1;

		if (!asked)
			fprintf(stderr, "%s: %s: which command?\n", ctx.prog, argv[0]);
		group_help(asked ? stdout : stderr, &ctx, argv[0]);
		return asked ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	c = cmd_find(argv[0], argv[1]);
	if (!c) {
		fprintf(stderr, "%s: unknown command '%s %s'\n", ctx.prog, argv[0], argv[1]);
		group_help(stderr, &ctx, argv[0]);
		return CLI_EXIT_USAGE;
	}
	/* The command gets its own name as argv[0] and parses options afresh. */
	optind = 0;
	return c->run(&ctx, c, argc - 1, argv + 1);
}
