/* Dialog state: creation from INVITE/response, matching, in-dialog request building. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/rand.h"
#include "dialog/dialog.h"

size_t dialog_tag_new(char *out, size_t len)
{
	return rand_token(out, len, 16);
}

size_t dialog_callid_new(char *out, size_t len, struct slice host)
{
	size_t n = rand_token(out, len, 24);

	if (host.len && n + 1 + host.len < len) {
		out[n++] = '@';
		memcpy(out + n, host.p, host.len);
		n += host.len;
		out[n] = '\0';
	}
	return n;
}

/* The strings a dialog owns, in the order dialog_store() keeps them. */
enum { F_CALL_ID, F_LTAG, F_RTAG, F_LURI, F_RURI, F_TARGET, F_CONTACT, F_ROUTES, F__N };

static const size_t field_off[F__N] = {
    offsetof(struct dialog, call_id),       offsetof(struct dialog, local_tag),
    offsetof(struct dialog, remote_tag),    offsetof(struct dialog, local_uri),
    offsetof(struct dialog, remote_uri),    offsetof(struct dialog, remote_target),
    offsetof(struct dialog, local_contact), offsetof(struct dialog, route_set),
};

static struct slice *field(struct dialog *d, int i)
{
	return (struct slice *)((char *)d + field_off[i]);
}

/* Copies v[] into a new backing buffer (v may point into the old one), then swaps. */
static int dialog_store(struct dialog *d, const struct slice v[F__N])
{
	struct buf b = {0};
	size_t off[F__N];

	for (int i = 0; i < F__N; i++) {
		off[i] = b.len;
		if (buf_append_slice(&b, v[i])) {
			buf_free(&b);
			return -ENOMEM;
		}
	}
	buf_free(&d->store);
	d->store = b;
	for (int i = 0; i < F__N; i++)
		*field(d, i) = (struct slice){b.p + off[i], v[i].len};
	return 0;
}

/* Appends "[dname ]<uri>" of a From/To value, without its parameters (the tag). */
static int nameaddr_fmt(struct buf *b, const struct sip_addr *a)
{
	int e = 0;

	if (a->dname.len) {
		e |= buf_append_cstr(b, a->dname_quoted ? "\"" : "");
		e |= buf_append_slice(b, a->dname);
		e |= buf_append_cstr(b, a->dname_quoted ? "\" " : " ");
	}
	e |= buf_append_cstr(b, "<");
	e |= buf_append_slice(b, a->uri.raw);
	e |= buf_append_cstr(b, ">");
	return e ? -ENOMEM : 0;
}

/* Appends the Record-Route values joined with ", ", in message order or reversed. */
static int routes_fmt(struct buf *b, const struct sip_msg *msg, bool reverse)
{
	struct slice vals[64];
	size_t n = 0;
	struct sip_hdr_iter it;
	struct slice v;
	int e = 0;

	sip_hdr_iter_init(&it, msg, SIP_HDR_RECORD_ROUTE);
	while (n < ARRAY_SIZE(vals) && sip_hdr_iter_next(&it, &v) == 0)
		vals[n++] = v;
	for (size_t i = 0; i < n; i++) {
		if (i)
			e |= buf_append_cstr(b, ", ");
		e |= buf_append_slice(b, vals[reverse ? n - 1 - i : i]);
	}
	return e ? -ENOMEM : 0;
}

/*
 * Fills v[] for a new dialog: the name-addrs and the route set are formatted
 * into scratch first, since they are not slices of any message.
 */
static int dialog_init(struct dialog *d, struct slice v[F__N], const struct sip_addr *local,
                       const struct sip_addr *remote, const struct sip_msg *rr_msg, bool reverse)
{
	struct buf scratch = {0};
	size_t l_end, r_end;
	int e;

	e = nameaddr_fmt(&scratch, local);
	l_end = scratch.len;
	e = e ? e : nameaddr_fmt(&scratch, remote);
	r_end = scratch.len;
	e = e ? e : routes_fmt(&scratch, rr_msg, reverse);
	if (!e) {
		v[F_LURI] = (struct slice){scratch.p, l_end};
		v[F_RURI] = (struct slice){scratch.p + l_end, r_end - l_end};
		v[F_ROUTES] = (struct slice){scratch.p + r_end, scratch.len - r_end};
		e = dialog_store(d, v);
	}
	buf_free(&scratch);
	return e;
}

