/* Unit tests: loopq (order, call, timeout, close) and the admin HTTP endpoint over loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "admin/admin.h"
#include "ixedge/loopq.h"
#include "ixedge/prom.h"

/* cmocka's asserts longjmp, so only the test (loop) thread asserts; other
 * threads record what they saw and the test checks it after joining them. */

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000u;
}

/* ------------------------------------------------------------- loop env */

struct env {
	uv_loop_t loop;
	uv_timer_t watchdog;
	uv_thread_t loop_tid;
	struct loopq *q;
	struct admin *a;
	unsigned metrics_calls;
	bool metrics_off_loop;
	int metrics_fail;
};

static void watchdog_cb(uv_timer_t *t)
{
	fprintf(stderr, "test_admin: watchdog: the test did not finish in time\n");
	abort();
}

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(uv_loop_init(&e->loop), 0);
	e->loop_tid = uv_thread_self();
	assert_int_equal(loopq_alloc(&e->q, &e->loop), 0);
	/* Bounds every test; unref'd so it never keeps the loop alive. */
	assert_int_equal(uv_timer_init(&e->loop, &e->watchdog), 0);
	assert_int_equal(uv_timer_start(&e->watchdog, watchdog_cb, 20000, 0), 0);
	uv_unref((uv_handle_t *)&e->watchdog);
}

/* Runs the loop until the queue's handle is closed, then checks nothing is left. */
static void env_run_to_end(struct env *e)
{
	assert_int_equal(uv_run(&e->loop, UV_RUN_DEFAULT), 0);
	uv_close((uv_handle_t *)&e->watchdog, NULL);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&e->loop), 0);
}

/* A loop item that holds the loop until released (bounded). */
struct gate {
	uv_mutex_t m;
	uv_cond_t c;
	bool entered, released;
};

static void gate_init(struct gate *g)
{
	memset(g, 0, sizeof(*g));
	uv_mutex_init(&g->m);
	uv_cond_init(&g->c);
}

static void gate_fini(struct gate *g)
{
	uv_cond_destroy(&g->c);
	uv_mutex_destroy(&g->m);
}

static void gate_wait(struct gate *g, bool *flag)
{
	uint64_t deadline = now_ms() + 10000;

	uv_mutex_lock(&g->m);
	while (!*flag && now_ms() < deadline)
		uv_cond_timedwait(&g->c, &g->m, 50 * 1000000u);
	uv_mutex_unlock(&g->m);
}

static void gate_set(struct gate *g, bool *flag)
{
	uv_mutex_lock(&g->m);
	*flag = true;
	uv_cond_broadcast(&g->c);
	uv_mutex_unlock(&g->m);
}

static void block_fn(void *arg)
{
	struct gate *g = arg;

	gate_set(g, &g->entered);
	gate_wait(g, &g->released);
}

static void flag_fn(void *arg)
{
	*(bool *)arg = true;
}

/* ---------------------------------------------------------- loopq tests */

#define PRODUCERS    3
#define PER_PRODUCER 200

struct order_ctx {
	struct env *e;
	int last_seen[PRODUCERS]; /* loop-owned */
	bool out_of_order;        /* loop-owned */
	unsigned ran;             /* loop-owned */
	unsigned finished;        /* loop-owned */
	int post_err, call_err;   /* first failure seen by a producer (written before join) */
};

struct order_item {
	struct order_ctx *c;
	int producer, seq;
};

static void order_fn(void *arg)
{
	struct order_item *it = arg;
	struct order_ctx *c = it->c;

	if (it->seq != c->last_seen[it->producer] + 1)
		c->out_of_order = true;
	c->last_seen[it->producer] = it->seq;
	c->ran++;
	free(it);
}

static void finish_fn(void *arg)
{
	struct order_ctx *c = arg;

	/* All posts of this producer were queued before its call: FIFO. */
	if (++c->finished == PRODUCERS)
		uv_stop(&c->e->loop);
}

struct producer {
	struct order_ctx *c;
	int id;
	uv_thread_t tid;
	int post_err, call_err;
};

