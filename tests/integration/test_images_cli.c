/* `smartvm binary ensure` and `smartvm image pull|ls|rm`, driven as a user
 * would, against a release page and a CI bucket served on 127.0.0.1. */
#include "svtest.h"

#include "httpfixture.h"
#include "imagesfixture.h"
#include "util/file.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "v1.16.1"
#define CI "firecracker-ci/v1.16/x86_64/"

typedef struct {
	char *dir;
	svt_http *http;
	char env_releases[256], env_bucket[256];
	const char *env[3];
	char *tgz;
	size_t tgz_len;
	char *listing;
	char blob[1024];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->http = svt_http_start();
	snprintf(f->env_releases, sizeof(f->env_releases), "SMARTVM_RELEASES_URL=%s/releases",
		 svt_http_base(f->http));
	snprintf(f->env_bucket, sizeof(f->env_bucket), "SMARTVM_CI_BUCKET_URL=%s/bucket",
		 svt_http_base(f->http));
	f->env[0] = f->env_releases;
	f->env[1] = f->env_bucket;
	svt_release_tgz(TAG, "x86_64", &f->tgz, &f->tgz_len);
	svt_serve_release(f->http, TAG, "x86_64", f->tgz, f->tgz_len, NULL);
	const char *keys[] = { CI "vmlinux-6.1.102", CI "ubuntu-24.04.ext4" };
	f->listing = svt_listing_xml(keys, 2, NULL);
	svt_http_route(f->http, "/bucket", NULL,
		       &(svt_http_response){ .body = f->listing, .body_len = strlen(f->listing) });
	memset(f->blob, 'x', sizeof(f->blob));
	svt_serve_bytes(f->http, "/bucket/" CI "vmlinux-6.1.102", f->blob, sizeof(f->blob));
	svt_serve_bytes(f->http, "/bucket/" CI "ubuntu-24.04.ext4", f->blob, sizeof(f->blob));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	svt_http_stop(f->http);
	free(f->tgz);
	free(f->listing);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

static int cli(fixture *f, char **out, char **err, const char *a1, const char *a2, const char *a3,
	       const char *a4, const char *a5)
{
	const char *args[] = { "--data-dir", f->dir, a1, a2, a3, a4, a5, NULL };
	return svt_run_cli(args, f->env, out, err);
}

static void test_binary_ensure_prints_the_installed_path(void **state)
{
	fixture *f = *state;
	char *out = NULL, *err = NULL;
	assert_int_equal(cli(f, &out, &err, "binary", "ensure", NULL, NULL, NULL), 0);
	char expected[512];
	snprintf(expected, sizeof(expected), "%s/bin/" TAG "/firecracker\n", f->dir);
	assert_string_equal(out, expected);
	assert_string_equal(err, "");
	free(out);
	free(err);
	assert_int_equal(cli(f, &out, &err, "binary", "ensure", "--version", TAG, "--json"), 0);
	json_t *o = json_loads(out, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "version")), TAG);
	assert_string_equal(json_string_value(json_object_get(o, "arch")), "x86_64");
	json_decref(o);
	assert_int_equal(svt_http_hits(f->http, "/releases/download/" TAG "/firecracker-" TAG "-x86_64.tgz"), 1);
	free(out);
	free(err);
}

static void test_binary_ensure_reports_a_bad_version_as_usage(void **state)
{
	fixture *f = *state;
	char *out = NULL, *err = NULL;
	assert_int_equal(cli(f, &out, &err, "binary", "ensure", "--version", "7", NULL), 2);
	assert_string_equal(err, "smartvm: ensuring the Firecracker binary (7, x86_64): firecracker_version: "
				 "\"7\" is not \"latest\" or vMAJOR.MINOR.PATCH\n");
	free(out);
	free(err);
	assert_int_equal(cli(f, &out, &err, "binary", "frobnicate", NULL, NULL, NULL), 2);
	assert_non_null(strstr(err, "unknown subcommand \"frobnicate\""));
	free(out);
	free(err);
}

static void test_image_pull_ls_rm_round_trip(void **state)
{
	fixture *f = *state;
	char *out = NULL, *err = NULL;
	assert_int_equal(cli(f, &out, &err, "image", "pull", "--json", NULL, NULL), 0);
	json_t *b = json_loads(out, 0, NULL);
	assert_non_null(b);
	const char *id = "firecracker-ci-v1.16-x86_64-vmlinux-6.1.102-ubuntu-24.04.ext4";
	assert_string_equal(json_string_value(json_object_get(b, "bundle_id")), id);
	/* --json speaks snake_case (bundle.json keeps the seed's camelCase). */
	assert_null(json_object_get(b, "bundleId"));
	assert_non_null(json_object_get(json_object_get(b, "sizes"), "rootfs_bytes"));
	assert_non_null(json_object_get(b, "last_accessed_at"));
	assert_string_equal(json_string_value(json_object_get(b, "preset")), "latest");
	json_decref(b);
	free(out);
	free(err);

	assert_int_equal(cli(f, &out, &err, "image", "ls", NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, id));
	assert_non_null(strstr(out, "BUNDLE ID"));
	free(out);
	free(err);

	assert_int_equal(cli(f, &out, &err, "image", "ls", "--json", NULL, NULL), 0);
	json_t *list = json_loads(out, 0, NULL);
	assert_true(json_is_array(list));
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	free(out);
	free(err);

	assert_int_equal(cli(f, &out, &err, "image", "rm", id, NULL, NULL), 0);
	free(out);
	free(err);
	assert_int_equal(cli(f, &out, &err, "image", "rm", id, NULL, NULL), 1);
	assert_non_null(strstr(err, "is not cached"));
	free(out);
	free(err);
}

