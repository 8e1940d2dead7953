/* libFuzzer target: URI, name-addr, Via, CSeq and auth value parsers on raw bytes. */
#include <stdlib.h>
#include <string.h>

#include "ixedge/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1), out[256];
	struct slice s = {p, size}, rest, n, v;
	struct sip_perr err = {0};
	struct sip_uri uri;
	struct sip_addr addr;
	struct sip_via via;
	struct sip_cseq cseq;
	struct sip_auth auth;

	memcpy(p, data, size);
	if (sip_uri_decode(&uri, s, &err) == 0) {
		rest = uri.params;
		while (sip_param_next(&rest, &n, &v) == 0)
			(void)sip_unescape(v, out, sizeof(out));
		(void)sip_param_get(uri.params, "transport", &v);
		(void)sip_unescape(uri.user, out, sizeof(out));
	}
	if (err.what && err.offset > size)
		abort();
	if (sip_addr_decode(&addr, s, NULL) == 0 && addr.dname_quoted)
		(void)sip_unquote(addr.dname, out, sizeof(out));
	(void)sip_via_decode(&via, s, NULL);
	(void)sip_cseq_decode(&cseq, s, NULL);
	(void)sip_auth_decode(&auth, s, NULL);
	rest = s;
	for (unsigned i = 0; i < 4096 && sip_list_next(&rest, &v) == 0; i++)
		;
	free(p);
	return 0;
}
