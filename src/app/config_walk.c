/* Config schema walk: typed access to libyaml nodes, with the key path and position for errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/config_val.h"
#include "app/config_walk.h"

__attribute__((format(printf, 3, 0))) static int
walk_failv(struct config_walk *c, const yaml_mark_t *m, const char *fmt, va_list ap)
{
	int n;

	if (!c->err || c->errlen == 0)
		return -EINVAL;
	n = snprintf(c->err, c->errlen, "%s:%zu:%zu: %s%s", c->file, m->line + 1, m->column + 1,
	             c->path, c->plen ? ": " : "");
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	return -EINVAL;
}

int config_walk_fail(struct config_walk *c, const yaml_node_t *n, const char *fmt, ...)
{
	static const yaml_mark_t start = {0, 0, 0};
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = walk_failv(c, n ? &n->start_mark : &start, fmt, ap);
	va_end(ap);
	return rc;
}

size_t config_walk_key(struct config_walk *c, const char *key)
{
	size_t old = c->plen;
	int n = snprintf(c->path + old, sizeof(c->path) - old, old ? ".%s" : "%s", key);

	if (n > 0)
		c->plen = old + (size_t)n < sizeof(c->path) ? old + (size_t)n : sizeof(c->path) - 1;
	return old;
}

size_t config_walk_index(struct config_walk *c, size_t i)
{
	size_t old = c->plen;
	int n = snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i);

	if (n > 0)
		c->plen = old + (size_t)n < sizeof(c->path) ? old + (size_t)n : sizeof(c->path) - 1;
	return old;
}

void config_walk_pop(struct config_walk *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

yaml_node_t *config_walk_node(struct config_walk *c, int idx)
{
	return yaml_document_get_node(c->doc, idx);
}

static const char *walk_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "scalar";
	case YAML_SEQUENCE_NODE:
		return "list";
	case YAML_MAPPING_NODE:
		return "mapping";
	default:
		return "empty node";
	}
}

bool config_walk_is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

const char *config_walk_show(struct config_walk *c, const char *s)
{
	config_val_show(c->show, sizeof(c->show), s);
	return c->show;
}

int config_walk_str(struct config_walk *c, yaml_node_t *n, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return config_walk_fail(c, n, "expected a string, found a %s", walk_node_kind(n));
	if (config_walk_is_null(n))
		return config_walk_fail(c, n, "value is missing");
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return config_walk_fail(c, n, "value contains a NUL byte");
	*out = (const char *)n->data.scalar.value;
	return 0;
}

int config_walk_uint(struct config_walk *c, yaml_node_t *n, uint64_t min, uint64_t max,
                     const char *what, uint64_t *out)
{
	char shown[48];
	const char *s = NULL;
	uint64_t v = 0;
	int rc;

	if (n->type != YAML_SCALAR_NODE)
		return config_walk_fail(c, n, "expected an integer, found a %s", walk_node_kind(n));
	rc = config_walk_str(c, n, &s);
	if (rc)
		return rc;
	rc = config_val_uint(s, &v);
	if (rc == -EBADMSG) {
		config_val_show(shown, sizeof(shown), s);
		return config_walk_fail(c, n, "expected an integer, found '%s'", shown);
	}
	if (rc || v < min || v > max)
		return config_walk_fail(c, n, "%s%smust be %llu-%llu", what ? what : "",
		                        what ? " " : "", (unsigned long long)min,
		                        (unsigned long long)max);
	*out = v;
	return 0;
}

/* The value under key, into *out; nothing when v is NULL (the key is absent). */
static int uint_key(struct config_walk *c, yaml_node_t *v, const char *key, uint64_t min,
                    uint64_t max, uint64_t *out)
{
	size_t old;
	int rc;

	if (!v)
		return 1;
	old = config_walk_key(c, key);
	rc = config_walk_uint(c, v, min, max, NULL, out);
	config_walk_pop(c, old);
	return rc;
}

int config_walk_u32_key(struct config_walk *c, yaml_node_t *v, const char *key, uint64_t min,
                        uint64_t max, uint32_t *out)
{
	uint64_t x;
	int rc = uint_key(c, v, key, min, max, &x);

	if (!rc)
		*out = (uint32_t)x;
	return rc > 0 ? 0 : rc;
}

