/* The container's cgroup (see oci_cgroup.h): cgroupfs written directly,
 * the way runc's cgroupfs driver does; no shell, no systemd D-Bus. */
#include "oci_cgroup.h"

#include "oci_log.h"
#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <smartvm/error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG "config.json: "
#define PATH_MAX_LEN 1024
#define RECORD_MAX (64u << 10)
#define REMOVE_WAIT_MS 5000

/* The v1 controllers used, and the limits each carries. */
static const char *const controllers[] = {"memory", "cpu", "pids"};
#define N_CONTROLLERS 3

static int field_int(json_t *obj, const char *key, const char *field, bool *has, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	*has = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return sv_err(SV_EINVAL, CONFIG "%s: expected an integer", field);
	*has = true;
	*out = json_integer_value(v);
	return 0;
}

static int field_uint(json_t *obj, const char *key, const char *field, bool *has, uint64_t *out)
{
	int64_t v = 0;
	int rc = field_int(obj, key, field, has, &v);
	if (!rc && *has && v < 0)
		return sv_err(SV_EINVAL, CONFIG "%s: must not be negative", field);
	*out = (uint64_t)v;
	return rc;
}

static int section(json_t *res, const char *key, json_t **out)
{
	*out = json_object_get(res, key);
	if (*out && !json_is_object(*out) && !json_is_null(*out))
		return sv_err(SV_EINVAL, CONFIG "linux.resources.%s: expected an object", key);
	if (*out && json_is_null(*out))
		*out = NULL;
	return 0;
}

static int parse_resources(oci_cgroup *c, const char *text)
{
	json_t *res = json_loads(text, 0, NULL), *mem, *cpu, *pids;
	int rc = res ? 0 : sv_err(SV_ENOMEM, "out of memory");
	if (!rc && !(rc = section(res, "memory", &mem)) && !(rc = section(res, "cpu", &cpu)) &&
	    !(rc = section(res, "pids", &pids)) &&
	    !(rc = field_int(mem, "limit", "linux.resources.memory.limit", &c->has_memory,
			     &c->memory_limit)) &&
	    !(rc = field_uint(cpu, "shares", "linux.resources.cpu.shares", &c->has_shares, &c->cpu_shares)) &&
	    !(rc = field_int(cpu, "quota", "linux.resources.cpu.quota", &c->has_quota, &c->cpu_quota)) &&
	    !(rc = field_uint(cpu, "period", "linux.resources.cpu.period", &c->has_period, &c->cpu_period)))
		rc = field_int(pids, "limit", "linux.resources.pids.limit", &c->has_pids, &c->pids_limit);
	if (!rc && c->has_memory && c->memory_limit < -1)
		rc = sv_err(SV_EINVAL, CONFIG "linux.resources.memory.limit: %" PRId64 " (bytes, or -1)",
			    c->memory_limit);
	json_decref(res);
	return rc;
}

/* systemd's path of a slice: a-b.slice lives in a.slice/a-b.slice. */
static int expand_slice(const char *slice, char *out, size_t size)
{
	size_t len = strlen(slice), n = 0;
	if (len <= 6 || strcmp(slice + len - 6, ".slice") || strchr(slice, '/') || slice[0] == '-')
		return sv_err(SV_EINVAL, CONFIG "linux.cgroupsPath: \"%s\" is not a slice name (NAME.slice)",
			      slice);
	out[0] = '\0';
	for (const char *dash = slice; (dash = strchr(dash, '-')) && dash < slice + len - 6; dash++)
		n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%.*s.slice/", (int)(dash - slice),
				      slice);
	n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s", slice);
	return n < size ? 0 : sv_err(SV_EINVAL, CONFIG "linux.cgroupsPath: too long");
}

