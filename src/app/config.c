/* Config loader: one libyaml parse, one schema walk; every error names file:line:col and key. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "app/config.h"
#include "app/config_val.h"
#include "app/config_walk.h"

/* ------------------------------------------------------------ sections */

static int parse_log(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"level"};
	yaml_node_t *v[ARRAY_SIZE(keys)];
	const char *s;
	size_t old;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0, v);

	if (rc || !v[0])
		return rc;
	old = config_walk_key(c, "level");
	rc = config_walk_str(c, v[0], &s);
	if (!rc && log_level_parse(s, &c->cfg->log_level))
		rc = config_walk_fail(c, v[0], "level must be one of debug, info, warn, error");
	config_walk_pop(c, old);
	return rc;
}

static int parse_limits(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"max_message_size", "max_line_length", "max_uri_length",
	                                   "max_headers", "max_body_size"};
	struct sip_limits *lim = &c->cfg->sip_limits;
	yaml_node_t *v[ARRAY_SIZE(keys)];
	size_t old;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0, v);

	if (rc)
		return rc;
	/* Each bound is checked against the ones before it, so the order matters. */
	rc = config_walk_size_key(c, v[0], keys[0], 1024, 1u << 20, &lim->max_msg_size);
	rc = rc ? rc : config_walk_size_key(c, v[1], keys[1], 128, 1u << 20, &lim->max_line_len);
	rc = rc ? rc : config_walk_size_key(c, v[2], keys[2], 32, 1u << 20, &lim->max_uri_len);
	rc = rc ? rc : config_walk_u32_key(c, v[3], keys[3], 8, 4096, &lim->max_headers);
	rc = rc ? rc : config_walk_size_key(c, v[4], keys[4], 0, 1u << 20, &lim->max_body_size);
	if (rc)
		return rc;
	if (lim->max_line_len > lim->max_msg_size) {
		old = config_walk_key(c, keys[1]);
		rc = config_walk_fail(c, v[1] ? v[1] : v[0],
		                      "must not exceed max_message_size (%zu)", lim->max_msg_size);
	} else if (lim->max_uri_len > lim->max_line_len) {
		old = config_walk_key(c, keys[2]);
		rc = config_walk_fail(c, v[2] ? v[2] : v[1],
		                      "must not exceed max_line_length (%zu)", lim->max_line_len);
	} else if (lim->max_body_size > lim->max_msg_size) {
		old = config_walk_key(c, keys[4]);
		rc = config_walk_fail(c, v[4] ? v[4] : v[0],
		                      "must not exceed max_message_size (%zu)", lim->max_msg_size);
	} else {
		return 0;
	}
	config_walk_pop(c, old);
	return rc;
}

static int parse_sip(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"limits", "timers"};
	yaml_node_t *v[ARRAY_SIZE(keys)];
	size_t old;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0, v);

	if (!rc && v[0]) {
		old = config_walk_key(c, "limits");
		rc = parse_limits(c, v[0]);
		config_walk_pop(c, old);
	}
	if (!rc && v[1]) {
		old = config_walk_key(c, "timers");
		rc = config_sip_timers(c, v[1]);
		config_walk_pop(c, old);
	}
	return rc;
}

static int parse_transport(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"tcp_idle_timeout", "tcp_max_connections"};
	yaml_node_t *v[ARRAY_SIZE(keys)];
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0, v);

	rc = rc ? rc : config_walk_u32_key(c, v[0], keys[0], 1, 86400, &c->cfg->tcp_idle_timeout);
	rc =
	    rc ? rc : config_walk_u32_key(c, v[1], keys[1], 1, 65536, &c->cfg->tcp_max_connections);
	return rc;
}

