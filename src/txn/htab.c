/* Transaction tables: intrusive chained hashes, seeded key hashing, random branches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "txn_priv.h"

int txn_htab_init(struct txn_htab *ht, uint32_t buckets)
{
	uint32_t n = 16;

	while (n < buckets && n < (1u << 30))
		n <<= 1;
	ht->b = calloc(n, sizeof(*ht->b));
	if (!ht->b)
		return -ENOMEM;
	ht->mask = n - 1;
	ht->n = 0;
	return 0;
}

void txn_htab_fini(struct txn_htab *ht)
{
	free(ht->b);
	*ht = (struct txn_htab){0};
}

static void bucket_push(struct txn_hlink **slot, struct txn_hlink *l)
{
	l->next = *slot;
	if (l->next)
		l->next->pprev = &l->next;
	l->pprev = slot;
	*slot = l;
}

static void txn_htab_grow(struct txn_htab *ht)
{
	uint32_t n = (ht->mask + 1) * 2;
	struct txn_hlink **b;

	if (n > (1u << 30))
		return;
	b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (uint32_t i = 0; i <= ht->mask; i++) {
		struct txn_hlink *l = ht->b[i];

		while (l) {
			struct txn_hlink *next = l->next;

			bucket_push(&b[l->h & (n - 1)], l);
			l = next;
		}
	}
	free(ht->b);
	ht->b = b;
	ht->mask = n - 1;
}

void txn_htab_add(struct txn_htab *ht, struct txn_hlink *l, uint32_t h)
{
	if (ht->n >= ht->mask + 1)
		txn_htab_grow(ht);
	l->h = h;
	bucket_push(&ht->b[h & ht->mask], l);
	ht->n++;
}

void txn_htab_del(struct txn_htab *ht, struct txn_hlink *l)
{
	if (!l->pprev)
		return;
	txn_hlist_del(l);
	ht->n--;
}

void txn_hlist_push(struct txn_hlink **head, struct txn_hlink *l)
{
	bucket_push(head, l);
}

void txn_hlist_del(struct txn_hlink *l)
{
	if (!l->pprev)
		return;
	*l->pprev = l->next;
	if (l->next)
		l->next->pprev = l->pprev;
	l->next = NULL;
	l->pprev = NULL;
}

/* murmur3's 64-bit finaliser: every input bit reaches every output bit. */
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

/* ------------------------------------------------------------- random */

struct rng {
	uint64_t s[4];
	bool seeded;
};

static _Thread_local struct rng rng;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static void rng_seed(void)
{
	uint64_t seed[4] = {0};
	size_t got = 0;

	/* A few short reads at most; getrandom() never blocks once the pool is ready. */
	for (int i = 0; i < 8 && got < sizeof(seed); i++) {
		ssize_t n = getrandom((char *)seed + got, sizeof(seed) - got, 0);

		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			break;
	}
	if (got < sizeof(seed)) {
		/* Not expected on Linux >= 3.17; still unpredictable enough to keep branches
		 * unique, which is all the protocol needs from them. */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed[0] ^= (uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed[1] ^= (uint64_t)ts.tv_nsec;
		seed[2] ^= (uint64_t)(uintptr_t)&rng;
	}
	/* Spread the seed with splitmix64 so no state word is zero. */
	for (int i = 0; i < 4; i++) {
		uint64_t z = seed[i] + 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		rng.s[i] = z ^ (z >> 31);
	}
	rng.seeded = true;
}

uint64_t txn_rand64(void)
{
	uint64_t *s = rng.s, r, t;

	if (!rng.seeded)
		rng_seed();
	r = rotl(s[1] * 5, 7) * 9;
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* 64 token characters, so each takes exactly 6 random bits. */
static const char token_chars[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.";

void txn_rand_token(char *out, size_t n)
{
	uint64_t r = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < n; i++) {
		if (bits < 6) {
			r = txn_rand64();
			bits = 64;
		}
		out[i] = token_chars[r & 63];
		r >>= 6;
		bits -= 6;
	}
}

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
		txn_rand_token(out + sizeof(cookie) - 1, n - (sizeof(cookie) - 1));
	out[n] = '\0';
}
