/* Unit tests: IP access control lists (parsing, CIDR edges, merging lists, IPv6, bisection). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "domain/acl.h"

static struct sockaddr_storage sa_of(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(5060);
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return ss;
}

static bool match(const struct acl *acl, const char *ip)
{
	struct sockaddr_storage ss = sa_of(ip);

	return acl_match(acl, (const struct sockaddr *)&ss);
}

/* Compiles a list from text entries, failing the test on any bad one. */
static struct acl *acl_of(const char *const *texts, size_t n)
{
	struct acl_entry e[64];
	struct acl *acl = NULL;

	assert_true(n <= ARRAY_SIZE(e));
	for (size_t i = 0; i < n; i++) {
		if (acl_entry_parse(&e[i], slice_cstr(texts[i])))
			fail_msg("entry '%s' refused", texts[i]);
	}
	assert_int_equal(acl_build(&acl, e, n), 0);
	return acl;
}

static void test_entry_parse(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} v[] = {
	    {"10.0.0.0/8", "10.0.0.0/8"},
	    {"192.0.2.7", "192.0.2.7/32"},
	    {"10.1.2.3/8", "10.0.0.0/8"}, /* host bits cleared */
	    {"172.31.255.255/12", "172.16.0.0/12"},
	    {"192.0.2.77/27", "192.0.2.64/27"},
	    {"0.0.0.0/0", "0.0.0.0/0"},
	    {"255.255.255.255/32", "255.255.255.255/32"},
	    {"203.0.113.9/0", "0.0.0.0/0"},
	    {"2001:db8:1::7/32", "2001:db8::/32"},
	    {"::1", "::1/128"},
	    {"2001:db8::ff/121", "2001:db8::80/121"},
	    {"::/0", "::/0"},
	    {"10.0.0.0/33", NULL},
	    {"2001:db8::/129", NULL},
	    {"10.0.0.0/", NULL},
	    {"/8", NULL},
	    {"10.0.0.0/+8", NULL},
	    {"10.0.0.0/-1", NULL},
	    {"10.0.0.0/ 8", NULL},
	    {" 10.0.0.0/8", NULL},
	    {"10.0.0.256", NULL},
	    {"10.0.0", NULL},
	    {"acme.example.com", NULL},
	    {"", NULL},
	    {"10.0.0.0/8/8", NULL},
	    {"10.0.0.0/99999999999999999999", NULL},
	};
	char buf[ACL_ENTRY_STRLEN];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct acl_entry e;
		int rc = acl_entry_parse(&e, slice_cstr(v[i].in));

		if (!v[i].out) {
			if (rc != -EINVAL)
				fail_msg("'%s' accepted", v[i].in);
			continue;
		}
		if (rc)
			fail_msg("'%s' refused: %d", v[i].in, rc);
		assert_int_equal(acl_entry_format(&e, buf, sizeof(buf)), 0);
		if (strcmp(buf, v[i].out))
			fail_msg("'%s' -> '%s', want '%s'", v[i].in, buf, v[i].out);
	}
}

