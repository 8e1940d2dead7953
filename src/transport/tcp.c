/* TCP: listeners, accepted and outgoing connections, framing, keep-alives, reuse, timeouts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transport/tp_int.h"

#define TCP_BACKLOG         511
#define TCP_READ_CHUNK      16384
#define TCP_MAX_WRITE_QUEUE (1u << 20) /* unsent bytes past which the peer is not reading */

static uint64_t id_hash(uint64_t id)
{
	return id * 0x9e3779b97f4a7c15ull;
}

static void conn_index(struct tp_conn *c, int i, const struct sockaddr *addr)
{
	struct tp_alink *al = &c->al[i];

	memcpy(&al->key, addr, tp_addr_len(addr));
	al->conn = c;
	hmap_insert(&c->tp->conns_by_addr, &al->l, tp_addr_hash(addr));
	al->linked = true;
}

static void conn_unindex(struct tp_conn *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->al[i].linked)
			hmap_remove(&c->tp->conns_by_addr, &c->al[i].l);
		c->al[i].linked = false;
	}
	hmap_remove(&c->tp->conns_by_id, &c->idl);
}

struct tp_conn *tp_conn_find(struct tp *tp, uint64_t id)
{
	uint64_t h = id_hash(id);

	for (struct hnode *l = hmap_first(&tp->conns_by_id, h); l; l = hmap_next(l)) {
		struct tp_conn *c = container_of(l, struct tp_conn, idl);

		if (c->id == id)
			return c->closing ? NULL : c;
	}
	return NULL;
}

/* An open connection to addr, either direction; an established one beats one connecting. */
static struct tp_conn *conn_by_addr(struct tp *tp, enum tp_proto proto, const struct sockaddr *addr)
{
	uint64_t h = tp_addr_hash(addr);
	struct tp_conn *best = NULL;

	for (struct hnode *l = hmap_first(&tp->conns_by_addr, h); l; l = hmap_next(l)) {
		struct tp_alink *al = container_of(l, struct tp_alink, l);
		struct tp_conn *c;

		if (!tp_addr_eq((struct sockaddr *)&al->key, addr))
			continue;
		c = al->conn;
		if (c->closing || c->proto != proto)
			continue;
		if (!c->connecting)
			return c;
		best = best ? best : c;
	}
	return best;
}

void tp_conn_alias(struct tp_conn *c, const struct sockaddr *addr)
{
	/*
	 * RFC 5923 asks for ;alias and TLS before a connection may stand for
	 * the sent-by.  Without TLS we alias only a sent-by on the connection's
	 * own IP: a host can then only attract traffic meant for itself.
	 */
	if (c->closing || c->al[1].linked || !tp_ip_eq(addr, (struct sockaddr *)&c->peer) ||
	    tp_addr_port(addr) == tp_addr_port((struct sockaddr *)&c->peer))
		return;
	conn_index(c, 1, addr);
}

/* ------------------------------------------------------------ lifetime */

static void conn_closed_h(uv_handle_t *h)
{
	struct tp_conn *c = h->data;
	struct tp *tp = c->tp;

	if (--c->open_handles == 0) {
		if (c->prev)
			c->prev->next = c->next;
		else
			tp->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		buf_free(&c->in);
		free(c);
	}
	tp_handle_closed(tp);
}

/*
 * Starts closing c; err (0 or -errno) is what the sends still queued or in
 * flight report.  The memory stays until both handles are closed, so
 * callers may keep looking at c->closing.
 */
static void conn_close(struct tp_conn *c, int err)
{
	struct tp *tp = c->tp;
	struct tp_wreq *w, *next;

	if (c->closing)
		return;
	c->closing = true;
	c->err = err ? err : -ECONNABORTED;
	conn_unindex(c);
	tp->stats.tcp_closed++;
	tp->stats.tcp_conns--;
	uv_close((uv_handle_t *)&c->tcp, conn_closed_h);
	uv_close((uv_handle_t *)&c->timer, conn_closed_h);
	/* Callbacks last: they may send again, and must find c gone from the index. */
	w = c->qhead;
	c->qhead = NULL;
	c->qtail = &c->qhead;
	for (; w; w = next) {
		next = w->qnext;
		tp_wreq_done(w, c->err);
	}
}

