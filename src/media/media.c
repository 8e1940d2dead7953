/* Media engine: threads, epoch-based reclamation of freed endpoints, seqlocks, metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ixedge/prom.h"
#include "media/media_priv.h"

void media_conf_default(struct media_conf *c)
{
	*c = (struct media_conf){.threads = 1, .quarantine_ms = 5000, .relatch_ms = 1000};
}

uint64_t media_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* +1: never 0, which means "nothing received" in the counters. */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

void seqaddr_store(struct seqaddr *s, const struct media_addr *a, uint32_t gen)
{
	struct seqaddr_val v;
	uint64_t w[4];
	unsigned seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	memset(&v, 0, sizeof(v));
	if (a)
		v.a = *a;
	v.gen = gen;
	memcpy(w, &v, sizeof(w));
	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (int i = 0; i < 4; i++)
		atomic_store_explicit(&s->w[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

uint32_t seqaddr_load(const struct seqaddr *s, struct media_addr *a)
{
	struct seqaddr_val v;
	uint64_t w[4];
	unsigned s1, s2;

	do {
		s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
		for (int i = 0; i < 4; i++)
			w[i] = atomic_load_explicit(&s->w[i], memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&s->seq, memory_order_relaxed);
	} while ((s1 & 1) || s1 != s2);
	memcpy(&v, w, sizeof(v));
	*a = v.a;
	return v.gen;
}

bool media_addr_eq(const struct media_addr *a, const struct media_addr *b)
{
	if (a->u.sa.sa_family != b->u.sa.sa_family)
		return false;
	if (a->u.sa.sa_family == AF_INET)
		return a->u.in.sin_port == b->u.in.sin_port &&
		       a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
	if (a->u.sa.sa_family == AF_INET6)
		return a->u.in6.sin6_port == b->u.in6.sin6_port &&
		       memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
	return false;
}

socklen_t media_addr_len(const struct media_addr *a)
{
	return a->u.sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                     : sizeof(struct sockaddr_in);
}

/* The kernel's ceiling for RLIMIT_NOFILE (fs.nr_open). */
static rlim_t nofile_ceiling(void)
{
	FILE *f = fopen("/proc/sys/fs/nr_open", "r");
	unsigned long v = 0;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v ? (rlim_t)v : 1048576;
}

/*
 * Every endpoint is two sockets, so a busy edge needs far more descriptors
 * than the usual 1024 (or a container's 20000): up to the kernel's ceiling
 * when the process may raise its hard limit (root), else up to the hard
 * limit.
 */
static void nofile_raise(void)
{
	struct rlimit rl;
	rlim_t want = nofile_ceiling();

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_max < want && setrlimit(RLIMIT_NOFILE, &(struct rlimit){want, want}) == 0) {
		log_info(MOD, "open files limit raised to %lu", (unsigned long)want);
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn(MOD, "cannot raise RLIMIT_NOFILE: %s", strerror(errno));
	}
}

static void thr_wake(struct media_thr *t)
{
	uint64_t one = 1;

	/* A full counter (never in practice) still leaves the fd readable: the wake happens. */
	if (write(t->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn(MOD, "thread %u: wake: %s", t->idx, strerror(errno));
}

static void media_wake_all(struct media *m)
{
	for (unsigned i = 0; i < m->nthr; i++)
		if (m->thr[i].evfd >= 0)
			thr_wake(&m->thr[i]);
}

static int thr_init(struct media *m, struct media_thr *t, unsigned idx)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	t->m = m;
	t->idx = idx;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->bufs = malloc((size_t)MEDIA_BATCH * MEDIA_SLOT);
	if (t->epfd < 0 || t->evfd < 0)
		return -errno;
	if (!t->bufs)
		return -ENOMEM;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->evfd, &ev) < 0)
		return -errno;
	for (unsigned i = 0; i < MEDIA_BATCH; i++) {
		t->rxiov[i] = (struct iovec){t->bufs + (size_t)i * MEDIA_SLOT, MEDIA_SLOT};
		t->rx[i].msg_hdr = (struct msghdr){.msg_name = &t->rxsrc[i],
		                                   .msg_namelen = sizeof(t->rxsrc[i]),
		                                   .msg_iov = &t->rxiov[i],
		                                   .msg_iovlen = 1};
	}
	atomic_store(&t->seen, atomic_load(&m->epoch));
	return 0;
}

static void thr_fini(struct media_thr *t)
{
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->evfd >= 0)
		close(t->evfd);
	free(t->bufs);
}

static int threads_start(struct media *m)
{
	int err;

	for (unsigned i = 0; i < m->nthr; i++)
		m->thr[i].epfd = m->thr[i].evfd = -1;
	for (unsigned i = 0; i < m->nthr; i++) {
		err = thr_init(m, &m->thr[i], i);
		if (err)
			return err;
	}
	for (unsigned i = 0; i < m->nthr; i++) {
		err = -pthread_create(&m->thr[i].tid, NULL, media_thr_main, &m->thr[i]);
		if (err)
			return err;
		m->thr[i].started = true;
	}
	return 0;
}

