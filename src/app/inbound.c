/* Inbound calls: SIP domain lookup, access control, TwiML control and call records. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/edge.h"
#include "app/inbound.h"
#include "app/seed.h"
#include "control/twiml.h"
#include "domain/digest.h"
#include "ixedge/prom.h"
#include "store/store.h"

#define MOD "inbound"

/* How often the loop asks the store whether its config changed (ms). */
#define SNAPSHOT_POLL_MS 500

/* Why an inbound INVITE was refused before a call existed (for /metrics). */
enum refusal {
	REFUSE_UNKNOWN_BASE = 0,
	REFUSE_UNKNOWN_EDGE,
	REFUSE_UNKNOWN_DOMAIN,
	REFUSE_EDGE_MISMATCH,
	REFUSE_NO_MAPPING,
	REFUSE_SOURCE,
	REFUSE_STALE,
	REFUSE_AUTH_FAIL,
	REFUSE_REPLAY,
	REFUSE_MALFORMED,
	REFUSE_ERROR,
	REFUSE__COUNT
};

static const char *const refusal_names[REFUSE__COUNT] = {
    "unknown_base", "unknown_edge", "unknown_domain", "edge_mismatch", "no_mapping", "source",
    "stale",        "auth_fail",    "replay",         "malformed",     "error",
};

struct inbound {
	struct edge *e;
	struct store *store;  /* the loop's connection: store_changed() only */
	struct store *loader; /* the snapshot loader's, used on a worker thread */
	struct store_snapshot *snap;
	struct store_worker *records;
	struct digest *digest;
	struct tmr poll_tmr;
	uv_work_t load_work;
	bool loading;
	bool closing;                  /* closed while loading: the load's completion frees it */
	struct store_snapshot *loaded; /* handed from the worker to the loop */
	struct store_err load_err;
	int load_rc;
	int64_t wall_offset_ms; /* wall clock minus loop clock */
	uint64_t refused[REFUSE__COUNT];
	uint64_t challenges, twiml_errors, snapshots;
};

/* One inbound call's control state (the call's ctx). */
struct icall {
	struct inbound *in;
	struct call *call;                   /* until ended */
	struct store_snapshot *snap;         /* keeps dom valid */
	const struct store_snap_domain *dom; /* NULL: static routes */
	char account_sid[35];
	char username[128]; /* digest-authenticated user, "" when none */
	struct twiml_run *run;
	struct tmr pause_tmr;
	uint16_t fail_status; /* the last dial's failure, for an unanswered end */
	bool ended;
};

/* ------------------------------------------------------------ refusal */

static void refuse(struct inbound *in, struct txn *st, const struct sip_msg *req,
                   const struct tp_peer *src, enum refusal why, uint16_t status, const char *phrase,
                   const char *detail)
{
	char tag[24], addr[80];
	struct slice t = {tag, dialog_tag_new(tag, sizeof(tag))};

	in->refused[why]++;
	tp_sockaddr_fmt((const struct sockaddr *)&src->addr, addr, sizeof(addr));
	log_info(MOD, "refused INVITE from %s to %.*s: %u %s (%s)", addr, SLICE_ARG(req->ruri.host),
	         status, phrase ? phrase : "", detail);
	txn_reply(st, status, phrase, t, NULL, 0, SLICE_NULL);
}

/* 401 with one WWW-Authenticate per algorithm (SHA-256 first, RFC 8760). */
static void challenge(struct inbound *in, struct txn *st, const struct sip_msg *req,
                      const struct tp_peer *src, bool stale, const char *detail)
{
	struct buf v[DIGEST_NCHALLENGE] = {0};
	struct sip_edit h[DIGEST_NCHALLENGE];
	char tag[24];
	struct slice t = {tag, dialog_tag_new(tag, sizeof(tag))};

	if (digest_challenge(in->digest, v, slice_cstr(in->snap->realm), stale, true)) {
		refuse(in, st, req, src, REFUSE_ERROR, 500, NULL, "cannot build a challenge");
		goto out;
	}
	for (size_t i = 0; i < DIGEST_NCHALLENGE; i++)
		h[i] = (struct sip_edit){
		    SIP_EDIT_ADD, SIP_HDR_WWW_AUTHENTICATE, {0}, (struct slice){v[i].p, v[i].len}};
	if (stale)
		in->refused[REFUSE_STALE]++;
	else
		in->challenges++;
	if (stale)
		log_info(MOD, "INVITE to %.*s: 401 stale nonce (%s)", SLICE_ARG(req->ruri.host),
		         detail);
	txn_reply(st, 401, NULL, t, h, DIGEST_NCHALLENGE, SLICE_NULL);
out:
	for (size_t i = 0; i < DIGEST_NCHALLENGE; i++)
		buf_free(&v[i]);
}

