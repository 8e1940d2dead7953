/* ixctl store commands: option parsing, opening the store, and the generic create/list/show. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_cmds.h"

/* --twiml FILE: the store takes 64 KiB; a bit more lets it say "too long" itself. */
#define SC_FILE_CAP (1u << 20)
/* Pages one list may take at most (1000 rows each): a bound, not a limit anyone meets. */
#define SC_MAX_PAGES 10000

enum { SC_OPT_JSON = 1000, SC_OPT_HELP, SC_OPT_BASE };

const char *sc_opt_value(const struct sc_run *r, const char *name)
{
	for (size_t i = 0; i < r->def->nopts; i++)
		if (!strcmp(r->def->opts[i].name, name))
			return r->vals[i];
	return NULL;
}

static void cmd_prefix(const struct sc_run *r)
{
	fprintf(stderr, "%s: %s %s: ", r->ctx->prog, r->cmd->group, r->cmd->name);
}

int sc_failf(struct sc_run *r, const char *fmt, ...)
{
	va_list ap;

	cmd_prefix(r);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_FAIL;
}

int sc_fail(struct sc_run *r, int rc)
{
	if (r->err.msg[0])
		return sc_failf(r, "%s", r->err.msg);
	return sc_failf(r, "%s", strerror(rc < 0 ? -rc : rc));
}

int sc_set(struct sc_run *r, const char *field, const char *text)
{
	return store_field_set(r->def->kind, &r->rec, &r->mask, field, text, &r->err);
}

/* An SC_FILE option: the file's bytes as a string. */
static int file_value(struct sc_run *r, size_t i, const char *path, const char **val)
{
	struct buf *b = &r->files[i];
	int rc;

	buf_reset(b);
	rc = cli_input_read(path, SC_FILE_CAP, b);
	if (rc == -E2BIG)
		return sc_failf(r, "'%s' is larger than %u bytes", path, SC_FILE_CAP);
	if (rc)
		return cli_usage_error(r->ctx, r->cmd, "cannot read '%s': %s", path, strerror(-rc));
	if (memchr(b->p, '\0', b->len))
		return sc_failf(r, "'%s' contains a NUL byte", path);
	if (buf_append(b, "", 1))
		return sc_failf(r, "out of memory");
	*val = b->p;
	return CLI_EXIT_OK;
}

static int opt_take(struct sc_run *r, size_t i, const char *arg)
{
	const struct sc_opt *o = &r->def->opts[i];
	const char *val = arg;
	int st;

	if (o->flags & SC_BOOL && !arg)
		val = "true";
	if (o->flags & SC_FILE) {
		st = file_value(r, i, arg, &val);
		if (st)
			return st;
	}
	r->vals[i] = val;
	if (o->field && sc_set(r, o->field, val)) {
		return sc_failf(r, "--%s: %s", o->name, r->err.msg);
	}
	return CLI_EXIT_OK;
}

static int help_print(const struct sc_run *r)
{
	cli_cmd_usage(stdout, r->ctx, r->cmd);
	printf("\n%s.\n\n%s", r->cmd->summary, r->cmd->help);
	return CLI_EXIT_OK;
}

static int args_parse(struct sc_run *r, int argc, char **argv)
{
	struct option lo[SC_MAX_OPTS + 3];
	const struct sc_cmd *d = r->def;
	size_t n = 0;
	int opt, st;

	for (size_t i = 0; i < d->nopts && i < SC_MAX_OPTS; i++) {
		int has = d->opts[i].flags & SC_BOOL ? optional_argument : required_argument;

		lo[n++] = (struct option){d->opts[i].name, has, NULL, SC_OPT_BASE + (int)i};
	}
	lo[n++] = (struct option){"json", no_argument, NULL, SC_OPT_JSON};
	lo[n++] = (struct option){"help", no_argument, NULL, SC_OPT_HELP};
	lo[n] = (struct option){NULL, 0, NULL, 0};
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (opt >= SC_OPT_BASE) {
			st = opt_take(r, (size_t)(opt - SC_OPT_BASE), optarg);
			if (st)
				return st;
		} else if (opt == SC_OPT_JSON) {
			r->json = true;
		} else if (opt == SC_OPT_HELP || opt == 'h') {
			return -1;
		} else if (opt == ':') {
			return cli_usage_error(r->ctx, r->cmd, "option '%s' needs an argument",
			                       argv[optind - 1]);
		} else if (optopt) {
			return cli_usage_error(r->ctx, r->cmd, "unknown option '-%c'", optopt);
		} else {
			return cli_usage_error(r->ctx, r->cmd, "unknown option '%s'",
			                       argv[optind - 1]);
		}
	}
	r->pos = argv + optind;
	r->npos = (size_t)(argc - optind);
	if (r->npos < d->min_pos)
		return cli_usage_error(r->ctx, r->cmd, "missing argument (%s)", r->cmd->args);
	if (r->npos > d->max_pos)
		return cli_usage_error(r->ctx, r->cmd, "unexpected argument '%s'",
		                       r->pos[d->max_pos]);
	for (size_t i = 0; i < d->nopts; i++) {
		const struct sc_opt *o = &d->opts[i];

		if (o->flags & SC_REQUIRED && !r->vals[i])
			return cli_usage_error(r->ctx, r->cmd, "missing --%s %s", o->name,
			                       o->arg ? o->arg : "VALUE");
	}
	return CLI_EXIT_OK;
}

