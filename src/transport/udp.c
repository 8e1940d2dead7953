/* UDP: one socket per listener, batched receive with recvmmsg, try-send first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transport/tp_int.h"

/*
 * libuv hands recvmmsg one 64 KiB slot per datagram out of the buffer we
 * give it (at most 20 slots).  16 slots: up to 16 datagrams per system
 * call, 1 MiB shared by every UDP socket since each batch is handled
 * before the next read.
 */
#define UDP_SLOT      (64 * 1024)
#define UDP_SLOTS     16
#define UDP_SOCK_BUF  (4 * 1024 * 1024) /* SO_RCVBUF/SO_SNDBUF asked for; the kernel caps it */
#define UDP_MAX_DGRAM 65507

static void udp_alloc_h(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct tp_lis *l = h->data;
	struct tp *tp = l->tp;

	if (!tp->udp_rbuf) {
		tp->udp_rbuf = malloc(UDP_SLOT * UDP_SLOTS);
		tp->udp_rbuf_len = tp->udp_rbuf ? UDP_SLOT * UDP_SLOTS : 0;
	}
	/* Without recvmmsg (old kernels) libuv reads one datagram into the first slot. */
	*b = uv_buf_init(tp->udp_rbuf, (unsigned)tp->udp_rbuf_len);
}

static void udp_recv_h(uv_udp_t *u, ssize_t nread, const uv_buf_t *b, const struct sockaddr *addr,
                       unsigned flags)
{
	struct tp_lis *l = u->data;
	struct tp *tp = l->tp;
	char *m;

	/*
	 * nread 0 with no address: the socket is drained, or (UV_UDP_MMSG_FREE)
	 * the end of a batch; the buffer is ours and reused, so nothing to free.
	 */
	if (flags & UV_UDP_MMSG_FREE)
		return;
	if (nread < 0) {
		log_warn(MOD, "%s: receive error: %s", l->name, uv_strerror((int)nread));
		return;
	}
	if (!addr || tp->closing)
		return;
	if (flags & UV_UDP_PARTIAL) {
		/* Larger than any slot: cannot be a message we accept. */
		tp->stats.rx_msgs[TP_UDP]++;
		tp->stats.dropped++;
		return;
	}
	if (nread == 0) {
		tp->stats.keepalives++; /* an empty datagram: a NAT keep-alive at most */
		return;
	}
	/* Each message owns a buffer of its own size, so a TU may keep it. */
	m = mem_alloc((size_t)nread, NULL);
	if (!m) {
		tp->stats.rx_msgs[TP_UDP]++;
		tp->stats.dropped++;
		return;
	}
	memcpy(m, b->base, (size_t)nread);
	tp_rx(tp, TP_UDP, l, NULL, addr, m, (size_t)nread);
}

int tp_udp_listen(struct tp_lis *l, bool *opened)
{
	struct tp *tp = l->tp;
	const struct sockaddr *sa = (const struct sockaddr *)&l->addr;
	unsigned flags = sa->sa_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0;
	int len = sizeof(l->addr), size, rc;

	rc = uv_udp_init_ex(tp->loop, &l->u.udp, (unsigned)sa->sa_family | UV_UDP_RECVMMSG);
	if (rc)
		return rc;
	*opened = true;
	rc = uv_udp_bind(&l->u.udp, sa, flags);
	if (rc)
		return rc;
	rc = uv_udp_getsockname(&l->u.udp, (struct sockaddr *)&l->addr, &len);
	if (rc)
		return rc;
	/* A burst of INVITEs must not overflow the socket while the loop is busy. */
	size = UDP_SOCK_BUF;
	uv_recv_buffer_size(&l->u.h, &size);
	size = UDP_SOCK_BUF;
	uv_send_buffer_size(&l->u.h, &size);
	log_debug(MOD, "%s: recvmmsg %s", l->name,
	          uv_udp_using_recvmmsg(&l->u.udp) ? "on" : "unavailable");
	return uv_udp_recv_start(&l->u.udp, udp_alloc_h, udp_recv_h);
}

static void udp_sent_h(uv_udp_send_t *req, int status)
{
	struct tp_wreq *w = container_of(req, struct tp_wreq, req.u);

	if (status && status != UV_ECANCELED)
		log_debug(MOD, "UDP send failed: %s", uv_strerror(status));
	tp_wreq_done(w, status);
}

int tp_udp_send(struct tp *tp, struct tp_lis *l, const struct sockaddr *to, const char *p,
                size_t len, tp_fail_h *fail, void *arg)
{
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
	struct tp_wreq *w;
	int rc;

	if (len > UDP_MAX_DGRAM)
		return -EMSGSIZE;
	rc = uv_udp_try_send(&l->u.udp, &b, 1, to);
	if (rc >= 0) {
		tp_count_tx(tp, TP_UDP, p, len);
		return 0;
	}
	if (rc != UV_EAGAIN) {
		tp->stats.send_errors++;
		return rc;
	}
	/* The socket buffer is full (or sends are queued): libuv keeps a copy for later. */
	w = tp_wreq_new(tp, p, len, fail, arg);
	if (!w) {
		tp->stats.send_errors++;
		return -ENOMEM;
	}
	b = uv_buf_init(w->data, (unsigned)len);
	rc = uv_udp_send(&w->req.u, &l->u.udp, &b, 1, to, udp_sent_h);
	if (rc) {
		tp_wreq_free(w);
		tp->stats.send_errors++;
		return rc;
	}
	tp_count_tx(tp, TP_UDP, p, len);
	return 0;
}
