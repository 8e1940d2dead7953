/* The call layer as transaction user: dispatch of requests, dialog index, stats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call/call_priv.h"

void calls_conf_default(struct calls_conf *conf)
{
	static const char *const xhdr_default[] = {"X-*", NULL};

	*conf = (struct calls_conf){
	    .ring_timeout_ms = 60000,
	    .max_duration_ms = 0,
	    .session_expires_s = 1800,
	    .min_se_s = 90,
	    .media_timeout_ms = 60000,
	    .t1_ms = 500,
	    .xhdr_allow = xhdr_default,
	    .user_agent = "ixedge/" IXEDGE_VERSION,
	};
	memcpy(conf->account_sid, "AC00000000000000000000000000000000", 35);
}

uint64_t calls_now_ms(const struct calls *cs)
{
	return cs->heap->now;
}

static uint64_t dialog_key(struct slice call_id, struct slice local_tag)
{
	return hash_bytes(hash_bytes(HASH_INIT, call_id.p, call_id.len), local_tag.p,
	                  local_tag.len);
}

void calls_index(struct calls *cs, struct leg *leg)
{
	if (leg->indexed)
		return;
	hmap_insert(&cs->dialogs, &leg->node, dialog_key(leg->dlg.call_id, leg->dlg.local_tag));
	leg->indexed = true;
}

void calls_unindex(struct calls *cs, struct leg *leg)
{
	if (!leg->indexed)
		return;
	hmap_remove(&cs->dialogs, &leg->node);
	leg->indexed = false;
}

static struct leg *leg_find(struct calls *cs, struct slice call_id, struct slice local_tag)
{
	uint64_t h = dialog_key(call_id, local_tag);

	for (struct hnode *n = hmap_first(&cs->dialogs, h); n; n = hmap_next(n)) {
		struct leg *leg = container_of(n, struct leg, node);

		if (slice_eq(leg->dlg.call_id, call_id) && slice_eq(leg->dlg.local_tag, local_tag))
			return leg;
	}
	return NULL;
}

void leg_dialog_count(struct leg *leg, bool up)
{
	struct calls_stats *st = &leg->call->cs->stats;

	if (up)
		st->live_dialogs++;
	else if (st->live_dialogs)
		st->live_dialogs--;
}

/* Sends bytes outside any transaction (ACK for a 2xx) to the leg's next hop. */
int leg_send(struct leg *leg, struct buf *b)
{
	struct calls *cs = leg->call->cs;

	return cs->io.send(cs->io.ctx, &leg->dlg.peer, b->p, b->len, NULL, NULL);
}

static const struct sip_edit *options_headers(size_t *n)
{
	static const struct sip_edit h[] = {
	    {SIP_EDIT_ADD, SIP_HDR_ALLOW, {0}, SLICE(CALL_ALLOW)},
	    {SIP_EDIT_ADD, SIP_HDR_ACCEPT, {0}, SLICE("application/sdp")},
	    {SIP_EDIT_ADD, SIP_HDR_SUPPORTED, {0}, SLICE("timer")},
	};

	*n = ARRAY_SIZE(h);
	return h;
}

/* Requests outside any dialog other than INVITE. */
static void out_of_dialog(struct calls *cs, struct txn *st, struct sip_msg *req)
{
	size_t n;
	const struct sip_edit *h = options_headers(&n);
	char tag[24];
	struct slice t = {tag, dialog_tag_new(tag, sizeof(tag))};

	switch (req->mid) {
	case SIP_METHOD_OPTIONS:
		/* Peers ping the edge itself with OPTIONS (health checks). */
		txn_reply(st, 200, NULL, t, h, n, SLICE_NULL);
		break;
	case SIP_METHOD_OTHER:
		txn_reply(st, 501, NULL, t, NULL, 0, SLICE_NULL);
		break;
	case SIP_METHOD_BYE:
	case SIP_METHOD_INFO:
	case SIP_METHOD_UPDATE:
	case SIP_METHOD_PRACK:
		/* In-dialog methods without a To tag cannot belong to any dialog. */
		cs->stats.refused_481++;
		txn_reply(st, 481, NULL, t, NULL, 0, SLICE_NULL);
		break;
	default:
		cs->stats.refused_405++;
		txn_reply(st, 405, NULL, t, h, 1, SLICE_NULL);
		break;
	}
}

static void tu_request(void *arg, struct txn *st, struct sip_msg *req, const struct tp_peer *src)
{
	struct calls *cs = arg;
	struct leg *leg;

	if (req->mid == SIP_METHOD_ACK) {
		uint8_t *kind = st ? txn_owner(st) : NULL;

		/* Only the first ACK of a 2xx comes with its INVITE transaction;
		 * retransmissions and strays need nothing from us. */
		if (kind && *kind == OWNER_LEG)
			call_ack(((struct leg *)kind)->call, (struct leg *)kind, req);
		else if (kind && *kind == OWNER_RELAY)
			relay_ack((struct relay *)kind, req);
		return;
	}
	if (!req->to.tag.len) {
		if (req->mid == SIP_METHOD_INVITE)
			call_new(cs, st, req, src);
		else
			out_of_dialog(cs, st, req);
		return;
	}
	leg = leg_find(cs, req->call_id, req->to.tag);
	if (!leg || leg->call->state == CALL_ENDED) {
		cs->stats.refused_481++;
		txn_reply(st, 481, NULL, SLICE_NULL, NULL, 0, SLICE_NULL);
		return;
	}
	relay_request(leg, st, req);
}

