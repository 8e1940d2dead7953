/* media: the RTP/RTCP relay: port pools, symmetric latching, counters, media threads. */
#ifndef IXEDGE_MEDIA_H
#define IXEDGE_MEDIA_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ixedge/base.h"

/*
 * Threading: every function here is called from the signalling thread only
 * (one thread; they are not safe against each other).  Packets are moved by
 * the media threads that media_alloc() starts: each has its own epoll set
 * and receives and sends in batches (recvmmsg/sendmmsg), with no lock and no
 * allocation per packet.  Updates from signalling (remote address, link,
 * free) reach them through atomics; a freed endpoint is closed and released
 * only after every media thread has passed a quiescent point (epoch-based
 * reclamation), so media_ep_free() is safe while packets are in flight.
 *
 * Times (last_rx_ms) are media_now_ms() values: CLOCK_MONOTONIC milliseconds.
 * See docs/MEDIA.md "## Relay" for the latching rules and the decisions.
 */

struct media;
/* One local RTP (+RTCP) socket pair in a pool, facing one remote party. */
struct media_ep;

struct media_conf {
	unsigned threads;       /* media threads, 1-64 (default 1) */
	bool strict_latch;      /* accept only from the SDP address (default false: latch) */
	uint32_t quarantine_ms; /* a freed port waits this long before reuse (default 5000) */
	uint32_t relatch_ms;    /* latched source silent this long: a new source may take over
	                           (default 1000; 0: only media_ep_remote() resets the latch) */
};
void media_conf_default(struct media_conf *c);

/* Starts the media threads; raises RLIMIT_NOFILE to the hard limit. */
int media_alloc(struct media **out, const struct media_conf *c);
/*
 * Stops the threads and closes every socket.  Endpoints not yet freed are
 * freed here too: the caller must not use them afterwards.  NULL is a no-op.
 */
void media_free(struct media *m);

/*
 * A named pool (one per edge) of local addresses (IPv4 and/or IPv6, port
 * ignored) sharing one port range.  Ports are taken in pairs: an even RTP
 * port and the odd RTCP port after it, in [port_min, port_max].
 * -EEXIST: the name is taken; -EINVAL: bad range (no even/odd pair fits),
 * no address, an address family other than AF_INET/AF_INET6.
 */
int media_pool_add(struct media *m, const char *name, const struct sockaddr_storage *addrs,
                   size_t naddrs, uint16_t port_min, uint16_t port_max);

/*
 * Binds a port pair (only the even RTP port when rtcp_mux) on one of the
 * pool's addresses of family af (AF_INET, AF_INET6, or AF_UNSPEC for any),
 * taking the addresses round-robin, from a random start in the range,
 * skipping ports in quarantine or bound by someone else.
 * -ENOENT: unknown pool, or no address of that family; -EAGAIN: the pool is
 * exhausted (the call layer answers 503); -EMFILE/-ENOMEM otherwise.
 */
int media_ep_alloc(struct media_ep **out, struct media *m, const char *pool, int af, bool rtcp_mux);
/* The local RTP address, and the RTCP port (the RTP port when rtcp_mux). */
void media_ep_local(const struct media_ep *ep, struct sockaddr_storage *rtp, uint16_t *rtcp_port);
/*
 * The remote party's addresses from its SDP.  rtcp NULL: the RTP address
 * with port+1, or the RTP address itself when mux (the remote uses
 * rtcp-mux: RTCP toward it then leaves from the local RTP port too).
 * rtp NULL or port 0: no SDP address (a latching endpoint waits for the
 * first packet).  Resets the latch: the next packet latches again.
 */
void media_ep_remote(struct media_ep *ep, const struct sockaddr_storage *rtp,
                     const struct sockaddr_storage *rtcp, bool mux);
/*
 * What arrives on a leaves from b toward b's remote, and the reverse.  Any
 * earlier link of a or b is dropped first.  b NULL: unlinks a (and its peer).
 */
void media_ep_link(struct media_ep *a, struct media_ep *b);

struct media_stats {
	uint64_t rx_pkts, rx_bytes; /* received on this endpoint's sockets (RTP + RTCP) */
	uint64_t tx_pkts, tx_bytes; /* sent from this endpoint's sockets toward its remote */
	uint64_t rtcp_rx;           /* RTCP packets among rx_pkts */
	uint64_t stun_rx;           /* STUN packets recognized and dropped (ICE-lite later) */
	uint64_t dropped;           /* received, not relayed: unlinked, no destination, not
	                               RTP/RTCP, wrong source (strict/latched), send failure */
	/* From the last RTCP report block the remote party sent (its view of what it
	 * receives from this endpoint), RFC 3550 6.4.1; valid when rr_blocks > 0. */
	uint64_t rr_blocks;        /* report blocks seen */
	uint32_t rr_fraction_lost; /* 0..255 (fixed point /256) */
	int32_t rr_cum_lost;       /* 24-bit signed: duplicates make it negative */
	uint32_t rr_jitter;        /* RTP timestamp units */
	uint64_t last_rx_ms;       /* media_now_ms() of the last packet received; 0: none */
};
/* A snapshot, readable while packets flow (each field is read atomically). */
void media_ep_stats(const struct media_ep *ep, struct media_stats *st);
/* The last receive time alone (media timeout checks): media_now_ms() or 0. */
uint64_t media_ep_last_rx_ms(const struct media_ep *ep);
uint64_t media_now_ms(void);

/* Unlinks, stops receiving, closes later; the ports go to quarantine.  NULL: no-op. */
void media_ep_free(struct media_ep *ep);

/*
 * Prometheus text (appended): ixedge_media_* packet/byte totals, endpoints,
 * ports in use and exhausted allocations per pool.
 */
int media_metrics(struct media *m, struct buf *out);

#endif
