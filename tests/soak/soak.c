/* The soak (issue 10): for a while, worker processes loop run / pause /
 * resume / snapshot / stop / kill / rm / gc on a small shared set of VM ids, and
 * SIGKILL random smartvm processes (a CLI in flight, a supervisor, a VMM),
 * against the fake Firecracker or QEMU under TCG, in a private network
 * namespace. Then every VM left is removed (rm -f) and `gc` and `net gc` run, and
 * nothing may be left (svt_leftovers: processes, runtime and network state
 * files, links, nftables tables).
 *
 * Errors of single operations are expected (the workers race each other on
 * purpose: a VM stopped while another snapshots it) and only counted; what
 * fails the soak is a CLI that crashed (a signal we did not send), a usage
 * error (the soak only types valid commands), an operation over its time
 * limit, or a leftover at the end. It runs for minutes, so it is a meson
 * benchmark, not a test: `make soak [SOAK_SECONDS=600] [SOAK_VMM=fake|qemu]`.
 *
 * Usage: soak fake|qemu [SECONDS [WORKERS]]; SECONDS defaults to
 * $SOAK_SECONDS, else 600. */
#include "svtest.h"
#include "leftovers.h"

#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_IDS 8		   /* shared by all workers: they race on purpose */
#define OP_LIMIT_MS 180000 /* one CLI call; QEMU boots take ~10 s under TCG */
#define MAX_WORKERS 16
#define SETTLE_MS 20000

typedef enum {
	OP_RUN,
	OP_RUN_KILLED,
	OP_PAUSE,
	OP_RESUME,
	OP_SNAPSHOT,
	OP_STOP,
	OP_KILL_CMD,
	OP_SIGKILL_SUP,
	OP_SIGKILL_VMM,
	OP_GC,
	OP_RM,
	OP_PS,
	N_OPS
} op_kind;

static const char *const op_names[N_OPS] = {"run -d",
					    "run -d, CLI SIGKILLed",
					    "pause",
					    "resume",
					    "snapshot create",
					    "stop",
					    "kill",
					    "SIGKILL supervisor",
					    "SIGKILL VMM",
					    "gc",
					    "rm [-f]",
					    "ps"};

/* Counters every worker adds to (shared memory, atomics). */
typedef struct {
	long done[N_OPS], ok[N_OPS];
	long crashes, usage_errors, timeouts;
	char first_bad[1024]; /* the first crash / usage error / timeout, for the summary */
} totals;

typedef struct {
	const char *vmm, *cli, *dir, *data_flag, *runtime_flag, *kernel, *rootfs, *snaps;
	totals *t;
} soak_env;

