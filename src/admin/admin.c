/* admin: libmicrohttpd server for /health and /metrics; the loop is reached via loopq only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <uv.h>

#include "admin/admin.h"
#include "ixedge/prom.h"

#define MOD "admin"

struct admin {
	struct MHD_Daemon *mhd;
	struct loopq *q;
	admin_metrics_h *metrics;
	void *arg;
	uint16_t port;
	char listen[64]; /* the bound address, for messages */

	/* Shared with the HTTP thread. */
	uv_mutex_t mtx;
	uv_cond_t idle;  /* signalled when active drops */
	bool stopping;   /* requests from now on never touch the loop */
	unsigned active; /* requests begun before stopping and not yet completed */
};

/* *con_cls of a request: counted in active, or begun while stopping. */
static char req_counted, req_stopping;

/* ------------------------------------------------------------ addresses */

/* Numeric "a.b.c.d:port" or "[v6]:port"; port 0-65535, digits only. */
static int listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sslen)
{
	char host[INET6_ADDRSTRLEN];
	const char *h, *colon;
	size_t hlen;
	unsigned long port = 0;
	bool v6 = s[0] == '[';

	if (v6) {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
		h = s;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';

	if (colon[1] == '\0' || strlen(colon + 1) > 5)
		return -EINVAL;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port > 65535)
		return -EINVAL;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		*sslen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		*sslen = sizeof(*sin);
	}
	return 0;
}

/*
 * The listening socket is made here rather than by MHD (MHD_OPTION_SOCK_ADDR)
 * so a failure reports the bind's own errno and the address, and port 0 can
 * be read back with getsockname().  MHD takes it over and closes it.
 */
static int listener_open(const struct sockaddr_storage *ss, socklen_t sslen, int *fdp,
                         uint16_t *portp)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	int fd, one = 1, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Lets a restart rebind over TIME_WAIT; Linux still refuses a second
	 * listener on the same address. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)ss, sslen) < 0)
		goto fail;
	if (listen(fd, (int)ADMIN_MAX_CONNECTIONS) < 0)
		goto fail;
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) < 0)
		goto fail;
	*portp = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
	                                           : ((struct sockaddr_in *)&bound)->sin_port);
	*fdp = fd;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

/* ------------------------------------------------------------ responses */

/* A JSON string body: quote, backslash, controls and non-ASCII as escapes,
 * so bytes from a URL can never make the document invalid. */
static int json_str(struct buf *b, const char *s)
{
	int err = buf_append_cstr(b, "\"");

	for (; *s && !err; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			err = buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			err = buf_printf(b, "\\u%04x", c);
		else
			err = buf_append(b, s, 1);
	}
	return err ? err : buf_append_cstr(b, "\"");
}

static int json_error(struct buf *b, unsigned code, const char *msg)
{
	int err = buf_printf(b, "{\"code\":%u,\"message\":", code);

	if (!err)
		err = json_str(b, msg);
	if (!err)
		err = buf_printf(b, ",\"status\":%u}\n", code);
	return err;
}

/* Queues body (taking its bytes) with the given status and headers. */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *ctype,
                               struct buf *body, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (body->p) {
		r = MHD_create_response_from_buffer(body->len, body->p, MHD_RESPMEM_MUST_FREE);
		if (r)
			*body = (struct buf){0};
	} else {
		r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	}
	buf_free(body);
	if (!r)
		return MHD_NO; /* out of memory: MHD drops the connection */
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
	    (allow && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned code, const char *msg,
                                     const char *allow)
{
	struct buf b = {0};

	if (json_error(&b, code, msg)) {
		buf_free(&b);
		return MHD_NO;
	}
	return respond(conn, code, "application/json", &b, allow);
}

/* ------------------------------------------------------- loop requests */

/* Only requests counted in active may wait for the loop: admin_stop runs
 * the loop's queue until they are all complete. */
