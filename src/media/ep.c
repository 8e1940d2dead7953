/* Media endpoints: allocate in a pool, set the remote, link, read counters, free (signalling side).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "media/media_priv.h"

/* m->lock held: the pool's port state. */
void media_ep_close(struct media_ep *ep)
{
	for (int i = 0; i < 2; i++)
		if (ep->leg[i].fd >= 0)
			close(ep->leg[i].fd);
	ep->leg[0].fd = ep->leg[1].fd = -1;
	if (ep->pool)
		media_pool_put(ep->m, ep->pool, ep->addr_idx, ep->pair, ep->mux);
	ep->pool = NULL;
}

static int ep_bind(struct media_ep *ep, const char *pool, int af)
{
	struct media *m = ep->m;
	struct media_pool *p;
	int fds[2] = {-1, -1}, err;
	unsigned addr_idx = 0, pair = 0;

	pthread_mutex_lock(&m->lock);
	p = media_pool_find(m, pool);
	err = p ? media_pool_take(m, p, af, ep->mux, fds, &addr_idx, &pair) : -ENOENT;
	pthread_mutex_unlock(&m->lock);
	if (err)
		return err;
	ep->pool = p;
	ep->addr_idx = addr_idx;
	ep->pair = pair;
	for (int i = 0; i < 2; i++) {
		socklen_t len = sizeof(ep->leg[i].local);

		ep->leg[i].fd = fds[i];
		if (fds[i] >= 0 && getsockname(fds[i], &ep->leg[i].local.u.sa, &len) < 0)
			return -errno;
	}
	return 0;
}

static int ep_watch(struct media_ep *ep)
{
	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &ep->leg[i]};

		if (ep->leg[i].fd >= 0 &&
		    epoll_ctl(ep->thr->epfd, EPOLL_CTL_ADD, ep->leg[i].fd, &ev))
			return -errno;
	}
	return 0;
}

static void ep_unwatch(struct media_ep *ep)
{
	for (int i = 0; i < 2; i++)
		if (ep->leg[i].fd >= 0)
			epoll_ctl(ep->thr->epfd, EPOLL_CTL_DEL, ep->leg[i].fd, NULL);
}

int media_ep_alloc(struct media_ep **out, struct media *m, const char *pool, int af, bool rtcp_mux)
{
	struct media_ep *ep;
	int err;

	if (!out || !m || !pool)
		return -EINVAL;
	media_reclaim(m, false); /* ports of endpoints freed earlier start their quarantine */
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	ep->m = m;
	ep->mux = rtcp_mux;
	for (int i = 0; i < 2; i++)
		ep->leg[i] = (struct media_leg){.fd = -1, .ep = ep, .comp = (unsigned)i};
	ep->thr = &m->thr[m->next_thr++ % m->nthr];
	err = ep_bind(ep, pool, af);
	if (err) {
		pthread_mutex_lock(&m->lock);
		media_ep_close(ep);
		pthread_mutex_unlock(&m->lock);
		free(ep);
		return err;
	}
	err = ep_watch(ep);
	if (err) {
		/* The thread may already hold the socket watched first: free it the safe way. */
		ep_unwatch(ep);
		media_retire(m, ep);
		return err;
	}
	ep->next = m->live;
	if (m->live)
		m->live->prev = ep;
	m->live = ep;
	m->nlive++;
	*out = ep;
	return 0;
}

void media_ep_local(const struct media_ep *ep, struct sockaddr_storage *rtp, uint16_t *rtcp_port)
{
	const struct media_leg *rl = &ep->leg[ep->mux ? MEDIA_RTP : MEDIA_RTCP];

	if (rtp) {
		memset(rtp, 0, sizeof(*rtp));
		memcpy(rtp, &ep->leg[MEDIA_RTP].local, media_addr_len(&ep->leg[MEDIA_RTP].local));
	}
	if (rtcp_port)
		*rtcp_port = ntohs(rl->local.u.sa.sa_family == AF_INET6 ? rl->local.u.in6.sin6_port
		                                                        : rl->local.u.in.sin_port);
}

