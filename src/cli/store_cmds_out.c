/* ixctl store commands: records as aligned tables or as JSON with the REST API's field names. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_cmds.h"

/* Tables cut longer values (URLs, SIP URIs) so a row stays on a line; show prints them whole. */
#define SC_COL_MAX 48

/*
 * Store field names are the REST API's, with one exception: the API calls a
 * leg's final SIP status sip_response_code (the DialSipResponseCode of the
 * hosted service's action callback).
 */
static const char *rest_name(enum store_kind kind, const char *field)
{
	if (kind == STORE_CALL && !strcmp(field, "sip_status"))
		return "sip_response_code";
	return field;
}

static bool shown(const struct store_field *f)
{
	return !(f->flags & (STORE_F_SECRET | STORE_F_INTERNAL));
}

/* RFC 2822 as the REST API writes dates: "Tue, 10 Aug 2010 08:02:17 +0000". */
static void date_rfc2822(int64_t ms, char *buf, size_t n)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, n, "%lld", (long long)ms);
		return;
	}
	snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Tables: ISO 8601 in UTC, shorter and sortable. */
static void date_iso(int64_t ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "%lld", (long long)ms);
}

static int64_t int_of(const void *rec, const struct store_field *f)
{
	return *(const int64_t *)((const char *)rec + f->off);
}

static const char *str_of(const void *rec, const struct store_field *f)
{
	const char *s = *(const char *const *)((const char *)rec + f->off);

	return s ? s : "";
}

static const struct store_field *field_by_name(const struct store_kind_info *k, const char *name)
{
	for (size_t i = 0; i < k->nfields; i++)
		if (!strcmp(k->fields[i].name, name))
			return &k->fields[i];
	return NULL;
}

/* The REST resource path, for the kinds the API has (connections are not in it). */
static json_t *rest_uri(enum store_kind kind, const struct store_kind_info *k, const void *rec)
{
	static const struct {
		enum store_kind kind;
		const char *path; /* after /Accounts/{account_sid}/ */
		const char *sub;  /* NULL, or after the owning list's SID */
	} paths[] = {
	    {STORE_DOMAIN, "SIP/Domains/", NULL},
	    {STORE_ACL, "SIP/IpAccessControlLists/", NULL},
	    {STORE_IP, "SIP/IpAccessControlLists/", "/IpAddresses/"},
	    {STORE_CREDLIST, "SIP/CredentialLists/", NULL},
	    {STORE_CRED, "SIP/CredentialLists/", "/Credentials/"},
	    {STORE_CALL, "Calls/", NULL},
	};
	const char *sid = str_of(rec, &k->fields[0]);
	const struct store_field *acc = field_by_name(k, "account_sid");
	const struct store_field *list = field_by_name(k, "ip_access_control_list_sid");
	char uri[320];

	if (!list)
		list = field_by_name(k, "credential_list_sid");
	if (kind == STORE_ACCOUNT) {
		snprintf(uri, sizeof(uri), "/2010-04-01/Accounts/%s.json", sid);
		return json_string(uri);
	}
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		if (paths[i].kind != kind || !acc)
			continue;
		snprintf(uri, sizeof(uri), "/2010-04-01/Accounts/%s/%s%s%s%s.json",
		         str_of(rec, acc), paths[i].path,
		         paths[i].sub && list ? str_of(rec, list) : "",
		         paths[i].sub ? paths[i].sub : "", sid);
		return json_string(uri);
	}
	return NULL;
}