static struct tp_conn *conn_new(struct tp *tp, enum tp_proto proto, struct tp_lis *lis,
                                const struct sockaddr *peer, int *rc)
{
	struct tp_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		*rc = -ENOMEM;
		return NULL;
	}
	*rc = uv_tcp_init_ex(tp->loop, &c->tcp, peer ? peer->sa_family : AF_UNSPEC);
	if (*rc) {
		free(c);
		return NULL;
	}
	uv_timer_init(tp->loop, &c->timer); /* cannot fail */
	tp->nhandles += 2;
	c->open_handles = 2;
	c->tp = tp;
	c->proto = proto;
	c->lis = lis;
	c->id = tp->next_conn_id++;
	c->tcp.data = c;
	c->timer.data = c;
	c->qtail = &c->qhead;
	c->last_active = uv_now(tp->loop);
	c->next = tp->conns;
	if (tp->conns)
		tp->conns->prev = c;
	tp->conns = c;
	tp->stats.tcp_conns++;
	hmap_insert(&tp->conns_by_id, &c->idl, id_hash(c->id));
	if (peer)
		memcpy(&c->peer, peer, tp_addr_len(peer));
	return c;
}

static void conn_name(struct tp_conn *c)
{
	char a[64];

	tp_sockaddr_fmt((struct sockaddr *)&c->peer, a, sizeof(a));
	snprintf(c->name, sizeof(c->name), "%s %s", tp_proto_name(c->proto), a);
}

void tp_conns_close(struct tp *tp)
{
	for (struct tp_conn *c = tp->conns; c; c = c->next)
		conn_close(c, -ESHUTDOWN);
}

/* ------------------------------------------------------------ timers */

static void conn_timer_h(uv_timer_t *t)
{
	struct tp_conn *c = t->data;
	struct tp *tp = c->tp;
	uint64_t idle = tp->conf.tcp_idle_timeout_ms, now = uv_now(tp->loop);

	if (c->connecting) {
		log_info(MOD, "%s: no connection after %u ms", c->name,
		         tp->conf.tcp_connect_timeout_ms);
		conn_close(c, -ETIMEDOUT);
		return;
	}
	/* Activity only stamps last_active; the timer re-arms for what is left. */
	if (now - c->last_active < idle) {
		uv_timer_start(&c->timer, conn_timer_h, idle - (now - c->last_active), 0);
		return;
	}
	tp->stats.tcp_idle_closed++;
	log_debug(MOD, "%s: idle for %llu ms; closing", c->name, (unsigned long long)idle);
	conn_close(c, -ETIMEDOUT);
}

static void conn_idle_start(struct tp_conn *c)
{
	uint32_t idle = c->tp->conf.tcp_idle_timeout_ms;

	uv_timer_stop(&c->timer);
	if (idle)
		uv_timer_start(&c->timer, conn_timer_h, idle, 0);
}

/* ------------------------------------------------------------ writes */

static void conn_written_h(uv_write_t *req, int status)
{
	struct tp_wreq *w = container_of(req, struct tp_wreq, req.w);
	struct tp_conn *c = w->conn;

	if (!status) {
		c->last_active = uv_now(c->tp->loop);
		tp_wreq_done(w, 0);
		return;
	}
	if (status != UV_ECANCELED) {
		log_debug(MOD, "%s: write failed: %s", c->name, uv_strerror(status));
		conn_close(c, status);
	}
	tp_wreq_done(w, c->err ? c->err : status);
}

/* Hands w to libuv; on failure w is still the caller's. */
static int conn_write(struct tp_conn *c, struct tp_wreq *w)
{
	uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
	int rc;

	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > TCP_MAX_WRITE_QUEUE) {
		log_info(MOD, "%s: peer is not reading; closing", c->name);
		conn_close(c, -ENOBUFS);
		return -ENOBUFS;
	}
	rc = uv_write(&w->req.w, (uv_stream_t *)&c->tcp, &b, 1, conn_written_h);
	if (rc) {
		log_debug(MOD, "%s: write failed: %s", c->name, uv_strerror(rc));
		conn_close(c, rc);
		return rc;
	}
	tp_count_tx(c->tp, c->proto, w->data, w->len);
	return 0;
}

static int conn_write_raw(struct tp_conn *c, const char *p, size_t len)
{
	struct tp_wreq *w = tp_wreq_new(c->tp, p, len, NULL, NULL);
	int rc;

	if (!w)
		return -ENOMEM;
	w->conn = c;
	rc = conn_write(c, w);
	if (rc)
		tp_wreq_free(w);
	return rc;
}

/* ------------------------------------------------------------ reads */

