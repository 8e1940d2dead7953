/* bench/sip_parse: parse cost per message of ixedge against libosip2 over one corpus. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <osipparser2/osip_parser.h>

#include "bench.h"
#include "ixedge/sip.h"

#define MAX_MSGS     64
#define MAX_MSG_SIZE 65535
#define REPS         5
#define CALIB_NS     20000000ull /* calibrate until one run takes this long */

struct corpus_msg {
	char name[64];
	char *p; /* NUL-terminated copy of the file; len excludes the NUL */
	size_t len;
};

/* Elements each parser found, compared before timing so both did the same work. */
struct elem_counts {
	uint32_t contact;
	uint32_t route;
	uint32_t rroute;
	uint32_t auth;
};

typedef int(parse_fn)(const struct corpus_msg *cm, struct elem_counts *cnt, struct sip_perr *err);

struct parser {
	const char *name;
	parse_fn *fn;
};

struct result {
	double ns;     /* median ns per message */
	double spread; /* (max - min) / median over the REPS runs */
};

static struct sip_limits ix_lim;
static volatile uint64_t sink; /* keeps parsed values observable */

/* Parses the addresses of every value of a name-addr header, as the edge would. */
static int ix_parse_addrs(const struct sip_msg *msg, enum sip_hdr_id id, uint32_t *n,
                          struct sip_perr *err)
{
	struct sip_hdr_iter it;
	struct sip_addr addr;
	struct slice v;
	int r;

	sip_hdr_iter_init(&it, msg, id);
	while ((r = sip_hdr_iter_next(&it, &v)) == 0) {
		r = sip_addr_decode(&addr, v, err);
		if (r)
			return r;
		sink += addr.uri.host.len + addr.params.len;
		(*n)++;
	}
	return r == -ENOENT ? 0 : r;
}

static int ix_parse_auths(const struct sip_msg *msg, enum sip_hdr_id id, uint32_t *n,
                          struct sip_perr *err)
{
	struct sip_hdr_iter it;
	struct sip_auth auth;
	struct slice v;
	int r;

	sip_hdr_iter_init(&it, msg, id);
	while ((r = sip_hdr_iter_next(&it, &v)) == 0) {
		r = sip_auth_decode(&auth, v, err);
		if (r)
			return r;
		sink += auth.response.len + auth.nonce.len;
		(*n)++;
	}
	return r == -ENOENT ? 0 : r;
}

/*
 * The parse the edge does on every message it receives: decode (start line,
 * Request-URI, topmost Via, From, To, Call-ID, CSeq, Max-Forwards,
 * Content-Length, Content-Type, header index) plus Contact, Record-Route,
 * Route, P-Asserted-Identity, Authorization and Proxy-Authorization.
 */
static int ix_parse(const struct corpus_msg *cm, struct elem_counts *cnt, struct sip_perr *err)
{
	struct sip_msg *msg = NULL;
	uint32_t pai = 0;
	int r;

	r = sip_msg_decode(&msg, cm->p, cm->len, NULL, &ix_lim, err);
	if (!r) {
		sink += msg->nhdr + msg->via.branch.len + msg->cseq.num;
		r = ix_parse_addrs(msg, SIP_HDR_CONTACT, &cnt->contact, err);
	}
	if (!r)
		r = ix_parse_addrs(msg, SIP_HDR_RECORD_ROUTE, &cnt->rroute, err);
	if (!r)
		r = ix_parse_addrs(msg, SIP_HDR_ROUTE, &cnt->route, err);
	if (!r)
		r = ix_parse_addrs(msg, SIP_HDR_P_ASSERTED_IDENTITY, &pai, err);
	if (!r)
		r = ix_parse_auths(msg, SIP_HDR_AUTHORIZATION, &cnt->auth, err);
	if (!r)
		r = ix_parse_auths(msg, SIP_HDR_PROXY_AUTHORIZATION, &cnt->auth, err);
	mem_deref(msg);
	return r;
}