int config_walk_size_key(struct config_walk *c, yaml_node_t *v, const char *key, uint64_t min,
                         uint64_t max, size_t *out)
{
	uint64_t x;
	int rc = uint_key(c, v, key, min, max, &x);

	if (!rc)
		*out = (size_t)x;
	return rc > 0 ? 0 : rc;
}

int config_walk_either_key(struct config_walk *c, yaml_node_t *v, const char *key, const char *a,
                           const char *b, const char *yes, bool *out)
{
	const char *s;
	size_t old;
	int rc;

	if (!v)
		return 0;
	old = config_walk_key(c, key);
	rc = config_walk_str(c, v, &s);
	if (!rc && strcmp(s, a) && strcmp(s, b))
		rc = config_walk_fail(c, v, "expected %s or %s", a, b);
	if (!rc)
		*out = strcmp(s, yes) == 0;
	config_walk_pop(c, old);
	return rc;
}

int config_walk_port(struct config_walk *c, yaml_node_t *n, uint16_t *out)
{
	uint64_t v = 0;
	int rc = config_walk_uint(c, n, 1, 65535, "port", &v);

	if (!rc)
		*out = (uint16_t)v;
	return rc;
}

int config_walk_seq(struct config_walk *c, yaml_node_t *n, size_t min, size_t max, size_t *count)
{
	size_t len;

	if (min == 0 && config_walk_is_null(n)) {
		*count = 0;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return config_walk_fail(c, n, "expected a list, found a %s", walk_node_kind(n));
	len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (len < min)
		return config_walk_fail(c, n, "must not be empty");
	if (len > max)
		return config_walk_fail(c, n, "too many entries (%zu, at most %zu)", len, max);
	*count = len;
	return 0;
}

yaml_node_t *config_walk_item(struct config_walk *c, yaml_node_t *seq, size_t i)
{
	return config_walk_node(c, seq->data.sequence.items.start[i]);
}

int config_walk_map(struct config_walk *c, yaml_node_t *map, const char *const *keys, size_t nkeys,
                    unsigned required, yaml_node_t **vals)
{
	char shown[48], expected[256];

	if (map->type != YAML_MAPPING_NODE)
		return config_walk_fail(c, map, "expected a mapping, found a %s",
		                        walk_node_kind(map));
	memset(vals, 0, nkeys * sizeof(*vals));
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = config_walk_node(c, pr->key), *v = config_walk_node(c, pr->value);
		const char *name;
		size_t i, old;
		int rc;

		if (!k || !v)
			return config_walk_fail(c, map, "malformed mapping");
		if (k->type != YAML_SCALAR_NODE)
			return config_walk_fail(c, k, "keys must be strings, found a %s",
			                        walk_node_kind(k));
		name = (const char *)k->data.scalar.value;
		for (i = 0; i < nkeys; i++) {
			if (strcmp(name, keys[i]) == 0)
				break;
		}
		config_val_show(shown, sizeof(shown), name);
		old = config_walk_key(c, shown);
		if (i == nkeys) {
			config_val_join(expected, sizeof(expected), keys, nkeys);
			rc = config_walk_fail(c, k, "unknown key (expected one of: %s)", expected);
		} else if (vals[i]) {
			rc = config_walk_fail(c, k, "duplicate key");
		} else {
			vals[i] = v;
			rc = 0;
		}
		config_walk_pop(c, old);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if ((required & (1u << i)) && !vals[i])
			return config_walk_fail(c, map, "missing required key '%s'", keys[i]);
	}
	return 0;
}

int config_walk_dup(struct config_walk *c, yaml_node_t *n, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : config_walk_fail(c, n, "out of memory");
}

void *config_walk_array(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

int config_walk_label(struct config_walk *c, yaml_node_t *n, const char **out)
{
	char shown[48];
	int rc = config_walk_str(c, n, out);

	if (rc)
		return rc;
	if (!config_val_is_label(*out)) {
		config_val_show(shown, sizeof(shown), *out);
		return config_walk_fail(
		    c, n, "'%s' must be lowercase letters, digits and '-' (a DNS label)", shown);
	}
	return 0;
}
