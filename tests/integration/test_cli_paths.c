/* Relative paths through the smartvm CLI on the fake Firecracker: flags are
 * taken from the caller's working directory, a config file's paths from the
 * file's own directory, although the VMM runs in the VM directory. After
 * each test no VM directory and no process remains. */
#include "svtest.h"

#include "util/file.h"
#include <jansson.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char *tmp, *data, *runtime;
	char *cwd; /* the test's own, restored in teardown */
	char *out, *err;
} fixture;

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));
	fx->tmp = svt_tmpdir();
	fx->data = sv_path_join(fx->tmp, "data");
	fx->runtime = sv_path_join(fx->tmp, "rt");
	fx->cwd = getcwd(NULL, 0);
	free(svt_write(fx->tmp, "vmlinux", "kernel image"));
	free(svt_write(fx->tmp, "initrd.img", "initrd"));
	free(svt_write(fx->tmp, "rootfs.ext4", "root filesystem"));
	free(svt_write(fx->tmp, "data.img", "data"));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	assert_int_equal(chdir(fx->cwd), 0);
	int left = svt_vm_dirs_left(fx->runtime), procs = svt_count_processes_with(fx->tmp);
	svt_rm_tmpdir(fx->tmp);
	free(fx->data);
	free(fx->runtime);
	free(fx->cwd);
	free(fx->out);
	free(fx->err);
	free(fx);
	assert_int_equal(left, 0);
	assert_int_equal(procs, 0);
	return 0;
}

static int cli(fixture *fx, ...)
{
	va_list ap;
	va_start(ap, fx);
	int code = svt_run_cli_dirs_v(fx->data, fx->runtime, NULL, &fx->out, &fx->err, ap);
	va_end(ap);
	return code;
}

/* `inspect ID --json`'s config. */
static json_t *config_of(fixture *fx, const char *id)
{
	assert_int_equal(cli(fx, "inspect", id, "--json", NULL), 0);
	json_t *o = json_loads(fx->out, 0, NULL);
	assert_non_null(o);
	json_t *cfg = json_incref(json_object_get(o, "config"));
	json_decref(o);
	return cfg;
}

static void assert_path(json_t *cfg, const char *section, size_t index, const char *key, const char *dir,
			const char *name)
{
	json_t *s = json_object_get(cfg, section);
	if (json_is_array(s))
		s = json_array_get(s, index);
	char *want = sv_path_join(dir, name);
	assert_string_equal(json_string_value(json_object_get(s, key)), want);
	free(want);
}

static void test_relative_flag_paths_are_taken_from_the_callers_cwd(void **state)
{
	fixture *fx = *state;
	assert_int_equal(chdir(fx->tmp), 0);
	int code = cli(fx, "run", "--kernel", "./vmlinux", "--initrd", "initrd.img", "--rootfs",
		       "./rootfs.ext4", "--drive", "id=data,path=data.img,ro", "--id", "rel",
		       "--firecracker-bin", svt_fake_firecracker(), "--detach", NULL);
	if (code != 0)
		fail_msg("run exited %d: %s", code, fx->err);
	json_t *cfg = config_of(fx, "rel");
	assert_path(cfg, "boot-source", 0, "kernel_image_path", fx->tmp, "vmlinux");
	assert_path(cfg, "boot-source", 0, "initrd_path", fx->tmp, "initrd.img");
	assert_path(cfg, "drives", 0, "path_on_host", fx->tmp, "rootfs.ext4");
	assert_path(cfg, "drives", 1, "path_on_host", fx->tmp, "data.img");
	json_decref(cfg);
	assert_int_equal(cli(fx, "stop", "rel", NULL), 0);
}

static void test_relative_firecracker_binary_is_taken_from_the_callers_cwd(void **state)
{
	fixture *fx = *state;
	char *copy = strdup(svt_fake_firecracker());
	char *rel = NULL;
	assert_true(asprintf(&rel, "./%s", basename(copy)) > 0);
	assert_int_equal(chdir(dirname(copy)), 0);
	char *kernel = sv_path_join(fx->tmp, "vmlinux");
	int code =
	    cli(fx, "run", "--kernel", kernel, "--id", "bin", "--firecracker-bin", rel, "--detach", NULL);
	if (code != 0)
		fail_msg("run exited %d: %s", code, fx->err);
	assert_int_equal(cli(fx, "stop", "bin", NULL), 0);
	free(kernel);
	free(rel);
	free(copy);
}

static void test_config_file_paths_are_taken_from_its_directory(void **state)
{
	fixture *fx = *state;
	char *conf = sv_path_join(fx->tmp, "conf");
	assert_int_equal(mkdir(conf, 0700), 0);
	free(svt_write(conf, "disk.img", "disk"));
	char *path = svt_write(conf, "vm.json",
			       "{\"boot-source\": {\"kernel_image_path\": \"../vmlinux\"},\n"
			       " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64},\n"
			       " \"drives\": [{\"drive_id\": \"disk\", \"path_on_host\": \"disk.img\",\n"
			       "              \"is_root_device\": true, \"is_read_only\": true}],\n"
			       " \"logger\": {\"log_path\": \"./fc.log\"},\n"
			       " \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"v.sock\"}}\n");
	/* From anywhere else. */
	assert_int_equal(chdir("/"), 0);
	int code = cli(fx, "run", "--config", path, "--id", "conf", "--firecracker-bin",
		       svt_fake_firecracker(), "--detach", NULL);
	if (code != 0)
		fail_msg("run exited %d: %s", code, fx->err);
	json_t *cfg = config_of(fx, "conf");
	assert_path(cfg, "boot-source", 0, "kernel_image_path", conf, "../vmlinux");
	assert_path(cfg, "drives", 0, "path_on_host", conf, "disk.img");
	assert_path(cfg, "logger", 0, "log_path", conf, "fc.log");
	assert_path(cfg, "vsock", 0, "uds_path", conf, "v.sock");
	json_decref(cfg);
	/* The VMM created them there, not in its own directory. */
	char *log = sv_path_join(conf, "fc.log"), *sock = sv_path_join(conf, "v.sock");
	struct stat st;
	assert_int_equal(stat(log, &st), 0);
	assert_int_equal(stat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(cli(fx, "stop", "conf", NULL), 0);
	free(log);
	free(sock);
	free(path);
	free(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_relative_flag_paths_are_taken_from_the_callers_cwd, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_relative_firecracker_binary_is_taken_from_the_callers_cwd,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_file_paths_are_taken_from_its_directory, setup,
					    teardown),
	};
	return svt_run_group_name("cli_paths", tests, NULL, NULL);
}