static void tu_cancel(void *arg, struct txn *st, struct sip_msg *cancel)
{
	uint8_t *kind = txn_owner(st);

	(void)arg;
	(void)cancel;
	if (kind && *kind == OWNER_LEG)
		call_cancel(((struct leg *)kind)->call);
	else if (kind && *kind == OWNER_RELAY)
		relay_cancel((struct relay *)kind);
	else
		txn_reply(st, 487, NULL, SLICE_NULL, NULL, 0, SLICE_NULL);
}

static void tu_no_ack(void *arg, struct txn *st)
{
	uint8_t *kind = txn_owner(st);
	struct call *call = NULL;

	(void)arg;
	if (kind && *kind == OWNER_LEG)
		call = ((struct leg *)kind)->call;
	else if (kind && *kind == OWNER_RELAY)
		call = ((struct relay *)kind)->call;
	if (call)
		call_end(call, "no ACK for 2xx", NULL);
}

static void stray_bye_h(void *arg, struct txn *ct, struct sip_msg *resp, int err)
{
	(void)arg;
	(void)err;
	if (!resp || resp->status >= 200)
		txn_detach(ct);
}

/*
 * A 2xx to one of our INVITEs that no leg knows: a path given up on before
 * it answered (failover), or a call long gone.  Whoever picked up must not
 * be left in a dead call: ACK it and end that dialog with BYE, built from
 * the response alone (RFC 3261 13.2.2.4).
 */
static void stray_2xx_end(struct calls *cs, const struct sip_msg *resp, const struct tp_peer *src)
{
	const struct sockaddr *sa = src->lis ? tp_lis_addr(src->lis) : NULL;
	struct sip_edit h[1] = {{SIP_EDIT_ADD,
	                         SIP_HDR_REASON,
	                         {0},
	                         SLICE("SIP;cause=200;text=\"Call no longer exists\"")}};
	char hostport[80], contact[100], branch[40];
	struct buf out = {0};
	struct dialog d = {0};
	struct txn *ct;

	if (resp->cseq.mid != SIP_METHOD_INVITE)
		return;
	if (sa)
		tp_sockaddr_fmt(sa, hostport, sizeof(hostport));
	else
		snprintf(hostport, sizeof(hostport), "invalid"); /* as leg_hostport() */
	snprintf(contact, sizeof(contact), "sip:%s", hostport);
	if (dialog_uac_create(&d, resp, resp, slice_cstr(contact), src))
		return;
	txn_branch_new(branch, sizeof(branch));
	if (dialog_request_build(&d, &out, "ACK", resp->cseq.num, slice_cstr(branch),
	                         slice_cstr(hostport), NULL, 0, SLICE_NULL) == 0)
		cs->io.send(cs->io.ctx, &d.peer, out.p, out.len, NULL, NULL);
	buf_reset(&out);
	txn_branch_new(branch, sizeof(branch));
	if (dialog_request_build(&d, &out, "BYE", 0, slice_cstr(branch), slice_cstr(hostport), h, 1,
	                         SLICE_NULL) == 0 &&
	    txn_request(&ct, cs->tl, &out, &d.peer, stray_bye_h, NULL) == 0)
		log_info("call", "2xx for an INVITE no call owns (Call-ID %.*s): ACK and BYE",
		         SLICE_ARG(resp->call_id));
	buf_free(&out);
	dialog_reset(&d);
}

/* A retransmitted 2xx whose transaction is gone: the ACK we sent was lost (RFC 6026). */
static void tu_stray_2xx(void *arg, struct sip_msg *resp, const struct tp_peer *src)
{
	struct calls *cs = arg;
	struct leg *leg = leg_find(cs, resp->call_id, resp->from.tag);

	if (leg && leg->ack.len && resp->cseq.num == leg->ack_cseq)
		leg_send(leg, &leg->ack);
	else if (!leg)
		stray_2xx_end(cs, resp, src);
}

void calls_tu(struct calls *cs, struct txn_tu *tu)
{
	*tu = (struct txn_tu){
	    .request = tu_request,
	    .no_ack = tu_no_ack,
	    .cancel = tu_cancel,
	    .stray_2xx = tu_stray_2xx,
	    .arg = cs,
	};
}

int calls_alloc(struct calls **csp, struct tmr_heap *heap, const struct txn_io *io,
                const struct calls_conf *conf, const struct call_ctl *ctl)
{
	struct calls *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return -ENOMEM;
	if (hmap_init(&cs->dialogs, 1024)) {
		free(cs);
		return -ENOMEM;
	}
	cs->conf = *conf;
	cs->heap = heap;
	cs->io = *io;
	cs->ctl = *ctl;
	*csp = cs;
	return 0;
}

void calls_set_txns(struct calls *cs, struct txns *tl)
{
	cs->tl = tl;
}

void calls_free(struct calls *cs)
{
	if (!cs)
		return;
	while (cs->live)
		call_force_end(cs->live, "edge shutting down");
	hmap_fini(&cs->dialogs);
	free(cs);
}

const struct calls_stats *calls_stats(const struct calls *cs)
{
	return &cs->stats;
}

const char *call_sid(const struct call *call)
{
	return call->sid;
}

const struct tp_peer *call_inbound_peer(const struct call *call)
{
	return &call->a.dlg.peer;
}

void calls_log_end(const struct call *call)
{
	uint64_t now = calls_now_ms(call->cs);
	uint64_t dur = call->answer_ms ? (now - call->answer_ms) / 1000 : 0;

	log_info("call", "%s ended: status %u, duration %llus, %s", call->sid, call->final_status,
	         (unsigned long long)dur, call->end_reason ? call->end_reason : "normal");
}
