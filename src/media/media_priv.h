/* media internals: endpoints, pools, threads, seqlocked addresses, single-writer counters. */
#ifndef IXEDGE_MEDIA_PRIV_H
#define IXEDGE_MEDIA_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#include "media/media.h"

#define MOD "media"

#define MEDIA_BATCH       32   /* datagrams per recvmmsg/sendmmsg */
#define MEDIA_SLOT        4096 /* bytes per datagram; larger ones arrive truncated, dropped */
#define MEDIA_EVENTS      64   /* epoll events per wait */
#define MEDIA_MAX_THREADS 64

/* A remote or local address as small as it can be (no sockaddr_storage copies per packet). */
struct media_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
};

/*
 * An address and a generation, written by one thread and read by others
 * without a lock: a seqlock whose data words are relaxed atomics (so
 * concurrent reads are not data races), retried while a write is under way.
 */
struct seqaddr {
	atomic_uint seq;
	atomic_uint_least64_t w[4];
};

struct seqaddr_val {
	struct media_addr a;
	uint32_t gen;
};
_Static_assert(sizeof(struct seqaddr_val) == 4 * sizeof(uint64_t), "seqaddr packs into 4 words");

void seqaddr_store(struct seqaddr *s, const struct media_addr *a, uint32_t gen);
/* Returns the generation stored with the address. */
uint32_t seqaddr_load(const struct seqaddr *s, struct media_addr *a);
bool media_addr_eq(const struct media_addr *a, const struct media_addr *b);
socklen_t media_addr_len(const struct media_addr *a);

/* Counters with one writing thread: a relaxed load and store, no locked instruction. */
static inline void ctr_add(atomic_uint_least64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

static inline uint64_t ctr_get(const atomic_uint_least64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

enum { MEDIA_RTP = 0, MEDIA_RTCP = 1 };

/* One local socket of an endpoint. */
struct media_leg {
	int fd; /* -1 when not bound (RTCP of a mux endpoint) */
	struct media_ep *ep;
	unsigned comp; /* MEDIA_RTP or MEDIA_RTCP */
	struct media_addr local;
	struct seqaddr sdp;   /* the remote's address from SDP: signalling writes */
	struct seqaddr latch; /* the latched source: the owner thread writes, peers read */
	/* Owner thread only. */
	struct media_addr latched;
	uint32_t latch_gen;
	bool is_latched;
	uint64_t latch_last_ms; /* last packet from the latched source */
};

/* Written by the endpoint's own thread (rx side) ... */
struct media_rx_ctr {
	atomic_uint_least64_t pkts, bytes, rtcp, stun, dropped, rr_blocks, last_ms;
	atomic_uint_least32_t rr_fraction_lost, rr_jitter;
	atomic_int_least32_t rr_cum_lost;
};

/* ... and by the thread of its peer, which sends from this endpoint's sockets. */
struct media_tx_ctr {
	atomic_uint_least64_t pkts, bytes;
};

struct media_pool;
struct media_thr;

struct media_ep {
	struct media *m;
	struct media_thr *thr; /* receives this endpoint's sockets */
	struct media_pool *pool;
	unsigned addr_idx, pair;
	bool mux; /* local: one socket */
	struct media_leg leg[2];
	_Atomic(struct media_ep *) peer;
	atomic_uint remote_gen; /* bumped by media_ep_remote(): latches older than it are void */
	atomic_bool remote_mux;
	struct media_rx_ctr rx;
	char pad_[64]; /* rx and tx counters have different writers: keep them off one line */
	struct media_tx_ctr tx;
	/* Signalling thread: the live list; then the limbo list under m->lock. */
	struct media_ep *next, *prev;
	uint64_t retire_epoch;
};

/* Per media thread totals (single writer: that thread). */
struct media_tot {
	atomic_uint_least64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes, rtcp, stun, dropped,
	    send_errors;
};

struct media_thr {
	struct media *m;
	unsigned idx;
	pthread_t tid;
	bool started;
	int epfd, evfd;
	atomic_uint_least64_t seen; /* the epoch at this thread's last quiescent point */
	struct media_tot tot;
	/* Batch buffers: receive, then up to two send batches (RTP and RTCP out-legs). */
	uint8_t *bufs; /* MEDIA_BATCH * MEDIA_SLOT */
	struct mmsghdr rx[MEDIA_BATCH];
	struct iovec rxiov[MEDIA_BATCH];
	struct media_addr rxsrc[MEDIA_BATCH];
	struct mmsghdr tx[2][MEDIA_BATCH];
	struct iovec txiov[2][MEDIA_BATCH];
	struct media_addr txdst[2];
};

struct media_pool_addr {
	struct media_addr addr;
	uint64_t *free_at; /* per pair: 0 free, UINT64_MAX bound, else quarantined until (ms) */
	uint32_t pairs_used;
};

struct media_pool {
	struct media_pool *next;
	char *name;
	uint16_t first_port; /* even */
	uint32_t npairs;
	struct media_pool_addr *addrs;
	size_t naddrs, next_addr;
	uint64_t ports_in_use, exhausted; /* under m->lock */
};

struct media {
	struct media_conf conf;
	struct media_thr *thr;
	unsigned nthr, next_thr;
	pthread_mutex_t lock; /* pools' port state, the pool list, the limbo list */
	struct media_pool *pools;
	struct media_ep *live; /* signalling thread only */
	uint64_t nlive;
	struct media_ep *limbo;
	atomic_uint nlimbo;
	atomic_uint_least64_t epoch;
	atomic_bool stop;
};

/* pool.c (callers hold m->lock) */
struct media_pool *media_pool_find(struct media *m, const char *name);
int media_pool_take(struct media *m, struct media_pool *p, int af, bool mux, int fds[2],
                    unsigned *addr_idx, unsigned *pair);
void media_pool_put(struct media *m, struct media_pool *p, unsigned addr_idx, unsigned pair,
                    bool mux);
void media_pools_free(struct media *m);
int media_pools_metrics(struct media *m, struct buf *out);

/* relay.c */
void *media_thr_main(void *arg);

/* media.c */
void media_retire(struct media *m, struct media_ep *ep);
void media_reclaim(struct media *m, bool all);
void media_ep_close(struct media_ep *ep); /* closes the sockets, returns the ports (m->lock) */

#endif
