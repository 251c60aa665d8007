/* #12 The guest agent (QEMU, TCG, the minimal image), each figure against
 * a baseline measured in the same run:
 *
 *  - exec round trip of `true` vs a round trip of one byte on the same
 *    channel (a 1-byte PING: client -> supervisor -> virtio-serial -> agent
 *    and back). Target <= 1.5x. The guest's own cost of starting `true`
 *    (100 spawns timed inside the guest) is reported beside it, since under
 *    TCG it is most of the round trip;
 *  - put throughput (sv_vm_copy_to of a 64 MiB file into the guest's /tmp)
 *    vs raw throughput of the same virtio-serial port (a VM booted with the
 *    agent off whose command reads the port into /dev/null; the host writes
 *    straight into QEMU's socket). Target >= 0.8x. Get and exec-output
 *    throughput are reported as details;
 *  - the first exec of `true` after boot (start -> it returned) vs `run --
 *    true` through the console (start -> the VM ended), interleaved.
 */
#include "bench.h"
#include "bench_image.h"

#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ID "12"
#define NAME "guest agent (QEMU TCG)"
#define WAIT_MS 120000
#define BIG (64u << 20)

typedef struct {
	sv_manager *mgr;
	bench_image im;
	char *dir;
	int seq;
} ctx;

static sv_vm *boot(ctx *c, const char *extra_args, const char *const *cmd, bool agent_exec, char *why,
		   size_t n)
{
	char id[32], *args = NULL;
	snprintf(id, sizeof(id), "agent-%d", c->seq++);
	if (asprintf(&args, "%s%s%s", c->im.boot_args, extra_args ? " " : "", extra_args ? extra_args : "") <
	    0)
		return NULL;
	sv_drive_config root = {
	    .drive_id = "rootfs", .path_on_host = c->im.rootfs, .is_root_device = true, .is_read_only = true};
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .id = id,
			    .boot_source = {.kernel_image_path = c->im.kernel,
					    .initrd_path = c->im.initrd,
					    .boot_args = args},
			    .machine_config = {.vcpu_count = 1, .mem_size_mib = 256},
			    .drives = &root,
			    .n_drives = 1};
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, c->mgr, &cfg) || (cmd && sv_vm_set_command(vm, cmd)) ||
	    sv_vm_set_agent_exec(vm, agent_exec) || sv_vm_start(vm)) {
		snprintf(why, n, "booting: %s", sv_last_error());
		if (vm)
			sv_vm_free(vm);
		vm = NULL;
	}
	free(args);
	return vm;
}

static double ping_ms(sv_vm *vm)
{
	double t0 = bench_now_ms();
	return sv_vm_agent_wait(vm, WAIT_MS, NULL) == 0 ? bench_now_ms() - t0 : -1;
}

static double exec_ms(sv_vm *vm, const char *const *argv)
{
	int status = -1;
	double t0 = bench_now_ms();
	int rc = sv_vm_exec(vm, argv, NULL, WAIT_MS, &status);
	return rc == 0 && status == 0 ? bench_now_ms() - t0 : -1;
}

typedef struct {
	double ms;
	char out[256];
	size_t len;
} captured;

static int capture(void *ctx_, int stream, const void *data, size_t len)
{
	captured *c = ctx_;
	if (stream == 1 && c->len + len < sizeof(c->out)) {
		memcpy(c->out + c->len, data, len);
		c->len += len;
		c->out[c->len] = '\0';
	}
	return 0;
}

static int discard(void *ctx_, int stream, const void *data, size_t len)
{
	(void)ctx_, (void)stream, (void)data, (void)len;
	return 0;
}

/* Wall ms of a busybox `time` of script inside the guest, or -1. */
static double guest_time_ms(sv_vm *vm, const char *script)
{
	captured c = {0};
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	o.on_output = capture;
	o.ctx = &c;
	int status = -1;
	char *timed = NULL;
	if (asprintf(&timed, "time sh -c '%s' 2>&1", script) < 0)
		return -1;
	int rc = sv_vm_exec(vm, (const char *const[]){"sh", "-c", timed, NULL}, &o, WAIT_MS, &status);
	free(timed);
	if (rc || status)
		return -1;
	/* "real\t0m 0.67s" */
	const char *p = strstr(c.out, "real");
	int min = 0;
	double sec = 0;
	if (!p || sscanf(p, "real %dm %lfs", &min, &sec) != 2)
		return -1;
	return (min * 60 + sec) * 1000;
}

