/* Transaction layer: setup, transaction lifetime, dispatch of received messages, accessors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/rand.h"
#include "txn_priv.h"

/*
 * Transport failures arrive through tp_fail_h, which carries one pointer
 * and may come after the transaction is gone (a TCP connect that fails
 * seconds later).  So the pointer is not an object but a token: the layer
 * id and the transaction's serial, looked up in the layer's table.  The
 * registry maps ids to live layers of this thread.
 */
#define REG_SLOTS   16u
#define SERIAL_BITS 44u
#define ID_BITS     20u

_Static_assert(sizeof(uintptr_t) >= sizeof(uint64_t), "fail tokens need 64-bit pointers");

static _Thread_local struct txns *reg[REG_SLOTS];
static _Thread_local uint32_t reg_next;

void txn_conf_default(struct txn_conf *conf)
{
	conf->t1_ms = 500;
	conf->t2_ms = 4000;
	conf->t4_ms = 5000;
}

int txns_alloc(struct txns **tlp, struct tmr_heap *heap, const struct txn_conf *conf,
               const struct txn_io *io, const struct txn_tu *tu)
{
	struct txns *tl;
	uint32_t id = 0;
	int err;

	if (!tlp || !heap || !io || !io->send || !io->send_response)
		return -EINVAL;
	*tlp = NULL;
	if (conf && (!conf->t1_ms || conf->t2_ms < conf->t1_ms || !conf->t4_ms ||
	             conf->t1_ms > UINT32_MAX / 64))
		return -EINVAL;
	for (uint32_t i = 0; i < REG_SLOTS && !id; i++) {
		uint32_t cand = (reg_next++ % ((1u << ID_BITS) - 1)) + 1;

		if (!reg[cand % REG_SLOTS])
			id = cand;
	}
	if (!id)
		return -EMFILE;
	tl = calloc(1, sizeof(*tl));
	if (!tl)
		return -ENOMEM;
	tl->heap = heap;
	if (conf)
		tl->conf = *conf;
	else
		txn_conf_default(&tl->conf);
	tl->io = *io;
	if (tu)
		tl->tu = *tu;
	tl->seed = rand_u64();
	tl->id = id;
	err = hmap_init(&tl->ctab, 1024);
	if (!err)
		err = hmap_init(&tl->stab, 1024);
	if (!err)
		err = hmap_init(&tl->atab, 256);
	if (!err)
		err = hmap_init(&tl->ftab, 1024);
	if (err) {
		hmap_fini(&tl->ctab);
		hmap_fini(&tl->stab);
		hmap_fini(&tl->atab);
		hmap_fini(&tl->ftab);
		free(tl);
		return err;
	}
	reg[id % REG_SLOTS] = tl;
	*tlp = tl;
	return 0;
}

void txns_free(struct txns *tl)
{
	if (!tl)
		return;
	while (tl->all) {
		struct txn *t = container_of(tl->all, struct txn, ll);

		mem_ref(t);
		txn_end(t);
		/* The TU may still hold references: the object must forget the layer. */
		hlist_del(&t->ll);
		t->tl = NULL;
		tl->stats.live--;
		mem_deref(t);
	}
	reg[tl->id % REG_SLOTS] = NULL;
	hmap_fini(&tl->ctab);
	hmap_fini(&tl->stab);
	hmap_fini(&tl->atab);
	hmap_fini(&tl->ftab);
	free(tl);
}

const struct txns_stats *txns_stats(const struct txns *tl)
{
	return &tl->stats;
}

void txns_recv(struct txns *tl, struct sip_msg *msg, const struct tp_peer *src)
{
	if (!tl || !msg || !src)
		return;
	/* The transport checked the message; these guard the matching keys anyway. */
	if (!msg->call_id.len || !msg->cseq.method.len || !msg->via.proto.len)
		return;
	if (msg->req)
		stxn_recv(tl, msg, src);
	else
		ctxn_recv(tl, msg, src);
}

/* ------------------------------------------------------------ lifetime */

