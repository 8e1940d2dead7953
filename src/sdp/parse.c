/* SDP parse: one pass over the lines, every check in one place, slices into the body. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sdp/sdp_priv.h"

#define SDP_STR_(x) #x
#define SDP_STR(x)  SDP_STR_(x)

struct pctx {
	struct sdp *sdp;
	struct sdp_err *err;
	unsigned line;
	struct sdp_media *cur; /* NULL in the session section */
	bool seen_v, seen_o, seen_s, seen_t, cur_has_c;
	bool blank; /* a blank line was seen: only blank lines may follow */
};

/* Records an error (status, message "line N: X=: why") and returns the errno for it. */
static int fail(struct pctx *c, int rc, uint16_t status, char type, const char *why)
{
	if (c->err) {
		c->err->status = status;
		c->err->line = c->line;
		if (c->line && type)
			snprintf(c->err->what, sizeof(c->err->what), "line %u: %c=: %s", c->line,
			         type, why);
		else if (c->line)
			snprintf(c->err->what, sizeof(c->err->what), "line %u: %s", c->line, why);
		else if (type)
			snprintf(c->err->what, sizeof(c->err->what), "%c=: %s", type, why);
		else
			snprintf(c->err->what, sizeof(c->err->what), "%s", why);
	}
	return rc;
}

static int bad(struct pctx *c, char type, const char *why)
{
	return fail(c, -EBADMSG, 400, type, why);
}

/* A c= or a=rtcp address verdict from sdp_conn_parse() as an error. */
static int conn_fail(struct pctx *c, char type, int status, const char *why)
{
	return fail(c, status == 488 ? -ENOTSUP : -EBADMSG, (uint16_t)status, type, why);
}

static bool all_digits(struct slice s, size_t max)
{
	if (!s.len || s.len > max)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return true;
}

static bool is_token_char(char ch)
{
	static const char extra[] = "!#$%&'*+-.^_`{|}~";

	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr(extra, ch));
}

/* RFC 8866 token. */
static bool is_token(struct slice s)
{
	if (!s.len)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_token_char(s.p[i]))
			return false;
	return true;
}

/* RFC 8866 proto: tokens joined by '/'. */
static bool is_proto(struct slice s)
{
	if (!s.len || s.p[0] == '/' || s.p[s.len - 1] == '/')
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_token_char(s.p[i]) && !(s.p[i] == '/' && s.p[i - 1] != '/'))
			return false;
	return true;
}

static int parse_port(struct slice s, uint16_t *port)
{
	uint64_t v;

	if (slice_to_u64(s, 65535, &v))
		return -EBADMSG;
	*port = (uint16_t)v;
	return 0;
}

static int on_v(struct pctx *c, struct slice v)
{
	if (c->seen_v)
		return bad(c, 'v', "duplicate");
	c->seen_v = true;
	if (!slice_eq(v, SLICE("0")))
		return bad(c, 'v', "version must be 0");
	return 0;
}

static int on_o(struct pctx *c, struct slice v)
{
	struct sdp *s = c->sdp;
	struct slice rest = v, extra;

	if (c->seen_o)
		return bad(c, 'o', "duplicate");
	c->seen_o = true;
	if (sdp_field_next(&rest, &s->o_user) || sdp_field_next(&rest, &s->o_sess_id) ||
	    sdp_field_next(&rest, &s->o_version) || sdp_field_next(&rest, &s->o_nettype) ||
	    sdp_field_next(&rest, &s->o_addrtype) || sdp_field_next(&rest, &s->o_addr) ||
	    !sdp_field_next(&rest, &extra))
		return bad(c, 'o', "expected 6 fields");
	/* Numeric, but some peers use more than 64 bits: checked, never converted. */
	if (!all_digits(s->o_sess_id, 32))
		return bad(c, 'o', "bad sess-id");
	if (!all_digits(s->o_version, 32))
		return bad(c, 'o', "bad sess-version");
	return 0;
}

static int on_s(struct pctx *c, struct slice v)
{
	if (c->seen_s)
		return bad(c, 's', "duplicate");
	c->seen_s = true;
	c->sdp->name = v;
	return 0;
}

