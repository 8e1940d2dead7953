/* Unit tests: dialog creation on both sides, route sets, next hop, in-dialog requests. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dialog/dialog.h"

static struct sip_msg *decode(const char *text)
{
	struct sip_msg *m = NULL;
	struct sip_perr err;

	if (sip_msg_decode(&m, text, strlen(text), NULL, NULL, &err))
		fail_msg("decode: %s at %zu", err.what, err.offset);
	return m;
}

static void assert_slice(struct slice got, const char *want)
{
	if (got.len != strlen(want) || (got.len && memcmp(got.p, want, got.len)))
		fail_msg("got '%.*s', want '%s'", (int)got.len, got.p ? got.p : "", want);
}

static struct tp_peer peer_v4(const char *ip, uint16_t port)
{
	struct tp_peer p = {.proto = TP_UDP};
	struct sockaddr_in *in = (struct sockaddr_in *)&p.addr;

	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	inet_pton(AF_INET, ip, &in->sin_addr);
	return p;
}

static void assert_peer(const struct tp_peer *p, const char *ip, uint16_t port)
{
	char text[64];

	tp_sockaddr_fmt((const struct sockaddr *)&p->addr, text, sizeof(text));
	{
		char want[64];

		snprintf(want, sizeof(want), "%s:%u", ip, port);
		if (strcmp(text, want))
			fail_msg("next hop %s, want %s", text, want);
	}
}

static const char invite[] = "INVITE sip:bob@127.0.1.64 SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKp1\r\n"
                             "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKa1\r\n"
                             "Record-Route: <sip:198.51.100.7;lr>, <sip:198.51.100.8;lr>\r\n"
                             "From: \"Alice\" <sip:alice@example.com>;tag=a-tag\r\n"
                             "To: <sip:bob@example.net>\r\n"
                             "Call-ID: inbound-1@example.com\r\n"
                             "CSeq: 7 INVITE\r\n"
                             "Contact: <sip:alice@192.0.2.10:5062>\r\n"
                             "Content-Length: 0\r\n\r\n";

static void test_uas(void **state)
{
	struct sip_msg *m = decode(invite), *bye;
	struct tp_peer src = peer_v4("198.51.100.7", 5060);
	struct dialog d = {0};
	struct buf out = {0};

	(void)state;
	assert_int_equal(
	    dialog_uas_create(&d, m, SLICE("local-1"), SLICE("sip:127.0.1.64:5060"), &src), 0);
	assert_int_equal(d.state, DIALOG_EARLY);
	assert_false(d.uac);
	assert_slice(d.call_id, "inbound-1@example.com");
	assert_slice(d.local_tag, "local-1");
	assert_slice(d.remote_tag, "a-tag");
	assert_slice(d.remote_uri, "\"Alice\" <sip:alice@example.com>");
	assert_slice(d.local_uri, "<sip:bob@example.net>");
	assert_slice(d.remote_target, "sip:alice@192.0.2.10:5062");
	/* UAS keeps Record-Route order; the next hop is the first route */
	assert_slice(d.route_set, "<sip:198.51.100.7;lr>, <sip:198.51.100.8;lr>");
	assert_peer(&d.peer, "198.51.100.7", 5060);
	assert_int_equal(d.remote_cseq, 7);

	/* A BYE from us: Request-URI = remote target, Route = route set, tags swapped */
	assert_int_equal(dialog_request_build(&d, &out, "BYE", 0, SLICE("z9hG4bKbye"),
	                                      SLICE("127.0.1.64:5060"), NULL, 0, SLICE_NULL),
	                 0);
	bye = decode(out.p);
	assert_slice(bye->ruri.raw, "sip:alice@192.0.2.10:5062");
	assert_slice(bye->from.tag, "local-1");
	assert_slice(bye->to.tag, "a-tag");
	assert_slice(bye->via.branch, "z9hG4bKbye");
	assert_int_equal(bye->cseq.num, 2);
	assert_int_equal(bye->cseq.mid, SIP_METHOD_BYE);
	assert_slice(sip_msg_hdr(bye, SIP_HDR_ROUTE)->value,
	             "<sip:198.51.100.7;lr>, <sip:198.51.100.8;lr>");
	assert_int_equal(sip_msg_check(bye, NULL), 0);
	mem_deref(bye);

	/* In-dialog requests from the peer: matching and CSeq order (RFC 3261 12.2.2) */
	{
		static const char req_text[] =
		    "INFO sip:bob@127.0.1.64 SIP/2.0\r\n"
		    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKi\r\n"
		    "From: <sip:alice@example.com>;tag=a-tag\r\n"
		    "To: <sip:bob@example.net>;tag=local-1\r\n"
		    "Call-ID: inbound-1@example.com\r\n"
		    "CSeq: 8 INFO\r\nContent-Length: 0\r\n\r\n";
		struct sip_msg *info = decode(req_text);

		assert_true(dialog_match_request(&d, info));
		assert_int_equal(dialog_remote_cseq(&d, info), 0);
		assert_int_equal(dialog_remote_cseq(&d, info), -EPROTO); /* not higher */
		mem_deref(info);
	}
	buf_free(&out);
	dialog_reset(&d);
	mem_deref(m);
}

