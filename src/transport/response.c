/* Responses: RFC 3261 18.2.2 / RFC 3581 routing, received/rport stamps, stateless error answers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "transport/tp_int.h"

/* ------------------------------------------------------------ Via stamp */

/*
 * RFC 3261 18.2.1 and RFC 3581 4: the server notes where a request really
 * came from in its top Via, and responses copy that Via.  The request is
 * immutable here, so the stamp goes into the response instead: same bytes
 * on the wire.  Empty when the Via needs none.
 */
static void stamp_make(const struct sip_via *via, const struct sockaddr *from, char *out,
                       size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "";
	struct sockaddr_storage sb;

	out[0] = '\0';
	if (uv_ip_name(from, ip, sizeof(ip)))
		return;
	if (via->rport) {
		snprintf(out, len, ";received=%s;rport=%u", ip, tp_addr_port(from));
		return;
	}
	if (tp_addr_from_host(via->host, 0, &sb) == 0 && tp_ip_eq((struct sockaddr *)&sb, from))
		return;
	snprintf(out, len, ";received=%s", ip);
}

/* Writes p with stamp in place of the received/rport of its top Via into out. */
static int stamp_apply(struct tp *tp, const char *p, size_t len, const char *stamp, struct buf *out)
{
	struct sip_msg *m = NULL;
	struct sip_perr perr;
	const struct sip_hdr *h;
	struct slice rest, elem, name, val, params;
	const char *cut, *tail;
	int rc;

	rc = sip_msg_decode(&m, p, len, NULL, &tp->conf.lim, &perr);
	if (rc)
		goto out;
	rc = -EBADMSG;
	h = sip_msg_hdr(m, SIP_HDR_VIA);
	rest = h ? h->value : SLICE_NULL;
	if (!h || sip_list_next(&rest, &elem))
		goto out;
	elem = slice_trim(elem);
	params = m->via.params;
	if (params.len) {
		/* params follows the first ';' of the element: cut there. */
		if (params.p <= elem.p || slice_end(params) > slice_end(elem))
			goto out;
		cut = params.p - 1;
		while (cut > elem.p && *cut != ';')
			cut--;
		if (*cut != ';')
			goto out;
		tail = slice_end(params);
	} else {
		cut = tail = slice_end(elem);
	}
	rc = buf_append(out, p, (size_t)(cut - p));
	while (!rc && sip_param_next(&params, &name, &val) == 0) {
		if (slice_ieq_cstr(name, "received") || slice_ieq_cstr(name, "rport"))
			continue;
		rc = buf_printf(out, ";" SLICE_FMT, SLICE_ARG(name));
		if (!rc && val.len)
			rc = buf_printf(out, "=" SLICE_FMT, SLICE_ARG(val));
	}
	if (!rc)
		rc = buf_append_cstr(out, stamp);
	if (!rc)
		rc = buf_append(out, tail, (size_t)(p + len - tail));
out:
	mem_deref(m);
	return rc;
}

/* ------------------------------------------------------------ routing */

int tp_send_response(struct tp *tp, const struct sip_msg *req, const struct tp_peer *src,
                     const char *p, size_t len)
{
	const struct sip_via *via;
	const struct sockaddr *from;
	struct tp_peer dst;
	struct tp_conn *c;
	struct tp_lis *l;
	char stamp[96];
	uint16_t port;

	if (!tp || !req || !src || !p || !len || !req->req)
		return -EINVAL;
	if (tp->closing)
		return -ESHUTDOWN;
	via = &req->via;
	from = (const struct sockaddr *)&src->addr;
	if (from->sa_family != AF_INET && from->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	stamp_make(via, from, stamp, sizeof(stamp));
	if (stamp[0]) {
		buf_reset(&tp->scratch2);
		/* Our own bytes that do not parse go out as they are: the routing still holds. */
		if (stamp_apply(tp, p, len, stamp, &tp->scratch2) == 0) {
			p = tp->scratch2.p;
			len = tp->scratch2.len;
		}
	}
	port = via->port ? via->port : src->proto == TP_TLS ? 5061 : 5060;
	dst = (struct tp_peer){.proto = src->proto, .lis = src->lis};
	memcpy(&dst.addr, from, tp_addr_len(from));

	if (src->proto != TP_UDP) {
		/* 18.2.2: the connection the request came on, else a new one to received:sent-by.
		 */
		c = src->conn_id ? tp_conn_find(tp, src->conn_id) : NULL;
		if (c && c->proto == src->proto)
			dst.conn_id = c->id;
		else
			tp_addr_set_port(&dst.addr, port);
		return tp_stream_send(tp, &dst, p, len, NULL, NULL);
	}
	/* maddr (multicast or not) when numeric; a name would need DNS, so it is ignored. */
	if (via->maddr.len && tp_addr_from_host(via->maddr, port, &dst.addr) == 0) {
		/* sent to maddr:port */
	} else if (!via->rport) {
		/* received (the source IP, whether or not stamped) at the sent-by port */
		tp_addr_set_port(&dst.addr, port);
	}
	/* with rport: the source address and port exactly, as dst already holds */
	l = tp_lis_pick(tp, src->lis, TP_UDP, dst.addr.ss_family);
	if (!l)
		return -EADDRNOTAVAIL;
	return tp_udp_send(tp, l, (const struct sockaddr *)&dst.addr, p, len, NULL, NULL);
}

/* ------------------------------------------------------------ errors */

static bool reason_char_ok(char ch)
{
	/* RFC 3261 25.1 Reason-Phrase: reserved / unreserved / SP (the ASCII part). */
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr(" -_.!~*'();/?:@&=+$,", ch));
}

