/* SIP digest authentication, server side (RFC 3261 22, RFC 2617, RFC 7616, RFC 8760). */
/* The client side (answering a far end's 401/407) is in domain/digest_client.h. */
#ifndef IXEDGE_DOMAIN_DIGEST_H
#define IXEDGE_DOMAIN_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ixedge/base.h"
#include "ixedge/sip.h"

/*
 * Threading: a struct digest (key, clock, nonce-count table) belongs to the
 * signalling loop; digest_challenge() and digest_verify() run there only.
 * digest_ha1(), digest_response() and the hex helpers are pure and may run
 * on any thread (ixctl and the store call digest_ha1()).
 *
 * Secrets: credentials are stored as HA1 = H(username ":" realm ":"
 * password) per algorithm, never as passwords.  Nothing here logs; the
 * reason strings handed back name users, realms, URIs and nonce-counts but
 * never a password, an HA1, a response or a nonce.
 *
 * docs/AUTH.md describes the flow (403 source not allowed, 401 with two
 * challenges, 403 on failure, stale nonces), the nonce format, the
 * nonce-count table and what gets logged.
 */

/* The algorithms the edge offers: RFC 8760 makes SHA-256 and MD5 the SIP pair. */
enum digest_alg { DIGEST_ALG_MD5 = 0, DIGEST_ALG_SHA256, DIGEST_ALG__COUNT };

#define DIGEST_MAX_HASH  32  /* bytes of the longest hash (SHA-256) */
#define DIGEST_REALM_MAX 255 /* longest realm challenged with or accepted in a challenge */

const char *digest_alg_name(enum digest_alg alg); /* "MD5", "SHA-256" */
size_t digest_alg_len(enum digest_alg alg);       /* 16, 32 */
/* Case-insensitive "MD5" / "SHA-256"; -ENOENT for anything else ("MD5-sess" too). */
int digest_alg_from(struct slice name, enum digest_alg *alg);

/* ------------------------------------------------- pure computations */

/* HA1 = H(username:realm:password), digest_alg_len(alg) bytes into out. */
int digest_ha1(enum digest_alg alg, struct slice username, struct slice realm,
               struct slice password, uint8_t out[DIGEST_MAX_HASH]);

/* Lowercase hex of n bytes into out (2n chars + NUL). */
void digest_hex(const uint8_t *b, size_t n, char *out);
/* Exactly 2n hex digits (either case) into n bytes; 0 or -EBADMSG. */
int digest_unhex(struct slice hex, uint8_t *out, size_t n);

/*
 * What a response covers.  All values unquoted.  qop empty means the
 * RFC 2069 form H(HA1:nonce:HA2); otherwise H(HA1:nonce:nc:cnonce:qop:HA2)
 * with HA2 = H(method:uri), or H(method:uri:H(body)) for qop "auth-int"
 * (which only the client side uses: the server offers "auth").
 */
struct digest_params {
	enum digest_alg alg;
	struct slice nonce, nc, cnonce, qop;
	struct slice method, uri;
	struct slice body; /* the message body, for auth-int only */
};

/* The expected response for ha1 (digest_alg_len bytes), as bytes into out. */
int digest_response(const struct digest_params *prm, const uint8_t *ha1,
                    uint8_t out[DIGEST_MAX_HASH]);

/* ------------------------------------------------------ server state */

struct digest_cfg {
	uint32_t nonce_lifetime_s; /* a nonce older than this is stale (default 300) */
	uint32_t replay_max;       /* entries in the nonce-count table (default 16384) */
	bool allow_rfc2069;        /* accept responses without qop (default false) */
	/* HMAC key for nonces, copied; NULL: 32 random bytes per process.  A
	 * key shared between nodes lets each accept the others' nonces. */
	const uint8_t *key;
	size_t key_len; /* 16-64 bytes when key is set */
	/* Wall clock in milliseconds; NULL: CLOCK_REALTIME.  Tests inject one. */
	uint64_t (*clock_ms)(void *arg);
	void *clock_arg;
};
void digest_cfg_default(struct digest_cfg *cfg);

struct digest;

/* A mem object; -EINVAL for a bad cfg, -EIO when OpenSSL has no randomness. */
int digest_alloc(struct digest **dp, const struct digest_cfg *cfg);

