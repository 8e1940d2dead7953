/* The media thread: epoll, recvmmsg batches, classify, latch, count, sendmmsg to the peer. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "media/media_priv.h"
#include "media/rtp.h"

/* Where one batch's packets of one component (RTP or RTCP) leave. */
struct relay_out {
	bool ready, ok;
	int fd;
	unsigned n;
};

/*
 * Symmetric latching (docs/MEDIA.md "## Relay"): the first packet after
 * each media_ep_remote() latches its source; another source takes over
 * once the latched one has been silent for relatch_ms.  Strict: only the
 * SDP address is accepted.  Owner thread only.
 */
static bool latch_accept(const struct media *m, struct media_leg *leg, const struct media_addr *src,
                         uint64_t now)
{
	uint32_t gen = atomic_load_explicit(&leg->ep->remote_gen, memory_order_acquire);
	struct media_addr sdp;

	if (m->conf.strict_latch) {
		seqaddr_load(&leg->sdp, &sdp);
		return media_addr_eq(&sdp, src);
	}
	if (leg->is_latched && leg->latch_gen == gen) {
		if (media_addr_eq(&leg->latched, src)) {
			leg->latch_last_ms = now;
			return true;
		}
		if (!m->conf.relatch_ms || now - leg->latch_last_ms < m->conf.relatch_ms)
			return false;
	}
	leg->latched = *src;
	leg->latch_gen = gen;
	leg->is_latched = true;
	leg->latch_last_ms = now;
	seqaddr_store(&leg->latch, src, gen);
	return true;
}

/* The peer's socket and remote for comp: its latched source, else its SDP address. */
static void relay_dest(struct media_thr *t, const struct media_ep *peer, unsigned comp,
                       struct relay_out *o)
{
	bool mux = peer->mux || atomic_load_explicit(&peer->remote_mux, memory_order_acquire);
	const struct media_leg *ol = &peer->leg[mux ? MEDIA_RTP : comp];
	uint32_t gen = atomic_load_explicit(&peer->remote_gen, memory_order_acquire);
	struct media_addr *a = &t->txdst[comp];

	o->ready = true;
	o->fd = ol->fd;
	if (!t->m->conf.strict_latch && seqaddr_load(&ol->latch, a) == gen && a->u.sa.sa_family)
		o->ok = true;
	else
		o->ok = (seqaddr_load(&ol->sdp, a), a->u.sa.sa_family != 0);
	o->ok = o->ok && o->fd >= 0;
}

static void rtcp_stats(struct media_ep *ep, const uint8_t *p, size_t len)
{
	struct rtcp_sum s;

	if (rtcp_compound_decode(&s, p, len) || !s.nblocks)
		return;
	ctr_add(&ep->rx.rr_blocks, s.nblocks);
	atomic_store_explicit(&ep->rx.rr_fraction_lost, s.last.fraction_lost, memory_order_relaxed);
	atomic_store_explicit(&ep->rx.rr_cum_lost, s.last.cum_lost, memory_order_relaxed);
	atomic_store_explicit(&ep->rx.rr_jitter, s.last.jitter, memory_order_relaxed);
}

static void pkt_drop(struct media_thr *t, struct media_ep *ep, uint64_t n)
{
	ctr_add(&ep->rx.dropped, n);
	ctr_add(&t->tot.dropped, n);
}

