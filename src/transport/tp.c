/* Transport core: lifetime, listeners, the receive pipeline, send dispatch and counters. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rand.h"
#include "transport/tp_int.h"

static const char *const proto_names[TP__COUNT] = {"UDP", "TCP", "TLS"};

const char *tp_proto_name(enum tp_proto p)
{
	return (unsigned)p < TP__COUNT ? proto_names[p] : "?";
}

int tp_proto_from(struct slice s, enum tp_proto *out)
{
	for (unsigned i = 0; i < TP__COUNT; i++) {
		if (slice_ieq_cstr(s, proto_names[i])) {
			*out = (enum tp_proto)i;
			return 0;
		}
	}
	return -EPROTONOSUPPORT;
}

void tp_conf_default(struct tp_conf *conf)
{
	*conf = (struct tp_conf){
	    .tcp_idle_timeout_ms = 300000,
	    .tcp_max_conns = 10000,
	    .tcp_connect_timeout_ms = 5000,
	};
	sip_limits_default(&conf->lim);
}

/* ------------------------------------------------------------ addresses */

void tp_sockaddr_fmt(const struct sockaddr *sa, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
		snprintf(out, len, "?");
		return;
	}
	uv_ip_name(sa, ip, sizeof(ip));
	if (sa->sa_family == AF_INET6)
		snprintf(out, len, "[%s]:%u", ip, tp_addr_port(sa));
	else
		snprintf(out, len, "%s:%u", ip, tp_addr_port(sa));
}

uint16_t tp_addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

void tp_addr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
}

socklen_t tp_addr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

bool tp_ip_eq(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		              &((const struct sockaddr_in6 *)b)->sin6_addr,
		              sizeof(struct in6_addr)) == 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return false;
}

bool tp_addr_eq(const struct sockaddr *a, const struct sockaddr *b)
{
	return tp_ip_eq(a, b) && tp_addr_port(a) == tp_addr_port(b);
}

