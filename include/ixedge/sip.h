/* ixedge SIP message layer: zero-copy parse, lazy header access, building. */
#ifndef IXEDGE_SIP_H
#define IXEDGE_SIP_H

#include "ixedge/base.h"

/*
 * Threading: everything here is pure computation on caller-owned memory; no
 * globals are written, so any thread may use it on its own messages.
 *
 * Every decoder clears its `struct sip_perr *err` (when not NULL) on entry
 * and fills it on failure.
 *
 * Parsed values are slices into the message buffer.  Nothing is copied,
 * unescaped or NUL-terminated: quoted strings keep their quoted-pairs and
 * URIs their %-escapes (see sip_unquote() and sip_unescape()).
 */

/* Methods the edge knows by name; anything else is SIP_METHOD_OTHER. */
#define SIP_METHODS(X)                                                                             \
	X(INVITE)                                                                                  \
	X(ACK)                                                                                     \
	X(BYE)                                                                                     \
	X(CANCEL)                                                                                  \
	X(OPTIONS)                                                                                 \
	X(REGISTER)                                                                                \
	X(PRACK)                                                                                   \
	X(UPDATE)                                                                                  \
	X(INFO)                                                                                    \
	X(REFER)                                                                                   \
	X(NOTIFY)                                                                                  \
	X(SUBSCRIBE)                                                                               \
	X(MESSAGE)                                                                                 \
	X(PUBLISH)

enum sip_method {
	SIP_METHOD_OTHER = 0,
#define X(m) SIP_METHOD_##m,
	SIP_METHODS(X)
#undef X
	    SIP_METHOD__COUNT
};

const char *sip_method_name(enum sip_method m);  /* "OTHER" for SIP_METHOD_OTHER */
enum sip_method sip_method_from(struct slice s); /* case-sensitive, RFC 3261 7.1 */

/*
 * Header ids.  X(id, "Canonical-Name", 'compact' or 0, flags).
 * SIP_HF_LIST: the header's value is a comma-separated list (RFC 3261 7.3.1),
 * so repeated headers and commas are the same thing.
 * SIP_HF_SINGLE: at most one occurrence is meaningful; a second one makes
 * sip_msg_check() fail.
 */
#define SIP_HF_LIST   0x1u
#define SIP_HF_SINGLE 0x2u