/* libosip2 parses every header it knows while parsing the message. */
static int osip_parse(const struct corpus_msg *cm, struct elem_counts *cnt, struct sip_perr *err)
{
	osip_message_t *m = NULL;
	int r;

	if (osip_message_init(&m) != OSIP_SUCCESS)
		return -ENOMEM;
	r = osip_message_parse(m, cm->p, cm->len);
	if (r == OSIP_SUCCESS) {
		cnt->contact += (uint32_t)osip_list_size(&m->contacts);
		cnt->route += (uint32_t)osip_list_size(&m->routes);
		cnt->rroute += (uint32_t)osip_list_size(&m->record_routes);
		cnt->auth += (uint32_t)(osip_list_size(&m->authorizations) +
		                        osip_list_size(&m->proxy_authorizations));
		sink += (uint64_t)osip_list_size(&m->vias) + (m->call_id != NULL);
		if (!m->call_id || !m->cseq || !m->from || !m->to || osip_list_size(&m->vias) < 1) {
			err->what = "libosip2 did not find Call-ID, CSeq, From, To or Via";
			r = -EBADMSG;
		}
	} else {
		err->what = "osip_message_parse() failed";
		r = -EBADMSG;
	}
	osip_message_free(m);
	return r;
}

/*
 * For reference beside the edge's parse: decode plus sip_msg_check(), which
 * parses every header ixedge knows with its grammar, as libosip2 does.
 */
static int ix_check(const struct corpus_msg *cm, struct elem_counts *cnt, struct sip_perr *err)
{
	struct sip_msg *msg = NULL;
	int r;

	r = sip_msg_decode(&msg, cm->p, cm->len, NULL, &ix_lim, err);
	if (!r)
		r = sip_msg_check(msg, err);
	if (!r)
		sink += msg->nhdr;
	mem_deref(msg);
	return r;
}

/* The first two are compared; ratios are libosip2's time over the others'. */
static const struct parser parsers[] = {
    {"ixedge", ix_parse},
    {"libosip2", osip_parse},
    {"ixedge-check", ix_check},
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Parses msgs[0..n) iters times; returns elapsed ns. */
static uint64_t run_ns(parse_fn *fn, const struct corpus_msg *msgs, size_t n, uint64_t iters)
{
	struct elem_counts cnt = {0};
	struct sip_perr err;
	uint64_t t0 = now_ns();

	for (uint64_t i = 0; i < iters; i++)
		for (size_t j = 0; j < n; j++)
			sink += (uint64_t)fn(&msgs[j], &cnt, &err);
	sink += cnt.contact + cnt.route;
	return now_ns() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Times every parser on msgs[0..n): one calibration run per parser picks an
 * iteration count that fits budget_ns per run (capped at max_iters), then
 * REPS runs alternate between the parsers so drift hits both alike.
 */
static void bench_case(const struct corpus_msg *msgs, size_t n, uint64_t budget_ns,
                       uint64_t max_iters, struct result *res)
{
	double ns[ARRAY_SIZE(parsers)][REPS];
	uint64_t iters[ARRAY_SIZE(parsers)];

	for (size_t p = 0; p < ARRAY_SIZE(parsers); p++) {
		uint64_t it = 1, el;

		while ((el = run_ns(parsers[p].fn, msgs, n, it)) < CALIB_NS && it < max_iters)
			it *= 2;
		it = (uint64_t)((double)it * (double)budget_ns / (double)(el ? el : 1));
		iters[p] = it < 1 ? 1 : it > max_iters ? max_iters : it;
	}
	for (int r = 0; r < REPS; r++)
		for (size_t p = 0; p < ARRAY_SIZE(parsers); p++) {
			uint64_t el = run_ns(parsers[p].fn, msgs, n, iters[p]);

			ns[p][r] = (double)el / (double)(iters[p] * n);
		}
	for (size_t p = 0; p < ARRAY_SIZE(parsers); p++) {
		qsort(ns[p], REPS, sizeof(double), cmp_double);
		res[p].ns = ns[p][REPS / 2];
		res[p].spread = (ns[p][REPS - 1] - ns[p][0]) / res[p].ns;
	}
}

/*
 * Parses each message once with each parser, counting heap allocations.
 * Fails unless every parser accepts every message and ixedge and libosip2
 * found the same number of Contact, Route, Record-Route and credentials.
 */
static int verify(const struct corpus_msg *msgs, size_t n, double allocs[][ARRAY_SIZE(parsers)])
{
	for (size_t i = 0; i < n; i++) {
		struct elem_counts cnt[ARRAY_SIZE(parsers)];

		for (size_t p = 0; p < ARRAY_SIZE(parsers); p++) {
			struct sip_perr err = {0};
			uint64_t a0 = bench_alloc_count();
			int r;

			memset(&cnt[p], 0, sizeof(cnt[p]));
			r = parsers[p].fn(&msgs[i], &cnt[p], &err);
			allocs[i][p] = (double)(bench_alloc_count() - a0);
			if (r) {
				fprintf(stderr,
				        "sip_parse: %s rejects %s (%s): %s at offset %zu "
				        "header '" SLICE_FMT "'\n",
				        parsers[p].name, msgs[i].name, strerror(-r),
				        err.what ? err.what : "?", err.offset,
				        SLICE_ARG(err.hname));
				return -1;
			}
		}
		if (memcmp(&cnt[0], &cnt[1], sizeof(cnt[0]))) {
			fprintf(stderr,
			        "sip_parse: parsers disagree on %s: contact %u/%u route %u/%u "
			        "record-route %u/%u auth %u/%u (ixedge/libosip2)\n",
			        msgs[i].name, cnt[0].contact, cnt[1].contact, cnt[0].route,
			        cnt[1].route, cnt[0].rroute, cnt[1].rroute, cnt[0].auth,
			        cnt[1].auth);
			return -1;
		}
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct corpus_msg *)a)->name, ((const struct corpus_msg *)b)->name);
}