/* The data directory: --data-dir, else the config's data_dir (as the daemon does). */
static int dir_ready(struct sc_run *r, const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			return sc_failf(r, "data directory %s is not a directory", dir);
		return CLI_EXIT_OK;
	}
	if (errno != ENOENT)
		return sc_failf(r, "data directory %s: %s", dir, strerror(errno));
	if (!r->def->write)
		return sc_failf(r, "data directory %s does not exist", dir);
	/* Like the daemon: the directory, not its parents (a typo should not build a tree). */
	if (mkdir(dir, 0750))
		return sc_failf(r, "cannot create data directory %s: %s", dir, strerror(errno));
	return CLI_EXIT_OK;
}

static int store_ready(struct sc_run *r)
{
	const struct cli_ctx *ctx = r->ctx;
	const char *dir = ctx->data_dir;
	char cerr[512];
	int rc, st;

	if (ctx->config) {
		rc = config_load(&r->cfg, ctx->config, cerr, sizeof(cerr));
		if (rc == -EINVAL)
			return sc_failf(r, "%s", cerr);
		if (rc)
			return cli_usage_error(ctx, r->cmd, "cannot read '%s': %s", ctx->config,
			                       strerror(-rc));
		if (!dir)
			dir = r->cfg->data_dir;
	}
	if (r->def->need_config && !r->cfg)
		return cli_usage_error(ctx, r->cmd,
		                       "needs the configuration (-c FILE) to check the edge");
	if (!dir)
		return cli_usage_error(ctx, r->cmd,
		                       "which data directory? (-c FILE or --data-dir DIR)");
	st = dir_ready(r, dir);
	if (st)
		return st;
	rc = store_open(&r->st, dir, &r->err);
	return rc ? sc_fail(r, rc) : CLI_EXIT_OK;
}

int sc_cmd_run(const struct cli_ctx *ctx, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct sc_run *r = calloc(1, sizeof(*r));
	int st;

	if (!r) {
		fprintf(stderr, "%s: out of memory\n", ctx->prog);
		return CLI_EXIT_FAIL;
	}
	r->ctx = ctx;
	r->cmd = cmd;
	r->def = cmd->priv;
	r->json = ctx->json;
	st = args_parse(r, argc, argv);
	if (st < 0)
		st = help_print(r); /* --help: nothing else */
	else if (!st && !(st = store_ready(r)))
		st = r->def->run(r);
	if (!st && (fflush(stdout) || ferror(stdout)))
		st = sc_failf(r, "cannot write the output: %s", strerror(errno));
	for (size_t i = 0; i < SC_MAX_OPTS; i++)
		buf_free(&r->files[i]);
	mem_deref(r->st);
	mem_deref(r->cfg);
	free(r);
	return st;
}

int sc_domain_resolve(struct sc_run *r, const char *arg, char sid[35])
{
	struct store_page *pg = NULL;
	int rc;

	/* A SID is SD + 32 hex digits: 34 characters, longer than the 63-byte labels rarely are. */
	if (strlen(arg) == 34 && !strncmp(arg, "SD", 2)) {
		snprintf(sid, 35, "%s", arg);
		return 0;
	}
	rc = store_domain_by_name(r->st, arg, &pg, &r->err);
	if (rc)
		return rc;
	snprintf(sid, 35, "%s", STORE_ROWS(pg, struct store_domain)->sid);
	mem_deref(pg);
	return 0;
}

void sc_pages_free(struct store_page **pages, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mem_deref(pages[i]);
	free(pages);
}

