/* Stateless foundation handler: parse, answer OPTIONS, 400 what is malformed, 501 the rest. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "app/app.h"

#define MOD "sip"

/*
 * Until the transaction layer arrives every message is handled on its own:
 * no state is kept between messages, so a retransmitted request simply gets
 * the same answer again (the To-tag is derived from the request for that).
 */

typedef void(method_h)(struct handler *h, const struct sip_msg *req, const char *peer_ip,
                       const struct sockaddr *peer, struct buf *out);

static method_h options_h, ack_h;

/* Methods with a handler; `allow` ones are advertised in Allow. */
static const struct {
	enum sip_method mid;
	method_h *fn;
	bool allow;
} methods[] = {
    {SIP_METHOD_OPTIONS, options_h, true},
    {SIP_METHOD_ACK, ack_h, false},
};

static const char server_value[] = "ixedge/" IXEDGE_VERSION;

int handler_init(struct handler *h, const struct sip_limits *lim, struct app_stats *stats)
{
	int rc = 0;

	*h = (struct handler){.lim = lim, .stats = stats};
	/* Never fails on Linux; the salt only needs to be unknown to peers. */
	if (uv_random(NULL, NULL, &h->salt, sizeof(h->salt), 0, NULL))
		h->salt = (uint64_t)uv_hrtime();
	for (size_t i = 0; i < ARRAY_SIZE(methods) && !rc; i++) {
		if (methods[i].allow)
			rc = buf_printf(&h->allow, "%s%s", h->allow.len ? ", " : "",
			                sip_method_name(methods[i].mid));
	}
	return rc;
}

void handler_close(struct handler *h)
{
	buf_free(&h->allow);
	buf_free(&h->scratch);
	buf_free(&h->scratch2);
}

/* FNV-1a: a stable To-tag per (salt, Call-ID, From-tag, branch, CSeq). */
static uint64_t fnv(uint64_t hash, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++) {
		hash ^= b[i];
		hash *= 0x100000001b3ull;
	}
	return hash;
}

static void to_tag_make(const struct handler *h, const struct sip_msg *req, char tag[17])
{
	uint64_t x = fnv(0xcbf29ce484222325ull, &h->salt, sizeof(h->salt));

	x = fnv(x, req->call_id.p, req->call_id.len);
	x = fnv(x, req->from.tag.p, req->from.tag.len);
	x = fnv(x, req->via.branch.p, req->via.branch.len);
	x = fnv(x, &req->cseq.num, sizeof(req->cseq.num));
	snprintf(tag, 17, "%016llx", (unsigned long long)x);
}

/*
 * RFC 3261 18.2.1 and RFC 3581: tell the client where its request really
 * came from.  Writes the parameters to add to the top Via (empty if none).
 */
static void via_stamp_params(const struct sip_via *via, const char *peer_ip, uint16_t peer_port,
                             char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	bool same = false;
	int af = via->host_type == SIP_HOST_IPV6 ? AF_INET6 : AF_INET;

	out[0] = '\0';
	if ((via->host_type == SIP_HOST_IPV4 || via->host_type == SIP_HOST_IPV6) &&
	    via->host.len < sizeof(host)) {
		memcpy(host, via->host.p, via->host.len);
		host[via->host.len] = '\0';
		same = inet_pton(af, host, bin) == 1 && inet_ntop(af, bin, canon, sizeof(canon)) &&
		       strcmp(canon, peer_ip) == 0;
	}
	if (via->rport)
		snprintf(out, len, ";received=%s;rport=%u", peer_ip, peer_port);
	else if (!same)
		snprintf(out, len, ";received=%s", peer_ip);
}

