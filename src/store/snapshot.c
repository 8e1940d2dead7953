/* The hot-path snapshot: domains, ACLs and credentials in memory, built in one read. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "store/store_priv.h"

/* A bump allocator: everything in a snapshot dies with it. */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
};

#define CHUNK_SIZE 16384

static void *ar_alloc(struct arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t al = sizeof(max_align_t);

	n = (n + al - 1) / al * al;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	c->used += n;
	return memset((char *)c->data + c->used - n, 0, n);
}

static void ar_free(struct arena *a)
{
	while (a->head) {
		struct chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
}

/* Copies a record, its strings included, into the arena. */
static void *ar_rec(struct arena *a, const struct store_kind_info *k, void *dst, const void *src)
{
	memcpy(dst, src, k->size);
	for (size_t i = 0; i < k->nfields; i++) {
		const struct store_field *f = &k->fields[i];
		const char *s;
		char *d;

		if (f->type != STORE_TEXT)
			continue;
		s = store_ftext(src, f);
		d = ar_alloc(a, strlen(s) + 1);
		if (!d)
			return NULL;
		memcpy(d, s, strlen(s) + 1);
		*(const char **)store_fptr(dst, f) = d;
	}
	return dst;
}

struct snap_net {
	struct snap_net *next;
	uint32_t net, mask;
	unsigned prefix;
};

struct snap_acl {
	struct hnode node; /* by SID */
	const char *sid;
	struct snap_net *nets;
};

struct snap_cred {
	struct hnode node; /* by username, in its list */
	struct store_snap_cred pub;
};

struct snap_credlist {
	struct hnode node; /* by SID */
	struct snap_credlist *all_next;
	const char *sid;
	struct hmap users;
};

struct snap_ref {
	struct snap_ref *next;
	void *list; /* struct snap_acl or struct snap_credlist */
};

struct store_snap_domain {
	struct hnode node;     /* by name */
	struct hnode sid_node; /* by SID, while building */
	struct store_domain rec;
	const struct store_account *account;
	struct snap_ref *maps[STORE_NMAPS], **tails[STORE_NMAPS];
	size_t nmapped[STORE_NMAPS];
};

struct snap_account {
	struct hnode node;
	struct store_account rec;
};

struct snap_conn {
	struct hnode node; /* by SID */
	struct snap_conn *all_next;
	struct store_connection rec;
};

struct snap_obj {
	struct store_snapshot pub; /* first: the public pointer is the mem object */
	struct arena ar;
	struct hmap domains, domain_sids, accounts, acls, credlists, conns;
	struct snap_credlist *all_credlists;
	struct snap_conn *all_conns, **conns_tail; /* oldest first */
	char realm[254];
};

static uint64_t hash_lower(struct slice s)
{
	uint64_t h = HASH_INIT;

	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = hash_bytes(h, &c, 1);
	}
	return h;
}

static uint64_t hash_str(struct slice s)
{
	return hash_bytes(HASH_INIT, s.p, s.len);
}

static void snap_destroy(void *obj)
{
	struct snap_obj *so = obj;

	for (struct snap_credlist *cl = so->all_credlists; cl; cl = cl->all_next)
		hmap_fini(&cl->users);
	hmap_fini(&so->domains);
	hmap_fini(&so->domain_sids);
	hmap_fini(&so->accounts);
	hmap_fini(&so->acls);
	hmap_fini(&so->credlists);
	hmap_fini(&so->conns);
	ar_free(&so->ar);
}

static struct snap_acl *acl_find(const struct snap_obj *so, const char *sid)
{
	struct slice s = slice_cstr(sid);

	for (struct hnode *n = hmap_first(&so->acls, hash_str(s)); n; n = hmap_next(n)) {
		struct snap_acl *a = container_of(n, struct snap_acl, node);

		if (!strcmp(a->sid, sid))
			return a;
	}
	return NULL;
}

static struct snap_credlist *credlist_find(const struct snap_obj *so, const char *sid)
{
	struct slice s = slice_cstr(sid);

	for (struct hnode *n = hmap_first(&so->credlists, hash_str(s)); n; n = hmap_next(n)) {
		struct snap_credlist *cl = container_of(n, struct snap_credlist, node);

		if (!strcmp(cl->sid, sid))
			return cl;
	}
	return NULL;
}

static char *ar_str(struct arena *a, const char *s)
{
	char *d = ar_alloc(a, strlen(s) + 1);

	return d ? memcpy(d, s, strlen(s) + 1) : NULL;
}

