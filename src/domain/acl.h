/* IP access control lists: entries (address + CIDR prefix) compiled into sorted ranges. */
#ifndef IXEDGE_DOMAIN_ACL_H
#define IXEDGE_DOMAIN_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ixedge/base.h"

/*
 * A domain's inbound calls are allowed only from the addresses of the IP
 * access control lists mapped to it.  The store keeps entries as an address
 * plus a CIDR prefix length; the snapshot compiles each list (or the union
 * of all lists one domain maps, acl_merge()) into a struct acl: disjoint,
 * sorted address ranges searched by bisection, so a check costs
 * O(log entries) whatever the number of lists.
 *
 * IPv4 entries take prefixes 0-32.  IPv6 entries (0-128) are accepted and
 * match IPv6 sources, so the seam is there when the edge listens on IPv6;
 * an IPv4-mapped source (::ffff:a.b.c.d from a dual-stack socket) is
 * matched against the IPv4 ranges.  No entry of one family ever matches a
 * source of the other.
 *
 * Threading: a struct acl is immutable once built, so any thread may match
 * against it; it is a mem object (mem_ref / mem_deref), which lets a config
 * snapshot share it between domains.
 */

struct acl_entry {
	sa_family_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix;     /* 0-32 or 0-128 */
	uint8_t addr[16];   /* network byte order; IPv4 in the first 4 bytes; host bits zero */
};

/*
 * "10.0.0.0/8", "192.0.2.7" (a host: /32 or /128) or "2001:db8::/32".
 * Host bits below the prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8), the
 * way a router reads a route.  -EINVAL for anything else (bad address,
 * prefix out of range or not plain decimal, spaces).
 */
int acl_entry_parse(struct acl_entry *e, struct slice text);

/* The store's two columns: an address and a prefix length (-1: the whole address). */
int acl_entry_set(struct acl_entry *e, struct slice addr, int prefix);

/* "10.0.0.0/8" into buf (NUL-terminated); needs ACL_ENTRY_STRLEN bytes; 0 or -ENOSPC. */
#define ACL_ENTRY_STRLEN 50
int acl_entry_format(const struct acl_entry *e, char *buf, size_t cap);

struct acl;

/* At most this many entries (or merged ranges) in one compiled list. */
#define ACL_MAX_ENTRIES 65536u

/*
 * Compiles n entries (n may be 0: an empty list matches nothing).
 * Overlapping and adjacent ranges are merged.  0 and *aclp set (a mem
 * object), -EINVAL for an entry of another family or prefix out of range,
 * -E2BIG above ACL_MAX_ENTRIES, -ENOMEM.
 */
int acl_build(struct acl **aclp, const struct acl_entry *entries, size_t n);

/* The union of n compiled lists (NULL elements are skipped), as one list. */
int acl_merge(struct acl **aclp, const struct acl *const *acls, size_t n);

/*
 * Whether sa (AF_INET, or AF_INET6 incl. IPv4-mapped) falls in a range.
 * A NULL list, a NULL address or another family never matches: no mapped
 * list means no caller is allowed.
 */
bool acl_match(const struct acl *acl, const struct sockaddr *sa);

/* Ranges after merging, per family (for logs, tests and metrics). */
size_t acl_count(const struct acl *acl, sa_family_t family);

#endif
