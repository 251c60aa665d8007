/* The fake Firecracker is an honest model of the v1.16.1 API: these tests
 * send raw requests (libcurl) and check that it refuses what Firecracker
 * refuses, with Firecracker's messages, and behaves like its process. */
#include "svtest.h"
#include "fakefc.h"

#include "util/file.h"
#include "util/spawn.h"
#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define DESER "An error occurred when deserializing the json body of a request: "

static int setup(void **state)
{
	*state = svt_fakefc_start("vm-1", NULL);
	return 0;
}

static int teardown(void **state)
{
	svt_fakefc_stop(*state);
	return 0;
}

/* Sends the request and asserts a 400 whose fault_message is exactly msg. */
static void assert_refused(svt_fakefc *f, const char *method, const char *path, const char *body, const char *msg)
{
	char *resp = NULL;
	long status = svt_fakefc_http(f, method, path, body, &resp);
	json_t *j = json_loads(resp, 0, NULL);
	const char *fault = json_string_value(json_object_get(j, "fault_message"));
	if (status != 400 || !fault || strcmp(fault, msg))
		fail_msg("%s %s: expected 400 \"%s\", got %ld %s", method, path, msg, status, resp);
	json_decref(j);
	free(resp);
}

static void assert_accepted(svt_fakefc *f, const char *method, const char *path, const char *body)
{
	char *resp = NULL;
	long status = svt_fakefc_http(f, method, path, body, &resp);
	if (status != 204)
		fail_msg("%s %s: expected 204, got %ld %s", method, path, status, resp);
	free(resp);
}

static json_t *get_json(svt_fakefc *f, const char *path)
{
	char *resp = NULL;
	assert_int_equal(svt_fakefc_http(f, "GET", path, NULL, &resp), 200);
	json_t *j = json_loads(resp, 0, NULL);
	assert_non_null(j);
	free(resp);
	return j;
}

/* Puts a boot source whose kernel exists. */
static void put_boot_source(svt_fakefc *f)
{
	char *kernel = svt_fakefc_file(f, "vmlinux", "kernel");
	char *body = NULL;
	assert_true(asprintf(&body, "{\"kernel_image_path\": \"%s\", \"boot_args\": \"console=ttyS0\"}", kernel) > 0);
	assert_accepted(f, "PUT", "/boot-source", body);
	free(body);
	free(kernel);
}

