/* fake-jailer: a stand-in for Firecracker's jailer (docs/jailer.md) for
 * tests on machines without Firecracker.
 *
 * It enforces the real jailer's argument contract:
 *   --id ID --exec-file PATH --uid N --gid N [--chroot-base-dir DIR]
 *   [--cgroup-version 1|2] [--cgroup FILE=VALUE]... [--netns PATH]
 *   [--new-pid-ns] [--daemonize] [-- ARGS for the exec file]
 * (the id: 1-64 of [A-Za-z0-9-]; the exec file's name must contain
 * "firecracker"; uid/gid numbers; the chroot base absolute, default
 * /srv/jailer) and does what the real one does to the filesystem: the jail
 * is <base>/<exec file name>/<id>/root (created if missing), the exec file is
 * copied into it, the root is owned by uid:gid, the cgroups are made with
 * each --cgroup value written to its file and the process's pid added, the
 * network
 * namespace is joined with setns(2), privileges are dropped to uid/gid, and
 * the copied exec file is executed with `--id ID --start-time-us N
 * --start-time-cpu-us N` followed by ARGS.
 *
 * What it simulates instead of doing: the chroot. The fake Firecracker is
 * dynamically linked and could not run inside an empty root, so the jailer
 * changes into the root directory and sets FAKE_FC_JAILED=1, under which the
 * fake Firecracker resolves absolute API paths (the API socket, drives,
 * kernel, ...) relative to its working directory, as chroot would make them.
 * The cgroup root is $FAKE_JAILER_CGROUP_ROOT (a directory the test owns)
 * instead of /sys/fs/cgroup, so no host cgroup is touched. Its layout stands
 * for the host's, and the version must fit it as on a real host: v2 (the
 * default of smartvm, 1 is the jailer's) needs <root>/cgroup.controllers to
 * list each controller and makes <root>/<exec file name>/<id> (pid to
 * cgroup.procs); v1 needs a hierarchy <root>/<controller> (with a tasks
 * file) per controller and makes <root>/<controller>/<exec file name>/<id>
 * (pid to tasks). A hybrid host's v2 root lists no cpu or memory controller,
 * so v2 limits fail there, as they do with the real jailer. --new-pid-ns
 * forks into a new PID namespace, writes the child's pid to
 * <root>/<exec file name>.pid and exits, as the real jailer does. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "Jailer error: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void mkdir_p(const char *path, mode_t mode)
{
	char *p = strdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST)
			die("Failed to create directory %s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, mode) != 0 && errno != EEXIST)
		die("Failed to create directory %s: %s", p, strerror(errno));
	free(p);
}

static unsigned parse_num(const char *flag, const char *v)
{
	char *end = NULL;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (!*v || *end || errno || n > 0xFFFFFFFEul)
		die("Invalid %s: %s", flag, v);
	return (unsigned)n;
}

static void check_id(const char *id)
{
	size_t n = strlen(id);
	if (n < 1 || n > 64)
		die("Invalid instance ID: Invalid len (%zu);  the length must be between 1 and 64", n);
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			die("Invalid instance ID: Invalid char (%c) at position %zu", c, i);
	}
}

static void copy_file(const char *src, const char *dst, unsigned uid, unsigned gid)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		die("Failed to open %s: %s", src, strerror(errno));
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0)
		die("Failed to copy %s to %s: %s", src, dst, strerror(errno));
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			die("Failed to copy %s: %s", src, strerror(errno));
	close(in);
	if (fchown(out, uid, gid) != 0)
		die("Failed to change owner of %s: %s", dst, strerror(errno));
	close(out);
}

static void write_text(const char *dir, const char *file, const char *text)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s", dir, file) < 0)
		die("out of memory");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die("Failed to write %s: %s", path, strerror(errno));
	close(fd);
	free(path);
}

/* "cpu" of "cpu.max". */
static char *controller_of(const char *file)
{
	char *c = strdup(file), *dot = strchr(c, '.');
	if (!dot || dot == c)
		die("Invalid format for argument: cgroup: %s", file);
	*dot = '\0';
	return c;
}