static int load_file(struct corpus_msg *cm, const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	size_t got;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(cm->name, sizeof(cm->name), "%s", name);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "sip_parse: %s: %s\n", path, strerror(errno));
		return -1;
	}
	cm->p = malloc(MAX_MSG_SIZE + 1);
	got = cm->p ? fread(cm->p, 1, MAX_MSG_SIZE + 1, f) : 0;
	fclose(f);
	if (got == 0 || got > MAX_MSG_SIZE) {
		fprintf(stderr, "sip_parse: %s: empty, unreadable or over %d bytes\n", path,
		        MAX_MSG_SIZE);
		free(cm->p);
		cm->p = NULL;
		return -1;
	}
	cm->p[got] = '\0';
	cm->len = got;
	return 0;
}

/* Loads every *.sip file of dir, sorted by name. */
static int load_corpus(const char *dir, struct corpus_msg *msgs, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	*n = 0;
	if (!d) {
		fprintf(stderr, "sip_parse: corpus %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l < 5 || strcmp(e->d_name + l - 4, ".sip") != 0)
			continue;
		if (*n == MAX_MSGS || l >= sizeof(msgs[0].name)) {
			fprintf(stderr, "sip_parse: too many files or name too long in %s\n", dir);
			closedir(d);
			return -1;
		}
		if (load_file(&msgs[*n], dir, e->d_name)) {
			closedir(d);
			return -1;
		}
		(*n)++;
	}
	closedir(d);
	if (*n == 0) {
		fprintf(stderr, "sip_parse: no *.sip files in %s\n", dir);
		return -1;
	}
	qsort(msgs, *n, sizeof(msgs[0]), name_cmp);
	return 0;
}

static void print_row(const char *name, size_t bytes, const struct result *res,
                      const double *allocs)
{
	double spread = 0;

	for (size_t p = 0; p < ARRAY_SIZE(parsers); p++)
		spread = res[p].spread > spread ? res[p].spread : spread;
	printf("%-25s %5zu %7.0f %7.0f %5.1fx %7.1f %7.1f %5.2f %6.1f %7.0f %5.1fx %5.1f%%\n", name,
	       bytes, res[0].ns, res[1].ns, res[1].ns / res[0].ns, (double)bytes / res[0].ns * 1e3,
	       (double)bytes / res[1].ns * 1e3, allocs[0], allocs[1], res[2].ns,
	       res[1].ns / res[2].ns, spread * 100.0);
}

static int run_profile(const char *name, const struct corpus_msg *msgs, size_t n, uint64_t iters)
{
	for (size_t p = 0; p < ARRAY_SIZE(parsers); p++) {
		if (strcmp(parsers[p].name, name) != 0)
			continue;
		uint64_t el = run_ns(parsers[p].fn, msgs, n, iters);

		printf("sip_parse: %s %.0f ns/message over %llu x %zu messages (profile mode)\n",
		       name, (double)el / (double)(iters * n), (unsigned long long)iters, n);
		return 0;
	}
	fprintf(stderr, "sip_parse: unknown parser '%s' (ixedge, libosip2, ixedge-check)\n", name);
	return 2;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: bench_sip_parse [-t SECONDS] [-n MAX_ITERS] [-p PARSER] CORPUS_DIR\n"
	        "  -t  time budget for all timed runs (default 40)\n"
	        "  -n  iteration cap per message per parser per run (default 200000)\n"
	        "  -p  profile mode: parse the whole corpus MAX_ITERS times with one\n"
	        "      parser (ixedge, libosip2, ixedge-check), e.g. under callgrind\n");
}

