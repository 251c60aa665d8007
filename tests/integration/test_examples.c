/* The programs in examples/ (built against the shared library and the public
 * headers only) run and do what they say: a VM from a config file on the
 * fake Firecracker, listing VMs, a download with a progress callback, a
 * command in a VM from the minimal image (QEMU; skipped without it). The
 * state directories are the test's own (SMARTVM_DATA_DIR and
 * SMARTVM_RUNTIME_DIR, as a user would set them). */
#include "svtest.h"

#include "fcmgrfixture.h"
#include "imagesfixture.h"
#include "realvm_fixture.h"
#include "util/file.h"
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG "v1.16.1"

typedef struct {
	char *dir, *data, *runtime;
	char env_data[512], env_runtime[512], env_extra[512];
	const char *env[5];
	char *out, *err;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->data = sv_path_join(f->dir, "data");
	f->runtime = sv_path_join(f->dir, "runtime");
	snprintf(f->env_data, sizeof(f->env_data), "SMARTVM_DATA_DIR=%s", f->data);
	snprintf(f->env_runtime, sizeof(f->env_runtime), "SMARTVM_RUNTIME_DIR=%s", f->runtime);
	f->env[0] = f->env_data;
	f->env[1] = f->env_runtime;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	free(f->out);
	free(f->err);
	free(f->data);
	free(f->runtime);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

static int run(fixture *f, const char *name, const char *const *args)
{
	const char *dir = getenv("SMARTVM_EXAMPLES");
	if (!dir)
		fail_msg("SMARTVM_EXAMPLES is not set: run the tests through meson test");
	char program[4096];
	snprintf(program, sizeof(program), "%s/example_%s", dir, name);
	free(f->out);
	free(f->err);
	f->out = f->err = NULL;
	return svt_run_program(program, args, f->env, &f->out, &f->err);
}

/* What `smartvm binary ensure` would leave: <data>/bin/<tag>/firecracker and
 * jailer (here the fakes). */
static void install_fake_firecracker(fixture *f)
{
	char *bin = NULL;
	assert_true(asprintf(&bin, "%s/bin/" TAG, f->data) > 0);
	assert_int_equal(sv_mkdir_p(bin, 0755), 0);
	const char *from[] = {svt_fake_firecracker(), getenv("SMARTVM_FAKE_JAILER")};
	const char *to[] = {"firecracker", "jailer"};
	for (int i = 0; i < 2; i++) {
		assert_non_null(from[i]);
		char *text = NULL;
		size_t len = 0;
		assert_int_equal(sv_read_file(from[i], 64 << 20, &text, &len), 0);
		char *path = sv_path_join(bin, to[i]);
		assert_int_equal(sv_write_file_atomic(path, text, len, 0755), 0);
		free(path);
		free(text);
	}
	free(bin);
}

static void test_vm_from_config_boots_pauses_resumes_and_stops(void **state)
{
	fixture *f = *state;
	install_fake_firecracker(f);
	free(svt_write(f->dir, "vmlinux", "kernel image"));
	free(svt_write(f->dir, "rootfs.ext4", "root filesystem"));
	char *cfg = svt_write(f->dir, "vm.json",
			      "{\"boot-source\": {\"kernel_image_path\": \"vmlinux\"},"
			      " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128},"
			      " \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"rootfs.ext4\","
			      " \"is_root_device\": true, \"is_read_only\": false}]}");
	const char *args[] = {cfg, NULL};
	/* The config names no id: the library makes one. */
	assert_int_equal(run(f, "vm_from_config", args), 0);
	assert_string_equal(f->err, "");
	char id[128] = "";
	int pid = 0;
	assert_int_equal(sscanf(f->out, "VM %127s is running, VMM pid %d\n", id, &pid), 2);
	assert_true(pid > 0);
	char expected[512];
	snprintf(expected, sizeof(expected), "VM %s is running, VMM pid %d\nVM %s is stopped\n", id, pid, id);
	assert_string_equal(f->out, expected);
	assert_int_equal(svt_dir_entries(f->runtime), 0);
	free(cfg);
}

static void test_vm_from_config_reports_a_bad_config_by_field(void **state)
{
	fixture *f = *state;
	char *cfg = svt_write(f->dir, "vm.json", "{\"machine-config\": {\"vcpu_count\": \"two\"}}");
	const char *args[] = {cfg, NULL};
	assert_int_equal(run(f, "vm_from_config", args), 1);
	char expected[1024];
	snprintf(expected, sizeof(expected),
		 "INVALID_ARGUMENT: %s: machine-config.vcpu_count: must be an integer\n", cfg);
	assert_string_equal(f->err, expected);
	free(cfg);
}

static void test_list_vms_shows_the_running_vms(void **state)
{
	fixture *f = *state;
	const char *none[] = {NULL};
	assert_int_equal(run(f, "list_vms", none), 0);
	char expected[1024];
	snprintf(expected, sizeof(expected), "no VMs in %s\n", f->runtime);
	assert_string_equal(f->out, expected);

	/* A VM this process runs on the fake Firecracker, in another manager. */
	svt_fcmgr m;
	svt_fcmgr_init(&m);
	sv_drive_config root = {.drive_id = "rootfs", .path_on_host = m.rootfs, .is_root_device = true};
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .id = "listed",
			    .boot_source = {.kernel_image_path = m.kernel},
			    .machine_config = {.vcpu_count = 1, .mem_size_mib = 128},
			    .drives = &root,
			    .n_drives = 1};
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, m.mgr, &cfg), 0);
	assert_int_equal(sv_vm_start(vm), 0);
	snprintf(f->env_runtime, sizeof(f->env_runtime), "SMARTVM_RUNTIME_DIR=%s", m.runtime);
	assert_int_equal(run(f, "list_vms", none), 0);
	snprintf(expected, sizeof(expected), "%-24s %-10s %d\n", "listed", "running", (int)sv_vm_pid(vm));
	assert_string_equal(f->out, expected);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_RUNNING); /* listing left it alone */
	svt_fcmgr_close(&m);
	svt_fcmgr_free(&m);
}