static void conn_alloc_h(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct tp_conn *c = h->data;

	if (buf_reserve(&c->in, TCP_READ_CHUNK)) {
		*b = uv_buf_init(NULL, 0);
		return;
	}
	*b = uv_buf_init(c->in.p + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

/* Counts the newlines of skipped CRLFs: two make an RFC 5626 ping, answered with one CRLF. */
static void conn_keepalive(struct tp_conn *c, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !c->closing; i++) {
		if (p[i] != '\n' || ++c->crlfs < 2)
			continue;
		c->crlfs = 0;
		c->tp->stats.keepalives++;
		conn_write_raw(c, "\r\n", 2);
	}
}

/*
 * Cuts every complete message out of c->in.  Each pass consumes at least
 * one byte or stops, so the loop is bounded by the buffer length.
 */
static void conn_frames(struct tp_conn *c)
{
	struct tp *tp = c->tp;
	struct sip_perr perr;
	size_t off = 0, skip, len;
	char *m;
	int rc;

	while (off < c->in.len && !c->closing) {
		rc = sip_stream_frame(c->in.p + off, c->in.len - off, &tp->conf.lim, &skip, &len,
		                      &perr);
		conn_keepalive(c, c->in.p + off, skip);
		if (rc == -ENODATA) {
			off += skip;
			break;
		}
		if (rc || skip + len == 0 || skip + len > c->in.len - off) {
			tp->stats.rx_msgs[c->proto]++;
			tp->stats.parse_errors++;
			tp->stats.dropped++;
			log_info(MOD, "%s: cannot frame the stream: " SLICE_FMT "%s%s; closing",
			         c->name, SLICE_ARG(perr.hname), perr.hname.len ? ": " : "",
			         rc && perr.what ? perr.what : "malformed");
			conn_close(c, -EBADMSG);
			return;
		}
		c->crlfs = 0;
		m = mem_alloc(len, NULL);
		if (!m) {
			conn_close(c, -ENOMEM);
			return;
		}
		memcpy(m, c->in.p + off + skip, len);
		off += skip + len;
		tp_rx(tp, c->proto, c->lis, c, (struct sockaddr *)&c->peer, m, len);
	}
	if (c->closing)
		return;
	memmove(c->in.p, c->in.p + off, c->in.len - off);
	c->in.len -= off;
	/* An idle connection keeps no buffer: thousands of them stay cheap. */
	if (!c->in.len)
		buf_free(&c->in);
}

static void conn_read_h(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct tp_conn *c = s->data;

	if (nread < 0) {
		if (nread != UV_EOF)
			log_debug(MOD, "%s: %s", c->name, uv_strerror((int)nread));
		conn_close(c, nread == UV_EOF ? -ECONNRESET : (int)nread);
		return;
	}
	if (nread == 0)
		return;
	c->in.len += (size_t)nread;
	c->last_active = uv_now(c->tp->loop);
	conn_frames(c);
}

static int conn_start(struct tp_conn *c)
{
	uv_tcp_nodelay(&c->tcp, 1);
	conn_idle_start(c);
	return uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_h, conn_read_h);
}

/* ------------------------------------------------------------ listeners */

static void conn_accept_h(uv_stream_t *server, int status)
{
	struct tp_lis *l = server->data;
	struct tp *tp = l->tp;
	int len = sizeof(struct sockaddr_storage), rc;
	struct tp_conn *c;

	if (status < 0) {
		log_warn(MOD, "%s: accept: %s", l->name, uv_strerror(status));
		return;
	}
	c = conn_new(tp, l->proto, l, NULL, &rc);
	if (!c) {
		log_warn(MOD, "%s: cannot accept: %s", l->name, uv_strerror(rc));
		return;
	}
	if (uv_accept(server, (uv_stream_t *)&c->tcp) ||
	    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &len)) {
		conn_close(c, -ECONNABORTED);
		return;
	}
	conn_name(c);
	if (tp->stats.tcp_conns > tp->conf.tcp_max_conns) {
		tp->stats.tcp_refused++;
		log_warn(MOD, "%s: refused: %u connections open (tcp_max_conns)", c->name,
		         tp->stats.tcp_conns - 1);
		conn_close(c, -EMFILE);
		return;
	}
	tp->stats.tcp_accepted++;
	conn_index(c, 0, (struct sockaddr *)&c->peer);
	log_debug(MOD, "%s: accepted on %s", c->name, l->name);
	if (conn_start(c))
		conn_close(c, -ECONNABORTED);
}

