/* Routing internals: the index tables shared by the files of src/routing. */
#ifndef IXEDGE_ROUTING_PRIV_H
#define IXEDGE_ROUTING_PRIV_H

#include "routing/routing.h"

/* One key of a sorted index: a name (not NUL-terminated) and what it names. */
struct routing_name {
	const char *s;
	size_t len;
	int idx;
	enum routing_form form; /* edge index only */
};

struct routing {
	const struct config_edge *edges;
	size_t nedges;
	const struct config_region *regions;
	size_t nregions;
	const struct config_connection *conns;
	size_t nconns;
	char *const *bases;
	size_t nbase;
	/* sorted case-insensitively, searched with routing_name_find() */
	struct routing_name *names; /* edge names, legacy codes, short legacy codes */
	size_t nnames;
	struct routing_name *rnames; /* region names */
	size_t nrnames;
	struct routing_name *sids; /* connection SIDs */
	size_t nsids;
	/* the edges of region i, in config order: redges[roff[i] .. roff[i + 1]) */
	size_t *redges;
	size_t *roff;
	routing_conn_h *conn_h; /* connections beyond the config's (the store's) */
	void *conn_arg;
};

/* The entry for key (ASCII case-insensitive), or NULL. */
const struct routing_name *routing_name_find(const struct routing_name *tab, size_t n,
                                             struct slice key);

#endif
