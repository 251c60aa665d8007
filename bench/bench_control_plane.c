/* #1 Control plane: whole VM lifecycles against the instant fake Firecracker,
 * smartvm vs the hand-rolled raw client (bench_raw_client.c), interleaved.
 *
 * A lifecycle is create, configure every section, start, pause, resume, stop
 * and clean up. The raw client does what any client must for the same VM:
 * make a directory, spawn the VMM, wait for its socket, send the same
 * requests with the same bodies on one kept-alive connection, wait for the
 * VMM to exit, reap it, remove the directory. A recorded pass first checks
 * that both sent the same requests (bodies equal up to file paths); smartvm
 * gives Firecracker the pre-boot sections as one --config-file when the
 * config allows (it does here), which counts as the PUTs it replaces.
 *
 * CPU: this process (RUSAGE_SELF) is the orchestrator. smartvm's per-VM
 * supervisor is forked by the manager's fork server and reaped by the
 * kernel: it traces its own CPU and its children's (the VMM) as it ends,
 * and the server its CPU per request; those are added to RUSAGE_CHILDREN.
 * On the exec path (a supervisor spawned in a network namespace) it
 * double-forks away from us, so we make this process a child subreaper:
 * the supervisor then exits as our zombie, we read its own run time from
 * /proc/<pid>/schedstat (JSON detail) and reap it, and RUSAGE_CHILDREN then
 * holds everything smartvm ran for the VM: both halves of the supervisor
 * (with its nftables work) and the VMM. The VMM answers the same requests
 * for both clients, and the raw client's only child is the VMM, so its mean
 * is what is subtracted as "the VMM" from smartvm's total. Two variants: without networking (every
 * Firecracker section except network-interfaces and MMDS), and, as root in a private network namespace, with
 * every section: both clients then create and remove a TAP (the raw client by ioctl, bench_raw_launch.c);
 * smartvm also a lease and the VM's firewall elements (one nft batch each way); the bridge and its
 * nftables table are made by the first VM and persist after each VM (until `net down`), as in use.
 *
 * The per-step breakdown (bench_steps.c) comes from the lines libsmartvm and the supervisor write to
 * SMARTVM_TRACE, plus this file's timing of each public call. */
#include "bench.h"
#include "bench_raw_client.h"
#include "bench_cli_lifecycle.h"
#include "bench_program_start.h"
#include "bench_api_request.h"
#include "bench_raw_launch.h"
#include "bench_steps.h"

#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ID "1"
#define NAME "control plane"
#define WARMUP 3
#define BOOT_ARGS "console=ttyS0 reboot=k panic=1 pci=off"
#define IP_ARG " ip=172.30.0.2::172.30.0.1:255.255.255.0::eth0:off"
#define GUEST_MAC "06:00:ac:1e:00:02"

typedef struct {
	const bench_env *env;
	bool net;
	char *dir, *runtime, *data, *raw;
	char *vsock; /* vsock sockets: the VMM binds them and nobody removes them */
	char *kernel, *rootfs, *scratch, *log, *metrics;
	sv_manager *mgr;
	bench_steps *steps; /* NULL: no breakdown */
	char err[2048];
} fixture;

/* Per lifecycle, in ms: wall time; this process's CPU; the CPU of every
 * process it and its descendants reaped (for the raw client: the VMM alone;
 * for smartvm: supervisor, VMM); the supervisor's own CPU. */
typedef struct {
	double wall, cpu, start, children_cpu, sup_cpu;
} sample;

static int fail(fixture *f, const char *fmt, const char *what)
{
	snprintf(f->err, sizeof(f->err), fmt, what);
	return -1;
}

/* ---- smartvm ---- */

/* A public call's wall and this process's CPU, for the breakdown. */
typedef struct {
	double wall, cpu, children;
} call_timer;

static void call_begin(call_timer *t)
{
	t->wall = bench_now_ms();
	t->cpu = bench_cpu_ms(RUSAGE_SELF);
	t->children = bench_cpu_ms(RUSAGE_CHILDREN);
}

