/* IP access control lists: entry parsing, compilation to merged sorted ranges, bisection. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/acl.h"

struct u128 {
	uint64_t hi, lo;
};

struct range4 {
	uint32_t lo, hi; /* host byte order, inclusive */
};

struct range6 {
	struct u128 lo, hi; /* inclusive */
};

struct acl {
	uint32_t n4, n6;
	struct range4 *v4;
	struct range6 *v6;
	/* v6 then v4 follow the header in the same allocation */
};

/* ----------------------------------------------------------- entries */

static int entry_fill(struct acl_entry *e, const char *ip, long prefix)
{
	unsigned max, full;

	memset(e, 0, sizeof(*e));
	if (inet_pton(AF_INET, ip, e->addr) == 1) {
		e->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, ip, e->addr) == 1) {
		e->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	if (prefix < 0)
		prefix = max;
	if ((unsigned long)prefix > max)
		return -EINVAL;
	e->prefix = (uint8_t)prefix;
	/* Clear host bits so equal networks compare equal however they were written. */
	full = (unsigned)prefix / 8;
	if (full < max / 8) {
		unsigned rem = (unsigned)prefix % 8;

		e->addr[full] &= (uint8_t)(0xff00u >> rem);
		memset(e->addr + full + 1, 0, max / 8 - full - 1);
	}
	return 0;
}

int acl_entry_set(struct acl_entry *e, struct slice addr, int prefix)
{
	char ip[INET6_ADDRSTRLEN];

	if (addr.len == 0 || addr.len >= sizeof(ip) || prefix < -1)
		return -EINVAL;
	memcpy(ip, addr.p, addr.len);
	ip[addr.len] = '\0';
	return entry_fill(e, ip, prefix);
}

int acl_entry_parse(struct acl_entry *e, struct slice text)
{
	const char *slash = slice_chr(text, '/');
	struct slice ip = text;
	uint64_t prefix;

	if (!slash)
		return acl_entry_set(e, ip, -1);
	ip.len = (size_t)(slash - text.p);
	/* slice_to_u64 takes digits only: no sign, no spaces, no "0x". */
	if (slice_to_u64((struct slice){slash + 1, (size_t)(slice_end(text) - slash - 1)}, 128,
	                 &prefix))
		return -EINVAL;
	return acl_entry_set(e, ip, (int)prefix);
}

