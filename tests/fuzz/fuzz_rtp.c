/* libFuzzer target: media port parsers (RTP header, RTCP compound and packets, STUN, classify). */
#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"

static void rtcp_walk(const uint8_t *p, size_t len)
{
	struct rtcp_pkt pkt;
	struct rtcp_rb rb;

	/* Each packet consumes at least 4 bytes: bounded by len / 4. */
	while (rtcp_pkt_next(&p, &len, &pkt) == 0) {
		if (pkt.len < 4 || pkt.pad_len > pkt.len)
			abort();
		for (unsigned i = 0; i < 32 && rtcp_rb_get(&pkt, i, &rb) == 0; i++)
			if (rb.cum_lost < -0x800000 || rb.cum_lost > 0x7fffff)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy so ASan sees any read past the datagram. */
	uint8_t *p = malloc(size ? size : 1);
	struct rtp_hdr h;
	struct rtcp_sum s;
	enum rtp_kind kind;

	memcpy(p, data, size);
	kind = rtp_classify(p, size);
	if (rtp_hdr_decode(&h, p, size) == 0) {
		if (h.hdr_len + h.payload_len + h.pad_len != size)
			abort();
	} else if (kind == RTP_KIND_RTP) {
		abort(); /* classify calls RTP only what decodes */
	}
	/* RFC 7983 gives STUN the first bytes 0-3 only; RFC 5389 alone allows up to 63. */
	if ((kind == RTP_KIND_STUN) != (stun_is(p, size) && p[0] < 4))
		abort();
	if (rtcp_compound_decode(&s, p, size) == 0 && s.npkts == 0)
		abort();
	rtcp_walk(p, size);
	free(p);
	return 0;
}
