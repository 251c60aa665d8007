/* The VM layer against the fake Firecracker: every section sent, the whole
 * lifecycle, staging, crashes, timeouts, refusals — and after every test no
 * runtime directory, staged drive or process remains. */
#include "svtest.h"
#include "config_v1_header.h"

#include "util/file.h"
#include "util/spawn.h"
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
	char *dir, *runtime, *data, *records;
	char *kernel, *rootfs, *scratch;
	sv_manager *mgr;
} fixture;

static sv_manager *new_manager(fixture *f, int socket_timeout_ms)
{
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = f->data,
				.runtime_dir = f->runtime,
				.firecracker_binary_path = svt_fake_firecracker(),
				.socket_timeout_ms = socket_timeout_ms,
				.stop_timeout_ms = 3000};
	sv_manager *m = NULL;
	assert_int_equal(sv_manager_new(&m, &o), 0);
	return m;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->runtime = sv_path_join(f->dir, "runtime");
	f->data = sv_path_join(f->dir, "data");
	f->records = sv_path_join(f->dir, "records");
	sv_mkdir_p(f->records, 0700);
	f->kernel = svt_write(f->dir, "vmlinux", "kernel image");
	f->rootfs = svt_write(f->dir, "rootfs.ext4", "root filesystem");
	f->scratch = svt_write(f->dir, "scratch.img", "scratch data");
	setenv("FAKE_FC_RECORD_DIR", f->records, 1);
	f->mgr = new_manager(f, 5000);
	*state = f;
	return 0;
}

static void assert_nothing_left(fixture *f)
{
	assert_int_equal(svt_vm_dirs_left(f->runtime), 0);
	svt_assert_no_processes_with(f->runtime);
}

