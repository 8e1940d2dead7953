/* rtp: parsers for what arrives on a media port: RTP header, RTCP compound, STUN recognition. */
#ifndef IXEDGE_MEDIA_RTP_H
#define IXEDGE_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Pure functions of their arguments (any thread).  Every length comes from
 * the caller's buffer; nothing is read past p + len.  -EBADMSG: malformed.
 */

/* RFC 7983 demultiplexing of one datagram on a media port, RFC 5761 section 4 for RTCP. */
enum rtp_kind {
	RTP_KIND_OTHER = 0, /* not RTP/RTCP/STUN: DTLS, junk */
	RTP_KIND_RTP,
	RTP_KIND_RTCP,
	RTP_KIND_STUN,
};
enum rtp_kind rtp_classify(const uint8_t *p, size_t len);

/* RFC 5389 6: first two bits zero, magic cookie, length a multiple of 4 matching the datagram. */
bool stun_is(const uint8_t *p, size_t len);

/* RFC 3550 5.1 fixed header, CSRC list, header extension and padding. */
struct rtp_hdr {
	uint8_t pt;
	bool marker;
	uint8_t cc;
	uint16_t seq;
	uint32_t ts, ssrc;
	bool ext;
	uint16_t ext_profile; /* when ext */
	size_t ext_len;       /* extension data bytes (after its 4-byte header) */
	size_t hdr_len;       /* bytes before the payload */
	size_t payload_len;   /* without padding */
	uint8_t pad_len;      /* padding bytes, the last one included */
};
int rtp_hdr_decode(struct rtp_hdr *h, const uint8_t *p, size_t len);

/* One packet of an RTCP compound (RFC 3550 6.4). */
struct rtcp_pkt {
	uint8_t pt;       /* 200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP, 205/206 feedback */
	uint8_t count;    /* RC / SC / FMT field */
	const uint8_t *p; /* the whole packet, header included */
	size_t len;       /* (length field + 1) * 4 */
	size_t pad_len;   /* padding at its end (last packet only) */
};

/* RFC 3550 6.4.1 report block. */
struct rtcp_rb {
	uint32_t ssrc;
	uint8_t fraction_lost;
	int32_t cum_lost; /* 24-bit two's complement, sign-extended */
	uint32_t ext_seq, jitter, lsr, dlsr;
};

/*
 * Takes the next packet off (*p, *len).  -ENOENT at the end; -EBADMSG when
 * the version is not 2, the length runs past the datagram, or padding is
 * not on the last packet or is larger than the packet body.
 */
int rtcp_pkt_next(const uint8_t **p, size_t *len, struct rtcp_pkt *pkt);
/* Report block i of an SR or RR; -ENOENT past RC or for other types, -EBADMSG if it does not fit.
 */
int rtcp_rb_get(const struct rtcp_pkt *pkt, unsigned i, struct rtcp_rb *rb);

/* What the relay keeps of a compound. */
struct rtcp_sum {
	unsigned npkts;
	unsigned nblocks;    /* report blocks over all SR/RR packets */
	struct rtcp_rb last; /* the last one, when nblocks > 0 */
};
/*
 * Validates a whole compound (every packet well formed, lengths summing to
 * the datagram; RFC 5506 reduced-size compounds accepted, so the first
 * packet need not be SR/RR) and summarizes its report blocks.
 */
int rtcp_compound_decode(struct rtcp_sum *s, const uint8_t *p, size_t len);

#endif