static void call_end(fixture *f, const call_timer *t, const char *step)
{
	if (f->steps)
		bench_steps_add(f->steps, step, bench_now_ms() - t->wall, bench_cpu_ms(RUSAGE_SELF) - t->cpu,
				bench_cpu_ms(RUSAGE_CHILDREN) - t->children);
}

static int smartvm_lifecycle(fixture *f, int i, sample *s)
{
	char id[32], tap[16], uds[512];
	snprintf(id, sizeof(id), "sv-%d", i);
	snprintf(tap, sizeof(tap), "svb%d", i);
	snprintf(uds, sizeof(uds), "%s/%s.sock", f->vsock, id);
	sv_rate_limiter rl = {.has_bandwidth = true, .bandwidth = {.size = 1048576, .refill_time = 100}};
	sv_drive_config drives[] = {
	    {.drive_id = "rootfs", .path_on_host = f->rootfs, .is_root_device = true, .is_read_only = true},
	    {.drive_id = "scratch", .path_on_host = f->scratch, .rate_limiter = &rl},
	};
	sv_net_iface_config nic = {.iface_id = "eth0", .host_dev_name = tap, .guest_mac = GUEST_MAC};
	const char *mmds_ifaces[] = {"eth0"};
	sv_mmds_config mmds = {
	    .version = SV_MMDS_V2, .network_interfaces = mmds_ifaces, .n_network_interfaces = 1};
	sv_vsock_config vsock = {.guest_cid = 3, .uds_path = uds};
	sv_balloon_config balloon = {.amount_mib = 16, .deflate_on_oom = true, .stats_polling_interval_s = 1};
	sv_logger_config logger = {.log_path = f->log, .level = SV_LOG_LEVEL_INFO};
	sv_metrics_config metrics = {.metrics_path = f->metrics};
	sv_entropy_config entropy = {0};
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,
	    .id = id,
	    .boot_source = {.kernel_image_path = f->kernel,
			    .boot_args = f->net ? BOOT_ARGS IP_ARG : BOOT_ARGS},
	    .machine_config = {.vcpu_count = 1, .mem_size_mib = 128},
	    .drives = drives,
	    .n_drives = 2,
	    .network_interfaces = f->net ? &nic : NULL,
	    .n_network_interfaces = f->net ? 1 : 0,
	    .mmds = f->net ? &mmds : NULL,
	    .vsock = &vsock,
	    .balloon = &balloon,
	    .logger = &logger,
	    .metrics = &metrics,
	    .entropy = &entropy,
	};
	double t0 = bench_now_ms(), c0 = bench_cpu_ms(RUSAGE_SELF), k0 = bench_cpu_ms(RUSAGE_CHILDREN);
	call_timer ct;
	sv_vm *vm = NULL;
	call_begin(&ct);
	if (sv_manager_create_vm(&vm, f->mgr, &cfg))
		return fail(f, "smartvm: create: %s", sv_last_error());
	call_end(f, &ct, "call:sv_manager_create_vm");
	double ts = bench_now_ms();
	call_begin(&ct);
	if (sv_vm_start(vm))
		return fail(f, "smartvm: start: %s", sv_last_error());
	s->start = bench_now_ms() - ts;
	call_end(f, &ct, "call:sv_vm_start(total)");
	call_begin(&ct);
	if (sv_vm_pause(vm))
		return fail(f, "smartvm: pause: %s", sv_last_error());
	call_end(f, &ct, "call:sv_vm_pause");
	call_begin(&ct);
	if (sv_vm_resume(vm))
		return fail(f, "smartvm: resume: %s", sv_last_error());
	call_end(f, &ct, "call:sv_vm_resume");
	call_begin(&ct);
	if (sv_vm_stop(vm, -1))
		return fail(f, "smartvm: stop: %s", sv_last_error());
	call_end(f, &ct, "call:sv_vm_stop(total)");
	s->wall = bench_now_ms() - t0;
	s->cpu = bench_cpu_ms(RUSAGE_SELF) - c0;
	if (sv_vm_get_state(vm) != SV_VM_STOPPED || sv_path_exists(sv_vm_dir(vm)))
		return fail(f, "smartvm: VM %s not stopped and cleaned up", id);
	unlink(uds);

	/* A supervisor the fork server forked is reaped by the kernel: it
	 * traced its own CPU and its VMM's before it ended (the stop waited for
	 * that), and the server its work for the request. */
	double own = 0, unreaped = 0, server = 0;
	bool forked = f->steps && bench_steps_unreaped_cpu(f->steps, &own, &unreaped, &server);
	unreaped += own + server;
	/* Otherwise the supervisor exited as our zombie (we are its
	 * subreaper): its own run time before we reap it; the reap adds what
	 * it reaped (the VMM) to RUSAGE_CHILDREN. */
	for (int tries = 0; !forked && tries < 1000; tries++) {
		siginfo_t si = {0};
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
			break;
		if (si.si_pid == 0) {
			if (own > 0)
				break;
			usleep(1000);
			continue;
		}
		char path[64], text[128] = "";
		snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)si.si_pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, text, sizeof(text) - 1);
			text[n > 0 ? n : 0] = '\0';
			close(fd);
		}
		own += (double)strtoull(text, NULL, 10) / 1e6;
		waitpid(si.si_pid, NULL, 0);
	}
	s->sup_cpu = own;
	s->children_cpu = bench_cpu_ms(RUSAGE_CHILDREN) - k0 + unreaped;
	if (f->steps) {
		if (!forked)
			bench_steps_add(f->steps, "supervisor:second_half_cpu(total)", 0, own, 0);
		bench_steps_collect(f->steps);
	}
	return 0;
}