uint64_t tp_addr_hash(const struct sockaddr *sa)
{
	const unsigned char *p;
	size_t n;
	uint64_t h = 0xcbf29ce484222325ull ^ tp_addr_port(sa);

	if (sa->sa_family == AF_INET6) {
		p = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = sizeof(struct in6_addr);
	} else {
		p = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = sizeof(struct in_addr);
	}
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

int tp_addr_from_host(struct slice host, uint16_t port, struct sockaddr_storage *ss)
{
	char s[INET6_ADDRSTRLEN + 1];

	if (host.len && host.p[0] == '[' && host.p[host.len - 1] == ']')
		host = (struct slice){host.p + 1, host.len - 2};
	if (!host.len || host.len >= sizeof(s))
		return -EINVAL;
	memcpy(s, host.p, host.len);
	s[host.len] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (uv_ip4_addr(s, port, (struct sockaddr_in *)ss) == 0 && strchr(s, '.'))
		return 0;
	memset(ss, 0, sizeof(*ss));
	if (strchr(s, ':') && uv_ip6_addr(s, port, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	return -EINVAL;
}

int tp_uri_addr(const struct sip_uri *uri, struct sockaddr_storage *ss)
{
	uint16_t port = uri->port ? uri->port : (uri->scheme == SIP_SCHEME_SIPS ? 5061 : 5060);

	if (uri->host_type != SIP_HOST_IPV4 && uri->host_type != SIP_HOST_IPV6)
		return -EINVAL;
	return tp_addr_from_host(uri->host, port, ss);
}

/* ------------------------------------------------------------ lifetime */

static void lis_closed_h(uv_handle_t *h);

int tp_alloc(struct tp **tpp, uv_loop_t *loop, const struct tp_conf *conf, tp_recv_h *rh, void *arg)
{
	struct tp *tp;

	if (!tpp || !loop || !rh)
		return -EINVAL;
	tp = calloc(1, sizeof(*tp));
	if (!tp)
		return -ENOMEM;
	tp->loop = loop;
	if (hmap_init(&tp->conns_by_id, 64) || hmap_init(&tp->conns_by_addr, 64)) {
		hmap_fini(&tp->conns_by_id);
		free(tp);
		return -ENOMEM;
	}
	if (conf)
		tp->conf = *conf;
	else
		tp_conf_default(&tp->conf);
	if (tp->conf.dns_servers) {
		tp->dns_servers = strdup(tp->conf.dns_servers);
		if (!tp->dns_servers) {
			hmap_fini(&tp->conns_by_id);
			hmap_fini(&tp->conns_by_addr);
			free(tp);
			return -ENOMEM;
		}
		tp->conf.dns_servers = tp->dns_servers;
	}
	if (!tp->conf.tcp_connect_timeout_ms)
		tp->conf.tcp_connect_timeout_ms = 5000;
	tp->rh = rh;
	tp->arg = arg;
	tp->next_conn_id = 1;
	tp->salt = rand_u64();
	*tpp = tp;
	return 0;
}

static void tp_free(struct tp *tp)
{
	hmap_fini(&tp->conns_by_id);
	hmap_fini(&tp->conns_by_addr);
	buf_free(&tp->scratch);
	buf_free(&tp->scratch2);
	free(tp->udp_rbuf);
	free(tp->dns_servers);
	free(tp);
}

void tp_handle_closed(struct tp *tp)
{
	if (--tp->nhandles == 0 && tp->closing)
		tp_free(tp);
}

void tp_close(struct tp *tp)
{
	struct tp_wreq *w, *next;

	if (!tp || tp->closing)
		return;
	tp->closing = true;
	/* No callback runs from here on: senders and resolvers are told nothing. */
	for (w = tp->fails; w; w = next) {
		next = w->fnext;
		w->fail = NULL;
		w->fprev = w->fnext = NULL;
	}
	tp->fails = NULL;
	for (struct tp_lis *l = tp->lis; l; l = l->next) {
		if (!uv_is_closing(&l->u.h))
			uv_close(&l->u.h, lis_closed_h);
	}
	tp_conns_close(tp);
	tp_dns_close(tp);
	if (tp->nhandles == 0)
		tp_free(tp);
}

/* ------------------------------------------------------------ listeners */

static void lis_closed_h(uv_handle_t *h)
{
	struct tp_lis *l = h->data, **pp;
	struct tp *tp = l->tp;

	for (pp = &tp->lis; *pp; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	free(l);
	tp_handle_closed(tp);
}

int tp_listen(struct tp *tp, enum tp_proto proto, const struct sockaddr *local, void *tag,
              struct tp_lis **lisp)
{
	struct tp_lis *l;
	bool opened = false;
	char a[64];
	int rc;

	if (!tp || !local || tp->closing ||
	    (local->sa_family != AF_INET && local->sa_family != AF_INET6))
		return -EINVAL;
	if (proto != TP_UDP && proto != TP_TCP)
		return -EPROTONOSUPPORT; /* TLS arrives with its own issue */
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->tp = tp;
	l->proto = proto;
	l->tag = tag;
	memcpy(&l->addr, local, tp_addr_len(local));
	tp_sockaddr_fmt(local, a, sizeof(a));
	snprintf(l->name, sizeof(l->name), "%s %s", tp_proto_name(proto), a);
	l->u.h.data = l;
	rc = proto == TP_UDP ? tp_udp_listen(l, &opened) : tp_tcp_listen(l, &opened);
	if (!opened) {
		free(l);
		return rc;
	}
	/* The handle is open: from here only its close callback frees l. */
	tp->nhandles++;
	l->next = tp->lis;
	tp->lis = l;
	if (rc) {
		log_error(MOD, "cannot listen on %s: %s", l->name, uv_strerror(rc));
		uv_close(&l->u.h, lis_closed_h);
		return rc;
	}
	/* The real port when 0 was asked for. */
	tp_sockaddr_fmt((struct sockaddr *)&l->addr, a, sizeof(a));
	snprintf(l->name, sizeof(l->name), "%s %s", tp_proto_name(proto), a);
	log_info(MOD, "listening on %s", l->name);
	if (lisp)
		*lisp = l;
	return 0;
}

void *tp_lis_tag(const struct tp_lis *lis)
{
	return lis ? lis->tag : NULL;
}

enum tp_proto tp_lis_proto(const struct tp_lis *lis)
{
	return lis->proto;
}

const struct sockaddr *tp_lis_addr(const struct tp_lis *lis)
{
	return (const struct sockaddr *)&lis->addr;
}

static bool lis_usable(const struct tp_lis *l)
{
	return !uv_is_closing(&l->u.h);
}

struct tp_lis *tp_lis_sibling(struct tp *tp, const struct tp_lis *lis, enum tp_proto proto)
{
	if (!tp || !lis)
		return NULL;
	for (struct tp_lis *l = tp->lis; l; l = l->next) {
		if (l->proto == proto && lis_usable(l) &&
		    tp_ip_eq((const struct sockaddr *)&l->addr,
		             (const struct sockaddr *)&lis->addr))
			return l;
	}
	return NULL;
}

struct tp_lis *tp_lis_pick(struct tp *tp, struct tp_lis *lis, enum tp_proto proto, int af)
{
	if (lis && lis->addr.ss_family == af) {
		if (lis->proto == proto && lis_usable(lis))
			return lis;
		struct tp_lis *s = tp_lis_sibling(tp, lis, proto);
		if (s)
			return s;
	}
	for (struct tp_lis *l = tp->lis; l; l = l->next) {
		if (l->proto == proto && l->addr.ss_family == af && lis_usable(l))
			return l;
	}
	return NULL;
}

const struct tp_stats *tp_stats(const struct tp *tp)
{
	return &tp->stats;
}

/* ------------------------------------------------------------ pending sends */

struct tp_wreq *tp_wreq_new(struct tp *tp, const char *p, size_t len, tp_fail_h *fail, void *arg)
{
	struct tp_wreq *w = malloc(sizeof(*w) + len);

	if (!w)
		return NULL;
	memset(w, 0, sizeof(*w));
	w->tp = tp;
	w->len = len;
	memcpy(w->data, p, len);
	if (fail) {
		w->fail = fail;
		w->arg = arg;
		w->fnext = tp->fails;
		if (tp->fails)
			tp->fails->fprev = w;
		tp->fails = w;
	}
	return w;
}

static void wreq_unlink(struct tp_wreq *w)
{
	struct tp *tp = w->tp;

	if (!w->fail)
		return;
	if (w->fprev)
		w->fprev->fnext = w->fnext;
	else if (tp->fails == w)
		tp->fails = w->fnext;
	if (w->fnext)
		w->fnext->fprev = w->fprev;
	w->fprev = w->fnext = NULL;
	w->fail = NULL;
}

void tp_wreq_free(struct tp_wreq *w)
{
	wreq_unlink(w);
	free(w);
}

void tp_wreq_done(struct tp_wreq *w, int err)
{
	tp_fail_h *fail = w->fail;
	void *arg = w->arg;
	struct tp *tp = w->tp;

	wreq_unlink(w);
	free(w);
	if (err) {
		tp->stats.send_errors++;
		if (fail && !tp->closing)
			fail(arg, err);
	}
}

void tp_forget(struct tp *tp, void *arg)
{
	struct tp_wreq *w, *next;

	if (!tp)
		return;
	for (w = tp->fails; w; w = next) {
		next = w->fnext;
		if (w->arg == arg)
			wreq_unlink(w);
	}
	tp_res_forget(tp, arg);
}

/* ------------------------------------------------------------ receive */

void tp_count_tx(struct tp *tp, enum tp_proto proto, const char *p, size_t len)
{
	const char *sp = memchr(p, ' ', len < 32 ? len : 32);

	tp->stats.tx_msgs[proto]++;
	if (len >= 4 && memcmp(p, "SIP/", 4) == 0)
		tp->stats.tx_resp++;
	else if (sp)
		tp->stats.tx_req[sip_method_from((struct slice){p, (size_t)(sp - p)})]++;
}

/* A datagram of only whitespace: a keep-alive some UAs send over UDP (not STUN). */
static bool is_blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' && p[i] != '\t' && p[i] != '\0')
			return false;
	}
	return true;
}

void tp_rx(struct tp *tp, enum tp_proto proto, struct tp_lis *lis, struct tp_conn *c,
           const struct sockaddr *from, char *mbuf, size_t len)
{
	struct tp_peer peer = {.proto = proto, .lis = lis, .conn_id = c ? c->id : 0};
	struct sip_perr perr = {0};
	struct sip_msg *msg = NULL;
	char a[64];
	int rc;

	memcpy(&peer.addr, from, tp_addr_len(from));
	if (proto == TP_UDP && is_blank(mbuf, len)) {
		tp->stats.keepalives++;
		mem_deref(mbuf);
		return;
	}
	tp->stats.rx_msgs[proto]++;
	rc = sip_msg_decode(&msg, mbuf, len, mbuf, &tp->conf.lim, &perr);
	mem_deref(mbuf); /* the message holds its own reference when it exists */
	if (!rc)
		rc = sip_msg_check(msg, &perr);
	if (rc) {
		tp->stats.parse_errors++;
		if (msg && msg->req && sip_msg_can_answer(msg)) {
			tp_answer_error(tp, msg, &peer, rc, &perr);
		} else {
			tp->stats.dropped++;
			tp_sockaddr_fmt(from, a, sizeof(a));
			log_debug(MOD,
			          "%s %s: dropped malformed message (%s): " SLICE_FMT
			          "%s%s (byte %zu)",
			          tp_proto_name(proto), a,
			          msg ? (msg->req ? "request" : "response") : "unreadable",
			          SLICE_ARG(perr.hname), perr.hname.len ? ": " : "",
			          perr.what ? perr.what : "malformed", perr.offset);
		}
		mem_deref(msg);
		return;
	}
	if (msg->req) {
		tp->stats.rx_req[msg->mid]++;
		/* A request's sent-by names the peer's listening address: let it reach c. */
		if (c &&
		    (msg->via.host_type == SIP_HOST_IPV4 || msg->via.host_type == SIP_HOST_IPV6)) {
			struct sockaddr_storage sb;
			uint16_t port = msg->via.port     ? msg->via.port
			                : proto == TP_TLS ? 5061
			                                  : 5060;

			if (tp_addr_from_host(msg->via.host, port, &sb) == 0)
				tp_conn_alias(c, (struct sockaddr *)&sb);
		}
	} else {
		tp->stats.rx_resp++;
	}
	tp->rh(tp->arg, msg, &peer);
	mem_deref(msg);
}

/* ------------------------------------------------------------ send */

int tp_send(struct tp *tp, const struct tp_peer *dst, const char *p, size_t len, tp_fail_h *fail,
            void *arg)
{
	struct tp_lis *l;

	if (!tp || !dst || !p || !len)
		return -EINVAL;
	if (tp->closing)
		return -ESHUTDOWN;
	if (dst->addr.ss_family != AF_INET && dst->addr.ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	switch (dst->proto) {
	case TP_UDP:
		l = tp_lis_pick(tp, dst->lis, TP_UDP, dst->addr.ss_family);
		if (!l)
			return -EADDRNOTAVAIL;
		return tp_udp_send(tp, l, (const struct sockaddr *)&dst->addr, p, len, fail, arg);
	case TP_TCP:
		return tp_stream_send(tp, dst, p, len, fail, arg);
	default:
		return -EPROTONOSUPPORT;
	}
}
