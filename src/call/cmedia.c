/* Media anchoring for calls: every SDP crossing the B2BUA is rewritten to the edge's ports. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "call/call_priv.h"

/*
 * Each leg faces one party and owns one media endpoint per m= line, taken
 * from its edge's pool (the inbound edge for the caller, the dialled edge
 * for a callee).  An SDP body that a party sends on leg `from` and that
 * goes out on leg `to`:
 *   - tells where from's party receives (media_ep_remote on from's
 *     endpoints; a hold address leaves them to latch);
 *   - is rewritten for to's party with to's endpoints (sdp_write, per-leg
 *     o= identity whose version moves only when the body does);
 *   - links from's and to's endpoints stream by stream, so what arrives on
 *     one leaves from the other.
 * An answer the edge writes itself (call_answer) uses the caller's own
 * endpoints, with the direction mirrored.  Bodies that are not
 * application/sdp pass unchanged, and so does everything when the layer has
 * no media engine (calls_conf.media NULL).
 */

struct leg_media {
	struct media_ep *ep[SDP_MAX_MEDIA];
	size_t n;
	struct sdp_origin origin;
	bool have_origin;
	bool held; /* the party's last SDP sends nothing (hold), for the media timeout */
};

void cmedia_leg_free(struct leg *leg)
{
	struct leg_media *lm = leg->media;

	if (!lm)
		return;
	for (size_t i = 0; i < lm->n; i++)
		media_ep_free(lm->ep[i]);
	mem_deref(lm);
	leg->media = NULL;
}

void cmedia_leg_stats(const struct leg *leg, struct media_stats *st)
{
	const struct leg_media *lm = leg->media;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; lm && i < lm->n; i++) {
		struct media_stats s;

		media_ep_stats(lm->ep[i], &s);
		st->rx_pkts += s.rx_pkts;
		st->rx_bytes += s.rx_bytes;
		st->tx_pkts += s.tx_pkts;
		st->tx_bytes += s.tx_bytes;
		st->rtcp_rx += s.rtcp_rx;
		st->dropped += s.dropped;
		st->rr_blocks += s.rr_blocks;
		if (s.rr_cum_lost > 0)
			st->rr_cum_lost += s.rr_cum_lost;
		if (s.rr_jitter > st->rr_jitter)
			st->rr_jitter = s.rr_jitter;
		if (s.last_rx_ms > st->last_rx_ms)
			st->last_rx_ms = s.last_rx_ms;
	}
}

static const char *leg_pool(const struct leg *leg)
{
	return leg->fork ? leg->fork->edge : leg->call->edge;
}

/* The address family the leg's party speaks SIP from: its media endpoints use it too. */
static int leg_family(const struct leg *leg)
{
	int af =
	    leg->dlg.state != DIALOG_NONE ? leg->dlg.peer.addr.ss_family : leg->peer.addr.ss_family;

	return af == AF_INET6 ? AF_INET6 : af == AF_INET ? AF_INET : AF_UNSPEC;
}

static bool is_sdp(const struct sip_msg *msg)
{
	const struct sip_hdr *ct = sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE);
	struct slice v;

	if (!msg->body.len || !ct)
		return false;
	v = ct->value;
	return v.len >= 15 && slice_ieq((struct slice){v.p, 15}, SLICE("application/sdp"));
}

/* The leg's endpoint for stream i, allocated on first use.  -EAGAIN: pool exhausted. */
static int leg_ep(struct leg *leg, size_t i, struct media_ep **out)
{
	struct media *m = leg->call->cs->conf.media;
	struct leg_media *lm = leg->media;
	int e;

	if (!lm) {
		lm = leg->media = mem_alloc(sizeof(*lm), NULL);
		if (!lm)
			return -ENOMEM;
	}
	while (lm->n <= i) {
		e = media_ep_alloc(&lm->ep[lm->n], m, leg_pool(leg), leg_family(leg), false);
		if (e == -ENOENT && leg_family(leg) != AF_UNSPEC)
			e = media_ep_alloc(&lm->ep[lm->n], m, leg_pool(leg), AF_UNSPEC, false);
		if (e)
			return e;
		lm->n++;
	}
	if (!lm->have_origin) {
		struct sockaddr_storage a;
		uint16_t rtcp;

		media_ep_local(lm->ep[0], &a, &rtcp);
		if (sdp_origin_init(&lm->origin, &a))
			return -EINVAL;
		lm->have_origin = true;
	}
	*out = lm->ep[i];
	return 0;
}

static enum sdp_dir mirror(enum sdp_dir d)
{
	return d == SDP_SENDONLY ? SDP_RECVONLY : d == SDP_RECVONLY ? SDP_SENDONLY : d;
}

/*
 * Rewrites an SDP body from `from`'s party for `to`'s (to == from: the
 * edge answers from's offer itself).  0 with out filled, or an SIP status
 * (400/488 for the body, 503 when the pool is exhausted) with err->what.
 */
static uint16_t rewrite(struct leg *from, struct leg *to, struct slice body, struct buf *out,
                        struct sdp_err *err)
{
	struct sdp sdp;
	struct sdp_rewrite_media rw[SDP_MAX_MEDIA];
	bool held = true;
	int e = sdp_parse(&sdp, body, err);