/* ---- the raw client ---- */

static int expect(fixture *f, raw_conn *c, const char *method, const char *path, const char *body)
{
	int status = raw_request(c, method, path, body);
	if (status < 200 || status > 299) {
		char what[160];
		snprintf(what, sizeof(what), "%s %s: %d", method, path, status);
		return fail(f, "raw client: %s", what);
	}
	return 0;
}

static int raw_configure(fixture *f, raw_conn *c, const char *id, const char *tap)
{
	char b[1024];
	snprintf(b, sizeof(b),
		 "{\"log_path\":\"%s\",\"level\":\"Info\",\"show_level\":false,\"show_log_origin\":false}",
		 f->log);
	if (expect(f, c, "PUT", "/logger", b))
		return -1;
	snprintf(b, sizeof(b), "{\"metrics_path\":\"%s\"}", f->metrics);
	if (expect(f, c, "PUT", "/metrics", b) ||
	    expect(f, c, "PUT", "/machine-config",
		   "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,\"track_dirty_pages\":false}"))
		return -1;
	snprintf(b, sizeof(b), "{\"kernel_image_path\":\"%s\",\"boot_args\":\"%s\"}", f->kernel,
		 f->net ? BOOT_ARGS IP_ARG : BOOT_ARGS);
	if (expect(f, c, "PUT", "/boot-source", b))
		return -1;
	snprintf(b, sizeof(b),
		 "{\"drive_id\":\"rootfs\",\"path_on_host\":\"%s\",\"is_root_device\":true,"
		 "\"is_read_only\":true,\"cache_type\":\"Unsafe\",\"io_engine\":\"Sync\"}",
		 f->rootfs);
	if (expect(f, c, "PUT", "/drives/rootfs", b))
		return -1;
	snprintf(b, sizeof(b),
		 "{\"drive_id\":\"scratch\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		 "\"is_read_only\":false,\"cache_type\":\"Unsafe\",\"io_engine\":\"Sync\","
		 "\"rate_limiter\":{\"bandwidth\":{\"size\":1048576,\"refill_time\":100}}}",
		 f->scratch);
	if (expect(f, c, "PUT", "/drives/scratch", b))
		return -1;
	if (f->net) {
		snprintf(b, sizeof(b),
			 "{\"iface_id\":\"eth0\",\"host_dev_name\":\"%s\",\"guest_mac\":\"%s\"}", tap,
			 GUEST_MAC);
		if (expect(f, c, "PUT", "/network-interfaces/eth0", b))
			return -1;
	}
	snprintf(b, sizeof(b), "{\"guest_cid\":3,\"uds_path\":\"%s/%s.sock\"}", f->vsock, id);
	if (expect(f, c, "PUT", "/vsock", b) ||
	    expect(f, c, "PUT", "/balloon",
		   "{\"amount_mib\":16,\"deflate_on_oom\":true,\"stats_polling_interval_s\":1}"))
		return -1;
	if (f->net &&
	    expect(f, c, "PUT", "/mmds/config", "{\"version\":\"V2\",\"network_interfaces\":[\"eth0\"]}"))
		return -1;
	return expect(f, c, "PUT", "/entropy", "{}");
}

