/* ixctl helpers shared by commands: bounded input reading, UTF-8-safe JSON, usage errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_cmd_usage(FILE *f, const struct cli_ctx *ctx, const struct cli_cmd *cmd)
{
	fprintf(f, "usage: %s [GLOBAL OPTIONS] %s%s%s %s\n", ctx->prog, cmd->group,
	        cmd->name ? " " : "", cmd->name ? cmd->name : "", cmd->args);
}

int cli_usage_error(const struct cli_ctx *ctx, const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s%s%s: ", ctx->prog, cmd->group, cmd->name ? " " : "",
	        cmd->name ? cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_cmd_usage(stderr, ctx, cmd);
	return CLI_EXIT_USAGE;
}

/* Read chunk: large enough that a 16 MiB input takes few syscalls. */
#define READ_CHUNK (256u * 1024u)

int cli_input_read(const char *path, size_t cap, struct buf *out)
{
	bool is_stdin = !path || strcmp(path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	/* Stops after cap + 1 bytes at most, whatever the source. */
	while (out->len <= cap) {
		size_t want = cap + 1 - out->len;
		ssize_t n;

		if (want > READ_CHUNK)
			want = READ_CHUNK;
		err = buf_reserve(out, want);
		if (err)
			break;
		n = read(fd, out->p + out->len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
	}
	if (!err && out->len > cap)
		err = -E2BIG;
	if (!is_stdin)
		close(fd);
	return err;
}

static bool is_cont(unsigned char c)
{
	return (c & 0xC0u) == 0x80u;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if p[0] starts none. */
static size_t utf8_seq_len(const unsigned char *p, size_t len)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
	size_t n;

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0; /* continuation byte, or an overlong 2-byte lead */
	if (c < 0xE0) {
		n = 2;
	} else if (c < 0xF0) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* UTF-16 surrogates */
	} else if (c < 0xF5) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (len < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (!is_cont(p[i]))
			return 0;
	}
	return n;
}

static bool utf8_valid(struct slice s)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t i = 0;

	while (i < s.len) {
		size_t n = utf8_seq_len(p + i, s.len - i);

		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* Copies s into out with each byte that starts no valid sequence as U+FFFD. */
static int utf8_repair(struct slice s, struct buf *out)
{
	static const char replacement[] = "\xEF\xBF\xBD";
	const unsigned char *p = (const unsigned char *)s.p;
	size_t i = 0;
	int err = 0;

	while (i < s.len && !err) {
		size_t n = utf8_seq_len(p + i, s.len - i);

		if (n) {
			err = buf_append(out, s.p + i, n);
			i += n;
		} else {
			err = buf_append(out, replacement, sizeof(replacement) - 1);
			i++;
		}
	}
	return err;
}

json_t *cli_json_str(struct slice s)
{
	struct buf b = {0};
	json_t *j;

	if (!s.len)
		return json_string("");
	if (utf8_valid(s))
		return json_stringn_nocheck(s.p, s.len);
	if (utf8_repair(s, &b)) {
		buf_free(&b);
		return NULL;
	}
	j = json_stringn_nocheck(b.p, b.len);
	buf_free(&b);
	return j;
}

json_t *cli_json_str_or_null(struct slice s)
{
	return s.len ? cli_json_str(s) : json_null();
}

int cli_json_set_slice(json_t *obj, struct slice key, json_t *v)
{
	struct buf b = {0};
	struct slice k = key;
	int err = 0;

	if (!v)
		return -ENOMEM;
	if (!utf8_valid(key)) {
		err = utf8_repair(key, &b);
		k = buf_slice(&b);
	}
	if (!err && json_object_getn(obj, k.p ? k.p : "", k.len)) {
		json_decref(v);
	} else if (!err) {
		/* setn_new consumes v even when it fails. */
		err = json_object_setn_new_nocheck(obj, k.p ? k.p : "", k.len, v) ? -ENOMEM : 0;
	} else {
		json_decref(v);
	}
	buf_free(&b);
	return err;
}

void cli_fput_safe(FILE *f, struct slice s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (c >= 0x20 && c < 0x7F && c != '\\')
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}