static int teardown(void **state)
{
	fixture *f = *state;
	sv_manager_free(f->mgr);
	assert_nothing_left(f);
	unsetenv("FAKE_FC_RECORD_DIR");
	unsetenv("FAKE_FC_CRASH_AFTER_START_MS");
	unsetenv("FAKE_FC_NO_SOCKET");
	unsetenv("FAKE_FC_EXIT_BEFORE_SOCKET");
	unsetenv("FAKE_FC_DIE_ON_PATH");
	unsetenv("FAKE_FC_IGNORE_CTRL_ALT_DEL");
	/* Original files are never modified. */
	char *text = NULL;
	assert_int_equal(sv_read_file(f->scratch, 100, &text, NULL), 0);
	assert_string_equal(text, "scratch data");
	free(text);
	free(f->kernel);
	free(f->rootfs);
	free(f->scratch);
	free(f->runtime);
	free(f->data);
	free(f->records);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

static sv_vm *create(fixture *f, sv_manager *mgr, const sv_vm_config *cfg)
{
	sv_vm *vm = NULL;
	int rc = sv_manager_create_vm(&vm, mgr ? mgr : f->mgr, cfg);
	if (rc)
		fail_msg("create: %s", sv_last_error());
	return vm;
}

static void start_ok(sv_vm *vm)
{
	int rc = sv_vm_start(vm);
	if (rc)
		fail_msg("start: %s", sv_last_error());
	assert_int_equal(sv_vm_get_state(vm), SV_VM_RUNNING);
}

/* The requests the fake recorded for a VM, as a JSON array. */
static json_t *recorded(fixture *f, const char *id)
{
	char *path = NULL;
	assert_true(asprintf(&path, "%s/%s.jsonl", f->records, id) > 0);
	char *text = NULL;
	assert_int_equal(sv_read_file(path, 1 << 20, &text, NULL), 0);
	json_t *arr = json_array();
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		json_array_append_new(arr, json_loads(line, 0, NULL));
	free(text);
	free(path);
	return arr;
}

static json_t *find_request(json_t *reqs, const char *method, const char *path)
{
	size_t i;
	json_t *r;
	json_array_foreach(reqs, i, r)
	{
		if (!strcmp(json_string_value(json_object_get(r, "method")), method) &&
		    !strcmp(json_string_value(json_object_get(r, "path")), path))
			return r;
	}
	fail_msg("no %s %s was recorded", method, path);
	return NULL;
}

/* The body the VMM was given for a pre-boot resource ("/drives/scratch"):
 * its PUT, or its section of the config file the VMM booted from (which the
 * fake records as one "CONFIG-FILE" line). */
static json_t *vmm_got(json_t *reqs, const char *path)
{
	size_t i;
	json_t *r;
	json_array_foreach(reqs, i, r)
	{
		const char *method = json_string_value(json_object_get(r, "method"));
		if (!strcmp(method, "PUT") && !strcmp(json_string_value(json_object_get(r, "path")), path))
			return json_object_get(r, "body");
		if (strcmp(method, "CONFIG-FILE"))
			continue;
		json_t *doc = json_object_get(r, "body");
		if (!strcmp(path, "/mmds/config"))
			return json_object_get(doc, "mmds-config");
		const char *slash = strchr(path + 1, '/');
		char *key = strndup(path + 1, slash ? (size_t)(slash - path - 1) : strlen(path + 1));
		json_t *section = json_object_get(doc, key);
		free(key);
		if (!slash)
			return section;
		size_t j;
		json_t *e;
		json_array_foreach(section, j, e)
		{
			const char *id = json_string_value(json_object_get(e, "drive_id"));
			id = id ? id : json_string_value(json_object_get(e, "iface_id"));
			if (id && !strcmp(id, slash + 1))
				return e;
		}
	}
	fail_msg("the VMM was given no %s", path);
	return NULL;
}

/* A program built against the version 1 header (sv_vm_config before
 * Firecracker v1.16.1's fields): its config, in that layout, boots a VM
 * whose every section reaches the VMM, and it reads the VM's config back in
 * its layout. */
static void test_version_1_program_boots_a_vm(void **state)
{
	fixture *f = *state;
	sv_drive_config drives[] = {
	    {.drive_id = "rootfs", .path_on_host = f->rootfs, .is_root_device = true, .is_read_only = true},
	    {.drive_id = "scratch", .path_on_host = f->scratch, .cache_type = SV_CACHE_WRITEBACK}};
	old_balloon_config balloon = {.amount_mib = 16, .deflate_on_oom = true, .stats_polling_interval_s = 3};
	old_vm_config cfg = {.version = 1,
			     .id = "oldprog",
			     .boot_source = {.kernel_image_path = f->kernel, .boot_args = "console=ttyS0"},
			     .machine_config = {.vcpu_count = 2, .mem_size_mib = 128, .track_dirty_pages = true},
			     .drives = drives,
			     .n_drives = 2,
			     .balloon = &balloon};
	sv_vm *vm = create(f, NULL, (const sv_vm_config *)&cfg);
	start_ok(vm);
	sv_vm_config *back = NULL;
	assert_int_equal(sv_vm_config_get(&back, vm, 1), 0);
	const old_vm_config *old = (const old_vm_config *)back;
	assert_int_equal(old->version, 1);
	assert_int_equal(old->machine_config.vcpu_count, 2);
	assert_true(old->machine_config.track_dirty_pages);
	assert_int_equal(old->n_drives, 2);
	assert_string_equal(old->drives[1].drive_id, "scratch");
	assert_int_equal(old->balloon->stats_polling_interval_s, 3);
	sv_vm_config_free(back);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	json_t *reqs = recorded(f, "oldprog");
	json_t *mc = vmm_got(reqs, "/machine-config");
	assert_int_equal(json_integer_value(json_object_get(mc, "vcpu_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(mc, "mem_size_mib")), 128);
	assert_true(json_is_true(json_object_get(mc, "track_dirty_pages")));
	json_t *d = vmm_got(reqs, "/drives/scratch");
	assert_string_equal(json_string_value(json_object_get(d, "cache_type")), "Writeback");
	json_t *b = vmm_got(reqs, "/balloon");
	assert_int_equal(json_integer_value(json_object_get(b, "stats_polling_interval_s")), 3);
	assert_null(json_object_get(b, "free_page_hinting"));
	json_decref(reqs);
}

static void test_full_config_goes_through_whole_lifecycle(void **state)
{
	fixture *f = *state;
	/* Its network interface gets real host networking (bridge, lease, nft):
	 * only ever inside a namespace of this test's own. */
	if (!svt_is_root()) {
		svt_skip(SVT_NEED_ROOT, "needs root for a private network namespace");
	}
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	char *uds = sv_path_join(f->dir, "vsock.sock");
	char *log = sv_path_join(f->dir, "fc.log");
	char *metrics = sv_path_join(f->dir, "metrics.json");
	sv_rate_limiter rl = { .has_bandwidth = true, .bandwidth = { .size = 1048576, .refill_time = 100 },
			       .has_ops = true, .ops = { .size = 100, .one_time_burst = 10, .refill_time = 1000 } };
	sv_drive_config drives[] = {
		{ .drive_id = "rootfs", .path_on_host = f->rootfs, .is_root_device = true, .is_read_only = true },
		{ .drive_id = "scratch", .path_on_host = f->scratch, .cache_type = SV_CACHE_WRITEBACK,
		  .io_engine = SV_IO_ENGINE_ASYNC, .rate_limiter = &rl },
	};
	sv_net_iface_config nets[] = { { .iface_id = "eth0", .host_dev_name = "tap-test0",
					 .guest_mac = "06:00:ac:10:00:02", .rx_rate_limiter = &rl } };
	const char *mmds_ifaces[] = { "eth0" };
	sv_vsock_config vsock = { .guest_cid = 3, .uds_path = uds };
	sv_balloon_config balloon = { .amount_mib = 64, .deflate_on_oom = true, .stats_polling_interval_s = 1 };
	sv_mmds_config mmds = { .version = SV_MMDS_V2, .network_interfaces = mmds_ifaces, .n_network_interfaces = 1 };
	sv_logger_config logger = { .log_path = log, .level = SV_LOG_LEVEL_DEBUG, .show_level = true };
	sv_metrics_config met = { .metrics_path = metrics };
	sv_entropy_config entropy = { .rate_limiter = &rl };
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,
		.id = "full",
		.boot_source = { .kernel_image_path = f->kernel, .boot_args = "console=ttyS0 reboot=k" },
		.machine_config = { .vcpu_count = 2, .mem_size_mib = 256, .smt = true, .track_dirty_pages = true },
		.drives = drives, .n_drives = 2, .network_interfaces = nets, .n_network_interfaces = 1,
		.vsock = &vsock, .balloon = &balloon, .mmds = &mmds, .logger = &logger, .metrics = &met,
		.entropy = &entropy,
	};
	sv_vm *vm = create(f, NULL, &cfg);
	start_ok(vm);
	assert_true(sv_vm_pid(vm) > 0);

	/* The writable drive runs from a private copy; the read-only root in place. */
	char *staged = NULL;
	assert_true(asprintf(&staged, "%s/full/drives/scratch-scratch.img", f->runtime) > 0);
	assert_true(sv_path_exists(staged));

	char *info = NULL;
	assert_int_equal(sv_vm_instance_info(vm, &info), 0);
	json_t *io = json_loads(info, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(io, "state")), "Running");
	assert_string_equal(json_string_value(json_object_get(io, "id")), "full");
	json_decref(io);
	free(info);

	assert_int_equal(sv_vm_pause(vm), 0);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_PAUSED);
	assert_int_equal(sv_vm_instance_info(vm, &info), 0);
	assert_non_null(strstr(info, "\"Paused\""));
	free(info);
	assert_int_equal(sv_vm_resume(vm), 0);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_RUNNING);

	char *running = NULL;
	assert_int_equal(sv_vm_running_config(vm, &running), 0);
	json_t *rc = json_loads(running, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(rc, "boot-source"), "boot_args")),
			    "console=ttyS0 reboot=k ip=172.30.0.2::172.30.0.1:255.255.255.0::eth0:off");
	json_decref(rc);
	free(running);

	assert_int_equal(sv_vm_stop(vm, -1), 0);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_STOPPED);
	assert_false(sv_path_exists(staged));
	assert_int_equal(sv_vm_pid(vm), 0);

	/* Every section reached the VMM with Firecracker's field names. */
	json_t *reqs = recorded(f, "full");
	/* ... in one config file it booted from, not request by request. */
	char *vmm_config = NULL;
	assert_true(asprintf(&vmm_config, "%s/full/vmm-config.json", f->runtime) > 0);
	find_request(reqs, "CONFIG-FILE", vmm_config);
	assert_false(sv_path_exists(vmm_config)); /* gone with the VM */
	free(vmm_config);
	size_t i;
	json_t *r;
	json_array_foreach(reqs, i, r)
	{
		const char *path = json_string_value(json_object_get(r, "path"));
		const char *action = json_string_value(json_object_get(json_object_get(r, "body"), "action_type"));
		bool preboot = (action && !strcmp(action, "InstanceStart")) || !strcmp(path, "/boot-source") ||
			       !strcmp(path, "/machine-config") || !strncmp(path, "/drives/", 8);
		if (!strcmp(json_string_value(json_object_get(r, "method")), "PUT") && preboot)
			fail_msg("PUT %s: the VMM should have booted from its config file", path);
	}
	json_t *d = vmm_got(reqs, "/drives/scratch");
	/* Relative to the VMM's working directory (the VM dir), so snapshots restore elsewhere. */
	assert_string_equal(json_string_value(json_object_get(d, "path_on_host")), "drives/scratch-scratch.img");
	assert_string_equal(json_string_value(json_object_get(d, "cache_type")), "Writeback");
	assert_string_equal(json_string_value(json_object_get(d, "io_engine")), "Async");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(d, "rate_limiter"), "ops"),
							    "one_time_burst")), 10);
	d = vmm_got(reqs, "/drives/rootfs");
	assert_string_equal(json_string_value(json_object_get(d, "path_on_host")), f->rootfs);
	assert_true(json_is_true(json_object_get(d, "is_root_device")));
	json_t *mc = vmm_got(reqs, "/machine-config");
	assert_int_equal(json_integer_value(json_object_get(mc, "vcpu_count")), 2);
	assert_true(json_is_true(json_object_get(mc, "track_dirty_pages")));
	json_t *net = vmm_got(reqs, "/network-interfaces/eth0");
	assert_string_equal(json_string_value(json_object_get(net, "host_dev_name")), "tap-test0");
	assert_string_equal(json_string_value(json_object_get(net, "guest_mac")), "06:00:ac:10:00:02");
	assert_int_equal(json_integer_value(json_object_get(vmm_got(reqs, "/vsock"),
							    "guest_cid")), 3);
	assert_int_equal(json_integer_value(json_object_get(vmm_got(reqs, "/balloon"),
							    "amount_mib")), 64);
	assert_string_equal(json_string_value(json_object_get(
				    vmm_got(reqs, "/mmds/config"), "version")),
			    "V2");
	assert_string_equal(json_string_value(json_object_get(
				    vmm_got(reqs, "/logger"), "level")),
			    "Debug");
	vmm_got(reqs, "/metrics");
	vmm_got(reqs, "/entropy");
	vmm_got(reqs, "/boot-source");
	find_request(reqs, "PATCH", "/vm");
	json_decref(reqs);
	free(staged);
	free(uds);
	free(log);
	free(metrics);
}

