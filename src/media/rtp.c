/* rtp: RTP header, RTCP compound and STUN recognition over caller-owned bytes. */
#include <errno.h>

#include "media/rtp.h"

#define RTP_FIXED      12
#define RTCP_HDR       4
#define RTCP_SR        200
#define RTCP_RR        201
#define RTCP_RB_LEN    24
#define RTCP_SR_BLOCKS 28 /* header, SSRC, 20 bytes of sender info */
#define RTCP_RR_BLOCKS 8  /* header, SSRC */
#define STUN_HDR       20
#define STUN_COOKIE    0x2112A442u

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool stun_is(const uint8_t *p, size_t len)
{
	size_t mlen;

	if (len < STUN_HDR || (p[0] & 0xc0) != 0 || rd32(p + 4) != STUN_COOKIE)
		return false;
	mlen = rd16(p + 2);
	return mlen % 4 == 0 && mlen + STUN_HDR == len;
}

enum rtp_kind rtp_classify(const uint8_t *p, size_t len)
{
	struct rtp_hdr h;

	if (len == 0)
		return RTP_KIND_OTHER;
	if (p[0] < 4) /* RFC 7983: 0-3 is STUN; the cookie makes it RFC 5389 STUN */
		return stun_is(p, len) ? RTP_KIND_STUN : RTP_KIND_OTHER;
	if ((p[0] >> 6) != 2 || len < RTCP_HDR)
		return RTP_KIND_OTHER;
	/* RFC 5761 4: RTP payload types 64-95 are avoided so that 192-223 mean RTCP. */
	if (p[1] >= 192 && p[1] <= 223)
		return len >= 8 ? RTP_KIND_RTCP : RTP_KIND_OTHER; /* SRTCP trailers break % 4 */
	return rtp_hdr_decode(&h, p, len) == 0 ? RTP_KIND_RTP : RTP_KIND_OTHER;
}

static int rtp_ext_decode(struct rtp_hdr *h, const uint8_t *p, size_t len, size_t *off)
{
	if (len - *off < 4)
		return -EBADMSG;
	h->ext_profile = rd16(p + *off);
	h->ext_len = (size_t)rd16(p + *off + 2) * 4;
	*off += 4;
	if (len - *off < h->ext_len)
		return -EBADMSG;
	*off += h->ext_len;
	return 0;
}

int rtp_hdr_decode(struct rtp_hdr *h, const uint8_t *p, size_t len)
{
	size_t off;
	int err;

	*h = (struct rtp_hdr){0};
	if (len < RTP_FIXED || (p[0] >> 6) != 2)
		return -EBADMSG;
	h->cc = p[0] & 0x0f;
	h->ext = (p[0] & 0x10) != 0;
	h->marker = (p[1] & 0x80) != 0;
	h->pt = p[1] & 0x7f;
	h->seq = rd16(p + 2);
	h->ts = rd32(p + 4);
	h->ssrc = rd32(p + 8);
	off = RTP_FIXED + (size_t)h->cc * 4;
	if (off > len)
		return -EBADMSG;
	if (h->ext) {
		err = rtp_ext_decode(h, p, len, &off);
		if (err)
			return err;
	}
	h->hdr_len = off;
	if (p[0] & 0x20) {
		/* The last octet counts the padding, itself included. */
		h->pad_len = p[len - 1];
		if (h->pad_len == 0 || h->pad_len > len - off)
			return -EBADMSG;
	}
	h->payload_len = len - off - h->pad_len;
	return 0;
}

int rtcp_pkt_next(const uint8_t **p, size_t *len, struct rtcp_pkt *pkt)
{
	const uint8_t *b = *p;
	size_t plen;

	if (*len == 0)
		return -ENOENT;
	if (*len < RTCP_HDR || (b[0] >> 6) != 2)
		return -EBADMSG;
	plen = ((size_t)rd16(b + 2) + 1) * 4;
	if (plen > *len)
		return -EBADMSG;
	*pkt = (struct rtcp_pkt){.pt = b[1], .count = b[0] & 0x1f, .p = b, .len = plen};
	if (b[0] & 0x20) {
		/* RFC 3550 A.2: only the last packet of a compound may carry padding. */
		pkt->pad_len = b[plen - 1];
		if (plen != *len || pkt->pad_len == 0 || pkt->pad_len > plen - RTCP_HDR)
			return -EBADMSG;
	}
	*p = b + plen;
	*len -= plen;
	return 0;
}

int rtcp_rb_get(const struct rtcp_pkt *pkt, unsigned i, struct rtcp_rb *rb)
{
	size_t off, body = pkt->len - pkt->pad_len;
	const uint8_t *q;
	uint32_t cum;

	if (pkt->pt == RTCP_SR)
		off = RTCP_SR_BLOCKS;
	else if (pkt->pt == RTCP_RR)
		off = RTCP_RR_BLOCKS;
	else
		return -ENOENT;
	if (i >= pkt->count)
		return -ENOENT;
	off += (size_t)i * RTCP_RB_LEN;
	if (off > body || body - off < RTCP_RB_LEN)
		return -EBADMSG;
	q = pkt->p + off;
	rb->ssrc = rd32(q);
	rb->fraction_lost = q[4];
	cum = rd32(q + 4) & 0xffffff;
	/* Sign-extend the 24-bit field without shifting into the sign bit. */
	rb->cum_lost = cum & 0x800000 ? (int32_t)cum - 0x1000000 : (int32_t)cum;
	rb->ext_seq = rd32(q + 8);
	rb->jitter = rd32(q + 12);
	rb->lsr = rd32(q + 16);
	rb->dlsr = rd32(q + 20);
	return 0;
}

static int rtcp_pkt_blocks(struct rtcp_sum *s, const struct rtcp_pkt *pkt)
{
	struct rtcp_rb rb;
	int err;

	for (unsigned i = 0;; i++) {
		err = rtcp_rb_get(pkt, i, &rb);
		if (err == -ENOENT)
			return 0;
		if (err)
			return err;
		s->last = rb;
		s->nblocks++;
	}
}

int rtcp_compound_decode(struct rtcp_sum *s, const uint8_t *p, size_t len)
{
	struct rtcp_pkt pkt;
	int err;

	*s = (struct rtcp_sum){0};
	if (len == 0)
		return -EBADMSG;
	while ((err = rtcp_pkt_next(&p, &len, &pkt)) == 0) {
		s->npkts++;
		err = rtcp_pkt_blocks(s, &pkt);
		if (err)
			return err;
	}
	return err == -ENOENT ? 0 : err;
}
