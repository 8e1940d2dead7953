/* admin: the HTTP admin endpoint (/health, /metrics) beside the signalling loop. */
#ifndef IXEDGE_ADMIN_H
#define IXEDGE_ADMIN_H

#include <stdint.h>

#include "ixedge/base.h"
#include "ixedge/loopq.h"

/*
 * libmicrohttpd serves the endpoint from its own thread.  That thread never
 * touches loop state: every answer that needs the loop is computed there
 * through loopq_call(), bounded by ADMIN_LOOP_TIMEOUT_MS.  See docs/ADMIN.md.
 *
 *   GET /health   200 {"status":"ok"} when the loop ran a no-op in time,
 *                 503 {"status":"unresponsive"} otherwise
 *   GET /metrics  200 text/plain; version=0.0.4, written by metrics() on the loop
 *   other paths   404, other methods 405 with Allow; errors as JSON
 *                 {"code":N,"message":"...","status":N}
 */

#define ADMIN_LOOP_TIMEOUT_MS 1000u
#define ADMIN_MAX_CONNECTIONS 16u
#define ADMIN_CONN_TIMEOUT_S  10u

/* Writes the whole /metrics body (use prom.h); runs on the loop thread.
 * 0, or a negative errno which the client sees as a 500. */
typedef int(admin_metrics_h)(void *arg, struct buf *out);

struct admin;

/*
 * Starts serving on listen, a numeric "ipv4:port" or "[ipv6]:port" (port 0
 * picks a free one, see admin_port()).  Call on the loop thread that runs q.
 * metrics may be NULL (then /metrics answers 404).
 * -EINVAL for a malformed address; the bind's errno (-EADDRINUSE,
 * -EADDRNOTAVAIL, -EACCES...) when the address cannot be used; every failure
 * is logged with the address.
 */
int admin_start(struct admin **ap, const char *listen, struct loopq *q, admin_metrics_h *metrics,
                void *arg);

/* The bound port (useful after port 0). */
uint16_t admin_port(const struct admin *a);

/*
 * Stops the server and frees a; loop thread only, before loopq_close(q).
 * New requests get 503 at once; requests already waiting for the loop are
 * served by running q's pending items here, so the HTTP thread never waits
 * for this (blocked) loop while MHD_stop_daemon joins it.  q stays usable.
 */
void admin_stop(struct admin *a);

#endif
