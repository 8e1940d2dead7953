/* The call-record writer: a bounded queue in front of a thread that commits in batches. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_priv.h"

#define WORKER_QUEUE_DEFAULT    4096
#define WORKER_BATCH_DEFAULT    256
#define WORKER_REC_MAX          16384 /* bytes of one posted record with its strings */
#define WORKER_TRIES            30 /* per batch; each may wait the busy timeout, then 10 ms .. 1 s */
#define WORKER_TRIES_STOP       3  /* per batch once stopping */
#define WORKER_GROUP_MS_DEFAULT 100 /* group-commit window without options */

struct store_worker {
	struct store *st; /* the worker thread's own connection */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu.  Slots [head, head + count) are taken; the first ones may be in flight. */
	struct store_call_rec **ring;
	size_t cap, head, count;
	bool stop;
	uint32_t group_ms; /* a partial batch waits this long for more records */
	struct store_worker_stats stats;
	/* Worker thread only. */
	struct store_call_rec **batch;
	size_t batch_max;
	uint64_t create_mask;
	void (*commit_h)(void *arg, uint64_t committed);
	void *arg;
};

/* One allocation: the record, then its strings. */
static struct store_call_rec *rec_copy(const struct store_call_rec *rec)
{
	const struct store_kind_info *k = store_kind_get(STORE_CALL);
	size_t size = sizeof(*rec);
	struct store_call_rec *c;
	char *p;

	for (size_t i = 0; i < k->nfields; i++)
		if (k->fields[i].type == STORE_TEXT)
			size += strlen(store_ftext(rec, &k->fields[i])) + 1;
	if (size > WORKER_REC_MAX || !(c = malloc(size)))
		return NULL;
	*c = *rec;
	p = (char *)(c + 1);
	for (size_t i = 0; i < k->nfields; i++) {
		const struct store_field *f = &k->fields[i];
		const char *s;
		size_t n;

		if (f->type != STORE_TEXT)
			continue;
		s = store_ftext(rec, f);
		n = strlen(s) + 1;
		memcpy(p, s, n);
		*(const char **)store_fptr(c, f) = p;
		p += n;
	}
	return c;
}

int store_call_record_post(struct store_worker *w, const struct store_call_rec *rec)
{
	struct store_call_rec *c = rec ? rec_copy(rec) : NULL;
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	if (!c || w->count == w->cap || w->stop) {
		w->stats.dropped++;
		rc = !c ? (rec ? -E2BIG : -EINVAL) : -ENOBUFS;
	} else {
		w->ring[(w->head + w->count) % w->cap] = c;
		w->count++;
		w->stats.posted++;
		c = NULL;
		/* Wake the worker when it sleeps with nothing to do, or when its
		 * group-commit window can end early; not for every record. */
		if (w->count == 1 || w->count >= w->batch_max)
			pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	free(c);
	return rc;
}

void store_worker_stats(struct store_worker *w, struct store_worker_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->stats;
	out->queued = w->count;
	pthread_mutex_unlock(&w->mu);
}

/* 0 and the row written, 1 when the record is refused (invalid), <0 to retry the batch. */
static int write_one(struct store_worker *w, struct store_call_rec *rec, int64_t now)
{
	struct store_err err = {""};
	struct store_op op = {
	    .st = w->st, .kd = store_kind_def(STORE_CALL), .err = &err, .create = true};
	int rc;

	rc = store_fields_check(&op, rec, w->create_mask);
	if (!rc && !store_sid_valid(rec->sid, "CA"))
		rc = store_errf(&err, -EINVAL, "call.sid: '%.40s' is not a call SID", rec->sid);
	if (rc) {
		log_warn("store", "call record %.40s not written: %s", rec->sid, err.msg);
		return 1;
	}
	rec->date_created = rec->date_updated = now;
	rc = w->st->ops->upsert(w->st, op.kd, rec);
	if (rc == -EINVAL || rc == -EEXIST || rc == -ENOENT) {
		log_warn("store", "call record %.40s not written: %s", rec->sid, strerror(-rc));
		return 1;
	}
	return rc;
}

/* One transaction for the batch; a refused record does not undo the others. */
static int write_batch(struct store_worker *w, size_t n, uint64_t *ok, uint64_t *bad)
{
	struct store *st = w->st;
	int64_t now = store_now_ms();
	int rc = st->ops->begin(st, true);

	*ok = *bad = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		rc = write_one(w, w->batch[i], now);
		if (rc == 1) {
			(*bad)++;
			rc = 0;
		} else if (!rc) {
			(*ok)++;
		}
	}
	if (rc) {
		st->ops->end(st, false);
		return rc;
	}
	return st->ops->end(st, true);
}