/* Rebuilds the first Via value of rsp with the stamp in place of any old received/rport. */
static int via_rewrite(const struct sip_msg *rsp, const char *stamp, struct buf *val)
{
	struct sip_hdr_iter it;
	struct sip_via via;
	struct sip_perr perr;
	struct slice elem, head, rest, name, pval;
	bool first = true;
	int rc;

	sip_hdr_iter_init(&it, rsp, SIP_HDR_VIA);
	while ((rc = sip_hdr_iter_next(&it, &elem)) == 0) {
		if (!first) {
			rc = buf_printf(val, ", " SLICE_FMT, SLICE_ARG(elem));
			if (rc)
				return rc;
			continue;
		}
		first = false;
		rc = sip_via_decode(&via, elem, &perr);
		if (rc)
			return rc;
		head = slice_trim(elem);
		if (via.params.len) {
			/* The params slice must lie inside this element, after a ';'. */
			if (via.params.p <= elem.p ||
			    via.params.p + via.params.len > elem.p + elem.len)
				return -EBADMSG;
			head = slice_trim((struct slice){elem.p, (size_t)(via.params.p - elem.p)});
			if (!head.len || head.p[head.len - 1] != ';')
				return -EBADMSG;
			head = slice_trim((struct slice){head.p, head.len - 1});
		}
		rc = buf_append_slice(val, head);
		rest = via.params;
		while (!rc && sip_param_next(&rest, &name, &pval) == 0) {
			if (slice_ieq_cstr(name, "received") || slice_ieq_cstr(name, "rport"))
				continue;
			rc = buf_printf(val, ";" SLICE_FMT, SLICE_ARG(name));
			if (!rc && pval.len)
				rc = buf_printf(val, "=" SLICE_FMT, SLICE_ARG(pval));
		}
		if (!rc)
			rc = buf_append_cstr(val, stamp);
		if (rc)
			return rc;
	}
	return rc == -ENOENT && !first ? 0 : -EBADMSG;
}

/*
 * Stamps received/rport into the response just built at out[start..].  The
 * response is our own output, so it parses; if it does not (a 400 that
 * copied a broken Via), it goes out unstamped, which is still correct for
 * a peer that reads the answer from the socket it sent on.
 */
static void via_stamp(struct handler *h, const struct sip_msg *req, const char *peer_ip,
                      const struct sockaddr *peer, struct buf *out, size_t start)
{
	char stamp[96];
	struct sip_msg *rsp = NULL;
	struct sip_perr perr;
	struct sip_edit edit = {.op = SIP_EDIT_REPLACE, .id = SIP_HDR_VIA};
	uint16_t port = ntohs(((const struct sockaddr_in *)peer)->sin_port);

	via_stamp_params(&req->via, peer_ip, port, stamp, sizeof(stamp));
	if (!stamp[0])
		return;
	buf_reset(&h->scratch);
	buf_reset(&h->scratch2);
	if (sip_msg_decode(&rsp, out->p + start, out->len - start, NULL, h->lim, &perr))
		goto out;
	if (via_rewrite(rsp, stamp, &h->scratch))
		goto out;
	edit.value = buf_slice(&h->scratch);
	if (sip_msg_derive(&h->scratch2, rsp, SLICE_NULL, &edit, 1, NULL))
		goto out;
	out->len = start;
	buf_append_slice(out, buf_slice(&h->scratch2));
out:
	mem_deref(rsp);
}

static void respond(struct handler *h, const struct sip_msg *req, uint16_t status,
                    const char *reason, const char *peer_ip, const struct sockaddr *peer,
                    const struct sip_edit *extra, size_t nextra, struct buf *out)
{
	struct sip_edit hdrs[8];
	size_t start = out->len, n = 0;
	char tag[17];
	int rc;

	to_tag_make(h, req, tag);
	for (size_t i = 0; i < nextra && n < ARRAY_SIZE(hdrs) - 1; i++)
		hdrs[n++] = extra[i];
	hdrs[n++] =
	    (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_SERVER, SLICE_NULL, SLICE(server_value)};
	rc = sip_response_build(out, req, status, reason, slice_cstr(tag), hdrs, n, SLICE_NULL);
	if (rc) {
		log_warn(MOD, "cannot build %u response: %s", status, strerror(-rc));
		out->len = start;
		return;
	}
	via_stamp(h, req, peer_ip, peer, out, start);
}

static void options_h(struct handler *h, const struct sip_msg *req, const char *peer_ip,
                      const struct sockaddr *peer, struct buf *out)
{
	/* Supported is present and empty: RFC 3261 20.37, no extensions yet. */
	const struct sip_edit extra[] = {
	    {SIP_EDIT_ADD, SIP_HDR_ALLOW, SLICE_NULL, buf_slice(&h->allow)},
	    {SIP_EDIT_ADD, SIP_HDR_ACCEPT, SLICE_NULL, SLICE("application/sdp")},
	    {SIP_EDIT_ADD, SIP_HDR_SUPPORTED, SLICE_NULL, SLICE("")},
	};

	respond(h, req, 200, NULL, peer_ip, peer, extra, ARRAY_SIZE(extra), out);
}