struct cred_lookup {
	const struct store_snap_domain *dom;
};

static int ha1_lookup(void *arg, struct slice username, struct slice realm, enum digest_alg alg,
                      uint8_t ha1[DIGEST_MAX_HASH])
{
	const struct cred_lookup *cl = arg;
	const struct store_snap_cred *c =
	    store_snap_cred_find(cl->dom, STORE_MAP_CALL_CREDS, username, NULL);
	const char *hex;

	(void)realm; /* the snapshot holds only credentials hashed under the realm */
	if (!c)
		return -ENOENT;
	hex = alg == DIGEST_ALG_SHA256 ? c->ha1_sha256 : c->ha1_md5;
	if (!hex[0])
		return -ENOENT;
	return digest_unhex(slice_cstr(hex), ha1, digest_alg_len(alg)) ? -ENOENT : 0;
}

/*
 * Access to a stored domain (docs/AUTH.md): a mapping must exist, the
 * source must be in a mapped ACL, and mapped credentials must be proven.
 * 0: admitted (username filled when digest was used); otherwise answered.
 */
static int domain_access(struct inbound *in, struct txn *st, const struct sip_msg *req,
                         const struct tp_peer *src, const struct store_snap_domain *dom,
                         char *username, size_t ulen)
{
	size_t nacl = store_snap_domain_nmapped(dom, STORE_MAP_CALL_ACL);
	size_t ncred = store_snap_domain_nmapped(dom, STORE_MAP_CALL_CREDS);
	struct slice realm = slice_cstr(in->snap->realm);
	struct cred_lookup cl = {dom};
	struct digest_result res;
	struct sip_auth auth;
	int e;

	if (!nacl && !ncred) {
		refuse(in, st, req, src, REFUSE_NO_MAPPING, 403, "Forbidden (no call mappings)",
		       "domain has no call mappings");
		return -EACCES;
	}
	if (nacl) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&src->addr;
		bool ok = src->addr.ss_family == AF_INET &&
		          store_snap_domain_ip_allowed(dom, ntohl(sin->sin_addr.s_addr));

		if (!ok) {
			refuse(in, st, req, src, REFUSE_SOURCE, 403,
			       "Forbidden (source not allowed)", "source not allowed");
			return -EACCES;
		}
	}
	if (!ncred)
		return 0;
	e = digest_auth_find(req, SIP_HDR_AUTHORIZATION, realm, &auth);
	if (e == -ENOENT) {
		challenge(in, st, req, src, false, "");
		return -EACCES;
	}
	if (e) {
		refuse(in, st, req, src, REFUSE_MALFORMED, 400, "Bad Request (Authorization)",
		       "malformed Authorization");
		return -EACCES;
	}
	e = digest_verify(in->digest, &auth, req->method, req->ruri.raw, realm,
	                  &(struct digest_creds_lookup){ha1_lookup, &cl}, &res);
	if (e) {
		refuse(in, st, req, src, REFUSE_ERROR, 500, NULL, "credential lookup failed");
		return -EACCES;
	}
	switch (res.outcome) {
	case DIGEST_OK:
		snprintf(username, ulen, "%.*s", SLICE_ARG(auth.username));
		log_debug(MOD, "%s", res.reason);
		return 0;
	case DIGEST_STALE:
		challenge(in, st, req, src, true, res.reason);
		return -EACCES;
	case DIGEST_REPLAY:
		refuse(in, st, req, src, REFUSE_REPLAY, res.status, res.phrase, res.reason);
		return -EACCES;
	case DIGEST_MALFORMED:
		refuse(in, st, req, src, REFUSE_MALFORMED, res.status, res.phrase, res.reason);
		return -EACCES;
	default:
		refuse(in, st, req, src, REFUSE_AUTH_FAIL, res.status, res.phrase, res.reason);
		return -EACCES;
	}
}

