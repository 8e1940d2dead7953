/* Method and header-name tables: id <-> name, compact forms, flags. */
#include <pthread.h>
#include <string.h>

#include "sip_priv.h"

static const struct slice method_names[SIP_METHOD__COUNT] = {[SIP_METHOD_OTHER] = SLICE("OTHER"),
#define X(m) [SIP_METHOD_##m] = SLICE(#m),
                                                             SIP_METHODS(X)
#undef X
};

const char *sip_method_name(enum sip_method m)
{
	return method_names[(unsigned)m < SIP_METHOD__COUNT ? m : SIP_METHOD_OTHER].p;
}

enum sip_method sip_method_from(struct slice s)
{
	/* Method names are case-sensitive (RFC 3261 7.1); a length+first-byte
	 * filter keeps this to one memcmp for real traffic. */
	for (unsigned m = 1; m < SIP_METHOD__COUNT; m++) {
		struct slice n = method_names[m];

		if (n.len == s.len && n.p[0] == s.p[0] && memcmp(n.p, s.p, n.len) == 0)
			return (enum sip_method)m;
	}
	return SIP_METHOD_OTHER;
}

struct hdr_def {
	const char *name;
	uint8_t len;
	char compact;
	unsigned flags;
};

static const struct hdr_def hdr_defs[SIP_HDR__COUNT] = {[SIP_HDR_OTHER] = {NULL, 0, 0, 0},
#define X(id, n, c, f) [SIP_HDR_##id] = {n, sizeof(n) - 1, c, f},
                                                        SIP_HEADERS(X)
#undef X
};

const char *sip_hdr_name(enum sip_hdr_id id)
{
	return (unsigned)id < SIP_HDR__COUNT ? hdr_defs[id].name : NULL;
}

unsigned sip_hdr_flags(enum sip_hdr_id id)
{
	return (unsigned)id < SIP_HDR__COUNT ? hdr_defs[id].flags : 0;
}

/*
 * Open-addressing hash of lower-cased names (full and compact), built once.
 * 256 slots for ~90 keys keeps probes short; the hash mixes length, first
 * and last byte, which separates every name in the table.
 */
#define HASH_SLOTS 256u

static uint8_t hdr_hash[HASH_SLOTS]; /* id, 0 = empty; written once under pthread_once */
static pthread_once_t hdr_hash_once = PTHREAD_ONCE_INIT;

static inline unsigned lc(char c)
{
	return (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
}

static unsigned name_hash(const char *p, size_t len)
{
	unsigned h = (unsigned)len * 0x9e3u;

	h ^= lc(p[0]) * 31u;
	h += lc(p[len - 1]) * 7u;
	if (len > 2)
		h ^= lc(p[len / 2]) << 3;
	return h & (HASH_SLOTS - 1);
}

static void hash_put(const char *name, size_t len, unsigned id)
{
	unsigned h = name_hash(name, len);

	while (hdr_hash[h])
		h = (h + 1) & (HASH_SLOTS - 1);
	hdr_hash[h] = (uint8_t)id;
}

static void hdr_hash_build(void)
{
	for (unsigned id = 1; id < SIP_HDR__COUNT; id++) {
		hash_put(hdr_defs[id].name, hdr_defs[id].len, id);
		if (hdr_defs[id].compact)
			hash_put(&hdr_defs[id].compact, 1, id);
	}
}

static bool name_matches(unsigned id, struct slice name)
{
	const struct hdr_def *d = &hdr_defs[id];

	if (name.len == 1)
		return d->compact && lc(d->compact) == lc(name.p[0]);
	/* Canonical spelling is by far the most common: try it before folding case. */
	return name.len == d->len && (memcmp(name.p, d->name, d->len) == 0 ||
	                              slice_ieq(name, (struct slice){d->name, d->len}));
}

void sip_names_init(void)
{
	pthread_once(&hdr_hash_once, hdr_hash_build);
}

enum sip_hdr_id sip_hdr_id_lookup(struct slice name)
{
	unsigned h;

	if (name.len == 0)
		return SIP_HDR_OTHER;
	h = name_hash(name.p, name.len);
	while (hdr_hash[h]) {
		if (name_matches(hdr_hash[h], name))
			return (enum sip_hdr_id)hdr_hash[h];
		h = (h + 1) & (HASH_SLOTS - 1);
	}
	return SIP_HDR_OTHER;
}

enum sip_hdr_id sip_hdr_id_from(struct slice name)
{
	sip_names_init();
	return sip_hdr_id_lookup(name);
}
