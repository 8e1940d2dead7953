/* TwiML attribute and text checks: URLs, <Sip> URIs, caller ids, credentials. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/twiml_priv.h"
#include "ixedge/sip.h"

void twiml_show(char *out, size_t cap, struct slice s)
{
	size_t n = 0;

	if (!cap)
		return;
	for (size_t i = 0; i < s.len && n < 32 && n + 1 < cap; i++) {
		unsigned char c = (unsigned char)s.p[i];

		out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[n] = '\0';
	if (s.len > n && n + 4 < cap)
		memcpy(out + n, "...", 4);
}

static int why_set(char *why, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int why_set(char *why, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return rc;
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

int twiml_check_url(struct slice s, char *why, size_t cap)
{
	size_t scheme_end = 0;

	if (s.len > TWIML_MAX_URL)
		return why_set(why, cap, -E2BIG, "URL longer than %u bytes", TWIML_MAX_URL);
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (is_ctl(c) || c == ' ')
			return why_set(why, cap, -EBADMSG,
			               "URL contains a space or control character");
		if (c >= 0x80)
			return why_set(why, cap, -EBADMSG,
			               "URL contains a non-ASCII byte (percent-encode it)");
		/* A ':' before any '/', '?' or '#' ends a scheme (RFC 3986 4.2). */
		if (!scheme_end && c == ':')
			scheme_end = i + 1;
		if (!scheme_end && (c == '/' || c == '?' || c == '#'))
			scheme_end = SIZE_MAX;
	}
	if (scheme_end && scheme_end != SIZE_MAX) {
		struct slice scheme = {s.p, scheme_end - 1};

		if (!slice_ieq_cstr(scheme, "http") && !slice_ieq_cstr(scheme, "https"))
			return why_set(why, cap, -EBADMSG, "URL scheme is not http or https");
		if (s.len < scheme_end + 2 || memcmp(s.p + scheme_end, "//", 2) != 0 ||
		    s.len == scheme_end + 2)
			return why_set(why, cap, -EBADMSG, "URL has no host");
	}
	return 0;
}

static bool is_token(struct slice s)
{
	static const char extra[] = "-.!%*_+`'~";

	if (!s.len)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr(extra, c))))
			return false;
	}
	return true;
}

/* ?X-A=1&X-B=2: every header an X- header with a token name and a clean value. */
static int check_uri_headers(struct slice hdrs, char *why, size_t cap)
{
	const char *p = hdrs.p, *end = slice_end(hdrs);
	char name[128], value[TWIML_MAX_SIP_HDRS + 1], show[48];

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
		struct slice h, n, v;
		int nl, vl;

		if (!amp)
			amp = end;
		h = (struct slice){p, (size_t)(amp - p)};
		eq = slice_chr(h, '=');
		n = (struct slice){h.p, eq ? (size_t)(eq - h.p) : h.len};
		v = eq ? (struct slice){eq + 1, (size_t)(amp - eq - 1)} : SLICE_NULL;
		nl = sip_unescape(n, name, sizeof(name) - 1);
		twiml_show(show, sizeof(show), n);
		if (nl <= 0 || !is_token((struct slice){name, (size_t)nl}))
			return why_set(why, cap, -EBADMSG, "bad header name '%s' in the URI", show);
		if (nl < 3 || (name[0] != 'X' && name[0] != 'x') || name[1] != '-')
			return why_set(
			    why, cap, -EBADMSG,
			    "URI header '%s' is not an X- header (only X- headers may be "
			    "sent)",
			    show);
		vl = sip_unescape(v, value, sizeof(value) - 1);
		if (vl < 0)
			return why_set(why, cap, -EBADMSG, "bad value of URI header '%s'", show);
		for (int i = 0; i < vl; i++)
			if (is_ctl((unsigned char)value[i]) && value[i] != '\t')
				return why_set(
				    why, cap, -EBADMSG,
				    "value of URI header '%s' contains a control character", show);
		p = amp < end ? amp + 1 : end;
	}
	return 0;
}

