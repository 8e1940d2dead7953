/* SQLite backend: opening the file and its versioned schema migrations. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/sqlite_priv.h"

/*
 * Migration 1: everything.  Never edit a shipped migration; add the next
 * one.  Every config table bumps config_version on any change, so a reader
 * in any process learns with one small read that its snapshot is stale.
 * Calls are not config (the worker's writes leave the version alone) and
 * have no foreign key: they are history and outlive their account.  The
 * default realm is STORE_REALM_DEFAULT.
 */
/* clang-format off */
static const char migration1[] =
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    "INSERT INTO settings VALUES ('digest_realm', 'sip.twilio.com');\n"
    "CREATE TABLE config_version (\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);\n"
    "INSERT INTO config_version VALUES (1, 1);\n"
    "CREATE TABLE accounts (\n"
    "  seq INTEGER PRIMARY KEY, sid TEXT NOT NULL UNIQUE,\n"
    "  friendly_name TEXT NOT NULL, auth_token TEXT NOT NULL,\n"
    "  date_created INTEGER NOT NULL, date_updated INTEGER NOT NULL);\n"
    "CREATE TABLE sip_domains (\n"
    "  seq INTEGER PRIMARY KEY, sid TEXT NOT NULL UNIQUE,\n"
    "  account_sid TEXT NOT NULL\n"
    "    REFERENCES accounts (sid) ON DELETE CASCADE,\n"
    "  domain_name TEXT NOT NULL UNIQUE, friendly_name TEXT NOT NULL,\n"
    "  voice_url TEXT NOT NULL, voice_method TEXT NOT NULL,\n"
    "  voice_fallback_url TEXT NOT NULL, voice_fallback_method TEXT NOT NULL,\n"
    "  voice_status_callback_url TEXT NOT NULL,\n"
    "  voice_status_callback_method TEXT NOT NULL,\n"
    "  secure INTEGER NOT NULL CHECK (secure IN (0, 1)),\n"
    "  sip_registration INTEGER NOT NULL CHECK (sip_registration IN (0, 1)),\n"
    "  inline_twiml TEXT NOT NULL,\n"
    "  date_created INTEGER NOT NULL, date_updated INTEGER NOT NULL);\n"
    "CREATE INDEX sip_domains_account ON sip_domains (account_sid);\n"
    "CREATE TABLE ip_access_control_lists (\n"
    "  seq INTEGER PRIMARY KEY, sid TEXT NOT NULL UNIQUE,\n"
    "  account_sid TEXT NOT NULL\n"
    "    REFERENCES accounts (sid) ON DELETE CASCADE,\n"
    "  friendly_name TEXT NOT NULL,\n"
    "  date_created INTEGER NOT NULL, date_updated INTEGER NOT NULL);\n"
    "CREATE INDEX ip_access_control_lists_account ON ip_access_control_lists (account_sid);\n"
    "CREATE TABLE credential_lists (\n"
    "  seq INTEGER PRIMARY KEY, sid TEXT NOT NULL UNIQUE,\n"
    "  account_sid TEXT NOT NULL\n"
    "    REFERENCES accounts (sid) ON DELETE CASCADE,\n"
    "  friendly_name TEXT NOT NULL,\n"
    "  date_created INTEGER NOT NULL, date_updated INTEGER NOT NULL);\n"
    "CREATE INDEX credential_lists_account ON credential_lists (account_sid);\n"
    "CREATE TABLE ip_addresses (\n"
    "  seq INTEGER PRIMARY KEY, sid TEXT NOT NULL UNIQUE,\n"
    "  account_sid TEXT NOT NULL\n"
    "    REFERENCES accounts (sid) ON DELETE CASCADE,\n"
    "  ip_access_control_list_sid TEXT NOT NULL\n"
    "    REFERENCES ip_access_control_lists (sid) ON DELETE CASCADE,\n"
    "  friendly_name TEXT NOT NULL, ip_address TEXT NOT NULL,\n"
    "  cidr_prefix_length INTEGER NOT NULL CHECK (cidr_prefix_length BETWEEN 0 AND 32),\n"
    "  date_created INTEGER NOT NULL, date_updated INTEGER NOT NULL,\n"
    "  UNIQUE (ip_access_control_list_sid, ip_address));\n"
    "CREATE INDEX ip_addresses_account ON ip_addresses (account_sid);\n"
    "CREATE TABLE credentials (\n"
    "  seq INTEGER PRIMARY KEY, sid TEXT NOT NULL UNIQUE,\n"
    "  account_sid TEXT NOT NULL\n"
    "    REFERENCES accounts (sid) ON DELETE CASCADE,\n"
    "  credential_list_sid TEXT NOT NULL\n"
    "    REFERENCES credential_lists (sid) ON DELETE CASCADE,\n"
    "  username TEXT NOT NULL, realm TEXT NOT NULL,\n"
    "  ha1_md5 TEXT NOT NULL, ha1_sha256 TEXT NOT NULL,\n"
    "  date_created INTEGER NOT NULL, date_updated INTEGER NOT NULL,\n"
    "  UNIQUE (credential_list_sid, username));\n"
    "CREATE INDEX credentials_account ON credentials (account_sid);\n"
    "CREATE TABLE sip_domain_acl_calls (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  domain_sid TEXT NOT NULL\n"
    "    REFERENCES sip_domains (sid) ON DELETE CASCADE,\n"
    "  list_sid TEXT NOT NULL REFERENCES ip_access_control_lists (sid) ON DELETE CASCADE,\n"
    "  date_created INTEGER NOT NULL,\n"
    "  UNIQUE (domain_sid, list_sid));\n"
    "CREATE INDEX sip_domain_acl_calls_list ON sip_domain_acl_calls (list_sid);\n"
    "CREATE TABLE sip_domain_credlist_calls (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  domain_sid TEXT NOT NULL\n"
    "    REFERENCES sip_domains (sid) ON DELETE CASCADE,\n"
    "  list_sid TEXT NOT NULL REFERENCES credential_lists (sid) ON DELETE CASCADE,\n"
    "  date_created INTEGER NOT NULL,\n"
    "  UNIQUE (domain_sid, list_sid));\n"
    "CREATE INDEX sip_domain_credlist_calls_list ON sip_domain_credlist_calls (list_sid);\n"
    "CREATE TABLE sip_domain_credlist_regs (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  domain_sid TEXT NOT NULL\n"
    "    REFERENCES sip_domains (sid) ON DELETE CASCADE,\n"
    "  list_sid TEXT NOT NULL REFERENCES credential_lists (sid) ON DELETE CASCADE,\n"
    "  date_created INTEGER NOT NULL,\n"
    "  UNIQUE (domain_sid, list_sid));\n"
    "CREATE INDEX sip_domain_credlist_regs_list ON sip_domain_credlist_regs (list_sid);\n"
    "CREATE TRIGGER accounts_bump_i AFTER INSERT ON accounts\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER accounts_bump_u AFTER UPDATE ON accounts\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER accounts_bump_d AFTER DELETE ON accounts\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domains_bump_i AFTER INSERT ON sip_domains\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domains_bump_u AFTER UPDATE ON sip_domains\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domains_bump_d AFTER DELETE ON sip_domains\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER ip_access_control_lists_bump_i AFTER INSERT ON ip_access_control_lists\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER ip_access_control_lists_bump_u AFTER UPDATE ON ip_access_control_lists\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER ip_access_control_lists_bump_d AFTER DELETE ON ip_access_control_lists\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER ip_addresses_bump_i AFTER INSERT ON ip_addresses\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER ip_addresses_bump_u AFTER UPDATE ON ip_addresses\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER ip_addresses_bump_d AFTER DELETE ON ip_addresses\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER credential_lists_bump_i AFTER INSERT ON credential_lists\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER credential_lists_bump_u AFTER UPDATE ON credential_lists\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER credential_lists_bump_d AFTER DELETE ON credential_lists\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER credentials_bump_i AFTER INSERT ON credentials\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER credentials_bump_u AFTER UPDATE ON credentials\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER credentials_bump_d AFTER DELETE ON credentials\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domain_acl_calls_bump_i AFTER INSERT ON sip_domain_acl_calls\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domain_acl_calls_bump_u AFTER UPDATE ON sip_domain_acl_calls\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domain_acl_calls_bump_d AFTER DELETE ON sip_domain_acl_calls\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domain_credlist_calls_bump_i AFTER INSERT ON sip_domain_credlist_calls\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domain_credlist_calls_bump_u AFTER UPDATE ON sip_domain_credlist_calls\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domain_credlist_calls_bump_d AFTER DELETE ON sip_domain_credlist_calls\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domain_credlist_regs_bump_i AFTER INSERT ON sip_domain_credlist_regs\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domain_credlist_regs_bump_u AFTER UPDATE ON sip_domain_credlist_regs\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER sip_domain_credlist_regs_bump_d AFTER DELETE ON sip_domain_credlist_regs\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TABLE calls (\n"
    "  seq INTEGER PRIMARY KEY, sid TEXT NOT NULL UNIQUE,\n"
    "  account_sid TEXT NOT NULL, parent_call_sid TEXT NOT NULL,\n"
    "  direction TEXT NOT NULL, \"from\" TEXT NOT NULL, \"to\" TEXT NOT NULL,\n"
    "  status TEXT NOT NULL, start_time INTEGER NOT NULL, answer_time INTEGER NOT NULL,\n"
    "  end_time INTEGER NOT NULL, duration INTEGER NOT NULL,\n"
    "  edge TEXT NOT NULL, gateway TEXT NOT NULL, sip_call_id TEXT NOT NULL,\n"
    "  sip_status INTEGER NOT NULL, end_reason TEXT NOT NULL, hung_up_by TEXT NOT NULL,\n"
    "  date_created INTEGER NOT NULL, date_updated INTEGER NOT NULL);\n"
    "CREATE INDEX calls_account ON calls (account_sid);\n"
    "CREATE INDEX calls_parent ON calls (parent_call_sid) WHERE parent_call_sid <> '';\n";

