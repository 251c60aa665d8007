/* The container's cgroup: config.json's linux.cgroupsPath and the
 * resources smartvm-oci applies (memory.limit, cpu.shares, cpu.quota,
 * cpu.period, pids.limit), put on the container process before it boots
 * the VM, so the supervisor and the VMM (its descendants) live in it and
 * the limits bound the whole VM.
 *
 * What the host allows: on cgroup v1 and hybrid hosts (v1 controllers under
 * /sys/fs/cgroup/<controller>, a v2 mount beside them without controllers)
 * the v1 memory, cpu and pids hierarchies are used, each with the
 * container's directory at the same path. On a pure cgroup v2 host the one
 * hierarchy is used (memory.max, cpu.max, cpu.weight, pids.max). A limit
 * the host cannot take (its controller is missing, or not writable here) is
 * reported in ONE warning line (--log) and the container runs without it.
 *
 * cgroupsPath is a path below the hierarchies' roots ("/a/b" and "a/b" are
 * the same: both are put under the root, never under smartvm-oci's own
 * cgroup); with --systemd-cgroup it is systemd's "slice:prefix:name",
 * turned into the path systemd would use (a-b.slice -> a.slice/a-b.slice,
 * then prefix-name.scope). No path but resources: smartvm-oci/<id>.
 *
 * The directories created are written to <container dir>/cgroups before
 * they are made, and removed on delete (the innermost first; a parent
 * another container still uses stays). */
#ifndef OCI_CGROUP_H
#define OCI_CGROUP_H

#include "oci_bundle.h"
#include "oci_state.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define OCI_CGROUP_RECORD "cgroups"
#define OCI_CGROUP_ROOT "/sys/fs/cgroup"

typedef struct {
	char *path; /* relative to each hierarchy's root; NULL: no cgroup wanted */
	bool has_memory, has_shares, has_quota, has_period, has_pids;
	int64_t memory_limit; /* bytes; -1 = unlimited */
	uint64_t cpu_shares, cpu_period;
	int64_t cpu_quota;  /* microseconds; -1 = unlimited */
	int64_t pids_limit; /* -1 (or 0 in runc's reading) = unlimited */
	char **dirs;	    /* the container's cgroup directories, once set up */
} oci_cgroup;

/* Reads b's cgroupsPath and linux.resources (errors name the field:
 * `config.json: linux.resources.memory.limit: expected an integer`). */
int oci_cgroup_parse(oci_cgroup *c, const oci_bundle *b, bool systemd, const char *id);

/* Makes the directories (recorded in d first) and writes the limits; what
 * the host does not allow is warned about once and left out. Fails only
 * when d cannot be written. */
int oci_cgroup_setup(oci_cgroup *c, const oci_dir *d, const char *id);

/* Moves pid into every directory set up (a failure is warned about). */
void oci_cgroup_enter(const oci_cgroup *c, pid_t pid);

/* Removes the directories recorded in d (after its processes are gone). */
int oci_cgroup_remove(const oci_dir *d);

void oci_cgroup_free(oci_cgroup *c);

#endif