static int account_h(void *arg, int64_t seq, const void *rec)
{
	struct snap_obj *so = arg;
	struct snap_account *a = ar_alloc(&so->ar, sizeof(*a));

	(void)seq;
	if (!a || !ar_rec(&so->ar, store_kind_get(STORE_ACCOUNT), &a->rec, rec))
		return -ENOMEM;
	hmap_insert(&so->accounts, &a->node, hash_str(slice_cstr(a->rec.sid)));
	so->pub.naccounts++;
	return 0;
}

static int acl_h(void *arg, int64_t seq, const void *rec)
{
	struct snap_obj *so = arg;
	const struct store_acl *r = rec;
	struct snap_acl *a = ar_alloc(&so->ar, sizeof(*a));

	(void)seq;
	if (!a || !(a->sid = ar_str(&so->ar, r->sid)))
		return -ENOMEM;
	hmap_insert(&so->acls, &a->node, hash_str(slice_cstr(a->sid)));
	return 0;
}

static int ip_h(void *arg, int64_t seq, const void *rec)
{
	struct snap_obj *so = arg;
	const struct store_ip *r = rec;
	struct snap_acl *a = acl_find(so, r->ip_access_control_list_sid);
	struct snap_net *n;
	struct in_addr ia;
	uint32_t mask;

	(void)seq;
	/* Stored addresses passed the same checks on the way in; anything else is skipped. */
	if (!a || inet_pton(AF_INET, r->ip_address, &ia) != 1 || r->cidr_prefix_length < 0 ||
	    r->cidr_prefix_length > 32)
		return 0;
	n = ar_alloc(&so->ar, sizeof(*n));
	if (!n)
		return -ENOMEM;
	mask = r->cidr_prefix_length ? ~0u << (32 - r->cidr_prefix_length) : 0;
	n->mask = mask;
	n->prefix = (unsigned)r->cidr_prefix_length;
	n->net = ntohl(ia.s_addr) & mask;
	n->next = a->nets;
	a->nets = n;
	return 0;
}

static int credlist_h(void *arg, int64_t seq, const void *rec)
{
	struct snap_obj *so = arg;
	const struct store_credlist *r = rec;
	struct snap_credlist *cl = ar_alloc(&so->ar, sizeof(*cl));

	(void)seq;
	if (!cl || !(cl->sid = ar_str(&so->ar, r->sid)) || hmap_init(&cl->users, 16))
		return -ENOMEM;
	cl->all_next = so->all_credlists;
	so->all_credlists = cl;
	hmap_insert(&so->credlists, &cl->node, hash_str(slice_cstr(cl->sid)));
	return 0;
}

static int cred_h(void *arg, int64_t seq, const void *rec)
{
	struct snap_obj *so = arg;
	const struct store_cred *r = rec;
	struct snap_credlist *cl = credlist_find(so, r->credential_list_sid);
	struct snap_cred *c;

	(void)seq;
	if (!cl)
		return 0;
	if (strcmp(r->realm, so->realm)) {
		so->pub.stale_creds++;
		return 0;
	}
	c = ar_alloc(&so->ar, sizeof(*c));
	if (!c || !(c->pub.sid = ar_str(&so->ar, r->sid)) ||
	    !(c->pub.credential_list_sid = ar_str(&so->ar, r->credential_list_sid)) ||
	    !(c->pub.username = ar_str(&so->ar, r->username)) ||
	    !(c->pub.ha1_md5 = ar_str(&so->ar, r->ha1_md5)) ||
	    !(c->pub.ha1_sha256 = ar_str(&so->ar, r->ha1_sha256)))
		return -ENOMEM;
	hmap_insert(&cl->users, &c->node, hash_str(slice_cstr(c->pub.username)));
	return 0;
}

static int domain_h(void *arg, int64_t seq, const void *rec)
{
	struct snap_obj *so = arg;
	struct store_snap_domain *d = ar_alloc(&so->ar, sizeof(*d));

	(void)seq;
	if (!d || !ar_rec(&so->ar, store_kind_get(STORE_DOMAIN), &d->rec, rec))
		return -ENOMEM;
	for (size_t m = 0; m < STORE_NMAPS; m++)
		d->tails[m] = &d->maps[m];
	d->account = store_snapshot_account(&so->pub, slice_cstr(d->rec.account_sid));
	hmap_insert(&so->domains, &d->node, hash_lower(slice_cstr(d->rec.domain_name)));
	hmap_insert(&so->domain_sids, &d->sid_node, hash_str(slice_cstr(d->rec.sid)));
	so->pub.ndomains++;
	return 0;
}