/*
 * Migration 2: interconnect connections (the `tnx=` SIDs) move from the
 * config file into the store, so ixctl manages them like the rest.  They
 * are config: changes bump config_version.
 */
static const char migration2[] =
    "CREATE TABLE connections (\n"
    "  seq INTEGER PRIMARY KEY, sid TEXT NOT NULL UNIQUE,\n"
    "  friendly_name TEXT NOT NULL, edge TEXT NOT NULL,\n"
    "  date_created INTEGER NOT NULL, date_updated INTEGER NOT NULL);\n"
    "CREATE TRIGGER connections_bump_i AFTER INSERT ON connections\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER connections_bump_u AFTER UPDATE ON connections\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n"
    "CREATE TRIGGER connections_bump_d AFTER DELETE ON connections\n"
    "  BEGIN UPDATE config_version SET version = version + 1; END;\n";

/* Migration 3: per-leg media counters in call records (issue 6). */
static const char migration3[] =
    "ALTER TABLE calls ADD COLUMN media_packets_received INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE calls ADD COLUMN media_bytes_received INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE calls ADD COLUMN media_packets_sent INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE calls ADD COLUMN media_bytes_sent INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE calls ADD COLUMN media_packets_lost INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE calls ADD COLUMN media_jitter INTEGER NOT NULL DEFAULT 0;\n";