static json_t *field_json(enum store_kind kind, const struct store_field *f, const void *rec)
{
	char tmp[64];

	switch (f->type) {
	case STORE_TEXT:
		/* The API writes an absent value as null, never as "". */
		return cli_json_str_or_null(slice_cstr(str_of(rec, f)));
	case STORE_BOOL:
		return json_boolean(*(const bool *)((const char *)rec + f->off));
	case STORE_TIME:
		if (!int_of(rec, f))
			return json_null();
		date_rfc2822(int_of(rec, f), tmp, sizeof(tmp));
		return json_string(tmp);
	case STORE_INT:
		/* The hosted API gives a call's duration as a string, null until it ended. */
		if (kind == STORE_CALL && !strcmp(f->name, "duration")) {
			if (!((const struct store_call_rec *)rec)->end_time)
				return json_null();
			snprintf(tmp, sizeof(tmp), "%lld", (long long)int_of(rec, f));
			return json_string(tmp);
		}
		if (kind == STORE_CALL && !strcmp(f->name, "sip_status") && !int_of(rec, f))
			return json_null();
		return json_integer((json_int_t)int_of(rec, f));
	}
	return json_null();
}

json_t *sc_json_rec(enum store_kind kind, const void *rec)
{
	const struct store_kind_info *k = store_kind_get(kind);
	json_t *o = json_object(), *uri;

	if (!o)
		return NULL;
	for (size_t i = 0; i < k->nfields; i++) {
		const struct store_field *f = &k->fields[i];

		if (!shown(f))
			continue;
		if (json_object_set_new(o, rest_name(kind, f->name), field_json(kind, f, rec)))
			goto fail;
	}
	if (kind == STORE_CALL && json_object_set_new(o, "api_version", json_string("2010-04-01")))
		goto fail;
	uri = rest_uri(kind, k, rec);
	if (uri && json_object_set_new(o, "uri", uri))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

int sc_json_print(json_t *j)
{
	if (!j)
		return CLI_EXIT_FAIL;
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
	return CLI_EXIT_OK;
}

/* Display width of UTF-8 text: one column per code point (the store keeps text well-formed). */
static size_t width(const char *s, size_t len)
{
	size_t w = 0;

	for (size_t i = 0; i < len; i++)
		w += ((unsigned char)s[i] & 0xC0) != 0x80;
	return w;
}

/* Bytes of s that fit in max columns, cut on a code point boundary. */
static size_t fit(const char *s, size_t max)
{
	size_t w = 0, i = 0;

	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && w++ == max)
			break;
	}
	return i;
}

/* A cell's text: dates as ISO 8601, empty as "-", control characters (TwiML) escaped. */
static const char *cell(enum store_kind kind, const struct store_field *f, const void *rec,
                        char *tmp, size_t n)
{
	const char *s;

	if (f->type == STORE_TIME) {
		if (!int_of(rec, f))
			return "-";
		date_iso(int_of(rec, f), tmp, n);
		return tmp;
	}
	if (kind == STORE_CALL && !strcmp(f->name, "sip_status") && !int_of(rec, f))
		return "-";
	s = store_field_text(f, rec, tmp, n);
	return *s ? s : "-";
}

static void put_clean(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			fputs("\\n", stdout);
		else if (s[i] == '\r')
			fputs("\\r", stdout);
		else if (s[i] == '\t')
			fputs("\\t", stdout);
		else
			fputc(s[i], stdout);
	}
}

static void pad(size_t n)
{
	while (n--)
		fputc(' ', stdout);
}

#define SC_MAX_COLS 12

