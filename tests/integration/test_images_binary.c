/* The Firecracker binary manager against a release page served on 127.0.0.1. */
#include "svtest.h"

#include "httpfixture.h"
#include "imagesfixture.h"
#include "logcapture.h"
#include "util/file.h"
#include "util/spawn.h"
#include <pthread.h>
#include <smartvm/error.h>
#include <smartvm/images.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG "v1.9.2"

typedef struct {
	char *dir;
	svt_http *http;
	char *releases;
	char *tgz;
	size_t tgz_len;
	sv_download_options dl;
	sv_binary_options o;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->http = svt_http_start();
	f->releases = svt_http_url(f->http, "/releases");
	svt_release_tgz(TAG, "x86_64", &f->tgz, &f->tgz_len);
	f->dl = (sv_download_options){
	    .version = SV_DOWNLOAD_OPTIONS_VERSION, .max_retries = -1, .low_speed_time_s = 2};
	f->o = (sv_binary_options){.version = SV_BINARY_OPTIONS_VERSION,
				   .data_dir = f->dir,
				   .releases_url = f->releases,
				   .download = &f->dl};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	svt_http_stop(f->http);
	free(f->releases);
	free(f->tgz);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

static char *bin_dir(fixture *f) { return sv_path_join(f->dir, "bin"); }

/* Only the lock file may remain in <data_dir>/bin after a failure. */
static void assert_bin_dir_has_no_release(fixture *f)
{
	char *bin = bin_dir(f);
	char *tag_dir = sv_path_join(bin, TAG);
	assert_false(sv_path_exists(tag_dir));
	assert_int_equal(svt_dir_entries(bin), 1);
	free(tag_dir);
	free(bin);
}

static void test_latest_is_resolved_downloaded_verified_and_installed(void **state)
{
	fixture *f = *state;
	svt_serve_release(f->http, TAG, "x86_64", f->tgz, f->tgz_len, NULL);
	char *path = NULL;
	assert_int_equal(sv_ensure_binary(&path, &f->o), 0);
	char expected[512];
	snprintf(expected, sizeof(expected), "%s/bin/" TAG "/firecracker", f->dir);
	assert_string_equal(path, expected);
	char *text = NULL;
	assert_int_equal(sv_read_file(path, 1024, &text, NULL), 0);
	assert_string_equal(text, "firecracker " TAG "\n");
	free(text);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	char *tag_dir = sv_path_join(f->dir, "bin/" TAG);
	assert_int_equal(svt_dir_entries(tag_dir), 2); /* firecracker and jailer only */
	char *bin = bin_dir(f);
	assert_int_equal(svt_dir_entries(bin), 2); /* the release and its lock */
	assert_int_equal(svt_http_hits(f->http, "/releases/latest"), 1);
	free(bin);
	free(tag_dir);
	free(path);
}

static void test_cached_version_needs_no_network(void **state)
{
	fixture *f = *state;
	svt_serve_release(f->http, TAG, "x86_64", f->tgz, f->tgz_len, NULL);
	f->o.firecracker_version = TAG;
	char *first = NULL, *second = NULL, *cached = NULL;
	assert_int_equal(sv_ensure_binary(&first, &f->o), 0);
	assert_int_equal(svt_http_total_hits(f->http), 2); /* .sha256.txt and .tgz, no "latest" */
	/* With the server gone any request would fail: success means none was made. */
	svt_http_stop(f->http);
	f->http = NULL;
	assert_int_equal(sv_ensure_binary(&second, &f->o), 0);
	assert_string_equal(first, second);
	assert_int_equal(sv_firecracker_binary_cached(&cached, f->dir, "latest", SV_ARCH_X86_64), 0);
	assert_string_equal(cached, first);
	free(cached);
	free(first);
	free(second);
}

static void test_binary_cached_reports_not_found(void **state)
{
	fixture *f = *state;
	char *path = NULL;
	assert_int_equal(sv_firecracker_binary_cached(&path, f->dir, "v1.0.0", SV_ARCH_X86_64), SV_ENOTFOUND);
	assert_null(path);
	assert_int_equal(sv_firecracker_binary_cached(&path, f->dir, NULL, SV_ARCH_X86_64), SV_ENOTFOUND);
}

static void test_latest_falls_back_to_the_newest_cached_release_offline(void **state)
{
	fixture *f = *state;
	svt_serve_release(f->http, TAG, "x86_64", f->tgz, f->tgz_len, NULL);
	char *first = NULL, *second = NULL;
	assert_int_equal(sv_ensure_binary(&first, &f->o), 0);
	svt_http_stop(f->http);
	f->http = NULL;
	svt_log_begin(SV_LOG_WARN);
	assert_int_equal(sv_ensure_binary(&second, &f->o), 0);
	char *err = svt_log_end();
	assert_string_equal(first, second);
	assert_non_null(strstr(err, "warning: resolving the latest Firecracker release: downloading "));
	assert_non_null(strstr(err, "/releases/latest: "));
	assert_non_null(strstr(err, "; using the newest cached Firecracker, " TAG "\n"));
	free(err);
	free(first);
	free(second);
}

static void test_explicit_version_is_validated(void **state)
{
	fixture *f = *state;
	f->o.firecracker_version = "1.9";
	char *path = NULL;
	assert_int_equal(sv_ensure_binary(&path, &f->o), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "ensuring the Firecracker binary (1.9, x86_64): "
			    "firecracker_version: \"1.9\" is not \"latest\" or vMAJOR.MINOR.PATCH");
	assert_int_equal(svt_http_total_hits(f->http), 0);
}

static void test_binary_path_skips_lookup_and_download(void **state)
{
	fixture *f = *state;
	f->o.binary_path = "/bin/true";
	char *path = NULL;
	assert_int_equal(sv_ensure_binary(&path, &f->o), 0);
	assert_string_equal(path, "/bin/true");
	assert_int_equal(svt_http_total_hits(f->http), 0);
	free(path);
	f->o.binary_path = "/nonexistent/firecracker";
	assert_int_equal(sv_ensure_binary(&path, &f->o), SV_ENOTFOUND);
	assert_string_equal(sv_last_error(),
			    "firecracker_binary_path: /nonexistent/firecracker is not an executable file");
}

static void test_checksum_mismatch_installs_nothing(void **state)
{
	fixture *f = *state;
	svt_serve_release(f->http, TAG, "x86_64", f->tgz, f->tgz_len,
			  "0000000000000000000000000000000000000000000000000000000000000000");
	char *path = NULL;
	assert_int_equal(sv_ensure_binary(&path, &f->o), SV_ECHECKSUM);
	assert_non_null(
	    strstr(sv_last_error(),
		   "firecracker-" TAG "-x86_64.tgz: SHA-256 mismatch: "
		   "expected 0000000000000000000000000000000000000000000000000000000000000000, got "));
	assert_bin_dir_has_no_release(f);
}

static void serve_hostile(fixture *f, const svt_tar_entry *e, size_t n)
{
	char *tgz;
	size_t len;
	svt_make_tgz(e, n, &tgz, &len);
	svt_serve_release(f->http, TAG, "x86_64", tgz, len, NULL);
	free(tgz);
}

static void test_tarball_with_dotdot_entry_installs_nothing(void **state)
{
	fixture *f = *state;
	const svt_tar_entry e[] = {
	    {"release-" TAG "-x86_64/firecracker-" TAG "-x86_64", 'f', "fc", 0},
	    {"release-" TAG "-x86_64/jailer-" TAG "-x86_64", 'f', "j", 0},
	    {"../../../tmp/evil", 'f', "evil", 0},
	};
	serve_hostile(f, e, 3);
	char *path = NULL;
	assert_int_equal(sv_ensure_binary(&path, &f->o), SV_EARCHIVE);
	assert_non_null(strstr(sv_last_error(), "unsafe entry \"../../../tmp/evil\": contains \"..\""));
	assert_bin_dir_has_no_release(f);
}

static void test_tarball_with_symlinked_firecracker_installs_nothing(void **state)
{
	fixture *f = *state;
	const svt_tar_entry e[] = {
	    {"release-" TAG "-x86_64/firecracker-" TAG "-x86_64", 'l', "/bin/sh", 0},
	    {"release-" TAG "-x86_64/jailer-" TAG "-x86_64", 'f', "j", 0},
	};
	serve_hostile(f, e, 2);
	char *path = NULL;
	assert_int_equal(sv_ensure_binary(&path, &f->o), SV_EARCHIVE);
	assert_non_null(strstr(sv_last_error(), "entry \"release-" TAG "-x86_64/firecracker-" TAG
						"-x86_64\" is a symbolic link"));
	assert_bin_dir_has_no_release(f);
}

#define TGZ_PATH "/releases/download/" TAG "/firecracker-" TAG "-x86_64.tgz"

/* Routes path with a fault first (earlier routes win), then the release. */
static void serve_release_with_fault(fixture *f, const char *path, svt_fault fault)
{
	svt_http_route(f->http, path, NULL,
		       &(svt_http_response){.body = f->tgz, .body_len = f->tgz_len, .fault = fault});
	svt_serve_release(f->http, TAG, "x86_64", f->tgz, f->tgz_len, NULL);
}

static void expect_release_failure(fixture *f, int code, const char *path, const char *why)
{
	char *p = NULL;
	char expected[1024];
	snprintf(expected, sizeof(expected),
		 "ensuring the Firecracker binary (%s, x86_64): downloading %s%s: %s", TAG,
		 svt_http_base(f->http), path, why);
	long long start = sv_now_ms();
	assert_int_equal(sv_ensure_binary(&p, &f->o), code);
	assert_string_equal(sv_last_error(), expected);
	assert_true(sv_now_ms() - start < 10000);
	assert_null(p);
	assert_bin_dir_has_no_release(f);
	/* The tag's lock is free again. */
	char *bin = bin_dir(f);
	char *lock = sv_path_join(bin, "." TAG ".lock");
	int fd = -1;
	assert_int_equal(sv_lock_file(lock, 0, &fd), 0);
	close(fd);
	free(lock);
	free(bin);
}

static void test_endless_release_archive_stops_at_max_bytes(void **state)
{
	fixture *f = *state;
	serve_release_with_fault(f, TGZ_PATH, SVT_FAULT_ENDLESS);
	f->dl.max_bytes = 65536;
	expect_release_failure(f, SV_ECHECKSUM, TGZ_PATH, "larger than the limit of 65536 bytes (max_bytes)");
}

static void test_trickling_release_archive_meets_the_deadline(void **state)
{
	fixture *f = *state;
	serve_release_with_fault(f, TGZ_PATH, SVT_FAULT_TRICKLE);
	f->dl.low_speed_limit = 1;
	f->dl.timeout_ms = 1000;
	expect_release_failure(f, SV_EDOWNLOAD, TGZ_PATH, "not finished within 1000 ms (timeout_ms)");
}

static void test_endless_checksum_file_stops_at_its_limit(void **state)
{
	fixture *f = *state;
	serve_release_with_fault(f, TGZ_PATH ".sha256.txt", SVT_FAULT_ENDLESS);
	expect_release_failure(f, SV_EDOWNLOAD, TGZ_PATH ".sha256.txt", "response larger than 4096 bytes");
}

static void test_missing_release_is_a_clear_error(void **state)
{
	fixture *f = *state;
	f->o.firecracker_version = "v9.9.9";
	char *path = NULL;
	char expected[512];
	snprintf(expected, sizeof(expected),
		 "ensuring the Firecracker binary (v9.9.9, x86_64): downloading "
		 "%s/download/v9.9.9/firecracker-v9.9.9-x86_64.tgz.sha256.txt: HTTP 404",
		 f->releases);
	assert_int_equal(sv_ensure_binary(&path, &f->o), SV_EDOWNLOAD);
	assert_string_equal(sv_last_error(), expected);
}

typedef struct {
	fixture *f;
	char *path;
	int rc;
} worker;

static void *ensure_in_thread(void *arg)
{
	worker *w = arg;
	w->rc = sv_ensure_binary(&w->path, &w->f->o);
	return NULL;
}

static void test_concurrent_callers_download_once(void **state)
{
	fixture *f = *state;
	/* A slow answer keeps the first download in flight while the others wait. */
	f->o.firecracker_version = TAG;
	char path[256];
	snprintf(path, sizeof(path), "/releases/download/" TAG "/firecracker-" TAG "-x86_64.tgz");
	svt_http_response slow = {.body = f->tgz, .body_len = f->tgz_len, .delay_ms = 300};
	svt_http_route(f->http, path, NULL, &slow);
	svt_serve_release(f->http, TAG, "x86_64", f->tgz, f->tgz_len, NULL);
	worker w[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (worker){.f = f};
		assert_int_equal(pthread_create(&t[i], NULL, ensure_in_thread, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].rc, 0);
		assert_string_equal(w[i].path, w[0].path);
	}
	for (int i = 0; i < 4; i++)
		free(w[i].path);
	assert_int_equal(svt_http_hits(f->http, path), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_latest_is_resolved_downloaded_verified_and_installed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cached_version_needs_no_network, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binary_cached_reports_not_found, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_latest_falls_back_to_the_newest_cached_release_offline,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_explicit_version_is_validated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binary_path_skips_lookup_and_download, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checksum_mismatch_installs_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tarball_with_dotdot_entry_installs_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tarball_with_symlinked_firecracker_installs_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_endless_release_archive_stops_at_max_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trickling_release_archive_meets_the_deadline, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_endless_checksum_file_stops_at_its_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_release_is_a_clear_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_callers_download_once, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
