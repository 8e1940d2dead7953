/* Message framing on TCP/TLS byte streams: Content-Length, keep-alives, limits. */
#include <string.h>

#include "sip_priv.h"

/* Content-Length from the header block [p, end); -ENOENT when absent. */
static int stream_content_length(const char *base, const char *p, const char *end, uint64_t *out,
                                 struct sip_perr *err)
{
	bool found = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le, *n = p, *ne, *v;
		uint64_t val;

		le = nl ? nl : end;
		ne = skip_class(n, le, CC_TOKEN);
		v = ne;
		while (v < le && (*v == ' ' || *v == '\t'))
			v++;
		if (ne > n && v < le && *v == ':' &&
		    (slice_ieq_cstr((struct slice){n, (size_t)(ne - n)}, "Content-Length") ||
		     slice_ieq_cstr((struct slice){n, (size_t)(ne - n)}, "l"))) {
			/* The value may be folded onto continuation lines. */
			const char *ve = le;

			while (ve + 1 < end && (ve[1] == ' ' || ve[1] == '\t')) {
				const char *nl2 = memchr(ve + 1, '\n', (size_t)(end - ve - 1));

				ve = nl2 ? nl2 : end;
			}
			if (slice_to_u64(slice_trim((struct slice){v + 1, (size_t)(ve - v - 1)}),
			                 INT32_MAX, &val)) {
				if (err && !err->what)
					err->hname = (struct slice){n, (size_t)(ne - n)};
				return sip_fail(err, base, v + 1, "bad Content-Length", 400);
			}
			if (found && val != *out) {
				if (err && !err->what)
					err->hname = (struct slice){n, (size_t)(ne - n)};
				return sip_fail(err, base, n, "conflicting Content-Length headers",
				                400);
			}
			*out = val;
			found = true;
			le = ve;
		}
		p = le < end ? le + 1 : end;
	}
	return found ? 0 : -ENOENT;
}

int sip_stream_frame(const char *p, size_t len, const struct sip_limits *lim, size_t *skip,
                     size_t *msg_len, struct sip_perr *err)
{
	const char *end = p + len, *q = p, *hend = NULL, *body = NULL;
	size_t window;
	uint64_t cl = 0;
	int e;

	if (err)
		*err = (struct sip_perr){0};
	while (q < end && (*q == '\r' || *q == '\n'))
		q++;
	*skip = (size_t)(q - p);
	*msg_len = 0;
	if (q == end)
		return -ENODATA;

	/* Look for the blank line, but never further than the message limit. */
	window = (size_t)(end - q) < lim->max_msg_size ? (size_t)(end - q) : lim->max_msg_size;
	for (const char *s = q; s < q + window;) {
		const char *nl = memchr(s, '\n', (size_t)(q + window - s));

		if (!nl)
			break;
		if (nl + 1 < q + window && nl[1] == '\n') {
			hend = nl + 1;
			body = nl + 2;
			break;
		}
		if (nl + 2 < q + window && nl[1] == '\r' && nl[2] == '\n') {
			hend = nl + 1;
			body = nl + 3;
			break;
		}
		s = nl + 1;
	}
	if (!hend) {
		if ((size_t)(end - q) >= lim->max_msg_size) {
			sip_fail(err, p, q, "header block larger than the message limit", 513);
			return -E2BIG;
		}
		return -ENODATA;
	}
	e = stream_content_length(p, q, hend, &cl, err);
	if (e == -ENOENT)
		return sip_fail(err, p, q, "stream message without Content-Length", 400);
	if (e)
		return e;
	if ((size_t)(body - q) + cl > lim->max_msg_size) {
		sip_fail(err, p, q, "message larger than the limit", 513);
		return -E2BIG;
	}
	if ((size_t)(end - body) < cl)
		return -ENODATA;
	*msg_len = (size_t)(body - q) + (size_t)cl;
	return 0;
}