static void start_vm(svt_fakefc *f)
{
	put_boot_source(f);
	assert_accepted(f, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
}

static const char *state_of(svt_fakefc *f, json_t **keep)
{
	*keep = get_json(f, "/");
	return json_string_value(json_object_get(*keep, "state"));
}

/* ---- the command line ---- */

static void test_version_flag_prints_firecracker_version(void **state)
{
	(void)state;
	const char *argv[] = { svt_fake_firecracker(), "--version", NULL };
	int code = -1;
	char *out = NULL, *err = NULL;
	assert_int_equal(sv_run(argv, NULL, 5000, &code, &out, &err), 0);
	assert_int_equal(code, 0);
	assert_string_equal(out, "Firecracker v1.16.1\n");
	free(out);
	free(err);
}

static void test_unknown_argument_exits_1_with_message(void **state)
{
	(void)state;
	const char *argv[] = { svt_fake_firecracker(), "--frobnicate", NULL };
	int code = -1;
	char *out = NULL, *err = NULL;
	assert_int_equal(sv_run(argv, NULL, 5000, &code, &out, &err), 0);
	assert_int_equal(code, 1);
	assert_non_null(strstr(err, "Found argument '--frobnicate' which wasn't expected"));
	free(out);
	free(err);
}

static void test_instance_id_with_underscore_is_refused_like_firecracker(void **state)
{
	(void)state;
	const char *argv[] = { svt_fake_firecracker(), "--api-sock", "/nonexistent/x.sock", "--id", "my_vm", NULL };
	int code = -1;
	char *out = NULL, *err = NULL;
	assert_int_equal(sv_run(argv, NULL, 5000, &code, &out, &err), 0);
	assert_int_equal(code, 1);
	assert_string_equal(err, "Invalid instance ID: Invalid char (_) at position 2\n");
	free(out);
	free(err);
}

static void test_logs_start_lines_to_stdout(void **state)
{
	svt_fakefc *f = *state;
	char *console = svt_fakefc_console(f);
	assert_non_null(strstr(console, "[vm-1:main] Running Firecracker v1.16.1"));
	free(console);
}

/* ---- read-only views ---- */

static void test_instance_info_reports_not_started(void **state)
{
	svt_fakefc *f = *state;
	json_t *info = get_json(f, "/");
	json_t *want = json_pack("{s:s, s:s, s:s, s:s}", "id", "vm-1", "state", "Not started", "vmm_version",
				 "1.16.1", "app_name", "Firecracker");
	assert_true(json_equal(info, want));
	json_decref(want);
	json_decref(info);
}

static void test_version_endpoint(void **state)
{
	json_t *v = get_json(*state, "/version");
	assert_string_equal(json_string_value(json_object_get(v, "firecracker_version")), "1.16.1");
	json_decref(v);
}

static void test_machine_config_defaults_before_put(void **state)
{
	json_t *mc = get_json(*state, "/machine-config");
	json_t *want = json_pack("{s:i, s:i, s:b, s:b, s:s}", "vcpu_count", 1, "mem_size_mib", 128, "smt", 0,
				 "track_dirty_pages", 0, "huge_pages", "None");
	assert_true(json_equal(mc, want));
	json_decref(want);
	json_decref(mc);
}

/* ---- body validation ---- */

static void test_unknown_field_is_refused_naming_it(void **state)
{
	assert_refused(*state, "PUT", "/boot-source", "{\"kernel_image_path\": \"/k\", \"kernel_args\": \"x\"}",
		       DESER "unknown field `kernel_args`, expected one of `kernel_image_path`, `initrd_path`, "
			     "`boot_args`");
}

static void test_unknown_field_in_nested_object_is_refused_with_its_path(void **state)
{
	assert_refused(*state, "PUT", "/entropy", "{\"rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": 1, \"burst\": 2}}}",
		       DESER "rate_limiter.ops: unknown field `burst`, expected one of `size`, `one_time_burst`, "
			     "`refill_time`");
}

static void test_wrong_type_is_refused(void **state)
{
	assert_refused(*state, "PUT", "/machine-config", "{\"vcpu_count\": \"2\", \"mem_size_mib\": 256}",
		       DESER "vcpu_count: invalid type: string \"2\", expected u8");
}

static void test_integer_out_of_range_for_its_type_is_refused(void **state)
{
	assert_refused(*state, "PUT", "/machine-config", "{\"vcpu_count\": 256, \"mem_size_mib\": 256}",
		       DESER "vcpu_count: invalid value: integer `256`, expected u8");
}

static void test_missing_required_field_is_refused(void **state)
{
	assert_refused(*state, "PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}",
		       DESER "missing field `host_dev_name`");
}

static void test_bad_enum_value_is_refused(void **state)
{
	assert_refused(*state, "PATCH", "/vm", "{\"state\": \"Sleeping\"}",
		       DESER "state: unknown variant `Sleeping`, expected `Paused` or `Resumed`");
}

static void test_integer_below_spec_minimum_is_refused(void **state)
{
	svt_fakefc *f = *state;
	char *uds = sv_path_join(f->dir, "v.sock");
	char *body = NULL;
	assert_true(asprintf(&body, "{\"guest_cid\": 2, \"uds_path\": \"%s\"}", uds) > 0);
	assert_refused(f, "PUT", "/vsock", body, DESER "guest_cid: invalid value: integer `2`, expected a value of at least 3");
	free(body);
	free(uds);
}

static void test_malformed_json_is_refused(void **state)
{
	svt_fakefc *f = *state;
	char *resp = NULL;
	assert_int_equal(svt_fakefc_http(f, "PUT", "/boot-source", "{\"kernel_image_path\": ", &resp), 400);
	assert_non_null(strstr(resp, DESER));
	free(resp);
}

static void test_empty_put_is_refused(void **state)
{
	assert_refused(*state, "PUT", "/actions", NULL, "Empty PUT request.");
}

static void test_unknown_path_is_refused(void **state)
{
	assert_refused(*state, "GET", "/nope", NULL, "Invalid request method and/or path: GET /nope.");
	assert_refused(*state, "DELETE", "/vm", NULL, "Invalid request method and/or path: DELETE /vm.");
}

/* ---- resource semantics ---- */

static void test_drive_id_mismatch_is_refused(void **state)
{
	svt_fakefc *f = *state;
	char *disk = svt_fakefc_file(f, "disk.img", "x");
	char *body = NULL;
	assert_true(asprintf(&body, "{\"drive_id\": \"data\", \"path_on_host\": \"%s\", \"is_root_device\": false}", disk) > 0);
	assert_refused(f, "PUT", "/drives/rootfs", body, "The id from the path does not match the id from the body!");
	free(body);
	free(disk);
}

static void test_missing_drive_file_is_refused(void **state)
{
	svt_fakefc *f = *state;
	char *missing = sv_path_join(f->dir, "missing.ext4");
	char *body = NULL, *msg = NULL;
	assert_true(asprintf(&body, "{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\", \"is_root_device\": true}", missing) > 0);
	assert_true(asprintf(&msg, "Unable to open the block device backing file: %s: No such file or directory (os error 2)", missing) > 0);
	assert_refused(f, "PUT", "/drives/rootfs", body, msg);
	free(msg);
	free(body);
	free(missing);
}

static void test_second_root_device_is_refused(void **state)
{
	svt_fakefc *f = *state;
	char *disk = svt_fakefc_file(f, "disk.img", "x");
	char *a = NULL, *b = NULL;
	assert_true(asprintf(&a, "{\"drive_id\": \"a\", \"path_on_host\": \"%s\", \"is_root_device\": true}", disk) > 0);
	assert_true(asprintf(&b, "{\"drive_id\": \"b\", \"path_on_host\": \"%s\", \"is_root_device\": true}", disk) > 0);
	assert_accepted(f, "PUT", "/drives/a", a);
	assert_refused(f, "PUT", "/drives/b", b, "A root block device already exists!");
	free(a);
	free(b);
	free(disk);
}

static void test_missing_kernel_is_refused_at_boot_source(void **state)
{
	assert_refused(*state, "PUT", "/boot-source", "{\"kernel_image_path\": \"/nonexistent/vmlinux\"}",
		       "The kernel file cannot be opened: No such file or directory (os error 2)");
}

static void test_vcpu_count_must_be_even_with_smt(void **state)
{
	assert_refused(*state, "PUT", "/machine-config", "{\"vcpu_count\": 3, \"mem_size_mib\": 256, \"smt\": true}",
		       "The vCPU number is invalid! The vCPU number can only be 1 or an even number when SMT is enabled.");
	assert_accepted(*state, "PUT", "/machine-config", "{\"vcpu_count\": 3, \"mem_size_mib\": 256}");
}

static void test_mmds_config_must_name_configured_interfaces(void **state)
{
	svt_fakefc *f = *state;
	assert_refused(f, "PUT", "/mmds/config", "{\"network_interfaces\": [\"eth0\"]}",
		       "The list of network interface IDs provided contains at least one ID that does not "
		       "correspond to any existing network interface.");
	assert_accepted(f, "PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}");
	assert_accepted(f, "PUT", "/mmds/config", "{\"network_interfaces\": [\"eth0\"]}");
}

static void test_logger_file_must_exist(void **state)
{
	svt_fakefc *f = *state;
	char *log = sv_path_join(f->dir, "fc.log");
	char *body = NULL;
	assert_true(asprintf(&body, "{\"log_path\": \"%s\", \"level\": \"debug\"}", log) > 0);
	assert_refused(f, "PUT", "/logger", body, "Logger error: Failed to open target file: No such file or directory (os error 2)");
	free(svt_fakefc_file(f, "fc.log", ""));
	assert_accepted(f, "PUT", "/logger", body);
	/* From now on the fake logs there, as Firecracker does. */
	char *text = NULL;
	assert_int_equal(sv_read_file(log, 1 << 16, &text, NULL), 0);
	assert_non_null(strstr(text, "[vm-1:fc_api] Logger configured"));
	free(text);
	free(body);
	free(log);
}

static void test_vm_config_reports_what_was_put_with_hyphenated_keys(void **state)
{
	svt_fakefc *f = *state;
	put_boot_source(f);
	assert_accepted(f, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"cpu_template\": \"T2\"}");
	assert_accepted(f, "PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:00:00:00:01\"}");
	json_t *cfg = get_json(f, "/vm/config");
	json_t *bs = json_object_get(cfg, "boot-source");
	assert_string_equal(json_string_value(json_object_get(bs, "boot_args")), "console=ttyS0");
	json_t *mc = json_object_get(cfg, "machine-config");
	assert_int_equal(json_integer_value(json_object_get(mc, "vcpu_count")), 2);
	assert_string_equal(json_string_value(json_object_get(mc, "cpu_template")), "T2");
	json_t *nets = json_object_get(cfg, "network-interfaces");
	assert_int_equal(json_array_size(nets), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(nets, 0), "guest_mac")), "06:00:00:00:00:01");
	assert_true(json_is_array(json_object_get(cfg, "drives")));
	assert_true(json_is_null(json_object_get(cfg, "vsock")));
	json_decref(cfg);
}

