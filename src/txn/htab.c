/* Transaction tables: intrusive chained hashes, seeded key hashing, random branches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/rand.h"
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
