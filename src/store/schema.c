/* Record kinds as tables of fields, and the validation every write goes through. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "store/store_priv.h"

#define C STORE_F_CREATE
#define U STORE_F_UPDATE
#define R STORE_F_REQUIRED
#define A STORE_F_AUTO

int store_errf(struct store_err *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

int64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *store_op_strdup(struct store_op *op, const char *s, size_t len)
{
	char *p;

	if (len + 1 > sizeof(op->scratch) - op->used)
		return NULL;
	p = op->scratch + op->used;
	memcpy(p, s, len);
	p[len] = '\0';
	op->used += len + 1;
	return p;
}

static int bad(void *opv, const struct store_field *f, const char *what)
{
	struct store_op *op = opv;

	return store_errf(op->err, -EINVAL, "%s.%s: %s", op->kd->info.one, f->name, what);
}

bool store_sid_valid(const char *sid, const char *prefix)
{
	if (!sid || strlen(sid) != 34 || sid[0] != prefix[0] || sid[1] != prefix[1])
		return false;
	for (size_t i = 2; i < 34; i++)
		if (!((sid[i] >= '0' && sid[i] <= '9') || (sid[i] >= 'a' && sid[i] <= 'f')))
			return false;
	return true;
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when not well-formed. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Well-formed UTF-8 without control characters (multiline allows TAB, CR, LF). */
static int text_ok(void *op, const struct store_field *f, const char *s, bool multiline)
{
	size_t n = strlen(s);

	if (n > f->max) {
		char what[64];

		snprintf(what, sizeof(what), "longer than %zu bytes", f->max);
		return bad(op, f, what);
	}
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t l;

		if (c < 0x20 || c == 0x7f) {
			if (!multiline || (c != '\t' && c != '\r' && c != '\n'))
				return bad(op, f, "contains a control character");
		}
		l = utf8_len((const unsigned char *)s + i, n - i);
		if (!l)
			return bad(op, f, "is not valid UTF-8");
		i += l;
	}
	return 0;
}

static int chk_text(void *op, const struct store_field *f, void *val)
{
	return text_ok(op, f, *(const char **)val ? *(const char **)val : "", false);
}

static int chk_twiml(void *op, const struct store_field *f, void *val)
{
	return text_ok(op, f, *(const char **)val ? *(const char **)val : "", true);
}

static int chk_sid(void *opv, const struct store_field *f, void *val)
{
	struct store_op *op = opv;
	const char *s = *(const char **)val;

	if (!s || !*s)
		return 0; /* generated */
	if (!store_sid_valid(s, op->kd->info.prefix)) {
		return store_errf(op->err, -EINVAL,
		                  "%s.sid: '%.40s' is not a %s SID (%s + 32 lowercase hex digits)",
		                  op->kd->info.one, s, op->kd->info.one, op->kd->info.prefix);
	}
	return 0;
}

static int chk_parent(void *opv, const struct store_field *f, void *val)
{
	struct store_op *op = opv;
	const char *s = *(const char **)val;
	const struct store_kind_def *pk = store_kind_def(op->kd->parent_kind);

	if (!s || !*s)
		return bad(op, f, "is required");
	if (!store_sid_valid(s, pk->info.prefix)) {
		return store_errf(op->err, -EINVAL, "%s.%s: '%.40s' is not a %s SID",
		                  op->kd->info.one, f->name, s, pk->info.one);
	}
	return 0;
}

static int chk_account(void *opv, const struct store_field *f, void *val)
{
	struct store_op *op = opv;
	const char *s = *(const char **)val;

	if (s && *s && !store_sid_valid(s, "AC"))
		return store_errf(op->err, -EINVAL, "%s.%s: '%.40s' is not an account SID",
		                  op->kd->info.one, f->name, s);
	return 0;
}

static int chk_call_sid(void *op, const struct store_field *f, void *val)
{
	const char *s = *(const char **)val;

	if (s && *s && !store_sid_valid(s, "CA"))
		return bad(op, f, "must be empty or a call SID");
	return 0;
}

static int chk_token(void *op, const struct store_field *f, void *val)
{
	const char *s = *(const char **)val;
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return 0; /* generated */
	if (n != 32 || strspn(s, "0123456789abcdef") != 32)
		return bad(op, f, "must be 32 lowercase hex digits");
	return 0;
}