static void test_entry_set(void **state)
{
	struct acl_entry e;
	char buf[ACL_ENTRY_STRLEN];

	/* The store's columns: address and prefix apart. */
	assert_int_equal(acl_entry_set(&e, SLICE("127.0.0.1"), 8), 0);
	assert_int_equal(e.family, AF_INET);
	assert_int_equal(acl_entry_format(&e, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "127.0.0.0/8");
	assert_int_equal(acl_entry_set(&e, SLICE("198.51.100.4"), -1), 0);
	assert_int_equal(e.prefix, 32);
	assert_int_equal(acl_entry_set(&e, SLICE("198.51.100.4"), 33), -EINVAL);
	assert_int_equal(acl_entry_set(&e, SLICE("198.51.100.4"), -2), -EINVAL);
	assert_int_equal(acl_entry_set(&e, SLICE("2001:db8::1"), 64), 0);
	assert_int_equal(e.family, AF_INET6);
	assert_int_equal(acl_entry_set(&e, SLICE("2001:db8::1"), 129), -EINVAL);
	assert_int_equal(acl_entry_format(&e, buf, 8), -ENOSPC);
	assert_int_equal(acl_entry_set(&e, SLICE_NULL, 8), -EINVAL);
}

static void test_cidr_edges(void **state)
{
	static const char *const all[] = {"0.0.0.0/0"};
	static const char *const host[] = {"192.0.2.7/32"};
	static const char *const net[] = {"198.51.100.0/24"};
	struct acl *acl;

	acl = acl_of(all, 1);
	assert_true(match(acl, "0.0.0.0"));
	assert_true(match(acl, "127.0.0.1"));
	assert_true(match(acl, "255.255.255.255"));
	assert_false(match(acl, "2001:db8::1")); /* /0 of IPv4 is not IPv6 */
	assert_true(match(acl, "::ffff:203.0.113.1"));
	assert_int_equal(acl_count(acl, AF_INET), 1);
	mem_deref(acl);

	acl = acl_of(host, 1);
	assert_true(match(acl, "192.0.2.7"));
	assert_false(match(acl, "192.0.2.6"));
	assert_false(match(acl, "192.0.2.8"));
	assert_false(match(acl, "0.0.0.0"));
	assert_false(match(acl, "255.255.255.255"));
	mem_deref(acl);

	acl = acl_of(net, 1);
	assert_true(match(acl, "198.51.100.0"));
	assert_true(match(acl, "198.51.100.128"));
	assert_true(match(acl, "198.51.100.255"));
	assert_false(match(acl, "198.51.99.255"));
	assert_false(match(acl, "198.51.101.0"));
	assert_false(match(acl, "::ffff:198.51.101.0"));
	assert_true(match(acl, "::ffff:198.51.100.9"));
	/* An IPv4-compatible (not mapped) address is IPv6 and does not match. */
	assert_false(match(acl, "::198.51.100.9"));
	mem_deref(acl);
}

static void test_ends_of_space(void **state)
{
	static const char *const ends[] = {"0.0.0.0/32", "255.255.255.255/32", "255.255.255.254/32",
	                                   "::/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"};
	struct acl *acl = acl_of(ends, ARRAY_SIZE(ends));

	/* The top two hosts touch and merge without the upper bound wrapping. */
	assert_int_equal(acl_count(acl, AF_INET), 2);
	assert_int_equal(acl_count(acl, AF_INET6), 2);
	assert_true(match(acl, "0.0.0.0"));
	assert_false(match(acl, "0.0.0.1"));
	assert_true(match(acl, "255.255.255.254"));
	assert_true(match(acl, "255.255.255.255"));
	assert_false(match(acl, "255.255.255.253"));
	assert_true(match(acl, "::"));
	assert_true(match(acl, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(match(acl, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"));
	assert_false(match(acl, "::1"));
	mem_deref(acl);
}

static void test_several_lists(void **state)
{
	static const char *const office[] = {"10.0.0.0/9", "192.168.1.0/24", "10.128.0.0/9"};
	static const char *const carrier[] = {"172.16.0.0/12", "192.168.1.128/25", "203.0.113.5"};
	struct acl *a = acl_of(office, ARRAY_SIZE(office)),
	           *b = acl_of(carrier, ARRAY_SIZE(carrier));
	const struct acl *lists[] = {a, NULL, b};
	struct acl *all = NULL, *none = NULL;

	/* Adjacent halves of 10/8 merge into one range. */
	assert_int_equal(acl_count(a, AF_INET), 2);
	assert_int_equal(acl_merge(&all, lists, ARRAY_SIZE(lists)), 0);
	/* 10/8, 172.16/12, 192.168.1/24 (the /25 inside it), 203.0.113.5 */
	assert_int_equal(acl_count(all, AF_INET), 4);
	assert_true(match(all, "10.0.0.1"));
	assert_true(match(all, "10.127.255.255"));
	assert_true(match(all, "10.128.0.0"));
	assert_true(match(all, "10.255.255.255"));
	assert_false(match(all, "11.0.0.0"));
	assert_true(match(all, "172.31.0.1"));
	assert_false(match(all, "172.32.0.0"));
	assert_true(match(all, "192.168.1.1"));
	assert_true(match(all, "192.168.1.200"));
	assert_false(match(all, "192.168.2.1"));
	assert_true(match(all, "203.0.113.5"));
	assert_false(match(all, "203.0.113.6"));
	assert_false(match(a, "203.0.113.5"));
	assert_false(match(b, "10.1.1.1"));

	/* No list at all matches nothing: an unmapped domain lets nobody in. */
	assert_int_equal(acl_merge(&none, NULL, 0), 0);
	assert_false(match(none, "10.0.0.1"));
	assert_false(match(NULL, "10.0.0.1"));
	mem_deref(none);
	mem_deref(all);
	mem_deref(a);
	mem_deref(b);
}

static void test_ipv6(void **state)
{
	static const char *const v6[] = {"2001:db8::/32", "fd00:1:2:3::/64", "2001:db8:ffff::/48",
	                                 "127.0.0.0/8"};
	struct acl *acl = acl_of(v6, ARRAY_SIZE(v6));

	/* The /48 lies inside the /32. */
	assert_int_equal(acl_count(acl, AF_INET6), 2);
	assert_true(match(acl, "2001:db8::"));
	assert_true(match(acl, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(match(acl, "2001:db9::"));
	assert_false(match(acl, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_true(match(acl, "fd00:1:2:3:ffff::1"));
	assert_false(match(acl, "fd00:1:2:4::1"));
	assert_true(match(acl, "::ffff:127.0.0.1"));
	assert_true(match(acl, "127.1.2.3"));
	assert_false(match(acl, "::1"));
	mem_deref(acl);
}

static void test_odd_inputs(void **state)
{
	struct acl_entry e = {0};
	struct acl *acl = NULL;
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	static const char *const any[] = {"0.0.0.0/0", "::/0"};

	/* An entry of no family, or a prefix that does not fit its family. */
	assert_int_equal(acl_build(&acl, &e, 1), -EINVAL);
	e.family = AF_INET;
	e.prefix = 33;
	assert_int_equal(acl_build(&acl, &e, 1), -EINVAL);
	assert_null(acl);
	assert_int_equal(acl_build(&acl, NULL, 0), 0);
	assert_false(match(acl, "1.2.3.4"));
	mem_deref(acl);

	acl = acl_of(any, 2);
	assert_false(acl_match(acl, (const struct sockaddr *)&un));
	assert_false(acl_match(acl, NULL));
	assert_true(match(acl, "1.2.3.4"));
	assert_true(match(acl, "2001:db8::1"));
	mem_deref(acl);
}

/* Bisection against a plain scan of the entries, on random lists and addresses. */
static void test_against_scan(void **state)
{
	enum { NLIST = 100, NPROBE = 20000 };
	struct acl_entry e[NLIST];
	uint32_t lo[NLIST], hi[NLIST];
	struct acl *acl = NULL;

	srand(20240605);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < NLIST; i++) {
			uint32_t a = (uint32_t)rand() << 16 ^ (uint32_t)rand();
			unsigned prefix = 8 + (unsigned)rand() % 25;
			uint32_t mask = (uint32_t)(0xffffffffull << (32 - prefix));
			char text[32];

			/* Cluster addresses so ranges overlap and touch. */
			a = (a & 0x0fffffffu) | 0x0a000000u;
			snprintf(text, sizeof(text), "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255,
			         (a >> 8) & 255, a & 255, prefix);
			assert_int_equal(acl_entry_parse(&e[i], slice_cstr(text)), 0);
			lo[i] = a & mask;
			hi[i] = lo[i] | ~mask;
		}
		assert_int_equal(acl_build(&acl, e, NLIST), 0);
		for (int k = 0; k < NPROBE; k++) {
			uint32_t a = ((uint32_t)rand() << 16 ^ (uint32_t)rand()) & 0x1fffffffu;
			struct sockaddr_in sin = {.sin_family = AF_INET};
			bool want = false;

			/* Half the probes on a range edge, where off-by-ones live. */
			if (k & 1) {
				int i = rand() % NLIST;

				a = (k & 2) ? hi[i] + (uint32_t)(rand() % 3) - 1
				            : lo[i] + (uint32_t)(rand() % 3) - 1;
			}
			for (int i = 0; i < NLIST && !want; i++)
				want = a >= lo[i] && a <= hi[i];
			sin.sin_addr.s_addr = htonl(a);
			if (acl_match(acl, (const struct sockaddr *)&sin) != want)
				fail_msg("round %d: %u.%u.%u.%u should %smatch", round, a >> 24,
				         (a >> 16) & 255, (a >> 8) & 255, a & 255,
				         want ? "" : "not ");
		}
		acl = mem_deref(acl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_entry_parse),   cmocka_unit_test(test_entry_set),
	    cmocka_unit_test(test_cidr_edges),    cmocka_unit_test(test_ends_of_space),
	    cmocka_unit_test(test_several_lists), cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_odd_inputs),    cmocka_unit_test(test_against_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