static int parse_base_domains(struct config_walk *c, yaml_node_t *n)
{
	struct config *cfg = c->cfg;
	size_t count;
	int rc = config_walk_seq(c, n, 1, CONFIG_MAX_BASE_DOMAINS, &count);

	if (rc)
		return rc;
	/* The list replaces the defaults. */
	for (size_t i = 0; i < cfg->nbase_domains; i++)
		free(cfg->base_domains[i]);
	free(cfg->base_domains);
	cfg->nbase_domains = 0;
	cfg->base_domains = config_walk_array(count, sizeof(char *));
	if (!cfg->base_domains)
		return config_walk_fail(c, n, "out of memory");
	for (size_t i = 0; i < count && !rc; i++) {
		yaml_node_t *it = config_walk_item(c, n, i);
		size_t old = config_walk_index(c, i);
		const char *s;

		rc = config_walk_str(c, it, &s);
		if (!rc && !config_val_is_hostname(s))
			rc = config_walk_fail(c, it, "'%s' is not a lowercase domain name",
			                      config_walk_show(c, s));
		for (size_t j = 0; !rc && j < i; j++) {
			if (strcmp(cfg->base_domains[j], s) == 0)
				rc = config_walk_fail(c, it, "'%s' is listed twice", s);
		}
		if (!rc)
			rc = config_walk_dup(c, it, s, &cfg->base_domains[i]);
		if (!rc)
			cfg->nbase_domains = i + 1;
		config_walk_pop(c, old);
	}
	return rc;
}

static int parse_admin(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"listen"};
	yaml_node_t *v[ARRAY_SIZE(keys)];
	const char *s;
	size_t old;
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0, v);

	if (rc || !v[0])
		return rc;
	old = config_walk_key(c, "listen");
	rc = config_walk_str(c, v[0], &s);
	if (!rc && config_val_hostport(s, &c->cfg->admin_ip, &c->cfg->admin_port))
		rc = config_walk_fail(c, v[0],
		                      "expected IP:PORT (IPv6 as [ADDR]:PORT), port 1-65535");
	config_walk_pop(c, old);
	return rc;
}

/* media: the relay's threads, latching, timeout and port quarantine. */
static int parse_media(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"threads", "latch", "timeout", "quarantine_ms"};
	struct config_media_relay *m = &c->cfg->media;
	yaml_node_t *v[ARRAY_SIZE(keys)];
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0, v);

	rc = rc ? rc : config_walk_u32_key(c, v[0], keys[0], 1, 64, &m->threads);
	rc = rc ? rc
	        : config_walk_either_key(c, v[1], keys[1], "symmetric", "strict", "strict",
	                                 &m->strict_latch);
	rc = rc ? rc : config_walk_u32_key(c, v[2], keys[2], 0, 86400, &m->timeout_s);
	rc = rc ? rc : config_walk_u32_key(c, v[3], keys[3], 0, 600000, &m->quarantine_ms);
	return rc;
}

/* auth: the inbound digest settings. */
static int parse_auth(struct config_walk *c, yaml_node_t *n)
{
	static const char *const keys[] = {"nonce_lifetime"};
	yaml_node_t *v[ARRAY_SIZE(keys)];
	int rc = config_walk_map(c, n, keys, ARRAY_SIZE(keys), 0, v);

	return rc ? rc
	          : config_walk_u32_key(c, v[0], keys[0], 1, 86400, &c->cfg->auth.nonce_lifetime_s);
}

static int parse_data_dir(struct config_walk *c, yaml_node_t *n)
{
	const char *s;
	int rc = config_walk_str(c, n, &s);

	if (rc)
		return rc;
	free(c->cfg->data_dir);
	c->cfg->data_dir = NULL;
	return config_walk_dup(c, n, s, &c->cfg->data_dir);
}

typedef int(section_h)(struct config_walk *c, yaml_node_t *n);

/* Top-level keys in dependency order: regions before edges before connections. */
static const struct {
	const char *key;
	section_h *parse;
	bool required;
} sections[] = {
    {"log", parse_log, false},
    {"sip", parse_sip, false},
    {"transport", parse_transport, false},
    {"base_domains", parse_base_domains, false},
    {"regions", config_topo_regions, true},
    {"edges", config_topo_edges, true},
    {"connections", config_topo_connections, false},
    {"calls", config_calls, false},
    {"routes", config_routes, false},
    {"routing", config_routing, false},
    {"probes", config_probes, false},
    {"admin", parse_admin, false},
    {"media", parse_media, false},
    {"auth", parse_auth, false},
    {"data_dir", parse_data_dir, false},
    {"seed", config_seed, false},
};