/* A DNS label: letters, digits, hyphens inside; stored lowercase. */
static int chk_label(void *opv, const struct store_field *f, void *val)
{
	struct store_op *op = opv;
	const char *s = *(const char **)val;
	size_t n = s ? strlen(s) : 0;
	char *low;

	if (n == 0)
		return bad(op, f, "is required");
	if (n > 63)
		return bad(op, f, "longer than 63 characters");
	if (s[0] == '-' || s[n - 1] == '-')
		return bad(op, f, "must not start or end with '-'");
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != n)
		return bad(op, f, "must be one DNS label: letters, digits and '-' (like \"acme\")");
	low = store_op_strdup(op, s, n);
	if (!low)
		return store_errf(op->err, -ENOMEM, "out of scratch space");
	for (size_t i = 0; i < n; i++)
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] = (char)(low[i] - 'A' + 'a');
	*(const char **)val = low;
	return 0;
}

static int chk_url(void *op, const struct store_field *f, void *val)
{
	const char *s = *(const char **)val;
	const char *host;
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return 0;
	if (n > f->max)
		return bad(op, f, "too long");
	if (!strncasecmp(s, "http://", 7))
		host = s + 7;
	else if (!strncasecmp(s, "https://", 8))
		host = s + 8;
	else
		return bad(op, f, "must be an http:// or https:// URL");
	if (!*host || *host == '/' || *host == '?' || *host == '#')
		return bad(op, f, "has no host");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return bad(op, f, "contains a space, control or non-ASCII character");
	return 0;
}

static int chk_method(void *op, const struct store_field *f, void *val)
{
	const char *s = *(const char **)val;

	if (!s || !*s || !strcasecmp(s, "POST"))
		*(const char **)val = "POST";
	else if (!strcasecmp(s, "GET"))
		*(const char **)val = "GET";
	else
		return bad(op, f, "must be GET or POST");
	return 0;
}

static int chk_one_of(void *op, const struct store_field *f, void *val, const char *const *set)
{
	const char *s = *(const char **)val;
	char what[160] = "must be one of:";

	for (size_t i = 0; set[i]; i++)
		if (s && !strcmp(s, set[i]))
			return 0;
	for (size_t i = 0; set[i]; i++)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " %s", set[i]);
	return bad(op, f, what);
}

static int chk_direction(void *op, const struct store_field *f, void *val)
{
	static const char *const set[] = {"inbound", "outbound-api", "outbound-dial", NULL};

	return chk_one_of(op, f, val, set);
}

static int chk_status(void *op, const struct store_field *f, void *val)
{
	static const char *const set[] = {"queued", "ringing",   "in-progress", "completed", "busy",
	                                  "failed", "no-answer", "canceled",    NULL};

	return chk_one_of(op, f, val, set);
}

static int chk_range(void *op, const struct store_field *f, void *val)
{
	int64_t v = *(int64_t *)val;
	char what[64];

	if (v < 0 || (uint64_t)v > f->max) {
		snprintf(what, sizeof(what), "must be 0-%zu", f->max);
		return bad(op, f, what);
	}
	return 0;
}

static int chk_sip_status(void *op, const struct store_field *f, void *val)
{
	int64_t v = *(int64_t *)val;

	if (v != 0 && (v < 100 || v > 699))
		return bad(op, f, "must be 0 (none) or 100-699");
	return 0;
}

static int chk_ipv4(void *op, const struct store_field *f, void *val)
{
	const char *s = *(const char **)val;
	struct in_addr a;

	/* inet_pton() takes only four dotted decimals, without leading zeros. */
	if (!s || !*s)
		return bad(op, f, "is required");
	if (inet_pton(AF_INET, s, &a) != 1)
		return bad(op, f, "must be a dotted IPv4 address like 192.0.2.10");
	return 0;
}

/* RFC 3261 user characters without escapes, so the name needs no quoting anywhere. */
static int chk_username(void *op, const struct store_field *f, void *val)
{
	const char *s = *(const char **)val;
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return bad(op, f, "is required");
	if (n > f->max)
		return bad(op, f, "too long");
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	              "-_.!~*'()&=+$,;?/") != n)
		return bad(op, f, "may hold letters, digits and -_.!~*'()&=+$,;?/ only");
	return 0;
}