int acl_entry_format(const struct acl_entry *e, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if ((e->family != AF_INET && e->family != AF_INET6) ||
	    !inet_ntop(e->family, e->addr, ip, sizeof(ip)))
		return -EINVAL;
	n = snprintf(buf, cap, "%s/%u", ip, e->prefix);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

/* ------------------------------------------------------------ ranges */

static int u128_cmp(struct u128 a, struct u128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

static struct u128 u128_from(const uint8_t b[16])
{
	struct u128 v = {0, 0};

	for (int i = 0; i < 8; i++) {
		v.hi = v.hi << 8 | b[i];
		v.lo = v.lo << 8 | b[8 + i];
	}
	return v;
}

static bool u128_is_max(struct u128 a)
{
	return a.hi == UINT64_MAX && a.lo == UINT64_MAX;
}

static struct u128 u128_inc(struct u128 a)
{
	a.lo++;
	if (a.lo == 0)
		a.hi++;
	return a;
}

/* Host mask: the low (128 - prefix) bits set. */
static struct u128 u128_hostmask(unsigned prefix)
{
	unsigned host = 128 - prefix;
	struct u128 m = {0, 0};

	if (host >= 64) {
		m.lo = UINT64_MAX;
		m.hi = host == 64 ? 0 : UINT64_MAX >> (128 - host);
	} else if (host > 0) {
		m.lo = UINT64_MAX >> (64 - host);
	}
	return m;
}

static struct range4 range4_of(const struct acl_entry *e)
{
	uint32_t a = (uint32_t)e->addr[0] << 24 | (uint32_t)e->addr[1] << 16 |
	             (uint32_t)e->addr[2] << 8 | e->addr[3];
	/* Shifting a 32-bit value by 32 is undefined, hence the 64-bit shift. */
	uint32_t host = (uint32_t)(0xffffffffull >> e->prefix);

	return (struct range4){a & ~host, (a & ~host) | host};
}

static struct range6 range6_of(const struct acl_entry *e)
{
	struct u128 a = u128_from(e->addr), m = u128_hostmask(e->prefix);
	struct u128 lo = {a.hi & ~m.hi, a.lo & ~m.lo};

	return (struct range6){lo, {lo.hi | m.hi, lo.lo | m.lo}};
}

static int range4_cmp(const void *a, const void *b)
{
	const struct range4 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int range6_cmp(const void *a, const void *b)
{
	const struct range6 *x = a, *y = b;

	return u128_cmp(x->lo, y->lo);
}

/* Sorts and merges overlapping or touching ranges in place; returns the new count. */
static size_t range4_merge(struct range4 *r, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), range4_cmp);
	for (size_t i = 1; i < n; i++) {
		struct range4 *cur = &r[out];

		if (cur->hi == UINT32_MAX || r[i].lo <= cur->hi + 1) {
			if (r[i].hi > cur->hi)
				cur->hi = r[i].hi;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

static size_t range6_merge(struct range6 *r, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), range6_cmp);
	for (size_t i = 1; i < n; i++) {
		struct range6 *cur = &r[out];

		if (u128_is_max(cur->hi) || u128_cmp(r[i].lo, u128_inc(cur->hi)) <= 0) {
			if (u128_cmp(r[i].hi, cur->hi) > 0)
				cur->hi = r[i].hi;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

/* Takes merged arrays and lays them out in one mem object. */
static int acl_alloc(struct acl **aclp, const struct range4 *v4, size_t n4, const struct range6 *v6,
                     size_t n6)
{
	struct acl *acl;

	if (n4 > ACL_MAX_ENTRIES || n6 > ACL_MAX_ENTRIES)
		return -E2BIG;
	acl = mem_alloc(sizeof(*acl) + n6 * sizeof(*v6) + n4 * sizeof(*v4), NULL);
	if (!acl)
		return -ENOMEM;
	acl->n4 = (uint32_t)n4;
	acl->n6 = (uint32_t)n6;
	acl->v6 = (struct range6 *)(void *)(acl + 1);
	acl->v4 = (struct range4 *)(void *)(acl->v6 + n6);
	if (n6)
		memcpy(acl->v6, v6, n6 * sizeof(*v6));
	if (n4)
		memcpy(acl->v4, v4, n4 * sizeof(*v4));
	*aclp = acl;
	return 0;
}

static int acl_from(struct acl **aclp, struct range4 *v4, size_t n4, struct range6 *v6, size_t n6)
{
	n4 = range4_merge(v4, n4);
	n6 = range6_merge(v6, n6);
	return acl_alloc(aclp, v4, n4, v6, n6);
}

int acl_build(struct acl **aclp, const struct acl_entry *entries, size_t n)
{
	struct range4 *v4 = NULL;
	struct range6 *v6 = NULL;
	size_t n4 = 0, n6 = 0;
	int err;

	if (n > ACL_MAX_ENTRIES)
		return -E2BIG;
	if (n) {
		v4 = malloc(n * sizeof(*v4));
		v6 = malloc(n * sizeof(*v6));
		if (!v4 || !v6) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct acl_entry *e = &entries[i];

		if (e->family == AF_INET && e->prefix <= 32) {
			v4[n4++] = range4_of(e);
		} else if (e->family == AF_INET6 && e->prefix <= 128) {
			v6[n6++] = range6_of(e);
		} else {
			err = -EINVAL;
			goto out;
		}
	}
	err = acl_from(aclp, v4, n4, v6, n6);
out:
	free(v4);
	free(v6);
	return err;
}

int acl_merge(struct acl **aclp, const struct acl *const *acls, size_t n)
{
	struct range4 *v4 = NULL;
	struct range6 *v6 = NULL;
	size_t n4 = 0, n6 = 0;
	int err;

	for (size_t i = 0; i < n; i++) {
		if (acls[i]) {
			n4 += acls[i]->n4;
			n6 += acls[i]->n6;
		}
	}
	/* Merging never grows the count, but the inputs together might be too many. */
	if (n4 > ACL_MAX_ENTRIES * 4 || n6 > ACL_MAX_ENTRIES * 4)
		return -E2BIG;
	v4 = malloc((n4 ? n4 : 1) * sizeof(*v4));
	v6 = malloc((n6 ? n6 : 1) * sizeof(*v6));
	if (!v4 || !v6) {
		err = -ENOMEM;
		goto out;
	}
	n4 = n6 = 0;
	for (size_t i = 0; i < n; i++) {
		if (!acls[i])
			continue;
		if (acls[i]->n4)
			memcpy(v4 + n4, acls[i]->v4, acls[i]->n4 * sizeof(*v4));
		if (acls[i]->n6)
			memcpy(v6 + n6, acls[i]->v6, acls[i]->n6 * sizeof(*v6));
		n4 += acls[i]->n4;
		n6 += acls[i]->n6;
	}
	err = acl_from(aclp, v4, n4, v6, n6);
out:
	free(v4);
	free(v6);
	return err;
}

/* --------------------------------------------------------- matching */

static bool match4(const struct acl *acl, uint32_t a)
{
	size_t lo = 0, hi = acl->n4;

	/* Find the last range starting at or below a; ranges are disjoint. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (acl->v4[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && a <= acl->v4[lo - 1].hi;
}

static bool match6(const struct acl *acl, struct u128 a)
{
	size_t lo = 0, hi = acl->n6;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (u128_cmp(acl->v6[mid].lo, a) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && u128_cmp(a, acl->v6[lo - 1].hi) <= 0;
}

bool acl_match(const struct acl *acl, const struct sockaddr *sa)
{
	if (!acl || !sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		return match4(acl, ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		const uint8_t *b = in6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			return match4(acl, (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
			                       (uint32_t)b[14] << 8 | b[15]);
		return match6(acl, u128_from(b));
	}
	return false;
}

size_t acl_count(const struct acl *acl, sa_family_t family)
{
	if (!acl)
		return 0;
	return family == AF_INET ? acl->n4 : family == AF_INET6 ? acl->n6 : 0;
}
