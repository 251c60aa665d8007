/* The smartvm.cmd= encoding of the guest's command (proto/guest_cmd.h). */
#include "svtest.h"
#include "qemu_fixture.h"

#include <stdlib.h>
#include <string.h>

static void assert_roundtrip(const char *const *argv)
{
	char *enc = sv_guest_cmd_encode(argv);
	assert_non_null(enc);
	for (const char *p = enc; *p; p++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
	char **back = NULL;
	assert_int_equal(sv_guest_cmd_decode(enc, &back), 0);
	size_t i = 0;
	for (; argv[i]; i++) {
		assert_non_null(back[i]);
		assert_string_equal(back[i], argv[i]);
	}
	assert_null(back[i]);
	free(back);
	free(enc);
}

static void test_known_encoding(void **state)
{
	(void)state;
	const char *argv[] = { "sh", "-c", "echo a b", NULL };
	char *enc = sv_guest_cmd_encode(argv);
	assert_string_equal(enc, "c2gALWMAZWNobyBhIGIA");
	free(enc);
}

static void test_awkward_arguments_survive(void **state)
{
	(void)state;
	const char *a[] = { "sh", "-c", "echo 'a b' \"c\" $X; printf '\\n'", "", "tab\there", "new\nline", NULL };
	assert_roundtrip(a);
	const char *b[] = { "x", NULL };
	assert_roundtrip(b);
	const char *c[] = { "ab", NULL };
	assert_roundtrip(c);
	const char *d[] = { "abc", "de", NULL };
	assert_roundtrip(d);
}

static void test_garbage_is_rejected(void **state)
{
	(void)state;
	char **argv = NULL;
	assert_int_equal(sv_guest_cmd_decode("", &argv), -1);
	assert_int_equal(sv_guest_cmd_decode("a", &argv), -1);
	assert_int_equal(sv_guest_cmd_decode("c2g=", &argv), -1);
	/* "sh" without its terminating NUL. */
	assert_int_equal(sv_guest_cmd_decode("c2g", &argv), -1);
	assert_null(argv);
}

static void test_empty_argv_is_not_encoded(void **state)
{
	(void)state;
	const char *argv[] = { NULL };
	assert_null(sv_guest_cmd_encode(argv));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_encoding),
		cmocka_unit_test(test_awkward_arguments_survive),
		cmocka_unit_test(test_garbage_is_rejected),
		cmocka_unit_test(test_empty_argv_is_not_encoded),
	};
	return svt_run_group(tests, NULL, NULL);
}