static int on_c(struct pctx *c, struct slice v)
{
	struct sockaddr_storage *ss = c->cur ? &c->cur->addr : &c->sdp->addr;
	bool *has = c->cur ? &c->cur_has_c : &c->sdp->has_addr;
	const char *why;
	int st;

	if (*has)
		return c->cur ? conn_fail(c, 'c', 488, "more than one address is not supported")
		              : bad(c, 'c', "duplicate");
	*has = true;
	st = sdp_conn_parse(v, ss, &why);
	return st ? conn_fail(c, 'c', st, why) : 0;
}

static int on_b(struct pctx *c, struct slice v)
{
	struct slice type, val;

	sdp_attr_split(v, &type, &val);
	if (!is_token(type) || type.len == v.len || !all_digits(val, 20))
		return bad(c, 'b', "expected <bwtype>:<bandwidth>");
	return 0;
}

static int on_t(struct pctx *c, struct slice v)
{
	struct slice rest = v, start, stop, extra;

	c->seen_t = true;
	if (sdp_field_next(&rest, &start) || sdp_field_next(&rest, &stop) ||
	    !sdp_field_next(&rest, &extra) || !all_digits(start, 20) || !all_digits(stop, 20))
		return bad(c, 't', "expected <start-time> <stop-time>");
	return 0;
}

static int on_r(struct pctx *c, struct slice v)
{
	if (!c->seen_t)
		return bad(c, 'r', "before t=");
	return 0;
}

static int on_keep(struct pctx *c, struct slice v)
{
	return 0;
}

static int parse_fmts(struct pctx *c, struct sdp_media *m)
{
	struct slice rest = m->fmts, f;
	uint64_t pt;
	unsigned n = 0;

	while (sdp_field_next(&rest, &f) == 0) {
		n++;
		if (!is_token(f))
			return bad(c, 'm', "bad format");
		if (m->rtp && slice_to_u64(f, 127, &pt))
			return bad(c, 'm', "bad RTP payload type");
	}
	return n ? 0 : bad(c, 'm', "no formats");
}

static int on_m(struct pctx *c, struct slice v)
{
	struct sdp *s = c->sdp;
	struct sdp_media *m;
	struct slice rest = v, port, n;
	const char *slash;
	uint64_t nports = 1;

	if (s->nmedia == SDP_MAX_MEDIA)
		return fail(c, -E2BIG, 400, 'm',
		            "more than " SDP_STR(SDP_MAX_MEDIA) " media sections");
	m = &s->media[s->nmedia++];
	c->cur = m;
	c->cur_has_c = false;
	m->line = c->line;
	if (sdp_field_next(&rest, &m->type) || sdp_field_next(&rest, &port) ||
	    sdp_field_next(&rest, &m->proto))
		return bad(c, 'm', "expected <media> <port> <proto> <fmt>...");
	if (!is_token(m->type))
		return bad(c, 'm', "bad media type");
	slash = slice_chr(port, '/');
	if (slash) {
		n = (struct slice){slash + 1, port.len - (size_t)(slash + 1 - port.p)};
		port.len = (size_t)(slash - port.p);
		if (slice_to_u64(n, 65535, &nports) || nports == 0)
			return bad(c, 'm', "bad port count");
	}
	if (parse_port(port, &m->port))
		return bad(c, 'm', "bad port");
	m->nports = (uint16_t)nports;
	if (!is_proto(m->proto))
		return bad(c, 'm', "bad proto");
	m->rtp = sdp_proto_is_rtp(m->proto);
	while (rest.len && rest.p[0] == ' ')
		rest.p++, rest.len--;
	m->fmts = rest;
	return parse_fmts(c, m);
}

static int on_rtcp(struct pctx *c, struct slice val)
{
	struct sdp_media *m = c->cur;
	struct slice rest = val, port;
	const char *why;
	char msg[96];
	int st;

	if (!m)
		return bad(c, 0, "a=rtcp: only valid in a media section");
	if (m->has_rtcp_attr)
		return bad(c, 0, "a=rtcp: duplicate");
	m->has_rtcp_attr = true;
	if (sdp_field_next(&rest, &port) || parse_port(port, &m->rtcp_port) || !m->rtcp_port)
		return bad(c, 0, "a=rtcp: bad port");
	while (rest.len && rest.p[0] == ' ')
		rest.p++, rest.len--;
	if (!rest.len)
		return 0;
	m->has_rtcp_addr = true;
	st = sdp_conn_parse(rest, &m->rtcp_addr, &why);
	if (!st)
		return 0;
	snprintf(msg, sizeof(msg), "a=rtcp: %s", why);
	return conn_fail(c, 0, st, msg);
}

