/* ixctl internals: the command table entry, shared context, input and JSON helpers. */
#ifndef IXEDGE_CLI_H
#define IXEDGE_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "ixedge/base.h"

/* Exit status of every ixctl command (docs/IXCTL.md). */
enum cli_exit {
	CLI_EXIT_OK = 0,    /* done; for checks: the input is well-formed */
	CLI_EXIT_FAIL = 1,  /* the input was rejected or the operation failed */
	CLI_EXIT_USAGE = 2, /* bad command line, or a file that cannot be read */
};

/* Global options, parsed before the command and passed to every command. */
struct cli_ctx {
	const char *prog;     /* "ixctl" */
	const char *config;   /* -c/--config FILE, or NULL */
	const char *data_dir; /* --data-dir DIR, or NULL */
	bool json;            /* --json: store commands print JSON instead of tables */
};

struct cli_cmd;

/* argv[0] is the command's own name; returns an enum cli_exit value. */
typedef int(cli_cmd_h)(const struct cli_ctx *ctx, const struct cli_cmd *cmd, int argc, char **argv);

/* One `ixctl GROUP NAME ...` command.  main.c lists them in one table. */
struct cli_cmd {
	const char *group;   /* "sip" */
	const char *name;    /* "parse"; NULL for a one-word command (`ixctl allowlist ...`) */
	const char *args;    /* synopsis after the name: "[--compact] [FILE|-]" */
	const char *summary; /* one line for the command list */
	const char *help;    /* paragraph(s) for `ixctl help GROUP NAME` */
	cli_cmd_h *run;
	const void *priv; /* the command's own data (store commands: struct sc_cmd) */
};

extern const struct cli_cmd cli_cmd_sip_parse;
extern const struct cli_cmd cli_cmd_allowlist;

/* Store commands (store_cmds*.c, docs/IXCTL.md "Managing the store"). */
extern const struct cli_cmd cli_cmd_accounts_create, cli_cmd_accounts_list, cli_cmd_accounts_show,
    cli_cmd_accounts_update, cli_cmd_accounts_delete;
extern const struct cli_cmd cli_cmd_domains_create, cli_cmd_domains_list, cli_cmd_domains_show,
    cli_cmd_domains_update, cli_cmd_domains_delete;
extern const struct cli_cmd cli_cmd_acls_create, cli_cmd_acls_list, cli_cmd_acls_show,
    cli_cmd_acls_update, cli_cmd_acls_delete, cli_cmd_acls_add_address, cli_cmd_acls_remove_address;
extern const struct cli_cmd cli_cmd_credlists_create, cli_cmd_credlists_list,
    cli_cmd_credlists_show, cli_cmd_credlists_update, cli_cmd_credlists_delete,
    cli_cmd_credlists_add_credential, cli_cmd_credlists_set_password,
    cli_cmd_credlists_remove_credential;
extern const struct cli_cmd cli_cmd_mappings_add, cli_cmd_mappings_remove, cli_cmd_mappings_list;
extern const struct cli_cmd cli_cmd_connections_create, cli_cmd_connections_list,
    cli_cmd_connections_show, cli_cmd_connections_update, cli_cmd_connections_delete;
extern const struct cli_cmd cli_cmd_calls_list, cli_cmd_calls_show, cli_cmd_calls_delete;

/* Prints "PROG: GROUP NAME: <msg>" and the command's usage line on stderr;
 * returns CLI_EXIT_USAGE so callers can `return cli_usage_error(...)`. */
int cli_usage_error(const struct cli_ctx *ctx, const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cli_cmd_usage(FILE *f, const struct cli_ctx *ctx, const struct cli_cmd *cmd);

/*
 * Reads all of path ("-" or NULL: stdin) into out, at most cap bytes.
 * 0; -E2BIG when the input holds more than cap bytes (reading stops at
 * cap + 1, so an endless input cannot exhaust memory); -errno when the
 * file cannot be opened or read; -ENOMEM.
 */
int cli_input_read(const char *path, size_t cap, struct buf *out);

/*
 * JSON strings from raw bytes.  SIP text is UTF-8 but the wire can carry
 * anything, and jansson refuses invalid UTF-8.  Policy: valid UTF-8
 * sequences (including NUL, which JSON writes as \u0000) are kept; every
 * byte that does not start a valid sequence becomes U+FFFD.  Strict
 * validation (no overlongs, surrogates or code points above U+10FFFF).
 * Returns NULL only when out of memory.
 */
json_t *cli_json_str(struct slice s);
/* Like cli_json_str(), but JSON null for an empty slice (an absent field). */
json_t *cli_json_str_or_null(struct slice s);
/* Sets obj[key] with the same UTF-8 policy for the key; an existing key is
 * kept (first one wins, like sip_param_get()).  0 or -ENOMEM; v is consumed. */
int cli_json_set_slice(json_t *obj, struct slice key, json_t *v);

/* Writes s to f with bytes outside printable ASCII as \xNN, for messages on
 * a terminal. */
void cli_fput_safe(FILE *f, struct slice s);

#endif
