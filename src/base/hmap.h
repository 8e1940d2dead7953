/* Intrusive chained hash map: nodes live inside their owners, no allocation per insert. */
#ifndef IXEDGE_BASE_HMAP_H
#define IXEDGE_BASE_HMAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * The map stores hashes, not keys: a lookup walks the nodes with the same
 * hash (hmap_first / hmap_next) and the caller compares its own key.
 * Threading: as the owner's.
 */
struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct hmap {
	struct hnode **b;
	size_t nb; /* power of two */
	size_t n;
};

int hmap_init(struct hmap *m, size_t nb);
void hmap_fini(struct hmap *m);
/* Never fails: when growing is impossible the chains just get longer. */
void hmap_insert(struct hmap *m, struct hnode *node, uint64_t hash);
void hmap_remove(struct hmap *m, struct hnode *node);
struct hnode *hmap_first(const struct hmap *m, uint64_t hash);
struct hnode *hmap_next(const struct hnode *node);

/* 64-bit FNV-1a over bytes, continuing from h (start with HASH_INIT). */
#define HASH_INIT 0xcbf29ce484222325ull
uint64_t hash_bytes(uint64_t h, const void *p, size_t len);

#endif