static sv_vm_config minimal_config(fixture *f, const char *id, sv_drive_config *drive)
{
	*drive = (sv_drive_config){ .drive_id = "scratch", .path_on_host = f->scratch };
	return (sv_vm_config){.version = SV_VM_CONFIG_VERSION,  .id = id, .boot_source = { .kernel_image_path = f->kernel },
			       .machine_config = { .vcpu_count = 1, .mem_size_mib = 128 }, .drives = drive,
			       .n_drives = 1 };
}

static void test_network_without_boot_args_keeps_vmm_defaults(void **state)
{
	fixture *f = *state;
	if (!svt_is_root()) {
		svt_skip(SVT_NEED_ROOT, "needs root for a private network namespace");
	}
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	sv_net_iface_config net = { .iface_id = "eth0" };
	sv_drive_config drive;
	sv_vm_config cfg = minimal_config(f, "netdefaults", &drive);
	cfg.network_interfaces = &net;
	cfg.n_network_interfaces = 1;
	sv_vm *vm = create(f, NULL, &cfg);
	start_ok(vm);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	json_t *reqs = recorded(f, "netdefaults");
	json_t *bs = vmm_got(reqs, "/boot-source");
	assert_string_equal(json_string_value(json_object_get(bs, "boot_args")),
			    "reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.nopnp "
			    "i8042.dumbkbd ip=172.30.0.2::172.30.0.1:255.255.255.0::eth0:off");
	json_decref(reqs);
	/* The config as given is untouched. */
	sv_vm_config *given = NULL;
	assert_int_equal(sv_vm_config_get(&given, vm, SV_VM_CONFIG_VERSION), 0);
	assert_null(given->boot_source.boot_args);
	sv_vm_config_free(given);
}

