/* Intrusive chained hash map with O(1) removal and doubling growth. */
#include <errno.h>
#include <stdlib.h>

#include "base/hmap.h"

int hmap_init(struct hmap *m, size_t nb)
{
	size_t n = 16;

	while (n < nb)
		n <<= 1;
	m->b = calloc(n, sizeof(*m->b));
	if (!m->b)
		return -ENOMEM;
	m->mask = n - 1;
	m->n = 0;
	return 0;
}

void hmap_fini(struct hmap *m)
{
	free(m->b);
	*m = (struct hmap){0};
}

void hlist_push(struct hnode **head, struct hnode *node)
{
	node->next = *head;
	if (*head)
		(*head)->pprev = &node->next;
	*head = node;
	node->pprev = head;
}

void hlist_del(struct hnode *node)
{
	if (!node->pprev)
		return;
	*node->pprev = node->next;
	if (node->next)
		node->next->pprev = node->pprev;
	node->next = NULL;
	node->pprev = NULL;
}

static void grow(struct hmap *m)
{
	size_t nb = (m->mask + 1) * 2;
	struct hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i <= m->mask; i++) {
		struct hnode *n = m->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			hlist_push(&b[n->hash & (nb - 1)], n);
		}
	}
	free(m->b);
	m->b = b;
	m->mask = nb - 1;
}

void hmap_insert(struct hmap *m, struct hnode *node, uint64_t hash)
{
	if (m->n > m->mask)
		grow(m);
	node->hash = hash;
	hlist_push(&m->b[hash & m->mask], node);
	m->n++;
}

void hmap_remove(struct hmap *m, struct hnode *node)
{
	if (!node->pprev)
		return;
	hlist_del(node);
	m->n--;
}

struct hnode *hmap_first(const struct hmap *m, uint64_t hash)
{
	struct hnode *n = m->b[hash & m->mask];

	while (n && n->hash != hash)
		n = n->next;
	return n;
}

struct hnode *hmap_next(const struct hnode *node)
{
	struct hnode *n = node->next;

	while (n && n->hash != node->hash)
		n = n->next;
	return n;
}

uint64_t hash_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