int main(int argc, char **argv)
{
	static struct corpus_msg msgs[MAX_MSGS];
	double allocs[MAX_MSGS][ARRAY_SIZE(parsers)], mix_allocs[ARRAY_SIZE(parsers)] = {0};
	struct result res[ARRAY_SIZE(parsers)];
	const char *profile = NULL;
	double seconds = 40.0;
	uint64_t max_iters = 200000, budget_ns, total = 0;
	size_t n;
	int c;

	while ((c = getopt(argc, argv, "t:n:p:h")) != -1) {
		switch (c) {
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		case 'n':
			max_iters = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			profile = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind + 1 != argc || !(seconds > 0 && seconds <= 3600) || max_iters == 0) {
		usage();
		return 2;
	}
	sip_limits_default(&ix_lim);
	if (parser_init() != OSIP_SUCCESS) {
		fprintf(stderr, "sip_parse: libosip2 parser_init() failed\n");
		return 1;
	}
	if (load_corpus(argv[optind], msgs, &n))
		return 1;
	if (verify(msgs, n, allocs))
		return 1;
	if (profile)
		return run_profile(profile, msgs, n, max_iters);

	/* Each message and the mix get the same share of the budget. */
	budget_ns = (uint64_t)(seconds * 1e9) / ((n + 1) * ARRAY_SIZE(parsers) * REPS);
	printf("sip_parse: %zu messages, %d runs each, median; budget %.0f s, cap %llu "
	       "iterations\n",
	       n, REPS, seconds, (unsigned long long)max_iters);
	printf("ix: sip_msg_decode + Contact, Record-Route, Route, P-Asserted-Identity, "
	       "(Proxy-)Authorization; osip: osip_message_init + _parse + _free\n\n");
	printf("%-25s %5s %7s %7s %6s %7s %7s %5s %6s %7s %6s %6s\n", "message", "bytes", "ix ns",
	       "osip ns", "ratio", "ix MB/s", "osipMB/s", "ix al", "osipal", "chk ns", "ratio",
	       "spread");
	for (size_t i = 0; i < n; i++) {
		bench_case(&msgs[i], 1, budget_ns, max_iters, res);
		print_row(msgs[i].name, msgs[i].len, res, allocs[i]);
		total += msgs[i].len;
		for (size_t p = 0; p < ARRAY_SIZE(parsers); p++)
			mix_allocs[p] += allocs[i][p] / (double)n;
		fflush(stdout);
	}
	/* The mix parses the whole corpus in turn; ns and bytes are per message. */
	bench_case(msgs, n, budget_ns, max_iters / n ? max_iters / n : 1, res);
	print_row("mix (all in turn)", total / n, res, mix_allocs);
	printf("\nns: median ns per message; MB/s: 10^6 bytes per second\n"
	       "ix al / osipal: heap allocations per parse (malloc/calloc/realloc calls)\n"
	       "chk ns: ixedge decode + sip_msg_check (every known header, full grammar), "
	       "ratio osip/chk\n"
	       "spread: (max - min) / median of the %d runs, worst of the parsers\n",
	       REPS);
	printf("sip_parse: ixedge is %.1fx faster than libosip2 per message (mix)\n",
	       res[1].ns / res[0].ns);
	for (size_t i = 0; i < n; i++)
		free(msgs[i].p);
	return 0;
}
