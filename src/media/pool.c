/* Media port pools: named, several addresses, even/odd pairs, random start, quarantine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rand.h"
#include "ixedge/prom.h"
#include "media/media_priv.h"

#define PAIR_BOUND UINT64_MAX

struct media_pool *media_pool_find(struct media *m, const char *name)
{
	for (struct media_pool *p = m->pools; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static void pool_destroy(struct media_pool *p)
{
	for (size_t i = 0; p->addrs && i < p->naddrs; i++)
		free(p->addrs[i].free_at);
	free(p->addrs);
	free(p->name);
	free(p);
}

static int pool_addr_init(struct media_pool_addr *pa, const struct sockaddr_storage *ss,
                          uint32_t npairs)
{
	if (ss->ss_family == AF_INET)
		memcpy(&pa->addr.u.in, ss, sizeof(pa->addr.u.in));
	else if (ss->ss_family == AF_INET6)
		memcpy(&pa->addr.u.in6, ss, sizeof(pa->addr.u.in6));
	else
		return -EINVAL;
	pa->free_at = calloc(npairs, sizeof(*pa->free_at));
	return pa->free_at ? 0 : -ENOMEM;
}

int media_pool_add(struct media *m, const char *name, const struct sockaddr_storage *addrs,
                   size_t naddrs, uint16_t port_min, uint16_t port_max)
{
	uint32_t first = (uint32_t)port_min + (port_min & 1u);
	struct media_pool *p;
	int err = 0;

	if (!name || !*name || !addrs || !naddrs || port_min == 0 || first + 1 > port_max)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->first_port = (uint16_t)first;
	p->npairs = ((uint32_t)port_max - first + 1) / 2;
	p->name = strdup(name);
	p->addrs = calloc(naddrs, sizeof(*p->addrs));
	if (!p->name || !p->addrs)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < naddrs; i++, p->naddrs++)
		err = pool_addr_init(&p->addrs[i], &addrs[i], p->npairs);
	pthread_mutex_lock(&m->lock);
	if (!err && media_pool_find(m, name))
		err = -EEXIST;
	if (!err) {
		p->next = m->pools;
		m->pools = p;
	}
	pthread_mutex_unlock(&m->lock);
	if (err)
		pool_destroy(p);
	return err;
}

static int sock_bind(const struct media_addr *base, uint16_t port, int *fdp)
{
	struct media_addr a = *base;
	int fd, one = 1;

	if (a.u.sa.sa_family == AF_INET)
		a.u.in.sin_port = htons(port);
	else
		a.u.in6.sin6_port = htons(port);
	fd = socket(a.u.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A v6 pool address serves v6 only; v4 comes from its own pool address. */
	if (a.u.sa.sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
		close(fd);
		return -errno;
	}
	if (bind(fd, &a.u.sa, media_addr_len(&a)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

/* Binds RTP (and RTCP) of one pair; -EADDRINUSE when another socket has one of them. */
static int pair_bind(const struct media_pool *p, const struct media_pool_addr *pa, uint32_t pair,
                     bool mux, int fds[2])
{
	uint16_t port = (uint16_t)(p->first_port + 2 * pair);
	int err;

	fds[0] = fds[1] = -1;
	err = sock_bind(&pa->addr, port, &fds[0]);
	if (err || mux)
		return err;
	err = sock_bind(&pa->addr, (uint16_t)(port + 1), &fds[1]);
	if (err) {
		close(fds[0]);
		fds[0] = -1;
	}
	return err;
}

/* Scans the address's pairs from a random start; -EAGAIN when none could be bound. */
static int addr_take(struct media_pool *p, struct media_pool_addr *pa, bool mux, int fds[2],
                     unsigned *pair)
{
	uint32_t start = (uint32_t)(rand_u64() % p->npairs);
	uint64_t now = media_now_ms();
	int err;

	for (uint32_t k = 0; k < p->npairs; k++) {
		uint32_t i = (start + k) % p->npairs;

		if (pa->free_at[i] == PAIR_BOUND || pa->free_at[i] > now)
			continue;
		err = pair_bind(p, pa, i, mux, fds);
		if (err == -EADDRINUSE || err == -EACCES)
			continue; /* another process holds it: try the next pair */
		if (err)
			return err;
		pa->free_at[i] = PAIR_BOUND;
		pa->pairs_used++;
		p->ports_in_use += mux ? 1 : 2;
		*pair = i;
		return 0;
	}
	return -EAGAIN;
}

int media_pool_take(struct media *m, struct media_pool *p, int af, bool mux, int fds[2],
                    unsigned *addr_idx, unsigned *pair)
{
	bool family_seen = false;
	int err = -EAGAIN;

	/* Round-robin over the addresses of the family; a full one passes to the next. */
	for (size_t k = 0; k < p->naddrs; k++) {
		size_t i = (p->next_addr + k) % p->naddrs;
		struct media_pool_addr *pa = &p->addrs[i];

		if (af != AF_UNSPEC && pa->addr.u.sa.sa_family != af)
			continue;
		family_seen = true;
		err = addr_take(p, pa, mux, fds, pair);
		if (err == -EAGAIN)
			continue;
		if (err)
			return err;
		p->next_addr = i + 1;
		*addr_idx = (unsigned)i;
		return 0;
	}
	if (!family_seen)
		return -ENOENT;
	p->exhausted++;
	return -EAGAIN;
}

void media_pool_put(struct media *m, struct media_pool *p, unsigned addr_idx, unsigned pair,
                    bool mux)
{
	struct media_pool_addr *pa = &p->addrs[addr_idx];

	/* Late packets of the old call must not reach the next one on the same port. */
	pa->free_at[pair] = m->conf.quarantine_ms ? media_now_ms() + m->conf.quarantine_ms : 0;
	pa->pairs_used--;
	p->ports_in_use -= mux ? 1 : 2;
}

void media_pools_free(struct media *m)
{
	while (m->pools) {
		struct media_pool *p = m->pools;

		m->pools = p->next;
		pool_destroy(p);
	}
}

int media_pools_metrics(struct media *m, struct buf *out)
{
	int err = 0;

	err =
	    prom_header(out, "ixedge_media_ports_in_use", "gauge", "Media ports bound, per pool.");
	for (struct media_pool *p = m->pools; !err && p; p = p->next)
		err = prom_value(out, "ixedge_media_ports_in_use", PROM_LABELS({"pool", p->name}),
		                 (double)p->ports_in_use);
	if (!err)
		err = prom_header(out, "ixedge_media_ports_total", "gauge",
		                  "Media ports in the range, per pool (all addresses).");
	for (struct media_pool *p = m->pools; !err && p; p = p->next)
		err = prom_value(out, "ixedge_media_ports_total", PROM_LABELS({"pool", p->name}),
		                 (double)p->npairs * 2 * (double)p->naddrs);
	if (!err)
		err = prom_header(out, "ixedge_media_exhausted_total", "counter",
		                  "Endpoint allocations refused because the pool was full.");
	for (struct media_pool *p = m->pools; !err && p; p = p->next)
		err = prom_value(out, "ixedge_media_exhausted_total",
		                 PROM_LABELS({"pool", p->name}), (double)p->exhausted);
	return err;
}
