/* Fast non-blocking random numbers (xoshiro256**), seeded once from getrandom(). */
#ifndef IXEDGE_BASE_RAND_H
#define IXEDGE_BASE_RAND_H

#include <stddef.h>
#include <stdint.h>

/*
 * Threading: each thread has its own generator state (thread-local), seeded
 * from the kernel on first use.  Not for secrets: tags, branches, Call-IDs
 * and SIDs need uniqueness and unpredictability, which 256 bits of kernel
 * seed give; keys and nonces come from OpenSSL.
 */
uint64_t rand_u64(void);
/* n random token characters (RFC 3261 25.1: A-Z a-z 0-9 - .) into out, no NUL. */
void rand_chars(char *out, size_t n);
/* n characters of [0-9a-z] into out, NUL-terminated; returns the length written. */
size_t rand_token(char *out, size_t len, size_t n);
/* A SID: two-letter prefix + 32 lowercase hex digits ("CA3f..."), NUL-terminated (35 bytes). */
void rand_sid(char out[35], const char prefix[2]);

#endif