/* The hosted service's rule: at least 12 characters, mixed case, a digit. */
static int chk_password(void *op, const struct store_field *f, void *val)
{
	const char *s = *(const char **)val;
	size_t n = s ? strlen(s) : 0;
	bool lower = false, upper = false, digit = false;

	if (n < 12)
		return bad(op, f, "must be at least 12 characters");
	if (n > f->max)
		return bad(op, f, "too long");
	for (size_t i = 0; i < n; i++) {
		lower |= s[i] >= 'a' && s[i] <= 'z';
		upper |= s[i] >= 'A' && s[i] <= 'Z';
		digit |= s[i] >= '0' && s[i] <= '9';
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return bad(op, f, "contains a control character");
	}
	if (!lower || !upper || !digit)
		return bad(op, f, "needs an uppercase letter, a lowercase letter and a digit");
	return text_ok(op, f, s, false);
}

int store_ha1(const char *user, const char *realm, const char *password, char md5[33],
              char sha256[65])
{
	static const char hex[] = "0123456789abcdef";
	const EVP_MD *mds[2] = {EVP_md5(), EVP_sha256()};
	char *outs[2] = {md5, sha256};

	for (size_t m = 0; m < 2; m++) {
		unsigned char d[EVP_MAX_MD_SIZE];
		unsigned int dl = 0;
		EVP_MD_CTX *cx = EVP_MD_CTX_new();
		int ok = cx && EVP_DigestInit_ex(cx, mds[m], NULL) &&
		         EVP_DigestUpdate(cx, user, strlen(user)) && EVP_DigestUpdate(cx, ":", 1) &&
		         EVP_DigestUpdate(cx, realm, strlen(realm)) &&
		         EVP_DigestUpdate(cx, ":", 1) &&
		         EVP_DigestUpdate(cx, password, strlen(password)) &&
		         EVP_DigestFinal_ex(cx, d, &dl);

		EVP_MD_CTX_free(cx);
		OPENSSL_cleanse(d + dl, sizeof(d) - dl);
		if (!ok)
			return -EIO;
		for (unsigned i = 0; i < dl; i++) {
			outs[m][2 * i] = hex[d[i] >> 4];
			outs[m][2 * i + 1] = hex[d[i] & 15];
		}
		outs[m][2 * dl] = '\0';
	}
	return 0;
}

/* Field tables.  The column of each field in the database has the field's name. */
#define FLD(rec, name, type, flags, check, def, max)                                               \
	{                                                                                          \
#name, type, flags, offsetof(rec, name), check, def, max                           \
	}

#define DATES(rec)                                                                                 \
	FLD(rec, date_created, STORE_TIME, A, NULL, NULL, 0),                                      \
	    FLD(rec, date_updated, STORE_TIME, A, NULL, NULL, 0)

#define SID(rec) FLD(rec, sid, STORE_TEXT, C | STORE_F_SID, chk_sid, NULL, 34)
#define ACCOUNT_PARENT(rec)                                                                        \
	FLD(rec, account_sid, STORE_TEXT, C | R | STORE_F_PARENT, chk_parent, NULL, 34)
#define ACCOUNT_AUTO(rec) FLD(rec, account_sid, STORE_TEXT, C | A, chk_account, NULL, 34)
#define NAME(rec, flags)  FLD(rec, friendly_name, STORE_TEXT, flags, chk_text, NULL, 255)

static const struct store_field account_fields[] = {
    SID(struct store_account),
    NAME(struct store_account, C | U),
    FLD(struct store_account, auth_token, STORE_TEXT, C | U, chk_token, NULL, 32),
    DATES(struct store_account),
};

#define URL(name)    FLD(struct store_domain, name, STORE_TEXT, C | U, chk_url, NULL, 2048)
#define METHOD(name) FLD(struct store_domain, name, STORE_TEXT, C | U, chk_method, "POST", 4)
static const struct store_field domain_fields[] = {
    SID(struct store_domain),
    ACCOUNT_PARENT(struct store_domain),
    FLD(struct store_domain, domain_name, STORE_TEXT, C | U | R | STORE_F_UNIQUE, chk_label, NULL,
        63),
    NAME(struct store_domain, C | U),
    URL(voice_url),
    METHOD(voice_method),
    URL(voice_fallback_url),
    METHOD(voice_fallback_method),
    URL(voice_status_callback_url),
    METHOD(voice_status_callback_method),
    FLD(struct store_domain, secure, STORE_BOOL, C | U, NULL, "false", 1),
    FLD(struct store_domain, sip_registration, STORE_BOOL, C | U, NULL, "false", 1),
    FLD(struct store_domain, inline_twiml, STORE_TEXT, C | U, chk_twiml, NULL, 65536),
    DATES(struct store_domain),
};
#undef URL
#undef METHOD

