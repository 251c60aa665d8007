/* The rules copies apply to names and link targets (src/agent/agent_copy_names.c). */
#include "svtest.h"

#include "agent/agent_copy.h"
#include <stdlib.h>

static void test_last_name_ignores_trailing_slashes(void **state)
{
	(void)state;
	const char *cases[][2] = {{"/a/b", "b"}, {"/a/b/", "b"}, {"b", "b"}, {"/", "/"},
				  {"//", "/"},	 {"a//", "a"},	 {"", ""},   {"/x/..", ".."}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *n = sva_copy_last_name(cases[i][0]);
		assert_string_equal(n, cases[i][1]);
		free(n);
	}
}

static void test_plain_names(void **state)
{
	(void)state;
	assert_true(sva_copy_name_is_plain("a"));
	assert_true(sva_copy_name_is_plain("..."));
	assert_false(sva_copy_name_is_plain(""));
	assert_false(sva_copy_name_is_plain("."));
	assert_false(sva_copy_name_is_plain(".."));
	assert_false(sva_copy_name_is_plain("/"));
}

static void test_links_leaving_the_tree_are_caught(void **state)
{
	(void)state;
	/* level: how deep the link's directory is below the top of the tree */
	assert_false(sva_copy_link_escapes("x", 0));
	assert_false(sva_copy_link_escapes("a/b/c", 0));
	assert_false(sva_copy_link_escapes("../x", 1));
	assert_false(sva_copy_link_escapes("./../../x", 2));
	assert_true(sva_copy_link_escapes("../x", 0));
	assert_true(sva_copy_link_escapes("../../x", 1));
	assert_true(sva_copy_link_escapes("/etc/passwd", 5));
	assert_true(sva_copy_link_escapes("", 3));
	/* ".." after a name: the name may be a link itself. */
	assert_true(sva_copy_link_escapes("a/../x", 3));
	assert_true(sva_copy_link_escapes("a/./..", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_last_name_ignores_trailing_slashes),
	    cmocka_unit_test(test_plain_names),
	    cmocka_unit_test(test_links_leaving_the_tree_are_caught),
	};
	return svt_run_group(tests, NULL, NULL);
}