int tp_tcp_listen(struct tp_lis *l, bool *opened)
{
	const struct sockaddr *sa = (const struct sockaddr *)&l->addr;
	int len = sizeof(l->addr), rc;

	rc = uv_tcp_init_ex(l->tp->loop, &l->u.tcp, sa->sa_family);
	if (rc)
		return rc;
	*opened = true;
	rc = uv_tcp_bind(&l->u.tcp, sa, sa->sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (!rc)
		rc = uv_listen((uv_stream_t *)&l->u.tcp, TCP_BACKLOG, conn_accept_h);
	if (!rc)
		rc = uv_tcp_getsockname(&l->u.tcp, (struct sockaddr *)&l->addr, &len);
	return rc;
}

/* ------------------------------------------------------------ outgoing */

static void conn_connected_h(uv_connect_t *req, int status)
{
	struct tp_conn *c = container_of(req, struct tp_conn, creq);
	struct tp *tp = c->tp;
	struct tp_wreq *w, *next;
	int rc;

	if (c->closing)
		return; /* timed out or tp_close(): the sends were told already */
	if (status) {
		log_info(MOD, "%s: cannot connect: %s", c->name, uv_strerror(status));
		conn_close(c, status);
		return;
	}
	c->connecting = false;
	c->last_active = uv_now(tp->loop);
	tp->stats.tcp_connected++;
	rc = conn_start(c);
	if (rc) {
		conn_close(c, rc);
		return;
	}
	log_debug(MOD, "%s: connected", c->name);
	w = c->qhead;
	c->qhead = NULL;
	c->qtail = &c->qhead;
	for (; w; w = next) {
		next = w->qnext;
		rc = c->closing ? c->err : conn_write(c, w);
		if (rc)
			tp_wreq_done(w, rc);
	}
}

static struct tp_conn *conn_connect(struct tp *tp, const struct tp_peer *dst, int *rc)
{
	const struct sockaddr *to = (const struct sockaddr *)&dst->addr;
	struct tp_lis *lis = NULL;
	struct tp_conn *c;

	if (tp->stats.tcp_conns >= tp->conf.tcp_max_conns) {
		tp->stats.tcp_refused++;
		*rc = -EMFILE;
		return NULL;
	}
	if (dst->lis && dst->lis->addr.ss_family == to->sa_family) {
		lis = dst->lis->proto == dst->proto ? dst->lis
		                                    : tp_lis_sibling(tp, dst->lis, dst->proto);
		if (!lis)
			lis = dst->lis; /* no stream listener on that IP: its tag still tells */
	}
	c = conn_new(tp, dst->proto, lis, to, rc);
	if (!c)
		return NULL;
	c->outgoing = true;
	c->connecting = true;
	conn_name(c);
	conn_index(c, 0, to);
	if (lis) {
		/* The gateway's address is the source the peer sees and may allow-list. */
		struct sockaddr_storage local = lis->addr;

		tp_addr_set_port(&local, 0);
		*rc = uv_tcp_bind(&c->tcp, (struct sockaddr *)&local, 0);
		if (*rc) {
			log_warn(MOD, "%s: cannot bind to %s: %s", c->name, lis->name,
			         uv_strerror(*rc));
			conn_close(c, *rc);
			return NULL;
		}
	}
	*rc = uv_tcp_connect(&c->creq, &c->tcp, to, conn_connected_h);
	if (*rc) {
		log_info(MOD, "%s: cannot connect: %s", c->name, uv_strerror(*rc));
		conn_close(c, *rc);
		return NULL;
	}
	uv_timer_start(&c->timer, conn_timer_h, tp->conf.tcp_connect_timeout_ms, 0);
	return c;
}

int tp_stream_send(struct tp *tp, const struct tp_peer *dst, const char *p, size_t len,
                   tp_fail_h *fail, void *arg)
{
	struct tp_conn *c = NULL;
	struct tp_wreq *w;
	int rc;

	if (dst->conn_id) {
		c = tp_conn_find(tp, dst->conn_id);
		if (c && c->proto != dst->proto)
			c = NULL;
	}
	if (!c)
		c = conn_by_addr(tp, dst->proto, (const struct sockaddr *)&dst->addr);
	if (!c) {
		c = conn_connect(tp, dst, &rc);
		if (!c) {
			tp->stats.send_errors++;
			return rc;
		}
	}
	w = tp_wreq_new(tp, p, len, fail, arg);
	if (!w) {
		tp->stats.send_errors++;
		return -ENOMEM;
	}
	w->conn = c;
	if (c->connecting) {
		*c->qtail = w;
		c->qtail = &w->qnext;
		return 0;
	}
	rc = conn_write(c, w);
	if (rc) {
		tp_wreq_free(w);
		tp->stats.send_errors++;
	}
	return rc;
}