static void test_vmm_crash_mid_run_is_error_and_cleaned(void **state)
{
	fixture *f = *state;
	setenv("FAKE_FC_CRASH_AFTER_START_MS", "200", 1);
	sv_drive_config drive;
	sv_vm_config cfg = minimal_config(f, "crashy", &drive);
	sv_vm *vm = create(f, NULL, &cfg);
	start_ok(vm);
	assert_int_equal(sv_vm_wait(vm, 10000), 0);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_ERROR);
	char *desc = NULL;
	assert_int_equal(sv_vm_describe(vm, &desc), 0);
	svt_assert_contains(desc, "killed by signal 6");
	free(desc);
	assert_nothing_left(f);
	assert_int_equal(sv_vm_pause(vm), SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), "VM \"crashy\" is error; pause is allowed when running");
}

static void test_socket_never_appearing_times_out_and_cleans(void **state)
{
	fixture *f = *state;
	setenv("FAKE_FC_NO_SOCKET", "1", 1);
	sv_manager *mgr = new_manager(f, 400);
	sv_drive_config drive;
	sv_vm_config cfg = minimal_config(f, "mute", &drive);
	sv_vm *vm = create(f, mgr, &cfg);
	assert_int_equal(sv_vm_start(vm), SV_ETIMEOUT);
	char *expected = NULL;
	assert_true(asprintf(&expected, "starting VM \"mute\": firecracker did not create its API socket "
					"%s/mute/firecracker.sock within 400 ms", f->runtime) > 0);
	assert_string_equal(sv_last_error(), expected);
	free(expected);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_ERROR);
	assert_nothing_left(f);
	sv_manager_free(mgr);
}

