/* SDP write: one leg's rewrite of a parsed body, with its own o= and a version that moves on
 * change. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/rand.h"
#include "sdp/sdp_priv.h"

int sdp_origin_init(struct sdp_origin *o, const struct sockaddr_storage *addr)
{
	if (!addr || (addr->ss_family != AF_INET && addr->ss_family != AF_INET6))
		return -EINVAL;
	memset(o, 0, sizeof(*o));
	/* Below 2^62 so peers that read it as a signed 64-bit number never overflow. */
	o->sess_id = rand_u64() >> 2;
	o->version = 1;
	snprintf(o->user, sizeof(o->user), "%s", SDP_ORIGIN_USER);
	o->addr = *addr;
	return 0;
}

/* The address as text; false for anything but IPv4 and IPv6. */
static bool addr_text(const struct sockaddr_storage *ss, char text[INET6_ADDRSTRLEN])
{
	const void *src = ss->ss_family == AF_INET
	                      ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
	                      : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	return inet_ntop(ss->ss_family, src, text, INET6_ADDRSTRLEN) != NULL;
}

static const char *addr_type(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? "IP4" : "IP6";
}

static int put_c(struct buf *b, const struct sockaddr_storage *ss)
{
	char text[INET6_ADDRSTRLEN];

	if (!addr_text(ss, text))
		return -EINVAL;
	return buf_printf(b, "c=IN %s %s\r\n", addr_type(ss), text);
}

static int put_line(struct buf *b, struct slice line)
{
	int rc = buf_append_slice(b, line);

	return rc ? rc : buf_append_cstr(b, "\r\n");
}

/* c= goes before b=, t=, k= and a= lines (RFC 8866 5 order), wherever the peer had it. */
static bool c_goes_before(char type)
{
	return strchr("cbtrzka", type) != NULL;
}

static int write_session(struct buf *b, const struct sdp *in, const struct sdp_origin *o)
{
	struct slice rest = in->sess, line, name, val;
	bool c_done = false;
	int rc = 0;

	while (!rc && sdp_line_next(&rest, &line) == 0) {
		if (!line.len || line.p[0] == 'v' || line.p[0] == 'o')
			continue;
		if (!c_done && c_goes_before(line.p[0])) {
			c_done = true;
			rc = put_c(b, &o->addr);
		}
		if (rc || line.p[0] == 'c')
			continue;
		if (line.p[0] == 'a') {
			sdp_attr_split((struct slice){line.p + 2, line.len - 2}, &name, &val);
			name = slice_trim(name);
			/* Direction moves to each m= section; ICE belongs to the peer. */
			switch (sdp_attr_kind(name, NULL)) {
			case SDP_ATTR_DIR:
			case SDP_ATTR_ICE:
				continue;
			default:
				break;
			}
		}
		rc = put_line(b, line);
	}
	if (!rc && !c_done)
		rc = put_c(b, &o->addr);
	return rc;
}

/* What one m= section becomes. */
struct mplan {
	const struct sdp_media *m;
	const struct sdp_rewrite_media *rw;
	uint16_t port;
	enum sdp_dir dir;
	const struct sockaddr_storage *addr; /* a media c=, or NULL */
	bool c_done, rtcp_done, dir_done;
};

static int put_rtcp(struct buf *b, struct mplan *p)
{
	p->rtcp_done = true;
	if (!p->port)
		return 0;
	if (p->rw->rtcp_mux)
		return buf_append_cstr(b, "a=rtcp-mux\r\n");
	if (p->rw->rtcp_port)
		return buf_printf(b, "a=rtcp:%u\r\n", p->rw->rtcp_port);
	return 0;
}

static int put_dir(struct buf *b, struct mplan *p)
{
	p->dir_done = true;
	return buf_printf(b, "a=%s\r\n", sdp_dir_name(p->dir));
}

/* One line of a media section after its m= line. */
static int write_media_line(struct buf *b, struct mplan *p, struct slice line)
{
	struct slice name, val;
	int rc = 0;

	if (!p->c_done && c_goes_before(line.p[0])) {
		p->c_done = true;
		if (p->addr)
			rc = put_c(b, p->addr);
	}
	if (rc || line.p[0] == 'c')
		return rc;
	if (line.p[0] != 'a')
		return put_line(b, line);
	sdp_attr_split((struct slice){line.p + 2, line.len - 2}, &name, &val);
	name = slice_trim(name);
	switch (sdp_attr_kind(name, NULL)) {
	case SDP_ATTR_ICE:
		return 0;
	case SDP_ATTR_RTCP:
	case SDP_ATTR_RTCP_MUX:
		return p->rtcp_done ? 0 : put_rtcp(b, p);
	case SDP_ATTR_DIR:
		return p->dir_done ? 0 : put_dir(b, p);
	default:
		return put_line(b, line);
	}
}