static int on_a(struct pctx *c, struct slice v)
{
	struct slice name, val;
	enum sdp_dir dir;
	bool *has_dir = c->cur ? &c->cur->has_dir : &c->sdp->has_dir;
	enum sdp_dir *cur_dir = c->cur ? &c->cur->dir : &c->sdp->dir;
	char msg[64];

	sdp_attr_split(v, &name, &val);
	if (!is_token(name))
		return bad(c, 'a', "bad attribute name");
	switch (sdp_attr_kind(name, &dir)) {
	case SDP_ATTR_DIR:
		if (name.len != v.len) {
			snprintf(msg, sizeof(msg), "a=%s: takes no value", sdp_dir_name(dir));
			return bad(c, 0, msg);
		}
		if (*has_dir && *cur_dir != dir) {
			snprintf(msg, sizeof(msg), "a=%s: conflicts with a=%s", sdp_dir_name(dir),
			         sdp_dir_name(*cur_dir));
			return bad(c, 0, msg);
		}
		*has_dir = true;
		*cur_dir = dir;
		return 0;
	case SDP_ATTR_RTCP:
		return on_rtcp(c, val);
	case SDP_ATTR_RTCP_MUX:
		if (c->cur)
			c->cur->rtcp_mux = true;
		return 0;
	case SDP_ATTR_ICE:
		if (c->cur)
			c->cur->ice = true;
		else
			c->sdp->ice = true;
		return 0;
	default:
		return 0;
	}
}

enum { IN_SESSION = 1, IN_MEDIA = 2 };

static const struct {
	char type;
	unsigned where;
	int (*h)(struct pctx *c, struct slice v);
} line_tab[] = {
    {'v', IN_SESSION, on_v},
    {'o', IN_SESSION, on_o},
    {'s', IN_SESSION, on_s},
    {'i', IN_SESSION | IN_MEDIA, on_keep},
    {'u', IN_SESSION, on_keep},
    {'e', IN_SESSION, on_keep},
    {'p', IN_SESSION, on_keep},
    {'c', IN_SESSION | IN_MEDIA, on_c},
    {'b', IN_SESSION | IN_MEDIA, on_b},
    {'t', IN_SESSION, on_t},
    {'r', IN_SESSION, on_r},
    {'z', IN_SESSION, on_keep},
    {'k', IN_SESSION | IN_MEDIA, on_keep},
    {'a', IN_SESSION | IN_MEDIA, on_a},
    {'m', IN_SESSION | IN_MEDIA, on_m},
};

