/* `ixctl sip parse`: decode one SIP message with the edge's own parser and print it as JSON. */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "ixedge/sip.h"

/*
 * Read cap: far above any SIP limit, so an oversized message is reported by
 * its real size instead of being cut, yet an endless input (a device, a
 * runaway pipe) cannot exhaust memory.
 */
#define SIP_PARSE_INPUT_CAP (16u * 1024u * 1024u)

/* What the "parsed" member of a header holds; list headers hold an array of them. */
enum hkind {
	HK_RAW = 0, /* no "parsed": value (and "values" for list headers) only */
	HK_VIA,
	HK_ADDR,
	HK_CSEQ,
	HK_NUMBER,
	HK_STRING,
	HK_AUTH,
};

static const unsigned char hkind_of[SIP_HDR__COUNT] = {
    [SIP_HDR_VIA] = HK_VIA,
    [SIP_HDR_FROM] = HK_ADDR,
    [SIP_HDR_TO] = HK_ADDR,
    [SIP_HDR_CONTACT] = HK_ADDR,
    [SIP_HDR_ROUTE] = HK_ADDR,
    [SIP_HDR_RECORD_ROUTE] = HK_ADDR,
    [SIP_HDR_PATH] = HK_ADDR,
    [SIP_HDR_P_ASSERTED_IDENTITY] = HK_ADDR,
    [SIP_HDR_REFER_TO] = HK_ADDR,
    [SIP_HDR_REFERRED_BY] = HK_ADDR,
    [SIP_HDR_REPLY_TO] = HK_ADDR,
    [SIP_HDR_CSEQ] = HK_CSEQ,
    [SIP_HDR_MAX_FORWARDS] = HK_NUMBER,
    [SIP_HDR_CONTENT_LENGTH] = HK_NUMBER,
    [SIP_HDR_CALL_ID] = HK_STRING,
    [SIP_HDR_AUTHORIZATION] = HK_AUTH,
    [SIP_HDR_PROXY_AUTHORIZATION] = HK_AUTH,
    [SIP_HDR_WWW_AUTHENTICATE] = HK_AUTH,
    [SIP_HDR_PROXY_AUTHENTICATE] = HK_AUTH,
};

/* The message being printed, and where a failure is reported. */
struct pctx {
	const struct sip_msg *msg;
	const struct sip_hdr *hdr; /* header being printed, NULL for the start line */
	struct sip_perr *err;
};

/*
 * The value decoders report offsets into the slice they were given; make
 * them message offsets and name the header, so every error reads the same.
 */
static int fail_at(struct pctx *pc, struct slice s, int rc)
{
	size_t base = s.p ? (size_t)(s.p - pc->msg->raw.p) : 0;

	pc->err->offset += base;
	if (!pc->err->hname.len && pc->hdr)
		pc->err->hname = pc->hdr->name;
	if (!pc->err->what)
		pc->err->what = "malformed value";
	return rc == -ENOMEM ? rc : -EBADMSG;
}

static int fail_here(struct pctx *pc, struct slice s, const char *what)
{
	*pc->err = (struct sip_perr){.what = what};
	return fail_at(pc, s, -EBADMSG);
}

/* 0, or -ENOMEM when any of the json_object_set_new() calls OR-ed into bad failed. */
static int set_status(int bad)
{
	return bad ? -ENOMEM : 0;
}

static json_t *port_json(uint16_t port)
{
	return port ? json_integer(port) : json_null();
}

static json_t *host_type_json(enum sip_host_type t)
{
	switch (t) {
	case SIP_HOST_NAME:
		return json_string("name");
	case SIP_HOST_IPV4:
		return json_string("ipv4");
	case SIP_HOST_IPV6:
		return json_string("ipv6");
	case SIP_HOST_NONE:
		break;
	}
	return json_null();
}

