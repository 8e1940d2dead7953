/* Transport glue: UDP and TCP listeners per gateway, TCP framing, keep-alives and idle timeouts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"

#define MOD "transport"

/* Past this much unsent data the peer is not reading: drop the connection. */
#define TCP_MAX_WRITE_QUEUE (1u << 20)
#define TCP_BACKLOG         128
#define UDP_RBUF_SIZE       65536 /* the largest datagram; the parser enforces the limits */

struct listener {
	struct app *app;
	const struct config_edge *edge;
	bool stream;
	union {
		uv_handle_t handle;
		uv_udp_t udp;
		uv_tcp_t tcp;
	} h;
	char name[80]; /* "udp 127.0.1.64:5060" */
	struct listener *next;
};

struct conn {
	struct app *app;
	struct listener *l;
	uv_tcp_t tcp;
	uv_timer_t idle;
	int open_handles;
	bool closing;
	struct buf in;
	struct sockaddr_storage peer;
	char name[80]; /* "tcp 127.0.0.1:40000" */
	struct conn *prev, *next;
};

struct wreq {
	uv_write_t req;
	struct conn *c;
	char data[];
};

struct sreq {
	uv_udp_send_t req;
	struct app *app;
	char data[];
};

void app_sockaddr_fmt(const struct sockaddr *sa, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	uint16_t port = ntohs(((const struct sockaddr_in *)sa)->sin_port);

	uv_ip_name(sa, ip, sizeof(ip));
	if (sa->sa_family == AF_INET6)
		snprintf(out, len, "[%s]:%u", ip, port);
	else
		snprintf(out, len, "%s:%u", ip, port);
}

static int sockaddr_make(const struct config_ip *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == AF_INET6)
		return uv_ip6_addr(ip->text, port, (struct sockaddr_in6 *)ss);
	return uv_ip4_addr(ip->text, port, (struct sockaddr_in *)ss);
}

/* ----------------------------------------------------------------- UDP */

static void udp_alloc_h(uv_handle_t *handle, size_t suggested, uv_buf_t *b)
{
	struct listener *l = handle->data;

	*b = uv_buf_init(l->app->rbuf, UDP_RBUF_SIZE);
}

static void udp_sent_h(uv_udp_send_t *req, int status)
{
	struct sreq *s = (struct sreq *)req;

	if (status) {
		s->app->stats.send_errors++;
		log_debug(MOD, "udp send failed: %s", uv_strerror(status));
	}
	free(s);
}

static void udp_send(struct listener *l, const struct sockaddr *to, const struct buf *out)
{
	struct app *app = l->app;
	uv_buf_t b = uv_buf_init(out->p, (unsigned)out->len);
	struct sreq *s;
	int rc = uv_udp_try_send(&l->h.udp, &b, 1, to);

	if (rc >= 0) {
		app->stats.msgs_out++;
		return;
	}
	if (rc != UV_EAGAIN)
		goto fail;
	/* Socket buffer full: queue a copy, since out is reused for the next datagram. */
	s = malloc(sizeof(*s) + out->len);
	if (!s) {
		rc = UV_ENOMEM;
		goto fail;
	}
	s->app = app;
	memcpy(s->data, out->p, out->len);
	b = uv_buf_init(s->data, (unsigned)out->len);
	rc = uv_udp_send(&s->req, &l->h.udp, &b, 1, to, udp_sent_h);
	if (rc) {
		free(s);
		goto fail;
	}
	app->stats.msgs_out++;
	return;
fail:
	app->stats.send_errors++;
	log_debug(MOD, "%s: send failed: %s", l->name, uv_strerror(rc));
}

static void udp_recv_h(uv_udp_t *u, ssize_t nread, const uv_buf_t *b, const struct sockaddr *addr,
                       unsigned flags)
{
	struct listener *l = u->data;
	struct app *app = l->app;

	if (nread == 0 || !addr)
		return; /* libuv's "nothing more to read" */
	if (nread < 0) {
		log_warn(MOD, "%s: receive error: %s", l->name, uv_strerror((int)nread));
		return;
	}
	if (flags & UV_UDP_PARTIAL) {
		app->stats.msgs_in++;
		app->stats.dropped++;
		return;
	}
	buf_reset(&app->out);
	handler_process(&app->handler, b->base, (size_t)nread, addr, "udp", &app->out);
	if (app->out.len)
		udp_send(l, addr, &app->out);
}

/* ----------------------------------------------------------------- TCP */

static void conn_closed_h(uv_handle_t *handle)
{
	struct conn *c = handle->data;

	if (--c->open_handles > 0)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->app->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->app->nconns--;
	buf_free(&c->in);
	free(c);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, conn_closed_h);
	uv_close((uv_handle_t *)&c->idle, conn_closed_h);
}

static void conn_written_h(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = w->c;

	if (status) {
		c->app->stats.send_errors++;
		if (status != UV_ECANCELED) {
			log_debug(MOD, "%s: write failed: %s", c->name, uv_strerror(status));
			conn_close(c);
		}
	}
	free(w);
}