#define SIP_HEADERS(X)                                                                             \
	X(ACCEPT, "Accept", 0, SIP_HF_LIST)                                                        \
	X(ACCEPT_ENCODING, "Accept-Encoding", 0, SIP_HF_LIST)                                      \
	X(ACCEPT_LANGUAGE, "Accept-Language", 0, SIP_HF_LIST)                                      \
	X(ALERT_INFO, "Alert-Info", 0, SIP_HF_LIST)                                                \
	X(ALLOW, "Allow", 0, SIP_HF_LIST)                                                          \
	X(ALLOW_EVENTS, "Allow-Events", 'u', SIP_HF_LIST)                                          \
	X(AUTHENTICATION_INFO, "Authentication-Info", 0, SIP_HF_SINGLE)                            \
	X(AUTHORIZATION, "Authorization", 0, 0)                                                    \
	X(CALL_ID, "Call-ID", 'i', SIP_HF_SINGLE)                                                  \
	X(CALL_INFO, "Call-Info", 0, SIP_HF_LIST)                                                  \
	X(CONTACT, "Contact", 'm', SIP_HF_LIST)                                                    \
	X(CONTENT_DISPOSITION, "Content-Disposition", 0, SIP_HF_SINGLE)                            \
	X(CONTENT_ENCODING, "Content-Encoding", 'e', SIP_HF_LIST)                                  \
	X(CONTENT_LANGUAGE, "Content-Language", 0, SIP_HF_LIST)                                    \
	X(CONTENT_LENGTH, "Content-Length", 'l', SIP_HF_SINGLE)                                    \
	X(CONTENT_TYPE, "Content-Type", 'c', SIP_HF_SINGLE)                                        \
	X(CSEQ, "CSeq", 0, SIP_HF_SINGLE)                                                          \
	X(DATE, "Date", 0, SIP_HF_SINGLE)                                                          \
	X(ERROR_INFO, "Error-Info", 0, SIP_HF_LIST)                                                \
	X(EVENT, "Event", 'o', SIP_HF_SINGLE)                                                      \
	X(EXPIRES, "Expires", 0, SIP_HF_SINGLE)                                                    \
	X(FROM, "From", 'f', SIP_HF_SINGLE)                                                        \
	X(IDENTITY, "Identity", 'y', 0)                                                            \
	X(IN_REPLY_TO, "In-Reply-To", 0, SIP_HF_LIST)                                              \
	X(MAX_FORWARDS, "Max-Forwards", 0, SIP_HF_SINGLE)                                          \
	X(MIME_VERSION, "MIME-Version", 0, SIP_HF_SINGLE)                                          \
	X(MIN_EXPIRES, "Min-Expires", 0, SIP_HF_SINGLE)                                            \
	X(MIN_SE, "Min-SE", 0, SIP_HF_SINGLE)                                                      \
	X(ORGANIZATION, "Organization", 0, SIP_HF_SINGLE)                                          \
	X(P_ASSERTED_IDENTITY, "P-Asserted-Identity", 0, SIP_HF_LIST)                              \
	X(PATH, "Path", 0, SIP_HF_LIST)                                                            \
	X(PRIORITY, "Priority", 0, SIP_HF_SINGLE)                                                  \
	X(PRIVACY, "Privacy", 0, 0)                                                                \
	X(PROXY_AUTHENTICATE, "Proxy-Authenticate", 0, 0)                                          \
	X(PROXY_AUTHORIZATION, "Proxy-Authorization", 0, 0)                                        \
	X(PROXY_REQUIRE, "Proxy-Require", 0, SIP_HF_LIST)                                          \
	X(RACK, "RAck", 0, SIP_HF_SINGLE)                                                          \
	X(REASON, "Reason", 0, SIP_HF_LIST)                                                        \
	X(RECORD_ROUTE, "Record-Route", 0, SIP_HF_LIST)                                            \
	X(REFER_TO, "Refer-To", 'r', SIP_HF_SINGLE)                                                \
	X(REFERRED_BY, "Referred-By", 'b', SIP_HF_SINGLE)                                          \
	X(REPLACES, "Replaces", 0, SIP_HF_SINGLE)                                                  \
	X(REPLY_TO, "Reply-To", 0, SIP_HF_SINGLE)                                                  \
	X(REQUIRE, "Require", 0, SIP_HF_LIST)                                                      \
	X(RETRY_AFTER, "Retry-After", 0, SIP_HF_SINGLE)                                            \
	X(ROUTE, "Route", 0, SIP_HF_LIST)                                                          \
	X(RSEQ, "RSeq", 0, SIP_HF_SINGLE)                                                          \
	X(SERVER, "Server", 0, SIP_HF_SINGLE)                                                      \
	X(SESSION_EXPIRES, "Session-Expires", 'x', SIP_HF_SINGLE)                                  \
	X(SUBJECT, "Subject", 's', SIP_HF_SINGLE)                                                  \
	X(SUPPORTED, "Supported", 'k', SIP_HF_LIST)                                                \
	X(TIMESTAMP, "Timestamp", 0, SIP_HF_SINGLE)                                                \
	X(TO, "To", 't', SIP_HF_SINGLE)                                                            \
	X(UNSUPPORTED, "Unsupported", 0, SIP_HF_LIST)                                              \
	X(USER_AGENT, "User-Agent", 0, SIP_HF_SINGLE)                                              \
	X(VIA, "Via", 'v', SIP_HF_LIST)                                                            \
	X(WARNING, "Warning", 0, SIP_HF_LIST)                                                      \
	X(WWW_AUTHENTICATE, "WWW-Authenticate", 0, 0)

enum sip_hdr_id {
	SIP_HDR_OTHER = 0, /* any header the edge has no id for (X-..., extensions) */
#define X(id, name, compact, flags) SIP_HDR_##id,
	SIP_HEADERS(X)
#undef X
	    SIP_HDR__COUNT
};