static int conn_h(void *arg, int64_t seq, const void *rec)
{
	struct snap_obj *so = arg;
	struct snap_conn *c = ar_alloc(&so->ar, sizeof(*c));

	(void)seq;
	if (!c || !ar_rec(&so->ar, store_kind_get(STORE_CONNECTION), &c->rec, rec))
		return -ENOMEM;
	hmap_insert(&so->conns, &c->node, hash_str(slice_cstr(c->rec.sid)));
	*so->conns_tail = c;
	so->conns_tail = &c->all_next;
	so->pub.nconnections++;
	return 0;
}

struct map_cx {
	struct snap_obj *so;
	enum store_map map;
};

static int pair_h(void *arg, const char *domain_sid, const char *list_sid)
{
	struct map_cx *cx = arg;
	struct snap_obj *so = cx->so;
	struct store_snap_domain *d = NULL;
	struct snap_ref *ref;
	void *list;

	for (struct hnode *n = hmap_first(&so->domain_sids, hash_str(slice_cstr(domain_sid))); n;
	     n = hmap_next(n)) {
		struct store_snap_domain *c = container_of(n, struct store_snap_domain, sid_node);

		if (!strcmp(c->rec.sid, domain_sid))
			d = c;
	}
	if (store_map_list_kind(cx->map) == STORE_ACL)
		list = acl_find(so, list_sid);
	else
		list = credlist_find(so, list_sid);
	if (!d || !list)
		return 0;
	ref = ar_alloc(&so->ar, sizeof(*ref));
	if (!ref)
		return -ENOMEM;
	ref->list = list;
	*d->tails[cx->map] = ref;
	d->tails[cx->map] = &ref->next;
	d->nmapped[cx->map]++;
	return 0;
}

static int kind_all(struct store *st, enum store_kind kind, store_row_h *h, void *arg)
{
	const struct store_kind_def *kd = store_kind_def(kind);
	struct store_sel sel = {.k = &kd->info, .table = kd->table};

	return st->ops->select(st, &sel, h, arg);
}

static int load_locked(struct store *st, struct snap_obj *so)
{
	static const struct {
		enum store_kind kind;
		store_row_h *h;
	} steps[] = {
	    /* Owners before what they own: lookups while loading find them. */
	    {STORE_ACCOUNT, account_h},   {STORE_ACL, acl_h},   {STORE_IP, ip_h},
	    {STORE_CREDLIST, credlist_h}, {STORE_CRED, cred_h}, {STORE_DOMAIN, domain_h},
	    {STORE_CONNECTION, conn_h},
	};
	int rc = st->ops->config_version(st, &so->pub.version);

	if (!rc)
		rc = st->ops->setting_get(st, "digest_realm", so->realm, sizeof(so->realm));
	for (size_t i = 0; !rc && i < ARRAY_SIZE(steps); i++)
		rc = kind_all(st, steps[i].kind, steps[i].h, so);
	for (size_t m = 0; !rc && m < STORE_NMAPS; m++) {
		struct map_cx cx = {so, (enum store_map)m};

		rc = st->ops->map_each(st, store_map_table((enum store_map)m), pair_h, &cx);
	}
	return rc;
}

int store_snapshot_load(struct store *st, struct store_snapshot **out, struct store_err *err)
{
	struct snap_obj *so = mem_alloc(sizeof(*so), snap_destroy);
	int rc;

	if (!so || hmap_init(&so->domains, 64) || hmap_init(&so->domain_sids, 64) ||
	    hmap_init(&so->accounts, 16) || hmap_init(&so->acls, 16) ||
	    hmap_init(&so->credlists, 16) || hmap_init(&so->conns, 16)) {
		mem_deref(so);
		return store_errf(err, -ENOMEM, "snapshot: out of memory");
	}
	so->pub.realm = so->realm;
	so->conns_tail = &so->all_conns;
	rc = store_txn_begin(st, false, err);
	if (rc) {
		mem_deref(so);
		return rc;
	}
	rc = load_locked(st, so);
	if (rc)
		store_errf(err, rc, "snapshot: loading: %s", strerror(-rc));
	rc = store_txn_end(st, rc, err);
	if (rc) {
		mem_deref(so);
		return rc;
	}
	*out = &so->pub;
	return 0;
}

