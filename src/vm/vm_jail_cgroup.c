/* The jailed VMM's cgroups (see vm_jail_cgroup.h).
 *
 * Firecracker's jailer takes one --cgroup-version for all its --cgroup
 * values and names the control files of that version. smartvm's limits are
 * cgroup v2's (cpu.max, memory.max), so on a cgroup v1 or hybrid host (v1
 * hierarchies with a v2 mount beside them, as on our CI machines) they are
 * translated to v1's files. The layout is read from the cgroup root itself
 * (cgroup.controllers at the root means v2; root/<controller>/tasks a v1
 * hierarchy), so a test can point the detection at a fixture directory. */
#include "vm/vm_jail_cgroup.h"

#include "util/error.h"
#include "util/file.h"
#include "util/strv.h"
#include <smartvm/manager.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_CONTROLLERS_TEXT 4096

/* Is word one of the whitespace-separated words of text? */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = text; (p = strstr(p, word)); p += n) {
		bool starts = p == text || strchr(" \t\n", p[-1]);
		bool ends = !p[n] || strchr(" \t\n", p[n]);
		if (starts && ends)
			return true;
	}
	return false;
}

/* root/cgroup.controllers, or NULL when root is no v2 hierarchy. */
static char *v2_controllers(const char *root)
{
	char *path = sv_path_join(root, "cgroup.controllers"), *text = NULL;
	if (!path || sv_read_file(path, MAX_CONTROLLERS_TEXT, &text, NULL) != 0)
		text = NULL;
	free(path);
	sv_err_clear();
	return text;
}

static bool is_v1_hierarchy(const char *root, const char *controller)
{
	char *path = NULL;
	struct stat st;
	bool yes = asprintf(&path, "%s/%s/tasks", root, controller) > 0 && stat(path, &st) == 0 &&
		   S_ISREG(st.st_mode);
	free(path);
	return yes;
}

int sv_cgroup_detect_version(const char *root, const char *const *controllers, int *version_out)
{
	char *v2 = v2_controllers(root);
	int version = 0, rc = 0;
	const char *first = NULL;
	for (size_t i = 0; !rc && controllers && controllers[i]; i++) {
		const char *c = controllers[i];
		int v = v2 && has_word(v2, c) ? 2 : is_v1_hierarchy(root, c) ? 1 : 0;
		if (!v)
			rc = sv_err(SV_ENOTFOUND,
				    "cgroup controller \"%s\": neither listed in %s/cgroup.controllers "
				    "(cgroup v2) nor "
				    "mounted as a cgroup v1 hierarchy at %s/%s",
				    c, root, root, c);
		else if (version && v != version)
			rc = sv_err(
			    SV_EUNSUPPORTED,
			    "cgroup controllers \"%s\" (cgroup v%d) and \"%s\" (cgroup v%d) are in different "
			    "cgroup versions under %s; the jailer uses one",
			    first, version, c, v, root);
		if (!first)
			first = c;
		version = v;
	}
	if (!rc && !version)
		version = v2 ? 2 : 1;
	free(v2);
	if (!rc)
		*version_out = version;
	return rc;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* cpu.max "QUOTA [PERIOD]" -> quota and period (v2's default period). */
static int parse_cpu_max(const char *text, char quota[32], char period[32])
{
	char q[32] = "", p[32] = "", extra[2] = "";
	int n = sscanf(text, "%31s %31s %1s", q, p, extra);
	if (n < 1 || n > 2 || (strcmp(q, "max") && !is_number(q)) || (n == 2 && !is_number(p)))
		return sv_err(SV_EINVAL,
			      "jail.cgroup_cpu_max: \"%s\": must be \"QUOTA PERIOD\" in microseconds (e.g. "
			      "\"50000 100000\"), QUOTA may be \"max\"",
			      text);
	snprintf(quota, 32, "%s", strcmp(q, "max") ? q : "-1");
	snprintf(period, 32, "%s", n == 2 ? p : "100000");
	return 0;
}

int sv_jail_cgroup_limits_check(const char *cpu_max, const char *memory_max)
{
	char quota[32], period[32];
	int rc = cpu_max ? parse_cpu_max(cpu_max, quota, period) : 0;
	if (!rc && memory_max && strcmp(memory_max, "max") && !is_number(memory_max))
		rc = sv_err(SV_EINVAL, "jail.cgroup_memory_max: \"%s\": must be a number of bytes or \"max\"",
			    memory_max);
	return rc;
}

int sv_jail_cgroups_build(sv_jail_cgroups *out, const char *root, const char *cpu_max, const char *memory_max,
			  const char *parent, const char *id)
{
	*out = (sv_jail_cgroups){0};
	char quota[32], period[32];
	int rc = sv_jail_cgroup_limits_check(cpu_max, memory_max);
	if (!rc && cpu_max)
		rc = parse_cpu_max(cpu_max, quota, period);
	if (rc)
		return rc;
	const char *controllers[3] = {0};
	size_t n = 0;
	if (cpu_max)
		controllers[n++] = "cpu";
	if (memory_max)
		controllers[n++] = "memory";
	if ((rc = sv_cgroup_detect_version(root, controllers, &out->version)))
		return sv_err_prefix("jail");
	sv_strv_builder args = {0}, dirs = {0};
	if (out->version == 2) {
		if (cpu_max)
			sv_strv_pushf(&args, "cpu.max=%s", cpu_max);
		if (memory_max)
			sv_strv_pushf(&args, "memory.max=%s", memory_max);
		if (n)
			sv_strv_pushf(&dirs, "%s/%s/%s", root, parent, id);
	} else {
		if (cpu_max) {
			sv_strv_pushf(&args, "cpu.cfs_period_us=%s", period);
			sv_strv_pushf(&args, "cpu.cfs_quota_us=%s", quota);
		}
		if (memory_max)
			sv_strv_pushf(&args, "memory.limit_in_bytes=%s",
				      strcmp(memory_max, "max") ? memory_max : "-1");
		for (size_t i = 0; i < n; i++)
			sv_strv_pushf(&dirs, "%s/%s/%s/%s", root, controllers[i], parent, id);
	}
	if (sv_strv_finish(&args, &out->args) || sv_strv_finish(&dirs, &out->dirs)) {
		sv_jail_cgroups_free(out);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	return 0;
}

void sv_jail_cgroups_free(sv_jail_cgroups *c)
{
	sv_strv_free(c->args);
	sv_strv_free(c->dirs);
	*c = (sv_jail_cgroups){0};
}