/* ---- state rules ---- */

static void test_instance_start_without_boot_source_is_refused(void **state)
{
	assert_refused(*state, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
		       "Cannot start microvm without kernel configuration.");
}

static void test_pre_boot_put_after_instance_start_is_refused(void **state)
{
	svt_fakefc *f = *state;
	start_vm(f);
	assert_refused(f, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}",
		       "The requested operation is not supported after starting the microVM.");
	assert_refused(f, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
		       "The requested operation is not supported after starting the microVM.");
}

static void test_patch_vm_before_start_is_refused(void **state)
{
	assert_refused(*state, "PATCH", "/vm", "{\"state\": \"Paused\"}",
		       "The requested operation is not supported before starting the microVM.");
}

static void test_pause_and_resume_change_state(void **state)
{
	svt_fakefc *f = *state;
	json_t *keep = NULL;
	start_vm(f);
	assert_string_equal(state_of(f, &keep), "Running");
	json_decref(keep);
	assert_accepted(f, "PATCH", "/vm", "{\"state\": \"Paused\"}");
	assert_string_equal(state_of(f, &keep), "Paused");
	json_decref(keep);
	assert_accepted(f, "PATCH", "/vm", "{\"state\": \"Resumed\"}");
	assert_string_equal(state_of(f, &keep), "Running");
	json_decref(keep);
}

