/* RFC 4475 / RFC 5118 conformance: runs every vector of tests/sip/vectors.tsv through the parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixedge/base.h"
#include "ixedge/sip.h"

#define VEC_DIR       IXEDGE_SOURCE_DIR "/tests/sip"
#define VEC_MANIFEST  VEC_DIR "/vectors.tsv"
#define VEC_MAX_FILE  (1u << 20)
#define VEC_MAX_LINES 1024u

/* Manifest columns, in file order (see the header of vectors.tsv). */
enum col {
	C_FILE,
	C_SECTION,
	C_VERDICT,
	C_RESPONSE,
	C_START,
	C_RUSER,
	C_RHOST,
	C_RPORT,
	C_CALLID,
	C_CSEQ,
	C_CMETHOD,
	C_VIAS,
	C_BRANCH,
	C_VHOST,
	C_VPORT,
	C_FTAG,
	C_TTAG,
	C_MF,
	C_CLEN,
	C_BLEN,
	C_COMMENT,
	C__COUNT
};

struct vec {
	const char *col[C__COUNT];
	char name[96]; /* file name without directory and .dat, for messages */
};

static char *manifest_text;
static struct vec *vecs;
static size_t nvecs;

/* Reads a whole file into an exact-size malloc'd buffer so that ASan sees any over-read. */
static int file_read(const char *path, char **out, size_t *outlen)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	char *data = NULL;
	size_t len = 0;
	int err = 0;

	if (!f)
		return -errno;
	for (;;) {
		size_t n = fread(chunk, 1, sizeof(chunk), f);
		char *grown;

		if (n == 0)
			break;
		if (len + n > VEC_MAX_FILE) {
			err = -E2BIG;
			break;
		}
		grown = realloc(data, len + n);
		if (!grown) {
			err = -ENOMEM;
			break;
		}
		data = grown;
		memcpy(data + len, chunk, n);
		len += n;
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (err) {
		free(data);
		return err;
	}
	*out = data;
	*outlen = len;
	return 0;
}

/* Splits the manifest in place: one struct vec per data line. */
static int manifest_load(void)
{
	size_t len = 0, cap = 0;
	char *p, *line;
	char *text = NULL;
	int err;

	err = file_read(VEC_MANIFEST, &text, &len);
	if (err)
		return err;
	manifest_text = realloc(text, len + 1);
	if (!manifest_text) {
		free(text);
		return -ENOMEM;
	}
	manifest_text[len] = '\0';

	for (p = manifest_text; p && *p && cap < VEC_MAX_LINES; p = line) {
		struct vec *v;
		const char *base;
		size_t i;
		char *nl = strchr(p, '\n');

		line = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		if (*p == '#' || *p == '\0' || strncmp(p, "file\t", 5) == 0)
			continue;

		v = realloc(vecs, (nvecs + 1) * sizeof(*vecs));
		if (!v)
			return -ENOMEM;
		vecs = v;
		v = &vecs[nvecs];
		memset(v, 0, sizeof(*v));
		for (i = 0; i < C__COUNT; i++) {
			char *tab = strchr(p, '\t');

			v->col[i] = p;
			if (i + 1 < C__COUNT) {
				if (!tab) {
					fprintf(stderr,
					        "vectors.tsv: line for %s has %zu columns\n",
					        v->col[0], i + 1);
					return -EBADMSG;
				}
				*tab = '\0';
				p = tab + 1;
			}
		}
		base = strrchr(v->col[C_FILE], '/');
		base = base ? base + 1 : v->col[C_FILE];
		snprintf(v->name, sizeof(v->name), "%.*s", (int)strcspn(base, "."), base);
		nvecs++;
		cap++;
	}
	return 0;
}

static bool is_skip(const char *want)
{
	return strcmp(want, "-") == 0;
}

static bool slice_is(struct slice s, const char *want)
{
	size_t n;

	if (strcmp(want, "~") == 0)
		return s.len == 0;
	n = strlen(want);
	return s.len == n && (n == 0 || memcmp(s.p, want, n) == 0);
}

static bool slice_is_ci(struct slice s, const char *want)
{
	size_t i, n = strlen(want);

	if (s.len != n)
		return false;
	for (i = 0; i < n; i++) {
		if (tolower((unsigned char)s.p[i]) != tolower((unsigned char)want[i]))
			return false;
	}
	return true;
}

/* The media type of a Content-Type/Accept value: up to ';', LWS trimmed. */
static struct slice media_type(struct slice v)
{
	const char *semi = slice_chr(v, ';');

	if (semi)
		v.len = (size_t)(semi - v.p);
	return slice_trim(v);
}