/* ms per spawn of /bin/true inside the guest: busybox's `time` of 100. */
static double guest_spawn_ms(sv_vm *vm)
{
	double ms = guest_time_ms(vm, "i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done");
	return ms < 0 ? -1 : ms / 100;
}

/* MB/s of the guest's own SHA-256 (busybox sha256sum) over the put's file:
 * the agent hashes every byte it moves, and under TCG that bounds a copy. */
static double guest_sha256_mbps(sv_vm *vm)
{
	double ms = guest_time_ms(vm, "sha256sum /tmp/big.bin > /dev/null");
	return ms <= 0 ? -1 : BIG / 1e6 / (ms / 1000);
}

/* Raw: host bytes straight into QEMU's socket for the port, read by a
 * guest `cat` into /dev/null (the agent off). MB/s, or -1. */
static double raw_port_mbps(ctx *c, char *why, size_t n)
{
	const char *script =
	    "for d in /sys/class/virtio-ports/*; do if [ \"$(cat $d/name)\" = org.smartvm.agent.0 ]; then "
	    "exec cat /dev/${d##*/} > /dev/null; fi; done";
	sv_vm *vm =
	    boot(c, "smartvm.agent=off", (const char *const[]){"sh", "-c", script, NULL}, false, why, n);
	if (!vm)
		return -1;
	char *sock = sv_path_join(sv_vm_dir(vm), "vport.sock");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	double mbps = -1;
	char *buf = calloc(1, 1 << 20);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || !buf) {
		snprintf(why, n, "raw: connecting to %s: %s", sock, strerror(errno));
		goto out;
	}
	memset(buf, 'r', 1 << 20);
	/* The first MiB waits until the guest's cat has the port open. */
	double t0 = 0;
	for (unsigned mib = 0; mib <= BIG >> 20; mib++) {
		if (mib == 1)
			t0 = bench_now_ms();
		for (size_t off = 0; off < (1u << 20);) {
			ssize_t w = write(fd, buf + off, (1u << 20) - off);
			if (w <= 0) {
				snprintf(why, n, "raw: writing: %s", strerror(errno));
				goto out;
			}
			off += (size_t)w;
		}
	}
	mbps = BIG / 1e6 / ((bench_now_ms() - t0) / 1000);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(sock);
	sv_vm_kill(vm);
	sv_vm_free(vm);
	return mbps;
}

/* Boot -> first exec returned; and run -- true through the console. */
static double first_exec_ms(ctx *c, char *why, size_t n)
{
	double t0 = bench_now_ms();
	sv_vm *vm = boot(c, NULL, NULL, true, why, n);
	if (!vm)
		return -1;
	int status = -1;
	int rc = sv_vm_agent_wait(vm, WAIT_MS, NULL);
	if (!rc)
		rc = sv_vm_exec(vm, (const char *const[]){"true", NULL}, NULL, WAIT_MS, &status);
	double t = bench_now_ms() - t0;
	if (rc || status)
		snprintf(why, n, "first exec: %s", rc ? sv_last_error() : "status not 0");
	sv_vm_stop(vm, 10000);
	sv_vm_free(vm);
	return rc || status ? -1 : t;
}

static double console_true_ms(ctx *c, char *why, size_t n)
{
	double t0 = bench_now_ms();
	sv_vm *vm = boot(c, NULL, (const char *const[]){"true", NULL}, false, why, n);
	if (!vm)
		return -1;
	int status = -1;
	int rc = sv_vm_wait_command(vm, WAIT_MS, NULL, NULL, &status);
	double t = bench_now_ms() - t0;
	if (rc || status)
		snprintf(why, n, "run -- true: %s", rc ? sv_last_error() : "status not 0");
	sv_vm_free(vm);
	return rc || status ? -1 : t;
}