/* ------------------------------------------------------------- admit */

static void icall_destroy(void *obj)
{
	struct icall *ic = obj;

	tmr_cancel(&ic->pause_tmr);
	mem_deref(ic->run);
	mem_deref(ic->snap);
}

static int admit_h(void *arg, struct txn *st, const struct sip_msg *req, const struct tp_peer *src,
                   void **ctx)
{
	struct edge *e = arg;
	struct inbound *in = e->in;
	const struct edge_gw *in_gw = src->lis ? tp_lis_tag(src->lis) : NULL;
	const struct store_snap_domain *dom = NULL;
	struct routing_target rt;
	struct icall *ic;
	char why[192], user[128] = "";

	if (routing_resolve_host(e->routing, req->ruri.host, &rt)) {
		routing_target_phrase(&rt, why, sizeof(why));
		refuse(in, st, req, src,
		       rt.fail == ROUTING_FAIL_BASE   ? REFUSE_UNKNOWN_BASE
		       : rt.fail == ROUTING_FAIL_EDGE ? REFUSE_UNKNOWN_EDGE
		                                      : REFUSE_UNKNOWN_DOMAIN,
		       404, why, why);
		return -ENOENT;
	}
	if (rt.edge >= 0 && in_gw && rt.edge != in_gw->edge_idx) {
		log_info(MOD, "INVITE to %.*s: URI names edge %.*s but came in on a gateway of %s",
		         SLICE_ARG(req->ruri.host), SLICE_ARG(rt.label), in_gw->edge->name);
		if (e->cfg->routing.reject_edge_mismatch) {
			refuse(in, st, req, src, REFUSE_EDGE_MISMATCH, 404,
			       "Not Found (wrong edge for this gateway)", "edge mismatch");
			return -ENOENT;
		}
	}
	if (in && rt.domain.len)
		dom = store_snapshot_domain(in->snap, rt.domain);
	if (dom) {
		if (domain_access(in, st, req, src, dom, user, sizeof(user)))
			return -EACCES;
	} else if (!edge_route_exists(e, rt.domain, req)) {
		snprintf(why, sizeof(why), "Not Found (unknown domain '%.*s')",
		         SLICE_ARG(rt.domain));
		refuse(in, st, req, src, REFUSE_UNKNOWN_DOMAIN, 404, why, why);
		return -ENOENT;
	}
	ic = mem_alloc(sizeof(*ic), icall_destroy);
	if (!ic) {
		refuse(in, st, req, src, REFUSE_ERROR, 503, NULL, "out of memory");
		return -ENOMEM;
	}
	ic->in = in;
	if (dom) {
		ic->snap = mem_ref(in->snap);
		ic->dom = dom;
		snprintf(ic->account_sid, sizeof(ic->account_sid), "%s",
		         store_snap_domain_rec(dom)->account_sid);
		snprintf(ic->username, sizeof(ic->username), "%s", user);
	} else {
		snprintf(ic->account_sid, sizeof(ic->account_sid), "%s", e->cfg->calls.account_sid);
	}
	*ctx = ic;
	return 0;
}

/* ------------------------------------------------------------ TwiML run */

static void run_steps(struct icall *ic);

/* The run is over (or cannot go on): end the call the way the platform does. */
static void run_end(struct icall *ic, uint16_t unanswered_status, const char *reason)
{
	if (ic->call)
		call_finish(ic->call, unanswered_status, NULL, reason);
}

static void pause_h(void *arg)
{
	run_steps(arg);
}