int media_alloc(struct media **out, const struct media_conf *c)
{
	struct media *m;
	int err;

	if (!out || !c || c->threads == 0 || c->threads > MEDIA_MAX_THREADS)
		return -EINVAL;
	nofile_raise();
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->conf = *c;
	m->nthr = c->threads;
	pthread_mutex_init(&m->lock, NULL);
	m->thr = calloc(m->nthr, sizeof(*m->thr));
	err = m->thr ? threads_start(m) : -ENOMEM;
	if (err) {
		log_error(MOD, "cannot start media threads: %s", strerror(-err));
		media_free(m);
		return err;
	}
	*out = m;
	return 0;
}

void media_free(struct media *m)
{
	if (!m)
		return;
	atomic_store(&m->stop, true);
	media_wake_all(m);
	for (unsigned i = 0; m->thr && i < m->nthr; i++)
		if (m->thr[i].started)
			pthread_join(m->thr[i].tid, NULL);
	/* No media thread is left: what was not freed is freed now, at once. */
	while (m->live)
		media_ep_free(m->live);
	media_reclaim(m, true);
	for (unsigned i = 0; m->thr && i < m->nthr; i++)
		thr_fini(&m->thr[i]);
	free(m->thr);
	media_pools_free(m);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/*
 * Called after the endpoint was unlinked and removed from its epoll set.
 * Its epoch is one past every quiescent point a thread may have passed
 * while it could still reach the endpoint.
 */
void media_retire(struct media *m, struct media_ep *ep)
{
	pthread_mutex_lock(&m->lock);
	ep->retire_epoch = atomic_fetch_add(&m->epoch, 1) + 1;
	ep->next = m->limbo;
	m->limbo = ep;
	atomic_fetch_add(&m->nlimbo, 1);
	pthread_mutex_unlock(&m->lock);
	media_wake_all(m);
}

static uint64_t epoch_min_seen(struct media *m)
{
	uint64_t min = UINT64_MAX;

	/* A thread not started yet keeps its initial epoch: it holds nothing, but nothing is lost
	 * by waiting for it either (media_free reclaims with all). */
	for (unsigned i = 0; i < m->nthr; i++) {
		uint64_t s = atomic_load(&m->thr[i].seen);

		if (s < min)
			min = s;
	}
	return min;
}

/*
 * Frees the retired endpoints no media thread can still be using: every
 * thread has passed a quiescent point (the top of its loop, holding no
 * endpoint) since the endpoint was retired.  all: the threads are gone.
 */
void media_reclaim(struct media *m, bool all)
{
	struct media_ep **pp, *ep;
	uint64_t min;

	if (atomic_load(&m->nlimbo) == 0)
		return;
	pthread_mutex_lock(&m->lock);
	min = all ? UINT64_MAX : epoch_min_seen(m);
	for (pp = &m->limbo; (ep = *pp);) {
		if (ep->retire_epoch > min) {
			pp = &ep->next;
			continue;
		}
		*pp = ep->next;
		atomic_fetch_sub(&m->nlimbo, 1);
		media_ep_close(ep);
		free(ep);
	}
	pthread_mutex_unlock(&m->lock);
}

static int tot_metric(struct buf *out, const char *name, const char *help, struct media *m,
                      size_t off)
{
	double sum = 0;
	int err;

	for (unsigned i = 0; i < m->nthr; i++)
		sum += (double)ctr_get((atomic_uint_least64_t *)((char *)&m->thr[i].tot + off));
	err = prom_header(out, name, "counter", help);
	return err ? err : prom_value(out, name, NULL, 0, sum);
}

int media_metrics(struct media *m, struct buf *out)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} tots[] = {
	    {"ixedge_media_rx_packets_total", "Datagrams received on media ports.",
	     offsetof(struct media_tot, rx_pkts)},
	    {"ixedge_media_rx_bytes_total", "Bytes received on media ports.",
	     offsetof(struct media_tot, rx_bytes)},
	    {"ixedge_media_tx_packets_total", "Datagrams relayed.",
	     offsetof(struct media_tot, tx_pkts)},
	    {"ixedge_media_tx_bytes_total", "Bytes relayed.", offsetof(struct media_tot, tx_bytes)},
	    {"ixedge_media_rtcp_packets_total", "RTCP datagrams received.",
	     offsetof(struct media_tot, rtcp)},
	    {"ixedge_media_stun_packets_total", "STUN datagrams received and dropped.",
	     offsetof(struct media_tot, stun)},
	    {"ixedge_media_dropped_packets_total",
	     "Datagrams received and not relayed (no link, no destination, wrong source, junk).",
	     offsetof(struct media_tot, dropped)},
	    {"ixedge_media_send_errors_total", "Datagrams the kernel refused to send.",
	     offsetof(struct media_tot, send_errors)},
	};
	int err = 0;

	for (size_t i = 0; !err && i < ARRAY_SIZE(tots); i++)
		err = tot_metric(out, tots[i].name, tots[i].help, m, tots[i].off);
	if (!err)
		err = prom_header(out, "ixedge_media_endpoints", "gauge", "Live media endpoints.");
	if (!err)
		err = prom_value(out, "ixedge_media_endpoints", NULL, 0, (double)m->nlive);
	if (!err) {
		pthread_mutex_lock(&m->lock);
		err = media_pools_metrics(m, out);
		pthread_mutex_unlock(&m->lock);
	}
	return err;
}