static int parse_root(struct config_walk *c, yaml_node_t *root)
{
	const char *keys[ARRAY_SIZE(sections)];
	yaml_node_t *v[ARRAY_SIZE(sections)];
	unsigned required = 0;
	size_t old;
	int rc;

	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		keys[i] = sections[i].key;
		required |= sections[i].required ? 1u << i : 0;
	}
	rc = config_walk_map(c, root, keys, ARRAY_SIZE(sections), required, v);
	for (size_t i = 0; i < ARRAY_SIZE(sections) && !rc; i++) {
		if (!v[i])
			continue;
		old = config_walk_key(c, keys[i]);
		rc = sections[i].parse(c, v[i]);
		config_walk_pop(c, old);
	}
	return rc;
}

/* ---------------------------------------------------------------- entry */

static void config_destroy(void *obj)
{
	struct config *cfg = obj;

	for (size_t i = 0; i < cfg->nedges; i++) {
		struct config_edge *e = &cfg->edges[i];

		free(e->name);
		for (size_t j = 0; j < e->nlegacy; j++)
			free(e->legacy[j]);
		free(e->legacy);
		free(e->gateways);
		free(e->media.addrs);
	}
	free(cfg->edges);
	for (size_t i = 0; i < cfg->nregions; i++) {
		free(cfg->regions[i].name);
		free(cfg->regions[i].failover);
	}
	free(cfg->regions);
	for (size_t i = 0; i < cfg->nbase_domains; i++)
		free(cfg->base_domains[i]);
	free(cfg->base_domains);
	free(cfg->connections);
	for (size_t i = 0; i < cfg->nroutes; i++) {
		free(cfg->routes[i].match);
		free(cfg->routes[i].domain);
		free(cfg->routes[i].target);
	}
	free(cfg->routes);
	for (size_t i = 0; i < cfg->nprobes; i++)
		free(cfg->probes[i].target);
	free(cfg->probes);
	free(cfg->routing.default_edge);
	for (char **x = cfg->calls.x_headers; x && *x; x++)
		free(*x);
	free(cfg->calls.x_headers);
	free(cfg->data_dir);
	free(cfg->file);
	config_seed_free(&cfg->seed);
}

static int config_defaults(struct config *cfg, const char *name)
{
	static const char *const bases[] = {"twilio.com", "ixedge.test"};

	cfg->log_level = LOG_INFO;
	sip_limits_default(&cfg->sip_limits);
	cfg->tcp_idle_timeout = 300;
	cfg->tcp_max_connections = 1024;
	cfg->t1_ms = 500;
	cfg->t2_ms = 4000;
	cfg->t4_ms = 5000;
	cfg->calls.ring_timeout_s = 60;
	cfg->calls.session_expires_s = 1800;
	cfg->calls.min_se_s = 90;
	cfg->routing.failover_timeout_ms = 4000;
	memcpy(cfg->calls.account_sid, "AC00000000000000000000000000000000", CONFIG_SID_LEN + 1);
	config_val_ip("127.0.0.1", &cfg->admin_ip);
	cfg->admin_port = 9060;
	cfg->file = strdup(name);
	cfg->data_dir = strdup("./data");
	cfg->media =
	    (struct config_media_relay){.threads = 1, .timeout_s = 60, .quarantine_ms = 5000};
	cfg->auth.nonce_lifetime_s = 300;
	cfg->base_domains = calloc(ARRAY_SIZE(bases), sizeof(char *));
	if (!cfg->file || !cfg->data_dir || !cfg->base_domains)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(bases); i++) {
		cfg->base_domains[i] = strdup(bases[i]);
		if (!cfg->base_domains[i])
			return -ENOMEM;
		cfg->nbase_domains = i + 1;
	}
	return 0;
}

