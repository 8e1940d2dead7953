/* Seeding: the config's seed: records created in the store once, never overwritten. */
#ifndef IXEDGE_APP_SEED_H
#define IXEDGE_APP_SEED_H

#include "app/config.h"
#include "store/store.h"

/*
 * Rules (docs/CONFIG.md, "Seeding the store"):
 * - Create if missing.  An account is found by its SID, a domain by its name
 *   (or its SID when the seed gives one), an ACL or credential list by its
 *   account and name (or SID), an address by its list and address, a
 *   credential by its list and username, a mapping by domain and list.  A
 *   record that is found is never changed, so edits made with ixctl stay.
 * - Once applied, always applied: every seeded item leaves a marker, the
 *   store setting "seed.applied.<item>", so a seeded record deleted with
 *   ixctl stays deleted on the next start (and so do its entries and
 *   mappings).  SEED_F_AGAIN ignores the markers and recreates what is
 *   missing (still never changing what exists).
 * - A domain name held by another account is left alone (warning logged).
 *
 * Credentials are hashed under the store's realm at creation: call
 * store_realm_set() first.  Synchronous (the store's calls are): run it at
 * start-up, before the loop serves traffic.
 */
enum seed_flag {
	SEED_F_AGAIN = 1 << 0,
};

struct seed_stats {
	unsigned created; /* records and mappings created by this call */
	unsigned present; /* found already, left as they are */
	unsigned deleted; /* seeded before and deleted since: left deleted */
	unsigned foreign; /* domain names held by another account: left alone */
};

/*
 * Applies cfg->seed to st.  0 and *stats (may be NULL) filled, or a negative
 * errno (the store's) with err holding one line naming the seed item, e.g.
 * "seed: domain 'demo': domain.voice_url: must be an http:// or https:// URL".
 * What was created before an error stays; the next call carries on.
 */
int seed_apply(struct store *st, const struct config *cfg, unsigned flags, struct seed_stats *stats,
               char *err, size_t errlen);

#endif