/* "slice:prefix:name" -> slice path + "/prefix-name.scope". */
static int systemd_path(const char *spec, char **out)
{
	char slice[256], prefix[256], name[256], expanded[PATH_MAX_LEN];
	int end = 0;
	if (sscanf(spec, "%255[^:]:%255[^:]:%255[^:]%n", slice, prefix, name, &end) != 3 || spec[end]) {
		/* An empty slice is systemd's system.slice, as in runc. */
		if (!(spec[0] == ':' && sscanf(spec, ":%255[^:]:%255[^:]%n", prefix, name, &end) == 2 &&
		      !spec[end]))
			return sv_err(SV_EINVAL,
				      CONFIG "linux.cgroupsPath: \"%s\" is not slice:prefix:name "
					     "(--systemd-cgroup)",
				      spec);
		snprintf(slice, sizeof(slice), "system.slice");
	}
	int rc = expand_slice(slice, expanded, sizeof(expanded));
	if (rc)
		return rc;
	size_t nlen = strlen(name);
	bool is_slice = nlen > 6 && !strcmp(name + nlen - 6, ".slice");
	int n = is_slice ? asprintf(out, "%s/%s", expanded, name)
			 : asprintf(out, "%s/%s-%s.scope", expanded, prefix, name);
	return n < 0 ? sv_err(SV_ENOMEM, "out of memory") : 0;
}

/* Every component a plain name: no "", ".", "..", control characters. */
static int check_path(const char *path)
{
	if (strlen(path) >= PATH_MAX_LEN || !*path)
		return sv_err(SV_EINVAL, CONFIG "linux.cgroupsPath: \"%s\": %s", path,
			      *path ? "too long" : "names the root cgroup");
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)) || n > 255)
			return sv_err(SV_EINVAL,
				      CONFIG "linux.cgroupsPath: \"%s\": a component is empty, \".\", \"..\" "
					     "or too long",
				      path);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return sv_err(SV_EINVAL, CONFIG "linux.cgroupsPath: a control character");
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

int oci_cgroup_parse(oci_cgroup *c, const oci_bundle *b, bool systemd, const char *id)
{
	*c = (oci_cgroup){0};
	int rc = b->resources_json ? parse_resources(c, b->resources_json) : 0;
	bool any = c->has_memory || c->has_shares || c->has_quota || c->has_period || c->has_pids;
	if (rc || (!b->cgroups_path && !any))
		return rc;
	if (!b->cgroups_path) {
		rc = asprintf(&c->path, "smartvm-oci/%s", id) < 0 ? sv_err(SV_ENOMEM, "out of memory") : 0;
	} else if (systemd) {
		rc = systemd_path(b->cgroups_path, &c->path);
	} else {
		const char *p = b->cgroups_path;
		while (*p == '/')
			p++;
		c->path = strdup(p);
		rc = c->path ? 0 : sv_err(SV_ENOMEM, "out of memory");
	}
	if (!rc)
		rc = check_path(c->path);
	if (rc)
		oci_cgroup_free(c);
	return rc;
}

/* One warning line, built up as limits are found that cannot be applied. */
typedef struct {
	char text[1024];
	size_t n;
} notes;

static void note(notes *w, const char *fmt, ...)
{
	if (w->n >= sizeof(w->text))
		return;
	va_list ap;
	va_start(ap, fmt);
	w->n += (size_t)snprintf(w->text + w->n, sizeof(w->text) - w->n, "%s", w->n ? "; " : "");
	if (w->n < sizeof(w->text))
		w->n += (size_t)vsnprintf(w->text + w->n, sizeof(w->text) - w->n, fmt, ap);
	va_end(ap);
}

static bool is_v1(const char *controller)
{
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), OCI_CGROUP_ROOT "/%s/tasks", controller);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool wants(const oci_cgroup *c, int ctl)
{
	return ctl == 0	  ? c->has_memory
	       : ctl == 1 ? c->has_shares || c->has_quota || c->has_period
			  : c->has_pids;
}

static const char *limits_of(int ctl)
{
	return ctl == 0 ? "memory.limit" : ctl == 1 ? "cpu.shares/quota/period" : "pids.limit";
}

