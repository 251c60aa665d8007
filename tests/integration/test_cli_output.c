/* What `smartvm` shows on stderr besides its errors: the library's messages
 * at the level --log-level / SMARTVM_LOG chooses, and download progress bars
 * (--progress). The library prints nothing itself (test_library_silent); the
 * CLI installs its callbacks. Downloads come from 127.0.0.1. */
#include "svtest.h"

#include "httpfixture.h"
#include "imagesfixture.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG "v1.16.1"

typedef struct {
	char *dir;
	svt_http *http, *empty;
	char env_releases[256];
	const char *env[3];
	char *tgz;
	size_t tgz_len;
	char *out, *err;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->http = svt_http_start();
	snprintf(f->env_releases, sizeof(f->env_releases), "SMARTVM_RELEASES_URL=%s/releases",
		 svt_http_base(f->http));
	f->env[0] = f->env_releases;
	f->env[1] = "SMARTVM_LOG=";
	svt_release_tgz(TAG, "x86_64", &f->tgz, &f->tgz_len);
	svt_serve_release(f->http, TAG, "x86_64", f->tgz, f->tgz_len, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	svt_http_stop(f->http);
	svt_http_stop(f->empty);
	free(f->tgz);
	free(f->out);
	free(f->err);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

/* smartvm [before...] binary ensure [after...] --data-dir DIR */
static int ensure(fixture *f, const char *before, const char *after)
{
	const char *args[8];
	int n = 0;
	if (before)
		args[n++] = before;
	args[n++] = "binary";
	args[n++] = "ensure";
	if (after)
		args[n++] = after;
	args[n++] = "--data-dir";
	args[n++] = f->dir;
	args[n] = NULL;
	free(f->out);
	free(f->err);
	f->out = f->err = NULL;
	return svt_run_cli(args, f->env, &f->out, &f->err);
}

static void test_progress_always_draws_a_bar_per_download(void **state)
{
	fixture *f = *state;
	assert_int_equal(ensure(f, "--progress=always", NULL), 0);
	svt_assert_contains(f->err, "\rfirecracker-" TAG "-x86_64.tgz");
	svt_assert_contains(f->err, "] 100% ");
	/* One line, ended once the download is. */
	char *nl = strchr(f->err, '\n');
	assert_non_null(nl);
	assert_string_equal(nl, "\n");
}

static void test_progress_never_and_auto_without_a_terminal_draw_nothing(void **state)
{
	fixture *f = *state;
	assert_int_equal(ensure(f, NULL, "--progress=never"), 0);
	assert_string_equal(f->err, "");
	/* auto: stderr is a pipe here. A fresh data dir downloads again. */
	svt_rm_tmpdir(f->dir);
	f->dir = svt_tmpdir();
	assert_int_equal(ensure(f, "--progress=auto", NULL), 0);
	assert_string_equal(f->err, "");
}

static void test_progress_rejects_other_values(void **state)
{
	fixture *f = *state;
	assert_int_equal(ensure(f, NULL, "--progress=sometimes"), 2);
	svt_assert_contains(f->err,
			    "smartvm binary: --progress: \"sometimes\" is not auto, always or never\n");
}

/* "latest" unresolvable (a server that answers 404, so no retries) with a
 * release cached: the library warns and uses it. The warning shows at the
 * default level, not with error. */
static void test_library_warnings_show_at_the_chosen_level(void **state)
{
	fixture *f = *state;
	assert_int_equal(ensure(f, NULL, NULL), 0);
	f->empty = svt_http_start();
	snprintf(f->env_releases, sizeof(f->env_releases), "SMARTVM_RELEASES_URL=%s/releases",
		 svt_http_base(f->empty));
	assert_int_equal(ensure(f, NULL, NULL), 0);
	svt_assert_contains(f->err,
			    "smartvm: warning: resolving the latest Firecracker release: downloading ");
	svt_assert_contains(f->err, "; using the newest cached Firecracker, " TAG "\n");
	assert_int_equal(ensure(f, "--log-level=error", NULL), 0);
	assert_string_equal(f->err, "");
	f->env[1] = "SMARTVM_LOG=error";
	assert_int_equal(ensure(f, NULL, NULL), 0);
	assert_string_equal(f->err, "");
	/* The flag wins over the environment. */
	assert_int_equal(ensure(f, NULL, "--log-level=warning"), 0);
	svt_assert_contains(f->err, "smartvm: warning: resolving the latest Firecracker release");
}

static void test_bad_log_levels_are_reported(void **state)
{
	fixture *f = *state;
	assert_int_equal(ensure(f, "--log-level=loud", NULL), 2);
	assert_string_equal(
	    f->err, "smartvm: --log-level: \"loud\" is not a log level (error, warning, info, debug)\n"
		    "Run 'smartvm --help' for the list of commands.\n");
	f->env[1] = "SMARTVM_LOG=loud";
	assert_int_equal(ensure(f, NULL, NULL), 0);
	assert_string_equal(f->err,
			    "smartvm: warning: SMARTVM_LOG: \"loud\" is not a log level (error, warning, "
			    "info, debug); showing warnings\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_progress_always_draws_a_bar_per_download, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_progress_never_and_auto_without_a_terminal_draw_nothing,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_progress_rejects_other_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_library_warnings_show_at_the_chosen_level, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_log_levels_are_reported, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
