/* The smartvm command line driving VMs on the fake Firecracker: run (detached
 * and in the foreground), ps, inspect, pause, resume, stop, kill, logs and gc,
 * each ending with nothing left behind (no VM directory, no process naming
 * the test's directory). */
#include "svtest.h"

#include "clifixture.h"
#include "leftovers.h"
#include "sv_build_config.h"

#include "util/file.h"
#include "util/spawn.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <sys/stat.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <smartvm/smartvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long a VM may take to reach a state or to vanish, polled every 20 ms. */
#define WAIT_MS 10000

typedef svt_cli_fixture fixture;

static int setup(void **state)
{
	*state = svt_cli_fixture_new();
	return 0;
}

/* The pids of live processes whose command line contains needle. */
static size_t pids_with(const char *needle, pid_t *pids, size_t max)
{
	size_t n = 0;
	DIR *d = opendir("/proc");
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d)) && n < max;) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		char path[64], buf[4096];
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue; /* zombie or gone */
		for (ssize_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, needle))
			pids[n++] = pid;
	}
	closedir(d);
	return n;
}

static bool wait_no_processes(const char *needle, int timeout_ms)
{
	long long deadline = sv_now_ms() + timeout_ms;
	while (svt_count_processes_with(needle) > 0) {
		if (sv_now_ms() > deadline)
			return false;
		usleep(20000);
	}
	return true;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	/* Whatever a test did, nothing may remain: the library cleans up after a
	 * stop or kill, the supervisor after the VMM exits. Allow the supervisor
	 * a moment to exit after its VMM. */
	bool gone = wait_no_processes(fx->tmp, 5000);
	if (!gone) {
		/* Don't leak them into the next test; they are ours (spawned by
		 * the CLI we ran), killed by pid. */
		pid_t pids[32];
		size_t n = pids_with(fx->tmp, pids, 32);
		for (size_t i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
	}
	int left = svt_vm_dirs_left(fx->runtime_dir);
	char *tmp = svt_cli_fixture_free(fx);
	assert_true(gone);
	assert_int_equal(left, 0);
	svt_rm_tmpdir(tmp);
	return 0;
}

#define cli svt_cli_run
#define cli_env svt_cli_env
#define out_json svt_cli_json

/* `inspect ID --json`'s state. */
static const char *state_of(fixture *fx, const char *id)
{
	static char state[32];
	assert_int_equal(cli(fx, "inspect", id, "--json", NULL), 0);
	json_t *o = out_json(fx);
	snprintf(state, sizeof(state), "%s", json_string_value(json_object_get(o, "state")));
	json_decref(o);
	return state;
}

static void run_detached(fixture *fx, const char *id)
{
	int code = cli(fx, "run", "--kernel", fx->kernel, "--rootfs", fx->rootfs, "--id", id,
		       "--firecracker-bin", svt_fake_firecracker(), "--detach", NULL);
	if (code != 0)
		fail_msg("run exited %d: %s", code, fx->err);
	char expected[128];
	snprintf(expected, sizeof(expected), "%s\n", id);
	assert_string_equal(fx->out, expected);
}

static void assert_ps_empty(fixture *fx)
{
	assert_int_equal(cli(fx, "ps", "--json", NULL), 0);
	assert_string_equal(fx->out, "[]\n");
}

static void test_detached_vm_through_ps_inspect_pause_resume_stop(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "web");

	assert_int_equal(cli(fx, "ps", "--json", NULL), 0);
	json_t *all = out_json(fx);
	assert_true(json_is_array(all));
	assert_int_equal(json_array_size(all), 1);
	json_t *vm = json_array_get(all, 0);
	assert_string_equal(json_string_value(json_object_get(vm, "id")), "web");
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "running");
	assert_string_equal(json_string_value(json_object_get(vm, "vmm")), "firecracker");
	json_int_t pid = json_integer_value(json_object_get(vm, "pid"));
	assert_true(pid > 0);
	assert_int_equal(kill((pid_t)pid, 0), 0);
	json_decref(all);

	assert_int_equal(cli(fx, "ps", NULL), 0);
	svt_assert_contains(fx->out, "ID                       STATE        PID      VMM          IP\n");
	svt_assert_contains(fx->out, "web                      running      ");

	assert_int_equal(cli(fx, "inspect", "web", NULL), 0);
	svt_assert_contains(fx->out, "id: web\n");
	svt_assert_contains(fx->out, "state: running\n");
	char line[1024];
	snprintf(line, sizeof(line), "config.boot-source.kernel_image_path: %s\n", fx->kernel);
	svt_assert_contains(fx->out, line);
	svt_assert_contains(fx->out, "config.drives[0].drive_id: rootfs\n");
	svt_assert_contains(fx->out, "config.drives[0].is_root_device: true\n");
	svt_assert_contains(fx->out, "config.machine-config.vcpu_count: 1\n");
	svt_assert_contains(fx->out, "config.machine-config.mem_size_mib: 128\n");

	assert_int_equal(cli(fx, "pause", "web", NULL), 0);
	assert_string_equal(fx->out, "");
	assert_string_equal(state_of(fx, "web"), "paused");
	/* Pausing twice is a state error: exit 1 with the library's message. */
	assert_int_equal(cli(fx, "pause", "web", NULL), 1);
	svt_assert_contains(fx->err, "smartvm: ");
	svt_assert_contains(fx->err, "paused");

	assert_int_equal(cli(fx, "resume", "web", NULL), 0);
	assert_string_equal(state_of(fx, "web"), "running");

	assert_int_equal(cli(fx, "stop", "web", "--timeout", "5", NULL), 0);
	assert_string_equal(fx->out, "web\n"); /* the id of each VM acted on, like docker */
	assert_ps_empty(fx);
	assert_int_equal(cli(fx, "rm", "web", NULL), 0);
	assert_string_equal(fx->out, "web\n");
}

