/* SIP digest authentication, client side: answering a far end's 401/407 (RFC 3261 22.2-22.3). */
#ifndef IXEDGE_DOMAIN_DIGEST_CLIENT_H
#define IXEDGE_DOMAIN_DIGEST_CLIENT_H

#include "domain/digest.h"

/*
 * Used by an outbound leg dialled with <Sip username password>: the far
 * end answers the INVITE with 401 (WWW-Authenticate) or 407
 * (Proxy-Authenticate); the leg picks one challenge, builds the
 * Authorization (or Proxy-Authorization) value and sends the request again.
 *
 * Threading: a struct digest_client belongs to whoever owns the leg (the
 * signalling loop); the parse and pick functions are pure.
 *
 * Secrets: nothing here logs.  Reason strings name parameters, algorithms
 * and qop values, never a password, a nonce, a cnonce or a response.
 */

#define DIGEST_CH_VALUE_MAX 512 /* longest nonce or opaque accepted in a challenge */

enum digest_qop_bits {
	DIGEST_QOP_AUTH = 1u << 0,
	DIGEST_QOP_AUTH_INT = 1u << 1,
};

/*
 * One parsed challenge.  Values are unquoted (quoted-pairs removed),
 * NUL-terminated copies, so the struct outlives the response and may be
 * copied by value.  None holds a control character.
 */
struct digest_challenge {
	enum digest_alg alg; /* MD5 when the challenge named none (RFC 2617) */
	bool sess;           /* MD5-sess / SHA-256-sess */
	bool stale;          /* stale=true: the nonce expired, not the password */
	bool proxy;          /* from Proxy-Authenticate (a 407): answer in Proxy-Authorization */
	bool has_opaque;     /* opaque present (even empty): echoed unchanged */
	unsigned qop;        /* DIGEST_QOP_* offered; 0: no qop, the RFC 2069 form */
	size_t realm_len, nonce_len, opaque_len;
	char realm[DIGEST_REALM_MAX + 1];
	char nonce[DIGEST_CH_VALUE_MAX + 1];
	char opaque[DIGEST_CH_VALUE_MAX + 1];
};

/*
 * Parses one WWW-Authenticate / Proxy-Authenticate value: the one place a
 * challenge is validated.  0; -EBADMSG for a malformed value (bad syntax,
 * no realm or nonce, an empty qop, a value too long or with control
 * characters); -ENOTSUP for another scheme, an unknown algorithm, a qop list
 * with neither auth nor auth-int, or -sess without qop.  On error why
 * (whylen bytes, may be 0) says what was wrong, e.g.
 * "algorithm 'SHA-512-256' not supported".  ch->proxy is left false.
 */
int digest_challenge_parse(struct digest_challenge *ch, struct slice value, char *why,
                           size_t whylen);

/*
 * The best supported Digest challenge of a 401 (its WWW-Authenticate
 * headers) or a 407 (its Proxy-Authenticate headers): SHA-256 over MD5
 * (RFC 8760), then one with qop over one without, then plain over -sess;
 * the far end's order among equals.  Challenges of other schemes and ones
 * that fail to parse are skipped.  0; -EINVAL when resp is not a 401/407
 * response; -ENOENT when it has no Digest challenge; otherwise the error
 * of the first Digest challenge, with the header named in why.
 */
int digest_challenge_pick(struct digest_challenge *out, const struct sip_msg *resp, char *why,
                          size_t whylen);

/* Writes a cnonce of 1..cap printable characters into out; its length or a negative errno. */
typedef int(digest_cnonce_h)(void *arg, char *out, size_t cap);

#define DIGEST_CLIENT_NONCES 4
#define DIGEST_CNONCE_MAX    64

/*
 * Nonce-count state of one client (one outbound leg): the nc last sent per
 * (realm, nonce), for the few nonces a call meets (a proxy's and the
 * callee's, a fresh one after stale=true); the least recently used is
 * forgotten first.  Plain struct: embed it and digest_client_init() it.
 */
struct digest_client {
	struct {
		uint8_t key[16]; /* SHA-256(realm ":" nonce), cut */
		uint32_t nc;     /* last sent; 0: slot free */
		uint32_t used;   /* stamp for least-recently-used */
	} slot[DIGEST_CLIENT_NONCES];
	uint32_t stamp;
	/* NULL: 16 bytes from RAND_bytes as 32 hex digits.  Tests set one. */
	digest_cnonce_h *cnonce_h;
	void *cnonce_arg;
};

void digest_client_init(struct digest_client *dc);

/*
 * Appends the Authorization (or, for ch->proxy, Proxy-Authorization) value
 * answering ch for a request with method and uri (the Request-URI as
 * sent) to out:
 *   Digest username="bob", realm="...", nonce="...", uri="sip:...",
 *   response="...", algorithm=SHA-256, cnonce="...", qop=auth, nc=00000001,
 *   opaque="..."
 * qop: auth when offered, else auth-int (H(body) covered), else none
 * (RFC 2069 form, no cnonce or nc).  nc counts up per (realm, nonce) on
 * each call.  0; -EINVAL for an empty username, method or uri, or a control
 * character in one (they are echoed in a header line); -ERANGE when the
 * nonce was used 2^32-1 times; -EIO when no random cnonce; -ENOMEM.
 * out is unchanged on error.
 */
int digest_client_answer(struct buf *out, struct digest_client *dc,
                         const struct digest_challenge *ch, struct slice method, struct slice uri,
                         struct slice username, struct slice password, struct slice body);

#endif