static void note_bad(totals *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_bad(totals *t, const char *fmt, ...)
{
	if (t->first_bad[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->first_bad, sizeof(t->first_bad), fmt, ap);
	va_end(ap);
}

/* Runs `smartvm DIRS args...`; when kill_after_ms >= 0 the CLI is SIGKILLed
 * that long after it started (if still running). Output goes to the soak's
 * log. Returns the exit code, -1 when we killed it. */
static int cli(const soak_env *e, op_kind op, int kill_after_ms, const char *const *args)
{
	const char *argv[40] = {e->cli, e->data_flag, e->runtime_flag};
	size_t n = 3;
	for (size_t i = 0; args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char log[512];
	snprintf(log, sizeof(log), "%s/cli.log", e->dir);
	int out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	sv_spawn_opts so = {.argv = argv, .stdin_fd = devnull, .stdout_fd = out, .stderr_fd = out};
	pid_t pid;
	int rc = sv_spawn(&so, &pid, NULL);
	close(out);
	close(devnull);
	if (rc) {
		note_bad(e->t, "spawning the CLI: %s", sv_last_error());
		return 1;
	}
	int status = 0;
	bool killed = false;
	int waited = sv_reap(pid, kill_after_ms >= 0 ? kill_after_ms : OP_LIMIT_MS, &status);
	if (waited == SV_ETIMEOUT && kill_after_ms >= 0) {
		kill(pid, SIGKILL);
		killed = true;
		waited = sv_reap(pid, OP_LIMIT_MS, &status);
	} else if (waited == SV_ETIMEOUT) {
		kill(pid, SIGKILL);
		sv_reap(pid, -1, &status);
		__atomic_add_fetch(&e->t->timeouts, 1, __ATOMIC_RELAXED);
		note_bad(e->t, "%s over %d ms: smartvm %s %s", op_names[op], OP_LIMIT_MS, args[0],
			 args[1] ? args[1] : "");
		return 1;
	}
	__atomic_add_fetch(&e->t->done[op], 1, __ATOMIC_RELAXED);
	if (killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return -1;
	if (WIFSIGNALED(status)) {
		__atomic_add_fetch(&e->t->crashes, 1, __ATOMIC_RELAXED);
		note_bad(e->t, "smartvm %s %s: %s", args[0], args[1] ? args[1] : "",
			 sv_describe_wait_status(status));
		return 1;
	}
	int code = WEXITSTATUS(status);
	if (code == 2) {
		__atomic_add_fetch(&e->t->usage_errors, 1, __ATOMIC_RELAXED);
		note_bad(e->t, "smartvm %s %s: usage error (see %s)", args[0], args[1] ? args[1] : "", log);
	}
	if (code == 0)
		__atomic_add_fetch(&e->t->ok[op], 1, __ATOMIC_RELAXED);
	return code;
}

/* SIGKILLs the VM's process named in its state.json (key "<which>_pid"),
 * if it is still that process. */
static void sigkill_process(const soak_env *e, op_kind op, const char *vm_dir, const char *which)
{
	__atomic_add_fetch(&e->t->done[op], 1, __ATOMIC_RELAXED);
	char path[700], key[32];
	snprintf(path, sizeof(path), "%s/state.json", vm_dir);
	json_t *o = json_load_file(path, 0, NULL);
	snprintf(key, sizeof(key), "%s_pid", which);
	pid_t pid = (pid_t)json_integer_value(json_object_get(o, key));
	snprintf(key, sizeof(key), "%s_start_time", which);
	unsigned long long start = (unsigned long long)json_integer_value(json_object_get(o, key));
	json_decref(o);
	if (pid > 0 && start && sv_process_start_time(pid) == start && kill(pid, SIGKILL) == 0)
		__atomic_add_fetch(&e->t->ok[op], 1, __ATOMIC_RELAXED);
}

static void run_vm(const soak_env *e, const char *id, unsigned *seed, bool killed)
{
	bool net = rand_r(seed) % 2;
	const char *args[32];
	size_t n = 0;
	args[n++] = "run";
	args[n++] = "--detach";
	args[n++] = "--id";
	args[n++] = id;
	if (!strcmp(e->vmm, "qemu")) {
		const char *more[] = {"--image", "minimal", "--vmm", "qemu", "--accel", "tcg"};
		for (size_t i = 0; i < 6; i++)
			args[n++] = more[i];
	} else {
		const char *more[] = {"--kernel", e->kernel,	       "--rootfs",
				      e->rootfs,  "--firecracker-bin", svt_fake_firecracker()};
		for (size_t i = 0; i < 6; i++)
			args[n++] = more[i];
	}
	if (net)
		args[n++] = "--net";
	if (!strcmp(e->vmm, "qemu")) {
		args[n++] = "--";
		args[n++] = "sleep";
		args[n++] = "100000";
	}
	args[n] = NULL;
	int limit = strcmp(e->vmm, "qemu") ? 300 : 8000;
	cli(e, killed ? OP_RUN_KILLED : OP_RUN, killed ? (int)(rand_r(seed) % limit) : -1, args);
}

static void worker(const soak_env *e, int index, long long deadline_ms)
{
	unsigned seed = (unsigned)(time(NULL) ^ (getpid() << 8) ^ index);
	char id[16], vm_dir[600], snap[600];
	for (long round = 0; sv_now_ms() < deadline_ms; round++) {
		snprintf(id, sizeof(id), "s%02u", rand_r(&seed) % N_IDS);
		snprintf(vm_dir, sizeof(vm_dir), "%s/%s", e->runtime_flag + strlen("--runtime-dir="), id);
		unsigned r = rand_r(&seed) % 100;
		if (r < 26) {
			run_vm(e, id, &seed, false);
		} else if (r < 32) {
			run_vm(e, id, &seed, true);
		} else if (r < 39) {
			cli(e, OP_PAUSE, -1, (const char *[]){"pause", id, NULL});
		} else if (r < 46) {
			cli(e, OP_RESUME, -1, (const char *[]){"resume", id, NULL});
		} else if (r < 53) {
			snprintf(snap, sizeof(snap), "%s/w%d-%ld", e->snaps, index, round);
			cli(e, OP_SNAPSHOT, -1, (const char *[]){"snapshot", "create", id, snap, NULL});
			sv_rm_rf(snap);
		} else if (r < 61) {
			cli(e, OP_STOP, -1, (const char *[]){"stop", id, NULL});
		} else if (r < 67) {
			cli(e, OP_KILL_CMD, -1, (const char *[]){"kill", id, NULL});
		} else if (r < 72) {
			sigkill_process(e, OP_SIGKILL_SUP, vm_dir, "supervisor");
		} else if (r < 77) {
			sigkill_process(e, OP_SIGKILL_VMM, vm_dir, "vmm");
		} else if (r < 82) {
			cli(e, OP_GC, -1, (const char *[]){"gc", NULL});
		} else if (r < 92) {
			/* Ended detached VMs keep their id until rm (-f: also live ones). */
			cli(e, OP_RM, -1,
			    r % 2 ? (const char *[]){"rm", id, NULL} : (const char *[]){"rm", "-f", id, NULL});
		} else {
			cli(e, OP_PS, -1, (const char *[]){"ps", "-a", NULL});
		}
	}
}

/* Removes every VM `ps -a --json` lists (rm -f: kills the live ones),
 * then gc and net gc. */
static void clean_up(const soak_env *e)
{
	char *out = NULL;
	const char *argv[] = {e->cli, e->data_flag, e->runtime_flag, "ps", "-a", "--json", NULL};
	int code = -1;
	if (sv_run(argv, NULL, OP_LIMIT_MS, &code, &out, NULL) == 0 && code == 0) {
		json_t *list = json_loads(out ? out : "[]", 0, NULL);
		size_t i;
		json_t *vm;
		json_array_foreach(list, i, vm)
		{
			const char *id = json_string_value(json_object_get(vm, "id"));
			if (id)
				cli(e, OP_RM, -1, (const char *[]){"rm", "-f", id, NULL});
		}
		json_decref(list);
	}
	free(out);
	cli(e, OP_GC, -1, (const char *[]){"gc", NULL});
	cli(e, OP_GC, -1, (const char *[]){"net", "gc", NULL});
}

/* The CLI's messages, with numbers and the soak's directory replaced so
 * that the same error counts once; printed most frequent first. */
static void summarise_messages(const soak_env *e)
{
	char path[600], *text = NULL;
	snprintf(path, sizeof(path), "%s/cli.log", e->dir);
	if (sv_read_file(path, 64 << 20, &text, NULL) != 0)
		return;
	json_t *counts = json_object();
	size_t dir_len = strlen(e->dir);
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char norm[300];
		size_t n = 0;
		for (const char *p = line; *p && n < sizeof(norm) - 4;) {
			if (!strncmp(p, e->dir, dir_len)) {
				memcpy(norm + n, "DIR", 3);
				n += 3;
				p += dir_len;
			} else if (*p >= '0' && *p <= '9') {
				norm[n++] = '#';
				while (*p >= '0' && *p <= '9')
					p++;
			} else {
				norm[n++] = *p++;
			}
		}
		norm[n] = '\0';
		json_object_set_new(counts, norm,
				    json_integer(json_integer_value(json_object_get(counts, norm)) + 1));
	}
	free(text);
	printf("the CLI's messages (numbers as #):\n");
	for (;;) {
		const char *best = NULL, *key;
		json_int_t most = 0;
		json_t *v;
		json_object_foreach(counts, key, v)
		{
			if (json_integer_value(v) > most) {
				most = json_integer_value(v);
				best = key;
			}
		}
		if (!best)
			break;
		printf("%6lld  %s\n", (long long)most, best);
		json_object_del(counts, best);
	}
	json_decref(counts);
}

static char *path_in(const char *dir, const char *name)
{
	char *p = sv_path_join(dir, name);
	if (!p) {
		fprintf(stderr, "soak: out of memory\n");
		exit(1);
	}
	return p;
}

static void write_file(const char *path, const char *text)
{
	if (sv_write_file_atomic(path, text, strlen(text), 0644) != 0) {
		fprintf(stderr, "soak: %s\n", sv_last_error());
		exit(1);
	}
}

/* Imports the minimal image as bundle "minimal" (cached between runs like
 * the tests' copy). */
static void import_minimal_image(const soak_env *e)
{
	const char *cache = getenv("SMARTVM_TEST_IMAGE_DIR");
	if (!cache || !*cache)
		cache = "/var/tmp/smartvm-test-images";
	const char *argv[] = {e->cli, e->data_flag, "image", "build-minimal", "--cache-dir", cache, NULL};
	char *err = NULL;
	int code = -1;
	if (sv_run(argv, NULL, 600000, &code, NULL, &err) != 0 || code != 0) {
		fprintf(stderr, "soak: smartvm image build-minimal: %s\n", err ? err : sv_last_error());
		exit(1);
	}
	free(err);
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "fake") && strcmp(argv[1], "qemu"))) {
		fprintf(stderr, "usage: soak fake|qemu [SECONDS [WORKERS]]\n");
		return 2;
	}
	const char *secs = argc > 2 ? argv[2] : getenv("SOAK_SECONDS");
	int seconds = secs && *secs ? atoi(secs) : 600, workers = argc > 3 ? atoi(argv[3]) : 4;
	if (seconds <= 0 || workers <= 0 || workers > MAX_WORKERS) {
		fprintf(stderr, "soak: SECONDS must be > 0 and WORKERS 1-%d\n", MAX_WORKERS);
		return 2;
	}
	if (!svt_private_netns())
		return svt_skip_program(SVT_NEED_ROOT, "the soak needs root (a private network namespace)");
	char dir_template[] = "/tmp/smartvm-soak.XXXXXX";
	char *dir = mkdtemp(dir_template);
	if (!dir) {
		perror("soak: mkdtemp");
		return 1;
	}
	totals *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED) {
		perror("soak: mmap");
		return 1;
	}
	char *data = path_in(dir, "data"), *runtime = path_in(dir, "runtime"), *snaps = path_in(dir, "snaps");
	char *data_flag = NULL, *runtime_flag = NULL;
	if (asprintf(&data_flag, "--data-dir=%s", data) < 0 ||
	    asprintf(&runtime_flag, "--runtime-dir=%s", runtime) < 0)
		return 1;
	mkdir(snaps, 0700);
	soak_env e = {.vmm = argv[1],
		      .cli = svt_cli(),
		      .dir = dir,
		      .data_flag = data_flag,
		      .runtime_flag = runtime_flag,
		      .kernel = path_in(dir, "vmlinux"),
		      .rootfs = path_in(dir, "rootfs.ext4"),
		      .snaps = snaps,
		      .t = t};
	write_file(e.kernel, "kernel");
	write_file(e.rootfs, "rootfs");
	if (!strcmp(e.vmm, "qemu"))
		import_minimal_image(&e);

	printf("soak: %s, %d workers, %d s, in %s\n", e.vmm, workers, seconds, dir);
	fflush(stdout);
	long long deadline = sv_now_ms() + seconds * 1000LL;
	pid_t pids[MAX_WORKERS];
	for (int i = 0; i < workers; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			worker(&e, i, deadline);
			_exit(0);
		}
	}
	for (int i = 0; i < workers; i++)
		waitpid(pids[i], NULL, 0);
	clean_up(&e);

	svt_scope scope = {.root = dir, .runtime_dir = runtime, .data_dir = data, .netns = true,
			   .net_down = true};
	char *left = svt_leftovers_settled(&scope, SETTLE_MS);
	long total = 0;
	printf("%-24s %8s %8s\n", "operation", "done", "ok");
	for (int i = 0; i < N_OPS; i++) {
		printf("%-24s %8ld %8ld\n", op_names[i], t->done[i], t->ok[i]);
		total += t->done[i];
	}
	printf("operations: %ld; crashes: %ld; usage errors: %ld; over %d s: %ld\n", total, t->crashes,
	       t->usage_errors, OP_LIMIT_MS / 1000, t->timeouts);
	if (t->first_bad[0])
		printf("first problem: %s\n", t->first_bad);
	summarise_messages(&e);
	printf("leftovers: %s\n", left && *left ? left : "none");
	bool failed = !left || *left || t->crashes || t->usage_errors || t->timeouts;
	if (!failed)
		sv_rm_rf(dir);
	else
		printf("soak: FAILED; the CLI's output is in %s/cli.log\n", dir);
	free(left);
	return failed ? 1 : 0;
}