static void test_run_detach_json_prints_the_description(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--id", "j1", "--vcpus", "2", "--mem", "256",
			     "--boot-args", "console=ttyS0 quiet", "--firecracker-bin",
			     svt_fake_firecracker(), "--detach", "--json", NULL),
			 0);
	json_t *o = out_json(fx);
	assert_string_equal(json_string_value(json_object_get(o, "id")), "j1");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "running");
	json_t *cfg = json_object_get(o, "config");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(cfg, "machine-config"), "vcpu_count")), 2);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(cfg, "machine-config"), "mem_size_mib")), 256);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(cfg, "boot-source"), "boot_args")),
	    "console=ttyS0 quiet");
	json_decref(o);
	assert_int_equal(cli(fx, "kill", "j1", NULL), 0);
	assert_ps_empty(fx);
}

static void test_flags_override_a_loaded_config(void **state)
{
	fixture *fx = *state;
	char json[2048];
	snprintf(json, sizeof(json),
		 "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"from-file\"},"
		 " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64},"
		 " \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\","
		 " \"is_root_device\": true, \"is_read_only\": false}]}",
		 fx->kernel, fx->rootfs);
	char *path = svt_write(fx->tmp, "vm.json", json);
	char *extra = svt_write(fx->tmp, "extra.img", "extra drive\n");
	char drive[700];
	snprintf(drive, sizeof(drive), "id=extra,path=%s,ro", extra);

	assert_int_equal(cli(fx, "run", "--config", path, "--id", "ov", "--vcpus", "4", "--mem", "512",
			     "--boot-args", "from-flag", "--drive", drive, "--firecracker-bin",
			     svt_fake_firecracker(), "--detach", NULL),
			 0);
	assert_string_equal(fx->out, "ov\n");
	assert_int_equal(cli(fx, "inspect", "ov", NULL), 0);
	svt_assert_contains(fx->out, "config.machine-config.vcpu_count: 4\n");
	svt_assert_contains(fx->out, "config.machine-config.mem_size_mib: 512\n");
	svt_assert_contains(fx->out, "config.boot-source.boot_args: from-flag\n");
	svt_assert_contains(fx->out, "config.drives[0].drive_id: rootfs\n");
	svt_assert_contains(fx->out, "config.drives[1].drive_id: extra\n");
	svt_assert_contains(fx->out, "config.drives[1].is_read_only: true\n");
	assert_int_equal(cli(fx, "stop", "ov", NULL), 0);
	assert_ps_empty(fx);
	free(path);
	free(extra);
}

