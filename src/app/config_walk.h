/* Config schema walk: position tracking, typed value access and errors with file:line:col. */
#ifndef IXEDGE_APP_CONFIG_WALK_H
#define IXEDGE_APP_CONFIG_WALK_H

#include <yaml.h>

#include "app/config.h"

/*
 * Walk state: the document, where we are in it (the dotted key path used in
 * messages) and the config being filled.  Every error goes through
 * config_walk_fail(), which formats "FILE:LINE:COL: PATH: what" and returns
 * -EINVAL, so callers just propagate the return value.
 */
struct config_walk {
	yaml_document_t *doc;
	const char *file;
	char path[256];
	size_t plen;
	char *err;
	size_t errlen;
	char show[48]; /* a user's value made safe to print */
	struct config *cfg;
	size_t ngateways; /* across edges, for the duplicate-listener check */
};

/* Caps the total so the duplicate-listener check stays cheap. */
#define CONFIG_MAX_GATEWAYS_TOTAL 1024

int config_walk_fail(struct config_walk *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Path segments: push ".key" or "[i]", returning the length to pop back to. */
size_t config_walk_key(struct config_walk *c, const char *key);
size_t config_walk_index(struct config_walk *c, size_t i);
void config_walk_pop(struct config_walk *c, size_t old);

yaml_node_t *config_walk_node(struct config_walk *c, int idx);
yaml_node_t *config_walk_item(struct config_walk *c, yaml_node_t *seq, size_t i);
bool config_walk_is_null(const yaml_node_t *n);
/* s made printable and short, in a buffer reused by the next call. */
const char *config_walk_show(struct config_walk *c, const char *s);

/* Typed access: 0, or the error already reported. */
int config_walk_str(struct config_walk *c, yaml_node_t *n, const char **out);
/* what names the quantity in the range message ("port must be 1-65535"), or NULL. */
int config_walk_uint(struct config_walk *c, yaml_node_t *n, uint64_t min, uint64_t max,
                     const char *what, uint64_t *out);
/*
 * One optional unsigned key of a mapping (v from config_walk_map(), NULL when
 * absent: *out keeps its default), in [min, max]; errors name the key's path.
 */
int config_walk_u32_key(struct config_walk *c, yaml_node_t *v, const char *key, uint64_t min,
                        uint64_t max, uint32_t *out);
int config_walk_size_key(struct config_walk *c, yaml_node_t *v, const char *key, uint64_t min,
                         uint64_t max, size_t *out);
/* One optional key that is word a or word b: *out = (value is yes); absent: unchanged. */
int config_walk_either_key(struct config_walk *c, yaml_node_t *v, const char *key, const char *a,
                           const char *b, const char *yes, bool *out);
int config_walk_port(struct config_walk *c, yaml_node_t *n, uint16_t *out);
int config_walk_label(struct config_walk *c, yaml_node_t *n, const char **out);
/* A list with min..max entries; a null value counts as empty when min is 0. */
int config_walk_seq(struct config_walk *c, yaml_node_t *n, size_t min, size_t max, size_t *count);
/*
 * Picks a mapping's values by key into vals[] (same order as keys[]).
 * Unknown and repeated keys are errors, so a typo never passes silently;
 * bit i of required set means keys[i] must be present.
 */
int config_walk_map(struct config_walk *c, yaml_node_t *map, const char *const *keys, size_t nkeys,
                    unsigned required, yaml_node_t **vals);
int config_walk_dup(struct config_walk *c, yaml_node_t *n, const char *s, char **out);
/* calloc() that never asks for zero bytes. */
void *config_walk_array(size_t n, size_t size);

/* The topology sections (config_topo.c): regions before edges before connections. */
int config_topo_regions(struct config_walk *c, yaml_node_t *n);
int config_topo_edges(struct config_walk *c, yaml_node_t *n);
int config_topo_connections(struct config_walk *c, yaml_node_t *n);

/* Call handling sections (config_calls.c). */
int config_sip_timers(struct config_walk *c, yaml_node_t *n);
int config_calls(struct config_walk *c, yaml_node_t *n);
int config_routes(struct config_walk *c, yaml_node_t *n);
int config_routing(struct config_walk *c, yaml_node_t *n);
int config_probes(struct config_walk *c, yaml_node_t *n);

/* The seed section (config_seed.c) and its destructor. */
int config_seed(struct config_walk *c, yaml_node_t *n);
void config_seed_free(struct config_seed *s);

#endif
