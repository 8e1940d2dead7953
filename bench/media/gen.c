/* bench/media: RTP generator: N bidirectional 20 ms G.711 streams through a relay; loss and CPU. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "streams.h"

#define PKT_LEN       172 /* 12-byte RTP header + 160 bytes of G.711 (20 ms at 8 kHz) */
#define PERIOD_US     20000
#define TX_BATCH      1024 /* UIO_MAXIOV: the most one sendmmsg takes */
#define RX_BATCH      256
#define RX_SLOT       2048
#define RX_ROUNDS     64 /* recvmmsg calls per socket per wakeup, then the timer again */
#define LAT_BUCKET_US 10
#define LAT_BUCKETS   10000 /* 100 ms; later is counted in the last bucket */
#define SSRC_BASE     0x5a000000u
#define LATE_TICK_US  2000 /* a tick this late counts as "late" */

/* One direction of a stream: the packets side s sends (the other side receives them). */
struct dir {
	struct sockaddr_in dst; /* the relay port side s sends to */
	uint32_t next;          /* next sequence number, 32 bits (16 on the wire) */
	uint32_t win_first, win_end;
	uint32_t highest;
	bool any;
	uint64_t recv_win, late;
};

struct stream {
	struct dir d[2];
};

union ctl_tx {
	char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct cmsghdr align;
};

union ctl_rx {
	char b[CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(uint32_t))];
	struct cmsghdr align;
};

struct opts {
	unsigned streams, warm_s, dur_s, tick_us, drain_ms;
	uint16_t port[2];
	const char *targets;
	long pid; /* the relay whose CPU time is read; 0: none */
};

struct gen {
	struct opts o;
	struct stream *st;
	int fd[2], tfd;
	bool sending, counting;
	uint64_t t0_ns;
	/* send batches, one per side */
	unsigned sn[2];
	struct mmsghdr smsg[2][TX_BATCH];
	struct iovec siov[2][TX_BATCH];
	uint8_t sbuf[2][TX_BATCH][PKT_LEN];
	union ctl_tx sctl[2][TX_BATCH];
	/* receive batch */
	struct mmsghdr rmsg[RX_BATCH];
	struct iovec riov[RX_BATCH];
	uint8_t rbuf[RX_BATCH][RX_SLOT];
	union ctl_rx rctl[RX_BATCH];
	struct sockaddr_in rsrc[RX_BATCH];
	/* results */
	uint64_t send_err, misrouted, junk, ticks_late, tick_max_late_us;
	uint32_t ovfl[2], ovfl_open[2];
	uint32_t lat[LAT_BUCKETS + 1];
	uint64_t cpu_ticks_open, cpu_ticks_close, self_ns_open, self_ns_close, wall_open,
	    wall_close;
};

static void usage(void)
{
	fprintf(stderr,
	        "usage: bench_media_gen -n STREAMS -A PORT_A -B PORT_B -t TARGET_FILE\n"
	        "         [-p RELAY_PID] [-w WARMUP_S (2)] [-d SECONDS (10)] [-i TICK_US (1000)]\n"
	        "         [-D DRAIN_MS (500)]\n"
	        "Sends 50 packets/s each way on every stream (172-byte RTP, PCMU) to the relay\n"
	        "ports of TARGET_FILE, from 127.88.X.Y:PORT_A/B (bench/media/streams.h), and\n"
	        "prints one line of key=value results for the SECONDS after the warm-up.\n");
	exit(2);
}

static unsigned num_arg(const char *s, unsigned min, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < min || v > max)
		usage();
	return (unsigned)v;
}