const char *sip_hdr_name(enum sip_hdr_id id);       /* canonical name; NULL for OTHER */
enum sip_hdr_id sip_hdr_id_from(struct slice name); /* case-insensitive, compact forms */
unsigned sip_hdr_flags(enum sip_hdr_id id);

/* Limits checked while parsing; sip_limits_default() gives safe values. */
struct sip_limits {
	size_t max_msg_size;  /* whole message incl. body (default 65535) */
	size_t max_line_len;  /* start line or one (unfolded) header line (default 8192) */
	size_t max_uri_len;   /* Request-URI and URIs in headers (default 4096) */
	uint32_t max_headers; /* header lines (default 256) */
	size_t max_body_size; /* body (default 65535) */
};
void sip_limits_default(struct sip_limits *lim);

/* Where and why a parse failed.  `what` is a static English phrase. */
struct sip_perr {
	size_t offset;      /* byte offset into the message (or into the slice parsed) */
	struct slice hname; /* header name as written, empty for start line/body */
	const char *what;   /* e.g. "CSeq method does not match request method" */
	uint16_t status;    /* the response a UAS sends for it: 400, 413, 414, 505... */
};

/* ---------------------------------------------------------------- URIs */

enum sip_scheme { SIP_SCHEME_OTHER = 0, SIP_SCHEME_SIP, SIP_SCHEME_SIPS, SIP_SCHEME_TEL };
enum sip_host_type { SIP_HOST_NONE = 0, SIP_HOST_NAME, SIP_HOST_IPV4, SIP_HOST_IPV6 };

struct sip_uri {
	enum sip_scheme scheme;
	struct slice scheme_raw;
	struct slice user;     /* sip/sips userinfo user part; tel: the number */
	struct slice password; /* empty when absent */
	bool has_password;
	struct slice host; /* without the [] of an IPv6 reference */
	enum sip_host_type host_type;
	uint16_t port;        /* 0 when absent */
	struct slice params;  /* after the first ';' (excluded), up to '?' */
	struct slice headers; /* after '?' (excluded) */
	struct slice raw;     /* the whole URI */
	struct slice opaque;  /* for SIP_SCHEME_OTHER: everything after ':' */
};

/* Parses an absolute URI (RFC 3261 19.1, 25.1; RFC 3966 for tel). */
int sip_uri_decode(struct sip_uri *uri, struct slice s, struct sip_perr *err);

/*
 * Looks up `name` (case-insensitive) in a ';'-separated parameter list such
 * as sip_uri.params or sip_addr.params.  0 and *val set (empty when the
 * parameter has no value), or -ENOENT.  val may be NULL.
 */
int sip_param_get(struct slice params, const char *name, struct slice *val);
/* Iterates parameters: *rest starts as the list; 0 per parameter, -ENOENT at end. */
int sip_param_next(struct slice *rest, struct slice *name, struct slice *val);

/* %-decodes s into out (cap bytes); returns decoded length or -EBADMSG/-E2BIG. */
int sip_unescape(struct slice s, char *out, size_t cap);
/* Removes the quotes and quoted-pairs of a quoted-string; same returns. */
int sip_unquote(struct slice s, char *out, size_t cap);

/* ------------------------------------------------ name-addr / addr-spec */

struct sip_addr {
	struct slice dname; /* display name; quoted ones without the quotes */
	bool dname_quoted;
	struct sip_uri uri;
	struct slice params; /* header parameters after the URI (tag, expires, q, ...) */
	struct slice tag;    /* value of ;tag=, empty when absent */
	bool wildcard;       /* Contact: * */
};

/* One element: name-addr or addr-spec followed by parameters (RFC 3261 20.10). */
int sip_addr_decode(struct sip_addr *addr, struct slice s, struct sip_perr *err);

/* ------------------------------------------------------------------ Via */

