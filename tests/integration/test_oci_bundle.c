/* smartvm-oci refuses bad bundles and bad requests with messages that name
 * what is wrong (the config.json field, the container, the signal), and a
 * create that fails after it made things leaves none of them. No VM boots
 * here: every case fails before or instead of the boot. */
#include "svtest.h"
#include "ocifixture.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static svo_env env;

static int setup(void **state)
{
	(void)state;
	svo_env_init(&env);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	svo_env_done(&env);
	return 0;
}

/* create with config text; asserts exit 1 and that stderr is exactly
 * "smartvm-oci: " + want + "\n"; nothing may be left in the state root. */
static void assert_refused(const char *config, const char *want)
{
	if (config)
		free(svt_write(env.bundle, "config.json", config));
	char *out, *err, *expect = NULL;
	const char *args[] = {"create", "--bundle", env.bundle, "c1", NULL};
	assert_int_equal(svo_run(&env, args, &out, &err), 1);
	assert_true(asprintf(&expect, "smartvm-oci: %s\n", want) > 0);
	assert_string_equal(err, expect);
	assert_string_equal(out, "");
	assert_int_equal(svt_dir_entries(env.root), 0);
	free(expect);
	free(out);
	free(err);
}

static char *cfg(const char *process, const char *rest)
{
	char *t = NULL;
	assert_true(asprintf(&t, "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":%s%s}",
			     process, rest ? rest : "") > 0);
	return t;
}

#define OK_PROCESS "{\"args\":[\"true\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}}"

static void test_missing_config_json_is_named(void **state)
{
	(void)state;
	char *want = NULL;
	assert_true(asprintf(&want, "bundle %s: reading %s/config.json: No such file or directory",
			     env.bundle, env.bundle) > 0);
	assert_refused(NULL, want);
	free(want);
}

static void test_wrong_oci_version_major_is_refused(void **state)
{
	(void)state;
	assert_refused("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"rootfs\"},\"process\":" OK_PROCESS "}",
		       "config.json: ociVersion: \"2.0.0\" is not supported (major version 1 is)");
	assert_refused("{\"root\":{\"path\":\"rootfs\"},\"process\":" OK_PROCESS "}",
		       "config.json: ociVersion: missing");
	assert_refused("{\"ociVersion\":1,\"root\":{\"path\":\"rootfs\"}}",
		       "config.json: ociVersion: expected a string");
}

