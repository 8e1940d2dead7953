/* Unit tests: the call-record worker (batches, bounded queue, bad records) and kill -9 safety. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"

#define ACCOUNT "AC00000000000000000000000000000001"

struct fx {
	char dir[64];
	struct store *st;
};

static void rm_dir(const char *dir)
{
	static const char *const files[] = {"ixedge.db", "ixedge.db-wal", "ixedge.db-shm"};
	char path[128];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	strcpy(fx->dir, "/tmp/ixworker-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(store_open(&fx->st, fx->dir, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	mem_deref(fx->st);
	rm_dir(fx->dir);
	free(fx);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Record i of a deterministic sequence; bufs hold its strings. */
static void call_rec(struct store_call_rec *r, uint64_t i, char sid[35], char from[64])
{
	snprintf(sid, 35, "CA%032llx", (unsigned long long)i);
	snprintf(from, 64, "sip:caller-%llu@192.0.2.1", (unsigned long long)i);
	*r = (struct store_call_rec){.sid = sid,
	                             .account_sid = ACCOUNT,
	                             .direction = "inbound",
	                             .from = from,
	                             .to = "sip:bob@demo.sip.ashburn-ix.twilio.com",
	                             .status = "completed",
	                             .start_time = 1700000000000ll + (int64_t)i,
	                             .duration = (int64_t)(i % 3600),
	                             .edge = "ashburn-ix",
	                             .sip_status = 200,
	                             .hung_up_by = "caller"};
}

static size_t count_calls(struct store *st)
{
	struct store_query q = {.page_size = 1000};
	struct store_page *pg;
	char token[24] = "";
	size_t n = 0;

	do {
		q.page_token = token;
		assert_int_equal(store_list(st, STORE_CALL, &q, &pg, NULL), 0);
		n += pg->n;
		strcpy(token, pg->next_token);
		mem_deref(pg);
	} while (token[0]);
	return n;
}

