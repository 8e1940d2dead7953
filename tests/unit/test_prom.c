/* Unit tests: Prometheus text writers (exact output, escaping, header once, bad names). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ixedge/prom.h"

static void test_family_exact(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(prom_header(&b, "ixedge_calls", "gauge", "Live calls."), 0);
	assert_int_equal(prom_value(&b, "ixedge_calls", NULL, 0, 3), 0);
	assert_int_equal(prom_header(&b, "ixedge_messages_in_total", "counter",
	                             "SIP messages received, by method and transport."),
	                 0);
	assert_int_equal(prom_value(&b, "ixedge_messages_in_total",
	                            PROM_LABELS({"method", "INVITE"}, {"transport", "udp"}), 12),
	                 0);
	/* Header again for the family just written: no second HELP/TYPE. */
	assert_int_equal(prom_header(&b, "ixedge_messages_in_total", "counter", "ignored"), 0);
	assert_int_equal(prom_value(&b, "ixedge_messages_in_total",
	                            PROM_LABELS({"method", "BYE"}, {"transport", "tcp"}), 0),
	                 0);
	assert_int_equal(prom_header(&b, "ixedge_up", "untyped", NULL), 0);
	assert_int_equal(prom_value(&b, "ixedge_up", NULL, 0, 1), 0);
	assert_string_equal(b.p,
	                    "# HELP ixedge_calls Live calls.\n"
	                    "# TYPE ixedge_calls gauge\n"
	                    "ixedge_calls 3\n"
	                    "# HELP ixedge_messages_in_total SIP messages received, by "
	                    "method and transport.\n"
	                    "# TYPE ixedge_messages_in_total counter\n"
	                    "ixedge_messages_in_total{method=\"INVITE\",transport=\"udp\"} 12\n"
	                    "ixedge_messages_in_total{method=\"BYE\",transport=\"tcp\"} 0\n"
	                    "# TYPE ixedge_up untyped\n"
	                    "ixedge_up 1\n");
	buf_free(&b);
}

static void test_header_reopened(void **state)
{
	struct buf b = {0};
	size_t len;

	(void)state;
	assert_int_equal(prom_header(&b, "a_total", "counter", "A."), 0);
	assert_int_equal(prom_header(&b, "b", "gauge", "B."), 0);
	len = b.len;
	/* a's block is closed: a second one would be an invalid exposition. */
	assert_int_equal(prom_header(&b, "a_total", "counter", "A."), -EEXIST);
	assert_int_equal(b.len, len);
	/* A name that merely starts like an earlier one is a different family. */
	assert_int_equal(prom_header(&b, "a", "gauge", NULL), 0);
	assert_int_equal(prom_header(&b, "b_x", "gauge", NULL), 0);
	assert_int_equal(prom_header(&b, "b", "gauge", "B."), -EEXIST);
	assert_string_equal(b.p, "# HELP a_total A.\n# TYPE a_total counter\n"
	                         "# HELP b B.\n# TYPE b gauge\n"
	                         "# TYPE a gauge\n# TYPE b_x gauge\n");
	buf_free(&b);
}

static void test_escaping(void **state)
{
	struct buf b = {0};

	(void)state;
	/* HELP: backslash and newline escaped, quotes kept. */
	assert_int_equal(prom_header(&b, "x", "gauge", "a \"q\" \\ b\nc"), 0);
	/* Label values: backslash, quote and newline escaped. */
	assert_int_equal(prom_value(&b, "x", PROM_LABELS({"path", "C:\\dir\\"}), 1), 0);
	assert_int_equal(prom_value(&b, "x", PROM_LABELS({"reason", "say \"hi\"\nbye"}), 2), 0);
	assert_int_equal(prom_value(&b, "x", PROM_LABELS({"empty", ""}), 3), 0);
	assert_string_equal(b.p, "# HELP x a \"q\" \\\\ b\\nc\n"
	                         "# TYPE x gauge\n"
	                         "x{path=\"C:\\\\dir\\\\\"} 1\n"
	                         "x{reason=\"say \\\"hi\\\"\\nbye\"} 2\n"
	                         "x{empty=\"\"} 3\n");
	buf_free(&b);
}

static void test_values(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(prom_value(&b, "v", NULL, 0, 0.1), 0);
	assert_int_equal(prom_value(&b, "v", NULL, 0, -2.5), 0);
	assert_int_equal(prom_value(&b, "v", NULL, 0, 9007199254740993.0), 0);
	assert_int_equal(prom_value(&b, "v", NULL, 0, 1e300), 0);
	assert_int_equal(prom_value(&b, "v", NULL, 0, 1.0 / 3.0), 0);
	assert_int_equal(prom_value(&b, "v", NULL, 0, NAN), 0);
	assert_int_equal(prom_value(&b, "v", NULL, 0, INFINITY), 0);
	assert_int_equal(prom_value(&b, "v", NULL, 0, -INFINITY), 0);
	assert_string_equal(b.p, "v 0.1\nv -2.5\nv 9007199254740992\nv 1e+300\n"
	                         "v 0.33333333333333331\nv NaN\nv +Inf\nv -Inf\n");
	buf_free(&b);
}

static void test_bad_names(void **state)
{
	static const char *const bad[] = {"", "1abc", "a-b", "a b", "é", "a.b", "a{", NULL};
	static const char *const good[] = {"a", "_", ":", "a:b_c9", "ixedge_calls", "A_Z"};
	struct buf b = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_false(prom_name_valid(bad[i]));
		assert_int_equal(prom_header(&b, bad[i], "gauge", "h"), -EINVAL);
		assert_int_equal(prom_value(&b, bad[i], NULL, 0, 1), -EINVAL);
	}
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_true(prom_name_valid(good[i]));
	assert_int_equal(prom_header(&b, "ok", "counters", "h"), -EINVAL);
	assert_int_equal(prom_header(&b, "ok", NULL, "h"), -EINVAL);
	/* Label names: no colon, no leading digit, no repeats, values present. */
	assert_int_equal(prom_value(&b, "ok", PROM_LABELS({"a:b", "v"}), 1), -EINVAL);
	assert_int_equal(prom_value(&b, "ok", PROM_LABELS({"9a", "v"}), 1), -EINVAL);
	assert_int_equal(prom_value(&b, "ok", PROM_LABELS({"a", "v"}, {"a", "w"}), 1), -EINVAL);
	assert_int_equal(prom_value(&b, "ok", PROM_LABELS({"a", NULL}), 1), -EINVAL);
	assert_int_equal(prom_value(&b, "ok", NULL, 2, 1), -EINVAL);
	assert_int_equal(b.len, 0); /* nothing half-written */
	buf_free(&b);
}

static void test_error_keeps_buffer(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(prom_value(&b, "a", NULL, 0, 1), 0);
	assert_int_equal(prom_value(&b, "a", PROM_LABELS({"k", "v"}, {"bad-key", "v"}), 2),
	                 -EINVAL);
	assert_string_equal(b.p, "a 1\n");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_family_exact), cmocka_unit_test(test_header_reopened),
	    cmocka_unit_test(test_escaping),     cmocka_unit_test(test_values),
	    cmocka_unit_test(test_bad_names),    cmocka_unit_test(test_error_keeps_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