static int raw_lifecycle(fixture *f, int i, sample *s)
{
	char id[32], tap[16], dir[512], sock[600], console[600];
	snprintf(id, sizeof(id), "raw-%d", i);
	snprintf(tap, sizeof(tap), "rwb%d", i);
	snprintf(dir, sizeof(dir), "%s/%s", f->raw, id);
	snprintf(sock, sizeof(sock), "%s/firecracker.sock", dir);
	snprintf(console, sizeof(console), "%s/console.log", dir);
	double t0 = bench_now_ms(), c0 = bench_cpu_ms(RUSAGE_SELF), k0 = bench_cpu_ms(RUSAGE_CHILDREN);
	if (mkdir(dir, 0700) != 0)
		return fail(f, "raw client: mkdir %s failed", dir);
	/* An interface needs a TAP, whoever starts the VM. */
	if (f->net && raw_tap_create(tap) != 0) {
		rmdir(dir);
		return fail(f, "raw client: creating TAP %s failed", tap);
	}
	int out = open(console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	const char *argv[] = {f->env->fake_firecracker, "--api-sock", sock, "--id", id, NULL};
	sv_spawn_opts so = {.argv = argv, .stdin_fd = -1, .stdout_fd = out, .stderr_fd = out};
	pid_t pid = 0;
	int pidfd = -1;
	int rc = out < 0 ? -1 : sv_spawn(&so, &pid, &pidfd);
	if (out >= 0)
		close(out);
	if (rc)
		return fail(f, "raw client: spawning the fake: %s", sv_last_error());
	raw_conn c = {.fd = -1};
	rc = raw_connect(&c, sock, 5000) ? fail(f, "raw client: no API socket at %s", sock) : 0;
	if (!rc)
		rc = expect(f, &c, "GET", "/", NULL);
	if (!rc)
		rc = raw_configure(f, &c, id, tap);
	if (!rc && !(rc = expect(f, &c, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}")))
		s->start = bench_now_ms() - t0;
	if (!rc)
		rc = expect(f, &c, "PATCH", "/vm", "{\"state\":\"Paused\"}");
	if (!rc)
		rc = expect(f, &c, "PATCH", "/vm", "{\"state\":\"Resumed\"}");
	if (!rc)
		rc = expect(f, &c, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}");
	raw_close(&c);
	if (rc || sv_pidfd_wait_exit(pidfd, 5000) != 0)
		kill(pid, SIGKILL);
	int status = 0;
	sv_reap(pid, 5000, &status);
	close(pidfd);
	if (f->net && raw_tap_delete(tap) != 0 && !rc)
		rc = fail(f, "raw client: removing TAP %s failed", tap);
	if (sv_rm_rf(dir) != 0 && !rc)
		rc = fail(f, "raw client: removing %s failed", dir);
	s->wall = bench_now_ms() - t0;
	s->cpu = bench_cpu_ms(RUSAGE_SELF) - c0;
	s->children_cpu = bench_cpu_ms(RUSAGE_CHILDREN) - k0;
	s->sup_cpu = 0;
	char uds[600];
	snprintf(uds, sizeof(uds), "%s/%s.sock", f->vsock, id);
	unlink(uds);
	return rc;
}

/* ---- request equivalence ---- */

/* Replaces every file path with "<path>": absolute ones, and the staged
 * drives' paths, which smartvm gives relative to the VM directory (the VMM's
 * working directory): the two clients use different directories. TAP names
 * too: each client makes its own. */
static void mask_paths(json_t *v)
{
	const char *key;
	json_t *val;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach(v, key, val)
		{
			if (json_is_string(val) &&
			    (json_string_value(val)[0] == '/' || !strcmp(key, "path_on_host") ||
			     !strcmp(key, "host_dev_name")))
				json_string_set(val, "<path>");
			else
				mask_paths(val);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, val) mask_paths(val);
	}
}

static void append_put(json_t *arr, const char *path, json_t *body)
{
	json_t *slim = json_pack("{s:s, s:s, s:O}", "method", "PUT", "path", path, "body", body);
	mask_paths(json_object_get(slim, "body"));
	json_array_append_new(arr, slim);
}

/* A VMM booted from its config file (smartvm, when the config allows) was
 * given what the PUTs give, in one document: its sections, as the PUTs the
 * API client sends in its order (fc_backend.c), then InstanceStart, so
 * the two clients compare section by section. */
static void append_config_file(json_t *arr, json_t *doc)
{
	static const char *const order[][2] = {
	    {"logger", "/logger"},	       {"metrics", "/metrics"},
	    {"machine-config", "/machine-config"}, {"boot-source", "/boot-source"},
	    {"drives", "/drives/"},	       {"network-interfaces", "/network-interfaces/"},
	    {"vsock", "/vsock"},	       {"balloon", "/balloon"},
	    {"mmds-config", "/mmds/config"},   {"entropy", "/entropy"}};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		json_t *v = json_object_get(doc, order[i][0]);
		size_t j;
		json_t *e;
		if (!json_is_array(v)) {
			if (v && !json_is_null(v))
				append_put(arr, order[i][1], v);
			continue;
		}
		json_array_foreach(v, j, e)
		{
			json_t *id = json_object_get(e, "drive_id");
			char path[300];
			snprintf(path, sizeof(path), "%s%s", order[i][1],
				 json_string_value(id ? id : json_object_get(e, "iface_id")));
			append_put(arr, path, e);
		}
	}
	json_t *start = json_pack("{s:s}", "action_type", "InstanceStart");
	append_put(arr, "/actions", start);
	json_decref(start);
}

static json_t *load_records(const char *dir, const char *id)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s.jsonl", dir, id);
	char *text = NULL;
	if (sv_read_file(path, 1 << 20, &text, NULL))
		return NULL;
	json_t *arr = json_array();
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *r = json_loads(line, 0, NULL);
		/* Reads change nothing: smartvm asks the VMM for its state before a
		 * pause or resume (vm_live.c); that costs it, in the figures. */
		const char *method = json_string_value(json_object_get(r, "method"));
		if (method && !strcmp(method, "GET")) {
			json_decref(r);
			continue;
		}
		if (method && !strcmp(method, "CONFIG-FILE")) {
			append_config_file(arr, json_object_get(r, "body"));
			json_decref(r);
			continue;
		}
		json_t *slim = json_pack("{s:O?, s:O?, s:O?}", "method", json_object_get(r, "method"), "path",
					 json_object_get(r, "path"), "body", json_object_get(r, "body"));
		mask_paths(json_object_get(slim, "body"));
		json_array_append_new(arr, slim);
		json_decref(r);
	}
	free(text);
	return arr;
}