/* Contact URI of msg (first value), or -EBADMSG. */
static int contact_uri(const struct sip_msg *msg, struct sip_addr *a)
{
	struct sip_hdr_iter it;
	struct slice v;

	sip_hdr_iter_init(&it, msg, SIP_HDR_CONTACT);
	if (sip_hdr_iter_next(&it, &v) || sip_addr_decode(a, v, NULL) || a->wildcard)
		return -EBADMSG;
	return 0;
}

static bool private_v4(const struct sockaddr_storage *ss)
{
	uint32_t a;

	if (ss->ss_family != AF_INET)
		return false;
	a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
	return (a >> 24) == 10 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 ||
	       (a >> 16) == 0xa9fe || (a >> 22) == (100u << 2 | 1);
}

/*
 * Next hop for in-dialog requests: the first Route when it is numeric, else
 * the remote target when numeric, else where the dialog's request went or
 * came from.  A private-address target behind a public source is a NAT:
 * answer the source (the classic one-way-signalling trap).
 */
static void next_hop_pick(struct dialog *d, const struct tp_peer *fallback)
{
	struct sockaddr_storage ss;
	struct sip_addr a;
	struct sip_uri u;
	struct slice rest = d->route_set, first;

	d->peer = *fallback;
	if (rest.len && sip_list_next(&rest, &first) == 0 &&
	    sip_addr_decode(&a, first, NULL) == 0) {
		if (tp_uri_addr(&a.uri, &ss) == 0)
			d->peer.addr = ss;
		return;
	}
	if (sip_uri_decode(&u, d->remote_target, NULL) == 0 && tp_uri_addr(&u, &ss) == 0) {
		if (private_v4(&ss) && !private_v4(&fallback->addr))
			return;
		d->peer.addr = ss;
	}
}

int dialog_uas_create(struct dialog *d, const struct sip_msg *invite, struct slice local_tag,
                      struct slice local_contact, const struct tp_peer *src)
{
	struct slice v[F__N] = {0};
	struct sip_addr contact;
	int e;

	dialog_reset(d);
	if (contact_uri(invite, &contact))
		return -EBADMSG;
	v[F_CALL_ID] = invite->call_id;
	v[F_LTAG] = local_tag;
	v[F_RTAG] = invite->from.tag;
	v[F_TARGET] = contact.uri.raw;
	v[F_CONTACT] = local_contact;
	e = dialog_init(d, v, &invite->to, &invite->from, invite, false); /* RR order kept */
	if (e)
		return e;
	d->uac = false;
	d->state = DIALOG_EARLY;
	d->remote_cseq = invite->cseq.num;
	d->remote_cseq_set = true;
	d->local_cseq = 1;
	next_hop_pick(d, src);
	return 0;
}

int dialog_uac_create(struct dialog *d, const struct sip_msg *req, const struct sip_msg *resp,
                      struct slice local_contact, const struct tp_peer *next_hop)
{
	struct slice v[F__N] = {0};
	struct sip_addr contact;
	int e;

	dialog_reset(d);
	if (!resp->to.tag.len)
		return -EBADMSG;
	v[F_CALL_ID] = req->call_id;
	v[F_LTAG] = req->from.tag;
	v[F_RTAG] = resp->to.tag;
	/* A provisional may lack Contact; the Request-URI stands in until a 2xx brings one. */
	v[F_TARGET] = contact_uri(resp, &contact) == 0 ? contact.uri.raw : req->ruri.raw;
	v[F_CONTACT] = local_contact;
	e = dialog_init(d, v, &req->from, &req->to, resp, true); /* UAC reverses RR */
	if (e)
		return e;
	d->uac = true;
	d->state = resp->status < 200 ? DIALOG_EARLY : DIALOG_CONFIRMED;
	d->local_cseq = req->cseq.num;
	d->remote_cseq_set = false;
	next_hop_pick(d, next_hop);
	return 0;
}

