/* Timer heap: binary min-heap ordered by (deadline, start order). */
#include <errno.h>
#include <stdlib.h>

#include "ixedge/tmr.h"

static bool before(const struct tmr *a, const struct tmr *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void place(struct tmr_heap *hp, uint32_t i, struct tmr *t)
{
	hp->v[i] = t;
	t->idx = i;
}

static void sift_up(struct tmr_heap *hp, uint32_t i)
{
	struct tmr *t = hp->v[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!before(t, hp->v[parent]))
			break;
		place(hp, i, hp->v[parent]);
		i = parent;
	}
	place(hp, i, t);
}

static void sift_down(struct tmr_heap *hp, uint32_t i)
{
	struct tmr *t = hp->v[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= hp->n)
			break;
		if (c + 1 < hp->n && before(hp->v[c + 1], hp->v[c]))
			c++;
		if (!before(hp->v[c], t))
			break;
		place(hp, i, hp->v[c]);
		i = c;
	}
	place(hp, i, t);
}

void tmr_heap_init(struct tmr_heap *hp, uint64_t now)
{
	*hp = (struct tmr_heap){.now = now};
}

void tmr_heap_fini(struct tmr_heap *hp)
{
	while (hp->n)
		tmr_cancel(hp->v[0]);
	free(hp->v);
	hp->v = NULL;
	hp->cap = 0;
}

void tmr_heap_set_now(struct tmr_heap *hp, uint64_t now)
{
	hp->now = now;
}

void tmr_cancel(struct tmr *t)
{
	struct tmr_heap *hp = t->heap;
	uint32_t i = t->idx;

	if (!hp)
		return;
	t->heap = NULL;
	hp->n--;
	if (i == hp->n)
		return;
	place(hp, i, hp->v[hp->n]);
	if (i > 0 && before(hp->v[i], hp->v[(i - 1) / 2]))
		sift_up(hp, i);
	else
		sift_down(hp, i);
}

int tmr_start(struct tmr *t, struct tmr_heap *hp, uint64_t delay_ms, tmr_h *h, void *arg)
{
	tmr_cancel(t);
	if (hp->n == hp->cap) {
		uint32_t cap = hp->cap ? hp->cap * 2 : 64;
		struct tmr **v = realloc(hp->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		hp->v = v;
		hp->cap = cap;
	}
	t->heap = hp;
	t->due = hp->now + delay_ms;
	t->seq = hp->seq++;
	t->h = h;
	t->arg = arg;
	place(hp, hp->n++, t);
	sift_up(hp, t->idx);
	return 0;
}

unsigned tmr_heap_run(struct tmr_heap *hp, uint64_t now)
{
	unsigned fired = 0;
	/* Timers started by handlers during this run wait for the next one, so a
	 * zero-delay restart cannot spin forever. */
	uint64_t limit = hp->seq;

	hp->now = now;
	while (hp->n && hp->v[0]->due <= now && hp->v[0]->seq < limit) {
		struct tmr *t = hp->v[0];

		tmr_cancel(t);
		t->h(t->arg);
		fired++;
	}
	return fired;
}

int64_t tmr_heap_next(const struct tmr_heap *hp)
{
	if (!hp->n)
		return -1;
	return hp->v[0]->due <= hp->now ? 0 : (int64_t)(hp->v[0]->due - hp->now);
}

uint32_t tmr_heap_count(const struct tmr_heap *hp)
{
	return hp->n;
}

uint64_t tmr_left(const struct tmr *t)
{
	if (!t->heap || t->due <= t->heap->now)
		return 0;
	return t->due - t->heap->now;
}
