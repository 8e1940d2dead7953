/* Private helpers shared by the SIP parser files: character classes and scanners. */
#ifndef IXEDGE_SIP_PRIV_H
#define IXEDGE_SIP_PRIV_H

#include <errno.h>

#include "ixedge/sip.h"

/*
 * Character classes of RFC 3261 section 25.1, one bit each.  The table is a
 * compile-time constant so the parser reads no mutable global state.
 */
enum {
	CC_ALPHA = 1u << 0,
	CC_DIGIT = 1u << 1,
	CC_HEX = 1u << 2,
	CC_TOKEN = 1u << 3,      /* token */
	CC_UNRESERVED = 1u << 4, /* alphanum / mark */
	CC_USER = 1u << 5,       /* unreserved / user-unreserved */
	CC_PASS = 1u << 6,       /* unreserved / & = + $ , */
	CC_PARAM = 1u << 7,      /* paramchar without escapes */
	CC_HNV = 1u << 8,        /* hname/hvalue chars without escapes */
	CC_HOST = 1u << 9,       /* hostname characters (plus '_', seen in the wild) */
	CC_SCHEME = 1u << 10,    /* ALPHA DIGIT + - . */
	CC_WS = 1u << 11,        /* SP HTAB CR LF: LWS inside an unfolded value */
	CC_WORD = 1u << 12,      /* Call-ID word */
	CC_CTL = 1u << 13,       /* control characters other than HTAB */
};

extern const uint16_t sip_cc[256];

static inline bool cc_is(char c, unsigned cls)
{
	return (sip_cc[(unsigned char)c] & cls) != 0;
}

static inline const char *skip_ws(const char *p, const char *end)
{
	while (p < end && cc_is(*p, CC_WS))
		p++;
	return p;
}

static inline const char *skip_class(const char *p, const char *end, unsigned cls)
{
	while (p < end && cc_is(*p, cls))
		p++;
	return p;
}

/* hexval() is in ixedge/base.h. */

/* Builds the header-name table once (thread-safe); sip_hdr_id_lookup() needs it. */
void sip_names_init(void);
enum sip_hdr_id sip_hdr_id_lookup(struct slice name);

/* Skips characters of cls and %XX escapes; stops at anything else. */
const char *sip_skip_escaped(const char *p, const char *end, unsigned cls, bool *bad_escape);

/* Records an error at `at` (relative to base) unless one is already set. */
int sip_fail(struct sip_perr *err, const char *base, const char *at, const char *what,
             uint16_t status);

/*
 * Adopts the error a sub-parser wrote into its own fresh `sub` (offset
 * relative to base) as err's first error: offset from msg_start, and hname
 * unless the sub-parser named one.  Returns e.
 */
int sip_adopt(struct sip_perr *err, const char *msg_start, struct slice hname, const char *base,
              const struct sip_perr *sub, int e);

/* Host (name, IPv4, [IPv6]) and optional :port at p; sets *pp past them. */
int sip_host_port_scan(const char **pp, const char *end, struct slice *host,
                       enum sip_host_type *type, uint16_t *port, bool *has_port);

/* Validates a ';'-separated parameter list with the given value class. */
int sip_params_check(struct slice params, bool allow_quoted, unsigned value_cls);

/*
 * Scans a generic ";name[=value]" list at p (LWS allowed around ; and =),
 * validating it, and calls visit (when not NULL) for each parameter in the
 * same pass (value empty when absent, quotes kept).  A non-zero return of
 * visit stops the scan and is returned.
 */
typedef int(sip_param_visit_h)(void *ctx, struct slice name, struct slice value);
int sip_params_scan(const char **pp, const char *end, struct slice *params,
                    sip_param_visit_h *visit, void *ctx);

/* A bare IPv4 or IPv6 address, or [IPv6]; *type says which. */
bool sip_ip_literal(struct slice s, enum sip_host_type *type);

#endif