static int num(const char *s)
{
	return (int)strtol(s, NULL, 10);
}

/* One field mismatch: printed at once, counted, and the test fails at the end. */
static void mismatch(unsigned *bad, const struct vec *v, const char *field, struct slice got,
                     const char *want)
{
	print_error("%s: %s is '%.*s', expected '%s'\n", v->name, field, SLICE_ARG(got), want);
	(*bad)++;
}

static void mismatch_num(unsigned *bad, const struct vec *v, const char *field, long long got,
                         const char *want)
{
	print_error("%s: %s is %lld, expected %s\n", v->name, field, got, want);
	(*bad)++;
}

static void check_str(unsigned *bad, const struct vec *v, enum col c, const char *field,
                      struct slice got)
{
	if (!is_skip(v->col[c]) && !slice_is(got, v->col[c]))
		mismatch(bad, v, field, got, v->col[c]);
}

static void check_num(unsigned *bad, const struct vec *v, enum col c, const char *field,
                      long long got)
{
	if (!is_skip(v->col[c]) && got != strtoll(v->col[c], NULL, 10))
		mismatch_num(bad, v, field, got, v->col[c]);
}

/* A host written with ':' is an IPv6 reference and must be typed as one. */
static void check_host(unsigned *bad, const struct vec *v, enum col c, const char *field,
                       struct slice host, enum sip_host_type type)
{
	check_str(bad, v, c, field, host);
	if (!is_skip(v->col[c]) && strchr(v->col[c], ':') && type != SIP_HOST_IPV6)
		mismatch_num(bad, v, field, type, "SIP_HOST_IPV6");
}

static unsigned via_count(const struct sip_msg *msg, unsigned *bad, const struct vec *v)
{
	struct sip_hdr_iter it;
	struct slice val;
	unsigned n = 0;
	int err;

	sip_hdr_iter_init(&it, msg, SIP_HDR_VIA);
	while ((err = sip_hdr_iter_next(&it, &val)) == 0 && n < 10000)
		n++;
	if (err != -ENOENT) {
		print_error("%s: Via iteration ended with %d after %u values\n", v->name, err, n);
		(*bad)++;
	}
	return n;
}

static void check_fields(const struct sip_msg *msg, const struct vec *v, unsigned *bad)
{
	const char *start = v->col[C_START];

	if (!is_skip(start)) {
		if (isdigit((unsigned char)start[0])) {
			if (msg->req)
				mismatch(bad, v, "start line", msg->method, start);
			else if (msg->status != num(start))
				mismatch_num(bad, v, "status", msg->status, start);
		} else if (!msg->req) {
			mismatch_num(bad, v, "request (status)", msg->status, start);
		} else {
			check_str(bad, v, C_START, "method", msg->method);
		}
	}
	if (msg->req) {
		check_str(bad, v, C_RUSER, "Request-URI user", msg->ruri.user);
		check_host(bad, v, C_RHOST, "Request-URI host", msg->ruri.host,
		           msg->ruri.host_type);
		check_num(bad, v, C_RPORT, "Request-URI port", msg->ruri.port);
	}
	check_str(bad, v, C_CALLID, "Call-ID", msg->call_id);
	check_num(bad, v, C_CSEQ, "CSeq number", msg->cseq.num);
	check_str(bad, v, C_CMETHOD, "CSeq method", msg->cseq.method);
	if (!is_skip(v->col[C_VIAS]))
		check_num(bad, v, C_VIAS, "Via count", via_count(msg, bad, v));
	check_str(bad, v, C_BRANCH, "top Via branch", msg->via.branch);
	check_host(bad, v, C_VHOST, "top Via host", msg->via.host, msg->via.host_type);
	check_num(bad, v, C_VPORT, "top Via port", msg->via.port);
	check_str(bad, v, C_FTAG, "From tag", msg->from.tag);
	check_str(bad, v, C_TTAG, "To tag", msg->to.tag);
	check_num(bad, v, C_MF, "Max-Forwards", msg->max_forwards);
	check_num(bad, v, C_CLEN, "Content-Length", msg->content_length);
	check_num(bad, v, C_BLEN, "body length", (long long)msg->body.len);
}

static bool accept_has_sdp(const struct sip_msg *msg)
{
	struct sip_hdr_iter it;
	struct slice val;
	unsigned n = 0;

	sip_hdr_iter_init(&it, msg, SIP_HDR_ACCEPT);
	while (sip_hdr_iter_next(&it, &val) == 0 && n++ < 1000) {
		if (slice_is_ci(media_type(val), "application/sdp"))
			return true;
	}
	return false;
}