/* Runs `ip ARGS...` (inside the test's own network namespace). */
static void ip(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5, const char *a6)
{
	const char *argv[] = {"ip", a1, a2, a3, a4, a5, a6, NULL};
	int code = -1;
	char *out = NULL, *err = NULL;
	const char *path[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", NULL};
	for (size_t i = 0; path[i]; i++)
		if (access(path[i], X_OK) == 0)
			argv[0] = path[i];
	assert_int_equal(sv_run(argv, NULL, 10000, &code, &out, &err), 0);
	if (code != 0)
		fail_msg("ip %s %s %s: exit %d: %s", a1, a2, a3, code, err ? err : "");
	free(out);
	free(err);
}

static void test_full_config_with_every_section_through_its_lifecycle(void **state)
{
	fixture *fx = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "needs root for a private network namespace and a TAP in it");
	/* Everything network-related happens in a namespace of our own; the
	 * CLI and the VMs it spawns inherit it. */
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	ip("tuntap", "add", "dev", "svclitap0", "mode", "tap");

	char *data = svt_write(fx->tmp, "data.img", "data\n");
	char *log = svt_write(fx->tmp, "fc.log", "");
	char *metrics = svt_write(fx->tmp, "fc.metrics", "");
	char json[4096];
	snprintf(json, sizeof(json),
		 "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\","
		 "  \"boot_args\": \"console=ttyS0 reboot=k panic=1\"},"
		 " \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": false,"
		 "  \"track_dirty_pages\": true},"
		 " \"drives\": ["
		 "  {\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\", \"is_root_device\": true,"
		 "   \"is_read_only\": false, \"cache_type\": \"Writeback\", \"io_engine\": \"Sync\","
		 "   \"rate_limiter\": {\"bandwidth\": {\"size\": 1048576, \"refill_time\": 100},"
		 "                      \"ops\": {\"size\": 1000, \"refill_time\": 1000}}},"
		 "  {\"drive_id\": \"data\", \"path_on_host\": \"%s\", \"is_root_device\": false,"
		 "   \"is_read_only\": true}],"
		 " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"svclitap0\","
		 "   \"guest_mac\": \"06:00:ac:10:00:02\","
		 "   \"rx_rate_limiter\": {\"bandwidth\": {\"size\": 1000000, \"refill_time\": 100}}}],"
		 " \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"%s/vsock.sock\"},"
		 " \"balloon\": {\"amount_mib\": 16, \"deflate_on_oom\": true,"
		 "   \"stats_polling_interval_s\": 1},"
		 " \"mmds-config\": {\"version\": \"V2\", \"network_interfaces\": [\"eth0\"],"
		 "   \"ipv4_address\": \"169.254.169.254\"},"
		 " \"logger\": {\"log_path\": \"%s\", \"level\": \"Debug\", \"show_level\": true,"
		 "   \"show_log_origin\": true},"
		 " \"metrics\": {\"metrics_path\": \"%s\"},"
		 " \"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"refill_time\": 100}}}}",
		 fx->kernel, fx->kernel, fx->rootfs, data, fx->tmp, log, metrics);
	char *path = svt_write(fx->tmp, "full.json", json);

	int code = cli(fx, "run", "--config", path, "--id", "full", "--firecracker-bin",
		       svt_fake_firecracker(), "--detach", NULL);
	if (code != 0)
		fail_msg("run exited %d: %s", code, fx->err);

	assert_int_equal(cli(fx, "inspect", "full", "--json", NULL), 0);
	json_t *o = out_json(fx);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "running");
	json_t *cfg = json_object_get(o, "config");
	const char *sections[] = {"boot-source", "machine-config", "drives",	  "network-interfaces",
				  "vsock",	 "balloon",	   "mmds-config", "logger",
				  "metrics",	 "entropy"};
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (!json_object_get(cfg, sections[i]))
			fail_msg("inspect --json: config has no \"%s\"", sections[i]);
	json_t *net = json_array_get(json_object_get(o, "network"), 0);
	assert_string_equal(json_string_value(json_object_get(net, "iface_id")), "eth0");
	assert_string_equal(json_string_value(json_object_get(net, "tap_name")), "svclitap0");
	assert_string_equal(json_string_value(json_object_get(net, "mac")), "06:00:ac:10:00:02");
	json_decref(o);

	assert_int_equal(cli(fx, "inspect", "full", NULL), 0);
	svt_assert_contains(fx->out, "network[0].tap_name: svclitap0\n");
	svt_assert_contains(fx->out, "network[0].mac: 06:00:ac:10:00:02\n");
	svt_assert_contains(fx->out, "config.balloon.amount_mib: 16\n");

	assert_int_equal(cli(fx, "pause", "full", NULL), 0);
	assert_string_equal(state_of(fx, "full"), "paused");
	assert_int_equal(cli(fx, "resume", "full", NULL), 0);
	assert_string_equal(state_of(fx, "full"), "running");
	assert_int_equal(cli(fx, "stop", "full", NULL), 0);
	assert_ps_empty(fx);

	free(path);
	free(data);
	free(log);
	free(metrics);
}

static void test_kill_ends_the_vm_and_cleans_up(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "k1");
	assert_int_equal(cli(fx, "kill", "k1", NULL), 0);
	assert_string_equal(fx->out, "k1\n");
	assert_ps_empty(fx);
	/* Ended, its end record kept: killing it again is a state error. */
	assert_int_equal(cli(fx, "kill", "k1", NULL), 1);
	assert_string_equal(fx->out, "");
	svt_assert_contains(fx->err, "smartvm: VM \"k1\" is stopped; kill is allowed when ");
	assert_int_equal(cli(fx, "rm", "k1", NULL), 0);
	assert_int_equal(cli(fx, "kill", "k1", NULL), 1);
	assert_string_equal(fx->err, "smartvm: no VM with id \"k1\"\n");
}

static void test_logs_prints_the_console(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "l1");
	/* The fake writes its log lines to stdout, which is the console. */
	assert_int_equal(cli(fx, "logs", "l1", NULL), 0);
	svt_assert_contains(fx->out, "Running Firecracker v");
	svt_assert_contains(fx->out, "Successfully started microvm");
	assert_int_equal(cli(fx, "stop", "l1", NULL), 0);
}

/* Starts the CLI with args (+ the fixture's global options) in the
 * background, its stdout going to out_path, its stderr to err_path (NULL =
 * ours). */
static pid_t spawn_cli_err(fixture *fx, const char *out_path, const char *err_path, const char *const *args)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = svt_cli();
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n++] = "--data-dir";
	argv[n++] = fx->data_dir;
	argv[n++] = "--runtime-dir";
	argv[n++] = fx->runtime_dir;
	argv[n] = NULL;
	int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	int efd = err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : STDERR_FILENO;
	assert_true(efd >= 0);
	sv_spawn_opts so = {.argv = argv, .stdin_fd = -1, .stdout_fd = fd, .stderr_fd = efd};
	pid_t pid = 0;
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	close(fd);
	if (err_path)
		close(efd);
	return pid;
}