static int loop_call(struct admin *a, void **con_cls, loopq_h *fn, void *arg)
{
	if (*con_cls != &req_counted)
		return -ESHUTDOWN;
	return loopq_call(a->q, fn, arg, ADMIN_LOOP_TIMEOUT_MS);
}

static void health_fn(void *arg)
{
	*(bool *)arg = true;
}

static enum MHD_Result serve_health(struct admin *a, struct MHD_Connection *conn, void **con_cls)
{
	struct buf b = {0};
	bool answered = false;
	int err = loop_call(a, con_cls, health_fn, &answered);
	const char *status = err == -ESHUTDOWN ? "stopping" : "unresponsive";

	if (!err && answered) {
		if (buf_append_cstr(&b, "{\"status\":\"ok\"}\n"))
			return MHD_NO;
		return respond(conn, MHD_HTTP_OK, "application/json", &b, NULL);
	}
	if (err != -ESHUTDOWN)
		log_warn(MOD, "/health: signalling loop did not answer within %u ms",
		         ADMIN_LOOP_TIMEOUT_MS);
	if (buf_printf(&b, "{\"status\":\"%s\"}\n", status))
		return MHD_NO;
	return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", &b, NULL);
}

struct metrics_req {
	struct admin *a;
	struct buf out;
	int err;
};

/* Runs on the loop: the only place metrics state is read. */
static void metrics_fn(void *arg)
{
	struct metrics_req *r = arg;

	r->err = r->a->metrics(r->a->arg, &r->out);
}

static enum MHD_Result serve_metrics(struct admin *a, struct MHD_Connection *conn, void **con_cls)
{
	struct metrics_req r = {.a = a};
	char msg[128];
	int err = loop_call(a, con_cls, metrics_fn, &r);

	if (err) {
		buf_free(&r.out);
		if (err == -ESHUTDOWN)
			snprintf(msg, sizeof(msg), "shutting down");
		else
			snprintf(msg, sizeof(msg), "signalling loop did not answer within %u ms",
			         ADMIN_LOOP_TIMEOUT_MS);
		if (err != -ESHUTDOWN)
			log_warn(MOD, "/metrics: %s", msg);
		return respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, msg, NULL);
	}
	if (r.err) {
		buf_free(&r.out);
		snprintf(msg, sizeof(msg), "metrics could not be written: %s", strerror(-r.err));
		log_warn(MOD, "/metrics: %s", msg);
		return respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, msg, NULL);
	}
	return respond(conn, MHD_HTTP_OK, PROM_CONTENT_TYPE, &r.out, NULL);
}

/* -------------------------------------------------------------- routing */

/* Runs on the MHD thread.  Answers at the first call for every request:
 * no endpoint takes a body, and MHD discards one that was sent. */
static enum MHD_Result access_h(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
	struct admin *a = cls;
	bool health = strcmp(url, "/health") == 0;
	bool metrics = a->metrics && strcmp(url, "/metrics") == 0;
	char msg[160];

	if (*con_cls)
		return MHD_YES; /* answered at the first call; MHD is draining a body */
	uv_mutex_lock(&a->mtx);
	if (a->stopping) {
		*con_cls = &req_stopping;
	} else {
		*con_cls = &req_counted;
		a->active++;
	}
	uv_mutex_unlock(&a->mtx);

	if (!health && !metrics) {
		snprintf(msg, sizeof(msg), "no such path: %.120s", url);
		return respond_error(conn, MHD_HTTP_NOT_FOUND, msg, NULL);
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		snprintf(msg, sizeof(msg), "method %.40s not allowed on %s", method, url);
		return respond_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, msg, "GET, HEAD");
	}
	return health ? serve_health(a, conn, con_cls) : serve_metrics(a, conn, con_cls);
}

/* MHD calls this once per request that reached access_h, however it ended
 * (response sent, client gone, timeout, daemon stopping). */
static void completed_h(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
	struct admin *a = cls;

	if (*con_cls == &req_counted) {
		uv_mutex_lock(&a->mtx);
		a->active--;
		uv_cond_signal(&a->idle);
		uv_mutex_unlock(&a->mtx);
	}
	*con_cls = NULL;
}

