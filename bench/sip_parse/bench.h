/* Shared declarations of the sip_parse benchmark (allocation counter). */
#ifndef IXEDGE_BENCH_SIP_PARSE_H
#define IXEDGE_BENCH_SIP_PARSE_H

#include <stdint.h>

/* Calls to malloc/calloc/realloc made by anything in this process so far. */
uint64_t bench_alloc_count(void);

#endif