static pid_t spawn_cli(fixture *fx, const char *out_path, const char *const *args)
{
	return spawn_cli_err(fx, out_path, NULL, args);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Waits until `inspect ID --json` reports state. */
static void wait_for_state(fixture *fx, const char *id, const char *want)
{
	long long deadline = sv_now_ms() + WAIT_MS;
	for (;;) {
		if (cli(fx, "inspect", id, "--json", NULL) == 0) {
			json_t *o = out_json(fx);
			bool ok = !strcmp(json_string_value(json_object_get(o, "state")), want);
			json_decref(o);
			if (ok)
				return;
		}
		if (sv_now_ms() > deadline)
			fail_msg("VM \"%s\" never reached state %s", id, want);
		usleep(20000);
	}
}

/* Reaps pid within WAIT_MS; returns its exit code (fails if signalled). */
static int reap_exit_code(pid_t pid)
{
	int status = 0;
	if (sv_reap(pid, WAIT_MS, &status) != 0) {
		kill(pid, SIGKILL);
		sv_reap(pid, WAIT_MS, &status);
		fail_msg("smartvm (pid %d) did not exit in time", (int)pid);
	}
	if (!WIFEXITED(status))
		fail_msg("smartvm %s", sv_describe_wait_status(status));
	return WEXITSTATUS(status);
}

/* Waits until path exists (a file another process makes). */
static void wait_for_file(const char *path, const char *what)
{
	long long deadline = sv_now_ms() + WAIT_MS;
	while (!sv_path_exists(path)) {
		if (sv_now_ms() > deadline)
			fail_msg("%s (%s) never appeared", what, path);
		usleep(10000);
	}
}

/* True once the VM directory's ledger names the VMM's pid. */
static bool ledger_has_pid(fixture *fx, const char *id)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/%s/ledger", fx->runtime_dir, id);
	FILE *f = fopen(path, "re");
	char line[512];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "pid ", 4);
	if (f)
		fclose(f);
	return found;
}

/* A kill of a VM another process is still starting ends it: the VMM, which
 * has not opened its API yet, is killed; the start fails, saying so, and
 * cleans up. (It once waited 10 s for the start's lock, printed the id,
 * exited 0 and left the VM running.) */
static void test_kill_ends_a_vm_another_process_is_starting(void **state)
{
	fixture *fx = *state;
	char out_path[600], err_path[600];
	snprintf(out_path, sizeof(out_path), "%s/run.out", fx->tmp);
	snprintf(err_path, sizeof(err_path), "%s/run.err", fx->tmp);
	const char *args[] = {"run",  "--kernel",	   fx->kernel, "--id", "slow", "--firecracker-bin",
			      svt_fake_firecracker(), "--detach", NULL};
	/* Its socket bound but not listening for a minute: the start waits. */
	setenv("FAKE_FC_LISTEN_DELAY_MS", "60000", 1);
	pid_t run = spawn_cli_err(fx, out_path, err_path, args);
	unsetenv("FAKE_FC_LISTEN_DELAY_MS");
	long long deadline = sv_now_ms() + WAIT_MS;
	while (!ledger_has_pid(fx, "slow")) {
		if (sv_now_ms() > deadline)
			fail_msg("the VMM of VM \"slow\" was never recorded");
		usleep(10000);
	}
	assert_string_equal(state_of(fx, "slow"), "configuring");

	assert_int_equal(cli(fx, "kill", "slow", NULL), 0);
	assert_string_equal(fx->out, "slow\n");
	assert_string_equal(fx->err, "");
	assert_int_equal(reap_exit_code(run), 1);
	char *err = read_text(err_path);
	svt_assert_contains(err, "smartvm: starting VM \"slow\": firecracker ended before its API socket appeared");
	svt_assert_contains(err, "after a stop request");
	free(err);
	assert_ps_empty(fx);
}

/* The same kill before the VMM exists (the start stopped before it asks for
 * the supervisor): the kill leaves its marker and waits; the supervisor,
 * once the VMM's pid is in the ledger, sees the marker and never lets the
 * VMM run. */
static void test_kill_before_the_vmm_exists_keeps_it_from_running(void **state)
{
#if !SV_FAULT_INJECTION
	svt_skip(SVT_NEED_FAULTS, "this build has no fault injection (-Dfault_injection)");
#endif
	fixture *fx = *state;
	char out_path[600], err_path[600], kill_out[600], marker[700];
	snprintf(out_path, sizeof(out_path), "%s/run.out", fx->tmp);
	snprintf(err_path, sizeof(err_path), "%s/run.err", fx->tmp);
	snprintf(kill_out, sizeof(kill_out), "%s/kill.out", fx->tmp);
	snprintf(marker, sizeof(marker), "%s/early/stop-requested", fx->runtime_dir);
	const char *args[] = {"run",  "--kernel",	   fx->kernel, "--id", "early", "--firecracker-bin",
			      svt_fake_firecracker(), "--detach", NULL};
	setenv("SMARTVM_FAULT", "launch.supervisor:stop", 1);
	pid_t run = spawn_cli_err(fx, out_path, err_path, args);
	unsetenv("SMARTVM_FAULT");
	siginfo_t si = {0};
	assert_int_equal(waitid(P_PID, (id_t)run, &si, WSTOPPED), 0);
	assert_string_equal(state_of(fx, "early"), "configuring");

	const char *kill_args[] = {"kill", "early", NULL};
	pid_t killer = spawn_cli(fx, kill_out, kill_args);
	wait_for_file(marker, "the kill's stop marker");
	assert_int_equal(kill(run, SIGCONT), 0);
	assert_int_equal(reap_exit_code(run), 1);
	assert_int_equal(reap_exit_code(killer), 0);
	char *err = read_text(err_path);
	svt_assert_contains(err, "killed while it was starting");
	free(err);
	char *out = read_text(kill_out);
	assert_string_equal(out, "early\n");
	free(out);
	assert_ps_empty(fx);
}

