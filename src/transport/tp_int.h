/* Transport internals shared by tp.c, udp.c, tcp.c, response.c and resolve.c. */
#ifndef IXEDGE_TRANSPORT_TP_INT_H
#define IXEDGE_TRANSPORT_TP_INT_H

#include <stddef.h>

#include "base/hmap.h"
#include "transport/transport.h"

/*
 * Threading: the signalling loop only, like the public API.
 *
 * Lifetime: every libuv handle the transport opens counts in tp->nhandles
 * and its close callback calls tp_handle_closed(); after tp_close() the
 * struct tp is freed by the close callback of the last handle, never in
 * the middle of a callback that still uses it.
 */

#define MOD "transport"

uint64_t tp_addr_hash(const struct sockaddr *sa);
/* Same family and IP, port ignored. */
bool tp_ip_eq(const struct sockaddr *a, const struct sockaddr *b);
uint16_t tp_addr_port(const struct sockaddr *sa);
void tp_addr_set_port(struct sockaddr_storage *ss, uint16_t port);
socklen_t tp_addr_len(const struct sockaddr *sa);
/* A numeric IPv4/IPv6 host (no brackets) and port into ss; -EINVAL if not numeric. */
int tp_addr_from_host(struct slice host, uint16_t port, struct sockaddr_storage *ss);

/* ------------------------------------------------------------ objects */

struct tp_lis {
	struct tp *tp;
	enum tp_proto proto;
	void *tag;
	struct sockaddr_storage addr; /* as bound (the real port when asked for 0) */
	union {
		uv_handle_t h;
		uv_udp_t udp;
		uv_tcp_t tcp;
	} u;
	char name[72]; /* "UDP 127.0.0.1:5060" for logs */
	struct tp_lis *next;
};

/*
 * One pending send: a TCP write or a queued UDP datagram.  The bytes are a
 * copy, so callers may reuse theirs at once.  A send with a fail callback
 * is also on tp->fails so tp_forget() can find it.
 */
struct tp_wreq {
	union {
		uv_write_t w;
		uv_udp_send_t u;
	} req;
	struct tp *tp;
	struct tp_conn *conn; /* stream sends */
	tp_fail_h *fail;
	void *arg;
	struct tp_wreq *fprev, *fnext; /* on tp->fails while fail is set */
	struct tp_wreq *qnext;         /* waiting for the connection to come up */
	size_t len;
	char data[];
};

/* An address a connection is known by: its remote address, or an alias. */
struct tp_alink {
	struct hnode l;
	struct tp_conn *conn;
	struct sockaddr_storage key;
	bool linked;
};

struct tp_conn {
	struct tp *tp;
	uint64_t id;
	enum tp_proto proto;
	struct tp_lis *lis; /* accepted on, or the stream listener of the bound IP; may be NULL */
	bool outgoing, connecting, closing;
	int err;          /* why it is closing, for the write callbacks; 0 when unknown */
	int open_handles; /* tcp + timer */
	uv_tcp_t tcp;
	uv_timer_t timer; /* connect timeout, then idle timeout */
	uv_connect_t creq;
	uint64_t last_active; /* uv_now() of the last read or completed write */
	struct buf in;        /* bytes read, not yet framed */
	unsigned crlfs;       /* newlines of a keep-alive seen so far (RFC 5626 ping) */
	struct sockaddr_storage peer;
	struct tp_wreq *qhead, **qtail; /* writes held until connected */
	struct hnode idl;               /* in tp->conns_by_id */
	struct tp_alink al[2];          /* [0] remote address, [1] alias (RFC 5923-style) */
	struct tp_conn *prev, *next;    /* tp->conns */
	char name[72];                  /* "TCP 127.0.0.1:40000" */
};

struct tp_res;

struct tp {
	uv_loop_t *loop;
	struct tp_conf conf;
	char *dns_servers; /* our copy of conf.dns_servers */
	tp_recv_h *rh;
	void *arg;
	struct tp_stats stats;
	bool closing;
	uint32_t nhandles; /* open libuv handles; tp is freed when 0 after tp_close() */
	uint64_t salt;     /* keys the To-tags of our error responses */

	struct tp_lis *lis;
	char *udp_rbuf; /* one big recvmmsg buffer, shared: datagrams are copied out */
	size_t udp_rbuf_len;

	uint64_t next_conn_id;
	struct tp_conn *conns;
	struct hmap conns_by_id;
	struct hmap conns_by_addr;

	struct tp_wreq *fails; /* pending sends that have a fail callback */

	struct tp_dns *dns; /* c-ares, created on the first name to resolve */
	struct tp_res *res; /* resolutions in flight */

	struct buf scratch; /* error responses, Via stamps: reused, never held across calls */
	struct buf scratch2;
};

void tp_handle_closed(struct tp *tp);

/* Hands one message (a datagram or a stream frame in its own mem buffer) up. */
void tp_rx(struct tp *tp, enum tp_proto proto, struct tp_lis *lis, struct tp_conn *c,
           const struct sockaddr *from, char *mbuf, size_t len);
/* Counts a message that left; p is its start line. */
void tp_count_tx(struct tp *tp, enum tp_proto proto, const char *p, size_t len);

struct tp_wreq *tp_wreq_new(struct tp *tp, const char *p, size_t len, tp_fail_h *fail, void *arg);
/* Frees w without a word to the sender (the caller reports the error itself). */
void tp_wreq_free(struct tp_wreq *w);
/* Reports err to the sender (unless forgotten or closing) and frees w. */
void tp_wreq_done(struct tp_wreq *w, int err);

/* udp.c */
/* Opens l's handle (*opened then true, even if binding fails) and binds it. */
int tp_udp_listen(struct tp_lis *l, bool *opened);
int tp_udp_send(struct tp *tp, struct tp_lis *l, const struct sockaddr *to, const char *p,
                size_t len, tp_fail_h *fail, void *arg);

/* tcp.c */
int tp_tcp_listen(struct tp_lis *l, bool *opened);
struct tp_conn *tp_conn_find(struct tp *tp, uint64_t id);
int tp_stream_send(struct tp *tp, const struct tp_peer *dst, const char *p, size_t len,
                   tp_fail_h *fail, void *arg);
/* Lets dst (the sent-by of a request that came on c) reach c too. */
void tp_conn_alias(struct tp_conn *c, const struct sockaddr *addr);
void tp_conns_close(struct tp *tp);

/* response.c */
void tp_answer_error(struct tp *tp, struct sip_msg *req, const struct tp_peer *src, int rc,
                     const struct sip_perr *perr);

/* resolve.c */
void tp_dns_close(struct tp *tp);
void tp_res_forget(struct tp *tp, void *arg);

/* Picks the listener to send from: lis itself, its sibling of proto, or any of proto and af. */
struct tp_lis *tp_lis_pick(struct tp *tp, struct tp_lis *lis, enum tp_proto proto, int af);

#endif
