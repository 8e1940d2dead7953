/* libFuzzer target: digest challenge parse, the answer built from it, and pick over a 401. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/digest_client.h"
#include "domain/digest_priv.h"

static int cnonce_h(void *arg, char *out, size_t cap)
{
	(void)arg;
	if (cap < 6)
		return -E2BIG;
	memcpy(out, "c\"n\\ce", 6); /* needs escaping too */
	return 6;
}

/* A copied value: its length, its NUL, no control characters (it is echoed in a header). */
static void check_value(const char *v, size_t len, size_t cap)
{
	if (len > cap || v[len] != '\0' || strlen(v) != len)
		abort();
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
			abort();
}

/* The answer reads back, through the server's parser, as what was challenged. */
static void check_answer(const struct digest_challenge *ch, const struct buf *b)
{
	char s[DIGEST_CH_VALUE_MAX + 1];
	struct sip_auth a;
	struct slice v;

	if (sip_auth_decode(&a, buf_slice(b), NULL) || !slice_eq(a.scheme, SLICE("Digest")))
		abort();
	if (digest_unq(a.realm, s, sizeof(s), &v) ||
	    !slice_eq(v, (struct slice){ch->realm, ch->realm_len}))
		abort();
	if (digest_unq(a.nonce, s, sizeof(s), &v) ||
	    !slice_eq(v, (struct slice){ch->nonce, ch->nonce_len}))
		abort();
	if (ch->has_opaque != (a.opaque.p != NULL))
		abort();
	if (ch->has_opaque && (digest_unq(a.opaque, s, sizeof(s), &v) ||
	                       !slice_eq(v, (struct slice){ch->opaque, ch->opaque_len})))
		abort();
	if ((ch->qop != 0) != (a.qop.len != 0) || (ch->qop && !slice_eq(a.nc, SLICE("00000001"))))
		abort();
	if (digest_unq(a.username, s, sizeof(s), &v) || !slice_eq(v, SLICE("us\"er\\")))
		abort();
	if (a.response.len != 2 * digest_alg_len(ch->alg))
		abort();
}

/* With a good challenge after the fuzzed one, a 401 always yields a pick. */
static void check_pick(const uint8_t *data, size_t size)
{
	static const char head[] = "SIP/2.0 401 Unauthorized\r\n"
	                           "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
	                           "From: <sip:a@b>;tag=1\r\n"
	                           "To: <sip:c@d>;tag=2\r\n"
	                           "Call-ID: f\r\n"
	                           "CSeq: 1 INVITE\r\n"
	                           "WWW-Authenticate: ";
	static const char tail[] = "\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n"
	                           "Content-Length: 0\r\n\r\n";
	struct digest_challenge ch;
	struct sip_msg *msg = NULL;
	char why[DIGEST_REASON_LEN];
	char *text;
	size_t n;

	if (memchr(data, '\r', size) || memchr(data, '\n', size))
		return;
	n = sizeof(head) - 1 + size + sizeof(tail) - 1;
	text = malloc(n);
	if (!text)
		return;
	memcpy(text, head, sizeof(head) - 1);
	if (size)
		memcpy(text + sizeof(head) - 1, data, size);
	memcpy(text + sizeof(head) - 1 + size, tail, sizeof(tail) - 1);
	if (sip_msg_decode(&msg, text, n, NULL, NULL, NULL) == 0 && msg->status == 401 &&
	    sip_msg_hdr_count(msg, SIP_HDR_WWW_AUTHENTICATE) == 2) {
		if (digest_challenge_pick(&ch, msg, why, sizeof(why)) || ch.proxy)
			abort();
	}
	mem_deref(msg);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1), why[DIGEST_REASON_LEN];
	struct digest_challenge ch;
	struct digest_client dc;
	struct buf b = {0};
	int err;

	if (!p)
		return 0;
	if (size)
		memcpy(p, data, size);
	why[0] = 'x';
	err = digest_challenge_parse(&ch, (struct slice){p, size}, why, sizeof(why));
	if (err) {
		if ((err != -EBADMSG && err != -ENOTSUP) || why[0] == '\0' ||
		    strnlen(why, sizeof(why)) == sizeof(why))
			abort();
	} else {
		check_value(ch.realm, ch.realm_len, DIGEST_REALM_MAX);
		check_value(ch.nonce, ch.nonce_len, DIGEST_CH_VALUE_MAX);
		check_value(ch.opaque, ch.opaque_len, DIGEST_CH_VALUE_MAX);
		if (!ch.nonce_len || (unsigned)ch.alg >= DIGEST_ALG__COUNT ||
		    (ch.qop & ~(unsigned)(DIGEST_QOP_AUTH | DIGEST_QOP_AUTH_INT)) ||
		    (ch.sess && !ch.qop) || ch.proxy)
			abort();
		digest_client_init(&dc);
		dc.cnonce_h = cnonce_h;
		if (digest_client_answer(&b, &dc, &ch, SLICE("INVITE"), SLICE("sip:x@y"),
		                         SLICE("us\"er\\"), SLICE("pw"), SLICE("v=0\r\n")))
			abort();
		check_answer(&ch, &b);
		buf_free(&b);
	}
	check_pick(data, size);
	free(p);
	return 0;
}