int store_changed(struct store *st, const struct store_snapshot *snap, bool *changed)
{
	uint64_t v;
	int rc = st->ops->config_version(st, &v);

	if (!rc)
		*changed = !snap || v != snap->version;
	return rc;
}

const struct store_snap_domain *store_snapshot_domain(const struct store_snapshot *s,
                                                      struct slice name)
{
	const struct snap_obj *so = (const struct snap_obj *)s;

	for (struct hnode *n = hmap_first(&so->domains, hash_lower(name)); n; n = hmap_next(n)) {
		const struct store_snap_domain *d = container_of(n, struct store_snap_domain, node);

		if (slice_ieq_cstr(name, d->rec.domain_name))
			return d;
	}
	return NULL;
}

const struct store_account *store_snapshot_account(const struct store_snapshot *s, struct slice sid)
{
	const struct snap_obj *so = (const struct snap_obj *)s;

	for (struct hnode *n = hmap_first(&so->accounts, hash_str(sid)); n; n = hmap_next(n)) {
		const struct snap_account *a = container_of(n, struct snap_account, node);

		if (slice_eq(sid, slice_cstr(a->rec.sid)))
			return &a->rec;
	}
	return NULL;
}

const struct store_connection *store_snapshot_connection(const struct store_snapshot *s,
                                                         struct slice sid)
{
	const struct snap_obj *so = (const struct snap_obj *)s;

	for (struct hnode *n = hmap_first(&so->conns, hash_str(sid)); n; n = hmap_next(n)) {
		const struct snap_conn *c = container_of(n, struct snap_conn, node);

		if (slice_eq(sid, slice_cstr(c->rec.sid)))
			return &c->rec;
	}
	return NULL;
}

int store_snapshot_connection_each(const struct store_snapshot *s,
                                   int (*h)(void *arg, const struct store_connection *c), void *arg)
{
	const struct snap_obj *so = (const struct snap_obj *)s;

	for (const struct snap_conn *c = so->all_conns; c; c = c->all_next) {
		int rc = h(arg, &c->rec);

		if (rc)
			return rc;
	}
	return 0;
}

const struct store_domain *store_snap_domain_rec(const struct store_snap_domain *d)
{
	return &d->rec;
}

const struct store_account *store_snap_domain_account(const struct store_snap_domain *d)
{
	return d->account;
}

size_t store_snap_domain_nmapped(const struct store_snap_domain *d, enum store_map map)
{
	if ((unsigned)map >= STORE_NMAPS) {
		size_t n = 0;

		for (size_t m = 0; m < STORE_NMAPS; m++)
			n += d->nmapped[m];
		return n;
	}
	return d->nmapped[map];
}

bool store_snap_domain_ip_allowed(const struct store_snap_domain *d, uint32_t ipv4)
{
	for (const struct snap_ref *r = d->maps[STORE_MAP_CALL_ACL]; r; r = r->next) {
		const struct snap_acl *a = r->list;

		for (const struct snap_net *n = a->nets; n; n = n->next)
			if ((ipv4 & n->mask) == n->net)
				return true;
	}
	return false;
}

int store_snap_domain_acl_each(const struct store_snap_domain *d,
                               int (*h)(void *arg, uint32_t net, unsigned prefix), void *arg)
{
	for (const struct snap_ref *r = d->maps[STORE_MAP_CALL_ACL]; r; r = r->next) {
		const struct snap_acl *a = r->list;

		for (const struct snap_net *n = a->nets; n; n = n->next) {
			int rc = h(arg, n->net, n->prefix);

			if (rc)
				return rc;
		}
	}
	return 0;
}

const struct store_snap_cred *store_snap_cred_find(const struct store_snap_domain *d,
                                                   enum store_map map, struct slice username,
                                                   const struct store_snap_cred *prev)
{
	uint64_t h = hash_str(username);

	if (map != STORE_MAP_CALL_CREDS && map != STORE_MAP_REG_CREDS)
		return NULL;
	for (const struct snap_ref *r = d->maps[map]; r; r = r->next) {
		const struct snap_credlist *cl = r->list;

		for (struct hnode *n = hmap_first(&cl->users, h); n; n = hmap_next(n)) {
			const struct snap_cred *c = container_of(n, struct snap_cred, node);

			if (!slice_eq(username, slice_cstr(c->pub.username)))
				continue;
			if (!prev)
				return &c->pub;
			if (prev == &c->pub)
				prev = NULL; /* the next list's match is the answer */
		}
	}
	return NULL;
}
