/* Transaction keys: seeded hashing (tables are base/hmap) and RFC 3261 branches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/rand.h"
#include "txn_priv.h"

static uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

uint32_t txn_hash(uint64_t seed, struct slice s)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t n = s.len;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL), w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	w = 0;
	if (n)
		memcpy(&w, p, n);
	h = fmix64(h ^ w);
	return (uint32_t)(h ^ (h >> 32));
}

uint32_t txn_hash_u64(uint64_t seed, uint64_t v)
{
	uint64_t h = fmix64(seed ^ v);

	return (uint32_t)(h ^ (h >> 32));
}

/* ------------------------------------------------------------- branch */

void txn_branch_new(char *out, size_t len)
{
	static const char cookie[] = "z9hG4bK";
	size_t n = sizeof(cookie) - 1 + 24;

	if (!out || !len)
		return;
	/* 24 characters carry 144 random bits; callers give >= 32 bytes. */
	if (n > len - 1)
		n = len - 1;
	memcpy(out, cookie, n < sizeof(cookie) - 1 ? n : sizeof(cookie) - 1);
	if (n > sizeof(cookie) - 1)
		rand_chars(out + sizeof(cookie) - 1, n - (sizeof(cookie) - 1));
	out[n] = '\0';
}