static void test_worker_writes(void **state)
{
	struct fx *fx = *state;
	struct store_worker_stats ws;
	struct store_worker *w = NULL;
	struct store_worker_opts o = {.batch_max = 32};
	struct store_call_rec r;
	struct store_page *pg;
	char sid[35], from[64];

	assert_int_equal(store_worker_start(&w, fx->st, &o, NULL), 0);
	for (uint64_t i = 0; i < 500; i++) {
		call_rec(&r, i, sid, from);
		assert_int_equal(store_call_record_post(w, &r), 0);
	}
	/* Posted again with the same SID: the later record replaces the earlier. */
	call_rec(&r, 7, sid, from);
	r.status = "failed";
	r.sip_status = 503;
	r.end_reason = "no gateway answered";
	assert_int_equal(store_call_record_post(w, &r), 0);
	/* Invalid records are counted and skipped; the batch around them is kept. */
	call_rec(&r, 1000, sid, from);
	r.sid = "CAnot-a-sid";
	assert_int_equal(store_call_record_post(w, &r), 0);
	call_rec(&r, 1001, sid, from);
	r.status = "sideways";
	assert_int_equal(store_call_record_post(w, &r), 0);
	call_rec(&r, 1002, sid, from);
	r.account_sid = NULL;
	assert_int_equal(store_call_record_post(w, &r), 0);
	assert_int_equal(store_call_record_post(w, NULL), -EINVAL);
	for (int i = 0; i < 1000; i++) {
		store_worker_stats(w, &ws);
		if (!ws.queued)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(ws.queued, 0);
	assert_int_equal(ws.posted, 504);
	assert_int_equal(ws.dropped, 1);
	assert_int_equal(ws.committed, 501);
	assert_int_equal(ws.failed, 3);
	assert_true(ws.batches >= 501 / 32);
	store_worker_stop(w);
	assert_int_equal(count_calls(fx->st), 500);
	assert_int_equal(
	    store_get(fx->st, STORE_CALL, "CA00000000000000000000000000000007", &pg, NULL), 0);
	assert_string_equal(STORE_ROWS(pg, struct store_call_rec)->status, "failed");
	assert_int_equal(STORE_ROWS(pg, struct store_call_rec)->sip_status, 503);
	assert_string_equal(STORE_ROWS(pg, struct store_call_rec)->end_reason,
	                    "no gateway answered");
	assert_string_equal(STORE_ROWS(pg, struct store_call_rec)->from, "sip:caller-7@192.0.2.1");
	mem_deref(pg);
}

static void stats_h(void *arg, uint64_t committed)
{
	*(uint64_t *)arg = committed;
}

/* The database stays locked by another writer: posts still return at once, then drop. */
static void test_worker_bounded_burst(void **state)
{
	struct fx *fx = *state;
	struct store_worker_stats ws;
	struct store_worker *w = NULL;
	uint64_t last_commit = 0;
	struct store_worker_opts o = {
	    .queue_len = 64, .batch_max = 16, .commit_h = stats_h, .arg = &last_commit};
	struct store_call_rec r;
	char sid[35], from[64], path[128];
	size_t ok = 0, full = 0;
	double t0, dt;
	sqlite3 *db;

	assert_int_equal(store_worker_start(&w, fx->st, &o, NULL), 0);
	snprintf(path, sizeof(path), "%s/ixedge.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	t0 = now_s();
	for (uint64_t i = 0; i < 1000; i++) {
		int rc;

		call_rec(&r, i, sid, from);
		rc = store_call_record_post(w, &r);
		if (rc == 0)
			ok++;
		else if (rc == -ENOBUFS)
			full++;
		else
			fail_msg("post: %d", rc);
	}
	dt = now_s() - t0;
	/* 1000 posts while the worker waits on the lock: no post waited with it. */
	assert_true(dt < 1.0);
	assert_int_equal(ok, 64);
	assert_int_equal(full, 936);
	store_worker_stats(w, &ws);
	assert_int_equal(ws.posted, 64);
	assert_int_equal(ws.dropped, 936);
	assert_int_equal(ws.queued, 64);
	assert_int_equal(ws.committed, 0);

	usleep(200 * 1000);
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	store_worker_stop(w);
	assert_int_equal(last_commit, 64);
	assert_int_equal(count_calls(fx->st), 64);
}

static void report(void *arg, uint64_t committed)
{
	ssize_t n = write(*(int *)arg, &committed, sizeof(committed));

	(void)n; /* the parent reads whole values: pipe writes this small are atomic */
}

/* The child: posts records 0..N-1 in order and reports each commit's total on fd. */
static int child_crash(const char *dir, int fd)
{
	struct store_worker_opts o = {.batch_max = 64, .commit_h = report, .arg = &fd};
	struct store_worker *w;
	struct store *st;
	struct store_call_rec r;
	char sid[35], from[64];
	double end = now_s() + 60;

	if (store_open(&st, dir, NULL) || store_worker_start(&w, st, &o, NULL))
		return 1;
	for (uint64_t i = 0; i < 1000000 && now_s() < end;) {
		call_rec(&r, i, sid, from);
		if (store_call_record_post(w, &r) == -ENOBUFS) {
			usleep(500);
			continue;
		}
		i++;
	}
	while (now_s() < end)
		usleep(100 * 1000); /* waits for the parent's kill -9 */
	return 2;
}

/* kill -9 while writing: every commit the child saw is there, and the file is sound. */
static void test_worker_kill9(void **state)
{
	struct fx *fx = *state;
	struct store_err err = {""};
	struct store_query q = {.page_size = 1000};
	struct store_page *pg;
	uint64_t seen = 0, v, total = 0, maxi = 0;
	unsigned char *present;
	char fdarg[16], token[24] = "";
	int p[2], status;
	double end;
	pid_t pid;

	fx->st = mem_deref(fx->st);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		execl("/proc/self/exe", "test_store_worker", "--child-crash", fx->dir, fdarg,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	end = now_s() + 30;
	/* Kill somewhere past 3000 committed records, mid-stream. */
	while (seen < 3000 && now_s() < end) {
		struct pollfd pfd = {p[0], POLLIN, 0};

		if (poll(&pfd, 1, 1000) == 1) {
			if (read(p[0], &v, sizeof(v)) != sizeof(v))
				break;
			seen = v;
		}
	}
	assert_true(seen >= 3000);
	usleep((useconds_t)(rand() % 20000));
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	while (read(p[0], &v, sizeof(v)) == sizeof(v))
		seen = v;
	close(p[0]);

	assert_int_equal(store_open(&fx->st, fx->dir, &err), 0);
	assert_int_equal(store_check(fx->st, &err), 0);
	present = calloc(1000000, 1);
	do {
		q.page_token = token;
		assert_int_equal(store_list(fx->st, STORE_CALL, &q, &pg, &err), 0);
		for (size_t i = 0; i < pg->n; i++) {
			const struct store_call_rec *c = &STORE_ROWS(pg, struct store_call_rec)[i];
			struct store_call_rec want;
			char sid[35], from[64];
			unsigned long long idx;

			assert_int_equal(sscanf(c->sid, "CA%llx", &idx), 1);
			assert_true(idx < 1000000);
			call_rec(&want, idx, sid, from);
			assert_string_equal(c->sid, sid);
			assert_string_equal(c->from, from);
			assert_int_equal(c->start_time, want.start_time);
			assert_int_equal(c->duration, want.duration);
			assert_false(present[idx]);
			present[idx] = 1;
			total++;
			if (idx > maxi)
				maxi = idx;
		}
		strcpy(token, pg->next_token);
		mem_deref(pg);
	} while (token[0]);
	/* Every record the child saw committed is there, and only whole batches in order. */
	assert_true(total >= seen);
	for (uint64_t i = 0; i < seen; i++)
		assert_true(present[i]);
	assert_int_equal(total, maxi + 1);
	free(present);
	print_message("kill -9 after %llu committed records seen; %llu in the store\n",
	              (unsigned long long)seen, (unsigned long long)total);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_worker_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_worker_bounded_burst, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_worker_kill9, setup, teardown),
	};

	if (argc == 4 && !strcmp(argv[1], "--child-crash"))
		return child_crash(argv[2], atoi(argv[3]));
	srand((unsigned)time(NULL));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