static const struct store_field acl_fields[] = {
    SID(struct store_acl),
    ACCOUNT_PARENT(struct store_acl),
    NAME(struct store_acl, C | U | R),
    DATES(struct store_acl),
};

static const struct store_field ip_fields[] = {
    SID(struct store_ip),
    ACCOUNT_AUTO(struct store_ip),
    FLD(struct store_ip, ip_access_control_list_sid, STORE_TEXT, C | R | STORE_F_PARENT, chk_parent,
        NULL, 34),
    NAME(struct store_ip, C | U | R),
    FLD(struct store_ip, ip_address, STORE_TEXT, C | U | R | STORE_F_UNIQUE, chk_ipv4, NULL, 15),
    FLD(struct store_ip, cidr_prefix_length, STORE_INT, C | U, chk_range, "32", 32),
    DATES(struct store_ip),
};

static const struct store_field credlist_fields[] = {
    SID(struct store_credlist),
    ACCOUNT_PARENT(struct store_credlist),
    NAME(struct store_credlist, C | U | R),
    DATES(struct store_credlist),
};

static const struct store_field cred_fields[] = {
    SID(struct store_cred),
    ACCOUNT_AUTO(struct store_cred),
    FLD(struct store_cred, credential_list_sid, STORE_TEXT, C | R | STORE_F_PARENT, chk_parent,
        NULL, 34),
    FLD(struct store_cred, username, STORE_TEXT, C | R | STORE_F_UNIQUE, chk_username, NULL, 128),
    FLD(struct store_cred, password, STORE_TEXT, C | U | R | STORE_F_SECRET, chk_password, NULL,
        128),
    FLD(struct store_cred, realm, STORE_TEXT, A | STORE_F_INTERNAL, NULL, NULL, 253),
    FLD(struct store_cred, ha1_md5, STORE_TEXT, A | STORE_F_INTERNAL, NULL, NULL, 32),
    FLD(struct store_cred, ha1_sha256, STORE_TEXT, A | STORE_F_INTERNAL, NULL, NULL, 64),
    DATES(struct store_cred),
};

#define CTEXT(name, max) FLD(struct store_call_rec, name, STORE_TEXT, C | U, chk_text, NULL, max)
#define CTIME(name)      FLD(struct store_call_rec, name, STORE_TIME, C | U, chk_range, "0", INT64_MAX)
#define CINT(name)       FLD(struct store_call_rec, name, STORE_INT, C | U, chk_range, "0", INT64_MAX)
static const struct store_field call_fields[] = {
    SID(struct store_call_rec),
    ACCOUNT_PARENT(struct store_call_rec),
    FLD(struct store_call_rec, parent_call_sid, STORE_TEXT, C | U, chk_call_sid, NULL, 34),
    FLD(struct store_call_rec, direction, STORE_TEXT, C | R, chk_direction, NULL, 13),
    CTEXT(from, 1024),
    CTEXT(to, 1024),
    FLD(struct store_call_rec, status, STORE_TEXT, C | U | R, chk_status, NULL, 11),
    CTIME(start_time),
    CTIME(answer_time),
    CTIME(end_time),
    FLD(struct store_call_rec, duration, STORE_INT, C | U, chk_range, "0", INT32_MAX),
    CTEXT(edge, 64),
    CTEXT(gateway, 128),
    CTEXT(sip_call_id, 512),
    FLD(struct store_call_rec, sip_status, STORE_INT, C | U, chk_sip_status, "0", 699),
    CTEXT(end_reason, 255),
    CTEXT(hung_up_by, 64),
    CINT(media_packets_received),
    CINT(media_bytes_received),
    CINT(media_packets_sent),
    CINT(media_bytes_sent),
    CINT(media_packets_lost),
    CINT(media_jitter),
    DATES(struct store_call_rec),
};
#undef CTEXT
#undef CTIME
#undef CINT