/* One recorded lifecycle of each; true if the request sequences match. */
static bool same_requests(fixture *f, char *why, size_t why_size)
{
	char *records = sv_path_join(f->dir, "records");
	sample s;
	bool same = false;
	snprintf(why, why_size, "recording failed");
	if (records && sv_mkdir_p(records, 0700) == 0) {
		setenv("FAKE_FC_RECORD_DIR", records, 1);
		if (smartvm_lifecycle(f, 1000000, &s) == 0 && raw_lifecycle(f, 1000000, &s) == 0) {
			json_t *a = load_records(records, "sv-1000000"),
			       *b = load_records(records, "raw-1000000");
			same = a && b && json_equal(a, b);
			if (!same) {
				char *ta = json_dumps(a, JSON_COMPACT), *tb = json_dumps(b, JSON_COMPACT);
				fprintf(stderr,
					"bench #1: the clients' requests differ:\nsmartvm: %s\nraw:     %s\n",
					ta ? ta : "?", tb ? tb : "?");
				free(ta);
				free(tb);
				snprintf(why, why_size, "requests differ (see stderr)");
			}
			json_decref(a);
			json_decref(b);
		} else {
			snprintf(why, why_size, "%s", f->err);
		}
		unsetenv("FAKE_FC_RECORD_DIR");
	}
	bench_rm_rf(records);
	free(records);
	return same;
}