static bool stopping(struct store_worker *w)
{
	bool s;

	pthread_mutex_lock(&w->mu);
	s = w->stop;
	pthread_mutex_unlock(&w->mu);
	return s;
}

static void *worker_main(void *arg)
{
	struct store_worker *w = arg;

	for (;;) {
		uint64_t ok = 0, bad = 0, committed;
		long backoff_ms = 10;
		size_t n;
		int rc = -EIO;

		pthread_mutex_lock(&w->mu);
		while (!w->count && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->count) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		/* Group commit: every transaction costs an fsync, so a partial batch
		 * waits a little for company (never when stopping). */
		if (w->count < w->batch_max && !w->stop && w->group_ms) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += (long)w->group_ms * 1000000;
			until.tv_sec += until.tv_nsec / 1000000000;
			until.tv_nsec %= 1000000000;
			/* Until the window ends or a post fills the batch. */
			while (w->count < w->batch_max && !w->stop &&
			       pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
				;
		}
		n = w->count < w->batch_max ? w->count : w->batch_max;
		for (size_t i = 0; i < n; i++)
			w->batch[i] = w->ring[(w->head + i) % w->cap];
		pthread_mutex_unlock(&w->mu);

		for (int tries = 0; tries < (stopping(w) ? WORKER_TRIES_STOP : WORKER_TRIES);
		     tries++) {
			struct timespec ts = {backoff_ms / 1000, backoff_ms % 1000 * 1000000};

			rc = write_batch(w, n, &ok, &bad);
			if (!rc)
				break;
			log_warn("store", "writing %zu call records: %s (try %d)", n, strerror(-rc),
			         tries + 1);
			nanosleep(&ts, NULL);
			backoff_ms = backoff_ms * 2 > 1000 ? 1000 : backoff_ms * 2;
		}
		if (rc) {
			log_error("store", "%zu call records lost: %s", n, strerror(-rc));
			ok = 0;
			bad = n;
		}

		pthread_mutex_lock(&w->mu);
		w->head = (w->head + n) % w->cap;
		w->count -= n;
		w->stats.committed += ok;
		w->stats.failed += bad;
		w->stats.batches += !rc;
		committed = w->stats.committed;
		pthread_mutex_unlock(&w->mu);
		for (size_t i = 0; i < n; i++)
			free(w->batch[i]);
		if (!rc && w->commit_h)
			w->commit_h(w->arg, committed);
	}
	return NULL;
}

static void worker_free(struct store_worker *w)
{
	for (size_t i = 0; i < w->count; i++)
		free(w->ring[(w->head + i) % w->cap]);
	free(w->ring);
	free(w->batch);
	mem_deref(w->st);
	free(w);
}

int store_worker_start(struct store_worker **wp, struct store *st,
                       const struct store_worker_opts *opts, struct store_err *err)
{
	const struct store_kind_info *k = store_kind_get(STORE_CALL);
	struct store_worker *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return store_errf(err, -ENOMEM, "store worker: out of memory");
	w->cap = opts && opts->queue_len ? opts->queue_len : WORKER_QUEUE_DEFAULT;
	w->batch_max = opts && opts->batch_max ? opts->batch_max : WORKER_BATCH_DEFAULT;
	w->group_ms = opts ? opts->group_ms : WORKER_GROUP_MS_DEFAULT;
	if (w->batch_max > w->cap)
		w->batch_max = w->cap;
	if (opts) {
		w->commit_h = opts->commit_h;
		w->arg = opts->arg;
	}
	for (size_t i = 0; i < k->nfields; i++)
		if (k->fields[i].flags & STORE_F_CREATE)
			w->create_mask |= 1ull << i;
	w->ring = calloc(w->cap, sizeof(*w->ring));
	w->batch = calloc(w->batch_max, sizeof(*w->batch));
	if (!w->ring || !w->batch) {
		worker_free(w);
		return store_errf(err, -ENOMEM, "store worker: out of memory");
	}
	rc = store_open(&w->st, st->dir, err);
	if (rc) {
		worker_free(w);
		return rc;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		worker_free(w);
		return store_errf(err, -rc, "store worker: thread: %s", strerror(rc));
	}
	pthread_setname_np(w->thread, "ixedge-store");
	*wp = w;
	return 0;
}

void store_worker_stop(struct store_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	worker_free(w);
}
