/* RFC 3263 next-hop resolution: numeric hosts at once, names through c-ares on the loop. */
#include <ares.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rand.h"
#include "transport/tp_int.h"

#define DNS_C_IN    1
#define DNS_T_SRV   33
#define DNS_T_NAPTR 35

#define DNS_TIMEOUT_MS 2000
#define DNS_TRIES      2
#define RES_MAX_SRV    4 /* SRV names asked (one per NAPTR/transport) */
#define RES_MAX_HOSTS  8 /* hosts per SRV answer */
#define RES_MAX_ADDRS  8 /* addresses per host */

struct dns_poll {
	uv_poll_t poll;
	struct tp *tp;
	ares_socket_t fd;
	struct dns_poll *next;
};

struct tp_dns {
	struct tp *tp;
	ares_channel ch;
	uv_timer_t timer;
	struct dns_poll *polls;
	int depth;         /* nested calls into c-ares */
	bool destroy_late; /* tp_close() came from inside a c-ares callback */
	bool destroyed;
};

/* One host to look up (A/AAAA) and what it gave. */
struct res_host {
	struct tp_res *res;
	enum tp_proto proto;
	uint16_t port;
	char name[256];
	struct tp_target t[RES_MAX_ADDRS];
	size_t n;
};

/* One SRV name to ask, and the hosts it named, in RFC 2782 order. */
struct res_srv {
	struct tp_res *res;
	enum tp_proto proto;
	char name[300];
	struct res_host *hosts[RES_MAX_HOSTS];
	size_t nhosts;
};

struct tp_res {
	struct tp *tp;
	tp_resolve_h *h;
	void *arg;
	struct tp_res *prev, *next;
	bool sips, has_proto;
	enum tp_proto proto;
	uint16_t port; /* 0: not in the URI */
	char host[256];
	int pending; /* queries in flight, +1 while a phase issues them */
	int err;     /* the last failure, reported when nothing resolved */
	void (*phase_done)(struct tp_res *r);
	struct res_srv srv[RES_MAX_SRV];
	size_t nsrv;
	struct res_host *hosts[RES_MAX_SRV * RES_MAX_HOSTS];
	size_t nhosts;
};