/* Writes value to dir/file; errno-bearing error on failure. */
static int write_value(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX_LEN + 128];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "%s", path);
	ssize_t n = write(fd, value, strlen(value));
	int e = errno;
	close(fd);
	if (n != (ssize_t)strlen(value))
		return sv_err_errno(SV_EIO, n < 0 ? e : EIO, "writing %s to %s", value, path);
	return 0;
}

static int write_limits(const oci_cgroup *c, int ctl, const char *dir)
{
	char v[32];
	int rc = 0;
	if (ctl == 0 && c->has_memory) {
		snprintf(v, sizeof(v), "%" PRId64, c->memory_limit);
		rc = write_value(dir, "memory.limit_in_bytes", v);
	} else if (ctl == 1) {
		/* The period first: a quota is checked against the period in force. */
		if (c->has_period && c->cpu_period) {
			snprintf(v, sizeof(v), "%" PRIu64, c->cpu_period);
			rc = write_value(dir, "cpu.cfs_period_us", v);
		}
		if (!rc && c->has_quota && c->cpu_quota) {
			snprintf(v, sizeof(v), "%" PRId64, c->cpu_quota < 0 ? -1 : c->cpu_quota);
			rc = write_value(dir, "cpu.cfs_quota_us", v);
		}
		if (!rc && c->has_shares && c->cpu_shares) {
			snprintf(v, sizeof(v), "%" PRIu64, c->cpu_shares);
			rc = write_value(dir, "cpu.shares", v);
		}
	} else if (ctl == 2 && c->has_pids && c->pids_limit) {
		if (c->pids_limit < 0)
			snprintf(v, sizeof(v), "max");
		else
			snprintf(v, sizeof(v), "%" PRId64, c->pids_limit);
		rc = write_value(dir, "pids.max", v);
	}
	return rc;
}

/* Appends to rec the directories of full that do not exist yet (outermost
 * first), returning how many. */
static int missing_dirs(const char *full, size_t base_len, char *rec, size_t rec_size, size_t *rec_n)
{
	char *path = strdup(full);
	if (!path)
		return sv_err(SV_ENOMEM, "out of memory");
	for (char *p = path + base_len + 1; p && *p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		struct stat st;
		if (lstat(path, &st) < 0)
			*rec_n += (size_t)snprintf(rec + *rec_n, *rec_n < rec_size ? rec_size - *rec_n : 0,
						   "%s\n", path);
		if (slash)
			*slash = '/';
		p = slash;
		if (!p)
			break;
	}
	free(path);
	return *rec_n < rec_size ? 0 : sv_err(SV_EINVAL, "linux.cgroupsPath: too long");
}

int oci_cgroup_setup(oci_cgroup *c, const oci_dir *d, const char *id)
{
	notes w = {0};
	if (!c->path)
		return 0;
	struct stat st;
	if (stat(OCI_CGROUP_ROOT "/cgroup.controllers", &st) == 0) {
		oci_log_warn(
		    "container \"%s\": cgroups: this host has cgroup v2 only, which smartvm-oci does "
		    "not manage yet: linux.cgroupsPath and linux.resources are not applied",
		    id);
		return 0;
	}
	char full[N_CONTROLLERS][PATH_MAX_LEN + 64], rec[8192];
	size_t rec_n = 0;
	bool use[N_CONTROLLERS] = {0};
	int rc = 0;
	for (int i = 0; i < N_CONTROLLERS && !rc; i++) {
		if (!is_v1(controllers[i])) {
			if (wants(c, i))
				note(&w, "%s (no cgroup v1 %s controller under " OCI_CGROUP_ROOT ")",
				     limits_of(i), controllers[i]);
			continue;
		}
		snprintf(full[i], sizeof(full[i]), OCI_CGROUP_ROOT "/%s/%s", controllers[i], c->path);
		use[i] = true;
		rc = missing_dirs(full[i], strlen(OCI_CGROUP_ROOT) + 1 + strlen(controllers[i]), rec,
				  sizeof(rec), &rec_n);
	}
	/* Recorded before anything is made, so delete finds all of it. */
	if (rc || (rc = sv_write_file_atomic_at(d->fd, d->dir, OCI_CGROUP_RECORD, rec, rec_n, 0600)))
		return rc;
	size_t n_dirs = 0;
	c->dirs = calloc(N_CONTROLLERS + 1, sizeof(*c->dirs));
	if (!c->dirs)
		return sv_err(SV_ENOMEM, "out of memory");
	for (int i = 0; i < N_CONTROLLERS; i++) {
		if (!use[i])
			continue;
		if (sv_mkdir_p(full[i], 0755) < 0 || write_limits(c, i, full[i]) < 0) {
			if (wants(c, i))
				note(&w, "%s (%s)", limits_of(i), sv_last_error());
			continue;
		}
		/* dirs ends at its first NULL (oci_cgroup_free). */
		if (!(c->dirs[n_dirs] = strdup(full[i])))
			return sv_err(SV_ENOMEM, "out of memory");
		n_dirs++;
	}
	if (w.n)
		oci_log_warn("container \"%s\": cgroups: not applied on this host: %s; the container runs "
			     "without them",
			     id, w.text);
	return 0;
}