struct sip_via {
	struct slice proto;     /* "SIP/2.0" */
	struct slice transport; /* "UDP", "TCP", "TLS", "SCTP", "WS", ... */
	struct slice host;      /* without [] */
	enum sip_host_type host_type;
	uint16_t port; /* 0 when absent */
	struct slice params;
	struct slice branch;
	struct slice received;
	struct slice maddr;
	bool rport;         /* ;rport present */
	uint16_t rport_val; /* its value, 0 when empty */
	int ttl;            /* -1 when absent */
};

/* One via-parm (RFC 3261 20.42). */
int sip_via_decode(struct sip_via *via, struct slice s, struct sip_perr *err);
/* branch starts with the RFC 3261 magic cookie "z9hG4bK". */
bool sip_via_branch_is_3261(const struct sip_via *via);

/* ------------------------------------------------------- other values */

struct sip_cseq {
	uint32_t num;
	struct slice method;
	enum sip_method mid;
};
int sip_cseq_decode(struct sip_cseq *cseq, struct slice s, struct sip_perr *err);

/* Credentials and challenges (RFC 3261 25.1; RFC 7616/8760 algorithms). */
struct sip_auth {
	struct slice scheme; /* "Digest" */
	struct slice params; /* raw auth-params */
	struct slice username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop, nc;
	bool stale;
};
/* Quoted values are returned without their quotes. */
int sip_auth_decode(struct sip_auth *auth, struct slice s, struct sip_perr *err);

/* ------------------------------------------------------------- messages */

struct sip_hdr {
	struct slice name;  /* as written */
	struct slice value; /* without leading/trailing LWS; may contain folded CRLFs */
	enum sip_hdr_id id;
	uint32_t offset; /* of the name, from the start of the message */
};

struct sip_msg {
	struct slice raw; /* the whole message, body included */
	bool req;
	/* request line */
	struct slice method;
	enum sip_method mid;
	struct sip_uri ruri;
	/* status line */
	uint16_t status;
	struct slice reason;
	struct slice version; /* "SIP/2.0" */

	/* headers in order; first[id] is index + 1 of the first one with that id */
	struct sip_hdr *hdr;
	uint32_t nhdr;
	uint16_t first[SIP_HDR__COUNT];
	uint64_t repeated; /* bit id set when that header id occurs more than once */

	/* parsed at decode time: the fields every transaction needs */
	struct sip_via via; /* topmost Via */
	struct sip_addr from, to;
	struct slice call_id;
	struct sip_cseq cseq;
	int max_forwards;       /* -1 when absent */
	int64_t content_length; /* -1 when absent */
	struct slice content_type;
	struct slice body;

	void *owner; /* mem object holding the bytes (ref held), or NULL */
};

/*
 * Parses one complete message from p/len (a datagram, or one frame cut by
 * sip_stream_frame()).  On success *msgp is a mem object; mem_deref() it.
 * If owner is a mem object that holds the bytes, the message takes a
 * reference to it; otherwise the caller keeps the bytes alive.
 *
 * Decoding checks the start line, the header framing, the limits and the
 * headers every decision needs: Via (topmost), From, To, Call-ID, CSeq,
 * Max-Forwards, Content-Length, Content-Type.  Other headers stay raw
 * slices until asked for; sip_msg_check() parses them all.
 *
 * -EBADMSG with err filled for malformed input, -E2BIG for a limit.  On
 * failure *msgp is still set when the message is a response or a request
 * whose method could be read (see sip_msg_can_answer()), so an error
 * response can be built; else NULL.  err describes the first problem.
 */
int sip_msg_decode(struct sip_msg **msgp, const char *p, size_t len, void *owner,
                   const struct sip_limits *lim, struct sip_perr *err);

/*
 * Full validation: every known header parsed with its grammar, single
 * headers not repeated, CSeq method equal to the request method, SIP
 * version 2.0, Content-Length equal to the body.  0 or -EBADMSG with err.
 */
int sip_msg_check(const struct sip_msg *msg, struct sip_perr *err);

/*
 * Whether an error response (err.status) can be sent for a request that
 * failed to decode: a request other than ACK whose method was read, whose
 * topmost Via parsed (so the response can be routed) and which has the
 * From, To, Call-ID and CSeq headers a response must copy (RFC 3261
 * 8.2.6.2), even if their values are malformed.
 */