static int parse_line(struct pctx *c, struct slice line)
{
	struct slice v;
	char type;

	if (line.len > SDP_MAX_LINE)
		return fail(c, -E2BIG, 400, 0, "longer than " SDP_STR(SDP_MAX_LINE) " bytes");
	if (!line.len) {
		c->blank = true;
		return 0;
	}
	if (c->blank)
		return bad(c, 0, "blank line inside the body");
	if (memchr(line.p, '\0', line.len))
		return bad(c, 0, "NUL byte");
	if (memchr(line.p, '\r', line.len))
		return bad(c, 0, "CR without LF");
	if (line.len < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z')
		return bad(c, 0, "expected <type>=<value>");
	type = line.p[0];
	if (c->line == 1 && type != 'v')
		return bad(c, 0, "v=: must be the first line");
	/* Trailing blanks are a common slip and carry no meaning. */
	v = (struct slice){line.p + 2, line.len - 2};
	while (v.len && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t'))
		v.len--;
	for (size_t i = 0; i < ARRAY_SIZE(line_tab); i++) {
		if (line_tab[i].type != type)
			continue;
		if (!(line_tab[i].where & (c->cur ? IN_MEDIA : IN_SESSION)))
			return bad(c, type, "not allowed in a media section");
		return line_tab[i].h(c, v);
	}
	return bad(c, type, "unknown line type");
}

/* Effective address, direction, RTCP and usability of each stream. */
static int finish_media(struct pctx *c)
{
	struct sdp *s = c->sdp;

	for (size_t i = 0; i < s->nmedia; i++) {
		struct sdp_media *m = &s->media[i];
		bool own_c = m->addr.ss_family != AF_UNSPEC;

		if (!own_c && s->has_addr)
			m->addr = s->addr;
		m->has_addr = own_c || s->has_addr;
		/* A rejected stream often comes without an address; nothing is sent to it. */
		if (!m->has_addr && m->port) {
			c->line = m->line;
			return bad(c, 'm', "no c= in the media or the session section");
		}
		m->hold_addr = m->has_addr && sdp_addr_is_zero(&m->addr);
		m->ice = m->ice || s->ice;
		if (!m->has_dir)
			m->dir = s->dir;
		/* Zero address + ICE is "no candidate yet" (RFC 8839), not hold. */
		if (m->hold_addr && !m->ice) {
			if (m->dir == SDP_SENDRECV)
				m->dir = SDP_SENDONLY;
			else if (m->dir == SDP_RECVONLY)
				m->dir = SDP_INACTIVE;
		}
		if (!m->has_rtcp_attr)
			m->rtcp_port = m->port && m->port < 65535 ? (uint16_t)(m->port + 1) : 0;
		m->usable = m->rtp && m->port && m->nports == 1 && m->has_addr;
		s->nusable += m->usable;
	}
	return 0;
}

/* Ties each section to its bytes so the writer can walk them again. */
static void set_sections(struct sdp *s, const char *const *mstart)
{
	const char *end = slice_end(s->body);

	s->sess.p = s->body.p;
	s->sess.len = (size_t)((s->nmedia ? mstart[0] : end) - s->body.p);
	for (size_t i = 0; i < s->nmedia; i++) {
		const char *next = i + 1 < s->nmedia ? mstart[i + 1] : end;

		s->media[i].sect = (struct slice){mstart[i], (size_t)(next - mstart[i])};
	}
}

static int parse_lines(struct pctx *c, const char **mstart)
{
	struct sdp *s = c->sdp;
	struct slice rest = s->body, line;
	size_t before;
	int rc;

	while (sdp_line_next(&rest, &line) == 0) {
		if (++c->line > SDP_MAX_LINES)
			return fail(c, -E2BIG, 400, 0,
			            "more than " SDP_STR(SDP_MAX_LINES) " lines");
		before = s->nmedia;
		rc = parse_line(c, line);
		if (rc)
			return rc;
		if (s->nmedia != before)
			mstart[before] = line.p;
	}
	c->line = 0;
	if (!s->body.len)
		return bad(c, 0, "empty body");
	if (!c->seen_v)
		return bad(c, 'v', "missing");
	if (!c->seen_o)
		return bad(c, 'o', "missing");
	if (!c->seen_s)
		return bad(c, 's', "missing");
	if (!c->seen_t)
		return bad(c, 't', "missing");
	return 0;
}

int sdp_parse(struct sdp *out, struct slice body, struct sdp_err *err)
{
	struct pctx c = {.sdp = out, .err = err};
	const char *mstart[SDP_MAX_MEDIA];
	int rc;

	memset(out, 0, sizeof(*out));
	if (err)
		memset(err, 0, sizeof(*err));
	out->body = body;
	if (body.len > SDP_MAX_SIZE)
		return fail(&c, -E2BIG, 400, 0, "body larger than " SDP_STR(SDP_MAX_SIZE) " bytes");
	rc = parse_lines(&c, mstart);
	if (!rc)
		rc = finish_media(&c);
	if (rc)
		return rc;
	set_sections(out, mstart);
	out->complete = true;
	if (!out->nusable) {
		c.line = 0;
		return fail(&c, -ENOTSUP, 488, 0,
		            "no usable media: every m= has port 0 or a non-RTP transport");
	}
	return 0;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

int sdp_media_remote(const struct sdp_media *m, struct sockaddr_storage *rtp,
                     struct sockaddr_storage *rtcp)
{
	if (!m->usable || m->hold_addr)
		return -ENOENT;
	*rtp = m->addr;
	set_port(rtp, m->port);
	if (m->rtcp_mux) {
		*rtcp = *rtp;
		return 0;
	}
	*rtcp = m->has_rtcp_addr ? m->rtcp_addr : m->addr;
	set_port(rtcp, m->rtcp_port);
	return 0;
}
