/* Full message validation: every known header against its grammar (sip_msg_check). */
#include <string.h>

#include "sip_priv.h"
#include "hdr.h"

enum check_kind {
	CK_TEXT = 0,   /* any text without control characters */
	CK_ADDR,       /* one name-addr / addr-spec */
	CK_ADDR_LIST,  /* list of addresses */
	CK_ROUTE_LIST, /* list of name-addrs (always in <>) */
	CK_CONTACT,
	CK_VIA,
	CK_CSEQ,
	CK_CALL_ID,
	CK_U31, /* Content-Length */
	CK_U8,  /* Max-Forwards */
	CK_U32, /* Expires, Min-Expires, RSeq */
	CK_DELTA_PARAMS,
	CK_AUTH,
	CK_DATE,
	CK_WARNING,
	CK_TOKENS,
	CK_TOKENS_PARAMS,
	CK_MEDIA,
	CK_MEDIA_LIST,
};

static const uint8_t check_kinds[SIP_HDR__COUNT] = {
    [SIP_HDR_FROM] = CK_ADDR,
    [SIP_HDR_TO] = CK_ADDR,
    [SIP_HDR_REPLY_TO] = CK_ADDR,
    [SIP_HDR_REFER_TO] = CK_ADDR,
    [SIP_HDR_REFERRED_BY] = CK_ADDR,
    [SIP_HDR_P_ASSERTED_IDENTITY] = CK_ADDR_LIST,
    [SIP_HDR_ROUTE] = CK_ROUTE_LIST,
    [SIP_HDR_RECORD_ROUTE] = CK_ROUTE_LIST,
    [SIP_HDR_PATH] = CK_ROUTE_LIST,
    [SIP_HDR_CONTACT] = CK_CONTACT,
    [SIP_HDR_VIA] = CK_VIA,
    [SIP_HDR_CSEQ] = CK_CSEQ,
    [SIP_HDR_CALL_ID] = CK_CALL_ID,
    [SIP_HDR_CONTENT_LENGTH] = CK_U31,
    [SIP_HDR_MAX_FORWARDS] = CK_U8,
    [SIP_HDR_EXPIRES] = CK_U32,
    [SIP_HDR_MIN_EXPIRES] = CK_U32,
    [SIP_HDR_RSEQ] = CK_U32,
    [SIP_HDR_RETRY_AFTER] = CK_DELTA_PARAMS,
    [SIP_HDR_SESSION_EXPIRES] = CK_DELTA_PARAMS,
    [SIP_HDR_MIN_SE] = CK_DELTA_PARAMS,
    [SIP_HDR_AUTHORIZATION] = CK_AUTH,
    [SIP_HDR_PROXY_AUTHORIZATION] = CK_AUTH,
    [SIP_HDR_WWW_AUTHENTICATE] = CK_AUTH,
    [SIP_HDR_PROXY_AUTHENTICATE] = CK_AUTH,
    [SIP_HDR_DATE] = CK_DATE,
    [SIP_HDR_WARNING] = CK_WARNING,
    [SIP_HDR_ALLOW] = CK_TOKENS,
    [SIP_HDR_SUPPORTED] = CK_TOKENS,
    [SIP_HDR_REQUIRE] = CK_TOKENS,
    [SIP_HDR_PROXY_REQUIRE] = CK_TOKENS,
    [SIP_HDR_UNSUPPORTED] = CK_TOKENS,
    [SIP_HDR_CONTENT_ENCODING] = CK_TOKENS,
    [SIP_HDR_CONTENT_LANGUAGE] = CK_TOKENS,
    [SIP_HDR_ALLOW_EVENTS] = CK_TOKENS_PARAMS,
    [SIP_HDR_ACCEPT_ENCODING] = CK_TOKENS_PARAMS,
    [SIP_HDR_ACCEPT_LANGUAGE] = CK_TOKENS_PARAMS,
    [SIP_HDR_EVENT] = CK_TOKENS_PARAMS,
    [SIP_HDR_CONTENT_TYPE] = CK_MEDIA,
    [SIP_HDR_ACCEPT] = CK_MEDIA_LIST,
};

struct check_ctx {
	const struct sip_msg *msg;
	const struct sip_hdr *h;
	struct sip_perr *err;
};

static int fail_at(struct check_ctx *c, const char *at, const char *what)
{
	if (c->err && !c->err->what) {
		c->err->hname = c->h->name;
		return sip_fail(c->err, c->msg->raw.p, at, what, 400);
	}
	return -EBADMSG;
}

/* Adopts a sub-parser's fresh error (offset relative to base) for this header. */
static int adopt(struct check_ctx *c, const char *base, const struct sip_perr *sub, int e)
{
	return sip_adopt(c->err, c->msg->raw.p, c->h->name, base, sub, e);
}

static int check_addr(struct check_ctx *c, struct slice v, bool contact)
{
	struct sip_addr a;
	struct slice pv;
	uint64_t n;
	struct sip_perr sub = {0};
	int e = sip_addr_decode(&a, v, &sub);

	if (e)
		return adopt(c, v.p, &sub, e);
	if (a.wildcard && !contact)
		return fail_at(c, v.p, "'*' is not an address");
	if (a.tag.len && skip_class(a.tag.p, a.tag.p + a.tag.len, CC_TOKEN) != a.tag.p + a.tag.len)
		return fail_at(c, a.tag.p, "bad tag");
	if (contact && sip_param_get(a.params, "expires", &pv) == 0 &&
	    slice_to_u64(pv, UINT32_MAX, &n))
		return fail_at(c, pv.p, "bad Contact expires");
	return 0;
}