/* ---- the guest and the process ---- */

static void test_ctrl_alt_del_makes_the_process_exit_0(void **state)
{
	svt_fakefc *f = *state;
	start_vm(f);
	long long t0 = sv_now_ms();
	assert_accepted(f, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}");
	assert_true(svt_fakefc_wait_exit(f, 2000));
	assert_true(sv_now_ms() - t0 >= 40);
	assert_true(WIFEXITED(f->status));
	assert_int_equal(WEXITSTATUS(f->status), 0);
	assert_false(sv_path_exists(f->sock));
}

static void test_paused_guest_powers_off_only_after_resume(void **state)
{
	svt_fakefc *f = *state;
	start_vm(f);
	assert_accepted(f, "PATCH", "/vm", "{\"state\": \"Paused\"}");
	assert_accepted(f, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}");
	assert_false(svt_fakefc_wait_exit(f, 200));
	assert_accepted(f, "PATCH", "/vm", "{\"state\": \"Resumed\"}");
	assert_true(svt_fakefc_wait_exit(f, 2000));
	assert_int_equal(WEXITSTATUS(f->status), 0);
}

static void test_ctrl_alt_del_before_start_is_refused(void **state)
{
	assert_refused(*state, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}",
		       "The requested operation is not supported before starting the microVM.");
}

static void test_sigterm_exits_0_and_removes_the_socket(void **state)
{
	svt_fakefc *f = *state;
	kill(f->pid, SIGTERM);
	assert_true(svt_fakefc_wait_exit(f, 2000));
	assert_true(WIFEXITED(f->status));
	assert_int_equal(WEXITSTATUS(f->status), 0);
	assert_false(sv_path_exists(f->sock));
}

static void test_requests_share_one_kept_alive_connection(void **state)
{
	svt_fakefc *f = *state;
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, f->sock);
	curl_easy_setopt(c, CURLOPT_URL, "http://localhost/");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwrite);
	FILE *devnull = fopen("/dev/null", "we");
	curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
	long connects = -1;
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
	assert_int_equal(connects, 0); /* the second request opened no new connection */
	curl_easy_cleanup(c);
	fclose(devnull);
}

static void test_records_every_request(void **state)
{
	svt_fakefc *f = *state;
	json_decref(get_json(f, "/version"));
	assert_refused(f, "PATCH", "/vm", "{\"state\": \"Paused\"}",
		       "The requested operation is not supported before starting the microVM.");
	assert_int_equal(svt_fakefc_http(f, "PUT", "/boot-source", "not json", NULL), 400);
	json_t *recs = svt_fakefc_records(f);
	json_t *want = json_pack("[{s:s, s:s, s:n, s:i}, {s:s, s:s, s:{s:s}, s:i}, {s:s, s:s, s:n, s:i}]",
				 "method", "GET", "path", "/version", "body", "status", 200,
				 "method", "PATCH", "path", "/vm", "body", "state", "Paused", "status", 400,
				 "method", "PUT", "path", "/boot-source", "body", "status", 400);
	if (!json_equal(recs, want)) {
		char *got = json_dumps(recs, 0);
		print_error("recorded: %s\n", got);
		free(got);
		fail();
	}
	json_decref(want);
	json_decref(recs);
}

/* ---- fault injection ---- */

