/* util/lazy_lib: a library loaded at its first use fills its table, runs
 * its init once, and a library or symbol that is not there is an error that
 * names it and the package to install, the same at every later call. */
#include "svtest.h"

#include "util/error.h"
#include "util/lazy_lib.h"
#include <string.h>
#include <unistd.h>

#define LIBC_FUNCTIONS(X, T) X(T, pid, getpid) X(T, length, strlen)

SV_LAZY_TABLE(LIBC_FUNCTIONS, libc_api);

static const sv_lazy_symbol libc_symbols[] = SV_LAZY_SYMBOLS(LIBC_FUNCTIONS, libc_api);

static int init_calls;

static const char *count_init(void *table)
{
	(void)table;
	init_calls++;
	return NULL;
}

static void test_a_library_is_loaded_once_and_its_table_works(void **state)
{
	(void)state;
	static libc_api api;
	static sv_lazy_lib lib = SV_LAZY_LIB_INIT("libc.so.6", "libc6", libc_symbols, &api, count_init);
	init_calls = 0;
	assert_int_equal(sv_lazy_lib_load(&lib), 0);
	assert_int_equal(sv_lazy_lib_load(&lib), 0);
	assert_int_equal(init_calls, 1);
	assert_int_equal(api.pid(), getpid());
	assert_int_equal(api.length("lazy"), 4);
}

static void test_a_missing_library_names_itself_and_its_package(void **state)
{
	(void)state;
	static libc_api api;
	static sv_lazy_lib lib =
	    SV_LAZY_LIB_INIT("libsmartvm-test-absent.so.9", "smartvm-absent", libc_symbols, &api, count_init);
	init_calls = 0;
	assert_int_equal(sv_lazy_lib_load(&lib), SV_EUNSUPPORTED);
	svt_assert_contains(sv_last_error(), "libsmartvm-test-absent.so.9");
	svt_assert_contains(sv_last_error(), "smartvm-absent package");
	/* Not retried, and the same answer. */
	assert_int_equal(sv_lazy_lib_load(&lib), SV_EUNSUPPORTED);
	svt_assert_contains(sv_last_error(), "libsmartvm-test-absent.so.9");
	assert_int_equal(init_calls, 0);
	assert_null(api.pid);
}

static const sv_lazy_symbol absent_symbol[] = {{"smartvm_no_such_function", offsetof(libc_api, pid)}};

static void test_a_missing_symbol_fails_the_load(void **state)
{
	(void)state;
	static libc_api api;
	static sv_lazy_lib lib = SV_LAZY_LIB_INIT("libc.so.6", "libc6", absent_symbol, &api, count_init);
	init_calls = 0;
	assert_int_equal(sv_lazy_lib_load(&lib), SV_EUNSUPPORTED);
	svt_assert_contains(sv_last_error(), "no symbol smartvm_no_such_function");
	assert_int_equal(init_calls, 0);
}

/* A program that links the library hands its own functions over: the
 * soname is never looked for (here it does not exist). */
static void test_a_linked_table_stands_for_the_library(void **state)
{
	(void)state;
	static libc_api api;
	static sv_lazy_lib lib =
	    SV_LAZY_LIB_INIT("libsmartvm-test-absent.so.9", "smartvm-absent", libc_symbols, &api, count_init);
	static const libc_api linked = SV_LAZY_LINKED(LIBC_FUNCTIONS, libc_api);
	init_calls = 0;
	sv_lazy_lib_use(&lib, &linked, sizeof(linked));
	assert_int_equal(init_calls, 1);
	assert_int_equal(sv_lazy_lib_load(&lib), 0);
	assert_int_equal(api.pid(), getpid());
	/* Handed over twice: the first stays, and init ran once. */
	sv_lazy_lib_use(&lib, &linked, sizeof(linked));
	assert_int_equal(init_calls, 1);
}

static const char *failing_init(void *table)
{
	(void)table;
	return "its set-up refused";
}

static void test_a_failed_init_fails_the_load_for_good(void **state)
{
	(void)state;
	static libc_api api;
	static sv_lazy_lib lib = SV_LAZY_LIB_INIT("libc.so.6", "libc6", libc_symbols, &api, failing_init);
	assert_int_equal(sv_lazy_lib_load(&lib), SV_EUNSUPPORTED);
	svt_assert_contains(sv_last_error(), "its set-up refused");
	assert_int_equal(sv_lazy_lib_load(&lib), SV_EUNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_library_is_loaded_once_and_its_table_works),
	    cmocka_unit_test(test_a_missing_library_names_itself_and_its_package),
	    cmocka_unit_test(test_a_missing_symbol_fails_the_load),
	    cmocka_unit_test(test_a_linked_table_stands_for_the_library),
	    cmocka_unit_test(test_a_failed_init_fails_the_load_for_good),
	};
	return svt_run_group(tests, NULL, NULL);
}