static void test_root_path_missing_or_absent_is_named(void **state)
{
	(void)state;
	assert_refused("{\"ociVersion\":\"1.0.0\",\"process\":" OK_PROCESS "}", "config.json: root: missing");
	assert_refused("{\"ociVersion\":\"1.0.0\",\"root\":{},\"process\":" OK_PROCESS "}",
		       "config.json: root.path: missing");
	assert_refused("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":[\"rootfs\"]},\"process\":" OK_PROCESS
		       "}",
		       "config.json: root.path: expected a string");
	char *want = NULL;
	assert_true(
	    asprintf(&want, "config.json: root.path: %s/gone: No such file or directory", env.bundle) > 0);
	assert_refused("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"gone\"},\"process\":" OK_PROCESS "}",
		       want);
	free(want);
	assert_true(asprintf(&want, "config.json: root.path: %s/config.json: not a directory", env.bundle) >
		    0);
	assert_refused("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"config.json\"},\"process\":" OK_PROCESS
		       "}",
		       want);
	free(want);
}

static void test_process_args_empty_or_mistyped_is_named(void **state)
{
	(void)state;
	char *c;
	assert_refused(c = cfg("{\"args\":[],\"cwd\":\"/\"}", NULL),
		       "config.json: process.args: must not be empty");
	free(c);
	assert_refused(c = cfg("{\"cwd\":\"/\"}", NULL), "config.json: process.args: must not be empty");
	free(c);
	assert_refused(c = cfg("{\"args\":\"echo hi\",\"cwd\":\"/\"}", NULL),
		       "config.json: process.args: expected an array");
	free(c);
	assert_refused(c = cfg("{\"args\":[\"echo\",3],\"cwd\":\"/\"}", NULL),
		       "config.json: process.args[1]: expected a string");
	free(c);
	assert_refused("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"rootfs\"}}",
		       "config.json: process: missing (a container needs a process to run)");
}

static void test_other_mistyped_fields_are_named(void **state)
{
	(void)state;
	char *c;
	assert_refused(
	    c = cfg("{\"args\":[\"true\"],\"cwd\":\"/\",\"user\":{\"uid\":\"0\",\"gid\":0}}", NULL),
	    "config.json: process.user.uid: expected an integer");
	free(c);
	assert_refused(c = cfg("{\"args\":[\"true\"],\"cwd\":\"/\",\"user\":{\"uid\":-1,\"gid\":0}}", NULL),
		       "config.json: process.user.uid: out of range (0 to 4294967295)");
	free(c);
	assert_refused(c = cfg("{\"args\":[\"true\"],\"cwd\":\"relative\"}", NULL),
		       "config.json: process.cwd: must be an absolute path");
	free(c);
	assert_refused(c = cfg("{\"args\":[\"true\"],\"cwd\":\"/\",\"env\":[\"A=1\",null]}", NULL),
		       "config.json: process.env[1]: expected a string");
	free(c);
	assert_refused(c = cfg("{\"args\":[\"true\"],\"cwd\":\"/\",\"terminal\":\"yes\"}", NULL),
		       "config.json: process.terminal: expected a boolean");
	free(c);
	assert_refused(
	    c = cfg(OK_PROCESS, ",\"annotations\":{\"io.smartvm.vcpus\":\"lots\"}"),
	    "config.json: annotations.\"io.smartvm.vcpus\": \"lots\" is not a number from 1 to 32");
	free(c);
	assert_refused(
	    c = cfg(OK_PROCESS, ",\"annotations\":{\"io.smartvm.mem_mib\":\"8\"}"),
	    "config.json: annotations.\"io.smartvm.mem_mib\": \"8\" is not a number from 64 to 1048576");
	free(c);
	assert_refused(c = cfg(OK_PROCESS, ",\"linux\":{\"namespaces\":[{\"type\":7}]}"),
		       "config.json: linux.namespaces[0].type: expected a string");
	free(c);
	assert_refused(c = cfg(OK_PROCESS, ",\"hostname\":false"),
		       "config.json: hostname: expected a string");
	free(c);
	assert_refused("[1,2]", "config.json: expected a JSON object");
}

/* A process with these rlimits (the JSON array's items). */
static void assert_rlimits_refused(const char *items, const char *want)
{
	char *process = NULL, *c;
	assert_true(asprintf(&process, "{\"args\":[\"true\"],\"cwd\":\"/\",\"rlimits\":[%s]}", items) > 0);
	assert_refused(c = cfg(process, NULL), want);
	free(c);
	free(process);
}

static void test_bad_rlimits_and_no_new_privileges_are_named(void **state)
{
	(void)state;
	assert_rlimits_refused("{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":2},"
			       "{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":2}",
			       "config.json: process.rlimits[1].type: \"RLIMIT_FOO\" is not a Linux resource "
			       "limit (RLIMIT_NOFILE, ...)");
	/* The spec's names only: `ulimit`'s short form is not one. */
	assert_rlimits_refused("{\"type\":\"nofile\",\"soft\":1,\"hard\":2}",
			       "config.json: process.rlimits[0].type: \"nofile\" is not a Linux resource limit "
			       "(RLIMIT_NOFILE, ...)");
	assert_rlimits_refused("{\"soft\":1,\"hard\":2}", "config.json: process.rlimits[0].type: missing");
	assert_rlimits_refused("7", "config.json: process.rlimits[0]: expected an object");
	assert_rlimits_refused("{\"type\":\"RLIMIT_NPROC\",\"soft\":1}",
			       "config.json: process.rlimits[0].hard: missing");
	assert_rlimits_refused("{\"type\":\"RLIMIT_NPROC\",\"soft\":\"1\",\"hard\":1}",
			       "config.json: process.rlimits[0].soft: expected an integer from 0 (or -1: unlimited)");
	assert_rlimits_refused("{\"type\":\"RLIMIT_NPROC\",\"soft\":5,\"hard\":4}",
			       "config.json: process.rlimits[0].soft: above hard");
	assert_rlimits_refused("{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":0},"
			       "{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":0}",
			       "config.json: process.rlimits[1].type: RLIMIT_CORE is given twice");
	char *c;
	assert_refused(c = cfg("{\"args\":[\"true\"],\"cwd\":\"/\",\"rlimits\":{}}", NULL),
		       "config.json: process.rlimits: expected an array");
	free(c);
	assert_refused(c = cfg("{\"args\":[\"true\"],\"cwd\":\"/\",\"noNewPrivileges\":1}", NULL),
		       "config.json: process.noNewPrivileges: expected a boolean");
	free(c);
}

