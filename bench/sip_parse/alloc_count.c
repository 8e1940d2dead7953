/* Counts heap allocations of the whole bench process by replacing malloc. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench.h"

/*
 * glibc 2.34 removed __malloc_hook, and -Wl,--wrap only sees calls from the
 * objects linked statically.  Defining malloc here instead interposes it for
 * every caller in the process (ixcore, libosip2 and libc itself), so the
 * same counter serves both parsers.  The definitions forward to glibc's own
 * allocator through its exported __libc_* entry points, so a block from
 * either path may be freed by the other.  The bench is single-threaded.
 */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static uint64_t nalloc;

uint64_t bench_alloc_count(void)
{
	return nalloc;
}

void *malloc(size_t size)
{
	nalloc++;
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	nalloc++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	nalloc++;
	return __libc_realloc(p, size);
}

void free(void *p)
{
	__libc_free(p);
}