/* ---- the run ---- */

static int setup(fixture *f)
{
	f->dir = bench_mkdtemp("/dev/shm", "smartvm-bench-cp");
	if (!f->dir)
		return fail(f, "creating a scratch directory under %s failed", "/dev/shm");
	f->runtime = sv_path_join(f->dir, "runtime");
	f->data = sv_path_join(f->dir, "data");
	f->raw = sv_path_join(f->dir, "raw");
	f->vsock = sv_path_join(f->dir, "vsock");
	f->kernel = sv_path_join(f->dir, "vmlinux");
	f->rootfs = sv_path_join(f->dir, "rootfs.ext4");
	f->scratch = sv_path_join(f->dir, "scratch.img");
	f->log = sv_path_join(f->dir, "fc.log");
	f->metrics = sv_path_join(f->dir, "metrics.json");
	if (sv_mkdir_p(f->raw, 0700) || sv_mkdir_p(f->vsock, 0700) ||
	    bench_write_text(f->kernel, "kernel image") || bench_write_text(f->rootfs, "root filesystem") ||
	    bench_make_sparse(f->scratch, 1 << 20, 64 << 10, 1) || bench_write_text(f->log, "") ||
	    bench_write_text(f->metrics, ""))
		return fail(f, "creating the fixture files in %s failed", f->dir);
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = f->data,
				.runtime_dir = f->runtime,
				.vmm = SV_VMM_FIRECRACKER,
				.firecracker_binary_path = f->env->fake_firecracker,
				.stop_timeout_ms = 5000};
	if (sv_manager_new(&f->mgr, &o))
		return fail(f, "creating the manager: %s", sv_last_error());
	return 0;
}

static void teardown(fixture *f)
{
	sv_manager_free(f->mgr);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	bench_rm_rf(f->dir);
	char **paths[] = {&f->dir,    &f->runtime, &f->data,	&f->raw, &f->vsock,
			  &f->kernel, &f->rootfs,  &f->scratch, &f->log, &f->metrics};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		free(*paths[i]);
		*paths[i] = NULL;
	}
}

static void column(const sample *s, size_t n, size_t offset, double *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = *(const double *)((const char *)&s[i] + offset);
}

/* What one more process costs on this machine: an empty child forked,
 * ended and reaped, its CPU and ours, mean of n. smartvm has one process
 * per VM that the raw client has not (the supervisor): this is its floor,
 * against the raw client's CPU per lifecycle. -1 if a fork failed. */
static double process_cpu_ms(size_t n)
{
	double self0 = bench_cpu_ms(RUSAGE_SELF), kids0 = bench_cpu_ms(RUSAGE_CHILDREN);
	for (size_t i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0)
			return -1;
		waitpid(pid, NULL, 0);
	}
	return (bench_cpu_ms(RUSAGE_SELF) - self0 + bench_cpu_ms(RUSAGE_CHILDREN) - kids0) / (double)n;
}

