/* Pages of records: rows copied out of the backend into one refcounted object. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_priv.h"

/*
 * store_pageb_finish() consumes the builder, whether it succeeds or not.
 * While rows arrive, string fields hold offsets into the pool (which moves
 * as it grows); store_pageb_finish() turns them into pointers.  The page is
 * the first member, so the store_page pointer is the mem object.
 */
struct page_obj {
	struct store_page pub;
	char *rows;
	char *pool;
};

struct store_pageb {
	const struct store_kind_info *k;
	char *rows;
	size_t n, cap;
	struct buf pool;
};

int store_pageb_new(struct store_pageb **pbp, const struct store_kind_info *k)
{
	struct store_pageb *pb = calloc(1, sizeof(*pb));

	if (!pb)
		return -ENOMEM;
	pb->k = k;
	/* Offset 0 is the empty string every empty field shares. */
	if (buf_append(&pb->pool, "", 1)) {
		free(pb);
		return -ENOMEM;
	}
	*pbp = pb;
	return 0;
}

void store_pageb_free(struct store_pageb *pb)
{
	if (!pb)
		return;
	free(pb->rows);
	buf_free(&pb->pool);
	free(pb);
}

int store_pageb_add(void *arg, int64_t seq, const void *rec)
{
	struct store_pageb *pb = arg;
	const struct store_kind_info *k = pb->k;
	char *row;

	(void)seq;
	if (pb->n == pb->cap) {
		size_t cap = pb->cap ? pb->cap * 2 : 16;
		char *rows = realloc(pb->rows, cap * k->size);

		if (!rows)
			return -ENOMEM;
		pb->rows = rows;
		pb->cap = cap;
	}
	row = pb->rows + pb->n * k->size;
	memcpy(row, rec, k->size);
	for (size_t i = 0; i < k->nfields; i++) {
		const struct store_field *f = &k->fields[i];
		const char *s;
		uintptr_t off = 0;

		if (f->type != STORE_TEXT)
			continue;
		s = (f->flags & STORE_F_SECRET) ? "" : store_ftext(rec, f);
		if (*s) {
			off = pb->pool.len;
			if (buf_append(&pb->pool, s, strlen(s) + 1))
				return -ENOMEM;
		}
		*(uintptr_t *)store_fptr(row, f) = off;
	}
	pb->n++;
	return 0;
}

static void page_destroy(void *obj)
{
	struct page_obj *po = obj;

	free(po->rows);
	free(po->pool);
}

int store_pageb_finish(struct store_pageb *pb, struct store_page **out)
{
	const struct store_kind_info *k = pb->k;
	struct page_obj *po = mem_alloc(sizeof(*po), page_destroy);

	if (!po) {
		store_pageb_free(pb);
		return -ENOMEM;
	}
	po->rows = pb->rows;
	po->pool = pb->pool.p;
	for (size_t r = 0; r < pb->n; r++) {
		char *row = po->rows + r * k->size;

		for (size_t i = 0; i < k->nfields; i++) {
			const struct store_field *f = &k->fields[i];
			uintptr_t off;

			if (f->type != STORE_TEXT)
				continue;
			off = *(uintptr_t *)store_fptr(row, f);
			*(const char **)store_fptr(row, f) = po->pool + off;
		}
	}
	po->pub.n = pb->n;
	po->pub.rows = po->rows;
	pb->rows = NULL;
	pb->pool = (struct buf){0};
	store_pageb_free(pb);
	*out = &po->pub;
	return 0;
}
