/* Intrusive chained hash map with doubling growth. */
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
	m->nb = n;
	m->n = 0;
	return 0;
}

void hmap_fini(struct hmap *m)
{
	free(m->b);
	*m = (struct hmap){0};
}

static void grow(struct hmap *m)
{
	size_t nb = m->nb * 2;
	struct hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < m->nb; i++) {
		struct hnode *n = m->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void hmap_insert(struct hmap *m, struct hnode *node, uint64_t hash)
{
	struct hnode **head;

	if (m->n >= m->nb * 2)
		grow(m);
	head = &m->b[hash & (m->nb - 1)];
	node->hash = hash;
	node->next = *head;
	*head = node;
	m->n++;
}

void hmap_remove(struct hmap *m, struct hnode *node)
{
	struct hnode **pp = &m->b[node->hash & (m->nb - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == node) {
			*pp = node->next;
			node->next = NULL;
			m->n--;
			return;
		}
	}
}

struct hnode *hmap_first(const struct hmap *m, uint64_t hash)
{
	struct hnode *n = m->b[hash & (m->nb - 1)];

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