static int write_media(struct buf *b, struct mplan *p)
{
	struct slice rest = p->m->sect, line;
	int rc;

	rc = buf_printf(b, "m=" SLICE_FMT " %u " SLICE_FMT " " SLICE_FMT "\r\n",
	                SLICE_ARG(p->m->type), p->port, SLICE_ARG(p->m->proto),
	                SLICE_ARG(p->m->fmts));
	(void)sdp_line_next(&rest, &line); /* the m= line itself */
	while (!rc && sdp_line_next(&rest, &line) == 0)
		if (line.len)
			rc = write_media_line(b, p, line);
	if (!rc && !p->c_done && p->addr)
		rc = put_c(b, p->addr);
	if (!rc && !p->rtcp_done)
		rc = put_rtcp(b, p);
	/* sendrecv is the default; anything else must be said. */
	if (!rc && !p->dir_done && p->dir != SDP_SENDRECV)
		rc = put_dir(b, p);
	return rc;
}

static bool rw_addr_ok(const struct sockaddr_storage *ss, bool unspec_ok)
{
	return ss->ss_family == AF_INET || ss->ss_family == AF_INET6 ||
	       (unspec_ok && ss->ss_family == AF_UNSPEC);
}

static int plan_media(struct mplan *p, const struct sdp_media *m,
                      const struct sdp_rewrite_media *rw, const struct sdp_origin *o)
{
	memset(p, 0, sizeof(*p));
	p->m = m;
	p->rw = rw;
	/* RFC 3264 8.2: a removed stream stays in place with port 0. */
	p->port = m->port && !rw->keep_port0 ? rw->rtp_port : 0;
	if (!rw_addr_ok(&rw->addr, true) || (p->port == 0 && m->port && !rw->keep_port0))
		return -EINVAL;
	if (rw->dir_override < -1 || rw->dir_override > SDP_INACTIVE)
		return -EINVAL;
	p->dir = rw->dir_override >= 0 ? (enum sdp_dir)rw->dir_override : m->dir;
	if (p->port && rw->addr.ss_family != AF_UNSPEC && !sdp_addr_eq(&rw->addr, &o->addr))
		p->addr = &rw->addr;
	return 0;
}

/* FNV-1a: enough to tell "the same SDP again" from a change. */
static uint64_t hash_bytes(const char *p, size_t len)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
	return h;
}

/* The writer never produces a body its own parser would refuse for a limit. */
static int check_limits(const char *p, size_t len)
{
	size_t lines = 0, start = 0;

	if (len > SDP_MAX_SIZE)
		return -E2BIG;
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (i - start - 1 > SDP_MAX_LINE || ++lines > SDP_MAX_LINES)
			return -E2BIG;
		start = i + 1;
	}
	return 0;
}

static int write_body(struct buf *b, const struct sdp *in, const struct sdp_rewrite_media *rw,
                      const struct sdp_origin *o)
{
	struct mplan p;
	int rc = write_session(b, in, o);

	for (size_t i = 0; !rc && i < in->nmedia; i++) {
		rc = plan_media(&p, &in->media[i], &rw[i], o);
		if (!rc)
			rc = write_media(b, &p);
	}
	return rc;
}

int sdp_write(struct buf *out, const struct sdp *in, const struct sdp_rewrite_media *rw, size_t nrw,
              struct sdp_origin *o)
{
	size_t start = out->len, mark;
	char oline[sizeof(o->user) + 128], text[INET6_ADDRSTRLEN];
	uint64_t h, version;
	int n, rc;

	if (!in->complete || nrw != in->nmedia || (nrw && !rw) || !rw_addr_ok(&o->addr, false))
		return -EINVAL;
	rc = buf_append_cstr(out, "v=0\r\n");
	mark = out->len;
	if (!rc)
		rc = write_body(out, in, rw, o);
	if (rc)
		goto out;
	h = hash_bytes(out->p + mark, out->len - mark);
	version = o->written && h != o->last_hash ? o->version + 1 : o->version;
	if (!addr_text(&o->addr, text)) {
		rc = -EINVAL;
		goto out;
	}
	n = snprintf(oline, sizeof(oline), "o=%s %llu %llu IN %s %s\r\n", o->user,
	             (unsigned long long)o->sess_id, (unsigned long long)version,
	             addr_type(&o->addr), text);
	rc = buf_reserve(out, (size_t)n);
	if (!rc) {
		/* o= comes second but depends on the rest: slide the rest over for it. */
		memmove(out->p + mark + n, out->p + mark, out->len - mark);
		memcpy(out->p + mark, oline, (size_t)n);
		out->len += (size_t)n;
	}
	if (!rc)
		rc = check_limits(out->p + start, out->len - start);
	if (rc)
		goto out;
	o->version = version;
	o->last_hash = h;
	o->written = true;
	return 0;
out:
	out->len = start;
	return rc;
}
