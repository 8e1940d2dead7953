/* Requests the transaction layer writes itself: ACK of a non-2xx (17.1.1.3) and CANCEL (9.1). */
#include <errno.h>
#include <string.h>

#include "txn_priv.h"

/* A header value on one line: each fold (line break plus the LWS around it) becomes one SP. */
static int put_value(struct buf *out, struct slice v)
{
	size_t i = 0, start = 0;
	int err = 0;

	while (!err && i < v.len) {
		size_t j;

		if (v.p[i] != '\r' && v.p[i] != '\n') {
			i++;
			continue;
		}
		for (j = i; j > start && (v.p[j - 1] == ' ' || v.p[j - 1] == '\t'); j--)
			;
		err = buf_append(out, v.p + start, j - start);
		if (!err)
			err = buf_append(out, " ", 1);
		while (i < v.len &&
		       (v.p[i] == '\r' || v.p[i] == '\n' || v.p[i] == ' ' || v.p[i] == '\t'))
			i++;
		start = i;
	}
	return err ? err : buf_append(out, v.p + start, v.len - start);
}

static int put_hdr(struct buf *out, const char *name, struct slice v)
{
	int err = buf_append_cstr(out, name);

	if (!err)
		err = buf_append(out, ": ", 2);
	if (!err)
		err = put_value(out, v);
	return err ? err : buf_append(out, "\r\n", 2);
}

static struct slice hdr_value(const struct sip_msg *m, enum sip_hdr_id id)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);

	return h ? h->value : SLICE_NULL;
}

/*
 * What ACK and CANCEL share: the INVITE's Request-URI, its top Via value
 * only (same branch), its Route headers, Max-Forwards, From, the given To,
 * Call-ID, and the INVITE's CSeq number with the new method.
 */
static int build(struct buf *out, const char *method, const struct sip_msg *inv, struct slice to)
{
	struct sip_hdr_iter it;
	struct slice via;
	size_t old = out->len;
	int err;

	sip_hdr_iter_init(&it, inv, SIP_HDR_VIA);
	if (sip_hdr_iter_next(&it, &via) != 0 || !to.len)
		return -EINVAL;
	err = buf_printf(out, "%s " SLICE_FMT " SIP/2.0\r\n", method, SLICE_ARG(inv->ruri.raw));
	if (!err)
		err = put_hdr(out, "Via", via);
	for (uint32_t i = 0; !err && i < inv->nhdr; i++) {
		if (inv->hdr[i].id == SIP_HDR_ROUTE)
			err = put_hdr(out, "Route", inv->hdr[i].value);
	}
	if (!err)
		err = buf_printf(out, "Max-Forwards: %d\r\n",
		                 inv->max_forwards >= 0 ? inv->max_forwards : 70);
	if (!err)
		err = put_hdr(out, "From", hdr_value(inv, SIP_HDR_FROM));
	if (!err)
		err = put_hdr(out, "To", to);
	if (!err)
		err = put_hdr(out, "Call-ID", inv->call_id);
	if (!err)
		err = buf_printf(out, "CSeq: %u %s\r\nContent-Length: 0\r\n\r\n",
		                 (unsigned)inv->cseq.num, method);
	if (err) {
		out->len = old;
		if (out->p)
			out->p[old] = '\0';
	}
	return err;
}

int txn_build_ack(struct buf *out, const struct sip_msg *inv, const struct sip_msg *resp)
{
	/* The To of the response: it carries the tag the ACK must echo. */
	return build(out, "ACK", inv, hdr_value(resp, SIP_HDR_TO));
}

int txn_build_cancel(struct buf *out, const struct sip_msg *inv)
{
	return build(out, "CANCEL", inv, hdr_value(inv, SIP_HDR_TO));
}
