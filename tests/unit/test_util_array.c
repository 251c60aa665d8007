/* util/array: growth of typed arrays. */
#include "svtest.h"

#include "util/array.h"
#include <stdint.h>
#include <stdlib.h>

static void test_grows_from_first_then_doubles_and_keeps_the_items(void **state)
{
	(void)state;
	int *items = NULL;
	size_t len = 0, cap = 0;
	for (int i = 0; i < 100; i++) {
		int *grown = sv_array_grow(items, &cap, len, sizeof(*items), 4);
		assert_non_null(grown);
		items = grown;
		items[len++] = i;
		assert_true(cap >= len);
	}
	assert_int_equal(cap, 128); /* 4, 8, ..., 128 */
	for (int i = 0; i < 100; i++)
		assert_int_equal(items[i], i);
	free(items);
}

static void test_room_left_returns_the_same_block(void **state)
{
	(void)state;
	size_t cap = 0;
	char *items = sv_array_grow(NULL, &cap, 0, 1, 16);
	assert_non_null(items);
	assert_int_equal(cap, 16);
	assert_ptr_equal(sv_array_grow(items, &cap, 15, 1, 16), items);
	assert_int_equal(cap, 16);
	free(items);
}

static void test_a_size_that_overflows_fails_and_leaves_the_array_alone(void **state)
{
	(void)state;
	size_t cap = 0;
	uint64_t *items = sv_array_grow(NULL, &cap, 0, sizeof(*items), 2);
	assert_non_null(items);
	items[0] = 42;
	size_t huge = SIZE_MAX / sizeof(*items);
	size_t before = huge;
	assert_null(sv_array_grow(items, &before, huge, sizeof(*items), 2));
	assert_int_equal(before, huge);
	assert_int_equal(items[0], 42);
	free(items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grows_from_first_then_doubles_and_keeps_the_items),
	    cmocka_unit_test(test_room_left_returns_the_same_block),
	    cmocka_unit_test(test_a_size_that_overflows_fails_and_leaves_the_array_alone),
	};
	return svt_run_group(tests, NULL, NULL);
}