/* Copies ss into a when it is of the local family with a port; else leaves a empty. */
static bool remote_take(const struct media_ep *ep, const struct sockaddr_storage *ss,
                        struct media_addr *a)
{
	sa_family_t fam = ep->leg[MEDIA_RTP].local.u.sa.sa_family;

	memset(a, 0, sizeof(*a));
	if (!ss || ss->ss_family != fam)
		return false;
	memcpy(a, ss, fam == AF_INET6 ? sizeof(a->u.in6) : sizeof(a->u.in));
	return (fam == AF_INET6 ? a->u.in6.sin6_port : a->u.in.sin_port) != 0;
}

static void port_add(struct media_addr *a, uint16_t d)
{
	uint16_t *pp = a->u.sa.sa_family == AF_INET6 ? &a->u.in6.sin6_port : &a->u.in.sin_port;

	*pp = htons((uint16_t)(ntohs(*pp) + d));
}

void media_ep_remote(struct media_ep *ep, const struct sockaddr_storage *rtp,
                     const struct sockaddr_storage *rtcp, bool mux)
{
	struct media_addr r, c;
	uint32_t gen = atomic_load(&ep->remote_gen) + 1;

	if (!remote_take(ep, rtp, &r)) {
		if (rtp && rtp->ss_family != ep->leg[MEDIA_RTP].local.u.sa.sa_family)
			log_debug(MOD, "remote address family differs from the local one: ignored");
		memset(&r, 0, sizeof(r));
	}
	if (!remote_take(ep, rtcp, &c) && r.u.sa.sa_family) {
		c = r;
		if (!mux)
			port_add(&c, 1);
	}
	seqaddr_store(&ep->leg[MEDIA_RTP].sdp, &r, gen);
	seqaddr_store(&ep->leg[MEDIA_RTCP].sdp, mux ? &r : &c, gen);
	atomic_store(&ep->remote_mux, mux);
	/* Last: a media thread that sees the new generation sees the new addresses. */
	atomic_store(&ep->remote_gen, gen);
}

static void ep_unlink(struct media_ep *a)
{
	struct media_ep *p = atomic_load(&a->peer);

	if (p && atomic_load(&p->peer) == a)
		atomic_store(&p->peer, NULL);
	atomic_store(&a->peer, NULL);
}

void media_ep_link(struct media_ep *a, struct media_ep *b)
{
	if (!a || a == b)
		return;
	ep_unlink(a);
	if (!b)
		return;
	ep_unlink(b);
	atomic_store(&a->peer, b);
	atomic_store(&b->peer, a);
}

void media_ep_stats(const struct media_ep *ep, struct media_stats *st)
{
	*st = (struct media_stats){
	    .rx_pkts = ctr_get(&ep->rx.pkts),
	    .rx_bytes = ctr_get(&ep->rx.bytes),
	    .tx_pkts = ctr_get(&ep->tx.pkts),
	    .tx_bytes = ctr_get(&ep->tx.bytes),
	    .rtcp_rx = ctr_get(&ep->rx.rtcp),
	    .stun_rx = ctr_get(&ep->rx.stun),
	    .dropped = ctr_get(&ep->rx.dropped),
	    .rr_blocks = ctr_get(&ep->rx.rr_blocks),
	    .rr_fraction_lost =
	        atomic_load_explicit(&ep->rx.rr_fraction_lost, memory_order_relaxed),
	    .rr_cum_lost = atomic_load_explicit(&ep->rx.rr_cum_lost, memory_order_relaxed),
	    .rr_jitter = atomic_load_explicit(&ep->rx.rr_jitter, memory_order_relaxed),
	    .last_rx_ms = ctr_get(&ep->rx.last_ms),
	};
}

uint64_t media_ep_last_rx_ms(const struct media_ep *ep)
{
	return ctr_get(&ep->rx.last_ms);
}

void media_ep_free(struct media_ep *ep)
{
	struct media *m;

	if (!ep)
		return;
	m = ep->m;
	media_ep_link(ep, NULL);
	ep_unwatch(ep);
	if (ep->prev)
		ep->prev->next = ep->next;
	else
		m->live = ep->next;
	if (ep->next)
		ep->next->prev = ep->prev;
	m->nlive--;
	media_retire(m, ep);
	media_reclaim(m, false);
}
