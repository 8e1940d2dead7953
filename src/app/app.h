/* ixedge daemon internals: loop state, counters, listeners and the stateless handler. */
#ifndef IXEDGE_APP_APP_H
#define IXEDGE_APP_APP_H

#include <uv.h>

#include "app/config.h"

/*
 * Threading: everything here belongs to the signalling loop (app.loop) and
 * is touched only from its callbacks.
 */

/* Counters since start; the admin endpoint exports them in a later issue. */
struct app_stats {
	uint64_t msgs_in;            /* datagrams and stream frames handed to the parser */
	uint64_t msgs_out;           /* responses handed to the socket */
	uint64_t parse_errors;       /* failed sip_msg_decode() or sip_msg_check() */
	uint64_t dropped;            /* received and not answered: see handler.c */
	uint64_t acks_absorbed;      /* ACKs, which never get a response */
	uint64_t keepalives;         /* RFC 5626 double-CRLF pings answered with a CRLF */
	uint64_t send_errors;        /* a response that could not be sent */
	uint64_t tcp_accepted;       /* TCP connections accepted */
	uint64_t tcp_refused;        /* closed at once: transport.tcp_max_connections reached */
	uint64_t tcp_idle_closed;    /* closed by transport.tcp_idle_timeout */
	uint64_t tcp_framing_errors; /* closed because the byte stream could not be framed */
};

/* The stateless foundation-stage handler (replaced by the transaction layer). */
struct handler {
	const struct sip_limits *lim;
	struct app_stats *stats;
	uint64_t salt;      /* keys the To-tags so strangers cannot predict them */
	struct buf allow;   /* the Allow header value, from the method table */
	struct buf scratch; /* reused per message; never holds anything between calls */
	struct buf scratch2;
};

int handler_init(struct handler *h, const struct sip_limits *lim, struct app_stats *stats);
void handler_close(struct handler *h);

/*
 * Handles one datagram or stream frame from peer.  When it deserves an
 * answer, the response is appended to out (and out->len > 0); the caller
 * sends it back to peer (UDP) or on the same connection (TCP).  The bytes
 * are only borrowed for the call.
 */
void handler_process(struct handler *h, const char *p, size_t len, const struct sockaddr *peer,
                     const char *proto, struct buf *out);

struct listener;
struct conn;

struct app {
	uv_loop_t *loop;
	struct config *cfg;
	struct app_stats stats;
	struct handler handler;
	struct listener *listeners;
	struct conn *conns;
	uint32_t nconns;
	uv_signal_t sigint, sigterm;
	bool signals_open;
	bool stopping;
	char *rbuf; /* one UDP receive buffer: datagrams are handled before the next read */
	struct buf out;
};

/* "1.2.3.4:5060" or "[::1]:5060". */
void app_sockaddr_fmt(const struct sockaddr *sa, char *out, size_t len);

/* Binds every gateway's UDP and TCP listener; -errno after logging which one failed. */
int app_listen(struct app *app);
/* Closes every handle; uv_run() returns once their close callbacks ran. */
void app_close(struct app *app);

#endif
