/* bench/media: the generator's per-stream addresses and the target file, shared by gen and
 * relay_host. */
#ifndef IXEDGE_BENCH_MEDIA_STREAMS_H
#define IXEDGE_BENCH_MEDIA_STREAMS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>

/* Bounded: 16,000 streams are 64,000 relay sockets, past any fd limit here. */
#define BENCH_MEDIA_MAX_STREAMS 16000

/*
 * Stream i's two sides live on their own loopback address, 127.88.X.Y with
 * X = 1 + i / 200 and Y = 1 + i % 200: side A on port PA, side B on port PB
 * (both given on the command line).  One generator socket per side bound to
 * the wildcard address receives for every stream, so the generator can send
 * and receive in batches, while each relay still sees one distinct remote
 * address per endpoint, as it would in production.
 */
static inline struct in_addr bench_stream_ip(unsigned i)
{
	return (struct in_addr){htonl(0x7f580000u | ((1u + i / 200u) << 8) | (1u + i % 200u))};
}

/* The stream index of a 127.88.X.Y address, or -1. */
static inline long bench_stream_index(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr), x = (h >> 8) & 0xff, y = h & 0xff;

	if ((h >> 16) != 0x7f58 || x < 1 || y < 1 || y > 200)
		return -1;
	return (long)(x - 1) * 200 + (long)(y - 1);
}

/*
 * The target file, one line per stream: "INDEX IP_A PORT_A IP_B PORT_B",
 * where IP_A:PORT_A is the relay's port that side A sends to (it relays
 * toward side B) and IP_B:PORT_B the one side B sends to.
 */
static inline int bench_target_write(FILE *f, unsigned i, const struct sockaddr_in *a,
                                     const struct sockaddr_in *b)
{
	char sa[INET_ADDRSTRLEN], sb[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->sin_addr, sa, sizeof(sa));
	inet_ntop(AF_INET, &b->sin_addr, sb, sizeof(sb));
	return fprintf(f, "%u %s %u %s %u\n", i, sa, ntohs(a->sin_port), sb, ntohs(b->sin_port));
}

#endif