/* The VMM's own words (its stderr, kept apart from the console) say why it
 * failed, quoted line by line; the console follows. */
static void test_vmm_exiting_before_socket_reports_status_and_console(void **state)
{
	fixture *f = *state;
	setenv("FAKE_FC_EXIT_BEFORE_SOCKET", "3", 1);
	sv_drive_config drive;
	sv_vm_config cfg = minimal_config(f, "early", &drive);
	sv_vm *vm = create(f, NULL, &cfg);
	assert_int_equal(sv_vm_start(vm), SV_EPROCESS);
	svt_assert_contains(sv_last_error(),
			    "starting VM \"early\": firecracker ended before its API socket appeared: the VMM exited "
			    "with status 3; its last messages:\n"
			    "  | Error: injected failure before the API socket (FAKE_FC_EXIT_BEFORE_SOCKET=3)\n"
			    "last console lines:\n"
			    "  | ");
	assert_int_equal(sv_vm_get_state(vm), SV_VM_ERROR);
	assert_nothing_left(f);
}

/* A VMM that dies during the start-up requests: the request's error alone
 * ("Server returned nothing") does not say why; its stderr does, escaped.
 * (A serial section has no place in Firecracker's config file: this VM is
 * configured request by request.) */
static void test_vmm_dying_during_start_says_why_in_its_own_words(void **state)
{
	fixture *f = *state;
	setenv("FAKE_FC_DIE_ON_PATH", "/machine-config", 1);
	sv_drive_config drive;
	sv_serial_config serial = {0};
	sv_vm_config cfg = minimal_config(f, "dies", &drive);
	cfg.serial = &serial;
	sv_vm *vm = create(f, NULL, &cfg);
	assert_int_equal(sv_vm_start(vm), SV_EIO);
	svt_assert_contains(sv_last_error(), "starting VM \"dies\": PUT /machine-config: ");
	svt_assert_contains(sv_last_error(),
			    "; the VMM exited with status 1; its last messages:\n"
			    "  | Error: injected fatal error on PUT /machine-config (FAKE_FC_DIE_ON_PATH)\n"
			    "  | \\x1b]0;VMM-TITLE\\x07and a terminal escape\n"
			    "last console lines:\n");
	assert_null(strchr(sv_last_error(), '\x1b'));
	assert_int_equal(sv_vm_get_state(vm), SV_VM_ERROR);
	assert_nothing_left(f);
}