static void ack_h(struct handler *h, const struct sip_msg *req, const char *peer_ip,
                  const struct sockaddr *peer, struct buf *out)
{
	/* An ACK never gets a response (RFC 3261 17.2.1); without dialogs it has no effect. */
	h->stats->acks_absorbed++;
}

static bool reason_char_ok(char ch)
{
	/* RFC 3261 25.1 Reason-Phrase: reserved / unreserved / SP (ASCII part). */
	return ch && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	              (ch >= '0' && ch <= '9') || strchr(" -_.!~*'();/?:@&=+$,", ch) != NULL);
}

static void reason_append(char *dst, size_t cap, size_t *n, const char *p, size_t len)
{
	for (size_t i = 0; i < len && *n + 2 < cap; i++)
		dst[(*n)++] = reason_char_ok(p[i]) ? p[i] : '?';
	dst[*n] = '\0';
}

/* "Bad Request (CSeq: method does not match)": the parser's words, kept to reason-phrase chars. */
static void reason_make(char *dst, size_t cap, const char *phrase, const struct sip_perr *perr)
{
	const char *what = perr->what ? perr->what : "malformed";
	size_t n = 0;

	reason_append(dst, cap, &n, phrase, strlen(phrase));
	reason_append(dst, cap, &n, " (", 2);
	if (perr->hname.len) {
		reason_append(dst, cap, &n, perr->hname.p,
		              perr->hname.len > 64 ? 64 : perr->hname.len);
		reason_append(dst, cap, &n, ": ", 2);
	}
	reason_append(dst, cap, &n, what, strlen(what));
	reason_append(dst, cap, &n, ")", 1);
}

static void peer_ip_text(const struct sockaddr *peer, char *ip, size_t len)
{
	if (uv_ip_name(peer, ip, len))
		snprintf(ip, len, "?");
}

void handler_process(struct handler *h, const char *p, size_t len, const struct sockaddr *peer,
                     const char *proto, struct buf *out)
{
	char ip[INET6_ADDRSTRLEN], reason[192];
	struct sip_perr perr = {0};
	struct sip_msg *msg = NULL;
	int rc;

	h->stats->msgs_in++;
	peer_ip_text(peer, ip, sizeof(ip));
	rc = sip_msg_decode(&msg, p, len, NULL, h->lim, &perr);
	/* Full grammar for requests: this is the one place that validates them. */
	if (!rc && msg->req)
		rc = sip_msg_check(msg, &perr);
	if (rc) {
		h->stats->parse_errors++;
		if (msg && msg->req && sip_msg_can_answer(msg)) {
			/* The parser knows the fitting code: 400, 413, 414, 505, 513... */
			uint16_t status = perr.status >= 400 && perr.status < 700 ? perr.status
			                  : rc == -E2BIG                          ? 513
			                                                          : 400;

			reason_make(reason, sizeof(reason), sip_status_reason(status), &perr);
			log_debug(MOD, "%s %s: %u %s (at byte %zu)", proto, ip, status, reason,
			          perr.offset);
			respond(h, msg, status, reason, ip, peer, NULL, 0, out);
		} else {
			h->stats->dropped++;
			log_debug(MOD,
			          "%s %s: dropped malformed message: " SLICE_FMT
			          "%s%s (at byte %zu)",
			          proto, ip, SLICE_ARG(perr.hname), perr.hname.len ? ": " : "",
			          perr.what ? perr.what : "malformed", perr.offset);
		}
		goto out;
	}
	if (!msg->req) {
		/* No client transactions yet, so no response can be ours. */
		h->stats->dropped++;
		log_debug(MOD, "%s %s: dropped response %u (no client transactions yet)", proto, ip,
		          msg->status);
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		if (methods[i].mid == msg->mid && msg->mid != SIP_METHOD_OTHER) {
			methods[i].fn(h, msg, ip, peer, out);
			goto out;
		}
	}
	/* Calls arrive with the signalling engine; until then say so plainly. */
	respond(h, msg, 501, NULL, ip, peer, NULL, 0, out);
out:
	mem_deref(msg);
}