/* "X-Foo=1&X-Bar=2" (URL-encoded) as "X-Foo: 1\r\nX-Bar: 2\r\n"; -EINVAL when malformed. */
static int uri_headers(struct slice q, char *out, size_t cap)
{
	size_t o = 0;
	const char *p = q.p, *end = slice_end(q);

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		char name[128], value[512];
		int nl, vl;

		if (!eq)
			return -EINVAL;
		nl = sip_unescape((struct slice){p, (size_t)(eq - p)}, name, sizeof(name) - 1);
		vl = sip_unescape((struct slice){eq + 1, (size_t)(stop - eq - 1)}, value,
		                  sizeof(value) - 1);
		if (nl <= 0 || vl < 0 || memchr(name, ':', (size_t)nl) ||
		    memchr(value, '\r', (size_t)vl) || memchr(value, '\n', (size_t)vl) ||
		    memchr(name, '\r', (size_t)nl) || memchr(name, '\n', (size_t)nl))
			return -EINVAL;
		if (o + (size_t)nl + (size_t)vl + 5 > cap)
			return -E2BIG;
		o += (size_t)snprintf(out + o, cap - o, "%.*s: %.*s\r\n", nl, name, vl, value);
		p = amp ? amp + 1 : end;
	}
	return 0;
}

/* One <Sip> noun as a dial target; 0 or a SIP status with why. */
static uint16_t sip_noun_target(struct icall *ic, const struct twiml_sip *s,
                                struct call_dial_target *d, char *why, size_t whylen)
{
	struct edge *e = ic->in->e;
	char uri[TWIML_MAX_SIP_URI + 1];
	const char *q = memchr(s->uri.p, '?', s->uri.len);
	size_t ulen = q ? (size_t)(q - s->uri.p) : s->uri.len;

	memset(d, 0, sizeof(*d));
	if (ulen >= sizeof(uri)) {
		snprintf(why, whylen, "URI too long");
		return 400;
	}
	memcpy(uri, s->uri.p, ulen);
	uri[ulen] = '\0';
	if (q && uri_headers((struct slice){q + 1, (size_t)(slice_end(s->uri) - q - 1)}, d->headers,
	                     sizeof(d->headers))) {
		snprintf(why, whylen, "bad headers in the <Sip> URI");
		return 400;
	}
	snprintf(d->username, sizeof(d->username), "%.*s", SLICE_ARG(s->username));
	snprintf(d->password, sizeof(d->password), "%.*s", SLICE_ARG(s->password));
	return edge_target_for_call(e, ic->call, uri, d, why, whylen);
}

static void dial_step(struct icall *ic, const struct twiml_dial *dial)
{
	struct call_dial_target to[TWIML_MAX_SIP];
	struct call_dial d = {
	    .to = to, .timeout_ms = dial->timeout * 1000, .time_limit_ms = dial->time_limit * 1000};
	char why[192], cid[TWIML_MAX_CALLER_ID + 1];
	int e;

	for (size_t i = 0; i < dial->nsip; i++) {
		uint16_t st = sip_noun_target(ic, &dial->sip[i], &to[d.n], why, sizeof(why));

		if (st)
			log_info(MOD, "%s: <Sip> %.*s: %u %s", call_sid(ic->call),
			         SLICE_ARG(dial->sip[i].uri), st, why);
		else
			d.n++;
	}
	if (dial->caller_id.len) {
		snprintf(cid, sizeof(cid), "%.*s", SLICE_ARG(dial->caller_id));
		d.caller_id = cid;
	}
	/* Without answerOnBridge the caller is answered before the dial. */
	if (!dial->answer_on_bridge && d.n) {
		e = call_answer(ic->call);
		if (e && e != -EALREADY)
			log_debug(MOD, "%s: answering before the dial: %s; answer on bridge",
			          call_sid(ic->call), strerror(-e));
	}
	e = d.n ? call_dial(ic->call, &d) : -ENOENT;
	if (e) {
		struct twiml_dial_result r = {.status = TWIML_DIAL_FAILED};

		ic->fail_status = 404;
		if (twiml_run_dial_result(ic->run, &r) == 0)
			run_steps(ic);
		else
			run_end(ic, 500, "dial result refused");
	}
}