/* Returns false when the connection had to be closed. */
static bool conn_write(struct conn *c, const char *p, size_t len)
{
	uv_buf_t b;
	struct wreq *w;
	int rc;

	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > TCP_MAX_WRITE_QUEUE) {
		log_info(MOD, "%s: peer is not reading; closing", c->name);
		conn_close(c);
		return false;
	}
	w = malloc(sizeof(*w) + len);
	if (!w) {
		c->app->stats.send_errors++;
		return true;
	}
	w->c = c;
	memcpy(w->data, p, len);
	b = uv_buf_init(w->data, (unsigned)len);
	rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_written_h);
	if (rc) {
		free(w);
		c->app->stats.send_errors++;
		log_debug(MOD, "%s: write failed: %s", c->name, uv_strerror(rc));
		conn_close(c);
		return false;
	}
	return true;
}

static void conn_idle_h(uv_timer_t *t)
{
	struct conn *c = t->data;

	c->app->stats.tcp_idle_closed++;
	log_debug(MOD, "%s: idle for %us; closing", c->name, c->app->cfg->tcp_idle_timeout);
	conn_close(c);
}

static void conn_alloc_h(uv_handle_t *handle, size_t suggested, uv_buf_t *b)
{
	struct conn *c = handle->data;

	/* The framer bounds the buffer: past the limit it reports -E2BIG. */
	if (buf_reserve(&c->in, 16384)) {
		*b = uv_buf_init(NULL, 0);
		return;
	}
	*b = uv_buf_init(c->in.p + c->in.len, (unsigned)(c->in.cap - c->in.len - 1));
}

static void conn_consume(struct conn *c, size_t n)
{
	memmove(c->in.p, c->in.p + n, c->in.len - n);
	c->in.len -= n;
}

/*
 * Cuts every complete message out of the buffer.  Each pass consumes at
 * least one byte or stops, so the loop is bounded by the buffer length.
 * Keep-alives: a double CRLF in one read is an RFC 5626 ping and gets a
 * single CRLF back; a lone CRLF (RFC 3261 style) gets nothing.
 */
static void conn_frames(struct conn *c)
{
	struct app *app = c->app;
	struct sip_perr perr;
	size_t skip, len, crlfs = 0;
	int rc;

	while (c->in.len && !c->closing) {
		skip = len = 0;
		perr = (struct sip_perr){0};
		rc =
		    sip_stream_frame(c->in.p, c->in.len, &app->cfg->sip_limits, &skip, &len, &perr);
		for (size_t i = 0; i < skip && i < c->in.len; i++) {
			if (c->in.p[i] == '\n' && ++crlfs == 2) {
				crlfs = 0;
				app->stats.keepalives++;
				if (!conn_write(c, "\r\n", 2))
					return;
			}
		}
		if (rc == -ENODATA) {
			conn_consume(c, skip < c->in.len ? skip : c->in.len);
			return;
		}
		if (rc) {
			app->stats.tcp_framing_errors++;
			log_info(MOD, "%s: cannot frame the stream: " SLICE_FMT "%s%s; closing",
			         c->name, SLICE_ARG(perr.hname), perr.hname.len ? ": " : "",
			         perr.what ? perr.what
			                   : (rc == -E2BIG ? "too large" : "malformed"));
			conn_close(c);
			return;
		}
		if (skip + len == 0 || skip + len > c->in.len) {
			conn_close(c); /* a framer that consumes nothing would spin */
			return;
		}
		crlfs = 0;
		buf_reset(&app->out);
		handler_process(&app->handler, c->in.p + skip, len, (struct sockaddr *)&c->peer,
		                "tcp", &app->out);
		if (app->out.len) {
			if (!conn_write(c, app->out.p, app->out.len))
				return;
			app->stats.msgs_out++;
		}
		conn_consume(c, skip + len);
	}
}

