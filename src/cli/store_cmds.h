/* ixctl store commands: the shared runner (options, store, output) the resource files use. */
#ifndef IXEDGE_CLI_STORE_CMDS_H
#define IXEDGE_CLI_STORE_CMDS_H

#include <getopt.h>

#include "app/config.h"
#include "cli.h"
#include "store/store.h"

/*
 * A store command is declared as a table: its record kind, the options it
 * takes (most set one store field, so the store validates every value), how
 * many positional arguments, and a handler that does the work once the
 * runner has parsed the command line and opened the store.
 */

enum sc_opt_flag {
	SC_FILE = 1 << 0,     /* the argument names a file ("-": stdin); its content is the value */
	SC_BOOL = 1 << 1,     /* optional_argument: alone means "true" */
	SC_REQUIRED = 1 << 2, /* the command needs it (a usage error otherwise) */
};

struct sc_opt {
	const char *name;  /* long option, without "--" */
	const char *field; /* store field it sets, or NULL: read with sc_opt_value() */
	unsigned flags;
	const char *arg; /* metavariable for messages: "URL" */
};

struct sc_run;
typedef int(sc_run_h)(struct sc_run *r);

struct sc_cmd {
	enum store_kind kind; /* of the fields the options set */
	const struct sc_opt *opts;
	size_t nopts;
	size_t min_pos, max_pos; /* positional arguments */
	bool write;              /* creates the data directory when it is missing */
	bool need_config;        /* needs -c FILE (to check edges) */
	const char *cols;        /* list commands: the table's columns (field names) */
	sc_run_h *run;
};

#define SC_MAX_OPTS 24

/* One command's parsed state.  Handlers read it and print the result. */
struct sc_run {
	const struct cli_ctx *ctx;
	const struct cli_cmd *cmd;
	const struct sc_cmd *def;
	struct store *st;
	struct config *cfg; /* the -c FILE, or NULL */
	bool json;
	char **pos;
	size_t npos;
	union {
		struct store_account a;
		struct store_domain d;
		struct store_acl l;
		struct store_ip i;
		struct store_credlist c;
		struct store_cred r;
		struct store_call_rec k;
		struct store_connection x;
	} rec;
	uint64_t mask;                 /* fields the options gave */
	const char *vals[SC_MAX_OPTS]; /* option values by index in def->opts (NULL: absent) */
	struct buf files[SC_MAX_OPTS]; /* contents of SC_FILE options */
	struct store_err err;
};

cli_cmd_h sc_cmd_run;

/* The value of a non-field option, or NULL when absent. */
const char *sc_opt_value(const struct sc_run *r, const char *name);

/* Reports a store error ("ixctl: GROUP NAME: msg") and returns the exit status for rc. */
int sc_fail(struct sc_run *r, int rc);
/* Prints "ixctl: GROUP NAME: msg" on stderr and returns CLI_EXIT_FAIL. */
int sc_failf(struct sc_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets a field of r->rec from text (validated by the store when written). */
int sc_set(struct sc_run *r, const char *field, const char *text);

/* A domain by SID (SD...) or by name (label): its SID into sid. */
int sc_domain_resolve(struct sc_run *r, const char *arg, char sid[35]);

/* Every record of a query (all pages, oldest first for config), at most limit (0: no limit). */
int sc_list_all(struct sc_run *r, enum store_kind kind, struct store_query *q, size_t limit,
                struct store_page ***pages, size_t *npages);
void sc_pages_free(struct store_page **pages, size_t n);

/* Output.  cols: the list columns, space separated field names. */
int sc_print_list(struct sc_run *r, struct store_page **pages, size_t npages, const char *cols);
/* One record: "field  value" lines, or a JSON object. */
int sc_print_one(struct sc_run *r, const struct store_page *pg);
/* The record as a JSON object with REST field names (NULL when out of memory). */
json_t *sc_json_rec(enum store_kind kind, const void *rec);
/* Rows of pages as a table on stdout (indent spaces before each line). */
void sc_table(struct store_page **pages, size_t npages, const char *cols, int indent);
int sc_json_print(json_t *j);
int sc_print_deleted(struct sc_run *r, const char *what, const char *sid);

/* Generic handlers: kind from the definition, the SID in pos[0] where one is needed. */
sc_run_h sc_h_create, sc_h_list, sc_h_show, sc_h_update, sc_h_delete;
int sc_h_update_sid(struct sc_run *r, const char *sid);

/* Defines `const struct cli_cmd var` running the store command described by the rest. */
#define SC_DEFINE(var, grp, nm, argsyn, summ, hlp, ...)                                            \
	static const struct sc_cmd var##_def = {__VA_ARGS__};                                      \
	const struct cli_cmd var = {.group = grp,                                                  \
	                            .name = nm,                                                    \
	                            .args = argsyn,                                                \
	                            .summary = summ,                                               \
	                            .help = hlp,                                                   \
	                            .run = sc_cmd_run,                                             \
	                            .priv = &var##_def}

#endif