/* A reader error has an offset but no line; count the lines ourselves. */
static yaml_mark_t mark_at(const char *text, size_t len, size_t offset)
{
	yaml_mark_t m = {offset, 0, 0};

	for (size_t i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			m.line++;
			m.column = 0;
		} else {
			m.column++;
		}
	}
	return m;
}

static int yaml_fail(struct config_walk *c, yaml_parser_t *p, const char *text, size_t len)
{
	yaml_mark_t m = p->problem_mark;
	char what[160];

	if (p->error == YAML_MEMORY_ERROR)
		return config_walk_fail(c, NULL, "out of memory");
	if (p->error == YAML_READER_ERROR)
		m = mark_at(text, len, p->problem_offset);
	if (p->context)
		snprintf(what, sizeof(what), "%s %s", p->problem ? p->problem : "error",
		         p->context);
	else
		snprintf(what, sizeof(what), "%s", p->problem ? p->problem : "error");
	yaml_node_t fake = {.start_mark = m};
	return config_walk_fail(c, &fake, "YAML syntax error: %s", what);
}

int config_parse(struct config **cfgp, const char *name, const char *text, size_t len, char *err,
                 size_t errlen)
{
	struct config_walk c = {.file = name, .err = err, .errlen = errlen};
	yaml_document_t doc, extra;
	yaml_parser_t parser;
	yaml_node_t *root;
	struct config *cfg;
	bool have_doc = false;
	int rc;

	*cfgp = NULL;
	if (err && errlen)
		err[0] = '\0';
	cfg = mem_alloc(sizeof(*cfg), config_destroy);
	if (!cfg || config_defaults(cfg, name)) {
		mem_deref(cfg);
		return config_walk_fail(&c, NULL, "out of memory"), -ENOMEM;
	}
	c.cfg = cfg;
	c.doc = &doc;
	if (!yaml_parser_initialize(&parser)) {
		rc = config_walk_fail(&c, NULL, "out of memory");
		goto out_cfg;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = yaml_fail(&c, &parser, text, len);
		goto out;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		rc = config_walk_fail(
		    &c, NULL, "the file is empty (expected a mapping with 'regions' and 'edges')");
		goto out;
	}
	/* A second document would be silently ignored otherwise. */
	if (!yaml_parser_load(&parser, &extra)) {
		rc = yaml_fail(&c, &parser, text, len);
		goto out;
	}
	root = yaml_document_get_root_node(&extra);
	if (root) {
		yaml_node_t at = *root;

		yaml_document_delete(&extra);
		rc = config_walk_fail(&c, &at, "only one YAML document is allowed");
		goto out;
	}
	yaml_document_delete(&extra);
	rc = parse_root(&c, yaml_document_get_root_node(&doc));
out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
out_cfg:
	if (rc) {
		mem_deref(cfg);
		return rc;
	}
	*cfgp = cfg;
	return 0;
}

int config_load(struct config **cfgp, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	*cfgp = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0)
		st.st_mode = 0;
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_FILE_SIZE) {
		rc = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		snprintf(err, errlen, "%s: %s", path,
		         rc == -EFBIG ? "larger than 1 MiB" : "not a regular file");
		close(fd);
		return rc;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* Bounded: at most st_size bytes, and a short read of 0 ends it. */
	while (len < (size_t)st.st_size) {
		n = read(fd, text + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
			close(fd);
			free(text);
			return rc;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	rc = config_parse(cfgp, path, text, len, err, errlen);
	free(text);
	return rc;
}

const char *config_edge_kind_name(enum config_edge_kind kind)
{
	return kind == CONFIG_EDGE_PUBLIC ? "public" : "interconnect";
}

size_t config_gateway_count(const struct config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->nedges; i++)
		n += cfg->edges[i].ngateways;
	return n;
}

int config_set_data_dir(struct config *cfg, const char *dir)
{
	char *d = strdup(dir);

	if (!d)
		return -ENOMEM;
	free(cfg->data_dir);
	cfg->data_dir = d;
	return 0;
}