static void measure(const bench_env *env, bench_report *rep, ctx *c)
{
	char why[1024] = "";
	int rt_runs = env->quick ? 5 : 30, ping_runs = env->quick ? 20 : 200, io_runs = env->quick ? 1 : 3;
	int boot_runs = env->quick ? 1 : 3;

	/* Round trips and throughput on one VM. */
	sv_vm *vm = boot(c, NULL, NULL, true, why, sizeof(why));
	if (!vm || sv_vm_agent_wait(vm, WAIT_MS, NULL)) {
		bench_skip(rep, ID, NAME, "%s", vm ? sv_last_error() : why);
		if (vm)
			sv_vm_free(vm);
		return;
	}
	double rt[64], pings[256];
	for (int i = 0; i < 3; i++) /* warm up: pages, caches */
		exec_ms(vm, (const char *const[]){"true", NULL});
	for (int i = 0; i < rt_runs; i++) {
		for (int k = 0; k < ping_runs / rt_runs; k++)
			pings[i * (ping_runs / rt_runs) + k] = ping_ms(vm);
		rt[i] = exec_ms(vm, (const char *const[]){"true", NULL});
	}
	double spawn = guest_spawn_ms(vm);
	double rt_med = bench_median(rt, (size_t)rt_runs), ping_med = bench_median(pings, (size_t)ping_runs);
	json_t *detail =
	    json_pack("{s:o, s:o, s:f}", "exec", bench_stats_json(rt, (size_t)rt_runs), "ping",
		      bench_stats_json(pings, (size_t)ping_runs), "guest_spawn_of_true_ms", spawn);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "exec round trip of `true` (median)",
				    .unit = "ms",
				    .value = rt_med,
				    .baseline = ping_med,
				    .baseline_name = "1-byte round trip, same channel",
				    .target = "<= 1.5x",
				    .target_met = rt_med <= 1.5 * ping_med,
				    .detail = detail});
	fprintf(stderr, "bench 12: the guest spends %.2f ms starting `true` of the %.2f ms round trip\n",
		spawn, rt_med);

	/* put / get / exec output, 64 MiB each. */
	char *file = sv_path_join(c->dir, "big.bin"), *back = sv_path_join(c->dir, "big.back");
	double put[4], get[4], out[4];
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char *chunk = malloc(1 << 20);
	for (unsigned i = 0; fd >= 0 && chunk && i < BIG >> 20; i++) {
		memset(chunk, (int)i, 1 << 20);
		if (write(fd, chunk, 1 << 20) != 1 << 20)
			break;
	}
	if (fd >= 0)
		close(fd);
	free(chunk);
	for (int i = 0; i < io_runs; i++) {
		/* The put writes a temporary file beside the target and renames it:
		 * two 64 MiB copies would not fit in the 256 MiB guest's /tmp. */
		int rm_status = -1;
		sv_exec_options rm_o = SV_EXEC_OPTIONS_INIT;
		sv_vm_exec(vm, (const char *const[]){"rm", "-f", "/tmp/big.bin", NULL}, &rm_o, WAIT_MS,
			   &rm_status);
		double t0 = bench_now_ms();
		if (sv_vm_copy_to(vm, file, "/tmp/big.bin", NULL)) {
			bench_skip(rep, ID, NAME, "put: %s", sv_last_error());
			goto out;
		}
		put[i] = BIG / 1e6 / ((bench_now_ms() - t0) / 1000);
		unlink(back);
		t0 = bench_now_ms();
		if (sv_vm_copy_from(vm, "/tmp/big.bin", back, NULL)) {
			bench_skip(rep, ID, NAME, "get: %s", sv_last_error());
			goto out;
		}
		get[i] = BIG / 1e6 / ((bench_now_ms() - t0) / 1000);
		sv_exec_options o = SV_EXEC_OPTIONS_INIT;
		o.on_output = discard;
		int status = -1;
		t0 = bench_now_ms();
		if (sv_vm_exec(vm,
			       (const char *const[]){"dd", "if=/dev/zero", "bs=1048576", "count=64", NULL},
			       &o, WAIT_MS, &status) ||
		    status) {
			bench_skip(rep, ID, NAME, "exec output: %s", sv_last_error());
			goto out;
		}
		out[i] = BIG / 1e6 / ((bench_now_ms() - t0) / 1000);
	}
	double guest_sha256 = guest_sha256_mbps(vm);
	sv_vm_stop(vm, 10000);
	sv_vm_free(vm);
	vm = NULL;
	double raw[4];
	for (int i = 0; i < io_runs; i++)
		if ((raw[i] = raw_port_mbps(c, why, sizeof(why))) < 0) {
			bench_skip(rep, ID, NAME, "%s", why);
			goto out;
		}
	double put_med = bench_median(put, (size_t)io_runs), raw_med = bench_median(raw, (size_t)io_runs);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "put throughput, 64 MiB into /tmp (median)",
				    .unit = "MB/s",
				    .value = put_med,
				    .baseline = raw_med,
				    .baseline_name = "raw bytes, same virtio-serial port",
				    .target = ">= 0.8x",
				    .target_met = put_med >= 0.8 * raw_med,
				    .detail = json_pack("{s:o, s:o, s:o, s:o, s:f}", "put",
							bench_stats_json(put, (size_t)io_runs), "get",
							bench_stats_json(get, (size_t)io_runs), "exec_output",
							bench_stats_json(out, (size_t)io_runs), "raw",
							bench_stats_json(raw, (size_t)io_runs),
							"guest_sha256_mbps", guest_sha256)});
	fprintf(stderr,
		"bench 12: the guest hashes %.1f MB/s (SHA-256 under TCG), its exec output moves %.1f MB/s\n",
		guest_sha256, bench_median(out, (size_t)io_runs));

	/* First exec after boot vs run -- true, interleaved. */
	double first[4], console[4];
	for (int i = 0; i < boot_runs; i++) {
		if ((first[i] = first_exec_ms(c, why, sizeof(why))) < 0 ||
		    (console[i] = console_true_ms(c, why, sizeof(why))) < 0) {
			bench_skip(rep, ID, NAME, "%s", why);
			goto out;
		}
	}
	double f = bench_median(first, (size_t)boot_runs), k = bench_median(console, (size_t)boot_runs);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "boot + first exec of `true` (median)",
				    .unit = "ms",
				    .value = f,
				    .baseline = k,
				    .baseline_name = "`run -- true` on the console, to the VM's end",
				    .target = NULL,
				    .target_met = -1,
				    .detail = json_pack("{s:o, s:o}", "first_exec",
							bench_stats_json(first, (size_t)boot_runs), "console",
							bench_stats_json(console, (size_t)boot_runs))});