bool sip_msg_can_answer(const struct sip_msg *msg);

/* First header with that id, or NULL. */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *msg, enum sip_hdr_id id);
/* First header with that name (case-insensitive, any header incl. X-). */
const struct sip_hdr *sip_msg_hdr_named(const struct sip_msg *msg, struct slice name);
uint32_t sip_msg_hdr_count(const struct sip_msg *msg, enum sip_hdr_id id);

/*
 * Iterates the values of a header across repeated lines, splitting
 * SIP_HF_LIST headers at commas outside quotes and <>:
 *   struct sip_hdr_iter it; struct slice v;
 *   sip_hdr_iter_init(&it, msg, SIP_HDR_CONTACT);
 *   while (sip_hdr_iter_next(&it, &v) == 0) ...
 * Returns 0 per value, -ENOENT at the end, -EBADMSG on an empty element.
 */
struct sip_hdr_iter {
	const struct sip_msg *msg;
	enum sip_hdr_id id;
	uint32_t i; /* next header index to look at */
	struct slice rest;
	const struct sip_hdr *cur;
};
void sip_hdr_iter_init(struct sip_hdr_iter *it, const struct sip_msg *msg, enum sip_hdr_id id);
int sip_hdr_iter_next(struct sip_hdr_iter *it, struct slice *val);

/* Splits the next comma-separated element off *rest (quotes and <> respected). */
int sip_list_next(struct slice *rest, struct slice *elem);

/* -------------------------------------------------------- stream framing */

/*
 * Finds the end of the first message in a TCP/TLS byte stream.
 * Leading CRLFs (RFC 5626 keep-alives) are skipped and reported in *skip
 * so the transport can answer a double-CRLF ping.
 * 0: a message is p[*skip .. *skip + *msg_len).
 * -ENODATA: need more bytes (*skip still tells how much to discard).
 * -EBADMSG: no Content-Length, or a bad one (err says which).
 * -E2BIG: header block or message larger than the limits.
 */
int sip_stream_frame(const char *p, size_t len, const struct sip_limits *lim, size_t *skip,
                     size_t *msg_len, struct sip_perr *err);

/* ---------------------------------------------------------------- build */

enum sip_edit_op { SIP_EDIT_ADD, SIP_EDIT_ADD_TOP, SIP_EDIT_REMOVE, SIP_EDIT_REPLACE };

/* One change to apply when deriving a message.  Headers are named by id, or
 * by name when id is SIP_HDR_OTHER.  REPLACE removes every occurrence and
 * adds one with the new value where the first one stood (or at the end). */
struct sip_edit {
	enum sip_edit_op op;
	enum sip_hdr_id id;
	struct slice name;
	struct slice value;
};

/*
 * Writes a copy of msg with the edits applied to out (appended).  start_line
 * replaces the start line when non-empty; body replaces the body when
 * non-NULL.  Content-Length is always rewritten to match the body; headers
 * keep their order and spelling otherwise.
 */
int sip_msg_derive(struct buf *out, const struct sip_msg *msg, struct slice start_line,
                   const struct sip_edit *edits, size_t nedits, const struct slice *body);

/*
 * Builds a response to req (RFC 3261 8.2.6): copies Via (all), From, To
 * (adding to_tag if To has none and to_tag is non-empty), Call-ID, CSeq and,
 * for 18x/2xx, Record-Route; appends extra headers and the body.
 * reason NULL means the standard phrase for the status.
 */
int sip_response_build(struct buf *out, const struct sip_msg *req, uint16_t status,
                       const char *reason, struct slice to_tag, const struct sip_edit *extra,
                       size_t nextra, struct slice body);

/* Builds a request: start line from method and ruri, headers in order, body. */
int sip_request_build(struct buf *out, struct slice method, struct slice ruri,
                      const struct sip_edit *hdrs, size_t nhdrs, struct slice body);

const char *sip_status_reason(uint16_t status); /* "Unknown" for unlisted codes */

#endif