/* The kill's marker appearing between the supervisor's look for it and the
 * VMM's exec (a kill that read the ledger then found the VMM's pid still
 * running the supervisor's binary, and let it be): the supervisor looks
 * again once the VMM has exec'd, and kills it. */
static void test_a_kill_racing_the_vmm_exec_still_ends_the_vm(void **state)
{
#if !SV_FAULT_INJECTION
	svt_skip(SVT_NEED_FAULTS, "this build has no fault injection (-Dfault_injection)");
#endif
	fixture *fx = *state;
	char out_path[600], err_path[600], report[600], marker[700];
	snprintf(out_path, sizeof(out_path), "%s/run.out", fx->tmp);
	snprintf(err_path, sizeof(err_path), "%s/run.err", fx->tmp);
	snprintf(report, sizeof(report), "%s/fault", fx->tmp);
	snprintf(marker, sizeof(marker), "%s/racy/stop-requested", fx->runtime_dir);
	const char *args[] = {"run",  "--kernel",	   fx->kernel, "--id", "racy", "--firecracker-bin",
			      svt_fake_firecracker(), "--detach", NULL};
	setenv("SMARTVM_FAULT", "supervisor.vmm_exec:stop", 1);
	setenv("SMARTVM_FAULT_REPORT", report, 1);
	pid_t run = spawn_cli_err(fx, out_path, err_path, args);
	unsetenv("SMARTVM_FAULT");
	unsetenv("SMARTVM_FAULT_REPORT");
	wait_for_file(report, "the fault report");
	char *line = NULL;
	long long deadline = sv_now_ms() + WAIT_MS;
	while (!(line = read_text(report))[0]) { /* written before the process stops */
		free(line);
		if (sv_now_ms() > deadline)
			fail_msg("the fault report stayed empty");
		usleep(10000);
	}
	int supervisor = 0;
	assert_int_equal(sscanf(line, "supervisor.vmm_exec stop %d", &supervisor), 1);
	free(line);
	free(svt_write(fx->runtime_dir, "racy/stop-requested", ""));
	assert_true(sv_path_exists(marker));
	assert_int_equal(kill(supervisor, SIGCONT), 0);
	assert_int_equal(reap_exit_code(run), 1);
	char *err = read_text(err_path);
	/* Killed at once after its exec, the VMM has usually not made its
	 * socket yet; a slow kill lets it get as far as booting. Either way
	 * it ended, killed for the stop request. */
	svt_assert_contains(err, "smartvm: starting VM \"racy\": firecracker ended ");
	svt_assert_contains(err, "killed by signal 9 (Killed) after a stop request");
	free(err);
	assert_ps_empty(fx);
}

static void test_logs_follow_ends_when_the_vm_is_gone(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "lf");
	char out_path[600];
	snprintf(out_path, sizeof(out_path), "%s/logs.out", fx->tmp);
	const char *args[] = {"logs", "lf", "-f", NULL};
	pid_t pid = spawn_cli(fx, out_path, args);

	usleep(300000); /* let it reach the follow loop */
	assert_int_equal(kill(pid, 0), 0);
	assert_int_equal(cli(fx, "stop", "lf", NULL), 0);
	assert_int_equal(reap_exit_code(pid), 0);

	char *text = read_text(out_path);
	svt_assert_contains(text, "Running Firecracker v");
	/* Printed once, not again on every poll. */
	char *first = strstr(text, "Running Firecracker v");
	assert_null(strstr(first + 1, "Running Firecracker v"));
	free(text);
}

static void test_logs_follow_stops_on_sigint(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "li");
	char out_path[600];
	snprintf(out_path, sizeof(out_path), "%s/logs.out", fx->tmp);
	const char *args[] = {"logs", "--follow", "li", NULL};
	pid_t pid = spawn_cli(fx, out_path, args);
	/* It catches SIGINT before it prints the console (the fake VMM's start
	 * lines): wait for those, not a fixed time (a slow start, under ASan,
	 * took the signal before its handler was installed). */
	long long deadline = sv_now_ms() + WAIT_MS;
	struct stat st;
	while (stat(out_path, &st) != 0 || st.st_size == 0) {
		if (sv_now_ms() > deadline)
			fail_msg("logs --follow printed nothing within %d ms", WAIT_MS);
		usleep(20000);
	}
	assert_int_equal(kill(pid, SIGINT), 0);
	assert_int_equal(reap_exit_code(pid), 0);
	/* Following never stops the VM. */
	assert_string_equal(state_of(fx, "li"), "running");
	assert_int_equal(cli(fx, "stop", "li", NULL), 0);
}

static void test_foreground_run_streams_console_and_stops_on_sigint(void **state)
{
	fixture *fx = *state;
	char out_path[600];
	snprintf(out_path, sizeof(out_path), "%s/run.out", fx->tmp);
	const char *args[] = {"run",	  "--kernel",	       fx->kernel,
			      "--rootfs", fx->rootfs,	       "--id",
			      "fg",	  "--firecracker-bin", svt_fake_firecracker(),
			      NULL};
	pid_t pid = spawn_cli(fx, out_path, args);

	wait_for_state(fx, "fg", "running");
	assert_int_equal(kill(pid, SIGINT), 0);
	assert_int_equal(reap_exit_code(pid), 130); /* 128 + SIGINT, like any foreground program */

	char *text = read_text(out_path);
	svt_assert_contains(text, "Running Firecracker v");
	svt_assert_contains(text, "Successfully started microvm");
	free(text);
	assert_ps_empty(fx);
}

