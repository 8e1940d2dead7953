/* loopq: a multi-producer queue of closures that run on one libuv loop. */
#ifndef IXEDGE_LOOPQ_H
#define IXEDGE_LOOPQ_H

#include <stddef.h>

/*
 * The signalling loop owns all state (DESIGN.md "Threads"); any other thread
 * (the admin HTTP server, later the REST API) hands it work through a loopq.
 *
 * Threading contract per function:
 *   loopq_alloc, loopq_close, loopq_run     loop thread only
 *   loopq_post, loopq_call, loopq_pending   any thread (loopq_call: not the loop's own)
 *
 * Items run on the loop thread in the order they were queued (FIFO across
 * all producers, as serialised by the queue's mutex).
 *
 * Ownership: loopq_call never leaves work behind.  When it returns, fn is
 * not running and will never run, so fn and arg may point into the
 * caller's stack frame.  The timeout bounds the wait for the loop to
 * *start* fn: an item still queued at the deadline is unlinked and never
 * runs (-ETIMEDOUT); an item the loop has already started is waited for and
 * counts as done (fn is expected to be short; it runs on the loop).
 *
 * loopq_post hands fn and arg to the loop: fn runs exactly once, either on a
 * later loop iteration or inside loopq_close.  A posted arg that owns memory
 * is freed by fn, never by the poster.
 */

struct loopq;
struct uv_loop_s;
typedef void(loopq_h)(void *arg);

/* Creates the queue and its uv_async_t on loop; call on the loop's thread.
 * 0 or -ENOMEM / a libuv error (negative errno). */
int loopq_alloc(struct loopq **qp, struct uv_loop_s *loop);

/* Queues fn(arg) for the loop; never blocks on the loop.  0, -ENOMEM, or
 * -ESHUTDOWN once loopq_close has begun (fn will not run: the caller still
 * owns arg). */
int loopq_post(struct loopq *q, loopq_h *fn, void *arg);

/*
 * Runs fn(arg) on the loop and waits for it to return.
 * 0: fn ran.  -ETIMEDOUT: the loop did not start fn within timeout_ms; fn
 * will never run.  -ECANCELED: loopq_close cancelled it before it started.
 * -ESHUTDOWN: the queue is closing.  -EDEADLK: called on the loop thread
 * (it would wait for itself).  -EINVAL: fn is NULL.
 */
int loopq_call(struct loopq *q, loopq_h *fn, void *arg, unsigned timeout_ms);

/* Items waiting to run (posted and called). */
size_t loopq_pending(struct loopq *q);

/*
 * Runs, now, the items that were queued when it was called (not those
 * queued while it runs; the loop's next wake-up takes those).  The async
 * callback uses it; so may code on the loop thread that must wait for a
 * thread which may itself be waiting in loopq_call (see admin_stop).
 * Returns how many items ran.  Re-entrant: an item may call it.
 */
size_t loopq_run(struct loopq *q);

/*
 * Shuts the queue down, on the loop thread, after every producer has
 * stopped (admin_stop and the like first).  In this order:
 *   1. new loopq_post / loopq_call are refused with -ESHUTDOWN;
 *   2. queued loopq_call items are cancelled: their callers return
 *      -ECANCELED at once and fn never runs;
 *   3. queued loopq_post items run, in order, before loopq_close returns
 *      (posts transfer ownership of arg, so they are never dropped);
 *   4. the uv_async_t is closed; the memory is freed when its close
 *      callback has run and the last released caller has left, so run the
 *      loop until it has no handles before uv_loop_close().
 * May be called from inside an item; items after it are handled as above.
 */
void loopq_close(struct loopq *q);

#endif