static void report_process_floor(bench_report *rep, double cpu_raw, size_t n)
{
	double floor_ms = process_cpu_ms(n);
	if (floor_ms < 0) {
		bench_skip(rep, ID, NAME " (one process)", "fork failed: %s", strerror(errno));
		return;
	}
	char metric[128];
	snprintf(metric, sizeof(metric), "CPU of one more process (fork, exit, wait of an empty child), mean of %zu",
		 n);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME " (one process)",
				    .metric = metric,
				    .unit = "ms",
				    .value = floor_ms,
				    .baseline = cpu_raw,
				    .baseline_name = "raw client's own, per lifecycle",
				    .target_met = -1});
}

static void report(bench_report *rep, const char *variant, bool net, const sample *sv, const sample *raw,
		   size_t n, bool requests_match)
{
	double *a = calloc(n, sizeof(double)), *b = calloc(n, sizeof(double));
	if (!a || !b) {
		free(a);
		free(b);
		return;
	}
	char name[64], metric[128];
	snprintf(name, sizeof(name), "%s (%s)", NAME, variant);

	column(sv, n, offsetof(sample, wall), a);
	column(raw, n, offsetof(sample, wall), b);
	double wall_sv = bench_median(a, n), wall_raw = bench_median(b, n);
	/* With networking smartvm also makes a TAP, a lease and firewall
	 * elements, which the raw client does not: a looser target. */
	double wall_target = net ? 1.5 : 1.2;
	snprintf(metric, sizeof(metric), "wall per lifecycle, median of %zu", n);
	bench_add(
	    rep, &(bench_row){.id = ID,
			      .benchmark = name,
			      .metric = metric,
			      .unit = "ms",
			      .value = wall_sv,
			      .baseline = wall_raw,
			      .baseline_name = "raw client",
			      .target = net ? "<= 1.5x" : "<= 1.2x",
			      .target_met = wall_sv <= wall_target * wall_raw,
			      .detail = json_pack("{s:o, s:o, s:b}", "smartvm", bench_stats_json(a, n), "raw",
						  bench_stats_json(b, n), "requests_match", requests_match)});

	column(sv, n, offsetof(sample, start), a);
	column(raw, n, offsetof(sample, start), b);
	double start_sv = bench_median(a, n), start_raw = bench_median(b, n);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = name,
				    .metric = "start call to VM running (raw: InstanceStart acked), median",
				    .unit = "ms",
				    .value = start_sv,
				    .baseline = start_raw,
				    .baseline_name = "raw client",
				    .target = net ? NULL : "<= 1.2x",
				    .target_met = net ? -1 : start_sv <= 1.2 * start_raw,
				    .detail = json_pack("{s:o, s:o}", "smartvm", bench_stats_json(a, n),
							"raw", bench_stats_json(b, n))});

	column(sv, n, offsetof(sample, cpu), a);
	column(raw, n, offsetof(sample, cpu), b);
	double cpu_sv = bench_mean(a, n), cpu_raw = bench_mean(b, n);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = name,
				    .metric = "orchestrator process CPU per VM, mean",
				    .unit = "ms",
				    .value = cpu_sv,
				    .baseline = cpu_raw,
				    .baseline_name = "raw client",
				    .target_met = -1,
				    .detail = json_pack("{s:o, s:o}", "smartvm", bench_stats_json(a, n),
							"raw", bench_stats_json(b, n))});

	/* The VMM does the same work for both clients; the raw client's
	 * children are the VMM alone, so that is what smartvm's descendants
	 * are charged for the VMM. */
	column(raw, n, offsetof(sample, children_cpu), b);
	double vmm = bench_mean(b, n);
	json_t *vmm_stats = bench_stats_json(b, n);
	column(sv, n, offsetof(sample, children_cpu), b);
	for (size_t i = 0; i < n; i++)
		a[i] += b[i] - vmm;
	double total = bench_mean(a, n);
	json_t *children = bench_stats_json(b, n);
	column(sv, n, offsetof(sample, sup_cpu), b);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = name,
				    .metric = "all smartvm processes' CPU per VM (excl. VMM), mean",
				    .unit = "ms",
				    .value = total,
				    .baseline = cpu_raw,
				    .baseline_name = "raw client's own",
				    .target = net ? NULL : "<= 2x",
				    .target_met = net ? -1 : total <= 2.0 * cpu_raw,
				    .detail = json_pack("{s:o, s:o, s:o, s:o}", "smartvm_total_excl_vmm",
							bench_stats_json(a, n), "smartvm_descendants",
							children, "supervisor_own", bench_stats_json(b, n),
							"vmm_from_raw_client", vmm_stats)});
	if (!net)
		report_process_floor(rep, cpu_raw, n);
	free(a);
	free(b);
}