static const struct store_field connection_fields[] = {
    SID(struct store_connection),
    NAME(struct store_connection, C | U),
    FLD(struct store_connection, edge, STORE_TEXT, C | U | R, chk_label, NULL, 63),
    DATES(struct store_connection),
};

/* Role fields by index: the SID is always field 0; parent and account_sid as listed. */
#define KIND(k, nm, on, pre, tbl, flds, type, par, acc, pk, lim, newest, prep)                     \
	[k] = {{nm, on, pre, flds, ARRAY_SIZE(flds), sizeof(type)},                                \
	       k,                                                                                  \
	       tbl,                                                                                \
	       &flds[0],                                                                           \
	       (par) < 0 ? NULL : &flds[(par) < 0 ? 0 : (par)],                                    \
	       (acc) < 0 ? NULL : &flds[(acc) < 0 ? 0 : (acc)],                                    \
	       pk,                                                                                 \
	       lim,                                                                                \
	       newest,                                                                             \
	       prep}

static const struct store_kind_def kinds[STORE_NKINDS] = {
    KIND(STORE_ACCOUNT, "accounts", "account", "AC", "accounts", account_fields,
         struct store_account, -1, -1, STORE_ACCOUNT, 0, false, store_prepare_account),
    KIND(STORE_DOMAIN, "domains", "domain", "SD", "sip_domains", domain_fields, struct store_domain,
         1, 1, STORE_ACCOUNT, 0, false, NULL),
    KIND(STORE_ACL, "ip_access_control_lists", "ip_access_control_list", "AL",
         "ip_access_control_lists", acl_fields, struct store_acl, 1, 1, STORE_ACCOUNT, 0, false,
         NULL),
    KIND(STORE_IP, "ip_addresses", "ip_address", "IP", "ip_addresses", ip_fields, struct store_ip,
         2, 1, STORE_ACL, STORE_ACL_MAX_IPS, false, NULL),
    KIND(STORE_CREDLIST, "credential_lists", "credential_list", "CL", "credential_lists",
         credlist_fields, struct store_credlist, 1, 1, STORE_ACCOUNT, 0, false, NULL),
    KIND(STORE_CRED, "credentials", "credential", "CR", "credentials", cred_fields,
         struct store_cred, 2, 1, STORE_CREDLIST, STORE_CREDLIST_MAX_CRED, false,
         store_prepare_cred),
    KIND(STORE_CALL, "calls", "call", "CA", "calls", call_fields, struct store_call_rec, 1, 1,
         STORE_ACCOUNT, 0, true, NULL),
    KIND(STORE_CONNECTION, "connections", "connection", "NX", "connections", connection_fields,
         struct store_connection, -1, -1, STORE_ACCOUNT, 0, false, NULL),
};

const struct store_kind_def *store_kind_def(enum store_kind kind)
{
	return (unsigned)kind < STORE_NKINDS ? &kinds[kind] : NULL;
}

const struct store_kind_info *store_kind_get(enum store_kind kind)
{
	const struct store_kind_def *kd = store_kind_def(kind);

	return kd ? &kd->info : NULL;
}

int store_kind_find(const char *name, enum store_kind *kind)
{
	for (size_t i = 0; i < STORE_NKINDS; i++) {
		if (!strcmp(name, kinds[i].info.name) || !strcmp(name, kinds[i].info.one)) {
			*kind = (enum store_kind)i;
			return 0;
		}
	}
	return -ENOENT;
}

static const struct store_field *field_find(const struct store_kind_info *k, const char *name,
                                            size_t len, size_t *idx)
{
	for (size_t i = 0; i < k->nfields; i++) {
		if (strlen(k->fields[i].name) == len && !memcmp(k->fields[i].name, name, len)) {
			*idx = i;
			return &k->fields[i];
		}
	}
	return NULL;
}

int store_field_mask(enum store_kind kind, const char *names, uint64_t *mask, struct store_err *err)
{
	const struct store_kind_info *k = store_kind_get(kind);
	const char *p = names;

	if (!k)
		return store_errf(err, -EINVAL, "unknown record kind");
	while (*p) {
		size_t len, idx;

		p += strspn(p, " ,");
		len = strcspn(p, " ,");
		if (!len)
			break;
		if (!field_find(k, p, len, &idx))
			return store_errf(err, -EINVAL, "%s has no field '%.*s'", k->one, (int)len,
			                  p);
		*mask |= 1ull << idx;
		p += len;
	}
	return 0;
}