static int ares_err(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
	case ARES_ENONAME:
		return -ENOENT;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_ENOMEM:
		return -ENOMEM;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

/* ------------------------------------------------------------ c-ares on libuv */

static void dns_destroy(struct tp_dns *dns);
static void dns_timer_h(uv_timer_t *t);

/* c-ares keeps its own deadlines; one loop timer follows the nearest. */
static void dns_timer_update(struct tp_dns *dns)
{
	struct timeval tv, *t;

	if (dns->destroyed)
		return;
	t = ares_timeout(dns->ch, NULL, &tv);
	if (!t) {
		uv_timer_stop(&dns->timer);
		return;
	}
	uv_timer_start(&dns->timer, dns_timer_h,
	               (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_usec / 1000 + 1, 0);
}

static void dns_enter(struct tp_dns *dns)
{
	dns->depth++;
}

static void dns_leave(struct tp_dns *dns)
{
	if (--dns->depth == 0 && dns->destroy_late)
		dns_destroy(dns);
}

static void dns_timer_h(uv_timer_t *t)
{
	struct tp_dns *dns = t->data;

	dns_enter(dns);
	ares_process_fd(dns->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_timer_update(dns);
	dns_leave(dns);
}

static void dns_poll_h(uv_poll_t *p, int status, int events)
{
	struct dns_poll *dp = p->data;
	struct tp_dns *dns = dp->tp->dns;
	ares_socket_t fd = dp->fd;

	if (!dns || dns->destroyed)
		return;
	dns_enter(dns);
	/* On a poll error let c-ares read: it sees the socket error and retries elsewhere. */
	ares_process_fd(dns->ch, (status < 0 || (events & UV_READABLE)) ? fd : ARES_SOCKET_BAD,
	                (events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD);
	dns_timer_update(dns);
	dns_leave(dns);
}

static void dns_poll_closed_h(uv_handle_t *h)
{
	struct dns_poll *dp = h->data;
	struct tp *tp = dp->tp;

	free(dp);
	tp_handle_closed(tp);
}

static void dns_poll_drop(struct tp_dns *dns, struct dns_poll **pp)
{
	struct dns_poll *dp = *pp;

	*pp = dp->next;
	uv_poll_stop(&dp->poll);
	uv_close((uv_handle_t *)&dp->poll, dns_poll_closed_h);
}

/* c-ares opens, watches and closes its sockets through here. */
static void dns_sock_state_h(void *data, ares_socket_t fd, int readable, int writable)
{
	struct tp_dns *dns = data;
	struct tp *tp = dns->tp;
	struct dns_poll **pp, *dp;

	for (pp = &dns->polls; *pp && (*pp)->fd != fd; pp = &(*pp)->next)
		;
	if (!readable && !writable) {
		if (*pp)
			dns_poll_drop(dns, pp);
		return;
	}
	dp = *pp;
	if (!dp) {
		dp = calloc(1, sizeof(*dp));
		if (!dp)
			return; /* the query times out instead */
		if (uv_poll_init_socket(tp->loop, &dp->poll, fd)) {
			free(dp);
			return;
		}
		tp->nhandles++;
		dp->tp = tp;
		dp->fd = fd;
		dp->poll.data = dp;
		dp->next = dns->polls;
		dns->polls = dp;
	}
	uv_poll_start(&dp->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
	              dns_poll_h);
}

static void dns_timer_closed_h(uv_handle_t *h)
{
	struct tp_dns *dns = h->data;
	struct tp *tp = dns->tp;

	free(dns);
	tp_handle_closed(tp);
}

static void dns_destroy(struct tp_dns *dns)
{
	struct tp *tp = dns->tp;

	if (dns->destroyed)
		return;
	dns->destroyed = true;
	dns->destroy_late = false;
	/* Every query still open calls back with ARES_EDESTRUCTION, freeing its resolution. */
	dns->depth++;
	ares_destroy(dns->ch);
	dns->depth--;
	ares_library_cleanup();
	while (dns->polls)
		dns_poll_drop(dns, &dns->polls);
	uv_close((uv_handle_t *)&dns->timer, dns_timer_closed_h);
	tp->dns = NULL;
}

void tp_dns_close(struct tp *tp)
{
	struct tp_dns *dns = tp->dns;

	if (!dns)
		return;
	if (dns->depth > 0) {
		dns->destroy_late = true; /* never destroy a channel from inside its own call */
		return;
	}
	dns_destroy(dns);
}

static int dns_open(struct tp *tp)
{
	struct ares_options o = {0};
	struct tp_dns *dns;
	int rc;

	if (tp->dns)
		return 0;
	dns = calloc(1, sizeof(*dns));
	if (!dns)
		return -ENOMEM;
	dns->tp = tp;
	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		free(dns);
		return ares_err(rc);
	}
	o.sock_state_cb = dns_sock_state_h;
	o.sock_state_cb_data = dns;
	o.lookups = (char *)"fb"; /* /etc/hosts first, then DNS */
	o.timeout = DNS_TIMEOUT_MS;
	o.tries = DNS_TRIES;
	rc = ares_init_options(&dns->ch, &o,
	                       ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS |
	                           ARES_OPT_TRIES);
	if (rc == ARES_SUCCESS && tp->conf.dns_servers)
		rc = ares_set_servers_ports_csv(dns->ch, tp->conf.dns_servers);
	if (rc != ARES_SUCCESS) {
		log_error(MOD, "cannot set up the resolver: %s", ares_strerror(rc));
		if (dns->ch)
			ares_destroy(dns->ch);
		ares_library_cleanup();
		free(dns);
		return rc == ARES_EBADSTR ? -EINVAL : ares_err(rc);
	}
	uv_timer_init(tp->loop, &dns->timer);
	dns->timer.data = dns;
	tp->nhandles++;
	tp->dns = dns;
	return 0;
}

/* ------------------------------------------------------------ resolutions */

static void res_free(struct tp_res *r)
{
	struct tp *tp = r->tp;

	if (r->prev)
		r->prev->next = r->next;
	else if (tp->res == r)
		tp->res = r->next;
	if (r->next)
		r->next->prev = r->prev;
	for (size_t i = 0; i < r->nhosts; i++)
		free(r->hosts[i]);
	free(r);
}

static void res_finish(struct tp_res *r)
{
	struct tp_target t[RES_MAX_SRV * RES_MAX_HOSTS];
	tp_resolve_h *h = r->h;
	void *arg = r->arg;
	int err = r->err ? r->err : -ENOENT;
	size_t n = 0;

	for (size_t i = 0; i < r->nhosts; i++) {
		for (size_t j = 0; j < r->hosts[i]->n && n < ARRAY_SIZE(t); j++)
			t[n++] = r->hosts[i]->t[j];
	}
	if (r->tp->closing)
		h = NULL;
	res_free(r);
	if (h)
		h(arg, n ? 0 : err, n ? t : NULL, n);
}

/* One query (or a phase's issuing) ended: the last one moves to the next phase. */
static void res_step(struct tp_res *r)
{
	if (--r->pending > 0)
		return;
	if (r->tp->closing || !r->phase_done)
		res_finish(r);
	else
		r->phase_done(r);
}

static void res_fail(struct tp_res *r, int status)
{
	int e = ares_err(status);

	if (e && e != -ENOENT)
		r->err = e;
	else if (e && !r->err)
		r->err = e;
}

static void addr_h(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct res_host *rh = arg;

	if (status != ARES_SUCCESS)
		res_fail(rh->res, status);
	for (struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n && rh->n < RES_MAX_ADDRS;
	     n = n->ai_next) {
		struct tp_target *t = &rh->t[rh->n];

		if ((n->ai_family != AF_INET && n->ai_family != AF_INET6) ||
		    n->ai_addrlen > sizeof(t->addr))
			continue;
		memset(t, 0, sizeof(*t));
		t->proto = rh->proto;
		memcpy(&t->addr, n->ai_addr, n->ai_addrlen);
		tp_addr_set_port(&t->addr, rh->port);
		rh->n++;
	}
	if (ai)
		ares_freeaddrinfo(ai);
	res_step(rh->res);
}

static void res_hosts_done(struct tp_res *r)
{
	r->phase_done = NULL;
	res_finish(r);
}

/* Phase 3: A/AAAA of every host, in parallel; the order is kept by the slots. */
static void res_hosts_start(struct tp_res *r)
{
	struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC};
	struct tp_dns *dns = r->tp->dns;

	r->phase_done = res_hosts_done;
	r->pending = 1;
	dns_enter(dns);
	for (size_t i = 0; i < r->nhosts && !dns->destroyed; i++) {
		r->pending++;
		ares_getaddrinfo(dns->ch, r->hosts[i]->name, NULL, &hints, addr_h, r->hosts[i]);
	}
	dns_timer_update(dns);
	res_step(r);
	dns_leave(dns);
}

static int res_host_add(struct tp_res *r, enum tp_proto proto, const char *name, uint16_t port,
                        struct res_host **out)
{
	struct res_host *h;

	if (r->nhosts >= ARRAY_SIZE(r->hosts))
		return -E2BIG;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->res = r;
	h->proto = proto;
	h->port = port;
	snprintf(h->name, sizeof(h->name), "%s", name);
	r->hosts[r->nhosts++] = h;
	if (out)
		*out = h;
	return 0;
}

static uint16_t default_port(enum tp_proto p)
{
	return p == TP_TLS ? 5061 : 5060;
}

static enum tp_proto default_proto(const struct tp_res *r)
{
	return r->has_proto ? r->proto : r->sips ? TP_TLS : TP_UDP;
}

/* RFC 2782: by priority, and by weighted random choice within a priority. */
static size_t srv_order(struct ares_srv_reply *list, struct ares_srv_reply **out, size_t cap)
{
	struct ares_srv_reply *all[64];
	size_t n = 0, k = 0;

	for (struct ares_srv_reply *s = list; s && n < ARRAY_SIZE(all); s = s->next)
		all[n++] = s;
	while (n && k < cap) {
		unsigned prio = 65536, total = 0;
		size_t pick = 0;
		uint64_t x;

		for (size_t i = 0; i < n; i++)
			prio = all[i]->priority < prio ? all[i]->priority : prio;
		for (size_t i = 0; i < n; i++)
			total += all[i]->priority == prio ? all[i]->weight : 0;
		x = total ? rand_u64() % (total + 1) : 0;
		for (size_t i = 0, sum = 0; i < n; i++) {
			if (all[i]->priority != prio)
				continue;
			sum += all[i]->weight;
			pick = i;
			if (sum >= x)
				break;
		}
		out[k++] = all[pick];
		all[pick] = all[--n];
	}
	return k;
}

static void srv_h(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct res_srv *s = arg;
	struct ares_srv_reply *list = NULL, *ord[RES_MAX_HOSTS];
	size_t n;

	if (status == ARES_SUCCESS)
		status = ares_parse_srv_reply(abuf, alen, &list);
	if (status != ARES_SUCCESS) {
		res_fail(s->res, status);
	} else {
		n = srv_order(list, ord, ARRAY_SIZE(ord));
		for (size_t i = 0; i < n; i++) {
			/* "." means the service is decidedly not available there. */
			if (!ord[i]->host || !ord[i]->host[0] || strcmp(ord[i]->host, ".") == 0)
				continue;
			if (res_host_add(s->res, s->proto, ord[i]->host, ord[i]->port,
			                 &s->hosts[s->nhosts]) == 0)
				s->nhosts++;
		}
	}
	if (list)
		ares_free_data(list);
	res_step(s->res);
}

static void res_srv_done(struct tp_res *r)
{
	/* The hosts went into r->hosts as answers came; put them back in SRV order. */
	size_t k = 0;

	for (size_t i = 0; i < r->nsrv; i++) {
		for (size_t j = 0; j < r->srv[i].nhosts; j++)
			r->hosts[k++] = r->srv[i].hosts[j];
	}
	if (!r->nhosts) {
		/* RFC 3263 4.2: no SRV, so the A/AAAA of the domain on the default port. */
		enum tp_proto p = default_proto(r);

		if (r->nsrv == 1)
			p = r->srv[0].proto;
		if (res_host_add(r, p, r->host, default_port(p), NULL)) {
			r->err = -ENOMEM;
			res_finish(r);
			return;
		}
	}
	res_hosts_start(r);
}

static const char *srv_prefix(enum tp_proto p)
{
	return p == TP_UDP ? "_sip._udp." : p == TP_TCP ? "_sip._tcp." : "_sips._tcp.";
}

static void res_srv_add(struct tp_res *r, enum tp_proto p, const char *name, bool prefix)
{
	struct res_srv *s;

	if (r->nsrv >= RES_MAX_SRV)
		return;
	s = &r->srv[r->nsrv++];
	s->res = r;
	s->proto = p;
	snprintf(s->name, sizeof(s->name), "%s%s", prefix ? srv_prefix(p) : "", name);
}

/* Phase 2: the SRV names, in parallel. */
static void res_srv_start(struct tp_res *r)
{
	struct tp_dns *dns = r->tp->dns;

	r->phase_done = res_srv_done;
	r->pending = 1;
	dns_enter(dns);
	for (size_t i = 0; i < r->nsrv && !dns->destroyed; i++) {
		r->pending++;
		ares_query(dns->ch, r->srv[i].name, DNS_C_IN, DNS_T_SRV, srv_h, &r->srv[i]);
	}
	dns_timer_update(dns);
	res_step(r);
	dns_leave(dns);
}

static int naptr_proto(const struct ares_naptr_reply *n, bool sips, enum tp_proto *p)
{
	const char *svc = (const char *)n->service;

	if (!n->flags || strcasecmp((const char *)n->flags, "s") || !svc || !n->replacement ||
	    !n->replacement[0])
		return -ENOENT;
	/* A sip: URI is not upgraded to TLS while the edge cannot send TLS. */
	if (sips && strcasecmp(svc, "SIPS+D2T") == 0)
		*p = TP_TLS;
	else if (!sips && strcasecmp(svc, "SIP+D2T") == 0)
		*p = TP_TCP;
	else if (!sips && strcasecmp(svc, "SIP+D2U") == 0)
		*p = TP_UDP;
	else
		return -ENOENT;
	return 0;
}

static int naptr_cmp(const void *a, const void *b)
{
	const struct ares_naptr_reply *x = *(const struct ares_naptr_reply *const *)a;
	const struct ares_naptr_reply *y = *(const struct ares_naptr_reply *const *)b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->preference < y->preference ? -1 : x->preference > y->preference;
}

static void naptr_h(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct tp_res *r = arg;
	struct ares_naptr_reply *list = NULL, *v[16];
	enum tp_proto p;
	size_t n = 0;

	if (status == ARES_SUCCESS)
		status = ares_parse_naptr_reply(abuf, alen, &list);
	for (struct ares_naptr_reply *x = list; x && n < ARRAY_SIZE(v); x = x->next)
		v[n++] = x;
	qsort(v, n, sizeof(v[0]), naptr_cmp);
	for (size_t i = 0; i < n; i++) {
		if (naptr_proto(v[i], r->sips, &p) == 0)
			res_srv_add(r, p, v[i]->replacement, false);
	}
	if (list)
		ares_free_data(list);
	if (!r->nsrv) {
		/* RFC 3263 4.1: no usable NAPTR, so SRV for the transports we speak. */
		if (r->sips) {
			res_srv_add(r, TP_TLS, r->host, true);
		} else {
			res_srv_add(r, TP_UDP, r->host, true);
			res_srv_add(r, TP_TCP, r->host, true);
		}
	}
	res_step(r);
}

static void res_naptr_start(struct tp_res *r)
{
	struct tp_dns *dns = r->tp->dns;

	r->phase_done = res_srv_start;
	r->pending = 1;
	dns_enter(dns);
	r->pending++;
	ares_query(dns->ch, r->host, DNS_C_IN, DNS_T_NAPTR, naptr_h, r);
	dns_timer_update(dns);
	res_step(r);
	dns_leave(dns);
}

void tp_res_forget(struct tp *tp, void *arg)
{
	for (struct tp_res *r = tp->res; r; r = r->next) {
		if (r->arg == arg)
			r->h = NULL;
	}
}

/* ------------------------------------------------------------ entry */

int tp_resolve(struct tp *tp, const struct sip_uri *uri, tp_resolve_h *h, void *arg)
{
	struct slice host, tparam;
	bool sips, has_proto = false;
	enum tp_proto proto = TP_UDP;
	struct tp_target t = {0};
	struct tp_res *r;
	uint16_t port;
	int rc;

	if (!tp || !uri || !h)
		return -EINVAL;
	if (tp->closing)
		return -ESHUTDOWN;
	if (uri->scheme != SIP_SCHEME_SIP && uri->scheme != SIP_SCHEME_SIPS)
		return -EPROTONOSUPPORT;
	sips = uri->scheme == SIP_SCHEME_SIPS;
	if (sip_param_get(uri->params, "transport", &tparam) == 0) {
		if (tp_proto_from(tparam, &proto))
			return -EPROTONOSUPPORT; /* sctp, ws...: not spoken here */
		if (sips && proto == TP_UDP)
			return -EPROTONOSUPPORT;
		if (sips)
			proto = TP_TLS; /* sips over TCP is TLS */
		has_proto = true;
	}
	host = uri->host;
	/* RFC 3263 4: maddr, when present, is the host to resolve. */
	if (sip_param_get(uri->params, "maddr", &tparam) == 0 && tparam.len)
		host = tparam;
	if (!host.len || host.len >= sizeof(r->host))
		return -EINVAL;
	port = uri->port;

	if (!has_proto)
		proto = sips ? TP_TLS : TP_UDP;
	if (tp_addr_from_host(host, port ? port : default_port(proto), &t.addr) == 0) {
		/* 4.1/4.2: a numeric host needs no DNS at all. */
		t.proto = proto;
		h(arg, 0, &t, 1);
		return 0;
	}
	rc = dns_open(tp);
	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->tp = tp;
	r->h = h;
	r->arg = arg;
	r->sips = sips;
	r->has_proto = has_proto;
	r->proto = proto;
	r->port = port;
	memcpy(r->host, host.p, host.len);
	r->next = tp->res;
	if (tp->res)
		tp->res->prev = r;
	tp->res = r;
	if (port) {
		/* 4.2: an explicit port means A/AAAA only. */
		rc = res_host_add(r, proto, r->host, port, NULL);
		if (rc) {
			res_free(r);
			return rc;
		}
		res_hosts_start(r);
	} else if (has_proto) {
		res_srv_add(r, proto, r->host, true);
		res_srv_start(r);
	} else {
		res_naptr_start(r);
	}
	return 0;
}
