/* Settings other modules keep in the store: namespaced keys, short text values. */
#include <errno.h>
#include <string.h>

#include "store/store_priv.h"

/* "OWNER.NAME", printable ASCII: the store's own keys have no '.', so they stay out of reach. */
static int key_check(const char *key, struct store_err *err)
{
	size_t n = key ? strlen(key) : 0;

	if (n < 3 || n > STORE_SETTING_KEY_MAX || !strchr(key, '.') || key[0] == '.' ||
	    key[n - 1] == '.')
		return store_errf(err, -EINVAL,
		                  "setting: key '%.64s' must be OWNER.NAME, 3-%d bytes",
		                  key ? key : "", STORE_SETTING_KEY_MAX);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f)
			return store_errf(
			    err, -EINVAL,
			    "setting: key '%.64s' must be printable ASCII without spaces", key);
	}
	return 0;
}

int store_setting_get(struct store *st, const char *key, char *buf, size_t n, struct store_err *err)
{
	int rc = key_check(key, err);

	if (rc)
		return rc;
	rc = st->ops->setting_get(st, key, buf, n);
	if (rc == -ENOENT)
		return store_errf(err, rc, "setting %s: not set", key);
	if (rc == -E2BIG)
		return store_errf(err, rc, "setting %s: value longer than the buffer", key);
	if (rc)
		return store_errf(err, rc, "setting %s: %s", key, strerror(-rc));
	return 0;
}

int store_setting_set(struct store *st, const char *key, const char *value, struct store_err *err)
{
	int rc = key_check(key, err);

	if (rc)
		return rc;
	if (!value || strlen(value) > STORE_SETTING_VALUE_MAX)
		return store_errf(err, -EINVAL, "setting %s: value missing or longer than %d bytes",
		                  key, STORE_SETTING_VALUE_MAX);
	rc = store_txn_begin(st, true, err);
	if (rc)
		return rc;
	rc = st->ops->setting_set(st, key, value);
	if (rc)
		store_errf(err, rc, "setting %s: %s", key, strerror(-rc));
	return store_txn_end(st, rc, err);
}
