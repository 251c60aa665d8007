/* Leftover checks (see leftovers.h). No cmocka assertions: the soak, which
 * is no cmocka program, reports what this finds in its own summary. */
#include "leftovers.h"

#include "net/net_link.h"
#include "util/file.h"
#include "util/spawn.h"
#include <dirent.h>
#include <jansson.h>
#include <smartvm/error.h>
#include <smartvm/netadmin.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void addf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(FILE *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

/* path starts with dir (as a directory). */
static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

static bool link_below(pid_t pid, const char *what, const char *dir)
{
	char path[64], target[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return below(target, dir);
}

/* The command line with NULs as spaces ("" for a zombie); malloc'd. */
static char *cmdline(pid_t pid)
{
	char path[64], *text = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (sv_read_file(path, 1 << 16, &text, &len) != 0)
		return strdup("");
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	return text;
}

static int for_each_process(bool (*fn)(pid_t, const char *, void *), void *arg)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	int count = 0;
	pid_t self = getpid();
	for (struct dirent *de; (de = readdir(d));) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0 || pid == self)
			continue;
		char *cmd = cmdline(pid);
		if (*cmd && fn(pid, cmd, arg)) /* zombies (empty cmdline) are gone but for the reaping */
			count++;
		free(cmd);
	}
	closedir(d);
	return count;
}

typedef struct {
	const char *root;
	pid_t *pids;
	int max, n;
	FILE *out;
} proc_scan;

static bool in_scope(pid_t pid, const char *cmd, void *arg)
{
	proc_scan *s = arg;
	if (!strstr(cmd, s->root) && !link_below(pid, "exe", s->root) && !link_below(pid, "cwd", s->root))
		return false;
	if (s->pids && s->n < s->max)
		s->pids[s->n] = pid;
	s->n++;
	if (s->out)
		addf(s->out, "process %d: %s", (int)pid, cmd);
	return true;
}

int svt_scope_processes(const char *root, pid_t *pids, int max)
{
	proc_scan s = {.root = root, .pids = pids, .max = max};
	for_each_process(in_scope, &s);
	return s.n;
}

typedef struct {
	const char *a, *b;
	pid_t found;
} find_args;

static bool matches(pid_t pid, const char *cmd, void *arg)
{
	find_args *f = arg;
	if (f->found || !strstr(cmd, f->a) || !strstr(cmd, f->b))
		return false;
	f->found = pid;
	return true;
}

pid_t svt_find_process(const char *needle1, const char *needle2)
{
	find_args f = {needle1, needle2, 0};
	for_each_process(matches, &f);
	return f.found;
}

/* pid's state letter from /proc/PID/stat ('Z' a zombie, 'T' stopped, ...);
 * 0 once the process is gone. */
static char process_state(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *text = NULL;
	if (sv_read_file(path, 4096, &text, NULL) != 0)
		return 0;
	char *paren = strrchr(text, ')');
	char state = paren && paren[1] ? paren[2] : '?';
	free(text);
	return state;
}

bool svt_wait_exited(pid_t pid, int timeout_ms)
{
	for (long long end = sv_now_ms() + timeout_ms; sv_now_ms() < end; usleep(2000)) {
		char state = process_state(pid);
		if (state == 0 || state == 'Z' || state == 'X')
			return true;
	}
	return false;
}

bool svt_wait_stopped(pid_t pid, int timeout_ms)
{
	for (long long end = sv_now_ms() + timeout_ms; sv_now_ms() < end; usleep(2000)) {
		char state = process_state(pid);
		if (state == 'T' || state == 't')
			return true;
		if (state == 0 || state == 'Z' || state == 'X')
			return false;
	}
	return false;
}