static uint16_t unanswered_status(const struct icall *ic)
{
	/* After a failed dial the caller hears why; otherwise a plain decline. */
	return ic->fail_status ? ic->fail_status : 603;
}

static void run_steps(struct icall *ic)
{
	struct twiml_step step;
	char reason[160];

	while (ic->call && !ic->ended) {
		int e = twiml_run_next(ic->run, &step);

		if (e == -EINPROGRESS)
			return;
		if (e) {
			run_end(ic, 500, "TwiML run failed");
			return;
		}
		switch (step.type) {
		case TWIML_STEP_DIAL:
			dial_step(ic, step.u.dial);
			return;
		case TWIML_STEP_REJECT:
			snprintf(reason, sizeof(reason), "rejected by TwiML (%s)",
			         step.u.reject.reason == TWIML_REJECT_BUSY ? "busy" : "rejected");
			run_end(ic, step.u.reject.status, reason);
			return;
		case TWIML_STEP_HANGUP:
			run_end(ic, unanswered_status(ic), "hung up by TwiML");
			return;
		case TWIML_STEP_END:
			run_end(ic, unanswered_status(ic), "TwiML document ended");
			return;
		case TWIML_STEP_PAUSE:
			tmr_start(&ic->pause_tmr, &ic->in->e->heap, step.u.pause.ms, pause_h, ic);
			return;
		case TWIML_STEP_REDIRECT:
			/* Documents come from webhooks in a later issue: inline TwiML
			 * cannot follow a URL, and a call cannot go on without it. */
			log_info(MOD,
			         "%s: Redirect to %.*s: fetching documents is not supported yet",
			         call_sid(ic->call), SLICE_ARG(step.u.fetch.url));
			run_end(ic, 500, "Redirect not followed (no webhooks yet)");
			return;
		case TWIML_STEP_FETCH:
			/* The dial is over and its action would decide what comes next: the
			 * URL is recorded in the log, and the call ends as if the document
			 * had ended here (the verbs after <Dial> never run with an action). */
			log_info(MOD, "%s: Dial action %.*s not fetched (no webhooks yet)",
			         call_sid(ic->call), SLICE_ARG(step.u.fetch.url));
			run_end(ic, unanswered_status(ic),
			        "Dial action not fetched (no webhooks yet)");
			return;
		}
	}
}

static int twiml_start(struct icall *ic)
{
	const struct store_domain *d = store_snap_domain_rec(ic->dom);
	struct twiml_doc *doc = NULL;
	struct twiml_err err = {0};
	char reason[200];
	int e;

	call_ring(ic->call);
	if (!d->inline_twiml[0]) {
		ic->in->twiml_errors++;
		log_info(MOD, "%s: domain %s has no inline TwiML (webhooks come later)",
		         call_sid(ic->call), d->domain_name);
		run_end(ic, 500, "no TwiML for the domain");
		return 0;
	}
	e = twiml_parse(&doc, d->inline_twiml, strlen(d->inline_twiml), &err);
	if (e) {
		ic->in->twiml_errors++;
		log_info(MOD, "%s: bad TwiML of domain %s: %s", call_sid(ic->call), d->domain_name,
		         err.what);
		snprintf(reason, sizeof(reason), "bad TwiML: %s", err.what);
		run_end(ic, 500, reason);
		return 0;
	}
	e = twiml_run_alloc(&ic->run);
	if (!e)
		e = twiml_run_load(ic->run, doc);
	mem_deref(doc);
	if (e)
		return e;
	run_steps(ic);
	return 0;
}

/* ------------------------------------------------------- call control */

static int start_h(void *arg, struct call *call, const struct sip_msg *inv,
                   const struct tp_peer *src)
{
	struct edge *e = arg;
	struct icall *ic = call_ctx(call);
	const struct edge_gw *in_gw = src->lis ? tp_lis_tag(src->lis) : NULL;

	if (in_gw)
		call_set_inbound_edge(call, in_gw->edge->name);
	if (!ic || !ic->dom)
		return edge_route_static(e, call, inv, src);
	ic->call = call;
	return twiml_start(ic);
}

