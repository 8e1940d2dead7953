/* Unit tests: the timer heap (order, cancel, restart from handlers, bulk random order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ixedge/tmr.h"

struct rec {
	int order[64];
	int n;
};

struct item {
	struct tmr t;
	struct rec *rec;
	int id;
	struct tmr_heap *hp;
	struct item *cancel_me;
	int restart;
};

static void fire_h(void *arg)
{
	struct item *it = arg;

	it->rec->order[it->rec->n++] = it->id;
	if (it->cancel_me)
		tmr_cancel(&it->cancel_me->t);
	if (it->restart-- > 0)
		tmr_start(&it->t, it->hp, 0, fire_h, it);
}

static void test_order_and_cancel(void **state)
{
	struct tmr_heap hp;
	struct rec rec = {0};
	struct item it[5] = {0};
	static const uint64_t delays[5] = {30, 10, 20, 10, 50};

	(void)state;
	tmr_heap_init(&hp, 1000);
	for (int i = 0; i < 5; i++) {
		it[i] = (struct item){.rec = &rec, .id = i, .hp = &hp};
		assert_int_equal(tmr_start(&it[i].t, &hp, delays[i], fire_h, &it[i]), 0);
	}
	assert_int_equal(tmr_heap_next(&hp), 10);
	tmr_cancel(&it[2].t);
	tmr_cancel(&it[2].t); /* idempotent */
	assert_false(tmr_running(&it[2].t));
	it[1].cancel_me = &it[0]; /* a handler cancels another timer */
	assert_int_equal(tmr_heap_run(&hp, 1009), 0);
	assert_int_equal(tmr_heap_run(&hp, 1010), 2); /* ids 1 then 3: FIFO among equals */
	assert_int_equal(rec.order[0], 1);
	assert_int_equal(rec.order[1], 3);
	assert_int_equal(tmr_left(&it[4].t), 40);
	assert_int_equal(tmr_heap_run(&hp, 2000), 1);
	assert_int_equal(rec.order[2], 4);
	assert_int_equal(tmr_heap_count(&hp), 0);
	assert_int_equal(tmr_heap_next(&hp), -1);
	tmr_heap_fini(&hp);
}

static void test_restart_in_handler(void **state)
{
	struct tmr_heap hp;
	struct rec rec = {0};
	struct item it = {.rec = &rec, .id = 7, .restart = 3};

	(void)state;
	tmr_heap_init(&hp, 0);
	it.hp = &hp;
	tmr_start(&it.t, &hp, 5, fire_h, &it);
	/* a zero-delay restart fires in the next run, never in the same one */
	assert_int_equal(tmr_heap_run(&hp, 5), 1);
	assert_int_equal(tmr_heap_run(&hp, 5), 1);
	assert_int_equal(tmr_heap_run(&hp, 5), 1);
	assert_int_equal(tmr_heap_run(&hp, 5), 1);
	assert_int_equal(tmr_heap_run(&hp, 5), 0);
	assert_int_equal(rec.n, 4);
	tmr_heap_fini(&hp);
}

static void test_many_random(void **state)
{
	enum { N = 5000 };
	struct tmr_heap hp;
	struct tmr *t = calloc(N, sizeof(*t));
	uint64_t last = 0;
	unsigned fired = 0, cancelled = 0;

	(void)state;
	srand(42);
	tmr_heap_init(&hp, 0);
	for (int i = 0; i < N; i++)
		tmr_start(&t[i], &hp, (uint64_t)(rand() % 100000), fire_h, NULL);
	for (int i = 0; i < N; i += 3) {
		tmr_cancel(&t[i]);
		cancelled++;
	}
	/* pop in deadline order: every fired timer's deadline is >= the previous one */
	while (tmr_heap_count(&hp)) {
		struct tmr *top = hp.v[0];

		assert_true(top->due >= last);
		last = top->due;
		tmr_cancel(top);
		fired++;
	}
	assert_int_equal(fired + cancelled, N);
	tmr_heap_fini(&hp);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_and_cancel),
	    cmocka_unit_test(test_restart_in_handler),
	    cmocka_unit_test(test_many_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
