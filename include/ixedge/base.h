/* ixedge base: slices, refcounted memory, growable buffers, logging. */
#ifndef IXEDGE_BASE_H
#define IXEDGE_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Error convention (whole project): functions return 0 on success or a
 * negative errno.  -EBADMSG malformed input, -ENODATA need more bytes,
 * -E2BIG a configured limit was exceeded, -ENOENT not present, -ENOMEM out
 * of memory, -EINVAL bad argument.  Results go through out-parameters.
 */

/* A pointer+length view into someone else's bytes.  Never NUL-terminated. */
struct slice {
	const char *p;
	size_t len;
};

#define SLICE(lit)   ((struct slice){(lit), sizeof(lit) - 1})
#define SLICE_NULL   ((struct slice){NULL, 0})
#define SLICE_FMT    "%.*s"
#define SLICE_ARG(s) (int)(s).len, (s).p

/* One past the last byte; never computes NULL + 0 for an empty slice. */
static inline const char *slice_end(struct slice s)
{
	return s.len ? s.p + s.len : s.p;
}

struct slice slice_cstr(const char *s);
bool slice_eq(struct slice a, struct slice b);
/* ASCII case-insensitive comparison. */
bool slice_ieq(struct slice a, struct slice b);
bool slice_ieq_cstr(struct slice a, const char *s);
/* Strip SP, HTAB, CR and LF on both ends. */
struct slice slice_trim(struct slice s);
/* Decimal digits only, no sign, no LWS; -ERANGE above max, -EBADMSG otherwise. */
int slice_to_u64(struct slice s, uint64_t max, uint64_t *out);
/* Pointer to the first byte equal to c, or NULL. */
const char *slice_chr(struct slice s, char c);
/* Value of one hex digit, either case, or -1 (shared by the SIP and digest parsers). */
static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Refcounted memory (libre style).  mem_alloc() returns zeroed memory with
 * one reference; the destructor runs when the last reference is dropped and
 * must unlink the object from every list it is on.
 */
typedef void(mem_destroy_h)(void *obj);
void *mem_alloc(size_t size, mem_destroy_h *dh);
void *mem_ref(void *obj);
/* Drops one reference; returns NULL so callers can write p = mem_deref(p). */
void *mem_deref(void *obj);
uint32_t mem_nrefs(const void *obj);

/* A growable byte buffer that owns its bytes (plain malloc, not refcounted). */
struct buf {
	char *p;
	size_t len;
	size_t cap;
};

int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t len);
int buf_append_slice(struct buf *b, struct slice s);
int buf_append_cstr(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
static inline struct slice buf_slice(const struct buf *b)
{
	return (struct slice){b->p, b->len};
}

/* Logging: one line per event to stderr, "<ts> <level> <module>: message". */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
void log_set_level(enum log_level lvl);
int log_level_parse(const char *name, enum log_level *out);
void log_msg(enum log_level lvl, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define log_debug(mod, ...) log_msg(LOG_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_msg(LOG_ERROR, mod, __VA_ARGS__)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