int store_field_parse(const struct store_field *f, void *rec, const char *text,
                      struct store_err *err)
{
	void *val = store_fptr(rec, f);
	struct slice s = slice_cstr(text);
	uint64_t v;

	switch (f->type) {
	case STORE_TEXT:
		*(const char **)val = text;
		return 0;
	case STORE_BOOL:
		if (!strcasecmp(text, "true") || !strcmp(text, "1"))
			*(bool *)val = true;
		else if (!strcasecmp(text, "false") || !strcmp(text, "0"))
			*(bool *)val = false;
		else
			return store_errf(err, -EINVAL, "%s: '%.40s' is not true or false", f->name,
			                  text);
		return 0;
	case STORE_INT:
	case STORE_TIME:
		if (slice_to_u64(s, INT64_MAX, &v))
			return store_errf(err, -EINVAL, "%s: '%.40s' is not a number", f->name,
			                  text);
		*(int64_t *)val = (int64_t)v;
		return 0;
	}
	return -EINVAL;
}

int store_field_set(enum store_kind kind, void *rec, uint64_t *mask, const char *name,
                    const char *text, struct store_err *err)
{
	const struct store_kind_info *k = store_kind_get(kind);
	const struct store_field *f;
	size_t idx;
	int rc;

	if (!k)
		return store_errf(err, -EINVAL, "unknown record kind");
	f = field_find(k, name, strlen(name), &idx);
	if (!f || !(f->flags & (STORE_F_CREATE | STORE_F_UPDATE)))
		return store_errf(err, -EINVAL, "%s has no settable field '%s'", k->one, name);
	rc = store_field_parse(f, rec, text, err);
	if (!rc)
		*mask |= 1ull << idx;
	return rc;
}

int store_field_valid(enum store_kind kind, const char *name, const char *text,
                      struct store_err *err)
{
	const struct store_kind_def *kd = store_kind_def(kind);
	struct store_op op = {.kd = kd, .err = err, .create = true};
	_Alignas(max_align_t) unsigned char rec[512] = {0};
	const struct store_field *f;
	size_t idx;
	int rc;

	if (!kd || kd->info.size > sizeof(rec) || !text)
		return store_errf(err, -EINVAL, "store: bad arguments");
	f = field_find(&kd->info, name, strlen(name), &idx);
	if (!f)
		return store_errf(err, -EINVAL, "%s has no field '%s'", kd->info.one, name);
	rc = store_field_parse(f, rec, text, err);
	if (!rc && f->check)
		rc = f->check(&op, f, store_fptr(rec, f));
	return rc;
}

const char *store_field_text(const struct store_field *f, const void *rec, char *tmp, size_t n)
{
	const void *val = store_fptr(rec, f);

	switch (f->type) {
	case STORE_TEXT:
		return store_ftext(rec, f);
	case STORE_BOOL:
		return *(const bool *)val ? "true" : "false";
	case STORE_INT:
	case STORE_TIME:
		snprintf(tmp, n, "%lld", (long long)*(const int64_t *)val);
		return tmp;
	}
	return "";
}

int store_fields_check(struct store_op *op, void *rec, uint64_t mask)
{
	const struct store_kind_info *k = &op->kd->info;

	for (size_t i = 0; i < k->nfields; i++) {
		const struct store_field *f = &k->fields[i];
		bool given = mask & (1ull << i);
		int rc;

		if (given && !(f->flags & (op->create ? STORE_F_CREATE : STORE_F_UPDATE)))
			return store_errf(op->err, -EINVAL, "%s.%s cannot be %s", k->one, f->name,
			                  op->create ? "set" : "changed");
		if (!given) {
			if (op->create && (f->flags & STORE_F_REQUIRED))
				return store_errf(op->err, -EINVAL, "%s.%s is required", k->one,
				                  f->name);
			continue;
		}
		if ((f->flags & STORE_F_REQUIRED) && f->type == STORE_TEXT && !*store_ftext(rec, f))
			return store_errf(op->err, -EINVAL, "%s.%s is required", k->one, f->name);
		if (f->check) {
			rc = f->check(op, f, store_fptr(rec, f));
			if (rc)
				return rc;
		}
	}
	return 0;
}