static void test_foreground_run_stops_on_sigterm(void **state)
{
	fixture *fx = *state;
	char out_path[600];
	snprintf(out_path, sizeof(out_path), "%s/run.out", fx->tmp);
	const char *args[] = {
	    "run", "--kernel", fx->kernel, "--id", "ft", "--firecracker-bin", svt_fake_firecracker(), NULL};
	pid_t pid = spawn_cli(fx, out_path, args);
	wait_for_state(fx, "ft", "running");
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(reap_exit_code(pid), 143);
	assert_ps_empty(fx);
}

static void test_foreground_run_exits_1_when_the_vm_crashes(void **state)
{
	fixture *fx = *state;
	const char *env[] = {"FAKE_FC_CRASH_AFTER_START_MS=300", NULL};
	int code = cli_env(fx, env, "run", "--kernel", fx->kernel, "--id", "crash", "--firecracker-bin",
			   svt_fake_firecracker(), NULL);
	assert_int_equal(code, 1);
	/* The reason comes from the library: how the VMM ended, with the last
	 * console lines. */
	svt_assert_contains(fx->err, "smartvm: VM \"crash\" ended in error: ");
	svt_assert_contains(fx->err, "injected crash");
	/* The console was streamed up to the crash. */
	svt_assert_contains(fx->out, "Successfully started microvm");
	assert_ps_empty(fx);
}

static void test_foreground_run_ends_with_its_killed_supervisor(void **state)
{
	fixture *fx = *state;
	char out_path[600], err_path[600];
	snprintf(out_path, sizeof(out_path), "%s/run.out", fx->tmp);
	snprintf(err_path, sizeof(err_path), "%s/run.err", fx->tmp);
	const char *args[] = {
	    "run", "--kernel", fx->kernel, "--id", "orphan", "--firecracker-bin", svt_fake_firecracker(),
	    NULL};
	pid_t pid = spawn_cli_err(fx, out_path, err_path, args);
	wait_for_state(fx, "orphan", "running");
	pid_t vmm = svt_vm_state_pid(fx->runtime_dir, "orphan", "vmm_pid");
	int vmm_fd = (int)syscall(SYS_pidfd_open, vmm, 0);
	assert_true(vmm_fd >= 0);

	assert_int_equal(kill(svt_vm_state_pid(fx->runtime_dir, "orphan", "supervisor_pid"), SIGKILL), 0);
	/* The VMM goes with its supervisor, at once. */
	int gone = sv_pidfd_wait_exit(vmm_fd, 2000);
	close(vmm_fd);
	if (gone != 0)
		kill(vmm, SIGKILL);
	assert_int_equal(gone, 0);
	/* The foreground run reports it and leaves nothing behind (teardown
	 * checks the runtime dir and the processes). */
	assert_int_equal(reap_exit_code(pid), 1);
	char *err = read_text(err_path);
	assert_string_equal(err,
			    "smartvm: VM \"orphan\" ended in error: the supervisor ended without a report\n");
	free(err);
	assert_int_equal(svt_dir_entries(fx->runtime_dir), 0);
}

static void test_gc_cleans_up_after_supervisor_and_vmm_were_killed(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "dead");

	/* The supervisor and the VMM both name the runtime dir on their
	 * command lines. */
	pid_t pids[8];
	size_t n = pids_with(fx->runtime_dir, pids, 8);
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(kill(pids[i], SIGKILL), 0);
	assert_true(wait_no_processes(fx->runtime_dir, WAIT_MS));
	assert_int_equal(svt_dir_entries(fx->runtime_dir), 1);

	if (cli(fx, "gc", NULL) != 0)
		fail_msg("gc: %s", fx->err);
	assert_string_equal(fx->out, "removed 1 dead VM\n");
	assert_ps_empty(fx);
	assert_int_equal(cli(fx, "gc", "--json", NULL), 0);
	assert_string_equal(fx->out, "{\"removed\": 0}\n");
	/* It was detached and its supervisor died before it could say how it
	 * ended: gc left an end record with the status unknown, and nothing else. */
	assert_true(svt_is_end_record_dir(fx->runtime_dir, "dead"));
	assert_int_equal(cli(fx, "ps", "-a", NULL), 0);
	svt_assert_contains(
	    fx->out, "dead                     exited       -        firecracker  -               unknown ");
	assert_int_equal(cli(fx, "wait", "dead", NULL), 1);
	assert_string_equal(fx->out, "");
	svt_assert_contains(fx->err, "smartvm: VM \"dead\" ended (unknown status): its "
				     "supervisor was killed before it could record how the VM ended\n");
	assert_int_equal(cli(fx, "rm", "dead", NULL), 0);
	assert_int_equal(svt_dir_entries(fx->runtime_dir), 0);
}

static void test_gc_leaves_live_vms_alone(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "alive");
	assert_int_equal(cli(fx, "gc", NULL), 0);
	assert_string_equal(fx->out, "removed 0 dead VMs\n");
	assert_string_equal(state_of(fx, "alive"), "running");
	assert_int_equal(cli(fx, "stop", "alive", NULL), 0);
}

