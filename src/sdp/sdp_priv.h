/* SDP layer internals shared by the parser and the writer: lines, attribute kinds, addresses. */
#ifndef IXEDGE_SDP_PRIV_H
#define IXEDGE_SDP_PRIV_H

#include <sys/socket.h>

#include "sdp/sdp.h"

/*
 * The next line of *rest without its LF or CRLF; 0, or -ENOENT when *rest is
 * empty.  A last line without a line end is still a line.
 */
int sdp_line_next(struct slice *rest, struct slice *line);

/* Attributes the edge acts on; everything else is SDP_ATTR_OTHER and kept. */
enum sdp_attr_kind {
	SDP_ATTR_OTHER = 0,
	SDP_ATTR_DIR,      /* sendrecv, sendonly, recvonly, inactive */
	SDP_ATTR_RTCP,     /* RFC 3605 */
	SDP_ATTR_RTCP_MUX, /* RFC 5761 */
	SDP_ATTR_ICE,      /* RFC 8839: dropped until the edge speaks ICE-lite */
};

/* Splits the value of an a= line at the first ':' (val empty without one). */
void sdp_attr_split(struct slice v, struct slice *name, struct slice *val);
/* The kind of attribute `name`; for SDP_ATTR_DIR *dir is set (dir may be NULL). */
enum sdp_attr_kind sdp_attr_kind(struct slice name, enum sdp_dir *dir);

/* Whether proto (as in m=) is one the edge relays. */
bool sdp_proto_is_rtp(struct slice proto);

/* The next SP-separated field of *rest (runs of SP skipped); 0 or -ENOENT. */
int sdp_field_next(struct slice *rest, struct slice *field);

/*
 * Parses "IN IP4 addr" / "IN IP6 addr" (c= and the tail of a=rtcp) into ss.
 * 0; or a fixed phrase in *why and 400 / 488 as the return value.
 */
int sdp_conn_parse(struct slice v, struct sockaddr_storage *ss, const char **why);

/* Whether ss is 0.0.0.0 or ::. */
bool sdp_addr_is_zero(const struct sockaddr_storage *ss);
/* Same family and address (ports ignored). */
bool sdp_addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

#endif