/* MHD's own diagnostics, as one log line each. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_warn(MOD, "libmicrohttpd: %s", line);
}

/* ------------------------------------------------------------ lifecycle */

int admin_start(struct admin **ap, const char *listen, struct loopq *q, admin_metrics_h *metrics,
                void *arg)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct admin *a;
	int fd = -1, err;

	if (!ap || !listen || !q)
		return -EINVAL;
	err = listen_parse(listen, &ss, &sslen);
	if (err) {
		log_error(MOD, "bad listen address '%s': want numeric ip:port or [ipv6]:port",
		          listen);
		return err;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->q = q;
	a->metrics = metrics;
	a->arg = arg;
	err = uv_mutex_init(&a->mtx);
	if (err)
		goto out_free;
	err = uv_cond_init(&a->idle);
	if (err)
		goto out_mtx;

	err = listener_open(&ss, sslen, &fd, &a->port);
	if (err) {
		log_error(MOD, "cannot listen on %s: %s", listen, strerror(-err));
		goto out_cond;
	}
	/* The logger must come first or MHD prints early messages itself. */
	a->mhd = MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, access_h, a,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, a, MHD_OPTION_NOTIFY_COMPLETED, completed_h, a,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)ADMIN_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)ADMIN_CONN_TIMEOUT_S, MHD_OPTION_END);
	if (!a->mhd) {
		close(fd);
		err = -EIO;
		log_error(MOD, "cannot start the HTTP server on %s", listen);
		goto out_cond;
	}
	if (ss.ss_family == AF_INET6)
		snprintf(a->listen, sizeof(a->listen), "[%.*s]:%u", (int)strcspn(listen + 1, "]"),
		         listen + 1, a->port);
	else
		snprintf(a->listen, sizeof(a->listen), "%.*s:%u", (int)strcspn(listen, ":"), listen,
		         a->port);
	log_info(MOD, "listening on %s", a->listen);
	*ap = a;
	return 0;

out_cond:
	uv_cond_destroy(&a->idle);
out_mtx:
	uv_mutex_destroy(&a->mtx);
out_free:
	free(a);
	return err;
}

uint16_t admin_port(const struct admin *a)
{
	return a ? a->port : 0;
}

/*
 * Shutdown order.  MHD_stop_daemon joins the HTTP thread, and that thread
 * may be inside loopq_call waiting for this very loop: joining first would
 * block the loop until the call timed out, and MHD would then cut the
 * connection before the answer went out.  So:
 *   1. stopping: requests from now on answer 503 without the loop;
 *   2. run q's pending items here until every request begun earlier has
 *      completed (its response sent), bounded by twice the call timeout;
 *   3. MHD_stop_daemon: closes the listener and idle keep-alive
 *      connections and joins the thread, which has nothing left to wait for.
 */
void admin_stop(struct admin *a)
{
	uint64_t deadline;

	if (!a)
		return;
	deadline = uv_hrtime() + 2ull * ADMIN_LOOP_TIMEOUT_MS * 1000000u;
	uv_mutex_lock(&a->mtx);
	a->stopping = true;
	while (a->active > 0 && uv_hrtime() < deadline) {
		uv_mutex_unlock(&a->mtx);
		loopq_run(a->q);
		uv_mutex_lock(&a->mtx);
		if (a->active > 0)
			/* Its item may not be queued yet, or its answer not sent. */
			uv_cond_timedwait(&a->idle, &a->mtx, 5 * 1000000u);
	}
	if (a->active > 0)
		log_warn(MOD, "stopping with %u request(s) unfinished", a->active);
	uv_mutex_unlock(&a->mtx);
	MHD_stop_daemon(a->mhd);
	log_info(MOD, "stopped listening on %s", a->listen);
	uv_cond_destroy(&a->idle);
	uv_mutex_destroy(&a->mtx);
	free(a);
}