static int check_list(struct check_ctx *c, enum check_kind kind)
{
	struct slice rest = c->h->value, v;
	int e, count = 0;
	bool wildcard = false;

	while ((e = sip_list_next(&rest, &v)) == 0) {
		count++;
		switch (kind) {
		case CK_ADDR_LIST:
			e = check_addr(c, v, false);
			break;
		case CK_ROUTE_LIST:
			e = v.p[0] == '<' || memchr(v.p, '<', v.len)
			        ? check_addr(c, v, false)
			        : fail_at(c, v.p, "route must be <URI>");
			break;
		case CK_CONTACT:
			wildcard |= v.len == 1 && v.p[0] == '*';
			e = check_addr(c, v, true);
			break;
		case CK_VIA: {
			struct sip_via via;
			struct sip_perr sub = {0};

			e = sip_via_decode(&via, v, &sub);
			e = e ? adopt(c, v.p, &sub, e) : 0;
			break;
		}
		case CK_WARNING:
			e = sip_warning_valid(v) ? 0 : fail_at(c, v.p, "bad Warning value");
			break;
		case CK_TOKENS:
		case CK_TOKENS_PARAMS:
			e = sip_token_list_elem_valid(v, kind == CK_TOKENS_PARAMS)
			        ? 0
			        : fail_at(c, v.p, "expected a token");
			break;
		case CK_MEDIA_LIST:
			e = sip_media_type_valid(v) ? 0 : fail_at(c, v.p, "bad media type");
			break;
		default:
			break;
		}
		if (e)
			return e;
	}
	if (e == -EBADMSG)
		return fail_at(c, rest.p, "empty list element");
	if (wildcard && (count > 1 || sip_msg_hdr_count(c->msg, SIP_HDR_CONTACT) > 1))
		return fail_at(c, c->h->value.p, "Contact '*' must stand alone");
	if (count == 0 && (kind == CK_VIA || kind == CK_CONTACT || kind == CK_ROUTE_LIST))
		return fail_at(c, c->h->value.p, "empty header value");
	return 0;
}

static int check_number(struct check_ctx *c, uint64_t max, bool params)
{
	const char *why = NULL;

	if (sip_delta_check(c->h->value, max, params, &why))
		return fail_at(c, c->h->value.p, why);
	return 0;
}

/* TEXT-UTF8 has no control characters, but a quoted-pair may escape one (RFC 3261 25.1). */
static int ctl_scan(struct check_ctx *c, struct slice v)
{
	bool quoted = false;

	for (size_t i = 0; i < v.len; i++) {
		char ch = v.p[i];

		if (quoted && ch == '\\' && i + 1 < v.len && v.p[i + 1] != '\r' &&
		    v.p[i + 1] != '\n') {
			i++;
		} else if (ch == '"') {
			quoted = !quoted;
		} else if (cc_is(ch, CC_CTL) && ch != '\r' && ch != '\n') {
			return fail_at(c, v.p + i, "control character in header value");
		}
	}
	return 0;
}

static int check_hdr(struct check_ctx *c)
{
	struct slice v = c->h->value;
	enum check_kind kind = (enum check_kind)check_kinds[c->h->id];
	struct sip_cseq cseq;
	struct sip_auth auth;
	struct sip_perr sub = {0};
	int e;

	e = ctl_scan(c, v);
	if (e)
		return e;
	switch (kind) {
	case CK_TEXT:
		return 0;
	case CK_ADDR:
		return check_addr(c, v, false);
	case CK_CSEQ:
		e = sip_cseq_decode(&cseq, v, &sub);
		return e ? adopt(c, v.p, &sub, e) : 0;
	case CK_CALL_ID:
		return sip_call_id_valid(v) ? 0 : fail_at(c, v.p, "bad Call-ID");
	case CK_U31:
		return check_number(c, INT32_MAX, false);
	case CK_U8:
		return check_number(c, 255, false);
	case CK_U32:
		return check_number(c, UINT32_MAX, false);
	case CK_DELTA_PARAMS:
		return check_number(c, UINT32_MAX, true);
	case CK_AUTH:
		e = sip_auth_decode(&auth, v, &sub);
		return e ? adopt(c, v.p, &sub, e) : 0;
	case CK_DATE:
		return sip_date_valid(v) ? 0 : fail_at(c, v.p, "bad Date (must be RFC 1123, GMT)");
	case CK_MEDIA:
		return sip_media_type_valid(v) ? 0 : fail_at(c, v.p, "bad media type");
	default:
		return check_list(c, kind);
	}
}

int sip_msg_check(const struct sip_msg *msg, struct sip_perr *err)
{
	struct check_ctx c = {.msg = msg, .err = err};
	bool is20 = slice_ieq(msg->version, SLICE("SIP/2.0"));
	int e;

	if (err)
		*err = (struct sip_perr){0};
	if (!is20)
		return sip_fail(err, msg->raw.p, msg->version.p, "unsupported SIP version", 505);
	for (uint32_t i = 0; i < msg->nhdr; i++) {
		c.h = &msg->hdr[i];
		if ((sip_hdr_flags(c.h->id) & SIP_HF_SINGLE) && msg->first[c.h->id] != i + 1)
			return fail_at(&c, c.h->name.p, "header must not repeat");
		e = check_hdr(&c);
		if (e)
			return e;
	}
	for (size_t i = 0; i < msg->reason.len; i++) {
		if (cc_is(msg->reason.p[i], CC_CTL))
			return sip_fail(err, msg->raw.p, msg->reason.p + i,
			                "control character in reason phrase", 400);
	}
	if (msg->content_length >= 0 && (size_t)msg->content_length != msg->body.len)
		return sip_fail(err, msg->raw.p, msg->body.p, "Content-Length does not match body",
		                400);
	return 0;
}