static void test_uac_and_target_refresh(void **state)
{
	static const char req_text[] =
	    "INVITE sip:bob@198.51.100.20:5080 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 127.0.3.64:5060;branch=z9hG4bKo\r\n"
	    "From: <sip:alice@example.com>;tag=ours\r\n"
	    "To: <sip:bob@198.51.100.20:5080>\r\n"
	    "Call-ID: outbound-1\r\nCSeq: 1 INVITE\r\n"
	    "Contact: <sip:127.0.3.64:5060>\r\nContent-Length: 0\r\n\r\n";
	static const char ok_text[] =
	    "SIP/2.0 200 OK\r\n"
	    "Via: SIP/2.0/UDP 127.0.3.64:5060;branch=z9hG4bKo\r\n"
	    "Record-Route: <sip:203.0.113.1;lr>\r\n"
	    "Record-Route: <sip:203.0.113.2;lr>\r\n"
	    "From: <sip:alice@example.com>;tag=ours\r\n"
	    "To: <sip:bob@198.51.100.20:5080>;tag=theirs\r\n"
	    "Call-ID: outbound-1\r\nCSeq: 1 INVITE\r\n"
	    "Contact: <sip:bob@198.51.100.21:5090>\r\nContent-Length: 0\r\n\r\n";
	static const char reinv_text[] =
	    "INVITE sip:127.0.3.64:5060 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 203.0.113.2;branch=z9hG4bKr\r\n"
	    "From: <sip:bob@198.51.100.20:5080>;tag=theirs\r\n"
	    "To: <sip:alice@example.com>;tag=ours\r\n"
	    "Call-ID: outbound-1\r\nCSeq: 5 INVITE\r\n"
	    "Contact: <sip:bob@198.51.100.99:5090>\r\nContent-Length: 0\r\n\r\n";
	struct sip_msg *req = decode(req_text), *ok = decode(ok_text), *reinv = decode(reinv_text);
	struct tp_peer hop = peer_v4("198.51.100.20", 5080);
	struct dialog d = {0};
	struct buf out = {0};
	struct sip_msg *ack;

	(void)state;
	assert_int_equal(dialog_uac_create(&d, req, ok, SLICE("sip:127.0.3.64:5060"), &hop), 0);
	assert_int_equal(d.state, DIALOG_CONFIRMED);
	assert_true(d.uac);
	assert_slice(d.local_tag, "ours");
	assert_slice(d.remote_tag, "theirs");
	/* UAC reverses Record-Route (RFC 3261 12.1.2) */
	assert_slice(d.route_set, "<sip:203.0.113.2;lr>, <sip:203.0.113.1;lr>");
	assert_peer(&d.peer, "203.0.113.2", 5060);
	assert_slice(d.remote_target, "sip:bob@198.51.100.21:5090");

	/* ACK takes the INVITE's CSeq and carries no Contact */
	assert_int_equal(dialog_request_build(&d, &out, "ACK", 1, SLICE("z9hG4bKack"),
	                                      SLICE("127.0.3.64:5060"), NULL, 0, SLICE_NULL),
	                 0);
	ack = decode(out.p);
	assert_int_equal(ack->cseq.num, 1);
	assert_null(sip_msg_hdr(ack, SIP_HDR_CONTACT));
	assert_int_equal(d.local_cseq, 1);
	mem_deref(ack);

	/* A re-INVITE with a new Contact refreshes the target, the routes stay */
	assert_int_equal(dialog_update_target(&d, reinv), 0);
	assert_slice(d.remote_target, "sip:bob@198.51.100.99:5090");
	assert_slice(d.route_set, "<sip:203.0.113.2;lr>, <sip:203.0.113.1;lr>");
	assert_slice(d.call_id, "outbound-1");
	buf_free(&out);
	dialog_reset(&d);
	mem_deref(req);
	mem_deref(ok);
	mem_deref(reinv);
}

static void test_nat_next_hop(void **state)
{
	/* A private Contact behind a public source: requests go back to the source. */
	static const char text[] =
	    "INVITE sip:bob@127.0.1.64 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.1.2.3:5060;branch=z9hG4bKn;rport\r\n"
	    "From: <sip:pbx@example.com>;tag=n1\r\nTo: <sip:bob@example.net>\r\n"
	    "Call-ID: nat-1\r\nCSeq: 1 INVITE\r\n"
	    "Contact: <sip:pbx@10.1.2.3:5060>\r\nContent-Length: 0\r\n\r\n";
	struct sip_msg *m = decode(text);
	struct tp_peer src = peer_v4("203.0.113.50", 40001);
	struct dialog d = {0};

	(void)state;
	assert_int_equal(dialog_uas_create(&d, m, SLICE("t"), SLICE("sip:127.0.1.64"), &src), 0);
	assert_peer(&d.peer, "203.0.113.50", 40001);
	dialog_reset(&d);
	/* ...but a public Contact is used as it is (RFC 3261 12.2.1.1) */
	src = peer_v4("10.9.9.9", 5060);
	assert_int_equal(dialog_uas_create(&d, m, SLICE("t"), SLICE("sip:127.0.1.64"), &src), 0);
	assert_peer(&d.peer, "10.1.2.3", 5060);
	dialog_reset(&d);
	mem_deref(m);
}

static void test_missing_contact(void **state)
{
	static const char text[] = "INVITE sip:bob@127.0.1.64 SIP/2.0\r\n"
	                           "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"
	                           "From: <sip:a@example.com>;tag=x\r\nTo: <sip:b@example.net>\r\n"
	                           "Call-ID: nc\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	struct sip_msg *m = decode(text);
	struct tp_peer src = peer_v4("192.0.2.1", 5060);
	struct dialog d = {0};

	(void)state;
	assert_int_equal(dialog_uas_create(&d, m, SLICE("t"), SLICE("sip:127.0.1.64"), &src),
	                 -EBADMSG);
	dialog_reset(&d);
	mem_deref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uas),
	    cmocka_unit_test(test_uac_and_target_refresh),
	    cmocka_unit_test(test_nat_next_hop),
	    cmocka_unit_test(test_missing_contact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