/* clang-format on */

static const char *const migrations[] = {migration1, migration2, migration3};

int sq_exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sq_errno(rc);
}

static int migrate(struct sq *q, const char *path, struct store_err *err)
{
	const int known = (int)ARRAY_SIZE(migrations);
	sqlite3_stmt *s = NULL;
	int rc, have = 0;

	rc = sq_exec(q->db, "BEGIN IMMEDIATE");
	if (rc)
		return store_errf(err, rc, "%s: %s", path, sqlite3_errmsg(q->db));
	rc =
	    sq_exec(q->db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
	                   " applied_at INTEGER NOT NULL)");
	if (!rc &&
	    sqlite3_prepare_v2(q->db, "SELECT coalesce(max(version), 0) FROM schema_version", -1,
	                       &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		have = sqlite3_column_int(s, 0);
	else if (!rc)
		rc = -EIO;
	sqlite3_finalize(s);
	if (rc) {
		store_errf(err, rc, "%s: reading the schema version: %s", path,
		           sqlite3_errmsg(q->db));
		goto out;
	}
	if (have > known) {
		rc = store_errf(err, -ENOTSUP,
		                "%s: schema version %d is newer than this build knows (%d); "
		                "use a newer ixedge",
		                path, have, known);
		goto out;
	}
	for (int v = have + 1; v <= known && !rc; v++) {
		char ins[96];

		rc = sq_exec(q->db, migrations[v - 1]);
		if (rc) {
			store_errf(err, rc, "%s: migration %d: %s", path, v, sqlite3_errmsg(q->db));
			break;
		}
		snprintf(ins, sizeof(ins), "INSERT INTO schema_version VALUES (%d, %lld)", v,
		         (long long)(store_now_ms() / 1000));
		rc = sq_exec(q->db, ins);
		if (rc)
			store_errf(err, rc, "%s: migration %d: %s", path, v, sqlite3_errmsg(q->db));
	}
out:
	if (rc) {
		sq_exec(q->db, "ROLLBACK");
		return rc;
	}
	rc = sq_exec(q->db, "COMMIT");
	return rc ? store_errf(err, rc, "%s: commit: %s", path, sqlite3_errmsg(q->db)) : 0;
}

/* The file holds auth tokens and digest hashes: owner-only, and so are its -wal and -shm. */
/*
 * Creates the file with mode 0600 when it does not exist yet.  Never opens
 * an existing one: closing any descriptor of a file drops every POSIX lock
 * the process holds on it, including those of SQLite connections already
 * open (a second store_open() in one process would then let another
 * process checkpoint and truncate the WAL under them).
 */
static int file_create(const char *path, struct store_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0)
		return store_errf(err, -errno, "%s: %s", path, strerror(errno));
	close(fd);
	return 0;
}

/*
 * WAL: readers never wait for the writer, so ixctl and the daemon share the
 * file.  SQLite answers with the mode it ended up in, which stays the old
 * one where WAL cannot work (no shared memory on the file system).
 */
static int wal_on(sqlite3 *db)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL);

	if (rc != SQLITE_OK)
		return sq_errno(rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = strcmp((const char *)sqlite3_column_text(s, 0), "wal") ? -ENOTSUP : 0;
	else
		rc = sq_errno(sqlite3_reset(s));
	sqlite3_finalize(s);
	return rc;
}