/* The same VMM booting from its config file dies while it is asked whether
 * the guest runs: the error is the VMM's end, in its own words. */
static void test_vmm_dying_while_booting_from_its_file_says_why(void **state)
{
	fixture *f = *state;
	setenv("FAKE_FC_DIE_ON_PATH", "/", 1);
	sv_drive_config drive;
	sv_vm_config cfg = minimal_config(f, "diesfile", &drive);
	sv_vm *vm = create(f, NULL, &cfg);
	assert_int_equal(sv_vm_start(vm), SV_EPROCESS);
	svt_assert_contains(sv_last_error(),
			    "starting VM \"diesfile\": firecracker ended while booting from its config file; the "
			    "VMM exited with status 1; its last messages:\n"
			    "  | Error: injected fatal error on GET / (FAKE_FC_DIE_ON_PATH)\n");
	assert_int_equal(sv_vm_get_state(vm), SV_VM_ERROR);
	assert_nothing_left(f);
}

static void test_vmm_refusal_surfaces_fault_message(void **state)
{
	fixture *f = *state;
	/* A socket path that is already taken: Firecracker can't bind the vsock. */
	char *uds = svt_write(f->dir, "taken.sock", "");
	sv_vsock_config vsock = { .guest_cid = 3, .uds_path = uds };
	sv_drive_config drive;
	sv_serial_config serial = {0};
	sv_vm_config cfg = minimal_config(f, "refused", &drive);
	cfg.vsock = &vsock;
	cfg.serial = &serial; /* configured request by request */
	sv_vm *vm = create(f, NULL, &cfg);
	assert_int_equal(sv_vm_start(vm), SV_EVMM);
	svt_assert_contains(sv_last_error(), "starting VM \"refused\": PUT /vsock: 400 Cannot create backend "
						"for vsock device");
	assert_int_equal(sv_vm_get_state(vm), SV_VM_ERROR);
	assert_nothing_left(f);
	free(uds);
}

/* The same refusal of a config file: the VMM logs it and exits with
 * Firecracker's BadConfiguration code (152); nothing is left. */