/* Datagram i of the batch: count it, check its source, queue it toward the peer. */
static void pkt_handle(struct media_thr *t, struct media_leg *leg, const struct media_ep *peer,
                       unsigned i, uint64_t now, struct relay_out out[2])
{
	struct media_ep *ep = leg->ep;
	uint8_t *p = t->bufs + (size_t)i * MEDIA_SLOT;
	size_t len = t->rx[i].msg_len;
	enum rtp_kind kind;
	unsigned comp, k;

	ctr_add(&ep->rx.pkts, 1);
	ctr_add(&ep->rx.bytes, len);
	ctr_add(&t->tot.rx_pkts, 1);
	ctr_add(&t->tot.rx_bytes, len);
	kind = t->rx[i].msg_hdr.msg_flags & MSG_TRUNC ? RTP_KIND_OTHER : rtp_classify(p, len);
	if (kind == RTP_KIND_STUN) {
		ctr_add(&ep->rx.stun, 1);
		ctr_add(&t->tot.stun, 1);
		return;
	}
	if (kind == RTP_KIND_OTHER || !latch_accept(t->m, leg, &t->rxsrc[i], now)) {
		pkt_drop(t, ep, 1);
		return;
	}
	atomic_store_explicit(&ep->rx.last_ms, now, memory_order_relaxed);
	/* On an RTCP socket everything is RTCP; on a muxed one the payload type says. */
	comp = leg->comp == MEDIA_RTCP || kind == RTP_KIND_RTCP ? MEDIA_RTCP : MEDIA_RTP;
	if (comp == MEDIA_RTCP) {
		ctr_add(&ep->rx.rtcp, 1);
		ctr_add(&t->tot.rtcp, 1);
		rtcp_stats(ep, p, len);
	}
	if (!peer) {
		pkt_drop(t, ep, 1);
		return;
	}
	if (!out[comp].ready)
		relay_dest(t, peer, comp, &out[comp]);
	if (!out[comp].ok) {
		pkt_drop(t, ep, 1);
		return;
	}
	k = out[comp].n++;
	t->txiov[comp][k] = (struct iovec){p, len};
	t->tx[comp][k].msg_hdr = (struct msghdr){.msg_name = &t->txdst[comp],
	                                         .msg_namelen = media_addr_len(&t->txdst[comp]),
	                                         .msg_iov = &t->txiov[comp][k],
	                                         .msg_iovlen = 1};
}

/*
 * Sends one queued batch.  Media is real-time: a full socket buffer drops
 * the rest of the batch, a datagram the kernel refuses is skipped.
 */
static void batch_send(struct media_thr *t, struct media_ep *ep, struct media_ep *peer,
                       unsigned comp, const struct relay_out *o)
{
	struct mmsghdr *tx = t->tx[comp];
	uint64_t ok = 0, bytes = 0, failed = 0;
	unsigned i = 0;

	while (i < o->n) {
		int r = sendmmsg(o->fd, tx + i, o->n - i, MSG_DONTWAIT);

		if (r > 0) {
			for (int j = 0; j < r; j++)
				bytes += tx[i + (unsigned)j].msg_len;
			ok += (unsigned)r;
			i += (unsigned)r;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			failed += o->n - i;
			break;
		} else {
			failed++;
			i++;
		}
	}
	ctr_add(&peer->tx.pkts, ok);
	ctr_add(&peer->tx.bytes, bytes);
	ctr_add(&t->tot.tx_pkts, ok);
	ctr_add(&t->tot.tx_bytes, bytes);
	if (failed) {
		ctr_add(&t->tot.send_errors, failed);
		pkt_drop(t, ep, failed);
	}
}

/* One batch per readiness event: level-triggered epoll comes back for the rest, fairly. */
static void leg_rx(struct media_thr *t, struct media_leg *leg, uint64_t now)
{
	struct relay_out out[2] = {{0}};
	struct media_ep *peer;
	int n;

	for (unsigned i = 0; i < MEDIA_BATCH; i++)
		t->rx[i].msg_hdr.msg_namelen = sizeof(t->rxsrc[i]);
	n = recvmmsg(leg->fd, t->rx, MEDIA_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	/* Not freed before this thread's next quiescent point (media_reclaim). */
	peer = atomic_load_explicit(&leg->ep->peer, memory_order_acquire);
	for (unsigned i = 0; i < (unsigned)n; i++)
		pkt_handle(t, leg, peer, i, now, out);
	for (unsigned c = 0; c < 2; c++)
		if (out[c].n)
			batch_send(t, leg->ep, peer, c, &out[c]);
}

static void evfd_drain(struct media_thr *t)
{
	uint64_t v;

	if (read(t->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn(MOD, "thread %u: eventfd: %s", t->idx, strerror(errno));
}

void *media_thr_main(void *arg)
{
	struct media_thr *t = arg;
	struct media *m = t->m;
	struct epoll_event ev[MEDIA_EVENTS];

	while (!atomic_load(&m->stop)) {
		/* Quiescent point: this thread holds no endpoint from here to epoll_wait's return.
		 */
		atomic_store(&t->seen, atomic_load(&m->epoch));
		media_reclaim(m, false);
		int n = epoll_wait(t->epfd, ev, MEDIA_EVENTS, -1);
		uint64_t now = media_now_ms();

		if (n < 0 && errno != EINTR) {
			log_error(MOD, "thread %u: epoll_wait: %s", t->idx, strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr)
				leg_rx(t, ev[i].data.ptr, now);
			else
				evfd_drain(t);
		}
	}
	/* Gone: never again in the way of a reclamation. */
	atomic_store(&t->seen, UINT64_MAX);
	return NULL;
}