enum digest_outcome {
	DIGEST_OK = 0,    /* authenticated */
	DIGEST_STALE,     /* right response, nonce no longer usable: 401 with stale=true */
	DIGEST_FAIL,      /* wrong password, user, realm or uri, or a nonce not ours: 403 */
	DIGEST_REPLAY,    /* nonce-count not above the last one seen for the nonce: 403 */
	DIGEST_MALFORMED, /* missing or bad parameters, algorithm or qop not offered: 400 */
	DIGEST_OUTCOME__COUNT
};
const char *digest_outcome_name(enum digest_outcome o); /* "ok", "stale", ... */

/* Counters for /metrics. */
struct digest_stats {
	uint64_t nonces;                          /* challenges issued */
	uint64_t outcomes[DIGEST_OUTCOME__COUNT]; /* verdicts given, by outcome */
	uint64_t evicted; /* live nonce-count entries dropped because the table was full */
	uint32_t tracked; /* nonces in the nonce-count table now */
};
void digest_stats_get(const struct digest *d, struct digest_stats *st);

/* Drops nonce-count entries whose nonce has expired (call from a timer). */
void digest_gc(struct digest *d);

/* ------------------------------------------------------------ challenge */

#define DIGEST_NCHALLENGE 2

/*
 * One fresh nonce, and one WWW-Authenticate (or Proxy-Authenticate) value
 * per algorithm appended to out[0] and out[1]:
 *   Digest realm="sip.twilio.com", nonce="...", qop="auth", algorithm=SHA-256
 * with ", stale=true" when stale.  SHA-256 comes first when sha256_first
 * (RFC 8760 section 2.4: preferred algorithm first), MD5 first otherwise
 * for old clients that only read the first challenge.  Both share the
 * nonce.  -EINVAL for an empty realm or one over 255 bytes, -ENOMEM.
 *
 * realm is the deployment's one realm (a store setting, default
 * "sip.twilio.com"), the same for every domain: stored HA1 values bake it
 * in and credential lists are shared between domains (docs/AUTH.md).
 */
int digest_challenge(struct digest *d, struct buf out[DIGEST_NCHALLENGE], struct slice realm,
                     bool stale, bool sha256_first);

/* --------------------------------------------------------------- verify */

/*
 * The credential store: HA1 of username in realm for alg into ha1
 * (digest_alg_len(alg) bytes).  0, -ENOENT for no such user (or no HA1 for
 * that algorithm), another negative errno when the store failed.
 */
typedef int(digest_ha1_h)(void *arg, struct slice username, struct slice realm, enum digest_alg alg,
                          uint8_t ha1[DIGEST_MAX_HASH]);

struct digest_creds_lookup {
	digest_ha1_h *h;
	void *arg;
};

#define DIGEST_REASON_LEN 192

struct digest_result {
	enum digest_outcome outcome;
	enum digest_alg alg; /* meaningful once the algorithm was read */
	uint16_t status;     /* suggested answer: 0 (go on), 401, 403 or 400 */
	/* A reason phrase for that answer that tells the client no more than
	 * the status does (not whether the user exists): "Forbidden"... */
	const char *phrase;
	/* For logs and call records: printable ASCII, no secrets, e.g.
	 * "wrong password for user 'bob'", "replayed nonce-count 00000001". */
	char reason[DIGEST_REASON_LEN];
};

/*
 * Checks one set of credentials against a request: method and ruri (the
 * Request-URI as written) of the request, realm the domain's realm (the
 * one challenged with).  0 with the verdict in *res, whatever it is; a
 * negative errno only when the lookup failed with something other than
 * -ENOENT or memory ran out (the caller answers 500).
 *
 * Only requests the edge challenged are verified: never ACK or CANCEL
 * (RFC 3261 22.1; the ACK of a 2xx repeats the INVITE's credentials and
 * would look like a replay).
 */
int digest_verify(struct digest *d, const struct sip_auth *auth, struct slice method,
                  struct slice ruri, struct slice realm, const struct digest_creds_lookup *lookup,
                  struct digest_result *res);

/*
 * Picks the credentials meant for realm among the Authorization (id
 * SIP_HDR_AUTHORIZATION) or Proxy-Authorization headers of msg: the first
 * Digest one whose realm is realm, else the first Digest one (which
 * digest_verify() then refuses as the wrong realm).  0, -ENOENT when there
 * are none (answer a challenge), -EBADMSG when one does not parse.
 */
int digest_auth_find(const struct sip_msg *msg, enum sip_hdr_id id, struct slice realm,
                     struct sip_auth *auth);

#endif