void sc_table(struct store_page **pages, size_t npages, const char *cols, int indent)
{
	const struct store_kind_info *k = store_kind_get(pages[0]->kind);
	enum store_kind kind = pages[0]->kind;
	const struct store_field *f[SC_MAX_COLS];
	size_t w[SC_MAX_COLS], nc = 0;
	char tmp[64], name[64];
	const char *p = cols;

	while (*p && nc < SC_MAX_COLS) {
		size_t len = strcspn(p, " ");

		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		f[nc] = field_by_name(k, name);
		if (f[nc]) {
			w[nc] = strlen(rest_name(kind, f[nc]->name));
			nc++;
		}
		p += len;
		p += strspn(p, " ");
	}
	for (size_t pi = 0; pi < npages; pi++) {
		const char *rows = pages[pi]->rows;

		for (size_t i = 0; i < pages[pi]->n; i++) {
			const void *rec = rows + i * k->size;

			for (size_t c = 0; c < nc; c++) {
				const char *s = cell(kind, f[c], rec, tmp, sizeof(tmp));
				size_t cw = width(s, strlen(s));

				cw = cw > SC_COL_MAX ? SC_COL_MAX : cw;
				w[c] = cw > w[c] ? cw : w[c];
			}
		}
	}
	pad((size_t)indent);
	for (size_t c = 0; c < nc; c++) {
		const char *h = rest_name(kind, f[c]->name);

		for (const char *q = h; *q; q++)
			fputc(*q >= 'a' && *q <= 'z' ? *q - 'a' + 'A' : *q, stdout);
		if (c + 1 < nc)
			pad(w[c] - strlen(h) + 2);
	}
	fputc('\n', stdout);
	for (size_t pi = 0; pi < npages; pi++) {
		const char *rows = pages[pi]->rows;

		for (size_t i = 0; i < pages[pi]->n; i++) {
			const void *rec = rows + i * k->size;

			pad((size_t)indent);
			for (size_t c = 0; c < nc; c++) {
				const char *s = cell(kind, f[c], rec, tmp, sizeof(tmp));
				size_t len = strlen(s), cw = width(s, len);

				if (cw > SC_COL_MAX) {
					put_clean(s, fit(s, SC_COL_MAX - 3));
					fputs("...", stdout);
					cw = SC_COL_MAX;
				} else {
					put_clean(s, len);
				}
				if (c + 1 < nc)
					pad(w[c] - cw + 2);
			}
			fputc('\n', stdout);
		}
	}
}

static size_t rows_total(struct store_page **pages, size_t npages)
{
	size_t n = 0;

	for (size_t i = 0; i < npages; i++)
		n += pages[i]->n;
	return n;
}

int sc_print_list(struct sc_run *r, struct store_page **pages, size_t npages, const char *cols)
{
	const struct store_kind_info *k = store_kind_get(pages[0]->kind);

	if (r->json) {
		json_t *o = json_object(), *a = json_array();

		if (!o || !a || json_object_set_new(o, k->name, a)) {
			json_decref(o);
			return sc_failf(r, "out of memory");
		}
		for (size_t pi = 0; pi < npages; pi++) {
			const char *rows = pages[pi]->rows;

			for (size_t i = 0; i < pages[pi]->n; i++)
				if (json_array_append_new(
				        a, sc_json_rec(pages[pi]->kind, rows + i * k->size))) {
					json_decref(o);
					return sc_failf(r, "out of memory");
				}
		}
		return sc_json_print(o);
	}
	if (!rows_total(pages, npages)) {
		printf("no %s\n", k->name);
		return CLI_EXIT_OK;
	}
	sc_table(pages, npages, cols, 0);
	return CLI_EXIT_OK;
}

int sc_print_one(struct sc_run *r, const struct store_page *pg)
{
	const struct store_kind_info *k = store_kind_get(pg->kind);
	size_t nw = 0;
	char tmp[64];

	if (r->json)
		return sc_json_print(sc_json_rec(pg->kind, pg->rows));
	for (size_t i = 0; i < k->nfields; i++) {
		size_t l = strlen(rest_name(pg->kind, k->fields[i].name));

		if (shown(&k->fields[i]) && l > nw)
			nw = l;
	}
	for (size_t i = 0; i < k->nfields; i++) {
		const struct store_field *f = &k->fields[i];
		const char *name = rest_name(pg->kind, f->name), *s;

		if (!shown(f))
			continue;
		s = cell(pg->kind, f, pg->rows, tmp, sizeof(tmp));
		fputs(name, stdout);
		pad(nw - strlen(name) + 2);
		put_clean(s, strlen(s));
		fputc('\n', stdout);
	}
	return CLI_EXIT_OK;
}

int sc_print_deleted(struct sc_run *r, const char *what, const char *sid)
{
	if (r->json) {
		json_t *o = json_pack("{s:s, s:b}", "sid", sid, "deleted", 1);

		return o ? sc_json_print(o) : sc_failf(r, "out of memory");
	}
	printf("deleted %s %s\n", what, sid);
	return CLI_EXIT_OK;
}
