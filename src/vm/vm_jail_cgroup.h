/* The cgroups a jailed VMM is put in: which cgroup version the host uses for
 * the controllers the limits need, the jailer's --cgroup arguments in that
 * version's file names, and the directories the jailer will make (for the
 * ledger). Internal to src/vm. */
#ifndef SV_VM_JAIL_CGROUP_H
#define SV_VM_JAIL_CGROUP_H

#include <stddef.h>

/* Which cgroup version serves every controller in controllers (NULL-
 * terminated) under root (default /sys/fs/cgroup):
 *   2  root is a cgroup v2 hierarchy (it has cgroup.controllers) listing
 *      every controller;
 *   1  each controller is a cgroup v1 hierarchy root/<controller> (with a
 *      tasks file) — also on a hybrid host, whose v2 mount beside the v1
 *      hierarchies holds none of them.
 * With no controllers: 2 if root is a v2 hierarchy, else 1 (the jailer's
 * default). A controller found in neither, or controllers split across
 * versions, is an error naming them. */
int sv_cgroup_detect_version(const char *root, const char *const *controllers, int *version_out);

typedef struct {
	int version; /* 1 or 2 */
	char **args; /* the jailer's --cgroup values ("file=value"), NULL-terminated */
	char **dirs; /* the cgroup directories the jailer makes, NULL-terminated */
} sv_jail_cgroups;

/* Builds the cgroups for a VMM with the given limits (either may be NULL):
 * cpu_max is cgroup v2's cpu.max ("QUOTA [PERIOD]" in microseconds, QUOTA
 * may be "max"), memory_max v2's memory.max (bytes or "max"); on a v1 host
 * they become cpu.cfs_quota_us / cpu.cfs_period_us and
 * memory.limit_in_bytes. The directories are <root>/<parent>/<id> (v2) or
 * <root>/<controller>/<parent>/<id> (v1), parent being the exec file's name
 * as the jailer uses it. */
int sv_jail_cgroups_build(sv_jail_cgroups *out, const char *root, const char *cpu_max, const char *memory_max,
			  const char *parent, const char *id);
void sv_jail_cgroups_free(sv_jail_cgroups *c);
/* The limits' syntax alone (what sv_jail_cgroups_build refuses first). */
int sv_jail_cgroup_limits_check(const char *cpu_max, const char *memory_max);

#endif