static void opts_parse(struct opts *o, int argc, char **argv)
{
	int c;

	*o = (struct opts){.warm_s = 2, .dur_s = 10, .tick_us = 1000, .drain_ms = 500};
	while ((c = getopt(argc, argv, "n:A:B:t:p:w:d:i:D:")) != -1) {
		switch (c) {
		case 'n':
			o->streams = num_arg(optarg, 1, BENCH_MEDIA_MAX_STREAMS);
			break;
		case 'A':
			o->port[0] = (uint16_t)num_arg(optarg, 1, 65535);
			break;
		case 'B':
			o->port[1] = (uint16_t)num_arg(optarg, 1, 65535);
			break;
		case 't':
			o->targets = optarg;
			break;
		case 'p':
			o->pid = num_arg(optarg, 1, 1u << 30);
			break;
		case 'w':
			o->warm_s = num_arg(optarg, 0, 60);
			break;
		case 'd':
			o->dur_s = num_arg(optarg, 1, 600);
			break;
		case 'i':
			o->tick_us = num_arg(optarg, 100, PERIOD_US / 2);
			break;
		case 'D':
			o->drain_ms = num_arg(optarg, 0, 5000);
			break;
		default:
			usage();
		}
	}
	/* Whole slots per period, so every stream sends exactly every 20 ms. */
	if (!o->streams || !o->port[0] || !o->port[1] || !o->targets || optind != argc ||
	    PERIOD_US % o->tick_us)
		usage();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t self_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* utime + stime of a process and all its threads, in clock ticks (/proc/PID/stat 14, 15). */
static uint64_t proc_cpu_ticks(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	if (!pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* After ") ": state is field 3, utime 14, stime 15. */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

static int targets_read(struct gen *g)
{
	FILE *f = fopen(g->o.targets, "r");
	char ia[INET_ADDRSTRLEN], ib[INET_ADDRSTRLEN];
	unsigned i, pa, pb, seen = 0;

	if (!f)
		return -errno;
	while (seen < g->o.streams && fscanf(f, "%u %15s %u %15s %u", &i, ia, &pa, ib, &pb) == 5) {
		struct dir *d;

		if (i >= g->o.streams || pa > 65535 || pb > 65535)
			break;
		d = g->st[i].d;
		if (inet_pton(AF_INET, ia, &d[0].dst.sin_addr) != 1 ||
		    inet_pton(AF_INET, ib, &d[1].dst.sin_addr) != 1)
			break;
		d[0].dst.sin_family = d[1].dst.sin_family = AF_INET;
		d[0].dst.sin_port = htons((uint16_t)pa);
		d[1].dst.sin_port = htons((uint16_t)pb);
		seen++;
	}
	fclose(f);
	return seen == g->o.streams ? 0 : -EINVAL;
}

static int sock_open(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, big = 256 << 20;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* The generator's own buffers must never be where packets are lost. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void bufs_init(struct gen *g)
{
	for (int s = 0; s < 2; s++)
		for (unsigned k = 0; k < TX_BATCH; k++)
			memset(g->sbuf[s][k] + 12, 0xff, PKT_LEN - 12); /* PCMU silence */
	for (unsigned k = 0; k < RX_BATCH; k++)
		g->riov[k] = (struct iovec){g->rbuf[k], RX_SLOT};
	for (unsigned i = 0; i < g->o.streams; i++)
		for (int s = 0; s < 2; s++)
			g->st[i].d[s].win_first = UINT32_MAX;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void batch_flush(struct gen *g, int s)
{
	unsigned i = 0;

	while (i < g->sn[s]) {
		int r = sendmmsg(g->fd[s], g->smsg[s] + i, g->sn[s] - i, 0);

		if (r > 0) {
			i += (unsigned)r;
		} else if (r < 0 && errno != EINTR) {
			g->send_err++; /* that one datagram is skipped */
			i++;
		}
	}
	g->sn[s] = 0;
}

/* Queues the next packet of stream i, side s: from 127.88.X.Y:PORT_s to the relay. */
static void pkt_queue(struct gen *g, unsigned i, int s, uint64_t now)
{
	struct dir *d = &g->st[i].d[s];
	unsigned k = g->sn[s]++;
	uint8_t *p = g->sbuf[s][k];
	uint32_t ssrc = SSRC_BASE | (i << 1) | (unsigned)s;
	struct msghdr *mh = &g->smsg[s][k].msg_hdr;
	struct cmsghdr *cm;
	struct in_pktinfo pi = {.ipi_spec_dst = bench_stream_ip(i)};

	p[0] = 0x80;                       /* V=2 */
	p[1] = d->next == 0 ? 0x80 : 0x00; /* PT 0 (PCMU), marker on the first */
	p[2] = (uint8_t)(d->next >> 8);
	p[3] = (uint8_t)d->next;
	put32(p + 4, ssrc * 7u + d->next * 160u); /* timestamp: 160 samples per packet */
	put32(p + 8, ssrc);
	memcpy(p + 12, &now, sizeof(now)); /* the send time, for the latency figures */
	d->next++;
	g->siov[s][k] = (struct iovec){p, PKT_LEN};
	*mh = (struct msghdr){.msg_name = &d->dst,
	                      .msg_namelen = sizeof(d->dst),
	                      .msg_iov = &g->siov[s][k],
	                      .msg_iovlen = 1,
	                      .msg_control = g->sctl[s][k].b,
	                      .msg_controllen = sizeof(g->sctl[s][k].b)};
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	if (g->sn[s] == TX_BATCH)
		batch_flush(g, s);
}

/* Slot `slot` of the 20 ms period: side A of streams i = slot (mod slots), side B half a period
 * later. */
static void slot_send(struct gen *g, unsigned slot, uint64_t now)
{
	unsigned slots = PERIOD_US / g->o.tick_us;

	for (unsigned i = slot; i < g->o.streams; i += slots)
		pkt_queue(g, i, 0, now);
	for (unsigned i = (slot + slots - slots / 2) % slots; i < g->o.streams; i += slots)
		pkt_queue(g, i, 1, now);
}

static void window_open(struct gen *g)
{
	for (unsigned i = 0; i < g->o.streams; i++)
		for (int s = 0; s < 2; s++) {
			g->st[i].d[s].win_first = g->st[i].d[s].next;
			g->st[i].d[s].win_end = UINT32_MAX;
		}
	g->counting = true;
	g->ovfl_open[0] = g->ovfl[0];
	g->ovfl_open[1] = g->ovfl[1];
	g->cpu_ticks_open = proc_cpu_ticks(g->o.pid);
	g->self_ns_open = self_cpu_ns();
	g->wall_open = now_ns();
}

static void window_close(struct gen *g)
{
	for (unsigned i = 0; i < g->o.streams; i++)
		for (int s = 0; s < 2; s++)
			g->st[i].d[s].win_end = g->st[i].d[s].next;
	g->sending = false;
	g->cpu_ticks_close = proc_cpu_ticks(g->o.pid);
	g->self_ns_close = self_cpu_ns();
	g->wall_close = now_ns();
}

/* One packet received on side `side`'s socket: it must come from the other side of its stream. */
static void pkt_recv(struct gen *g, int side, unsigned k, uint64_t now)
{
	const uint8_t *p = g->rbuf[k];
	struct msghdr *mh = &g->rmsg[k].msg_hdr;
	struct in_addr dst = {0};
	uint32_t ssrc, ext;
	uint16_t delta;
	uint64_t sent_ns;
	struct dir *d;
	unsigned i;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			dst = pi.ipi_addr;
		} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
			memcpy(&g->ovfl[side], CMSG_DATA(cm), sizeof(uint32_t));
		}
	}
	if (g->rmsg[k].msg_len != PKT_LEN || p[0] != 0x80) {
		g->junk++;
		return;
	}
	ssrc = get32(p + 8);
	i = (ssrc & 0xffffffu) >> 1;
	if ((ssrc & 0xff000000u) != SSRC_BASE || i >= g->o.streams || (int)(ssrc & 1) == side ||
	    bench_stream_index(dst) != (long)i) {
		g->misrouted++;
		return;
	}
	d = &g->st[i].d[1 - side];
	delta = (uint16_t)((uint16_t)d->next - (uint16_t)(p[2] << 8 | p[3]));
	if (delta == 0) {
		g->junk++; /* a sequence number not sent yet */
		return;
	}
	ext = d->next - delta;
	if (d->any && ext <= d->highest) {
		d->late++; /* reordered or duplicated */
	} else {
		d->highest = ext;
		d->any = true;
	}
	if (ext < d->win_first || ext >= d->win_end)
		return;
	d->recv_win++;
	memcpy(&sent_ns, p + 12, sizeof(sent_ns));
	uint64_t us = now > sent_ns ? (now - sent_ns) / 1000 : 0;
	g->lat[us / LAT_BUCKET_US < LAT_BUCKETS ? us / LAT_BUCKET_US : LAT_BUCKETS]++;
}

static void sock_drain(struct gen *g, int side)
{
	for (int round = 0; round < RX_ROUNDS; round++) {
		for (unsigned k = 0; k < RX_BATCH; k++)
			g->rmsg[k].msg_hdr =
			    (struct msghdr){.msg_name = &g->rsrc[k],
			                    .msg_namelen = sizeof(g->rsrc[k]),
			                    .msg_iov = &g->riov[k],
			                    .msg_iovlen = 1,
			                    .msg_control = g->rctl[k].b,
			                    .msg_controllen = sizeof(g->rctl[k].b)};
		int n = recvmmsg(g->fd[side], g->rmsg, RX_BATCH, MSG_DONTWAIT, NULL);
		uint64_t now = now_ns();

		for (int k = 0; k < n; k++)
			pkt_recv(g, side, (unsigned)k, now);
		if (n < RX_BATCH)
			return;
	}
}

/* Timer expirations: every tick sends its slot, late or not; phases follow the schedule. */
static bool ticks_run(struct gen *g, uint64_t *tick)
{
	uint64_t exp, now = now_ns(), tick_ns = (uint64_t)g->o.tick_us * 1000;
	uint64_t open_at = (uint64_t)g->o.warm_s * 1000000000u;
	uint64_t close_at = open_at + (uint64_t)g->o.dur_s * 1000000000u;
	uint64_t end_at = close_at + (uint64_t)g->o.drain_ms * 1000000u;
	unsigned slots = PERIOD_US / g->o.tick_us;

	if (read(g->tfd, &exp, sizeof(exp)) != sizeof(exp))
		return true;
	for (uint64_t e = 0; e < exp; e++) {
		uint64_t at = *tick * tick_ns, due = g->t0_ns + at + tick_ns;
		uint64_t late_us = now > due ? (now - due) / 1000 : 0;

		if (g->counting && g->sending) {
			if (late_us > g->tick_max_late_us)
				g->tick_max_late_us = late_us;
			g->ticks_late += late_us > LATE_TICK_US;
		}
		if (!g->counting && at >= open_at)
			window_open(g);
		if (g->sending && at >= close_at) {
			batch_flush(g, 0);
			batch_flush(g, 1);
			window_close(g);
		}
		if (at >= end_at)
			return false;
		if (g->sending)
			slot_send(g, (unsigned)(*tick % slots), now);
		(*tick)++;
		/* Catching up: read between ticks, or the socket buffers overflow. */
		if (exp > 1) {
			batch_flush(g, 0);
			batch_flush(g, 1);
			sock_drain(g, 0);
			sock_drain(g, 1);
		}
	}
	batch_flush(g, 0);
	batch_flush(g, 1);
	return true;
}

static int run(struct gen *g)
{
	struct itimerspec its = {.it_interval = {0, (long)g->o.tick_us * 1000},
	                         .it_value = {0, (long)g->o.tick_us * 1000}};
	struct pollfd pfd[3];
	uint64_t tick = 0;

	g->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (g->tfd < 0)
		return -errno;
	g->sending = true;
	/* Tick t (from 0) is due at t0 + (t + 1) * tick: the timer's first expiry is one tick in.
	 */
	g->t0_ns = now_ns();
	if (timerfd_settime(g->tfd, 0, &its, NULL) < 0)
		return -errno;
	pfd[0] = (struct pollfd){.fd = g->tfd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = g->fd[0], .events = POLLIN};
	pfd[2] = (struct pollfd){.fd = g->fd[1], .events = POLLIN};
	for (;;) {
		if (poll(pfd, 3, 1000) < 0 && errno != EINTR)
			return -errno;
		if ((pfd[0].revents & POLLIN) && !ticks_run(g, &tick))
			return 0;
		for (int s = 0; s < 2; s++)
			if (pfd[1 + s].revents & POLLIN)
				sock_drain(g, s);
	}
}

static unsigned lat_pct(const struct gen *g, uint64_t total, double pct)
{
	uint64_t want = (uint64_t)((double)total * pct / 100.0), acc = 0;

	for (unsigned b = 0; b <= LAT_BUCKETS; b++) {
		acc += g->lat[b];
		if (acc > want)
			return (b + 1) * LAT_BUCKET_US;
	}
	return (LAT_BUCKETS + 1) * LAT_BUCKET_US;
}

static void report(const struct gen *g)
{
	uint64_t sent = 0, recv = 0, late = 0, lossy = 0;
	double tck = (double)sysconf(_SC_CLK_TCK);
	double cpu_ms = (double)(g->cpu_ticks_close - g->cpu_ticks_open) * 1000.0 / tck;
	double self_ms = (double)(g->self_ns_close - g->self_ns_open) / 1e6;
	/* The window as it ran: an overloaded generator closes it late. */
	double wall_ms = (double)(g->wall_close - g->wall_open) / 1e6;

	for (unsigned i = 0; i < g->o.streams; i++)
		for (int s = 0; s < 2; s++) {
			const struct dir *d = &g->st[i].d[s];
			uint64_t n = d->win_end - d->win_first;

			sent += n;
			recv += d->recv_win;
			late += d->late;
			lossy += d->recv_win < n;
		}
	printf("streams=%u seconds=%u sent=%llu recv=%llu lost=%lld loss_pct=%.4f "
	       "lossy_dirs=%llu late_or_dup=%llu misrouted=%llu junk=%llu gen_rx_drops=%u "
	       "send_err=%llu relay_cpu_ms=%.0f relay_cpu_ms_per_1000=%.4f relay_cpu_pct=%.1f "
	       "gen_cpu_pct=%.1f ticks_late=%llu tick_max_late_us=%llu lat_p50_us=%u "
	       "lat_p99_us=%u lat_p999_us=%u\n",
	       g->o.streams, g->o.dur_s, (unsigned long long)sent, (unsigned long long)recv,
	       (long long)sent - (long long)recv,
	       sent ? 100.0 * ((double)sent - (double)recv) / (double)sent : 0.0,
	       (unsigned long long)lossy, (unsigned long long)late,
	       (unsigned long long)g->misrouted, (unsigned long long)g->junk,
	       (g->ovfl[0] - g->ovfl_open[0]) + (g->ovfl[1] - g->ovfl_open[1]),
	       (unsigned long long)g->send_err, cpu_ms, recv ? cpu_ms * 1000.0 / (double)recv : 0.0,
	       100.0 * cpu_ms / wall_ms, 100.0 * self_ms / wall_ms,
	       (unsigned long long)g->ticks_late, (unsigned long long)g->tick_max_late_us,
	       lat_pct(g, recv, 50), lat_pct(g, recv, 99), lat_pct(g, recv, 99.9));
}

int main(int argc, char **argv)
{
	struct gen *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return 1;
	opts_parse(&g->o, argc, argv);
	g->fd[0] = g->fd[1] = g->tfd = -1;
	g->st = calloc(g->o.streams, sizeof(*g->st));
	err = g->st ? targets_read(g) : -ENOMEM;
	if (err) {
		fprintf(stderr, "gen: %s: %s\n", g->o.targets, strerror(-err));
		return 1;
	}
	bufs_init(g);
	for (int s = 0; s < 2 && !err; s++) {
		g->fd[s] = sock_open(g->o.port[s]);
		err = g->fd[s] < 0 ? g->fd[s] : 0;
	}
	if (!err)
		err = run(g);
	if (err) {
		fprintf(stderr, "gen: %s\n", strerror(-err));
		return 1;
	}
	report(g);
	return 0;
}