static void dial_done_h(void *arg, struct call *call, const struct call_dial_result *res)
{
	struct icall *ic = call_ctx(call);
	struct twiml_dial_result r = {
	    .status = (enum twiml_dial_status)res->status,
	    .sip_status = res->sip_status,
	    .call_sid = slice_cstr(res->call_sid),
	    .sip_call_id = res->sip_call_id,
	    .duration = res->duration_s,
	};
	struct twiml_header hdr[TWIML_MAX_DIAL_HDRS];

	(void)arg;
	if (!ic || !ic->run) {
		call_finish(call, res->sip_status >= 300 ? res->sip_status : 500, NULL,
		            "dial over");
		return;
	}
	for (uint32_t i = 0; res->final && i < res->final->nhdr && r.nhdr < ARRAY_SIZE(hdr); i++) {
		const struct sip_hdr *h = &res->final->hdr[i];

		if (h->id == SIP_HDR_OTHER && h->name.len > 2 &&
		    (h->name.p[0] == 'X' || h->name.p[0] == 'x') && h->name.p[1] == '-')
			hdr[r.nhdr++] = (struct twiml_header){h->name, h->value};
	}
	r.hdr = hdr;
	switch (res->status) {
	case CALL_DIAL_BUSY:
		ic->fail_status = 486;
		break;
	case CALL_DIAL_NO_ANSWER:
		ic->fail_status = 480;
		break;
	case CALL_DIAL_FAILED:
		ic->fail_status = res->sip_status >= 400 ? res->sip_status : 503;
		if (ic->fail_status == 401 || ic->fail_status == 407)
			ic->fail_status = 403;
		break;
	default:
		ic->fail_status = 0;
		break;
	}
	if (twiml_run_dial_result(ic->run, &r)) {
		run_end(ic, 500, "dial result refused");
		return;
	}
	run_steps(ic);
}

static void ended_h(void *arg, struct call *call)
{
	struct icall *ic = call_ctx(call);

	(void)arg;
	if (ic) {
		ic->ended = true;
		ic->call = NULL;
		tmr_cancel(&ic->pause_tmr);
	}
}

/* Loop-clock milliseconds as Unix milliseconds. */
static int64_t wall_ms(const struct inbound *in, uint64_t loop_ms)
{
	return loop_ms ? (int64_t)loop_ms + in->wall_offset_ms : 0;
}

static void record_h(void *arg, const struct call_rec *r)
{
	struct edge *e = arg;
	struct inbound *in = e->in;
	const struct icall *ic = call_ctx(r->call);
	char from[512], to[512], callid[256];
	struct store_call_rec rec = {0};

	if (!in || !in->records)
		return;
	/* Written when the caller is answered (so live calls show in-progress)
	 * and when each leg ends: one fsync'd row less per leg than at each step. */
	if (!r->final && !(r->inbound && r->answer_ms))
		return;
	snprintf(from, sizeof(from), "%.*s", SLICE_ARG(r->from));
	snprintf(to, sizeof(to), "%.*s", SLICE_ARG(r->to));
	snprintf(callid, sizeof(callid), "%.*s", SLICE_ARG(r->sip_call_id));
	rec.sid = r->sid;
	rec.account_sid = ic ? ic->account_sid : e->cfg->calls.account_sid;
	rec.parent_call_sid = r->parent_sid;
	rec.direction = r->inbound ? "inbound" : "outbound-dial";
	rec.from = from;
	rec.to = to;
	rec.status = r->status;
	rec.start_time = wall_ms(in, r->start_ms);
	rec.answer_time = wall_ms(in, r->answer_ms);
	rec.end_time = wall_ms(in, r->end_ms);
	rec.duration = r->answer_ms && r->end_ms ? (int64_t)(r->end_ms - r->answer_ms) / 1000 : 0;
	rec.edge = r->edge;
	rec.gateway = r->gateway;
	rec.sip_call_id = callid;
	rec.sip_status = r->sip_status;
	rec.end_reason = r->end_reason;
	rec.hung_up_by = r->hung_up_by;
	rec.media_packets_received = (int64_t)r->media.rx_pkts;
	rec.media_bytes_received = (int64_t)r->media.rx_bytes;
	rec.media_packets_sent = (int64_t)r->media.tx_pkts;
	rec.media_bytes_sent = (int64_t)r->media.tx_bytes;
	rec.media_packets_lost = r->media.rr_cum_lost > 0 ? r->media.rr_cum_lost : 0;
	rec.media_jitter = r->media.rr_jitter;
	if (store_call_record_post(in->records, &rec))
		log_warn(MOD, "%s: call record dropped (writer queue full)", r->sid);
}

