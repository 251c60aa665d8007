/* Downloads are bounded in size and time: an endless body stops at the
 * manifest's sizeBytes or else at max_bytes, a trickle is cut by the low-speed
 * limit or the overall deadline, an endless error page is not read for ever;
 * each ends in one exact error, with no partial file, the cache as it was and
 * the bundle's lock free again. The limits are made small through the
 * options so every case runs in seconds. */
#include "svtest.h"

#include "basefixture.h"
#include "imagesfixture.h"
#include "util/file.h"
#include "util/spawn.h"
#include <smartvm/error.h>
#include <smartvm/images.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef svb_fixture fixture;

#define SHA1 "1111111111111111111111111111111111111111111111111111111111111111"

static void route_fault(fixture *f, const char *path, int status, svt_fault fault)
{
	svt_http_route(
	    f->http, path, NULL,
	    &(svt_http_response){
		.status = status, .body = f->rootfs, .body_len = sizeof(f->rootfs), .fault = fault});
}

/* The bundle's lock is free again: nobody waits on a failed pull. */
static void assert_bundle_lock_free(fixture *f)
{
	char *lock = sv_path_join(f->cache, ".b1.lock");
	int fd = -1;
	assert_int_equal(sv_lock_file(lock, 0, &fd), 0);
	close(fd);
	free(lock);
}

/* Pulls a manifest whose rootfs is path (size < 0: no sizeBytes) and expects
 * exactly "ensuring base image "b1": rootfs: downloading <url>: <why>". */
static void expect_rootfs_failure(fixture *f, const char *path, long long size, int code, const char *why)
{
	char *url = svb_serve_manifest(f, "bad", "b1", path, SHA1, size, NULL);
	char expected[1024];
	snprintf(expected, sizeof(expected), "ensuring base image \"b1\": rootfs: downloading %s%s: %s",
		 svt_http_base(f->http), path, why);
	svb_expect_failure_leaves_cache(f, url, code, expected);
	if (strcmp(sv_last_error(), expected) != 0)
		fail_msg("got \"%s\", expected \"%s\"", sv_last_error(), expected);
	assert_bundle_lock_free(f);
	free(url);
}

static void test_endless_body_stops_at_max_bytes(void **state)
{
	fixture *f = *state;
	route_fault(f, "/r/endless.ext4", 200, SVT_FAULT_ENDLESS);
	f->dl.max_bytes = 65536;
	expect_rootfs_failure(f, "/r/endless.ext4", -1, SV_ECHECKSUM,
			      "larger than the limit of 65536 bytes (max_bytes)");
}

static void test_endless_body_stops_at_the_stated_size(void **state)
{
	fixture *f = *state;
	route_fault(f, "/r/endless.ext4", 200, SVT_FAULT_ENDLESS);
	expect_rootfs_failure(f, "/r/endless.ext4", 4096, SV_ECHECKSUM,
			      "size mismatch: more than the expected 4096 bytes");
}

static void test_announced_length_beyond_the_stated_size_is_refused_before_the_body(void **state)
{
	fixture *f = *state;
	/* 4096 bytes announced and sent, 1000 stated: refused on the header. */
	expect_rootfs_failure(f, "/r/rootfs.ext4", 1000, SV_ECHECKSUM,
			      "size mismatch: more than the expected 1000 bytes");
}

static void test_trickle_below_the_low_speed_limit_is_cut(void **state)
{
	fixture *f = *state;
	route_fault(f, "/r/trickle.ext4", 200, SVT_FAULT_TRICKLE);
	f->dl.low_speed_limit = 100000;
	f->dl.low_speed_time_s = 1;
	long long start = sv_now_ms();
	expect_rootfs_failure(
	    f, "/r/trickle.ext4", -1, SV_EDOWNLOAD,
	    "Operation too slow. Less than 100000 bytes/sec transferred the last 1 seconds");
	assert_true(sv_now_ms() - start < 10000);
}

static void test_trickle_above_the_low_speed_limit_meets_the_deadline(void **state)
{
	fixture *f = *state;
	route_fault(f, "/r/trickle.ext4", 200, SVT_FAULT_TRICKLE);
	f->dl.low_speed_limit = 1;
	f->dl.max_retries = 3; /* the deadline covers the retries too */
	f->dl.timeout_ms = 1500;
	long long start = sv_now_ms();
	expect_rootfs_failure(f, "/r/trickle.ext4", -1, SV_EDOWNLOAD,
			      "not finished within 1500 ms (timeout_ms)");
	assert_true(sv_now_ms() - start < 10000);
	assert_int_equal(svt_http_hits(f->http, "/r/trickle.ext4"), 1);
}

static void test_endless_error_page_is_not_read_for_ever(void **state)
{
	fixture *f = *state;
	route_fault(f, "/r/endless-404.ext4", 404, SVT_FAULT_ENDLESS);
	expect_rootfs_failure(f, "/r/endless-404.ext4", -1, SV_EDOWNLOAD, "HTTP 404");
}

static void test_endless_manifest_stops_at_the_manifest_limit(void **state)
{
	fixture *f = *state;
	route_fault(f, "/m/endless.json", 200, SVT_FAULT_ENDLESS);
	char *url = svt_http_url(f->http, "/m/endless.json");
	char expected[512];
	snprintf(expected, sizeof(expected),
		 "resolving base image from %s: downloading %s: response larger than 1048576 bytes", url,
		 url);
	svb_expect_failure_leaves_cache(f, url, SV_EDOWNLOAD, expected);
	assert_string_equal(sv_last_error(), expected);
	free(url);
}

int main(void)
{
	svb_bound_process(240, 64LL << 20);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_endless_body_stops_at_max_bytes, svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_endless_body_stops_at_the_stated_size, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(
		test_announced_length_beyond_the_stated_size_is_refused_before_the_body, svb_setup,
		svb_teardown),
	    cmocka_unit_test_setup_teardown(test_trickle_below_the_low_speed_limit_is_cut, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_trickle_above_the_low_speed_limit_meets_the_deadline,
					    svb_setup, svb_teardown),
	    cmocka_unit_test_setup_teardown(test_endless_error_page_is_not_read_for_ever, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_endless_manifest_stops_at_the_manifest_limit, svb_setup,
					    svb_teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