static void test_download_progress_draws_its_own_progress(void **state)
{
	fixture *f = *state;
	svt_http *http = svt_http_start();
	char *tgz = NULL;
	size_t len = 0;
	svt_release_tgz(TAG, "x86_64", &tgz, &len);
	svt_serve_release(http, TAG, "x86_64", tgz, len, NULL);
	snprintf(f->env_extra, sizeof(f->env_extra), "SMARTVM_RELEASES_URL=%s/releases", svt_http_base(http));
	f->env[2] = f->env_extra;
	const char *args[] = {TAG, NULL};
	assert_int_equal(run(f, "download_progress", args), 0);
	char expected[1024];
	snprintf(expected, sizeof(expected), "%s/bin/" TAG "/firecracker\n", f->data);
	assert_string_equal(f->out, expected);
	snprintf(expected, sizeof(expected), "\rfirecracker-" TAG "-x86_64.tgz: %zu of %zu bytes (100%%)\n",
		 len, len);
	svt_assert_contains(f->err, expected);
	svt_http_stop(http);
	free(tgz);
}

static void test_minimal_command_runs_a_command_in_a_vm(void **state)
{
	fixture *f = *state;
	const svq_image *img = svq_image_or_skip();
	/* Import the test image as bundle "minimal" into the example's data dir. */
	char *kernel = strdup(img->kernel);
	char *manifest = sv_path_join(dirname(kernel), "manifest.json");
	sv_base_image_options o = {
	    .version = SV_BASE_IMAGE_OPTIONS_VERSION, .data_dir = f->data, .runtime_dir = f->runtime};
	sv_ensure_base_image_opts e = {.version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION,
				       .preset = SV_BASE_IMAGE_PRESET_HOSTED,
				       .manifest_path = manifest};
	sv_base_image_bundle *b = NULL;
	if (sv_ensure_base_image(&b, &o, &e) != 0)
		fail_msg("importing the minimal image: %s", sv_last_error());
	sv_base_image_bundle_free(b);
	const char *args[] = {"sh", "-c", "echo hello from the guest; exit 3", NULL};
	assert_int_equal(run(f, "minimal_command", args), 3);
	assert_string_equal(f->out, "hello from the guest\n");
	assert_int_equal(svt_dir_entries(f->runtime), 0);
	free(manifest);
	free(kernel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_vm_from_config_boots_pauses_resumes_and_stops, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_vm_from_config_reports_a_bad_config_by_field, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_list_vms_shows_the_running_vms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_download_progress_draws_its_own_progress, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_minimal_command_runs_a_command_in_a_vm, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