static void test_vmm_refusing_its_config_file_says_which_section(void **state)
{
	fixture *f = *state;
	char *uds = svt_write(f->dir, "taken.sock", "");
	sv_vsock_config vsock = { .guest_cid = 3, .uds_path = uds };
	sv_drive_config drive;
	sv_vm_config cfg = minimal_config(f, "refusedfile", &drive);
	cfg.vsock = &vsock;
	sv_vm *vm = create(f, NULL, &cfg);
	assert_int_equal(sv_vm_start(vm), SV_EPROCESS);
	/* Firecracker logs to its stdout, the console, when no logger is set. */
	/* (It may end before its socket is seen, or while it is asked.) */
	svt_assert_contains(sv_last_error(), "starting VM \"refusedfile\": firecracker ended ");
	svt_assert_contains(sv_last_error(), "the VMM exited with status 152; last console lines:\n");
	svt_assert_contains(sv_last_error(),
			    "Configuration for VMM from one single json failed: Cannot create backend for vsock device");
	assert_int_equal(sv_vm_get_state(vm), SV_VM_ERROR);
	assert_nothing_left(f);
	free(uds);
}

static void test_graceful_stop_falls_back_to_signals(void **state)
{
	fixture *f = *state;
	setenv("FAKE_FC_IGNORE_CTRL_ALT_DEL", "1", 1);
	sv_drive_config drive;
	sv_vm_config cfg = minimal_config(f, "stubborn", &drive);
	sv_vm *vm = create(f, NULL, &cfg);
	start_ok(vm);
	long long t0 = sv_now_ms();
	assert_int_equal(sv_vm_stop(vm, 300), 0);
	assert_true(sv_now_ms() - t0 >= 300);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_STOPPED);
	assert_nothing_left(f);
}

static void test_detached_vm_is_controlled_from_another_manager(void **state)
{
	fixture *f = *state;
	sv_drive_config drive;
	sv_vm_config cfg = minimal_config(f, "away", &drive);
	sv_manager *first = new_manager(f, 5000);
	sv_vm *vm = create(f, first, &cfg);
	start_ok(vm);
	assert_int_equal(sv_vm_detach(vm), 0);
	sv_manager_free(first); /* leaves the detached VM running */
	assert_int_equal(svt_dir_entries(f->runtime), 1);

	sv_vm *again = NULL;
	assert_int_equal(sv_manager_attach_vm(&again, f->mgr, "away"), 0);
	assert_int_equal(sv_vm_get_state(again), SV_VM_RUNNING);
	assert_true(sv_vm_pid(again) > 0);
	assert_int_equal(sv_vm_pause(again), 0);
	sv_vm *third_view = NULL;
	sv_manager *third = new_manager(f, 5000);
	assert_int_equal(sv_manager_attach_vm(&third_view, third, "away"), 0);
	assert_int_equal(sv_vm_get_state(third_view), SV_VM_PAUSED);
	sv_manager_free(third);
	assert_int_equal(sv_vm_resume(again), 0);
	assert_int_equal(sv_vm_stop(again, -1), 0);
	assert_int_equal(sv_vm_get_state(again), SV_VM_STOPPED);
	assert_nothing_left(f);
}

