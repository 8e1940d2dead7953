/* SIP transports: UDP, TCP (TLS later) listeners and connections on one libuv loop. */
#ifndef IXEDGE_TRANSPORT_H
#define IXEDGE_TRANSPORT_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include "ixedge/sip.h"

/*
 * Threading: a struct tp and everything it owns belong to the signalling
 * loop; every function here is called from that loop only.
 *
 * The transport is the one way in for SIP bytes: it frames streams, decodes
 * each message (sip_msg_decode, sip_msg_check), answers what cannot be
 * decoded with the status the parser chose (400, 505, 513...) when
 * sip_msg_can_answer() allows, drops and counts the rest, and hands every
 * good message up through tp_recv_h.  It knows nothing of transactions.
 */

enum tp_proto { TP_UDP = 0, TP_TCP, TP_TLS, TP__COUNT };

const char *tp_proto_name(enum tp_proto p);            /* "UDP", "TCP", "TLS" (Via spelling) */
int tp_proto_from(struct slice s, enum tp_proto *out); /* case-insensitive; else -EPROTONOSUPPORT */

struct tp;
struct tp_lis;

/* Where a message came from, or where one goes. */
struct tp_peer {
	enum tp_proto proto;
	struct sockaddr_storage addr; /* the remote address */
	struct tp_lis *lis;           /* local socket or listener; NULL: transport picks */
	uint64_t conn_id;             /* stream connection, 0 when none; stale ids are safe */
};

struct tp_conf {
	struct sip_limits lim;
	uint32_t tcp_idle_timeout_ms;    /* close idle connections (default 300000) */
	uint32_t tcp_max_conns;          /* accepted + connected (default 10000) */
	uint32_t tcp_connect_timeout_ms; /* default 5000 */
	const char *dns_servers; /* "ip[:port],..." for c-ares; NULL: /etc/resolv.conf (copied) */
};
void tp_conf_default(struct tp_conf *conf);

/* A decoded message.  msg is borrowed for the call: mem_ref() it to keep it. */
typedef void(tp_recv_h)(void *arg, struct sip_msg *msg, const struct tp_peer *src);
/*
 * An asynchronous send failure (connect refused, reset, timeout): -errno.
 * Called at most once per send, never after tp_close() or tp_forget(arg).
 */
typedef void(tp_fail_h)(void *arg, int err);

struct tp_stats {
	uint64_t rx_msgs[TP__COUNT], tx_msgs[TP__COUNT];
	uint64_t rx_req[SIP_METHOD__COUNT], rx_resp; /* by method; responses */
	uint64_t tx_req[SIP_METHOD__COUNT], tx_resp;
	uint64_t parse_errors, answered_errors, dropped, keepalives, send_errors;
	uint64_t tcp_accepted, tcp_connected, tcp_closed, tcp_refused, tcp_idle_closed;
	uint32_t tcp_conns; /* live */
};

int tp_alloc(struct tp **tpp, uv_loop_t *loop, const struct tp_conf *conf, tp_recv_h *rh,
             void *arg);
/* Closes every socket; the loop then runs out.  Frees tp when the last handle closed. */
void tp_close(struct tp *tp);

/* Binds a UDP socket or TCP listener on local; tag is the owner's (e.g. gateway). */
int tp_listen(struct tp *tp, enum tp_proto proto, const struct sockaddr *local, void *tag,
              struct tp_lis **lisp);
void *tp_lis_tag(const struct tp_lis *lis);
enum tp_proto tp_lis_proto(const struct tp_lis *lis);
const struct sockaddr *tp_lis_addr(const struct tp_lis *lis);
/* The listener of proto bound to the same IP as lis (e.g. a gateway's TCP twin). */
struct tp_lis *tp_lis_sibling(struct tp *tp, const struct tp_lis *lis, enum tp_proto proto);

/*
 * Sends a request (or an ACK) to dst.  UDP: from dst->lis.  Streams: on
 * dst->conn_id if it is still open, else on any open connection to
 * dst->addr (RFC 5923-style reuse), else a new connection bound to
 * dst->lis's IP.  0 when queued; fail (optional) reports a later failure.
 */
int tp_send(struct tp *tp, const struct tp_peer *dst, const char *p, size_t len, tp_fail_h *fail,
            void *arg);

/*
 * No tp_fail_h or tp_resolve_h callback with this arg will come any more:
 * an owner calls it before it frees arg (e.g. a transaction that ends while
 * its connection is still being set up).
 */
void tp_forget(struct tp *tp, void *arg);

/*
 * Sends a response to req, which arrived from src: RFC 3261 18.2.2 with
 * RFC 3581 rport.  Streams: on the connection the request came on, else a
 * new one to the source IP (received) at the sent-by port.  UDP, from
 * src->lis: to a numeric maddr, else with rport to the source IP and port,
 * else to the source IP at the sent-by port (5060 when absent).  The top
 * Via of the bytes sent gets ;received and ;rport=<port> stamped as
 * RFC 3261 18.2.1 and RFC 3581 ask (the request itself is immutable).
 */
int tp_send_response(struct tp *tp, const struct sip_msg *req, const struct tp_peer *src,
                     const char *p, size_t len);

/*
 * RFC 3263 targets of a URI, in the order to try them (see docs/TRANSPORT.md).
 * The array is valid during the callback only.  tp_close() and tp_forget()
 * silence a resolution in flight.
 */
struct tp_target {
	enum tp_proto proto;
	struct sockaddr_storage addr;
};
typedef void(tp_resolve_h)(void *arg, int err, const struct tp_target *t, size_t n);
/* Numeric hosts answer before returning; names go through c-ares. */
int tp_resolve(struct tp *tp, const struct sip_uri *uri, tp_resolve_h *h, void *arg);

/* A URI's numeric host and port (5060, or 5061 for sips:) as a socket address;
 * -EINVAL when the host is a name (that takes tp_resolve()). */
int tp_uri_addr(const struct sip_uri *uri, struct sockaddr_storage *ss);

/* Same family, IP address and port. */
bool tp_addr_eq(const struct sockaddr *a, const struct sockaddr *b);

const struct tp_stats *tp_stats(const struct tp *tp);
void tp_sockaddr_fmt(const struct sockaddr *sa, char *out, size_t len); /* "1.2.3.4:5060" */

#endif