	if (e && !(e == -ENOTSUP && sdp.complete))
		return err->status ? err->status : 400;
	/* No stream to relay (every port 0, or only T.38/UDPTL): an answer that
	 * rejects all streams of an offer we anchored is written on the ports we
	 * offered from; anything else cannot be anchored. */
	if (!sdp.nusable && (!to->media || !to->media->have_origin)) {
		snprintf(err->what, sizeof(err->what), "no media stream the edge can relay");
		return 488;
	}
	for (size_t i = 0; i < sdp.nmedia; i++) {
		const struct sdp_media *m = &sdp.media[i];
		struct sockaddr_storage rtp, rtcp;
		struct media_ep *fe, *te;
		uint16_t rtcp_port;

		memset(&rw[i], 0, sizeof(rw[i]));
		rw[i].dir_override = to == from ? (int)mirror(m->dir) : -1;
		if (!m->usable) {
			rw[i].keep_port0 = true;
			continue;
		}
		if (m->dir == SDP_SENDONLY || m->dir == SDP_SENDRECV)
			held = false;
		e = leg_ep(from, i, &fe);
		if (!e)
			e = leg_ep(to, i, &te);
		if (e) {
			snprintf(err->what, sizeof(err->what), "media ports: %s",
			         e == -EAGAIN ? "pool exhausted" : strerror(-e));
			return e == -EAGAIN || e == -EMFILE ? 503 : 500;
		}
		if (sdp_media_remote(m, &rtp, &rtcp) == 0)
			media_ep_remote(fe, &rtp, &rtcp, m->rtcp_mux);
		else
			media_ep_remote(fe, NULL, NULL, m->rtcp_mux);
		if (te != fe)
			media_ep_link(fe, te);
		media_ep_local(te, &rw[i].addr, &rtcp_port);
		rw[i].rtp_port = ntohs(((struct sockaddr_in *)&rw[i].addr)->sin_port);
		rw[i].rtcp_port = rtcp_port;
		rw[i].rtcp_mux = m->rtcp_mux;
	}
	if (from->media)
		from->media->held = held;
	e = sdp_write(out, &sdp, rw, sdp.nmedia, &to->media->origin);
	if (e) {
		snprintf(err->what, sizeof(err->what), "cannot write the SDP: %s", strerror(-e));
		return 500;
	}
	return 0;
}

uint16_t cmedia_body(struct leg *from, struct leg *to, const struct sip_msg *msg,
                     struct slice *body, struct buf *tmp, char *why, size_t whylen)
{
	struct sdp_err err = {0};
	uint16_t st;

	*body = msg ? msg->body : SLICE_NULL;
	if (!msg || !from->call->cs->conf.media || !to || !is_sdp(msg))
		return 0;
	buf_reset(tmp);
	st = rewrite(from, to, msg->body, tmp, &err);
	if (st) {
		snprintf(why, whylen, "%s", err.what[0] ? err.what : "bad SDP");
		return st;
	}
	*body = (struct slice){tmp->p, tmp->len};
	return 0;
}

bool cmedia_idle(const struct call *call, uint64_t idle_ms)
{
	const struct leg *legs[2] = {&call->a, call->b};
	uint64_t now = media_now_ms();
	bool any = false;

	for (size_t k = 0; k < 2; k++) {
		const struct leg_media *lm = legs[k] ? legs[k]->media : NULL;

		if (!lm)
			continue;
		/* A held party sends nothing on purpose: silence is not a failure. */
		if (lm->held)
			return false;
		for (size_t i = 0; i < lm->n; i++) {
			uint64_t last = media_ep_last_rx_ms(lm->ep[i]);

			any = true;
			if (last && now - last < idle_ms)
				return false;
		}
	}
	return any;
}

/* Whether the space-separated list has the token tok. */
static bool fmt_listed(struct slice list, struct slice tok)
{
	const char *p = list.p, *end = slice_end(list);

	while (p < end) {
		const char *q = memchr(p, ' ', (size_t)(end - p));
		struct slice t = {p, (size_t)((q ? q : end) - p)};

		if (t.len && slice_eq(t, tok))
			return true;
		p = q ? q + 1 : end;
	}
	return false;
}

/*
 * After the edge answered the caller's offer itself (every format listed,
 * the caller's first format first), the caller sends that first format.
 * Whether the callee's answer left it out of any stream it accepted: then
 * the callee would get media it never agreed to.
 */
bool cmedia_first_format_refused(struct slice offer, struct slice answer)
{
	struct sdp so, sa;

	if ((sdp_parse(&so, offer, NULL) && !so.complete) ||
	    (sdp_parse(&sa, answer, NULL) && !sa.complete))
		return false;
	for (size_t i = 0; i < so.nmedia && i < sa.nmedia; i++) {
		struct slice f = so.media[i].fmts;
		const char *sp = memchr(f.p, ' ', f.len);
		struct slice first = {f.p, sp ? (size_t)(sp - f.p) : f.len};

		if (sa.media[i].port && first.len && !fmt_listed(sa.media[i].fmts, first))
			return true;
	}
	return false;
}