/* Does the file at path hold word (whitespace-separated)? */
static bool lists(const char *path, const char *word)
{
	FILE *f = fopen(path, "re");
	char w[64];
	bool found = false;
	while (f && !found && fscanf(f, "%63s", w) == 1)
		found = !strcmp(w, word);
	if (f)
		fclose(f);
	return found;
}

/* One --cgroup FILE=VALUE in the layout of the given version under root. */
static void set_cgroup(const char *root, int version, const char *exec_name, const char *id, const char *arg)
{
	char *file = strdup(arg), *eq = strchr(file, '=');
	*eq = '\0';
	char *ctrl = controller_of(file), *dir = NULL, *probe = NULL;
	if (version == 2) {
		if (asprintf(&probe, "%s/cgroup.controllers", root) < 0 ||
		    asprintf(&dir, "%s/%s/%s", root, exec_name, id) < 0)
			die("out of memory");
		if (!lists(probe, ctrl))
			die("Cgroup error: controller %s is not available in the cgroup v2 hierarchy at %s",
			    ctrl, root);
	} else {
		if (asprintf(&probe, "%s/%s/tasks", root, ctrl) < 0 ||
		    asprintf(&dir, "%s/%s/%s/%s", root, ctrl, exec_name, id) < 0)
			die("out of memory");
		if (access(probe, F_OK) != 0)
			die("Cgroup error: no cgroup v1 hierarchy for controller %s at %s/%s", ctrl, root,
			    ctrl);
	}
	mkdir_p(dir, 0755);
	write_text(dir, file, eq + 1);
	char pid[32];
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	write_text(dir, version == 2 ? "cgroup.procs" : "tasks", pid);
	free(file);
	free(ctrl);
	free(dir);
	free(probe);
}