/*
 * Checks that the response the RFC asks for follows from what the parser
 * exposes.  msg may be the object a failed decode still returned.
 */
static void check_response(const struct sip_msg *msg, const struct vec *v, unsigned *bad)
{
	const char *r = v->col[C_RESPONSE];
	const char *why = NULL;
	int code;

	if (!isdigit((unsigned char)r[0]))
		return; /* "-" or "(NNN)": documentation only */
	if (!msg) {
		print_error("%s: no message object to answer %s from\n", v->name, r);
		(*bad)++;
		return;
	}
	code = num(r);
	switch (code) {
	case 400:
		if (!sip_msg_can_answer(msg))
			why = "sip_msg_can_answer() is false";
		break;
	case 406:
		if (!sip_msg_hdr(msg, SIP_HDR_ACCEPT))
			why = "no Accept header";
		else if (accept_has_sdp(msg))
			why = "Accept lists application/sdp";
		break;
	case 415:
		if (msg->body.len == 0 ||
		    slice_is_ci(media_type(msg->content_type), "application/sdp"))
			why = "body is empty or application/sdp";
		break;
	case 416:
		if (!msg->req || msg->ruri.scheme == SIP_SCHEME_SIP ||
		    msg->ruri.scheme == SIP_SCHEME_SIPS || msg->ruri.scheme == SIP_SCHEME_TEL)
			why = "Request-URI scheme is a supported one";
		break;
	case 420:
		if (!sip_msg_hdr(msg, SIP_HDR_REQUIRE) && !sip_msg_hdr(msg, SIP_HDR_PROXY_REQUIRE))
			why = "neither Require nor Proxy-Require found";
		break;
	case 483:
		if (msg->max_forwards != 0)
			why = "Max-Forwards is not 0";
		break;
	case 501:
		if (!msg->req || msg->mid != SIP_METHOD_OTHER)
			why = "method is known";
		break;
	case 505:
		if (slice_is(msg->version, "SIP/2.0"))
			why = "version is SIP/2.0";
		break;
	default:
		why = "no check defined for this code in test_sip_vectors.c";
		break;
	}
	if (why) {
		print_error("%s: RFC expects %s but %s\n", v->name, r, why);
		(*bad)++;
	}
}

/*
 * sip.h: a 400 can be built only for a request (not ACK) whose topmost Via,
 * Call-ID, CSeq, From and To are there to be copied.
 */
static void check_can_answer(const struct sip_msg *msg, const struct vec *v, unsigned *bad)
{
	static const enum sip_hdr_id need[] = {SIP_HDR_VIA, SIP_HDR_CALL_ID, SIP_HDR_CSEQ,
	                                       SIP_HDR_FROM, SIP_HDR_TO};
	size_t i;

	if (!msg || !sip_msg_can_answer(msg))
		return;
	if (!msg->req || msg->mid == SIP_METHOD_ACK) {
		print_error("%s: sip_msg_can_answer() is true for a response or ACK\n", v->name);
		(*bad)++;
	}
	for (i = 0; i < ARRAY_SIZE(need); i++) {
		if (!sip_msg_hdr(msg, need[i])) {
			print_error("%s: sip_msg_can_answer() is true but there is no %s header\n",
			            v->name, sip_hdr_name(need[i]));
			(*bad)++;
		}
	}
}

static void print_perr(const struct vec *v, const char *step, int rc, const struct sip_perr *err)
{
	print_error("%s: %s returned %d (%s) at offset %zu, header '%.*s': %s\n", v->name, step, rc,
	            rc ? strerror(-rc) : "ok", err->offset, SLICE_ARG(err->hname),
	            err->what ? err->what : "(no reason given)");
}