static void run_variant(const bench_env *env, bench_report *rep, bench_steps *steps, bool net)
{
	const char *variant = net ? "all sections" : "no network";
	char name[64];
	snprintf(name, sizeof(name), "%s (%s)", NAME, variant);
	fixture f = {.env = env, .net = net, .steps = steps};
	size_t n = env->quick ? 10 : 200;
	sample *sv = calloc(n, sizeof(*sv)), *raw = calloc(n, sizeof(*raw));
	if (!sv || !raw || setup(&f)) {
		bench_skip(rep, ID, name, "%s", f.err[0] ? f.err : "out of memory");
		goto out;
	}
	char why[2100];
	bool match = same_requests(&f, why, sizeof(why));
	if (!match) {
		bench_skip(rep, ID, name, "the clients do not send the same requests: %s", why);
		goto out;
	}
	sample warm;
	for (int i = 0; i < WARMUP; i++) {
		if (smartvm_lifecycle(&f, 2000000 + i, &warm) || raw_lifecycle(&f, 2000000 + i, &warm)) {
			bench_skip(rep, ID, name, "%s", f.err);
			goto out;
		}
	}
	if (steps)
		bench_steps_reset(steps);
	/* Alternate which goes first so drift affects both alike. */
	for (size_t i = 0; i < n; i++) {
		int rc = i % 2
			     ? (smartvm_lifecycle(&f, (int)i, &sv[i]) || raw_lifecycle(&f, (int)i, &raw[i]))
			     : (raw_lifecycle(&f, (int)i, &raw[i]) || smartvm_lifecycle(&f, (int)i, &sv[i]));
		if (rc) {
			bench_skip(rep, ID, name, "lifecycle %zu failed: %s", i, f.err);
			goto out;
		}
	}
	report(rep, variant, net, sv, raw, n, match);
	if (steps)
		bench_add_steps(rep, ID, name, bench_steps_json(steps, n));
out:
	teardown(&f);
	free(sv);
	free(raw);
}

void bench_control_plane(const bench_env *env, bench_report *rep)
{
	if (!env->fake_firecracker) {
		bench_skip(rep, ID, NAME, "the fake Firecracker was not built (configure with -Dtests=true)");
		return;
	}
	/* Supervisors re-parent to us, so we can measure them before they go. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* One trace file for both variants: the library opens it once. */
	char *trace_dir = bench_mkdtemp("/dev/shm", "smartvm-bench-trace");
	bench_steps *steps = trace_dir ? bench_steps_open(trace_dir) : NULL;
	run_variant(env, rep, steps, false);
	bench_program_start(env, rep);
	bench_api_request(env, rep);
	bench_cli_lifecycle(env, rep);
	if (geteuid() != 0) {
		bench_skip(rep, ID, NAME " (all sections)",
			   "needs root: networking runs in a private network namespace");
	} else if (unshare(CLONE_NEWNET) != 0) {
		bench_skip(rep, ID, NAME " (all sections)", "unshare(CLONE_NEWNET) failed: %s",
			   strerror(errno));
	} else {
		run_variant(env, rep, steps, true);
	}
	bench_steps_free(steps);
	bench_rm_rf(trace_dir);
	free(trace_dir);
}