/* A config with this one mounts entry (JSON object text). */
static void assert_mount_refused(const char *entry, const char *want)
{
	char *rest = NULL, *c;
	assert_true(asprintf(&rest, ",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\"},%s]", entry) > 0);
	assert_refused(c = cfg(OK_PROCESS, rest), want);
	free(c);
	free(rest);
}

static void test_bad_mounts_are_named(void **state)
{
	(void)state;
	assert_mount_refused("{\"destination\":\"/x\",\"type\":\"nfs\",\"source\":\"srv:/x\"}",
			     "config.json: mounts[1].type: \"nfs\" is not a kind smartvm-oci mounts (proc, sysfs, "
			     "devpts, tmpfs, mqueue, cgroup, bind)");
	assert_mount_refused("{\"destination\":\"x\",\"type\":\"tmpfs\"}",
			     "config.json: mounts[1].destination: must be an absolute path (it is resolved inside "
			     "the container's root)");
	assert_mount_refused("{\"type\":\"tmpfs\"}", "config.json: mounts[1].destination: missing");
	assert_mount_refused("{\"destination\":\"/x\"}",
			     "config.json: mounts[1].type: missing (and no bind option)");
	assert_mount_refused("{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":[\"size=1k,exec\"]}",
			     "config.json: mounts[1].options[0]: must be one option without a comma");
	assert_mount_refused("{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":\"ro\"}",
			     "config.json: mounts[1].options: expected an array");
	assert_mount_refused("{\"destination\":\"/x\",\"type\":\"bind\",\"options\":[\"rbind\"]}",
			     "config.json: mounts[1].source: missing (a bind mount needs a host path)");
	char *c;
	assert_refused(c = cfg(OK_PROCESS, ",\"mounts\":{}"), "config.json: mounts: expected an array");
	free(c);

	/* Bind sources on the host: no links, devices, FIFOs, sockets, or
	 * what is not there. */
	char *link = NULL, *fifo = NULL, *want = NULL, *entry = NULL;
	free(svt_write(env.dir, "hosts", "127.0.0.1 localhost\n"));
	assert_true(asprintf(&link, "%s/hosts-link", env.dir) > 0);
	assert_true(asprintf(&fifo, "%s/fifo", env.dir) > 0);
	assert_int_equal(symlink("/etc/shadow", link), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	const char *sources[] = {link, fifo, "/dev/null", "/nonexistent/file"};
	const char *whats[] = {"is a symlink", "is a FIFO", "is a character device", NULL};
	for (int i = 0; i < 4; i++) {
		assert_true(asprintf(&entry,
				     "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"%s\","
				     "\"options\":[\"rbind\",\"ro\"]}",
				     sources[i]) > 0);
		if (whats[i])
			assert_true(asprintf(&want,
					     "config.json: mounts[1].source: %s %s (only regular files and "
					     "directories are bound)",
					     sources[i], whats[i]) > 0);
		else
			assert_true(asprintf(&want, "config.json: mounts[1].source: %s: No such file or directory",
					     sources[i]) > 0);
		assert_mount_refused(entry, want);
		free(entry);
		free(want);
	}
	/* Not readable even by root: a write-only sysctl (where the kernel
	 * has it). */
	const char *wo = "/proc/sys/vm/compact_memory";
	if (access(wo, F_OK) == 0) {
		assert_true(asprintf(&entry, "{\"destination\":\"/x\",\"source\":\"%s\",\"options\":[\"bind\"]}", wo) > 0);
		assert_true(asprintf(&want, "config.json: mounts[1].source: %s: Permission denied", wo) > 0);
		assert_mount_refused(entry, want);
		free(entry);
		free(want);
	}
	/* A relative source is the bundle's: bundle/none does not exist. */
	assert_true(asprintf(&want, "config.json: mounts[1].source: %s/none: No such file or directory",
			     env.bundle) > 0);
	assert_mount_refused("{\"destination\":\"/x\",\"source\":\"none\",\"options\":[\"bind\"]}", want);
	free(want);
	unlink(link);
	unlink(fifo);
	free(link);
	free(fifo);
}

static void test_bad_hooks_are_named(void **state)
{
	(void)state;
	char *c;
	assert_refused(c = cfg(OK_PROCESS, ",\"hooks\":{\"poststop\":[{\"path\":\"bin/true\"}]}"),
		       "config.json: hooks.poststop[0].path: must be an absolute path (hooks are not looked up "
		       "in PATH)");
	free(c);
	assert_refused(c = cfg(OK_PROCESS, ",\"hooks\":{\"createRuntime\":[{\"path\":\"/bin/true\",\"timeout\":0}]}"),
		       "config.json: hooks.createRuntime[0].timeout: expected seconds from 1 to 86400");
	free(c);
	assert_refused(c = cfg(OK_PROCESS, ",\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\",\"args\":[\"true\",1]}]}"),
		       "config.json: hooks.prestart[0].args[1]: expected a string");
	free(c);
	assert_refused(c = cfg(OK_PROCESS, ",\"hooks\":{\"poststart\":[{\"args\":[\"x\"]}]}"),
		       "config.json: hooks.poststart[0].path: missing");
	free(c);
	assert_refused(c = cfg(OK_PROCESS, ",\"hooks\":{\"startContainer\":[{\"path\":\"/bin/true\"}]}"),
		       "config.json: hooks.startContainer: runs inside the container, which is a VM here: "
		       "smartvm-oci runs only prestart, createRuntime, poststart and poststop (on the host)");
	free(c);
	assert_refused(c = cfg(OK_PROCESS, ",\"hooks\":[]"), "config.json: hooks: expected an object");
	free(c);
}

static void test_terminal_needs_a_console_socket(void **state)
{
	(void)state;
	char *c = cfg("{\"args\":[\"sh\"],\"cwd\":\"/\",\"terminal\":true}", NULL);
	assert_refused(c, "config.json: process.terminal is true: --console-socket is required");
	free(c);
}

static void test_bad_container_id_is_refused(void **state)
{
	(void)state;
	svo_write_config(&env, "[\"true\"]", NULL);
	char *out, *err;
	const char *args[] = {"create", "--bundle", env.bundle, "../escape", NULL};
	assert_int_equal(svo_run(&env, args, &out, &err), 1);
	assert_string_equal(err,
			    "smartvm-oci: container id \"../escape\": must be 1 to 64 characters of A-Z a-z "
			    "0-9 _ -, not starting with -\n");
	assert_int_equal(svt_dir_entries(env.root), 0);
	free(out);
	free(err);
}

/* Unknown top-level fields are ignored (the spec says so): this config gets
 * past the parser to the boot, which fails here for want of the base
 * image; the message says that, and everything create made is gone. */
static void test_unknown_fields_pass_and_a_failed_boot_leaves_nothing(void **state)
{
	(void)state;
	svo_write_config(&env, "[\"true\"]", ",\"futureField\":{\"x\":1},\"hooks\":{}");
	char *out, *err, *pid_file = NULL;
	assert_true(asprintf(&pid_file, "%s/pid", env.dir) > 0);
	const char *args[] = {"create", "--bundle", env.bundle, "--pid-file", pid_file, "c1", NULL};
	assert_int_equal(svo_run(&env, args, &out, &err), 1);
	svt_assert_contains(
	    err, "smartvm-oci: creating container \"c1\": booting the VM of container \"c1\": base "
		 "image \"minimal\"");
	svt_assert_contains(err, "run `smartvm image build-minimal` first");
	assert_int_equal(svt_dir_entries(env.root), 0);
	assert_int_equal(access(pid_file, F_OK), -1);
	svt_assert_no_processes_with(env.dir);
	free(pid_file);
	free(out);
	free(err);
}

static void test_requests_for_unknown_containers_and_signals_are_refused(void **state)
{
	(void)state;
	char *out, *err;
	const char *state_args[] = {"state", "nope", NULL};
	assert_int_equal(svo_run(&env, state_args, &out, &err), 1);
	assert_string_equal(err, "smartvm-oci: container \"nope\" does not exist\n");
	free(out);
	free(err);
	const char *kill_args[] = {"kill", "nope", "NOPE", NULL};
	assert_int_equal(svo_run(&env, kill_args, &out, &err), 1);
	assert_string_equal(err,
			    "smartvm-oci: kill: \"NOPE\" is not a signal (a name like TERM or SIGTERM, or a "
			    "number)\n");
	free(out);
	free(err);
	const char *delete_args[] = {"delete", "nope", NULL};
	assert_int_equal(svo_run(&env, delete_args, &out, &err), 1);
	assert_string_equal(err, "smartvm-oci: container \"nope\" does not exist\n");
	free(out);
	free(err);
	const char *force_args[] = {"delete", "--force", "nope", NULL};
	assert_int_equal(svo_run(&env, force_args, &out, &err), 0);
	free(out);
	free(err);
	const char *exec_args[] = {"exec", "nope", "true", NULL};
	assert_int_equal(svo_run(&env, exec_args, &out, &err), 1);
	assert_string_equal(err, "smartvm-oci: container \"nope\" does not exist\n");
	free(out);
	free(err);
	const char *unknown_args[] = {"checkpoint", "nope", NULL};
	assert_int_equal(svo_run(&env, unknown_args, &out, &err), 1);
	svt_assert_contains(err, "unknown command \"checkpoint\"");
	free(out);
	free(err);
}

static void test_errors_go_to_the_json_log(void **state)
{
	(void)state;
	char *log = NULL, *out, *err;
	assert_true(asprintf(&log, "%s/log.json", env.dir) > 0);
	const char *args[] = {"--log", log, "--log-format", "json", "state", "nope", NULL};
	assert_int_equal(svo_run(&env, args, &out, &err), 1);
	json_error_t jerr;
	json_t *line = json_load_file(log, JSON_DISABLE_EOF_CHECK, &jerr);
	assert_non_null(line);
	assert_string_equal(json_string_value(json_object_get(line, "level")), "error");
	assert_string_equal(json_string_value(json_object_get(line, "msg")),
			    "container \"nope\" does not exist");
	assert_non_null(json_string_value(json_object_get(line, "time")));
	json_decref(line);
	free(out);
	free(err);
	const char *bad[] = {"--log-format", "xml", "features", NULL};
	assert_int_equal(svo_run(&env, bad, &out, &err), 1);
	assert_string_equal(err, "smartvm-oci: --log-format: \"xml\" is not one of text, json\n");
	free(out);
	free(err);
	free(log);
}

/* The global options runc takes and containerd's shim may pass (go-runc:
 * --criu with its CriuPath option, --rootless, --systemd-cgroup, --debug). */
static void test_runc_global_options_are_accepted(void **state)
{
	(void)state;
	char *out, *err;
	const char *args[] = {
	    "--criu", "/usr/sbin/criu", "--rootless=false", "--systemd-cgroup", "--debug", "features", NULL};
	assert_int_equal(svo_run(&env, args, &out, &err), 0);
	svt_assert_contains(out, "ociVersionMax");
	free(out);
	free(err);
	const char *bad[] = {"--rootless", "maybe", "features", NULL};
	assert_int_equal(svo_run(&env, bad, &out, &err), 1);
	assert_string_equal(err, "smartvm-oci: --rootless: \"maybe\" is not one of true, false, auto\n");
	free(out);
	free(err);
}

static void test_features_is_the_spec_json(void **state)
{
	(void)state;
	char *out, *err;
	const char *args[] = {"features", NULL};
	assert_int_equal(svo_run(&env, args, &out, &err), 0);
	json_t *f = json_loads(out, 0, NULL);
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "ociVersionMin")), "1.0.0");
	assert_string_equal(json_string_value(json_object_get(f, "ociVersionMax")), "1.2.1");
	assert_true(json_is_array(json_object_get(f, "hooks")));
	assert_non_null(json_object_get(json_object_get(f, "annotations"), "io.smartvm.mem_mib"));
	json_decref(f);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_missing_config_json_is_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_oci_version_major_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_root_path_missing_or_absent_is_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_process_args_empty_or_mistyped_is_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_mistyped_fields_are_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_rlimits_and_no_new_privileges_are_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_mounts_are_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_hooks_are_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_terminal_needs_a_console_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_container_id_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_fields_pass_and_a_failed_boot_leaves_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_requests_for_unknown_containers_and_signals_are_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors_go_to_the_json_log, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_runc_global_options_are_accepted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_features_is_the_spec_json, setup, teardown),
	};
	if (!svt_is_root())
		return svt_skip_program(SVT_NEED_ROOT, "smartvm-oci keeps its state where only root may");
	return svt_run_group(tests, NULL, NULL);
}
