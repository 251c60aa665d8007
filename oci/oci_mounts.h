/* config.json's mounts: parsed and checked (every refusal names the entry:
 * `config.json: mounts[2].source: /x: is a FIFO`), then mounted in the
 * guest by the agent (MOUNT, docs/agent-protocol.md) before the process
 * runs. Kinds: proc, sysfs, devpts, tmpfs, mqueue in the guest; cgroup is
 * skipped with a note; bind mounts of host files and directories are
 * copied in (docs/oci.md says why). */
#ifndef OCI_MOUNTS_H
#define OCI_MOUNTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Drives a container's bind mounts may take: one for all files, one per
 * directory (vdb..vdr: the root is vda). */
#define OCI_MAX_BIND_DRIVES 17

typedef enum {
	OCI_MOUNT_PROC,
	OCI_MOUNT_SYSFS,
	OCI_MOUNT_DEVPTS,
	OCI_MOUNT_TMPFS,
	OCI_MOUNT_MQUEUE,
	OCI_MOUNT_CGROUP,
	OCI_MOUNT_BIND,
} oci_mount_kind;

typedef struct {
	oci_mount_kind kind;
	char *destination; /* absolute, as given: resolved inside the root in the guest */
	char *source;	   /* bind: absolute host path; else the fs source ("proc") */
	unsigned long flags; /* MS_RDONLY, MS_NOSUID, ... (Linux numbers) */
	char *data;	     /* the other options, comma-joined ("size=64k,mode=755"), or NULL */
	bool is_dir;	     /* bind: the source is a directory (set by oci_mounts_check) */
	/* bind, once oci_mount_drives_build ran: the extra drive holding the
	 * copy (0 = the first after the root: the guest's /dev/vdb) and, for
	 * a file, its name in that drive's filesystem. */
	int drive;
	char subpath[16];
} oci_mount;

typedef struct {
	oci_mount *items;
	size_t n;
	char *drive_files[OCI_MAX_BIND_DRIVES]; /* names in the container dir */
	size_t n_drives;
} oci_mounts;

/* The parse: types, options and destinations (no host access; a relative
 * bind source is taken against bundle_dir). */
int oci_mounts_parse(oci_mounts *m, json_t *root, const char *bundle_dir);

/* At create: every bind source must be a regular file or a directory that
 * can be opened for reading, not a symlink, device, FIFO or socket. */
int oci_mounts_check(oci_mounts *m);

void oci_mounts_free(oci_mounts *m);

#endif