static void conn_read_h(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = s->data;

	if (nread == UV_ENOBUFS) {
		log_warn(MOD, "%s: out of memory; closing", c->name);
		conn_close(c);
		return;
	}
	if (nread < 0) {
		if (nread != UV_EOF)
			log_debug(MOD, "%s: %s", c->name, uv_strerror((int)nread));
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	c->in.len += (size_t)nread;
	uv_timer_again(&c->idle);
	conn_frames(c);
	/* Belt and braces: the framer should have said -E2BIG long before this. */
	if (!c->closing && c->in.len > c->app->cfg->sip_limits.max_msg_size + 65536) {
		c->app->stats.tcp_framing_errors++;
		log_info(MOD, "%s: %zu bytes without a complete message; closing", c->name,
		         c->in.len);
		conn_close(c);
	}
}

static void conn_accept_h(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	struct app *app = l->app;
	uint64_t idle_ms = (uint64_t)app->cfg->tcp_idle_timeout * 1000;
	int len = sizeof(struct sockaddr_storage);
	struct conn *c;

	if (status < 0) {
		log_warn(MOD, "%s: accept: %s", l->name, uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || uv_tcp_init(app->loop, &c->tcp)) {
		/* Without a handle to accept into, the kernel keeps it queued: retried later. */
		free(c);
		log_warn(MOD, "%s: out of memory accepting a connection", l->name);
		return;
	}
	c->app = app;
	c->l = l;
	c->tcp.data = c;
	c->idle.data = c;
	c->open_handles = 2;
	uv_timer_init(app->loop, &c->idle);
	c->next = app->conns;
	if (app->conns)
		app->conns->prev = c;
	app->conns = c;
	app->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) ||
	    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &len)) {
		conn_close(c);
		return;
	}
	snprintf(c->name, sizeof(c->name), "tcp ");
	app_sockaddr_fmt((struct sockaddr *)&c->peer, c->name + 4, sizeof(c->name) - 4);
	if (app->nconns > app->cfg->tcp_max_connections) {
		app->stats.tcp_refused++;
		log_warn(MOD, "%s: refused: %u connections open (transport.tcp_max_connections)",
		         c->name, app->nconns - 1);
		conn_close(c);
		return;
	}
	app->stats.tcp_accepted++;
	log_debug(MOD, "%s: accepted on %s (edge %s)", c->name, l->name, l->edge->name);
	uv_tcp_nodelay(&c->tcp, 1);
	uv_timer_start(&c->idle, conn_idle_h, idle_ms, idle_ms);
	if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_h, conn_read_h))
		conn_close(c);
}

/* ------------------------------------------------------------ listeners */

static void listener_closed_h(uv_handle_t *handle)
{
	free(handle->data);
}

static int listener_open(struct app *app, const struct config_edge *e,
                         const struct config_gateway *gw, bool stream)
{
	uint16_t port = stream ? gw->tcp : gw->udp;
	struct sockaddr_storage ss;
	struct listener *l;
	int rc;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->app = app;
	l->edge = e;
	l->stream = stream;
	l->h.handle.data = l;
	snprintf(l->name, sizeof(l->name), "%s %s%s%s:%u", stream ? "tcp" : "udp",
	         gw->ip.family == AF_INET6 ? "[" : "", gw->ip.text,
	         gw->ip.family == AF_INET6 ? "]" : "", port);
	rc = sockaddr_make(&gw->ip, port, &ss);
	if (rc) {
		free(l);
		return rc;
	}
	rc = stream ? uv_tcp_init(app->loop, &l->h.tcp) : uv_udp_init(app->loop, &l->h.udp);
	if (rc) {
		free(l);
		return rc;
	}
	/* Linked before binding so app_close() frees it whatever happens next. */
	l->next = app->listeners;
	app->listeners = l;
	if (stream) {
		rc = uv_tcp_bind(&l->h.tcp, (struct sockaddr *)&ss, 0);
		if (!rc)
			rc = uv_listen((uv_stream_t *)&l->h.tcp, TCP_BACKLOG, conn_accept_h);
	} else {
		rc = uv_udp_bind(&l->h.udp, (struct sockaddr *)&ss, 0);
		if (!rc)
			rc = uv_udp_recv_start(&l->h.udp, udp_alloc_h, udp_recv_h);
	}
	if (rc) {
		log_error(MOD, "cannot listen on %s (edge %s): %s", l->name, e->name,
		          uv_strerror(rc));
		return rc;
	}
	log_info(MOD, "listening %s (edge %s)", l->name, e->name);
	return 0;
}

int app_listen(struct app *app)
{
	const struct config *cfg = app->cfg;
	int rc;

	app->rbuf = malloc(UDP_RBUF_SIZE);
	if (!app->rbuf)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nedges; i++) {
		const struct config_edge *e = &cfg->edges[i];

		for (size_t j = 0; j < e->ngateways; j++) {
			const struct config_gateway *gw = &e->gateways[j];

			rc = listener_open(app, e, gw, false);
			if (!rc)
				rc = listener_open(app, e, gw, true);
			if (rc)
				return rc;
			log_info(MOD, "tls %s%s%s:%u (edge %s) configured, not served yet",
			         gw->ip.family == AF_INET6 ? "[" : "", gw->ip.text,
			         gw->ip.family == AF_INET6 ? "]" : "", gw->tls, e->name);
		}
	}
	return 0;
}

void app_close(struct app *app)
{
	struct listener *l, *lnext;
	struct conn *c, *cnext;

	for (l = app->listeners; l; l = lnext) {
		lnext = l->next;
		uv_close(&l->h.handle, listener_closed_h);
	}
	app->listeners = NULL;
	/* Connections unlink themselves once both of their handles are closed. */
	for (c = app->conns; c; c = cnext) {
		cnext = c->next;
		conn_close(c);
	}
	if (app->signals_open) {
		uv_close((uv_handle_t *)&app->sigint, NULL);
		uv_close((uv_handle_t *)&app->sigterm, NULL);
		app->signals_open = false;
	}
}