void inbound_ctl(struct edge *e, struct call_ctl *ctl)
{
	*ctl = (struct call_ctl){
	    .admit = admit_h,
	    .start = start_h,
	    .dial_done = dial_done_h,
	    .record = record_h,
	    .ended = ended_h,
	    .arg = e,
	};
}

/* ----------------------------------------------------------- snapshot */

static void load_work_h(uv_work_t *w)
{
	struct inbound *in = w->data;

	in->load_rc = store_snapshot_load(in->loader, &in->loaded, &in->load_err);
}

static void poll_h(void *arg);
static void inbound_free(struct inbound *in);

static void load_done_h(uv_work_t *w, int status)
{
	struct inbound *in = w->data;

	in->loading = false;
	if (in->closing) {
		inbound_free(in);
		return;
	}
	if (status == 0 && in->load_rc == 0 && in->loaded) {
		log_info(MOD, "store changed: snapshot %llu (%zu domains)",
		         (unsigned long long)in->loaded->version, in->loaded->ndomains);
		mem_deref(in->snap);
		in->snap = in->loaded;
		in->snapshots++;
	} else if (in->load_rc) {
		log_warn(MOD, "store snapshot: %s", in->load_err.msg);
	}
	in->loaded = NULL;
	if (!in->e->stopping)
		tmr_start(&in->poll_tmr, &in->e->heap, SNAPSHOT_POLL_MS, poll_h, in);
}

static void poll_h(void *arg)
{
	struct inbound *in = arg;
	bool changed = false;

	if (store_changed(in->store, in->snap, &changed) == 0 && changed) {
		in->loading = true;
		in->load_work.data = in;
		if (uv_queue_work(in->e->loop, &in->load_work, load_work_h, load_done_h) == 0)
			return;
		in->loading = false;
	}
	tmr_start(&in->poll_tmr, &in->e->heap, SNAPSHOT_POLL_MS, poll_h, in);
}

/* tnx= SIDs of connections created with ixctl: the snapshot knows their edge. */
static int store_connection_edge(void *arg, struct slice sid)
{
	struct inbound *in = arg;
	const struct store_connection *c =
	    in->snap ? store_snapshot_connection(in->snap, sid) : NULL;

	return c ? routing_edge_find(in->e->routing, slice_cstr(c->edge), NULL) : -ENOENT;
}

/*
 * The deployment's one digest realm: "sip." + the first base domain.  ixctl
 * hashes credentials under the same (docs/AUTH.md, "Realm").
 */
static int realm_ensure(struct inbound *in, struct store_err *err)
{
	const struct config *cfg = in->e->cfg;
	char want[300], have[300];

	snprintf(want, sizeof(want), "sip.%s",
	         cfg->nbase_domains ? cfg->base_domains[0] : "twilio.com");
	if (store_realm_get(in->store, have, sizeof(have)) == 0 && !strcmp(have, want))
		return 0;
	log_warn(MOD,
	         "digest realm set to %s (was %s): credentials hashed under the old one "
	         "must have their passwords set again",
	         want, have);
	return store_realm_set(in->store, want, err);
}

static int64_t wall_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records of calls that were up when an earlier run died get an end (completed or failed). */
static int close_open_records(struct inbound *in, struct store_err *err)
{
	size_t n = 0;
	int rc = store_calls_close_open(in->store, wall_now_ms(), "edge restarted during the call",
	                                &n, err);

	if (!rc && n)
		log_warn(MOD, "closed %zu call records left open by an earlier run", n);
	return rc;
}

