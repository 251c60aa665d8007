/* The library never writes to stdout or stderr: a download that reports
 * progress, a warning, and a failing helper program run with stderr captured,
 * and all that reaches the caller goes through its callbacks (progress in
 * sv_download_options, messages through sv_set_log_callback) or the error. */
#include "svtest.h"

#include "basefixture.h"
#include "imagesfixture.h"
#include "logcapture.h"
#include "util/file.h"
#include <smartvm/error.h>
#include <smartvm/images.h>
#include <smartvm/minimal_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every progress call, one line each: "name done/total" plus " done" on
 * the last call of an attempt. */
typedef struct {
	char log[8192];
	size_t calls;
	int cancel_after; /* > 0: return 1 from this call on */
} progress_record;

static int record_progress(const sv_download_progress *p, void *userdata)
{
	progress_record *r = userdata;
	size_t used = strlen(r->log);
	snprintf(r->log + used, sizeof(r->log) - used, "%s %llu/%llu%s\n", p->name,
		 (unsigned long long)p->bytes_done, (unsigned long long)p->bytes_total,
		 p->done ? " done" : "");
	assert_non_null(strstr(p->url, p->name));
	r->calls++;
	return r->cancel_after > 0 && r->calls >= (size_t)r->cancel_after;
}

static void pull(svb_fixture *f, const char *name, const char *bundle_id)
{
	char *url = svb_serve_manifest(f, name, bundle_id, "/r/rootfs.ext4", NULL, -1, NULL);
	sv_base_image_bundle *b = NULL;
	if (svb_pull_url(f, url, &b) != 0)
		fail_msg("pulling %s: %s", bundle_id, sv_last_error());
	sv_base_image_bundle_free(b);
	free(url);
}

static void test_download_progress_goes_to_the_callback_not_stderr(void **state)
{
	svb_fixture *f = *state;
	progress_record r = {0};
	f->dl.progress = record_progress;
	f->dl.progress_userdata = &r;
	svt_stderr_begin();
	pull(f, "good", "b1");
	char *err = svt_stderr_end();
	assert_string_equal(err, "");
	/* Both files, each ending with one call that says done at full size. */
	svt_assert_contains(r.log, "vmlinux 1000/1000 done\n");
	svt_assert_contains(r.log, "rootfs.ext4 4096/4096 done\n");
	assert_null(strstr(strstr(r.log, "vmlinux 1000/1000 done\n") + 1, "vmlinux"));
	free(err);
}

static void test_progress_callback_cancels_the_download(void **state)
{
	svb_fixture *f = *state;
	progress_record r = {.cancel_after = 1};
	f->dl.progress = record_progress;
	f->dl.progress_userdata = &r;
	char *url = svb_serve_manifest(f, "good", "b1", "/r/rootfs.ext4", NULL, -1, NULL);
	sv_base_image_bundle *b = NULL;
	assert_int_equal(svb_pull_url(f, url, &b), SV_EDOWNLOAD);
	svt_assert_contains(sv_last_error(), "/k/vmlinux: cancelled by the progress callback");
	assert_null(b);
	free(url);
}

/* Evicting a bundle is a warning: it reaches the log callback only. */
static void test_warning_goes_to_the_log_callback_not_stderr(void **state)
{
	svb_fixture *f = *state;
	f->o.max_stored_base_images = 1;
	pull(f, "one", "b1");
	svt_stderr_begin();
	svt_log_begin(SV_LOG_DEBUG);
	pull(f, "two", "b2");
	char *log = svt_log_end();
	char *err = svt_stderr_end();
	assert_string_equal(err, "");
	svt_assert_contains(
	    log, "warning: evicted base image bundle \"b1\" (least recently used; keeping at most 1)\n");
	free(log);
	free(err);
}

/* Without callbacks (the default) the same operations print nothing. */
static void test_nothing_is_printed_without_callbacks(void **state)
{
	svb_fixture *f = *state;
	f->o.max_stored_base_images = 1;
	svt_stderr_begin();
	pull(f, "one", "b1");
	pull(f, "two", "b2");
	char *err = svt_stderr_end();
	assert_string_equal(err, "");
	free(err);
}

/* A helper program's stderr is captured: its message is in the error when
 * it fails. /bin/ls stands in for the image builder: it refuses the
 * builder's flags on stderr. */
static void test_failing_builder_message_is_in_the_error_not_stderr(void **state)
{
	svb_fixture *f = *state;
	char *init = svt_write(f->dir, "init", "");
	char *out = sv_path_join(f->dir, "minimal");
	sv_minimal_image_options o = {.version = SV_MINIMAL_IMAGE_OPTIONS_VERSION,
				      .builder_path = "/bin/ls",
				      .init_path = init,
				      .cache_dir = out};
	sv_base_image_bundle *b = NULL;
	svt_stderr_begin();
	int rc = sv_minimal_image_build(&b, &o, &f->o);
	char *err = svt_stderr_end();
	assert_string_equal(err, "");
	assert_int_equal(rc, SV_EPROCESS);
	assert_string_equal(sv_last_error(),
			    "building the minimal image: /bin/ls exited with status 2: /bin/ls: "
			    "unrecognized option '--init'\n"
			    "Try '/bin/ls --help' for more information.");
	assert_null(b);
	free(err);
	free(out);
	free(init);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_download_progress_goes_to_the_callback_not_stderr, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_progress_callback_cancels_the_download, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_warning_goes_to_the_log_callback_not_stderr, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_nothing_is_printed_without_callbacks, svb_setup,
					    svb_teardown),
	    cmocka_unit_test_setup_teardown(test_failing_builder_message_is_in_the_error_not_stderr,
					    svb_setup, svb_teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