/* ";a=b;lr" -> {"a":"b","lr":null}.  Values as written (quotes, %-escapes kept). */
static int params_json(struct pctx *pc, struct slice params, json_t **out)
{
	json_t *o = json_object();
	struct slice rest = params, name, val;
	int rc = -ENOENT;

	if (!o)
		return -ENOMEM;
	/* Absent lists are often {NULL, 0}: nothing to iterate. */
	if (!params.len) {
		*out = o;
		return 0;
	}
	/* Each parameter consumes at least one byte; the bound catches a stuck iterator. */
	for (size_t n = 0; n <= params.len; n++) {
		struct slice at = rest;

		rc = sip_param_next(&rest, &name, &val);
		if (rc == -ENOENT)
			break;
		if (rc) {
			rc = fail_here(pc, at, "malformed parameter");
			break;
		}
		rc = cli_json_set_slice(o, name, cli_json_str_or_null(val));
		if (rc)
			break;
	}
	if (rc == 0)
		rc = fail_here(pc, rest, "parameter list does not advance");
	if (rc != -ENOENT) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* URI headers "?a=b&c" -> {"a":"b","c":null}; the parser leaves them raw. */
static int uri_headers_json(struct slice h, json_t **out)
{
	json_t *o = json_object();
	struct slice rest = h;
	int rc = 0;

	if (!o)
		return -ENOMEM;
	while (rest.len && !rc) {
		const char *amp = slice_chr(rest, '&');
		struct slice elem = {rest.p, amp ? (size_t)(amp - rest.p) : rest.len};
		const char *eq = slice_chr(elem, '=');
		struct slice name = {elem.p, eq ? (size_t)(eq - elem.p) : elem.len};
		struct slice val =
		    eq ? (struct slice){eq + 1, elem.len - name.len - 1} : SLICE_NULL;

		rest.p += elem.len + (amp ? 1 : 0);
		rest.len -= elem.len + (amp ? 1 : 0);
		if (elem.len)
			rc = cli_json_set_slice(o, name,
			                        eq ? cli_json_str(val) : cli_json_str_or_null(val));
	}
	if (rc) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

static int uri_json(struct pctx *pc, const struct sip_uri *u, json_t **out)
{
	json_t *o = json_object(), *params = NULL, *headers = NULL;
	int bad = 0, rc;

	if (!o)
		return -ENOMEM;
	rc = params_json(pc, u->params, &params);
	if (!rc)
		rc = uri_headers_json(u->headers, &headers);
	if (rc) {
		json_decref(params);
		json_decref(o);
		return rc;
	}
	bad |= json_object_set_new(o, "raw", cli_json_str(u->raw));
	bad |= json_object_set_new(o, "scheme", cli_json_str(u->scheme_raw));
	if (u->scheme == SIP_SCHEME_OTHER)
		bad |= json_object_set_new(o, "opaque", cli_json_str(u->opaque));
	bad |= json_object_set_new(o, "user", cli_json_str_or_null(u->user));
	if (u->has_password)
		bad |= json_object_set_new(o, "password", cli_json_str(u->password));
	bad |= json_object_set_new(o, "host", cli_json_str_or_null(u->host));
	bad |= json_object_set_new(o, "host_type", host_type_json(u->host_type));
	bad |= json_object_set_new(o, "port", port_json(u->port));
	bad |= json_object_set_new(o, "params", params);
	bad |= json_object_set_new(o, "headers", headers);
	*out = o;
	return set_status(bad);
}

static int addr_json(struct pctx *pc, struct slice v, json_t **out)
{
	struct sip_addr a;
	json_t *o, *uri = NULL, *params = NULL;
	int bad = 0, rc;

	rc = sip_addr_decode(&a, v, pc->err);
	if (rc)
		return fail_at(pc, v, rc);
	o = json_object();
	if (!o)
		return -ENOMEM;
	*out = o;
	if (a.wildcard)
		return set_status(json_object_set_new(o, "wildcard", json_true()));
	rc = uri_json(pc, &a.uri, &uri);
	if (!rc)
		rc = params_json(pc, a.params, &params);
	if (rc) {
		json_decref(uri);
		return rc; /* o is released by the caller through *out */
	}
	bad |= json_object_set_new(o, "display_name", cli_json_str_or_null(a.dname));
	bad |= json_object_set_new(o, "uri", uri);
	bad |= json_object_set_new(o, "tag", cli_json_str_or_null(a.tag));
	bad |= json_object_set_new(o, "params", params);
	return set_status(bad);
}

static int via_json(struct pctx *pc, struct slice v, json_t **out)
{
	struct sip_via via;
	json_t *o, *params = NULL, *rport;
	int bad = 0, rc;

	rc = sip_via_decode(&via, v, pc->err);
	if (rc)
		return fail_at(pc, v, rc);
	rc = params_json(pc, via.params, &params);
	if (rc)
		return rc;
	o = json_object();
	if (!o) {
		json_decref(params);
		return -ENOMEM;
	}
	*out = o;
	/* rport: absent -> null, ";rport" -> true, ";rport=N" -> N. */
	if (!via.rport)
		rport = json_null();
	else if (via.rport_val)
		rport = json_integer(via.rport_val);
	else
		rport = json_true();
	bad |= json_object_set_new(o, "protocol", cli_json_str(via.proto));
	bad |= json_object_set_new(o, "transport", cli_json_str(via.transport));
	bad |= json_object_set_new(o, "host", cli_json_str(via.host));
	bad |= json_object_set_new(o, "host_type", host_type_json(via.host_type));
	bad |= json_object_set_new(o, "port", port_json(via.port));
	bad |= json_object_set_new(o, "branch", cli_json_str_or_null(via.branch));
	bad |= json_object_set_new(o, "branch_rfc3261", json_boolean(sip_via_branch_is_3261(&via)));
	bad |= json_object_set_new(o, "received", cli_json_str_or_null(via.received));
	bad |= json_object_set_new(o, "rport", rport);
	bad |= json_object_set_new(o, "maddr", cli_json_str_or_null(via.maddr));
	bad |= json_object_set_new(o, "ttl", via.ttl >= 0 ? json_integer(via.ttl) : json_null());
	bad |= json_object_set_new(o, "params", params);
	return set_status(bad);
}

static int cseq_json(struct pctx *pc, struct slice v, json_t **out)
{
	struct sip_cseq cs;
	json_t *o;
	int bad = 0, rc;

	rc = sip_cseq_decode(&cs, v, pc->err);
	if (rc)
		return fail_at(pc, v, rc);
	o = json_object();
	if (!o)
		return -ENOMEM;
	*out = o;
	bad |= json_object_set_new(o, "number", json_integer(cs.num));
	bad |= json_object_set_new(o, "method", cli_json_str(cs.method));
	return set_status(bad);
}

static int number_json(struct pctx *pc, struct slice v, json_t **out)
{
	uint64_t n;

	/* The parser bounds these well below this; the cap keeps json_int_t exact. */
	if (slice_to_u64(v, UINT32_MAX, &n))
		return fail_here(pc, v, "expected a decimal number");
	*out = json_integer((json_int_t)n);
	return *out ? 0 : -ENOMEM;
}

static int string_json(struct pctx *pc, struct slice v, json_t **out)
{
	*out = cli_json_str(v);
	return *out ? 0 : -ENOMEM;
}

static int auth_json(struct pctx *pc, struct slice v, json_t **out)
{
	struct sip_auth a;
	json_t *o;
	int bad = 0, rc;

	rc = sip_auth_decode(&a, v, pc->err);
	if (rc)
		return fail_at(pc, v, rc);
	o = json_object();
	if (!o)
		return -ENOMEM;
	*out = o;
	bad |= json_object_set_new(o, "scheme", cli_json_str(a.scheme));
	bad |= json_object_set_new(o, "username", cli_json_str_or_null(a.username));
	bad |= json_object_set_new(o, "realm", cli_json_str_or_null(a.realm));
	bad |= json_object_set_new(o, "nonce", cli_json_str_or_null(a.nonce));
	bad |= json_object_set_new(o, "uri", cli_json_str_or_null(a.uri));
	bad |= json_object_set_new(o, "response", cli_json_str_or_null(a.response));
	bad |= json_object_set_new(o, "algorithm", cli_json_str_or_null(a.algorithm));
	bad |= json_object_set_new(o, "qop", cli_json_str_or_null(a.qop));
	bad |= json_object_set_new(o, "nc", cli_json_str_or_null(a.nc));
	bad |= json_object_set_new(o, "cnonce", cli_json_str_or_null(a.cnonce));
	bad |= json_object_set_new(o, "opaque", cli_json_str_or_null(a.opaque));
	bad |= json_object_set_new(o, "stale", json_boolean(a.stale));
	return set_status(bad);
}

typedef int(value_json_h)(struct pctx *pc, struct slice v, json_t **out);

static value_json_h *const value_json[] = {
    [HK_VIA] = via_json,       [HK_ADDR] = addr_json,     [HK_CSEQ] = cseq_json,
    [HK_NUMBER] = number_json, [HK_STRING] = string_json, [HK_AUTH] = auth_json,
};

/* One element of a value: parsed into *out (NULL for HK_RAW); *out is owned by the caller. */
static int element_json(struct pctx *pc, enum hkind kind, struct slice v, json_t **out)
{
	*out = NULL;
	/* Fresh error: the decoders only fill it in when they fail. */
	*pc->err = (struct sip_perr){0};
	return kind == HK_RAW ? 0 : value_json[kind](pc, v, out);
}

/*
 * A list header line: "values" holds its comma-separated elements as
 * written, and "parsed" (for known kinds) one object per element.
 */
static int list_json(struct pctx *pc, json_t *o, enum hkind kind)
{
	json_t *values = json_array(), *parsed = kind != HK_RAW ? json_array() : NULL;
	struct slice rest = pc->hdr->value, elem;
	int rc = 0, bad = 0;
	size_t n;

	if (!values || (kind != HK_RAW && !parsed)) {
		rc = -ENOMEM;
		goto out;
	}
	/* An empty value may be {NULL, 0}: nothing to split. */
	for (n = 0; rest.len && n <= pc->hdr->value.len; n++) {
		struct slice at = rest;
		json_t *p = NULL;

		rc = sip_list_next(&rest, &elem);
		if (rc == -ENOENT) {
			rc = 0;
			break;
		}
		if (rc) {
			rc = fail_here(pc, at, "empty element or unclosed quote in list");
			goto out;
		}
		bad |= json_array_append_new(values, cli_json_str(elem));
		rc = element_json(pc, kind, elem, &p);
		if (p)
			bad |= json_array_append_new(parsed, p);
		if (rc)
			goto out;
	}
	if (n > pc->hdr->value.len) {
		rc = fail_here(pc, rest, "list does not advance");
		goto out;
	}
	/* An empty value of a parsed header: let the decoder say what it thinks of it. */
	if (kind != HK_RAW && json_array_size(parsed) == 0) {
		json_t *p = NULL;

		rc = element_json(pc, kind, pc->hdr->value, &p);
		if (p)
			bad |= json_array_append_new(parsed, p);
		if (rc)
			goto out;
	}
	bad |= json_object_set_new(o, "values", values);
	values = NULL;
	if (parsed) {
		bad |= json_object_set_new(o, "parsed", parsed);
		parsed = NULL;
	}
	rc = set_status(bad);
out:
	json_decref(values);
	json_decref(parsed);
	return rc;
}

static int header_json(struct pctx *pc, json_t **out)
{
	const struct sip_hdr *h = pc->hdr;
	enum hkind kind = h->id < SIP_HDR__COUNT ? (enum hkind)hkind_of[h->id] : HK_RAW;
	const char *canon = sip_hdr_name(h->id);
	json_t *o = json_object(), *p = NULL;
	int bad = 0, rc;

	if (!o)
		return -ENOMEM;
	*out = o;
	bad |= json_object_set_new(o, "name", cli_json_str(h->name));
	bad |= json_object_set_new(o, "id", canon ? json_string(canon) : json_null());
	bad |= json_object_set_new(o, "offset", json_integer(h->offset));
	bad |= json_object_set_new(o, "value", cli_json_str(h->value));
	if (bad)
		return -ENOMEM;
	if (sip_hdr_flags(h->id) & SIP_HF_LIST)
		return list_json(pc, o, kind);
	rc = element_json(pc, kind, h->value, &p);
	if (p)
		bad |= json_object_set_new(o, "parsed", p);
	return rc ? rc : set_status(bad);
}

static int msg_json(const struct sip_msg *msg, struct sip_perr *err, json_t **out)
{
	struct pctx pc = {.msg = msg, .err = err};
	json_t *o = json_object(), *hdrs = json_array(), *ruri = NULL;
	int bad = 0, rc = 0;

	if (!o || !hdrs) {
		rc = -ENOMEM;
		goto out;
	}
	if (msg->req) {
		rc = uri_json(&pc, &msg->ruri, &ruri);
		if (rc)
			goto out;
		bad |= json_object_set_new(o, "type", json_string("request"));
		bad |= json_object_set_new(o, "method", cli_json_str(msg->method));
		bad |= json_object_set_new(o, "request_uri", ruri);
		bad |= json_object_set_new(o, "version", cli_json_str(msg->version));
	} else {
		bad |= json_object_set_new(o, "type", json_string("response"));
		bad |= json_object_set_new(o, "version", cli_json_str(msg->version));
		bad |= json_object_set_new(o, "status", json_integer(msg->status));
		bad |= json_object_set_new(o, "reason", cli_json_str(msg->reason));
	}
	for (uint32_t i = 0; i < msg->nhdr && !rc; i++) {
		json_t *h = NULL;

		pc.hdr = &msg->hdr[i];
		rc = header_json(&pc, &h);
		if (h)
			bad |= json_array_append_new(hdrs, h);
	}
	if (rc)
		goto out;
	bad |= json_object_set_new(o, "headers", hdrs);
	hdrs = NULL;
	bad |= json_object_set_new(o, "body_length", json_integer((json_int_t)msg->body.len));
	rc = set_status(bad);
out:
	json_decref(hdrs);
	if (rc)
		json_decref(o);
	else
		*out = o;
	return rc;
}

static void perr_print(const struct cli_ctx *ctx, int rc, const struct sip_perr *err)
{
	const char *what = err->what;

	if (!what)
		what = rc == -E2BIG     ? "a parser limit was exceeded"
		       : rc == -EBADMSG ? "malformed message"
		                        : strerror(-rc);
	fprintf(stderr, "%s: sip parse: %s at offset %zu", ctx->prog, what, err->offset);
	if (err->hname.len) {
		fputs(" (header ", stderr);
		cli_fput_safe(stderr, err->hname);
		fputc(')', stderr);
	}
	fputc('\n', stderr);
}

static int sip_parse_run(const struct cli_ctx *ctx, const struct cli_cmd *cmd, int argc,
                         char **argv)
{
	static const struct option opts[] = {
	    {"compact", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sip_perr perr = {0};
	struct sip_limits lim;
	struct sip_msg *msg = NULL;
	struct buf in = {0};
	json_t *root = NULL;
	size_t flags = JSON_INDENT(2);
	const char *path = "-";
	int opt, rc, status = CLI_EXIT_FAIL;

	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt == 'C') {
			flags = JSON_COMPACT;
		} else if (opt == 'h') {
			cli_cmd_usage(stdout, ctx, cmd);
			fputs(cmd->help, stdout);
			return CLI_EXIT_OK;
		} else if (optopt) {
			return cli_usage_error(ctx, cmd, "unknown option '-%c'", optopt);
		} else {
			return cli_usage_error(ctx, cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(ctx, cmd, "too many arguments");
	if (optind < argc)
		path = argv[optind];

	rc = cli_input_read(path, SIP_PARSE_INPUT_CAP, &in);
	if (rc == -E2BIG) {
		fprintf(stderr, "%s: sip parse: input too large (more than %u bytes)\n", ctx->prog,
		        SIP_PARSE_INPUT_CAP);
		goto out;
	} else if (rc == -ENOMEM) {
		fprintf(stderr, "%s: sip parse: out of memory reading the input\n", ctx->prog);
		goto out;
	} else if (rc) {
		status = cli_usage_error(ctx, cmd, "cannot read '%s': %s", path, strerror(-rc));
		goto out;
	}
	if (in.len == 0) {
		fprintf(stderr, "%s: sip parse: empty input, expected one SIP message\n",
		        ctx->prog);
		goto out;
	}
	sip_limits_default(&lim);
	/* Checked here too so the user sees both sizes, not just a limit name. */
	if (in.len > lim.max_msg_size) {
		fprintf(stderr, "%s: sip parse: message too large (%zu bytes, limit %zu)\n",
		        ctx->prog, in.len, lim.max_msg_size);
		goto out;
	}

	rc = sip_msg_decode(&msg, in.p, in.len, NULL, &lim, &perr);
	if (!rc)
		rc = sip_msg_check(msg, &perr);
	if (!rc)
		rc = msg_json(msg, &perr, &root);
	if (rc == -ENOMEM) {
		fprintf(stderr, "%s: sip parse: out of memory\n", ctx->prog);
		goto out;
	}
	if (rc) {
		perr_print(ctx, rc, &perr);
		goto out;
	}
	if (json_dumpf(root, stdout, flags) || fputc('\n', stdout) == EOF || fflush(stdout)) {
		fprintf(stderr, "%s: sip parse: cannot write the output: %s\n", ctx->prog,
		        strerror(errno));
		goto out;
	}
	status = CLI_EXIT_OK;
out:
	json_decref(root);
	mem_deref(msg);
	buf_free(&in);
	return status;
}

const struct cli_cmd cli_cmd_sip_parse = {
    .group = "sip",
    .name = "parse",
    .args = "[--compact] [FILE|-]",
    .summary = "parse one SIP message and print it as JSON",
    .help = "Reads one whole SIP message from FILE, or from standard input when FILE is\n"
            "'-' or absent, parses it with the edge's parser under the default limits\n"
            "(sip_msg_decode + sip_msg_check) and prints the start line, every header with\n"
            "its parsed fields, and the body length as JSON (indented; one line with\n"
            "--compact).  Bytes that are not valid UTF-8 are shown as U+FFFD.\n"
            "\n"
            "Exit status:\n"
            "  0  the message is well-formed; JSON on stdout\n"
            "  1  malformed, empty or too large: 'ixctl: sip parse: WHAT at offset N\n"
            "     (header NAME)' on stderr, nothing on stdout\n"
            "  2  usage error (unknown option, too many arguments, unreadable file)\n",
    .run = sip_parse_run,
};
