/* Refcounted memory: one header in front of every object, destructor on last deref. */
#include <stdlib.h>

#include "ixedge/base.h"

struct mem_hdr {
	uint32_t nrefs;
	uint32_t magic;
	mem_destroy_h *dh;
	max_align_t align[]; /* keeps the object after the header maximally aligned */
};

#define MEM_MAGIC 0x1ced9e55u

static struct mem_hdr *hdr_of(const void *obj)
{
	struct mem_hdr *h = (struct mem_hdr *)((char *)(uintptr_t)obj - sizeof(struct mem_hdr));

	if (h->magic != MEM_MAGIC)
		abort(); /* not a mem object, or already freed: fail loudly */
	return h;
}

void *mem_alloc(size_t size, mem_destroy_h *dh)
{
	struct mem_hdr *h;

	if (size > SIZE_MAX - sizeof(*h))
		return NULL;
	h = calloc(1, sizeof(*h) + size);
	if (!h)
		return NULL;
	h->nrefs = 1;
	h->magic = MEM_MAGIC;
	h->dh = dh;
	return h + 1;
}

void *mem_ref(void *obj)
{
	if (obj)
		hdr_of(obj)->nrefs++;
	return obj;
}

void *mem_deref(void *obj)
{
	struct mem_hdr *h;

	if (!obj)
		return NULL;
	h = hdr_of(obj);
	if (--h->nrefs > 0)
		return NULL;
	if (h->dh)
		h->dh(obj);
	h->magic = 0;
	free(h);
	return NULL;
}

uint32_t mem_nrefs(const void *obj)
{
	return obj ? hdr_of(obj)->nrefs : 0;
}
