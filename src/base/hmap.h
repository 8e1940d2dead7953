/* Intrusive chained hash map (hlist style): nodes live inside their owners. */
#ifndef IXEDGE_BASE_HMAP_H
#define IXEDGE_BASE_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A node knows the slot that points to it, so removal is O(1) and safe on a
 * node that is not linked.  The map stores hashes, not keys: a lookup walks
 * the nodes with the same hash (hmap_first / hmap_next) and the caller
 * compares its own key.  Growing (doubling at load 1) reuses the stored
 * hashes.  Threading: as the owner's.
 */
struct hnode {
	struct hnode *next, **pprev;
	uint64_t hash;
};

struct hmap {
	struct hnode **b;
	size_t mask; /* bucket count - 1, a power of two */
	size_t n;
};

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

int hmap_init(struct hmap *m, size_t nb);
void hmap_fini(struct hmap *m);
/* Never fails: when growing is impossible the chains just get longer. */
void hmap_insert(struct hmap *m, struct hnode *node, uint64_t hash);
void hmap_remove(struct hmap *m, struct hnode *node);
static inline bool hnode_linked(const struct hnode *node)
{
	return node->pprev != NULL;
}
struct hnode *hmap_first(const struct hmap *m, uint64_t hash);
struct hnode *hmap_next(const struct hnode *node);

/* A doubly linked list of the same nodes (no hash): push at the head, O(1) delete. */
void hlist_push(struct hnode **head, struct hnode *node);
void hlist_del(struct hnode *node);

/* 64-bit FNV-1a over bytes, continuing from h (start with HASH_INIT). */
#define HASH_INIT 0xcbf29ce484222325ull
uint64_t hash_bytes(uint64_t h, const void *p, size_t len);

#endif
