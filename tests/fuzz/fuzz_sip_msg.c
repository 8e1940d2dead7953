/* libFuzzer target: sip_msg_decode + sip_msg_check + every lazy accessor + derive. */
#include <stdlib.h>
#include <string.h>

#include "ixedge/sip.h"

static void walk_lists(const struct sip_msg *m)
{
	static const enum sip_hdr_id ids[] = {SIP_HDR_VIA,           SIP_HDR_CONTACT,
	                                      SIP_HDR_ROUTE,         SIP_HDR_RECORD_ROUTE,
	                                      SIP_HDR_AUTHORIZATION, SIP_HDR_WWW_AUTHENTICATE};
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		struct sip_hdr_iter it;
		struct slice v, n, pv;
		unsigned guard = 0;

		sip_hdr_iter_init(&it, m, ids[i]);
		while (sip_hdr_iter_next(&it, &v) == 0 && guard++ < 1000) {
			struct sip_addr a;
			struct sip_via via;
			struct sip_auth au;

			if (ids[i] == SIP_HDR_VIA) {
				if (sip_via_decode(&via, v, NULL) == 0)
					(void)sip_via_branch_is_3261(&via);
			} else if (ids[i] == SIP_HDR_AUTHORIZATION ||
			           ids[i] == SIP_HDR_WWW_AUTHENTICATE) {
				(void)sip_auth_decode(&au, v, NULL);
			} else if (sip_addr_decode(&a, v, NULL) == 0) {
				struct slice rest = a.params;

				while (sip_param_next(&rest, &n, &pv) == 0)
					;
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_limits lim;
	struct sip_msg *m = NULL;
	struct sip_perr err;
	/* A private heap copy, so ASan catches any read past the input. */
	char *p = malloc(size ? size : 1);
	int e;

	memcpy(p, data, size);
	sip_limits_default(&lim);
	e = sip_msg_decode(&m, p, size, NULL, &lim, &err);
	if (e && err.what && err.offset > size)
		abort(); /* an error must point inside the input */
	if (m) {
		struct buf out = {0};

		if (e == 0)
			(void)sip_msg_check(m, &err);
		walk_lists(m);
		if (sip_msg_can_answer(m))
			(void)sip_response_build(&out, m, 400, NULL, SLICE("fz"), NULL, 0,
			                         SLICE_NULL);
		buf_free(&out);
		if (e == 0 && sip_msg_derive(&out, m, SLICE_NULL, NULL, 0, NULL) == 0) {
			/* A derived copy of a valid message must decode again.  Derive
			 * always writes Content-Length, so a message at the header or size
			 * limit without one may grow past it by that one line. */
			struct sip_msg *m2 = NULL;
			struct sip_limits lim2 = lim;

			lim2.max_headers++;
			lim2.max_msg_size += 32;
			if (sip_msg_decode(&m2, out.p, out.len, NULL, &lim2, &err) != 0 &&
			    err.status != 505)
				abort();
			mem_deref(m2);
		}
		buf_free(&out);
		mem_deref(m);
	}
	free(p);
	return 0;
}
