/* Timers: a min-heap of deadlines on one clock, driven by the signalling loop. */
#ifndef IXEDGE_TMR_H
#define IXEDGE_TMR_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Threading: a tmr_heap belongs to one thread (the signalling loop); timers
 * are started, cancelled and fired only there.
 *
 * A struct tmr is embedded in its owner (transaction, dialog, call...); it
 * needs no allocation and no asynchronous close, so a destructor simply
 * calls tmr_cancel().  Handlers may start or cancel any timer, including
 * their own.
 */
struct tmr;
typedef void(tmr_h)(void *arg);

struct tmr_heap;

struct tmr {
	struct tmr_heap *heap; /* NULL while not running */
	uint64_t due;          /* absolute, in the heap's clock (ms) */
	uint64_t seq;          /* FIFO order among equal deadlines */
	uint32_t idx;          /* position in the heap */
	tmr_h *h;
	void *arg;
};

struct tmr_heap {
	struct tmr **v;
	uint32_t n, cap;
	uint64_t now; /* the clock as of the last tmr_heap_run() / tmr_heap_set_now() */
	uint64_t seq;
};

void tmr_heap_init(struct tmr_heap *hp, uint64_t now);
/* Cancels nothing: every timer must already be cancelled or fired. */
void tmr_heap_fini(struct tmr_heap *hp);
void tmr_heap_set_now(struct tmr_heap *hp, uint64_t now);
/* Fires every timer due at or before now; returns how many fired. */
unsigned tmr_heap_run(struct tmr_heap *hp, uint64_t now);
/* Milliseconds until the next deadline from hp->now, or -1 when empty. */
int64_t tmr_heap_next(const struct tmr_heap *hp);
uint32_t tmr_heap_count(const struct tmr_heap *hp);

/* (Re)starts t to fire after delay_ms; 0 or -ENOMEM. */
int tmr_start(struct tmr *t, struct tmr_heap *hp, uint64_t delay_ms, tmr_h *h, void *arg);
void tmr_cancel(struct tmr *t);
static inline bool tmr_running(const struct tmr *t)
{
	return t->heap != NULL;
}
/* Milliseconds left, 0 when due or not running. */
uint64_t tmr_left(const struct tmr *t);

#endif
