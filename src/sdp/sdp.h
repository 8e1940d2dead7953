/* SDP for media anchoring: one zero-copy parse + validation point and the per-leg rewrite. */
#ifndef IXEDGE_SDP_H
#define IXEDGE_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ixedge/base.h"

/*
 * Threading: pure computation on caller-owned bytes, no globals written; any
 * thread may parse and write.  A struct sdp_origin belongs to one leg and is
 * used by the thread that owns the call.
 *
 * docs/MEDIA.md ("SDP") lists what is rewritten, what is kept, every error
 * and its status, and how o= versions move.
 */

/* ------------------------------------------------------------- limits */

#define SDP_MAX_SIZE  65536 /* bytes of one body */
#define SDP_MAX_LINE  2048  /* bytes of one line, without its CRLF */
#define SDP_MAX_LINES 512   /* lines of one body */
#define SDP_MAX_MEDIA 16    /* m= lines of one body */

/* ------------------------------------------------------------- errors */

/*
 * Why a body was refused.  status is the answer a UAS gives: 400 for a
 * malformed body or a limit, 488 for a well-formed one the edge cannot relay.
 * line is 1-based (0 when the error is about the whole body).  what is the
 * whole message, ready for a Reason phrase and the log: "line 4: m=: bad port".
 */
struct sdp_err {
	uint16_t status;
	unsigned line;
	char what[128];
};

/* ------------------------------------------------------------ parsed body */

enum sdp_dir { SDP_SENDRECV = 0, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };
const char *sdp_dir_name(enum sdp_dir d); /* "sendrecv", ... */

/* One m= section.  Slices point into the body given to sdp_parse(). */
struct sdp_media {
	struct slice type;  /* "audio", "video", ... */
	struct slice proto; /* "RTP/AVP", "UDP/TLS/RTP/SAVPF", ... */
	struct slice fmts;  /* the format list as written: "0 8 101" */
	uint16_t port;      /* 0: the stream is rejected or removed */
	uint16_t nports;    /* the "/n" of m=, 1 when absent */

	/* Effective connection address (media c=, else session c=), port unset. */
	struct sockaddr_storage addr;
	bool has_addr;
	bool hold_addr; /* the address is 0.0.0.0 or :: (RFC 2543 hold, or ICE before gathering) */

	uint16_t rtcp_port; /* a=rtcp, else port + 1 (0 when port is 0 or 65535) */
	bool has_rtcp_attr;
	bool has_rtcp_addr; /* a=rtcp carried its own address */
	struct sockaddr_storage rtcp_addr;
	bool rtcp_mux;

	bool has_dir; /* a direction attribute in the media section itself */
	/*
	 * Effective direction: the media attribute, else the session one, else
	 * sendrecv.  A zero address without ICE folds in as RFC 3264 8.4 hold:
	 * the peer receives nothing, so sendrecv reads as sendonly and recvonly
	 * as inactive.
	 */
	enum sdp_dir dir;
	bool ice;    /* ICE attributes at media or session level */
	bool rtp;    /* proto is one the edge relays */
	bool usable; /* rtp, port != 0, a single port and an address: the edge can relay it */

	unsigned line;     /* 1-based line number of the m= line */
	struct slice sect; /* the whole section, m= line first, for the writer */
};

struct sdp {
	struct slice body;
	/* o=: user sess-id sess-version nettype addrtype address */
	struct slice o_user, o_sess_id, o_version, o_nettype, o_addrtype, o_addr;
	struct slice name; /* s= */

	struct sockaddr_storage addr; /* session-level c= */
	bool has_addr;
	enum sdp_dir dir; /* session-level direction attribute, sendrecv when absent */
	bool has_dir;
	bool ice; /* ICE attributes at session level */

	struct slice sess; /* the session section (everything before the first m=) */
	size_t nmedia;
	size_t nusable; /* media with usable set */
	struct sdp_media media[SDP_MAX_MEDIA];
	/*
	 * The whole body parsed and passed every syntax check.  Also true when
	 * sdp_parse() fails only because no stream is usable (488), so an answer
	 * that rejects every stream can still be relayed.
	 */
	bool complete;
};

/*
 * Parses and validates body.  Nothing is copied or allocated; *out holds
 * slices into body.  Line ends may be CRLF or LF.
 *   0          at least one usable stream
 *   -EBADMSG   malformed (err->status 400)
 *   -E2BIG     a limit above was exceeded (err->status 400)
 *   -ENOTSUP   well-formed but not relayable (err->status 488): host names
 *              or multicast in c=/a=rtcp, or no usable stream (then and only
 *              then out->complete is true)
 * err may be NULL.
 */
int sdp_parse(struct sdp *out, struct slice body, struct sdp_err *err);

/*
 * Where to send media to the peer that wrote m: RTP to its address and port;
 * RTCP to a=rtcp (with its address, if any), else port + 1, or to the RTP
 * address when rtcp-mux is offered.  rtcp's port is 0 when there is none
 * (m= port 65535 without a=rtcp).  -ENOENT when there is nowhere to send:
 * port 0, no address, a zero (hold) address, or not RTP.
 */
int sdp_media_remote(const struct sdp_media *m, struct sockaddr_storage *rtp,
                     struct sockaddr_storage *rtcp);

/* ---------------------------------------------------------------- rewrite */

/* What the edge puts in place of one m= line's transport on one leg. */
struct sdp_rewrite_media {
	bool keep_port0; /* write port 0: the stream is rejected or removed */
	/* The leg's media address for this stream; AF_UNSPEC: the origin's. */
	struct sockaddr_storage addr;
	uint16_t rtp_port;  /* must not be 0 unless the stream is written with port 0 */
	uint16_t rtcp_port; /* written as a=rtcp; 0: rtp_port + 1, no a=rtcp line */
	bool rtcp_mux;      /* write a=rtcp-mux instead of a=rtcp */
	int dir_override;   /* an enum sdp_dir to write, or -1 to keep the peer's */
};

#define SDP_ORIGIN_USER "ixedge"

/* One leg's o= identity, owned by the caller (the leg). */
struct sdp_origin {
	uint64_t sess_id, version;
	uint64_t last_hash; /* of the last written body without its o= line */
	bool written;       /* something was written: last_hash is valid */
	char user[32];
	struct sockaddr_storage addr; /* the leg's media address: o= and session c= */
};

/* Random sess-id, version 1, user "ixedge"; addr is copied (port ignored). -EINVAL for a non-IP
 * addr. */
int sdp_origin_init(struct sdp_origin *o, const struct sockaddr_storage *addr);

/*
 * Appends the leg's SDP for `in` to out: v=0; o= with the origin; s= kept;
 * session c= the origin's address; every m= with its rewritten port (0 when
 * the input port is 0 or keep_port0), proto and formats kept; a media c= only
 * where the stream's address differs from the origin's; a=rtcp:PORT or
 * a=rtcp-mux; the direction (dir_override, else the peer's effective one);
 * ICE attributes and media c= lines dropped; every other line kept in order.
 * CRLF line ends.  The version goes up by one only when the written body
 * (o= aside) differs from the previous write with this origin.
 * nrw must equal in->nmedia.  -EINVAL for bad arguments, -E2BIG when the
 * result would exceed a parse limit, -ENOMEM; out and *o are unchanged on
 * error.
 */
int sdp_write(struct buf *out, const struct sdp *in, const struct sdp_rewrite_media *rw, size_t nrw,
              struct sdp_origin *o);

#endif
