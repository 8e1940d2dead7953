/* libFuzzer target: TCP stream framing, then decoding of every frame it cuts. */
#include <stdlib.h>
#include <string.h>

#include "ixedge/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_limits lim;
	char *p = malloc(size ? size : 1);
	size_t off = 0;

	memcpy(p, data, size);
	sip_limits_default(&lim);
	lim.max_msg_size = 4096; /* small, so the limit paths are reached too */
	while (off < size) {
		size_t skip, len;
		struct sip_perr err;
		struct sip_msg *m = NULL;
		int e = sip_stream_frame(p + off, size - off, &lim, &skip, &len, &err);

		if (skip > size - off)
			abort();
		if (e) {
			break;
		}
		if (len == 0 || skip + len > size - off)
			abort(); /* a frame must be non-empty and inside the input */
		(void)sip_msg_decode(&m, p + off + skip, len, NULL, &lim, &err);
		mem_deref(m);
		off += skip + len;
	}
	free(p);
	return 0;
}
