/* xoshiro256** per thread, seeded from getrandom(); tokens and SIDs built on it. */
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/rand.h"

static __thread uint64_t st[4];
static __thread int seeded;

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static void seed(void)
{
	size_t got = 0;

	while (got < sizeof(st)) {
		ssize_t n = getrandom((char *)st + got, sizeof(st) - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(st)) {
		/* No kernel entropy (never expected): mix time and pid so tags still differ. */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		st[0] ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull;
		st[1] ^= (uint64_t)ts.tv_sec;
		st[2] ^= (uint64_t)getpid() << 32;
		st[3] ^= (uint64_t)(uintptr_t)&got;
	}
	if (!(st[0] | st[1] | st[2] | st[3]))
		st[0] = 1;
	seeded = 1;
}

uint64_t rand_u64(void)
{
	uint64_t r, t;

	if (!seeded)
		seed();
	r = rotl(st[1] * 5, 7) * 9;
	t = st[1] << 17;
	st[2] ^= st[0];
	st[3] ^= st[1];
	st[1] ^= st[2];
	st[0] ^= st[3];
	st[2] ^= t;
	st[3] = rotl(st[3], 45);
	return r;
}

void rand_chars(char *out, size_t n)
{
	/* 64 characters, so each takes exactly 6 random bits. */
	static const char chars[64] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.";
	uint64_t r = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < n; i++) {
		if (bits < 6) {
			r = rand_u64();
			bits = 64;
		}
		out[i] = chars[r & 63];
		r >>= 6;
		bits -= 6;
	}
}

size_t rand_token(char *out, size_t len, size_t n)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	uint64_t r = 0;

	if (len == 0)
		return 0;
	if (n > len - 1)
		n = len - 1;
	for (size_t i = 0; i < n; i++) {
		if (i % 12 == 0)
			r = rand_u64();
		out[i] = alphabet[r % 36];
		r /= 36;
	}
	out[n] = '\0';
	return n;
}

void rand_sid(char out[35], const char prefix[2])
{
	static const char hex[] = "0123456789abcdef";

	out[0] = prefix[0];
	out[1] = prefix[1];
	for (int i = 0; i < 2; i++) {
		uint64_t r = rand_u64();

		for (int j = 0; j < 16; j++) {
			out[2 + i * 16 + j] = hex[r & 15];
			r >>= 4;
		}
	}
	out[34] = '\0';
}