static unsigned long long now_us(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	const char *id = NULL, *exec_file = NULL, *base = "/srv/jailer", *netns = NULL;
	const char *cgroups[16];
	int n_cgroups = 0;
	bool have_uid = false, have_gid = false, new_pid_ns = false, daemonize = false;
	int cgroup_version = 1; /* the real jailer's default */
	unsigned uid = 0, gid = 0;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		bool takes = !strcmp(a, "--id") || !strcmp(a, "--exec-file") || !strcmp(a, "--uid") ||
			     !strcmp(a, "--gid") || !strcmp(a, "--chroot-base-dir") || !strcmp(a, "--cgroup") ||
			     !strcmp(a, "--cgroup-version") || !strcmp(a, "--netns");
		if (!strcmp(a, "--"))
			break;
		if (takes && i + 1 >= argc)
			die("Arguments parsing error: Missing value for argument: %s", a + 2);
		if (!strcmp(a, "--id")) id = argv[++i];
		else if (!strcmp(a, "--exec-file")) exec_file = argv[++i];
		else if (!strcmp(a, "--uid")) { uid = parse_num("uid", argv[++i]); have_uid = true; }
		else if (!strcmp(a, "--gid")) { gid = parse_num("gid", argv[++i]); have_gid = true; }
		else if (!strcmp(a, "--chroot-base-dir")) base = argv[++i];
		else if (!strcmp(a, "--cgroup-version")) {
			if (strcmp(argv[++i], "2") && strcmp(argv[i], "1"))
				die("Invalid cgroup version: %s", argv[i]);
			cgroup_version = argv[i][0] - '0';
		} else if (!strcmp(a, "--cgroup")) {
			const char *c = argv[++i];
			if (!strchr(c, '=') || c[0] == '=' || n_cgroups == 16)
				die("Invalid format for argument: cgroup: %s", c);
			cgroups[n_cgroups++] = c;
		} else if (!strcmp(a, "--netns")) netns = argv[++i];
		else if (!strcmp(a, "--new-pid-ns")) new_pid_ns = true;
		else if (!strcmp(a, "--daemonize")) daemonize = true;
		else die("Arguments parsing error: Found argument '%s' which wasn't expected", a);
	}
	if (!id) die("Arguments parsing error: Missing mandatory argument: id");
	if (!exec_file) die("Arguments parsing error: Missing mandatory argument: exec-file");
	if (!have_uid) die("Arguments parsing error: Missing mandatory argument: uid");
	if (!have_gid) die("Arguments parsing error: Missing mandatory argument: gid");
	check_id(id);
	const char *name = strrchr(exec_file, '/') ? strrchr(exec_file, '/') + 1 : exec_file;
	if (!strstr(name, "firecracker"))
		die("Invalid filename. The filename of `--exec-file` option must contain \"firecracker\": %s", name);
	if (access(exec_file, X_OK) != 0)
		die("Failed to canonicalize path %s: %s", exec_file, strerror(errno));
	if (base[0] != '/')
		die("Invalid chroot base dir: %s: must be an absolute path", base);

	char *root = NULL, *exec_copy = NULL;
	if (asprintf(&root, "%s/%s/%s/root", base, name, id) < 0 || asprintf(&exec_copy, "%s/%s", root, name) < 0)
		die("out of memory");
	mkdir_p(root, 0755);
	if (chown(root, uid, gid) != 0)
		die("Failed to change owner of %s: %s", root, strerror(errno));
	copy_file(exec_file, exec_copy, uid, gid);

	const char *cg_root = getenv("FAKE_JAILER_CGROUP_ROOT");
	if (cg_root && *cg_root) {
		for (int c = 0; c < n_cgroups; c++)
			set_cgroup(cg_root, cgroup_version, name, id, cgroups[c]);
	} else if (n_cgroups) {
		die("fake-jailer: --cgroup needs FAKE_JAILER_CGROUP_ROOT (it never touches the host's cgroups)");
	}

	if (netns) {
		int fd = open(netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
			die("Failed to join network namespace %s: %s", netns, strerror(errno));
		close(fd);
	}
	if (chdir(root) != 0)
		die("Failed to change directory to %s: %s", root, strerror(errno));
	if (daemonize) {
		if (setsid() < 0 && errno != EPERM)
			die("setsid: %s", strerror(errno));
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (new_pid_ns) {
		if (unshare(CLONE_NEWPID) != 0)
			die("Failed to create a new PID namespace: %s", strerror(errno));
		pid_t child = fork();
		if (child < 0)
			die("fork: %s", strerror(errno));
		if (child > 0) {
			char pidfile[256], text[32];
			snprintf(pidfile, sizeof(pidfile), "%s.pid", name);
			snprintf(text, sizeof(text), "%d", (int)child);
			write_text(".", pidfile, text);
			return 0;
		}
	}
	if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
		die("Failed to drop privileges to %u:%u: %s", uid, gid, strerror(errno));
	setenv("FAKE_FC_JAILED", "1", 1);

	/* --id, the start times, then everything after "--". */
	char start_us[32], start_cpu_us[32];
	snprintf(start_us, sizeof(start_us), "%llu", now_us(CLOCK_MONOTONIC));
	snprintf(start_cpu_us, sizeof(start_cpu_us), "%llu", now_us(CLOCK_PROCESS_CPUTIME_ID));
	int extra = i < argc ? argc - i - 1 : 0;
	char **args = calloc((size_t)extra + 8, sizeof(char *));
	char *rel = NULL;
	if (!args || asprintf(&rel, "./%s", name) < 0)
		die("out of memory");
	int k = 0;
	args[k++] = rel;
	args[k++] = "--id";
	args[k++] = (char *)id;
	args[k++] = "--start-time-us";
	args[k++] = start_us;
	args[k++] = "--start-time-cpu-us";
	args[k++] = start_cpu_us;
	for (int j = 0; j < extra; j++)
		args[k++] = argv[i + 1 + j];
	args[k] = NULL;
	execv(rel, args);
	die("Failed to exec %s: %s", rel, strerror(errno));
}