static void test_run_with_an_id_in_use_exits_1(void **state)
{
	fixture *fx = *state;
	run_detached(fx, "twice");
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--id", "twice", "--firecracker-bin",
			     svt_fake_firecracker(), "--detach", NULL),
			 1);
	svt_assert_contains(fx->err, "smartvm: ");
	svt_assert_contains(fx->err, "twice");
	assert_string_equal(state_of(fx, "twice"), "running");
	assert_int_equal(cli(fx, "stop", "twice", NULL), 0);
}

/* ---- crash shapes, failed cleanups, many VMs (issue 10 items 6, 10, 15, 22) ---- */

static void make_dir(const char *path) { assert_int_equal(sv_mkdir_p(path, 0700), 0); }

/* A VM directory as a CLI SIGKILLed before the first state.json leaves it:
 * its (free) lock, an empty ledger and the config. */
static void test_ps_shows_and_gc_removes_a_vm_killed_before_its_first_state(void **state)
{
	fixture *fx = *state;
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/crashed", fx->runtime_dir);
	make_dir(dir);
	free(svt_write(dir, "lock", ""));
	free(svt_write(dir, "ledger", ""));
	free(svt_write(dir, "config.json", "{\"boot-source\": {\"kernel_image_path\": \"/nope\"}}\n"));

	assert_int_equal(cli(fx, "ps", "--json", NULL), 0);
	json_t *all = out_json(fx);
	assert_int_equal(json_array_size(all), 1);
	json_t *vm = json_array_get(all, 0);
	assert_string_equal(json_string_value(json_object_get(vm, "id")), "crashed");
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "error");
	svt_assert_contains(json_string_value(json_object_get(vm, "end_reason")), "smartvm gc");
	json_decref(all);

	assert_int_equal(cli(fx, "gc", NULL), 0);
	assert_string_equal(fx->out, "removed 1 dead VM\n");
	assert_int_equal(svt_dir_entries(fx->runtime_dir), 0);
	/* The id is free again. */
	run_detached(fx, "crashed");
	assert_int_equal(cli(fx, "stop", "crashed", NULL), 0);
}

/* A crash while the directory was still being made under a temporary name
 * (before the id was claimed) is collected too, once it is older than any
 * start takes; a fresh one may be a start in progress and is left alone, its
 * lock not even created (gc once took such a start's directory away). */
static void test_gc_removes_a_half_created_vm_dir(void **state)
{
	fixture *fx = *state;
	char old[600], fresh[600], fresh_unlocked[600], lock[700];
	snprintf(old, sizeof(old), "%s/.half.new-0123456789abcdef", fx->runtime_dir);
	snprintf(fresh, sizeof(fresh), "%s/.busy.new-0123456789abcdef", fx->runtime_dir);
	snprintf(fresh_unlocked, sizeof(fresh_unlocked), "%s/.early.new-0123456789abcdef", fx->runtime_dir);
	make_dir(old);
	free(svt_write(old, "lock", ""));
	struct timespec long_ago[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
	assert_int_equal(utimensat(AT_FDCWD, old, long_ago, 0), 0);
	make_dir(fresh);
	free(svt_write(fresh, "lock", ""));
	make_dir(fresh_unlocked);
	assert_ps_empty(fx);

	assert_int_equal(cli(fx, "gc", NULL), 0);
	assert_false(sv_path_exists(old));
	assert_true(sv_path_exists(fresh));
	snprintf(lock, sizeof(lock), "%s/lock", fresh_unlocked);
	assert_false(sv_path_exists(lock));
	assert_int_equal(sv_rm_rf(fresh), 0);
	assert_int_equal(sv_rm_rf(fresh_unlocked), 0);
}

/* What a cleanup could not undo stays, for the next gc to retry. */
static void test_gc_keeps_and_reports_what_it_could_not_undo(void **state)
{
	fixture *fx = *state;
	char dir[600], drives[700];
	snprintf(dir, sizeof(dir), "%s/half", fx->runtime_dir);
	snprintf(drives, sizeof(drives), "%s/drives", dir);
	make_dir(drives);
	free(svt_write(dir, "lock", ""));
	free(svt_write(drives, "a.img", "staged"));
	free(svt_write(dir, "ledger", "file drives/a.img\nbogus thing\n"));
	free(svt_write(dir, "state.json", "{\"id\": \"half\", \"state\": \"running\"}\n"));

	assert_int_equal(cli(fx, "gc", NULL), 1);
	assert_string_equal(fx->out, "removed 0 dead VMs\n");
	assert_string_equal(
	    fx->err, "smartvm: cleaning up VM \"half\": no handler for ledger entry \"bogus thing\"\n");
	/* The staged drive went; the entry without a handler and the dir stay. */
	char *drive = sv_path_join(drives, "a.img"), *ledger = NULL,
	     *ledger_path = sv_path_join(dir, "ledger");
	assert_false(sv_path_exists(drive));
	assert_int_equal(sv_read_file(ledger_path, 4096, &ledger, NULL), 0);
	assert_string_equal(ledger, "bogus thing\n");
	free(ledger);

	/* ps shows it with the reason; a second gc retries and says so again. */
	assert_int_equal(cli(fx, "ps", "--json", NULL), 0);
	json_t *all = out_json(fx);
	json_t *vm = json_array_get(all, 0);
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "error");
	svt_assert_contains(json_string_value(json_object_get(vm, "end_reason")),
			    "cleanup failed: no handler for ledger entry \"bogus thing\"");
	json_decref(all);
	assert_int_equal(cli(fx, "gc", NULL), 1);
	svt_assert_contains(fx->err, "no handler for ledger entry \"bogus thing\"");

	/* Once the entry can be undone (here: removed by hand), gc finishes. */
	free(svt_write(dir, "ledger", ""));
	assert_int_equal(cli(fx, "gc", NULL), 0);
	assert_string_equal(fx->out, "removed 1 dead VM\n");
	free(drive);
	free(ledger_path);
}