void oci_cgroup_enter(const oci_cgroup *c, pid_t pid)
{
	char v[32];
	snprintf(v, sizeof(v), "%d", (int)pid);
	for (size_t i = 0; c->dirs && c->dirs[i]; i++)
		if (write_value(c->dirs[i], "cgroup.procs", v) < 0)
			oci_log_warn("cgroups: %s", sv_last_error());
}

/* A recorded line must name a directory below the cgroup root, by a path
 * with no "." or ".." component. */
static bool record_line_ok(const char *line)
{
	return !strncmp(line, OCI_CGROUP_ROOT "/", strlen(OCI_CGROUP_ROOT) + 1) && !strstr(line, "/../") &&
	       !strstr(line, "/./") && strcmp(line + strlen(line) - 3, "/..") &&
	       strlen(line) < PATH_MAX_LEN + 64;
}

static bool has_subdirs(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	bool found = false;
	while (dir && !found && (e = readdir(dir)))
		found = e->d_type == DT_DIR && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (dir)
		closedir(dir);
	return found;
}

/* rmdir, waiting while the cgroup is busy: the container process is gone,
 * but a cgroup v1 keeps it until its parent (the engine) has reaped it. */
static int remove_dir(const char *path)
{
	long long until = sv_now_ms() + REMOVE_WAIT_MS;
	while (rmdir(path) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || sv_now_ms() > until)
			return sv_err_errno(SV_EBUSY, errno,
					    "removing cgroup %s (a process of the container not reaped yet?)",
					    path);
		usleep(20000);
	}
	return 0;
}

int oci_cgroup_remove(const oci_dir *d)
{
	char *text = NULL;
	int rc = sv_read_file_at(d->fd, d->dir, OCI_CGROUP_RECORD, RECORD_MAX, &text, NULL);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0;
	}
	if (rc)
		return rc;
	/* Innermost first: the lines run outermost first per controller. */
	char *lines[256];
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < 256;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	for (size_t i = n; i-- > 0 && !rc;) {
		if (!record_line_ok(lines[i]))
			rc = sv_err(SV_EINVAL, "%s/" OCI_CGROUP_RECORD ": \"%s\" is no cgroup directory",
				    d->dir, lines[i]);
		else if (!has_subdirs(lines[i])) /* else another container's cgroup is below it */
			rc = remove_dir(lines[i]);
	}
	free(text);
	if (!rc && unlinkat(d->fd, OCI_CGROUP_RECORD, 0) < 0 && errno != ENOENT)
		rc = sv_err_errno(SV_EIO, errno, "%s/" OCI_CGROUP_RECORD, d->dir);
	return rc;
}

void oci_cgroup_free(oci_cgroup *c)
{
	free(c->path);
	for (size_t i = 0; c->dirs && c->dirs[i]; i++)
		free(c->dirs[i]);
	free(c->dirs);
	*c = (oci_cgroup){0};
}
