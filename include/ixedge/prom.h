/* prom: writers for the Prometheus text exposition format, version 0.0.4. */
#ifndef IXEDGE_PROM_H
#define IXEDGE_PROM_H

#include "ixedge/base.h"

/*
 * Output is appended to a struct buf; the whole exposition is served as
 * "text/plain; version=0.0.4".  Pure functions of their arguments: any
 * thread may use them on its own buffer.
 *
 * Every function validates before it writes: on error the buffer is left
 * exactly as it was (no half lines), and the return is
 *   -EINVAL  a metric or label name outside [a-zA-Z_:][a-zA-Z0-9_:]* (labels:
 *            [a-zA-Z_][a-zA-Z0-9_]*), a repeated label name, an unknown type;
 *   -EEXIST  prom_header for a metric whose family was already closed by
 *            another metric's header (the format allows one block per name);
 *   -ENOMEM.
 */

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_label {
	const char *key;
	const char *value; /* any bytes but NUL; escaped on output */
};

/* A label array and its count for prom_value():
 *   prom_value(b, "ixedge_msgs_in_total", PROM_LABELS({"method", "INVITE"}), 3) */
#define PROM_LABELS(...)                                                                           \
	(const struct prom_label[]){__VA_ARGS__},                                                  \
	    sizeof((const struct prom_label[]){__VA_ARGS__}) / sizeof(struct prom_label)

/* True when name is a valid metric name. */
bool prom_name_valid(const char *name);

/*
 * "# HELP name help\n# TYPE name type\n" (HELP omitted when help is NULL),
 * with backslash and newline in help escaped.  type is one of "counter",
 * "gauge", "histogram", "summary", "untyped".  Writing the header of the
 * metric whose header was written last is a no-op returning 0, so callers
 * may call it before each sample of a family.
 */
int prom_header(struct buf *b, const char *name, const char *type, const char *help);

/*
 * One sample line: name{k="v",...} value.  Label values have backslash,
 * double quote and newline escaped; labels may be NULL when nlabels is 0.
 * value is printed exactly (shortest round-trip form; NaN, +Inf, -Inf).
 */
int prom_value(struct buf *b, const char *name, const struct prom_label *labels, size_t nlabels,
               double value);

/* A whole counter or gauge without labels: header and value. */
int prom_counter(struct buf *b, const char *name, const char *help, uint64_t v);
int prom_gauge(struct buf *b, const char *name, const char *help, uint64_t v);

#endif