/* Runs `smartvm ps --json` (with the fixture's dirs) limited to max_fds open
 * files; returns its stdout (malloc'd) and exit code. */
static char *ps_with_fd_limit(fixture *fx, rlim_t max_fds, int *code)
{
	int out[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		struct rlimit rl = {max_fds, max_fds};
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			_exit(99);
		execl(svt_cli(), svt_cli(), "ps", "--json", "--data-dir", fx->data_dir, "--runtime-dir",
		      fx->runtime_dir, (char *)NULL);
		_exit(98);
	}
	close(out[1]);
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while ((n = read(out[0], buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(out[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return buf;
}

/* 40 running VMs (directories whose lock this test holds, with this process
 * as their supervisor) and a CLI allowed 16 open files: every VM is listed,
 * running, sorted by id. */
static void test_ps_lists_every_vm_sorted_even_when_short_of_fds(void **state)
{
	fixture *fx = *state;
	enum { N = 40 };
	int locks[N];
	unsigned long long start = sv_process_start_time(getpid());
	for (int i = 0; i < N; i++) {
		int k = (i * 17) % N; /* created out of order */
		char id[16], dir[600], text[512];
		snprintf(id, sizeof(id), "vm-%d", k);
		snprintf(dir, sizeof(dir), "%s/%s", fx->runtime_dir, id);
		make_dir(dir);
		char *lock = svt_write(dir, "lock", "");
		locks[i] = open(lock, O_RDONLY | O_CLOEXEC);
		assert_int_equal(flock(locks[i], LOCK_EX), 0);
		free(lock);
		snprintf(
		    text, sizeof(text),
		    "{\"id\": \"%s\", \"state\": \"running\", \"vmm\": \"firecracker\", \"vmm_pid\": %d, "
		    "\"vmm_start_time\": %llu, \"supervisor_pid\": %d, \"supervisor_start_time\": %llu, "
		    "\"detached\": true}\n",
		    id, (int)getpid(), start, (int)getpid(), start);
		free(svt_write(dir, "state.json", text));
	}
	int code = -1;
	char *out = ps_with_fd_limit(fx, 16, &code);
	json_error_t jerr;
	json_t *all = json_loads(out, 0, &jerr);
	if (!all)
		fail_msg("ps printed no JSON (exit %d): %s", code, out);
	assert_int_equal(code, 0);
	assert_int_equal(json_array_size(all), N);
	char prev[16] = "";
	for (size_t i = 0; i < N; i++) {
		json_t *vm = json_array_get(all, i);
		const char *id = json_string_value(json_object_get(vm, "id"));
		assert_string_equal(json_string_value(json_object_get(vm, "state")), "running");
		assert_true(strcmp(prev, id) < 0);
		snprintf(prev, sizeof(prev), "%s", id);
	}
	json_decref(all);
	free(out);
	for (int i = 0; i < N; i++) {
		close(locks[i]);
		char dir[600];
		snprintf(dir, sizeof(dir), "%s/vm-%d", fx->runtime_dir, i);
		assert_int_equal(sv_rm_rf(dir), 0);
	}
}

static void test_an_id_starting_with_a_dash_is_refused(void **state)
{
	fixture *fx = *state;
	assert_int_equal(cli(fx, "run", "--kernel", fx->kernel, "--id=-rf", "--firecracker-bin",
			     svt_fake_firecracker(), "--detach", NULL),
			 2);
	assert_string_equal(fx->err,
			    "smartvm: id: must not start with '-' (\"-rf\" would read as an option)\n");
	assert_int_equal(svt_dir_entries(fx->runtime_dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_detached_vm_through_ps_inspect_pause_resume_stop, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_run_detach_json_prints_the_description, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flags_override_a_loaded_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_ends_the_vm_and_cleans_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_ends_a_vm_another_process_is_starting, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_before_the_vmm_exists_keeps_it_from_running, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_kill_racing_the_vmm_exec_still_ends_the_vm, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_logs_prints_the_console, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_logs_follow_ends_when_the_vm_is_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_logs_follow_stops_on_sigint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreground_run_streams_console_and_stops_on_sigint, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_foreground_run_stops_on_sigterm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreground_run_exits_1_when_the_vm_crashes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreground_run_ends_with_its_killed_supervisor, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_gc_cleans_up_after_supervisor_and_vmm_were_killed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_gc_leaves_live_vms_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_with_an_id_in_use_exits_1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ps_shows_and_gc_removes_a_vm_killed_before_its_first_state,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gc_removes_a_half_created_vm_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gc_keeps_and_reports_what_it_could_not_undo, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ps_lists_every_vm_sorted_even_when_short_of_fds, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_an_id_starting_with_a_dash_is_refused, setup, teardown),
	    /* Last: it moves this process into a network namespace of its own. */
	    cmocka_unit_test_setup_teardown(test_full_config_with_every_section_through_its_lifecycle, setup,
					    teardown),
	};
	return svt_run_group_name("cli_vm", tests, NULL, NULL);
}