static void producer_main(void *arg)
{
	struct producer *p = arg;

	for (int i = 0; i < PER_PRODUCER; i++) {
		struct order_item *it = malloc(sizeof(*it));

		*it = (struct order_item){.c = p->c, .producer = p->id, .seq = i};
		p->post_err = loopq_post(p->c->e->q, order_fn, it);
		if (p->post_err) {
			free(it);
			break;
		}
	}
	p->call_err = loopq_call(p->c->e->q, finish_fn, p->c, 5000);
}

static void test_loopq_order_and_call(void **state)
{
	struct env e;
	struct order_ctx c = {.e = &e};
	struct producer prod[PRODUCERS];
	bool flag = false;

	(void)state;
	env_init(&e);
	for (int i = 0; i < PRODUCERS; i++)
		c.last_seen[i] = -1;
	/* The loop thread may not wait for itself. */
	assert_int_equal(loopq_call(e.q, flag_fn, &flag, 100), -EDEADLK);
	assert_false(flag);
	assert_int_equal(loopq_post(e.q, NULL, NULL), -EINVAL);

	for (int i = 0; i < PRODUCERS; i++) {
		prod[i] = (struct producer){.c = &c, .id = i};
		assert_int_equal(uv_thread_create(&prod[i].tid, producer_main, &prod[i]), 0);
	}
	uv_run(&e.loop, UV_RUN_DEFAULT); /* until the last finish_fn stops it */
	for (int i = 0; i < PRODUCERS; i++) {
		uv_thread_join(&prod[i].tid);
		assert_int_equal(prod[i].post_err, 0);
		assert_int_equal(prod[i].call_err, 0);
		assert_int_equal(c.last_seen[i], PER_PRODUCER - 1);
	}
	assert_false(c.out_of_order);
	assert_int_equal(c.ran, PRODUCERS * PER_PRODUCER);
	assert_int_equal(c.finished, PRODUCERS);
	assert_int_equal(loopq_pending(e.q), 0);
	loopq_close(e.q);
	env_run_to_end(&e);
}

struct timeout_ctx {
	struct env *e;
	struct gate g;
	bool late_flag;       /* set by the item that timed out, if it ever ran */
	bool seen_at_end;     /* late_flag as the loop saw it after everything queued earlier */
	int timed_err;        /* loopq_call while the loop is held */
	uint64_t timed_ms;    /* how long that call took */
	size_t pending_after; /* queue length right after the timeout */
	int ok_err;           /* loopq_call after the release */
	bool ok_flag;
};

static void end_fn(void *arg)
{
	struct timeout_ctx *c = arg;

	c->seen_at_end = c->late_flag;
	loopq_close(c->e->q);
}

static void timeout_client(void *arg)
{
	struct timeout_ctx *c = arg;
	uint64_t t0;

	loopq_post(c->e->q, block_fn, &c->g);
	gate_wait(&c->g, &c->g.entered);
	t0 = now_ms();
	c->timed_err = loopq_call(c->e->q, flag_fn, &c->late_flag, 150);
	c->timed_ms = now_ms() - t0;
	c->pending_after = loopq_pending(c->e->q);
	gate_set(&c->g, &c->g.released);
	c->ok_err = loopq_call(c->e->q, flag_fn, &c->ok_flag, 5000);
	loopq_post(c->e->q, end_fn, c);
}

static void test_loopq_timeout(void **state)
{
	struct env e;
	struct timeout_ctx c = {.e = &e};
	uv_thread_t tid;

	(void)state;
	env_init(&e);
	gate_init(&c.g);
	assert_int_equal(uv_thread_create(&tid, timeout_client, &c), 0);
	env_run_to_end(&e);
	uv_thread_join(&tid);
	gate_fini(&c.g);

	assert_int_equal(c.timed_err, -ETIMEDOUT);
	assert_in_range(c.timed_ms, 150, 3000);
	assert_int_equal(c.pending_after, 0); /* taken back, not left behind */
	assert_false(c.late_flag);            /* and never run later */
	assert_false(c.seen_at_end);
	assert_int_equal(c.ok_err, 0);
	assert_true(c.ok_flag);
}