static void txn_destroy(void *obj)
{
	struct txn *t = obj;

	tmr_cancel(&t->retx);
	tmr_cancel(&t->life);
	if (t->tl) {
		hlist_del(&t->ll);
		t->tl->stats.live--;
	}
	mem_deref(t->req);
	buf_free(&t->reqbuf);
	buf_free(&t->out);
	free(t->totag);
}

struct txn *txn_new(struct txns *tl, enum txn_kind kind, const struct tp_peer *peer)
{
	struct txn *t = mem_alloc(sizeof(*t), txn_destroy);

	if (!t)
		return NULL;
	t->tl = tl;
	t->kind = kind;
	t->peer = *peer;
	t->reliable = peer->proto != TP_UDP;
	t->owned = true;
	hlist_push(&tl->all, &t->ll);
	tl->stats.live++;
	tl->stats.created[kind]++;
	return t;
}

void txn_end(struct txn *t)
{
	struct txns *tl = t->tl;

	t->state = TXN_TERMINATED;
	tmr_cancel(&t->retx);
	tmr_cancel(&t->life);
	if (tl) {
		if (t->kind == TXN_CLIENT_INVITE || t->kind == TXN_CLIENT_NONINV)
			hmap_remove(&tl->ctab, &t->hl);
		else
			hmap_remove(&tl->stab, &t->hl);
		hmap_remove(&tl->atab, &t->al);
		hmap_remove(&tl->ftab, &t->fl);
	}
	if (t->owned) {
		t->owned = false;
		mem_deref(t);
	}
}

static void linger_h(void *arg)
{
	txn_end(arg);
}

void txn_linger(struct txn *t, uint64_t ms, tmr_h *h)
{
	if (!ms || !t->tl || tmr_start(&t->life, t->tl->heap, ms, h ? h : linger_h, t) != 0)
		txn_end(t);
}

bool txn_method_eq(const struct sip_msg *a, const struct sip_msg *b)
{
	return a->mid == b->mid && (a->mid != SIP_METHOD_OTHER || slice_eq(a->method, b->method));
}

/* ------------------------------------------------- transport failures */

void *txn_fail_arg(const struct txn *t)
{
	return (void *)(uintptr_t)((uint64_t)t->tl->id << SERIAL_BITS | t->serial);
}

void txn_register(struct txn *t)
{
	struct txns *tl = t->tl;

	t->serial = ++tl->serial & ((1ull << SERIAL_BITS) - 1);
	hmap_insert(&tl->ftab, &t->fl, txn_hash_u64(tl->seed, t->serial));
}

void txn_send_fail_h(void *arg, int err)
{
	uint64_t tok = (uint64_t)(uintptr_t)arg;
	uint32_t id = (uint32_t)(tok >> SERIAL_BITS);
	uint64_t serial = tok & ((1ull << SERIAL_BITS) - 1);
	struct txns *tl = reg[id % REG_SLOTS];
	uint32_t h;

	if (!tl || tl->id != id)
		return;
	h = txn_hash_u64(tl->seed, serial);
	for (struct hnode *l = hmap_first(&tl->ftab, h); l; l = hmap_next(l)) {
		struct txn *t = container_of(l, struct txn, fl);

		if (t->serial == serial) {
			ctxn_failed(t, err);
			return;
		}
	}
}

/* ----------------------------------------------------------- accessors */

void txn_detach(struct txn *t)
{
	if (!t || t->detached)
		return;
	t->detached = true;
	t->rh = NULL;
	t->arg = NULL;
	if ((t->kind == TXN_SERVER_INVITE || t->kind == TXN_SERVER_NONINV) && t->tl &&
	    (t->state == TXN_TRYING || t->state == TXN_PROCEEDING))
		stxn_abandon(t);
}

enum txn_kind txn_kind(const struct txn *t)
{
	return t->kind;
}

enum txn_state txn_state(const struct txn *t)
{
	return t->state;
}

const struct sip_msg *txn_req(const struct txn *t)
{
	return t->req;
}

const struct tp_peer *txn_peer(const struct txn *t)
{
	return &t->peer;
}

void txn_set_owner(struct txn *t, void *owner)
{
	t->owner = owner;
}

void *txn_owner(const struct txn *t)
{
	return t->owner;
}