static void test_orchestrator_death_takes_its_attached_vm_along(void **state)
{
	fixture *f = *state;
	pid_t child = fork();
	if (child == 0) {
		sv_manager *m = new_manager(f, 5000);
		sv_drive_config drive;
		sv_vm_config cfg = minimal_config(f, "orphan", &drive);
		sv_vm *vm = NULL;
		if (sv_manager_create_vm(&vm, m, &cfg) || sv_vm_start(vm))
			_exit(1);
		kill(getpid(), SIGKILL); /* dies holding the VM, no cleanup */
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	/* The supervisor notices the closed control pipe, kills the VMM, cleans
	 * up and exits: the directory goes just before the supervisor does. */
	for (int i = 0; i < 200 && (svt_dir_entries(f->runtime) > 0 || svt_count_processes_with(f->runtime) > 0); i++)
		usleep(50000);
	assert_nothing_left(f);
}

static void test_gc_cleans_after_supervisor_was_killed(void **state)
{
	fixture *f = *state;
	sv_drive_config drive;
	sv_vm_config cfg = minimal_config(f, "lost", &drive);
	sv_vm *vm = create(f, NULL, &cfg);
	start_ok(vm);
	assert_int_equal(sv_vm_detach(vm), 0);
	char *desc = NULL;
	/* Kill the supervisor: the VMM dies with it (its parent-death signal),
	 * but nobody replays the detached VM's ledger. */
	char *state_path = NULL;
	assert_true(asprintf(&state_path, "%s/lost/state.json", f->runtime) > 0);
	json_t *st = json_load_file(state_path, 0, NULL);
	pid_t sup = (pid_t)json_integer_value(json_object_get(st, "supervisor_pid"));
	json_decref(st);
	assert_true(sup > 0);
	assert_int_equal(kill(sup, SIGKILL), 0);
	for (int i = 0; i < 100 && (sv_process_alive(sup, 0) || svt_count_processes_with(f->runtime) > 0);
	     i++)
		usleep(20000);
	svt_assert_no_processes_with(f->runtime);
	assert_int_equal(svt_dir_entries(f->runtime), 1);

	sv_manager *other = new_manager(f, 5000);
	size_t removed = 0;
	assert_int_equal(sv_manager_gc(other, &removed), 0);
	assert_int_equal(removed, 1);
	sv_manager_free(other);
	for (int i = 0; i < 100 && svt_count_processes_with(f->runtime) > 0; i++)
		usleep(20000);
	assert_nothing_left(f);
	free(state_path);
	free(desc);
}

static void test_freeing_a_vm_stops_it_and_forgets_it(void **state)
{
	fixture *f = *state;
	sv_drive_config drive;
	sv_vm_config cfg = minimal_config(f, "transient", &drive);
	sv_vm *vm = create(f, NULL, &cfg);
	start_ok(vm);
	sv_vm_free(vm);
	assert_null(sv_manager_get_vm(f->mgr, "transient"));
	assert_nothing_left(f);
	/* The id is free again. */
	vm = create(f, NULL, &cfg);
	start_ok(vm);
	assert_int_equal(sv_vm_detach(vm), 0);
	sv_vm_free(vm); /* detached: keeps running */
	assert_null(sv_manager_get_vm(f->mgr, "transient"));
	assert_int_equal(svt_dir_entries(f->runtime), 1);
	sv_vm *again = NULL;
	assert_int_equal(sv_manager_attach_vm(&again, f->mgr, "transient"), 0);
	assert_int_equal(sv_vm_get_state(again), SV_VM_RUNNING);
	assert_int_equal(sv_vm_stop(again, -1), 0);
	assert_nothing_left(f);
}

static void test_gc_leaves_running_vms_alone(void **state)
{
	fixture *f = *state;
	sv_drive_config drive;
	sv_vm_config cfg = minimal_config(f, "alive", &drive);
	sv_vm *vm = create(f, NULL, &cfg);
	start_ok(vm);
	sv_manager *other = new_manager(f, 5000);
	size_t removed = 7;
	assert_int_equal(sv_manager_gc(other, &removed), 0);
	assert_int_equal(removed, 0);
	sv_manager_free(other);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_RUNNING);
	assert_int_equal(sv_vm_kill(vm), 0);
	assert_nothing_left(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_version_1_program_boots_a_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_config_goes_through_whole_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network_without_boot_args_keeps_vmm_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmm_crash_mid_run_is_error_and_cleaned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_never_appearing_times_out_and_cleans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmm_exiting_before_socket_reports_status_and_console, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmm_dying_during_start_says_why_in_its_own_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmm_refusal_surfaces_fault_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmm_dying_while_booting_from_its_file_says_why, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmm_refusing_its_config_file_says_which_section, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graceful_stop_falls_back_to_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detached_vm_is_controlled_from_another_manager, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orchestrator_death_takes_its_attached_vm_along, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_cleans_after_supervisor_was_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freeing_a_vm_stops_it_and_forgets_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_leaves_running_vms_alone, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