static void reason_add(char *dst, size_t cap, size_t *n, const char *p, size_t len)
{
	for (size_t i = 0; i < len && *n + 1 < cap; i++)
		dst[(*n)++] = reason_char_ok(p[i]) ? p[i] : '?';
	dst[*n] = '\0';
}

/* "Bad Request (CSeq: method does not match request method)". */
static void reason_make(char *dst, size_t cap, uint16_t status, const struct sip_perr *perr)
{
	const char *phrase = sip_status_reason(status);
	const char *what = perr->what ? perr->what : "malformed";
	size_t n = 0;

	reason_add(dst, cap, &n, phrase, strlen(phrase));
	reason_add(dst, cap, &n, " (", 2);
	if (perr->hname.len) {
		reason_add(dst, cap, &n, perr->hname.p,
		           perr->hname.len > 48 ? 48 : perr->hname.len);
		reason_add(dst, cap, &n, ": ", 2);
	}
	reason_add(dst, cap, &n, what, strlen(what));
	if (n + 1 >= cap && cap > 4)
		n = cap - 5; /* truncated: still close the parenthesis */
	reason_add(dst, cap, &n, ")", 1);
}

/* FNV-1a over what identifies the request: a retransmission gets the same To-tag. */
static void to_tag_make(const struct tp *tp, const struct sip_msg *req, char tag[17])
{
	const struct slice parts[] = {req->call_id, req->from.tag, req->via.branch,
	                              req->cseq.method};
	uint64_t x = 0xcbf29ce484222325ull ^ tp->salt;

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		for (size_t j = 0; j < parts[i].len; j++) {
			x ^= (unsigned char)parts[i].p[j];
			x *= 0x100000001b3ull;
		}
		x ^= 0xff;
		x *= 0x100000001b3ull;
	}
	x ^= req->cseq.num;
	x *= 0x100000001b3ull;
	snprintf(tag, 17, "%016llx", (unsigned long long)x);
}

void tp_answer_error(struct tp *tp, struct sip_msg *req, const struct tp_peer *src, int rc,
                     const struct sip_perr *perr)
{
	uint16_t status = perr->status >= 400 && perr->status <= 699 ? perr->status
	                  : rc == -E2BIG                             ? 513
	                                                             : 400;
	char reason[160], tag[17], a[64];
	int err;

	reason_make(reason, sizeof(reason), status, perr);
	to_tag_make(tp, req, tag);
	tp_sockaddr_fmt((const struct sockaddr *)&src->addr, a, sizeof(a));
	buf_reset(&tp->scratch);
	err = sip_response_build(&tp->scratch, req, status, reason, slice_cstr(tag), NULL, 0,
	                         SLICE_NULL);
	if (!err)
		err = tp_send_response(tp, req, src, tp->scratch.p, tp->scratch.len);
	if (err) {
		tp->stats.dropped++;
		log_info(MOD, "%s %s: cannot answer a malformed " SLICE_FMT ": %s",
		         tp_proto_name(src->proto), a, SLICE_ARG(req->method), strerror(-err));
		return;
	}
	tp->stats.answered_errors++;
	log_debug(MOD, "%s %s: %u %s (byte %zu)", tp_proto_name(src->proto), a, status, reason,
	          perr->offset);
}