int inbound_open(struct edge *e)
{
	const char *dir = e->cfg->data_dir;
	struct inbound *in = calloc(1, sizeof(*in));
	struct digest_cfg dc;
	struct seed_stats ss;
	struct store_err err = {{0}};
	int rc;

	if (!in)
		return -ENOMEM;
	e->in = in;
	in->e = e;
	in->wall_offset_ms = wall_now_ms() - (int64_t)e->heap.now;
	rc = store_open(&in->store, dir, &err);
	if (!rc)
		rc = realm_ensure(in, &err);
	if (!rc)
		rc = seed_apply(in->store, e->cfg, 0, &ss, err.msg, sizeof(err.msg));
	if (!rc)
		rc = close_open_records(in, &err);
	if (!rc)
		rc = store_open(&in->loader, dir, &err);
	if (!rc)
		rc = store_snapshot_load(in->store, &in->snap, &err);
	if (!rc)
		rc = store_worker_start(&in->records, in->store, NULL, &err);
	if (rc) {
		log_error(MOD, "store in %s: %s", dir, err.msg);
		return rc;
	}
	digest_cfg_default(&dc);
	dc.nonce_lifetime_s = e->cfg->auth.nonce_lifetime_s;
	rc = digest_alloc(&in->digest, &dc);
	if (rc) {
		log_error(MOD, "digest: %s", strerror(-rc));
		return rc;
	}
	log_info(MOD, "store %s: %zu accounts, %zu domains (seed: %u created), realm %s", dir,
	         in->snap->naccounts, in->snap->ndomains, ss.created, in->snap->realm);
	routing_set_connection_lookup(e->routing, store_connection_edge, in);
	tmr_start(&in->poll_tmr, &e->heap, SNAPSHOT_POLL_MS, poll_h, in);
	return 0;
}

static void inbound_free(struct inbound *in)
{
	mem_deref(in->snap);
	mem_deref(in->loaded);
	mem_deref(in->digest);
	mem_deref(in->loader);
	mem_deref(in->store);
	free(in);
}

void inbound_close(struct edge *e)
{
	struct inbound *in = e->in;

	if (!in)
		return;
	e->in = NULL;
	tmr_cancel(&in->poll_tmr);
	if (in->records)
		store_worker_stop(in->records);
	in->records = NULL;
	if (in->loading)
		in->closing = true; /* the loader thread still uses in->loader */
	else
		inbound_free(in);
}

int inbound_metrics(struct edge *e, struct buf *out)
{
	struct inbound *in = e->in;
	struct store_worker_stats ws = {0};
	struct digest_stats ds = {0};
	int rc;

	if (!in)
		return 0;
	rc = prom_header(out, "ixedge_inbound_refused_total", "counter",
	                 "INVITEs refused before a call existed, by reason.");
	for (size_t i = 0; !rc && i < REFUSE__COUNT; i++)
		rc = prom_value(out, "ixedge_inbound_refused_total",
		                PROM_LABELS({"reason", refusal_names[i]}), in->refused[i]);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_inbound_challenges_total",
	                       "401 challenges sent to callers without credentials.",
	                       in->challenges);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_twiml_errors_total",
	                       "Calls ended because their TwiML could not be used.",
	                       in->twiml_errors);
	if (in->records)
		store_worker_stats(in->records, &ws);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_call_records_committed_total",
	                       "Call records written to the store.", ws.committed);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_call_records_dropped_total",
	                       "Call records refused (writer queue full).", ws.dropped);
	rc = rc ? rc
	        : prom_gauge(out, "ixedge_store_snapshot_version",
	                     "Config version of the snapshot in use.", in->snap->version);
	if (in->digest)
		digest_stats_get(in->digest, &ds);
	rc = rc ? rc
	        : prom_counter(out, "ixedge_digest_nonces_total", "Digest nonces issued.",
	                       ds.nonces);
	return rc;
}