int sq_open(struct store *st, const char *dir, struct store_err *err)
{
	static const char *const pragmas[] = {
	    /* FULL: a commit is on disk when COMMIT returns (see docs/STORE.md, durability). */
	    "PRAGMA synchronous = FULL",
	    "PRAGMA foreign_keys = ON",
	};
	struct sq *q;
	char *path;
	int rc;

	if (asprintf(&path, "%s/" STORE_DB_FILE, dir) < 0)
		return store_errf(err, -ENOMEM, "store: out of memory");
	q = calloc(1, sizeof(*q));
	rc = q ? file_create(path, err) : store_errf(err, -ENOMEM, "store: out of memory");
	if (rc)
		goto fail;
	rc = sqlite3_open_v2(path, &q->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
	                     NULL);
	if (rc != SQLITE_OK) {
		rc = store_errf(err, sq_errno(rc), "%s: %s", path,
		                q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(q->db, STORE_BUSY_MS);
	rc = wal_on(q->db);
	if (rc) {
		rc = store_errf(err, rc, "%s: cannot use WAL journaling: %s", path,
		                rc == -ENOTSUP ? "not supported by this file system"
		                               : sqlite3_errmsg(q->db));
		goto fail;
	}
	for (size_t i = 0; i < ARRAY_SIZE(pragmas); i++) {
		rc = sq_exec(q->db, pragmas[i]);
		if (rc) {
			rc = store_errf(err, rc, "%s: %s: %s", path, pragmas[i],
			                sqlite3_errmsg(q->db));
			goto fail;
		}
	}
	rc = migrate(q, path, err);
	if (rc)
		goto fail;
	free(path);
	st->be = q;
	return 0;
fail:
	if (q) {
		sqlite3_close_v2(q->db);
		free(q);
	}
	free(path);
	return rc;
}
