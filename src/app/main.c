/* ixedge daemon entry point: options, config, one libuv loop, clean stop on SIGINT/SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/edge.h"

#define MOD "ixedge"

enum { EXIT_USAGE = 2 };

struct opts {
	const char *config;
	const char *data_dir;
	const char *log_level;
	bool check;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: ixedge -c FILE [--data-dir DIR] [--log-level LEVEL] [--check]\n"
	        "       ixedge --version | --help\n"
	        "\n"
	        "  -c, --config FILE    topology and settings (see docs/CONFIG.md)\n"
	        "  -d, --data-dir DIR   overrides data_dir from the config\n"
	        "  -l, --log-level L    debug, info, warn or error; overrides log.level\n"
	        "      --check          validate FILE, print a summary and exit (0 valid, 1 not)\n"
	        "  -V, --version        print the version\n"
	        "  -h, --help           this text\n");
}

/* 0 to go on, else the exit code (+1 so that 0 stays "go on"). */
static int opts_parse(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"data-dir", required_argument, NULL, 'd'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"check", no_argument, NULL, 'C'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum log_level lvl;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:d:l:Vh", longs, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'd':
			o->data_dir = optarg;
			break;
		case 'l':
			if (log_level_parse(optarg, &lvl)) {
				fprintf(stderr,
				        "ixedge: --log-level must be debug, info, warn or error\n");
				return EXIT_USAGE + 1;
			}
			o->log_level = optarg;
			break;
		case 'C':
			o->check = true;
			break;
		case 'V':
			printf("ixedge %s\n", IXEDGE_VERSION);
			return EXIT_SUCCESS + 1;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS + 1;
		default:
			usage(stderr);
			return EXIT_USAGE + 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ixedge: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE + 1;
	}
	if (!o->config) {
		fprintf(stderr, "ixedge: -c FILE is required\n");
		usage(stderr);
		return EXIT_USAGE + 1;
	}
	return 0;
}

/* Nothing is stored yet, but the directory must be usable when something is. */
static int data_dir_ensure(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0750) == 0) {
		log_info(MOD, "created data directory %s", dir);
		return 0;
	}
	if (errno != EEXIST) {
		log_error(MOD, "cannot create data directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		log_error(MOD, "data directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	return 0;
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

static void summary(const struct config *cfg, char *out, size_t len)
{
	size_t ngw = config_gateway_count(cfg);

	snprintf(out, len,
	         "%zu edge%s, %zu gateway%s, %zu region%s, %zu connection%s, %zu base domain%s",
	         cfg->nedges, plural(cfg->nedges), ngw, plural(ngw), cfg->nregions,
	         plural(cfg->nregions), cfg->nconnections, plural(cfg->nconnections),
	         cfg->nbase_domains, plural(cfg->nbase_domains));
}

static int run(const struct config *cfg, const struct opts *o)
{
	struct edge edge;
	uv_loop_t loop;
	char text[160];
	int rc;

	rc = data_dir_ensure(cfg->data_dir);
	if (rc)
		return rc;
	rc = uv_loop_init(&loop);
	if (rc) {
		log_error(MOD, "cannot start the event loop: %s", uv_strerror(rc));
		return rc;
	}
	rc = edge_start(&edge, &loop, cfg);
	if (!rc) {
		summary(cfg, text, sizeof(text));
		log_info(MOD, "ixedge %s ready: %s (%s)", IXEDGE_VERSION, text, cfg->file);
	}
	/* On failure this only runs the close callbacks, so nothing leaks. */
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop))
		log_warn(MOD, "event loop still had open handles at exit");
	if (!rc)
		log_info(MOD, "stopped");
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct config *cfg = NULL;
	char err[512], text[160];
	enum log_level lvl;
	int rc;

	rc = opts_parse(argc, argv, &o);
	if (rc)
		return rc - 1;
	rc = config_load(&cfg, o.config, err, sizeof(err));
	if (rc) {
		if (o.check)
			fprintf(stderr, "%s\n", err);
		else
			log_error(MOD, "%s", err);
		return EXIT_FAILURE;
	}
	if (o.check) {
		summary(cfg, text, sizeof(text));
		printf("%s: ok: %s\n", o.config, text);
		mem_deref(cfg);
		return EXIT_SUCCESS;
	}
	if (o.data_dir && config_set_data_dir(cfg, o.data_dir)) {
		log_error(MOD, "out of memory");
		mem_deref(cfg);
		return EXIT_FAILURE;
	}
	log_set_level(cfg->log_level);
	if (o.log_level && log_level_parse(o.log_level, &lvl) == 0)
		log_set_level(lvl);
	/* Writes to a closed TCP peer must fail with EPIPE, not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	rc = run(cfg, &o);
	mem_deref(cfg);
	return rc ? EXIT_FAILURE : EXIT_SUCCESS;
}
