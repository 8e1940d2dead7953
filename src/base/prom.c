/* prom: Prometheus text format 0.0.4 headers and samples, escaped and validated. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixedge/prom.h"

static bool is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool prom_name_valid(const char *name)
{
	if (!name || !(is_alpha_(name[0]) || name[0] == ':'))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!is_alpha_(*p) && !is_digit(*p) && *p != ':')
			return false;
	return true;
}

static bool label_name_valid(const char *name)
{
	if (!name || !is_alpha_(name[0]))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!is_alpha_(*p) && !is_digit(*p))
			return false;
	return true;
}

static bool type_valid(const char *type)
{
	static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};

	if (!type)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return false;
}

/* HELP escapes backslash and newline; label values also the double quote. */
static int append_escaped(struct buf *b, const char *s, bool quote)
{
	const char *run = s;
	const char *esc;
	int err;

	for (; *s; s++) {
		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (quote && *s == '"')
			esc = "\\\"";
		else
			continue;
		err = buf_append(b, run, (size_t)(s - run));
		if (!err)
			err = buf_append_cstr(b, esc);
		if (err)
			return err;
		run = s + 1;
	}
	return buf_append(b, run, (size_t)(s - run));
}

/*
 * Looks through the "# TYPE " lines already in b: whether name has one, and
 * whether the last one is name's.  Linear in the buffer, which is fine for an
 * exposition built once per scrape.
 */
static void find_type_lines(const struct buf *b, const char *name, bool *seen, bool *last)
{
	static const char tag[] = "# TYPE ";
	size_t nlen = strlen(name), off = 0;

	*seen = *last = false;
	while (off < b->len) {
		const char *line = b->p + off;
		const char *nl = memchr(line, '\n', b->len - off);
		size_t llen = nl ? (size_t)(nl - line) : b->len - off;

		if (llen > sizeof(tag) - 1 && memcmp(line, tag, sizeof(tag) - 1) == 0) {
			const char *n = line + sizeof(tag) - 1;
			size_t rest = llen - (sizeof(tag) - 1);

			*last = rest > nlen && memcmp(n, name, nlen) == 0 && n[nlen] == ' ';
			*seen = *seen || *last;
		}
		off += llen + 1;
	}
}

int prom_header(struct buf *b, const char *name, const char *type, const char *help)
{
	size_t mark = b->len;
	bool seen, last;
	int err = 0;

	if (!prom_name_valid(name) || !type_valid(type))
		return -EINVAL;
	find_type_lines(b, name, &seen, &last);
	if (last)
		return 0;
	if (seen)
		return -EEXIST;
	if (help) {
		err = buf_printf(b, "# HELP %s ", name);
		if (!err)
			err = append_escaped(b, help, false);
		if (!err)
			err = buf_append_cstr(b, "\n");
	}
	if (!err)
		err = buf_printf(b, "# TYPE %s %s\n", name, type);
	if (err) {
		b->len = mark;
		if (b->p)
			b->p[mark] = '\0';
	}
	return err;
}

/* The shortest of %.15g / %.17g that reads back as the same double. */
static void format_value(char *out, size_t cap, double v)
{
	if (isnan(v)) {
		snprintf(out, cap, "NaN");
	} else if (isinf(v)) {
		snprintf(out, cap, "%s", v > 0 ? "+Inf" : "-Inf");
	} else {
		snprintf(out, cap, "%.15g", v);
		if (strtod(out, NULL) != v)
			snprintf(out, cap, "%.17g", v);
	}
}

int prom_value(struct buf *b, const char *name, const struct prom_label *labels, size_t nlabels,
               double value)
{
	size_t mark = b->len;
	char num[40];
	int err;

	if (!prom_name_valid(name) || (nlabels && !labels))
		return -EINVAL;
	for (size_t i = 0; i < nlabels; i++) {
		if (!label_name_valid(labels[i].key) || !labels[i].value)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(labels[i].key, labels[j].key) == 0)
				return -EINVAL;
	}

	err = buf_append_cstr(b, name);
	for (size_t i = 0; i < nlabels && !err; i++) {
		err = buf_printf(b, "%s%s=\"", i ? "," : "{", labels[i].key);
		if (!err)
			err = append_escaped(b, labels[i].value, true);
		if (!err)
			err = buf_append_cstr(b, i + 1 == nlabels ? "\"}" : "\"");
	}
	format_value(num, sizeof(num), value);
	if (!err)
		err = buf_printf(b, " %s\n", num);
	if (err) {
		b->len = mark;
		if (b->p)
			b->p[mark] = '\0';
	}
	return err;
}

int prom_counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
	return prom_header(b, name, "counter", help) || prom_value(b, name, NULL, 0, (double)v);
}

int prom_gauge(struct buf *b, const char *name, const char *help, uint64_t v)
{
	return prom_header(b, name, "gauge", help) || prom_value(b, name, NULL, 0, (double)v);
}
