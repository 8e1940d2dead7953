/* libFuzzer target: the config loader (YAML, schema walk, seed section) on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"

/*
 * Whatever the text, config_parse() returns either a config (which must
 * be consistent enough to walk) or an error message with a position, never
 * both and never neither; nothing leaks (ASan) and nothing crashes.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	char err[512] = "";
	int rc;

	if (size > 1 << 16)
		return 0;
	rc = config_parse(&cfg, "f.yaml", (const char *)data, size, err, sizeof(err));
	if (rc) {
		if (cfg || !err[0] || strncmp(err, "f.yaml", 6) != 0)
			abort();
		return 0;
	}
	if (!cfg || !cfg->nedges || !cfg->nregions)
		abort();
	for (size_t i = 0; i < cfg->nedges; i++) {
		if (!cfg->edges[i].name || cfg->edges[i].region >= cfg->nregions)
			abort();
	}
	for (size_t i = 0; i < cfg->nroutes; i++) {
		if (!cfg->routes[i].match || !cfg->routes[i].target || !cfg->routes[i].domain)
			abort();
	}
	mem_deref(cfg);
	return 0;
}