static void test_vector(void **state)
{
	const struct vec *v = *state;
	struct sip_limits lim;
	struct sip_perr derr, cerr;
	struct sip_msg *msg = NULL;
	char path[512];
	char *data = NULL;
	size_t len = 0;
	unsigned bad = 0;
	int drc, crc = -1, rc;
	bool want_valid = strcmp(v->col[C_VERDICT], "valid") == 0;

	snprintf(path, sizeof(path), "%s/%s", VEC_DIR, v->col[C_FILE]);
	rc = file_read(path, &data, &len);
	if (rc)
		fail_msg("%s: cannot read %s: %s", v->name, path, strerror(-rc));

	sip_limits_default(&lim);
	memset(&derr, 0, sizeof(derr));
	memset(&cerr, 0, sizeof(cerr));
	drc = sip_msg_decode(&msg, data, len, NULL, &lim, &derr);
	if (drc == 0) {
		assert_non_null(msg);
		crc = sip_msg_check(msg, &cerr);
	}

	if (want_valid) {
		if (drc != 0) {
			print_perr(v, "sip_msg_decode", drc, &derr);
			bad++;
		} else if (crc != 0) {
			print_perr(v, "sip_msg_check", crc, &cerr);
			bad++;
		} else {
			check_fields(msg, v, &bad);
		}
	} else if (drc == 0 && crc == 0) {
		print_error("%s: parser accepts a message the RFC calls invalid (%s)\n", v->name,
		            v->col[C_COMMENT]);
		bad++;
	}
	check_response(msg, v, &bad);
	check_can_answer(msg, v, &bad);
	if (bad && !want_valid) {
		/* context for the response checks above */
		if (drc != 0)
			print_perr(v, "sip_msg_decode", drc, &derr);
		else if (crc != 0)
			print_perr(v, "sip_msg_check", crc, &cerr);
	}

	msg = mem_deref(msg);
	free(data);
	if (bad)
		fail_msg("%s (RFC %s, %s): %u problem(s), see above", v->name, v->col[C_SECTION],
		         v->col[C_VERDICT], bad);
}

static unsigned count_section(const char *prefix)
{
	size_t i, n = strlen(prefix);
	unsigned count = 0;

	for (i = 0; i < nvecs; i++) {
		const char *s = vecs[i].col[C_SECTION];

		if (strncmp(s, prefix, n) == 0 && (s[n] == '.' || s[n] == '\0'))
			count++;
	}
	return count;
}

static bool in_manifest(const char *subdir, const char *fname)
{
	char want[256];
	size_t i;

	snprintf(want, sizeof(want), "%s/%s", subdir, fname);
	for (i = 0; i < nvecs; i++) {
		if (strcmp(vecs[i].col[C_FILE], want) == 0)
			return true;
	}
	return false;
}

/* Every .dat on disk is in the manifest: a vector cannot silently drop out. */
static unsigned dir_unlisted(const char *subdir)
{
	char path[512];
	struct dirent *de;
	unsigned unlisted = 0, seen = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", VEC_DIR, subdir);
	d = opendir(path);
	if (!d) {
		print_error("cannot open %s\n", path);
		return 1;
	}
	while ((de = readdir(d)) != NULL && seen++ < 10000) {
		size_t n = strlen(de->d_name);

		if (n > 4 && strcmp(de->d_name + n - 4, ".dat") == 0 &&
		    !in_manifest(subdir, de->d_name)) {
			print_error("%s/%s is not in vectors.tsv\n", subdir, de->d_name);
			unlisted++;
		}
	}
	closedir(d);
	return unlisted;
}

/* The counts RFC 4475 and RFC 5118 themselves state. */
static void test_manifest_complete(void **state)
{
	size_t i, j;

	(void)state;
	assert_int_equal(count_section("3.1.1"), 13);
	assert_int_equal(count_section("3.1.2"), 19);
	assert_int_equal(count_section("3.2"), 1);
	assert_int_equal(count_section("3.3"), 15);
	assert_int_equal(count_section("3.4"), 1);
	assert_int_equal(count_section("3"), 49);
	assert_int_equal(count_section("4"), 12);
	assert_int_equal(nvecs, 61);
	for (i = 0; i < nvecs; i++) {
		const char *verdict = vecs[i].col[C_VERDICT];

		assert_true(strcmp(verdict, "valid") == 0 || strcmp(verdict, "invalid") == 0);
		for (j = i + 1; j < nvecs; j++)
			assert_string_not_equal(vecs[i].col[C_FILE], vecs[j].col[C_FILE]);
	}
	assert_int_equal(dir_unlisted("rfc4475"), 0);
	assert_int_equal(dir_unlisted("rfc5118"), 0);
}

int main(void)
{
	struct CMUnitTest *tests;
	size_t i;
	int rc;

	rc = manifest_load();
	if (rc) {
		fprintf(stderr, "cannot load %s: %s\n", VEC_MANIFEST, strerror(-rc));
		free(vecs);
		free(manifest_text);
		return 1;
	}
	tests = calloc(nvecs + 1, sizeof(*tests));
	if (!tests) {
		free(vecs);
		free(manifest_text);
		return 1;
	}
	tests[0].name = "manifest_complete";
	tests[0].test_func = test_manifest_complete;
	for (i = 0; i < nvecs; i++) {
		tests[i + 1].name = vecs[i].name;
		tests[i + 1].test_func = test_vector;
		tests[i + 1].initial_state = &vecs[i];
	}
	rc = _cmocka_run_group_tests("sip_vectors", tests, nvecs + 1, NULL, NULL);
	free(tests);
	free(vecs);
	free(manifest_text);
	return rc;
}