out:
	if (vm) {
		sv_vm_stop(vm, 10000);
		sv_vm_free(vm);
	}
	unlink(file);
	unlink(back);
	free(file);
	free(back);
}

void bench_agent(const bench_env *env, bench_report *rep)
{
	if (!bench_have_program("qemu-system-x86_64")) {
		bench_skip(rep, ID, NAME, "qemu-system-x86_64 is not installed");
		return;
	}
	ctx c = {0};
	const char *why = bench_image_get(&c.im);
	if (why) {
		bench_skip(rep, ID, NAME, "%s", why);
		bench_image_free(&c.im);
		return;
	}
	c.dir = bench_mkdtemp("/var/tmp", "smartvm-bench-agent");
	char *runtime = c.dir ? sv_path_join(c.dir, "runtime") : NULL;
	char *data = c.dir ? sv_path_join(c.dir, "data") : NULL;
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = data,
				.runtime_dir = runtime,
				.vmm = SV_VMM_QEMU,
				.qemu_accel = "tcg",
				.stop_timeout_ms = 10000};
	if (!runtime || !data || sv_manager_new(&c.mgr, &o))
		bench_skip(rep, ID, NAME, "setting up: %s", runtime ? sv_last_error() : "out of memory");
	else
		measure(env, rep, &c);
	sv_manager_free(c.mgr);
	if (c.dir)
		bench_rm_rf(c.dir);
	free(c.dir);
	free(runtime);
	free(data);
	bench_image_free(&c.im);
}