int dialog_update_target(struct dialog *d, const struct sip_msg *msg)
{
	struct slice v[F__N];
	struct sip_addr contact;
	int e;

	if (contact_uri(msg, &contact) || slice_eq(contact.uri.raw, d->remote_target))
		return 0; /* no Contact, or the same one: the target stays */
	for (int i = 0; i < F__N; i++)
		v[i] = *field(d, i);
	v[F_TARGET] = contact.uri.raw;
	e = dialog_store(d, v);
	if (!e && !d->route_set.len) {
		struct tp_peer hop = d->peer;

		next_hop_pick(d, &hop);
	}
	return e;
}

void dialog_confirm(struct dialog *d)
{
	d->state = DIALOG_CONFIRMED;
}

void dialog_reset(struct dialog *d)
{
	buf_free(&d->store);
	*d = (struct dialog){0};
}

bool dialog_match_request(const struct dialog *d, const struct sip_msg *req)
{
	return d->state != DIALOG_NONE && slice_eq(req->call_id, d->call_id) &&
	       slice_eq(req->to.tag, d->local_tag) && slice_eq(req->from.tag, d->remote_tag);
}

int dialog_remote_cseq(struct dialog *d, const struct sip_msg *req)
{
	/* ACK and CANCEL reuse the CSeq of what they refer to. */
	if (req->mid == SIP_METHOD_ACK || req->mid == SIP_METHOD_CANCEL)
		return 0;
	if (d->remote_cseq_set && req->cseq.num <= d->remote_cseq)
		return -EPROTO;
	d->remote_cseq = req->cseq.num;
	d->remote_cseq_set = true;
	return 0;
}

int dialog_request_build(struct dialog *d, struct buf *out, const char *method, uint32_t cseq,
                         struct slice branch, struct slice via_hostport,
                         const struct sip_edit *extra, size_t nextra, struct slice body)
{
	struct sip_edit h[8 + 16];
	char via[256], from[512], to[512], cs[64], contact[300];
	struct slice m = slice_cstr(method);
	size_t n = 0;
	bool seq = !slice_eq(m, SLICE("ACK")) && !slice_eq(m, SLICE("CANCEL"));
	int len;

	if (nextra > 16)
		return -E2BIG;
	if (seq)
		cseq = ++d->local_cseq;
	len = snprintf(via, sizeof(via), "SIP/2.0/%s " SLICE_FMT ";branch=" SLICE_FMT ";rport",
	               tp_proto_name(d->peer.proto), SLICE_ARG(via_hostport), SLICE_ARG(branch));
	if (len < 0 || (size_t)len >= sizeof(via))
		return -E2BIG;
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_VIA, {0}, {via, (size_t)len}};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_MAX_FORWARDS, {0}, SLICE("70")};
	if (d->route_set.len)
		h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_ROUTE, {0}, d->route_set};
	len = snprintf(from, sizeof(from), SLICE_FMT ";tag=" SLICE_FMT, SLICE_ARG(d->local_uri),
	               SLICE_ARG(d->local_tag));
	if (len < 0 || (size_t)len >= sizeof(from))
		return -E2BIG;
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_FROM, {0}, {from, (size_t)len}};
	len = snprintf(to, sizeof(to), SLICE_FMT ";tag=" SLICE_FMT, SLICE_ARG(d->remote_uri),
	               SLICE_ARG(d->remote_tag));
	if (len < 0 || (size_t)len >= sizeof(to))
		return -E2BIG;
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_TO, {0}, {to, (size_t)len}};
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CALL_ID, {0}, d->call_id};
	len = snprintf(cs, sizeof(cs), "%u %s", cseq, method);
	h[n++] = (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CSEQ, {0}, {cs, (size_t)len}};
	if (seq) {
		len = snprintf(contact, sizeof(contact), "<" SLICE_FMT ">",
		               SLICE_ARG(d->local_contact));
		if (len < 0 || (size_t)len >= sizeof(contact))
			return -E2BIG;
		h[n++] =
		    (struct sip_edit){SIP_EDIT_ADD, SIP_HDR_CONTACT, {0}, {contact, (size_t)len}};
	}
	for (size_t i = 0; i < nextra; i++)
		h[n++] = extra[i];
	return sip_request_build(out, m, d->remote_target, h, n, body);
}