struct close_ctx {
	struct env *e;
	struct gate g;
	bool post_ran;
	int post_during_close; /* loopq_post from an item run by loopq_close */
	bool call_ran;
	int call_err;
	uint64_t call_ms;
	bool waited_ok;
};

static void close_post_fn(void *arg)
{
	struct close_ctx *c = arg;

	c->post_ran = true;
	c->post_during_close = loopq_post(c->e->q, flag_fn, &c->call_ran);
}

/* Holds the loop until the client's post and call are both queued, then closes. */
static void close_fn(void *arg)
{
	struct close_ctx *c = arg;

	gate_set(&c->g, &c->g.entered);
	for (int i = 0; i < 5000 && loopq_pending(c->e->q) < 2; i++)
		uv_sleep(1);
	c->waited_ok = loopq_pending(c->e->q) == 2;
	loopq_close(c->e->q);
}

static void close_client(void *arg)
{
	struct close_ctx *c = arg;
	uint64_t t0;

	loopq_post(c->e->q, close_fn, c);
	gate_wait(&c->g, &c->g.entered);
	loopq_post(c->e->q, close_post_fn, c);
	t0 = now_ms();
	c->call_err = loopq_call(c->e->q, flag_fn, &c->call_ran, 8000);
	c->call_ms = now_ms() - t0;
}

static void test_loopq_close(void **state)
{
	struct env e;
	struct close_ctx c = {.e = &e};
	uv_thread_t tid;

	(void)state;
	env_init(&e);
	gate_init(&c.g);
	assert_int_equal(uv_thread_create(&tid, close_client, &c), 0);
	env_run_to_end(&e);
	uv_thread_join(&tid);
	gate_fini(&c.g);

	assert_true(c.waited_ok);
	assert_true(c.post_ran);                           /* posts run at close */
	assert_int_equal(c.post_during_close, -ESHUTDOWN); /* new work refused */
	assert_int_equal(c.call_err, -ECANCELED);          /* waiting caller released */
	assert_true(c.call_ms < 4000);
	assert_false(c.call_ran);
}

/* ------------------------------------------------------------ HTTP client */

struct resp {
	int err; /* 0, or negative errno of the socket work */
	int status;
	char ctype[96];
	char allow[64];
	char body[2048];
	uint64_t ms;
};

static void header_value(const char *head, const char *name, char *out, size_t cap)
{
	char key[64];
	const char *p, *e;

	out[0] = '\0';
	snprintf(key, sizeof(key), "\r\n%s:", name);
	p = strcasestr(head, key);
	if (!p)
		return;
	p += strlen(key);
	while (*p == ' ')
		p++;
	e = strstr(p, "\r\n");
	snprintf(out, cap, "%.*s", (int)(e ? e - p : (ptrdiff_t)strlen(p)), p);
}