int sc_list_all(struct sc_run *r, enum store_kind kind, struct store_query *q, size_t limit,
                struct store_page ***pages, size_t *npages)
{
	struct store_page **v = NULL;
	size_t n = 0, rows = 0;
	char token[24] = "";
	int rc = 0;

	do {
		struct store_page *pg = NULL, **nv;
		size_t want = STORE_PAGE_SIZE_MAX;

		if (limit && limit - rows < want)
			want = limit - rows;
		q->page_size = want;
		q->page_token = token;
		rc = store_list(r->st, kind, q, &pg, &r->err);
		if (rc)
			break;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			mem_deref(pg);
			rc = -ENOMEM;
			break;
		}
		v = nv;
		v[n++] = pg;
		rows += pg->n;
		snprintf(token, sizeof(token), "%s", pg->next_token);
	} while (token[0] && (!limit || rows < limit) && n < SC_MAX_PAGES);
	if (rc) {
		sc_pages_free(v, n);
		return rc;
	}
	*pages = v;
	*npages = n;
	return 0;
}

/* ------------------------------------------------ generic create/list/show/update/delete */

int sc_h_create(struct sc_run *r)
{
	struct store_page *pg = NULL;
	int rc = store_create(r->st, r->def->kind, &r->rec, r->mask, &pg, &r->err), st;

	if (rc)
		return sc_fail(r, rc);
	st = sc_print_one(r, pg);
	mem_deref(pg);
	return st;
}

/* Filters of list commands (--account; for calls --status, --direction, --parent), checked. */
static int list_filters(struct sc_run *r, struct store_query *q)
{
	static const struct {
		const char *opt, *field;
	} filters[] = {{"account", "account_sid"},
	               {"status", "status"},
	               {"direction", "direction"},
	               {"parent", "parent_call_sid"}};
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(filters) && n < STORE_QUERY_MAX_WHERE; i++) {
		const char *v = sc_opt_value(r, filters[i].opt);

		if (v) {
			/* A misspelt status would match nothing and look like "no calls". */
			int rc = store_field_valid(r->def->kind, filters[i].field, v, &r->err);

			if (rc)
				return rc;
			q->where[n].field = filters[i].field;
			q->where[n].value = v;
			n++;
		}
	}
	return 0;
}

int sc_h_list(struct sc_run *r)
{
	struct store_query q = {0};
	struct store_page **pages = NULL;
	const char *lim = sc_opt_value(r, "limit");
	uint64_t limit = 0;
	size_t n = 0;
	int rc, st;

	if (lim && (slice_to_u64(slice_cstr(lim), 1000000, &limit) || !limit))
		return cli_usage_error(r->ctx, r->cmd, "--limit: '%s' is not a number 1-1000000",
		                       lim);
	if (!lim && r->def->kind == STORE_CALL)
		limit = STORE_PAGE_SIZE_DEFAULT; /* history grows without end: newest 50 */
	rc = list_filters(r, &q);
	if (!rc)
		rc = sc_list_all(r, r->def->kind, &q, (size_t)limit, &pages, &n);
	if (rc)
		return sc_fail(r, rc);
	st = sc_print_list(r, pages, n, r->def->cols);
	sc_pages_free(pages, n);
	return st;
}

int sc_h_show(struct sc_run *r)
{
	struct store_page *pg = NULL;
	int rc = store_get(r->st, r->def->kind, r->pos[0], &pg, &r->err), st;

	if (rc)
		return sc_fail(r, rc);
	st = sc_print_one(r, pg);
	mem_deref(pg);
	return st;
}

int sc_h_update_sid(struct sc_run *r, const char *sid)
{
	struct store_page *pg = NULL;
	int rc, st;

	if (!r->mask)
		return cli_usage_error(r->ctx, r->cmd, "nothing to change: give an option");
	rc = store_update(r->st, r->def->kind, sid, &r->rec, r->mask, &pg, &r->err);
	if (rc)
		return sc_fail(r, rc);
	st = sc_print_one(r, pg);
	mem_deref(pg);
	return st;
}

int sc_h_update(struct sc_run *r)
{
	return sc_h_update_sid(r, r->pos[0]);
}

int sc_h_delete(struct sc_run *r)
{
	int rc = store_delete(r->st, r->def->kind, r->pos[0], &r->err);

	if (rc)
		return sc_fail(r, rc);
	return sc_print_deleted(r, store_kind_get(r->def->kind)->one, r->pos[0]);
}
