/* libFuzzer target: SDP parse; on success, the rewrite, a parse of what was written and a second,
 * identical write. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/sdp.h"

static void check_err(const struct sdp_err *err, int rc, const uint8_t *data, size_t size)
{
	size_t lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (!err->what[0] || memchr(err->what, '\n', strlen(err->what)) || err->line > lines)
		abort();
	if ((rc == -ENOTSUP) != (err->status == 488))
		abort();
	if ((rc == -EBADMSG || rc == -E2BIG) != (err->status == 400))
		abort();
}

/* Every slice lies in the body and the sections tile it. */
static void check_slices(const struct sdp *s)
{
	const char *b = s->body.p, *e = slice_end(s->body), *at = b;

	if (s->sess.p != b)
		abort();
	at += s->sess.len;
	for (size_t i = 0; i < s->nmedia; i++) {
		const struct sdp_media *m = &s->media[i];

		if (m->sect.p != at || m->type.p < at || slice_end(m->fmts) > e || !m->fmts.len)
			abort();
		at += m->sect.len;
		if (m->usable && (!m->port || !m->has_addr || !m->rtp || m->nports != 1))
			abort();
	}
	if (at != e || s->nmedia > SDP_MAX_MEDIA)
		abort();
}

static struct sockaddr_storage ip(int af, const char *text)
{
	struct sockaddr_storage ss = {0};

	ss.ss_family = (sa_family_t)af;
	if (af == AF_INET)
		inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr);
	else
		inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr);
	return ss;
}

/* The parse of the written body says what the rewrite asked for. */
static void check_written(const struct sdp *in, const struct sdp *out,
                          const struct sdp_rewrite_media *rw, const struct sdp_origin *o)
{
	if (out->nmedia != in->nmedia || out->ice || !out->has_addr || out->has_dir)
		abort();
	for (size_t i = 0; i < in->nmedia; i++) {
		const struct sdp_media *a = &in->media[i], *b = &out->media[i];
		uint16_t port = a->port && !rw[i].keep_port0 ? rw[i].rtp_port : 0;
		enum sdp_dir dir =
		    rw[i].dir_override >= 0 ? (enum sdp_dir)rw[i].dir_override : a->dir;
		const struct sockaddr_storage *addr =
		    port && rw[i].addr.ss_family ? &rw[i].addr : &o->addr;

		if (b->port != port || b->dir != dir || b->ice || b->nports != 1 ||
		    !slice_eq(a->proto, b->proto) || !slice_eq(a->type, b->type) ||
		    !slice_eq(a->fmts, b->fmts) || memcmp(&b->addr, addr, sizeof(*addr)))
			abort();
		/* rtcp_port 0 asks for no a=rtcp: the peer then uses port + 1 */
		if (port && (b->rtcp_mux != rw[i].rtcp_mux ||
		             b->has_rtcp_attr != (rw[i].rtcp_port && !rw[i].rtcp_mux) ||
		             b->rtcp_port != (rw[i].rtcp_port ? rw[i].rtcp_port : port + 1) ||
		             b->has_rtcp_addr))
			abort();
		if (b->usable != (port && b->rtp))
			abort();
	}
}

static void rewrite(const struct sdp *in, const uint8_t *data, size_t size)
{
	struct sdp_rewrite_media rw[SDP_MAX_MEDIA];
	struct sockaddr_storage edge =
	    size & 1 ? ip(AF_INET6, "2001:db8::10") : ip(AF_INET, "192.0.2.10");
	struct sdp_origin o;
	struct buf out = {0}, again = {0};
	struct sdp *re = malloc(sizeof(*re));
	struct sdp_err err;
	uint64_t version;
	int rc;

	if (!re || sdp_origin_init(&o, &edge))
		abort();
	for (size_t i = 0; i < in->nmedia; i++) {
		uint8_t b = data[(i * 7) % size];

		memset(&rw[i], 0, sizeof(rw[i]));
		rw[i].rtp_port = (uint16_t)(20000 + 2 * i);
		rw[i].rtcp_port = (uint16_t)(b & 8 ? 0 : 20001 + 2 * i);
		rw[i].rtcp_mux = b & 1;
		rw[i].dir_override = (int)(b >> 5) % 5 - 1;
		rw[i].keep_port0 = !in->media[i].usable || (b & 2);
		if (b & 4)
			rw[i].addr =
			    i & 1 ? ip(AF_INET, "198.18.0.1") : ip(AF_INET6, "2001:db8::11");
	}
	rc = sdp_write(&out, in, rw, in->nmedia, &o);
	if (rc == -E2BIG)
		goto done;
	if (rc || o.version != 1)
		abort();
	rc = sdp_parse(re, buf_slice(&out), &err);
	if (rc && !(rc == -ENOTSUP && re->complete))
		abort();
	check_written(in, re, rw, &o);
	/* Writing what was written gives the same bytes and keeps the version. */
	version = o.version;
	if (sdp_write(&again, re, rw, re->nmedia, &o) || o.version != version ||
	    again.len != out.len || memcmp(again.p, out.p, out.len))
		abort();
done:
	buf_free(&out);
	buf_free(&again);
	free(re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	struct sdp *sdp = malloc(sizeof(*sdp));
	struct sdp_err err;
	int rc;

	if (!p || !sdp)
		abort();
	memcpy(p, data, size);
	rc = sdp_parse(sdp, (struct slice){p, size}, &err);
	if (rc)
		check_err(&err, rc, data, size);
	if (rc == 0 || (rc == -ENOTSUP && sdp->complete)) {
		if ((rc == 0) != (sdp->nusable > 0))
			abort();
		check_slices(sdp);
		if (size)
			rewrite(sdp, data, size);
	}
	free(sdp);
	free(p);
	return 0;
}