bool svt_is_end_record_dir(const char *runtime_dir, const char *name)
{
	static const char *const kept[] = {"ended.json", "lock", "console.log", "config.json"};
	char *dir = sv_path_join(runtime_dir, name);
	DIR *d = dir ? opendir(dir) : NULL;
	bool only = d != NULL, record = false;
	for (struct dirent *de; only && (de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		bool known = false;
		for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
			known |= !strcmp(de->d_name, kept[i]);
		only = known;
	}
	if (d)
		closedir(d);
	/* The record must be the VM's own: valid, naming this id. */
	char *path = only && dir ? sv_path_join(dir, "ended.json") : NULL;
	json_t *o = path ? json_load_file(path, 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(o, "id"));
	record = id && !strcmp(id, name) && json_object_get(o, "exit_code") && json_object_get(o, "ended_at");
	json_decref(o);
	free(path);
	free(dir);
	return only && record;
}

/* Entries of dir (none if it does not exist), each listed. In the runtime
 * dir, the end record of a VM that ended detached is no leak: it stays until
 * `smartvm rm`, as the user-facing contract says. */
static void list_entries(FILE *out, const char *dir, const char *what)
{
	bool runtime = !strcmp(what, "runtime dir");
	DIR *d = opendir(dir);
	for (struct dirent *de; d && (de = readdir(d));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    !(runtime && svt_is_end_record_dir(dir, de->d_name)))
			addf(out, "%s: %s/%s", what, dir, de->d_name);
	if (d)
		closedir(d);
}

/* The cgroups of exec_name below root: <root>/<exec> (v2) and
 * <root>/<ctrl>/<exec> (v1). */
static void list_cgroups(FILE *out, const char *root, const char *exec_name)
{
	char *v2 = sv_path_join(root, exec_name);
	list_entries(out, v2, "cgroup");
	free(v2);
	DIR *d = opendir(root);
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, exec_name))
			continue;
		char *v1 = NULL;
		if (asprintf(&v1, "%s/%s/%s", root, de->d_name, exec_name) > 0)
			list_entries(out, v1, "cgroup");
		free(v1);
	}
	if (d)
		closedir(d);
}

static bool kept(const char *const *keep, const char *name)
{
	for (size_t i = 0; keep && keep[i]; i++)
		if (!strcmp(keep[i], name))
			return true;
	return false;
}

static void list_network(FILE *out, const char *const *keep)
{
	sv_nl_link *links = NULL;
	size_t n = 0;
	if (sv_nl_link_list(&links, &n) != 0)
		addf(out, "links: cannot list");
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(links[i].name, "lo"))
			continue;
		if (kept(keep, links[i].name)) {
			if (links[i].master)
				addf(out, "link %s: still attached to a bridge", links[i].name);
			continue;
		}
		addf(out, "link %s (%s)", links[i].name, links[i].kind[0] ? links[i].kind : "device");
	}
	free(links);
	const char *const argv[] = {"nft", "list", "tables", NULL};
	int code = -1;
	char *text = NULL;
	if (sv_run(argv, NULL, 10000, &code, &text, NULL) != 0 || code != 0)
		addf(out, "nftables: cannot list tables");
	for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		addf(out, "nftables: %s", line);
	free(text);
}

char *svt_leftovers(const svt_scope *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out)
		return strdup("out of memory");
	proc_scan ps = {.root = s->root, .out = out};
	if (s->root)
		for_each_process(in_scope, &ps);
	if (s->runtime_dir)
		list_entries(out, s->runtime_dir, "runtime dir");
	if (s->net_down && s->data_dir) {
		sv_net_admin_options down = SV_NET_ADMIN_OPTIONS_INIT;
		down.data_dir = s->data_dir;
		if (sv_net_down(&down, NULL) != 0)
			addf(out, "net down: %s", sv_last_error());
	}
	if (s->data_dir) {
		char *net = sv_path_join(s->data_dir, "net");
		list_entries(out, net, "lease dir");
		free(net);
	}
	if (s->jail_base) {
		char *jails = sv_path_join(s->jail_base, s->jail_exec_name);
		list_entries(out, jails, "jail");
		free(jails);
	}
	if (s->cgroup_root)
		list_cgroups(out, s->cgroup_root, s->jail_exec_name);
	if (s->netns)
		list_network(out, s->keep_links);
	for (size_t i = 0; s->gone_paths && s->gone_paths[i]; i++) {
		struct stat st;
		if (lstat(s->gone_paths[i], &st) == 0)
			addf(out, "file: %s", s->gone_paths[i]);
	}
	fclose(out);
	return text;
}

char *svt_leftovers_settled(const svt_scope *s, int timeout_ms)
{
	for (long long end = sv_now_ms() + timeout_ms;
	     s->root && svt_scope_processes(s->root, NULL, 0) > 0 && sv_now_ms() < end;)
		usleep(5000);
	return svt_leftovers(s);
}