static void test_image_pull_with_a_bad_manifest_is_a_usage_error(void **state)
{
	fixture *f = *state;
	char *manifest = svt_write(f->dir, "m.json", "{\"schemaVersion\":2}");
	char *out = NULL, *err = NULL;
	assert_int_equal(cli(f, &out, &err, "image", "pull", "--manifest", manifest, NULL), 2);
	char expected[512];
	snprintf(expected, sizeof(expected),
		 "smartvm: resolving base image from %s: manifest %s: schemaVersion: unsupported version 2 "
		 "(only 1 is supported)\n", manifest, manifest);
	assert_string_equal(err, expected);
	free(out);
	free(err);
	free(manifest);
}

static int cli_rt(fixture *f, const char *rt, char **out, char **err, const char *const *more)
{
	const char *args[16] = { "--data-dir", f->dir, "--runtime-dir", rt };
	size_t n = 4;
	for (size_t i = 0; more[i] && n < 15; i++)
		args[n++] = more[i];
	args[n] = NULL;
	return svt_run_cli(args, f->env, out, err);
}

static void test_run_image_boots_the_bundle_and_keeps_it_in_use(void **state)
{
	fixture *f = *state;
	char *src = sv_path_join(f->dir, "src");
	assert_int_equal(sv_mkdir_p(src, 0755), 0);
	free(svt_write(src, "vmlinux", "kernel"));
	free(svt_write(src, "rootfs.squashfs", "rootfs"));
	char *manifest = svt_write(src, "m.json",
		"{\"schemaVersion\":1,\"bundleId\":\"sq\",\"arch\":\"x86_64\",\"firecrackerVersion\":\"v1.7.0\","
		"\"rootfsType\":\"squashfs\",\"bootArgs\":\"console=ttyS0 quiet\","
		"\"kernel\":{\"path\":\"vmlinux\"},\"rootfs\":{\"path\":\"rootfs.squashfs\"}}");
	char *rt = sv_path_join(f->dir, "rt");
	char *out = NULL, *err = NULL;
	const char *pull[] = { "image", "pull", "--manifest", manifest, NULL };
	assert_int_equal(cli_rt(f, rt, &out, &err, pull), 0);
	free(out);
	free(err);

	const char *run[] = { "run", "--image", "sq", "--id", "img1", "--firecracker-bin",
			      svt_fake_firecracker(), "--detach", NULL };
	if (cli_rt(f, rt, &out, &err, run) != 0)
		fail_msg("run --image failed: %s", err);
	free(out);
	free(err);
	const char *inspect[] = { "inspect", "img1", "--json", NULL };
	assert_int_equal(cli_rt(f, rt, &out, &err, inspect), 0);
	json_t *d = json_loads(out, 0, NULL);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "base_image")), "sq");
	json_t *cfg = json_object_get(d, "config");
	json_t *boot = json_object_get(cfg, "boot-source");
	assert_string_equal(json_string_value(json_object_get(boot, "boot_args")), "console=ttyS0 quiet");
	assert_non_null(strstr(json_string_value(json_object_get(boot, "kernel_image_path")),
			       "/base-images/sq/vmlinux"));
	json_t *drive = json_array_get(json_object_get(cfg, "drives"), 0);
	assert_true(json_is_true(json_object_get(drive, "is_read_only")));
	assert_true(json_is_true(json_object_get(drive, "is_root_device")));
	json_decref(d);
	free(out);
	free(err);

	const char *rm[] = { "image", "rm", "sq", NULL };
	assert_int_equal(cli_rt(f, rt, &out, &err, rm), 1);
	assert_string_equal(err, "smartvm: base image bundle \"sq\" is in use by a running VM\n");
	free(out);
	free(err);
	const char *kill_vm[] = { "kill", "img1", NULL };
	assert_int_equal(cli_rt(f, rt, &out, &err, kill_vm), 0);
	free(out);
	free(err);
	assert_int_equal(cli_rt(f, rt, &out, &err, rm), 0);
	free(out);
	free(err);
	for (int i = 0; i < 100 && svt_count_processes_with(rt) > 0; i++)
		usleep(50000);
	svt_assert_no_processes_with(rt);
	free(rt);
	free(manifest);
	free(src);
}

static void test_every_images_command_has_help(void **state)
{
	fixture *f = *state;
	const char *cmds[] = { "binary", "image" };
	for (size_t i = 0; i < 2; i++) {
		char *out = NULL, *err = NULL;
		assert_int_equal(cli(f, &out, &err, cmds[i], "--help", NULL, NULL, NULL), 0);
		assert_non_null(strstr(out, "Usage: smartvm"));
		free(out);
		free(err);
	}
	char *out = NULL, *err = NULL;
	assert_int_equal(cli(f, &out, &err, "run", "--help", NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "--image BUNDLE_ID"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_binary_ensure_prints_the_installed_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_ensure_reports_a_bad_version_as_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_pull_ls_rm_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_pull_with_a_bad_manifest_is_a_usage_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_image_boots_the_bundle_and_keeps_it_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_images_command_has_help, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
