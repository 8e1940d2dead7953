/* SDP lines, fields, attribute kinds and connection addresses, shared by parser and writer. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "sdp/sdp_priv.h"

int sdp_line_next(struct slice *rest, struct slice *line)
{
	const char *lf;

	if (!rest->len)
		return -ENOENT;
	lf = memchr(rest->p, '\n', rest->len);
	line->p = rest->p;
	line->len = lf ? (size_t)(lf - rest->p) : rest->len;
	rest->p += lf ? line->len + 1 : rest->len;
	rest->len -= lf ? line->len + 1 : rest->len;
	if (line->len && line->p[line->len - 1] == '\r')
		line->len--;
	return 0;
}

int sdp_field_next(struct slice *rest, struct slice *field)
{
	size_t i = 0;

	while (i < rest->len && rest->p[i] == ' ')
		i++;
	if (i == rest->len) {
		*rest = (struct slice){slice_end(*rest), 0};
		return -ENOENT;
	}
	field->p = rest->p + i;
	while (i < rest->len && rest->p[i] != ' ')
		i++;
	field->len = (size_t)(rest->p + i - field->p);
	rest->p += i;
	rest->len -= i;
	return 0;
}

void sdp_attr_split(struct slice v, struct slice *name, struct slice *val)
{
	const char *colon = slice_chr(v, ':');

	if (!colon) {
		*name = v;
		*val = (struct slice){slice_end(v), 0};
		return;
	}
	*name = (struct slice){v.p, (size_t)(colon - v.p)};
	*val = (struct slice){colon + 1, v.len - name->len - 1};
}

static const struct {
	const char *name;
	enum sdp_attr_kind kind;
	enum sdp_dir dir;
} attr_tab[] = {
    {"sendrecv", SDP_ATTR_DIR, SDP_SENDRECV},
    {"sendonly", SDP_ATTR_DIR, SDP_SENDONLY},
    {"recvonly", SDP_ATTR_DIR, SDP_RECVONLY},
    {"inactive", SDP_ATTR_DIR, SDP_INACTIVE},
    {"rtcp", SDP_ATTR_RTCP, 0},
    {"rtcp-mux", SDP_ATTR_RTCP_MUX, 0},
    {"candidate", SDP_ATTR_ICE, 0},
    {"ice-ufrag", SDP_ATTR_ICE, 0},
    {"ice-pwd", SDP_ATTR_ICE, 0},
    {"ice-options", SDP_ATTR_ICE, 0},
    {"ice-lite", SDP_ATTR_ICE, 0},
    {"ice-mismatch", SDP_ATTR_ICE, 0},
    {"remote-candidates", SDP_ATTR_ICE, 0},
    {"end-of-candidates", SDP_ATTR_ICE, 0},
};

enum sdp_attr_kind sdp_attr_kind(struct slice name, enum sdp_dir *dir)
{
	/* Attribute names are case-sensitive (RFC 8866 6), so compare exactly. */
	for (size_t i = 0; i < ARRAY_SIZE(attr_tab); i++) {
		if (!slice_eq(name, slice_cstr(attr_tab[i].name)))
			continue;
		if (dir)
			*dir = attr_tab[i].dir;
		return attr_tab[i].kind;
	}
	return SDP_ATTR_OTHER;
}

const char *sdp_dir_name(enum sdp_dir d)
{
	static const char *const names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};

	return (unsigned)d < ARRAY_SIZE(names) ? names[d] : "?";
}

bool sdp_proto_is_rtp(struct slice proto)
{
	static const char *const protos[] = {"RTP/AVP",   "RTP/AVPF",         "RTP/SAVP",
	                                     "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF"};

	for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
		if (slice_ieq_cstr(proto, protos[i]))
			return true;
	return false;
}

/* Letters, digits, '-' and '.' with at least one letter: a name, not a broken address. */
static bool looks_like_host_name(struct slice s)
{
	bool alpha = false;

	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			alpha = true;
		else if (!(c >= '0' && c <= '9') && c != '-' && c != '.')
			return false;
	}
	return alpha;
}

static bool is_multicast(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 28) == 0xe;
	return IN6_IS_ADDR_MULTICAST(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* inet_pton into ss for family af; false when text is not such an address. */
static bool addr_from_text(struct slice text, int af, struct sockaddr_storage *ss)
{
	char tmp[INET6_ADDRSTRLEN];
	void *dst;

	if (!text.len || text.len >= sizeof(tmp))
		return false;
	memcpy(tmp, text.p, text.len);
	tmp[text.len] = '\0';
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)af;
	dst = af == AF_INET ? (void *)&((struct sockaddr_in *)ss)->sin_addr
	                    : (void *)&((struct sockaddr_in6 *)ss)->sin6_addr;
	return inet_pton(af, tmp, dst) == 1;
}

int sdp_conn_parse(struct slice v, struct sockaddr_storage *ss, const char **why)
{
	struct slice nettype, addrtype, addr, extra, rest = v;
	const char *slash;
	int af;

	if (sdp_field_next(&rest, &nettype) || sdp_field_next(&rest, &addrtype) ||
	    sdp_field_next(&rest, &addr) || !sdp_field_next(&rest, &extra)) {
		*why = "expected 'IN IP4|IP6 address'";
		return 400;
	}
	if (!slice_eq(nettype, SLICE("IN"))) {
		*why = "network types other than IN are not supported";
		return 488;
	}
	if (slice_eq(addrtype, SLICE("IP4")))
		af = AF_INET;
	else if (slice_eq(addrtype, SLICE("IP6")))
		af = AF_INET6;
	else {
		*why = "address types other than IP4 and IP6 are not supported";
		return 488;
	}
	/* A "/ttl" or "/count" suffix belongs to multicast, which the edge never relays. */
	slash = slice_chr(addr, '/');
	if (slash)
		addr.len = (size_t)(slash - addr.p);
	if (!addr_from_text(addr, af, ss)) {
		if (looks_like_host_name(addr)) {
			*why = "host names are not supported";
			return 488;
		}
		*why = af == AF_INET ? "bad IPv4 address" : "bad IPv6 address";
		return 400;
	}
	if (is_multicast(ss)) {
		*why = "multicast is not supported";
		return 488;
	}
	if (slash) {
		*why = "a /ttl or /count is only for multicast";
		return 400;
	}
	return 0;
}

bool sdp_addr_is_zero(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == 0;
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}

bool sdp_addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return IN6_ARE_ADDR_EQUAL(&((const struct sockaddr_in6 *)a)->sin6_addr,
		                          &((const struct sockaddr_in6 *)b)->sin6_addr);
	return false;
}
