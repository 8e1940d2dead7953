/* loopq: closures queued by any thread and run on the libuv loop (contract in loopq.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <uv.h>

#include "ixedge/loopq.h"

enum item_state { ITEM_QUEUED, ITEM_RUNNING, ITEM_DONE, ITEM_CANCELLED };

struct item {
	struct item *prev, *next;
	loopq_h *fn;
	void *arg;
	uint64_t seq;
	bool call; /* a loopq_call item: it lives in the caller's stack frame */
	enum item_state state;
};

struct loopq {
	uv_async_t async;
	uv_mutex_t mtx; /* guards everything below */
	uv_cond_t done; /* broadcast when a call item finishes or is cancelled */
	uv_thread_t loop_thread;
	struct item *head, *tail;
	size_t n;
	uint64_t seq;
	bool closing;
	bool handle_closed;
	/* Callers blocked in loopq_call: loopq_close releases them, and the
	 * queue may only be freed once they have left its mutex. */
	unsigned waiters;
};

static void list_append(struct loopq *q, struct item *it)
{
	it->seq = q->seq++;
	it->next = NULL;
	it->prev = q->tail;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
}

static void list_unlink(struct loopq *q, struct item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		q->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		q->tail = it->prev;
	it->prev = it->next = NULL;
	q->n--;
}

static void queue_destroy(struct loopq *q)
{
	uv_cond_destroy(&q->done);
	uv_mutex_destroy(&q->mtx);
	free(q);
}

static void async_cb(uv_async_t *h)
{
	loopq_run(h->data);
}

int loopq_alloc(struct loopq **qp, struct uv_loop_s *loop)
{
	struct loopq *q;
	int err;

	if (!qp || !loop)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	err = uv_mutex_init(&q->mtx);
	if (err)
		goto out_free;
	err = uv_cond_init(&q->done);
	if (err)
		goto out_mtx;
	err = uv_async_init(loop, &q->async, async_cb);
	if (err)
		goto out_cond;
	q->async.data = q;
	q->loop_thread = uv_thread_self();
	*qp = q;
	return 0;

out_cond:
	uv_cond_destroy(&q->done);
out_mtx:
	uv_mutex_destroy(&q->mtx);
out_free:
	free(q);
	return err;
}

int loopq_post(struct loopq *q, loopq_h *fn, void *arg)
{
	struct item *it;

	if (!fn)
		return -EINVAL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->fn = fn;
	it->arg = arg;
	uv_mutex_lock(&q->mtx);
	if (q->closing) {
		uv_mutex_unlock(&q->mtx);
		free(it);
		return -ESHUTDOWN;
	}
	list_append(q, it);
	/* Under the mutex so the wake-up can never race with loopq_close's
	 * uv_close of the handle. */
	uv_async_send(&q->async);
	uv_mutex_unlock(&q->mtx);
	return 0;
}

int loopq_call(struct loopq *q, loopq_h *fn, void *arg, unsigned timeout_ms)
{
	struct item it = {.fn = fn, .arg = arg, .call = true, .state = ITEM_QUEUED};
	uv_thread_t self = uv_thread_self();
	uint64_t now, deadline;
	bool last, timed_out = false;
	int err;

	if (!fn)
		return -EINVAL;
	if (uv_thread_equal(&self, &q->loop_thread))
		return -EDEADLK;
	deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;

	uv_mutex_lock(&q->mtx);
	if (q->closing) {
		uv_mutex_unlock(&q->mtx);
		return -ESHUTDOWN;
	}
	list_append(q, &it);
	q->waiters++;
	uv_async_send(&q->async);
	/* Each wait is bounded by the deadline; spurious wake-ups re-check. */
	while (it.state == ITEM_QUEUED) {
		now = uv_hrtime();
		if (now >= deadline) {
			/* Not started: take it back so a late loop never runs it. */
			list_unlink(q, &it);
			it.state = ITEM_CANCELLED;
			timed_out = true;
			break;
		}
		uv_cond_timedwait(&q->done, &q->mtx, deadline - now);
	}
	/* Started before the deadline: fn may use our frame, so wait it out. */
	while (it.state == ITEM_RUNNING)
		uv_cond_wait(&q->done, &q->mtx);
	if (it.state == ITEM_DONE)
		err = 0;
	else
		err = timed_out ? -ETIMEDOUT : -ECANCELED;
	q->waiters--;
	last = q->handle_closed && q->waiters == 0;
	uv_mutex_unlock(&q->mtx);
	if (last)
		queue_destroy(q);
	return err;
}

size_t loopq_pending(struct loopq *q)
{
	size_t n;

	uv_mutex_lock(&q->mtx);
	n = q->n;
	uv_mutex_unlock(&q->mtx);
	return n;
}

size_t loopq_run(struct loopq *q)
{
	struct item *it;
	uint64_t end;
	size_t ran = 0;

	uv_mutex_lock(&q->mtx);
	/* Only what is queued now: producers that keep posting cannot starve
	 * the loop, and a nested run (from an item) keeps FIFO order. */
	end = q->seq;
	while (!q->closing && q->head && q->head->seq < end) {
		it = q->head;
		list_unlink(q, it);
		it->state = ITEM_RUNNING;
		uv_mutex_unlock(&q->mtx);
		it->fn(it->arg);
		ran++;
		if (!it->call) {
			free(it);
			uv_mutex_lock(&q->mtx);
			continue;
		}
		uv_mutex_lock(&q->mtx);
		it->state = ITEM_DONE;
		uv_cond_broadcast(&q->done);
	}
	uv_mutex_unlock(&q->mtx);
	return ran;
}

static void close_cb(uv_handle_t *h)
{
	struct loopq *q = h->data;
	bool last;

	uv_mutex_lock(&q->mtx);
	q->handle_closed = true;
	last = q->waiters == 0;
	uv_mutex_unlock(&q->mtx);
	if (last)
		queue_destroy(q);
}

void loopq_close(struct loopq *q)
{
	struct item *it, *next, *posts = NULL, **tailp = &posts;

	if (!q)
		return;
	uv_mutex_lock(&q->mtx);
	if (q->closing) {
		uv_mutex_unlock(&q->mtx);
		return;
	}
	q->closing = true;
	for (it = q->head; it; it = next) {
		next = it->next;
		list_unlink(q, it);
		if (it->call) {
			it->state = ITEM_CANCELLED;
		} else {
			*tailp = it;
			tailp = &it->next;
		}
	}
	uv_cond_broadcast(&q->done);
	uv_mutex_unlock(&q->mtx);

	/* Outside the mutex: a post may try loopq_post (refused) or log. */
	for (it = posts; it; it = next) {
		next = it->next;
		it->fn(it->arg);
		free(it);
	}
	uv_close((uv_handle_t *)&q->async, close_cb);
}
