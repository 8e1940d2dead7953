/* bench/media: the ixedge side: N linked endpoint pairs on the daemon's media engine, then wait. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "media/media.h"
#include "streams.h"

/*
 * This is the relay ixedge runs for every call: media_alloc(), a pool, two
 * endpoints per call linked to each other with the remotes from the SDP.
 * The daemon's SIP and SDP wiring does that once per call and nothing per
 * packet, so the packet path measured here is the daemon's.
 */

struct opts {
	unsigned streams, threads, max_seconds;
	const char *addr, *out;
	uint16_t port_min, port_max, port_a, port_b;
	bool mux;
};

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: bench_media_relay -n STREAMS -A PORT_A -B PORT_B -o TARGET_FILE\n"
	    "         [-a POOL_ADDR (127.86.48.1)] [-r MIN-MAX (20000-39999)] [-j THREADS (1)]\n"
	    "         [-m (rtcp-mux: one socket per endpoint)] [-T MAX_SECONDS (900)]\n"
	    "Allocates STREAMS linked endpoint pairs whose remotes are the generator's\n"
	    "sides (bench/media/streams.h), writes the target file, prints \"ready\"\n"
	    "and relays until SIGTERM/SIGINT or MAX_SECONDS.\n");
	exit(2);
}

static unsigned num_arg(const char *s, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v == 0 || v > max)
		usage();
	return (unsigned)v;
}

static void opts_parse(struct opts *o, int argc, char **argv)
{
	unsigned lo, hi;
	int c;

	*o = (struct opts){.threads = 1,
	                   .max_seconds = 900,
	                   .addr = "127.86.48.1",
	                   .port_min = 20000,
	                   .port_max = 39999};
	while ((c = getopt(argc, argv, "n:A:B:o:a:r:j:mT:")) != -1) {
		switch (c) {
		case 'n':
			o->streams = num_arg(optarg, BENCH_MEDIA_MAX_STREAMS);
			break;
		case 'A':
			o->port_a = (uint16_t)num_arg(optarg, 65535);
			break;
		case 'B':
			o->port_b = (uint16_t)num_arg(optarg, 65535);
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'a':
			o->addr = optarg;
			break;
		case 'r':
			if (sscanf(optarg, "%u-%u", &lo, &hi) != 2 || !lo || lo >= hi || hi > 65535)
				usage();
			o->port_min = (uint16_t)lo;
			o->port_max = (uint16_t)hi;
			break;
		case 'j':
			o->threads = num_arg(optarg, 64);
			break;
		case 'm':
			o->mux = true;
			break;
		case 'T':
			o->max_seconds = num_arg(optarg, 3600);
			break;
		default:
			usage();
		}
	}
	if (!o->streams || !o->port_a || !o->port_b || !o->out || optind != argc)
		usage();
}

static void remote_of(struct sockaddr_storage *ss, unsigned i, uint16_t port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_addr = bench_stream_ip(i);
	in->sin_port = htons(port);
}

/* Endpoint pair i: a faces side A, b faces side B; what A sends to a leaves b toward B. */
static int pair_make(struct media *m, const struct opts *o, unsigned i, struct media_ep **eps,
                     FILE *f)
{
	struct sockaddr_storage ra, rb, la, lb;
	int err;

	err = media_ep_alloc(&eps[0], m, "bench", AF_INET, o->mux);
	if (!err)
		err = media_ep_alloc(&eps[1], m, "bench", AF_INET, o->mux);
	if (err)
		return err;
	remote_of(&ra, i, o->port_a);
	remote_of(&rb, i, o->port_b);
	media_ep_remote(eps[0], &ra, NULL, false);
	media_ep_remote(eps[1], &rb, NULL, false);
	media_ep_link(eps[0], eps[1]);
	media_ep_local(eps[0], &la, NULL);
	media_ep_local(eps[1], &lb, NULL);
	return bench_target_write(f, i, (struct sockaddr_in *)&la, (struct sockaddr_in *)&lb) < 0
	           ? -EIO
	           : 0;
}

/* Written to a temporary name and renamed, so the reader never sees half a file. */
static int targets_make(struct media *m, const struct opts *o, struct media_ep **eps)
{
	char tmp[4096];
	FILE *f;
	int err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", o->out);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	for (unsigned i = 0; !err && i < o->streams; i++)
		err = pair_make(m, o, i, &eps[2 * i], f);
	if (fclose(f) && !err)
		err = -EIO;
	if (!err && rename(tmp, o->out) < 0)
		err = -errno;
	return err;
}

/* What the engine counted, for the reader to set against the generator's figures. */
static void totals_print(struct media_ep **eps, unsigned n)
{
	struct media_stats st;
	uint64_t rx = 0, tx = 0, dropped = 0;

	for (unsigned i = 0; i < n; i++) {
		media_ep_stats(eps[i], &st);
		rx += st.rx_pkts;
		tx += st.tx_pkts;
		dropped += st.dropped;
	}
	fprintf(stderr, "relay_host: received %llu, relayed %llu, dropped %llu packets\n",
	        (unsigned long long)rx, (unsigned long long)tx, (unsigned long long)dropped);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct media_conf conf;
	struct media *m = NULL;
	struct media_ep **eps;
	struct sockaddr_storage pool;
	struct sockaddr_in *pin = (struct sockaddr_in *)&pool;
	struct timespec limit;
	sigset_t sigs;
	int err;

	opts_parse(&o, argc, argv);
	log_set_level(LOG_WARN);
	/* Blocked before the media threads start, so only sigtimedwait() below takes them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	memset(&pool, 0, sizeof(pool));
	pin->sin_family = AF_INET;
	if (inet_pton(AF_INET, o.addr, &pin->sin_addr) != 1)
		usage();
	eps = calloc(2 * (size_t)o.streams, sizeof(*eps));
	media_conf_default(&conf);
	conf.threads = o.threads;
	err = eps ? media_alloc(&m, &conf) : -ENOMEM;
	if (!err)
		err = media_pool_add(m, "bench", &pool, 1, o.port_min, o.port_max);
	if (!err)
		err = targets_make(m, &o, eps);
	if (err) {
		fprintf(stderr, "relay_host: %u streams on %s %u-%u: %s\n", o.streams, o.addr,
		        o.port_min, o.port_max, strerror(-err));
		media_free(m);
		free(eps);
		return 1;
	}
	printf("ready %u streams, %u endpoints\n", o.streams, 2 * o.streams);
	fflush(stdout);
	limit = (struct timespec){.tv_sec = o.max_seconds};
	while (sigtimedwait(&sigs, NULL, &limit) < 0 && errno == EINTR)
		;
	totals_print(eps, 2 * o.streams);
	media_free(m);
	free(eps);
	return 0;
}