/* The routing parameters of the edges issue, checked for form only (names are
 * resolved against the configured edges when the call is placed). */
static int check_uri_params(struct slice params, char *why, size_t cap)
{
	static const char *const routing[] = {"edge", "tnx", "region"};
	struct slice v;

	for (size_t i = 0; i < ARRAY_SIZE(routing); i++)
		if (sip_param_get(params, routing[i], &v) == 0 && v.len == 0)
			return why_set(why, cap, -EBADMSG, "URI parameter %s= has no value",
			               routing[i]);
	if (sip_param_get(params, "transport", &v) == 0 && !slice_ieq_cstr(v, "udp") &&
	    !slice_ieq_cstr(v, "tcp") && !slice_ieq_cstr(v, "tls")) {
		char show[48];

		twiml_show(show, sizeof(show), v);
		return why_set(why, cap, -EBADMSG, "transport=%s is not udp, tcp or tls", show);
	}
	if (sip_param_get(params, "secure", &v) == 0 && !slice_ieq_cstr(v, "true") &&
	    !slice_ieq_cstr(v, "false"))
		return why_set(why, cap, -EBADMSG, "secure= is not true or false");
	return 0;
}

int twiml_check_sip_uri(struct slice s, char *why, size_t cap)
{
	struct sip_perr perr;
	struct sip_uri uri;
	const char *q;
	size_t base_len;
	int rc;

	if (!s.len)
		return why_set(why, cap, -EBADMSG, "no SIP URI");
	q = slice_chr(s, '?');
	base_len = q ? (size_t)(q - s.p) : s.len;
	if (base_len > TWIML_MAX_SIP_URI)
		return why_set(why, cap, -E2BIG, "SIP URI longer than %u characters",
		               TWIML_MAX_SIP_URI);
	if (q && s.len - base_len - 1 > TWIML_MAX_SIP_HDRS)
		return why_set(why, cap, -E2BIG, "URI headers longer than %u characters in total",
		               TWIML_MAX_SIP_HDRS);
	if (sip_uri_decode(&uri, s, &perr) != 0)
		return why_set(why, cap, -EBADMSG, "bad SIP URI at offset %zu: %s", perr.offset,
		               perr.what ? perr.what : "malformed");
	if (uri.scheme != SIP_SCHEME_SIP && uri.scheme != SIP_SCHEME_SIPS)
		return why_set(why, cap, -EBADMSG, "not a sip: or sips: URI");
	if (uri.host_type == SIP_HOST_NONE)
		return why_set(why, cap, -EBADMSG, "SIP URI has no host");
	rc = check_uri_params(uri.params, why, cap);
	if (rc)
		return rc;
	return uri.headers.len ? check_uri_headers(uri.headers, why, cap) : 0;
}

int twiml_check_caller_id(struct slice s, char *why, size_t cap)
{
	static const char user_extra[] = "-_.!~*'()&=+$,;?/%";

	if (s.len > TWIML_MAX_CALLER_ID)
		return why_set(why, cap, -E2BIG, "longer than %u bytes", TWIML_MAX_CALLER_ID);
	if (slice_chr(s, ':')) {
		struct sip_uri uri;

		if (sip_uri_decode(&uri, s, NULL) != 0 || uri.scheme == SIP_SCHEME_OTHER)
			return why_set(why, cap, -EBADMSG, "not a sip:, sips: or tel: URI");
		if (uri.headers.len)
			return why_set(why, cap, -EBADMSG, "the URI carries headers");
		return 0;
	}
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr(user_extra, c))))
			return why_set(why, cap, -EBADMSG,
			               "contains a character not allowed in a SIP user part");
	}
	return 0;
}

int twiml_check_cred(struct slice s, char *why, size_t cap)
{
	if (s.len > TWIML_MAX_CRED)
		return why_set(why, cap, -E2BIG, "longer than %u bytes", TWIML_MAX_CRED);
	for (size_t i = 0; i < s.len; i++)
		if (is_ctl((unsigned char)s.p[i]))
			return why_set(why, cap, -EBADMSG, "contains a control character");
	return 0;
}