/* One request on a fresh connection (Connection: close), read to EOF. */
static void http(int family, uint16_t port, const char *method, const char *path, struct resp *r)
{
	char req[512], raw[8192];
	struct sockaddr_storage ss = {0};
	struct timeval tv = {.tv_sec = 10};
	socklen_t sslen;
	size_t len = 0;
	uint64_t t0 = now_ms();
	const char *sep;
	ssize_t n;
	int fd, reqlen;

	memset(r, 0, sizeof(*r));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_loopback;
		sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sslen = sizeof(*s4);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r->err = -errno;
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* A POST carries a small body, which the server must discard. */
	reqlen = snprintf(req, sizeof(req),
	                  "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n%s",
	                  method, path, strcmp(method, "POST") == 0 ? "Content-Length: 2\r\n" : "",
	                  strcmp(method, "POST") == 0 ? "{}" : "");
	if (connect(fd, (struct sockaddr *)&ss, sslen) < 0 ||
	    send(fd, req, (size_t)reqlen, MSG_NOSIGNAL) != reqlen) {
		r->err = -errno;
		close(fd);
		return;
	}
	for (int i = 0; i < 1000 && len < sizeof(raw) - 1; i++) {
		n = recv(fd, raw + len, sizeof(raw) - 1 - len, 0);
		if (n <= 0) {
			if (n < 0)
				r->err = -errno;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	raw[len] = '\0';
	r->ms = now_ms() - t0;
	if (sscanf(raw, "HTTP/1.%*d %d", &r->status) != 1) {
		r->err = r->err ? r->err : -EBADMSG;
		return;
	}
	sep = strstr(raw, "\r\n\r\n");
	if (!sep) {
		r->err = -EBADMSG;
		return;
	}
	header_value(raw, "Content-Type", r->ctype, sizeof(r->ctype));
	header_value(raw, "Allow", r->allow, sizeof(r->allow));
	snprintf(r->body, sizeof(r->body), "%s", sep + 4);
}

/* --------------------------------------------------------- admin tests */

static int metrics_cb(void *arg, struct buf *out)
{
	struct env *e = arg;
	uv_thread_t self = uv_thread_self();
	int err;

	if (!uv_thread_equal(&self, &e->loop_tid))
		e->metrics_off_loop = true;
	if (e->metrics_fail)
		return e->metrics_fail;
	e->metrics_calls++;
	err = prom_header(out, "ixedge_test_scrapes_total", "counter", "Scrapes \"so far\".");
	if (!err)
		err = prom_value(out, "ixedge_test_scrapes_total", PROM_LABELS({"who", "a\"b"}),
		                 e->metrics_calls);
	return err;
}

enum {
	R_HEALTH,
	R_METRICS,
	R_METRICS_Q,
	R_HEAD,
	R_404,
	R_404_QUOTE,
	R_405,
	R_METRICS_ERR,
	R_BLOCKED_HEALTH,
	R_BLOCKED_METRICS,
	R_HEALTH_AFTER,
	R__COUNT
};

struct http_ctx {
	struct env *e;
	struct gate g;
	uint16_t port;
	struct resp r[R__COUNT];
};

static void metrics_fail_fn(void *arg)
{
	struct env *e = arg;

	e->metrics_fail = e->metrics_fail ? 0 : -ENOSPC;
}

static void stop_fn(void *arg)
{
	struct env *e = arg;

	admin_stop(e->a);
	e->a = NULL;
	loopq_close(e->q);
}

static void http_client(void *arg)
{
	struct http_ctx *c = arg;
	struct env *e = c->e;

	http(AF_INET, c->port, "GET", "/health", &c->r[R_HEALTH]);
	http(AF_INET, c->port, "GET", "/metrics", &c->r[R_METRICS]);
	http(AF_INET, c->port, "GET", "/metrics?x=1", &c->r[R_METRICS_Q]);
	http(AF_INET, c->port, "HEAD", "/health", &c->r[R_HEAD]);
	http(AF_INET, c->port, "GET", "/nope", &c->r[R_404]);
	http(AF_INET, c->port, "GET", "/a%22b%5C", &c->r[R_404_QUOTE]);
	http(AF_INET, c->port, "POST", "/health", &c->r[R_405]);
	loopq_call(e->q, metrics_fail_fn, e, 5000);
	http(AF_INET, c->port, "GET", "/metrics", &c->r[R_METRICS_ERR]);
	loopq_call(e->q, metrics_fail_fn, e, 5000);

	/* Hold the loop: the endpoint must say so instead of hanging. */
	loopq_post(e->q, block_fn, &c->g);
	gate_wait(&c->g, &c->g.entered);
	http(AF_INET, c->port, "GET", "/health", &c->r[R_BLOCKED_HEALTH]);
	http(AF_INET, c->port, "GET", "/metrics", &c->r[R_BLOCKED_METRICS]);
	gate_set(&c->g, &c->g.released);
	http(AF_INET, c->port, "GET", "/health", &c->r[R_HEALTH_AFTER]);

	loopq_post(e->q, stop_fn, e);
}

static void assert_resp(const struct resp *r, int status, const char *ctype, const char *body)
{
	assert_int_equal(r->err, 0);
	assert_int_equal(r->status, status);
	if (ctype)
		assert_string_equal(r->ctype, ctype);
	if (body)
		assert_string_equal(r->body, body);
}

static void test_admin_endpoints(void **state)
{
	struct env e;
	struct http_ctx c = {.e = &e};
	uv_thread_t tid;

	(void)state;
	env_init(&e);
	gate_init(&c.g);
	assert_int_equal(admin_start(&e.a, "127.0.0.1:0", e.q, metrics_cb, &e), 0);
	c.port = admin_port(e.a);
	assert_true(c.port > 0);
	assert_int_equal(uv_thread_create(&tid, http_client, &c), 0);
	env_run_to_end(&e);
	uv_thread_join(&tid);
	gate_fini(&c.g);

	assert_resp(&c.r[R_HEALTH], 200, "application/json", "{\"status\":\"ok\"}\n");
	assert_resp(&c.r[R_METRICS], 200, PROM_CONTENT_TYPE,
	            "# HELP ixedge_test_scrapes_total Scrapes \"so far\".\n"
	            "# TYPE ixedge_test_scrapes_total counter\n"
	            "ixedge_test_scrapes_total{who=\"a\\\"b\"} 1\n");
	assert_resp(&c.r[R_METRICS_Q], 200, PROM_CONTENT_TYPE, NULL);
	assert_non_null(strstr(c.r[R_METRICS_Q].body, "} 2\n"));
	assert_resp(&c.r[R_HEAD], 200, "application/json", "");
	assert_resp(&c.r[R_404], 404, "application/json",
	            "{\"code\":404,\"message\":\"no such path: /nope\",\"status\":404}\n");
	assert_resp(&c.r[R_404_QUOTE], 404, "application/json",
	            "{\"code\":404,\"message\":\"no such path: /a\\\"b\\\\\",\"status\":404}\n");
	assert_resp(&c.r[R_405], 405, "application/json",
	            "{\"code\":405,\"message\":\"method POST not allowed on /health\","
	            "\"status\":405}\n");
	assert_string_equal(c.r[R_405].allow, "GET, HEAD");
	assert_resp(&c.r[R_METRICS_ERR], 500, "application/json",
	            "{\"code\":500,\"message\":\"metrics could not be written: No space left on "
	            "device\",\"status\":500}\n");

	assert_resp(&c.r[R_BLOCKED_HEALTH], 503, "application/json",
	            "{\"status\":\"unresponsive\"}\n");
	assert_in_range(c.r[R_BLOCKED_HEALTH].ms, ADMIN_LOOP_TIMEOUT_MS - 50, 5000);
	assert_resp(&c.r[R_BLOCKED_METRICS], 503, "application/json",
	            "{\"code\":503,\"message\":\"signalling loop did not answer within 1000 ms\","
	            "\"status\":503}\n");
	assert_resp(&c.r[R_HEALTH_AFTER], 200, "application/json", "{\"status\":\"ok\"}\n");

	assert_int_equal(e.metrics_calls, 2); /* the blocked scrape never ran late */
	assert_false(e.metrics_off_loop);
	assert_null(e.a);
}

/* admin_stop while the HTTP thread waits in loopq_call for this loop. */
struct stop_ctx {
	struct env *e;
	struct gate g;
	uint16_t port;
	struct resp r;
	uint64_t stop_ms;
	bool saw_waiter;
};

static void stop_while_waiting_fn(void *arg)
{
	struct stop_ctx *c = arg;
	uint64_t t0;

	gate_set(&c->g, &c->g.entered);
	/* Wait (bounded) for the HTTP thread's /health item to be queued. */
	for (int i = 0; i < 5000 && loopq_pending(c->e->q) == 0; i++)
		uv_sleep(1);
	c->saw_waiter = loopq_pending(c->e->q) == 1;
	t0 = now_ms();
	admin_stop(c->e->a);
	c->stop_ms = now_ms() - t0;
	c->e->a = NULL;
	loopq_close(c->e->q);
}

static void stop_client(void *arg)
{
	struct stop_ctx *c = arg;

	loopq_post(c->e->q, stop_while_waiting_fn, c);
	gate_wait(&c->g, &c->g.entered);
	http(AF_INET, c->port, "GET", "/health", &c->r);
}

static void test_admin_stop_while_waiting(void **state)
{
	struct env e;
	struct stop_ctx c = {.e = &e};
	uv_thread_t tid;

	(void)state;
	env_init(&e);
	gate_init(&c.g);
	assert_int_equal(admin_start(&e.a, "127.0.0.1:0", e.q, NULL, NULL), 0);
	c.port = admin_port(e.a);
	assert_int_equal(uv_thread_create(&tid, stop_client, &c), 0);
	env_run_to_end(&e);
	uv_thread_join(&tid);
	gate_fini(&c.g);

	assert_true(c.saw_waiter);
	/* Served by admin_stop's own run of the queue, not by a timeout. */
	assert_resp(&c.r, 200, "application/json", "{\"status\":\"ok\"}\n");
	assert_true(c.stop_ms < ADMIN_LOOP_TIMEOUT_MS / 2);
}

static void test_admin_listen_errors(void **state)
{
	static const char *const bad[] = {"127.0.0.1",  "localhost:9060", "127.0.0.1:65536",
	                                  "127.0.0.1:", ":9060",          "[::1]9060",
	                                  "[::1]",      "::1:9060",       "127.0.0.1:90x",
	                                  "1.2.3:9060", "[127.0.0.1]:1",  "127.0.0.1:123456"};
	struct admin *a = NULL, *b = NULL;
	char addr[64];
	struct env e;

	(void)state;
	env_init(&e);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(admin_start(&b, bad[i], e.q, NULL, NULL), -EINVAL);
	assert_null(b);

	assert_int_equal(admin_start(&a, "127.0.0.1:0", e.q, NULL, NULL), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", admin_port(a));
	assert_int_equal(admin_start(&b, addr, e.q, NULL, NULL), -EADDRINUSE);
	/* Not an address of this host (TEST-NET-1): the bind is refused locally. */
	assert_int_equal(admin_start(&b, "192.0.2.1:0", e.q, NULL, NULL), -EADDRNOTAVAIL);
	assert_null(b);
	admin_stop(a);
	loopq_close(e.q);
	env_run_to_end(&e);
}

static bool ipv6_loopback_usable(void)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

struct v6_ctx {
	struct env *e;
	uint16_t port;
	struct resp r, r4;
};

static void v6_client(void *arg)
{
	struct v6_ctx *c = arg;

	http(AF_INET6, c->port, "GET", "/health", &c->r);
	/* Bound to [::1] only: nothing answers on 127.0.0.1 at that port. */
	http(AF_INET, c->port, "GET", "/health", &c->r4);
	loopq_post(c->e->q, stop_fn, c->e);
}

static void test_admin_ipv6(void **state)
{
	struct env e;
	struct v6_ctx c = {.e = &e};
	uv_thread_t tid;

	(void)state;
	if (!ipv6_loopback_usable())
		skip();
	env_init(&e);
	assert_int_equal(admin_start(&e.a, "[::1]:0", e.q, NULL, NULL), 0);
	c.port = admin_port(e.a);
	assert_int_equal(uv_thread_create(&tid, v6_client, &c), 0);
	env_run_to_end(&e);
	uv_thread_join(&tid);
	assert_resp(&c.r, 200, "application/json", "{\"status\":\"ok\"}\n");
	assert_int_equal(c.r4.err, -ECONNREFUSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loopq_order_and_call),
	    cmocka_unit_test(test_loopq_timeout),
	    cmocka_unit_test(test_loopq_close),
	    cmocka_unit_test(test_admin_endpoints),
	    cmocka_unit_test(test_admin_stop_while_waiting),
	    cmocka_unit_test(test_admin_listen_errors),
	    cmocka_unit_test(test_admin_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