static void test_exit_before_socket_injection(void **state)
{
	const char *env[] = { "FAKE_FC_EXIT_BEFORE_SOCKET=7", NULL };
	svt_fakefc *f = svt_fakefc_spawn("vm-2", env);
	*state = f; /* the teardown stops it, also when an assertion fails */
	assert_true(svt_fakefc_wait_exit(f, 2000));
	assert_int_equal(WEXITSTATUS(f->status), 7);
	assert_false(sv_path_exists(f->sock));
	char *console = svt_fakefc_console(f);
	assert_non_null(strstr(console, "FAKE_FC_EXIT_BEFORE_SOCKET=7"));
	free(console);
}

static void test_no_socket_injection_sleeps_until_killed(void **state)
{
	const char *env[] = { "FAKE_FC_NO_SOCKET=1", NULL };
	svt_fakefc *f = svt_fakefc_spawn("vm-2", env);
	*state = f; /* the teardown stops it, also when an assertion fails */
	assert_false(svt_fakefc_wait_socket(f, 200));
	assert_false(svt_fakefc_wait_exit(f, 0));
}

static void test_crash_after_start_injection_aborts(void **state)
{
	const char *env[] = { "FAKE_FC_CRASH_AFTER_START_MS=30", NULL };
	svt_fakefc *f = svt_fakefc_start("vm-2", env);
	*state = f; /* the teardown stops it, also when an assertion fails */
	start_vm(f);
	assert_true(svt_fakefc_wait_exit(f, 2000));
	assert_true(WIFSIGNALED(f->status));
	assert_int_equal(WTERMSIG(f->status), SIGABRT);
	char *console = svt_fakefc_console(f);
	assert_non_null(strstr(console, "panicked"));
	free(console);
}

static void test_ignore_ctrl_alt_del_injection_keeps_running(void **state)
{
	const char *env[] = { "FAKE_FC_IGNORE_CTRL_ALT_DEL=1", NULL };
	svt_fakefc *f = svt_fakefc_start("vm-2", env);
	*state = f; /* the teardown stops it, also when an assertion fails */
	start_vm(f);
	assert_accepted(f, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}");
	assert_false(svt_fakefc_wait_exit(f, 300));
}

static void test_stall_path_injection_never_answers_that_path(void **state)
{
	const char *env[] = { "FAKE_FC_STALL_PATH=/actions", NULL };
	svt_fakefc *f = svt_fakefc_start("vm-2", env);
	*state = f; /* the teardown stops it, also when an assertion fails */
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, f->sock);
	curl_easy_setopt(c, CURLOPT_URL, "http://localhost/actions");
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"action_type\": \"InstanceStart\"}");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 200L);
	assert_int_equal(curl_easy_perform(c), CURLE_OPERATION_TIMEDOUT);
	curl_easy_cleanup(c);
	/* Other paths still answer. */
	json_t *info = get_json(f, "/");
	json_decref(info);
	/* A stalled request does not keep the fake from a clean exit. */
	kill(f->pid, SIGTERM);
	assert_true(svt_fakefc_wait_exit(f, 2000));
	assert_true(WIFEXITED(f->status));
	assert_int_equal(WEXITSTATUS(f->status), 0);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_flag_prints_firecracker_version),
		cmocka_unit_test(test_unknown_argument_exits_1_with_message),
		cmocka_unit_test(test_instance_id_with_underscore_is_refused_like_firecracker),
		cmocka_unit_test_setup_teardown(test_logs_start_lines_to_stdout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instance_info_reports_not_started, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_config_defaults_before_put, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_field_is_refused_naming_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_field_in_nested_object_is_refused_with_its_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_type_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integer_out_of_range_for_its_type_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_required_field_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_enum_value_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integer_below_spec_minimum_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_json_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_put_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_path_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drive_id_mismatch_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_drive_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_root_device_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_kernel_is_refused_at_boot_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vcpu_count_must_be_even_with_smt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmds_config_must_name_configured_interfaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logger_file_must_exist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_config_reports_what_was_put_with_hyphenated_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instance_start_without_boot_source_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pre_boot_put_after_instance_start_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patch_vm_before_start_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_and_resume_change_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_alt_del_makes_the_process_exit_0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paused_guest_powers_off_only_after_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_alt_del_before_start_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_exits_0_and_removes_the_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_share_one_kept_alive_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_every_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_before_socket_injection, NULL, teardown),
		cmocka_unit_test_setup_teardown(test_no_socket_injection_sleeps_until_killed, NULL, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_start_injection_aborts, NULL, teardown),
		cmocka_unit_test_setup_teardown(test_ignore_ctrl_alt_del_injection_keeps_running, NULL, teardown),
		cmocka_unit_test_setup_teardown(test_stall_path_injection_never_answers_that_path, NULL, teardown),
	};
	int rc = svt_run_group(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
