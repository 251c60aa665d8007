/* A container's state directory, <root>/<id>: what smartvm-oci remembers
 * between its invocations. Both directories are trusted (util/trusted_dir.h)
 * before use, and everything in them is opened relative to the checked fd.
 *
 *   state.json    id, bundle, status (created|running), pid + start time of
 *                 the container's process, annotations; written atomically
 *   rootfs.ext4   the VM's root disk built from the bundle's rootfs
 *   ctl.sock      the container process's control socket (`start`)
 *   hooks.json    config.json's hooks, for start and delete (oci_hooks.h)
 *   bind*.ext4    the bind mounts' copies (oci_mount_drives.h)
 *   vm/           the smartvm runtime dir of the container's VM
 *   exec-PID.json an exec relay standing for a process exec started
 *                 (oci_execs.h)
 *   lock          flock()ed by kill and delete while they tear the VM down
 *                 (the engine may run both at once)
 *
 * "stopped" is never written: it is what a container whose process is gone
 * is, whatever the file says. */
#ifndef OCI_STATE_H
#define OCI_STATE_H

#include <stdbool.h>
#include <sys/types.h>

/* The runtime spec version state and hooks report. */
#define OCI_SPEC_VERSION "1.2.1"
#define OCI_DEFAULT_ROOT "/run/smartvm-oci"
#define OCI_STATE_FILE "state.json"
#define OCI_ROOTFS_FILE "rootfs.ext4"
#define OCI_CTL_SOCKET "ctl.sock"
#define OCI_VM_DIR "vm"
#define OCI_LOCK_FILE "lock"

typedef enum { OCI_CREATING, OCI_CREATED, OCI_RUNNING, OCI_STOPPED, OCI_PAUSED } oci_status;

typedef struct {
	char *id;
	char *bundle;
	char *annotations_json;
	oci_status status; /* as recorded; oci_state_load turns a dead process into stopped */
	pid_t pid;
	unsigned long long start_time; /* of pid, to tell it from a reused pid */
	long long created_ns;	       /* CLOCK_REALTIME */
} oci_state;

typedef struct {
	char *root; /* --root */
	int root_fd;
	char *dir; /* <root>/<id> */
	int fd;
} oci_dir;

/* Checks that id is a container id smartvm-oci accepts: 1-64 of
 * [A-Za-z0-9_-], not starting with '-' (it is also the VM's id). */
int oci_check_id(const char *id);

/* Creates <root> (0700) if needed and the container's directory, which must
 * not exist (SV_EEXISTS "container \"ID\" already exists"). */
int oci_dir_create(oci_dir *d, const char *root, const char *id);
/* Opens an existing container's directory (SV_ENOTFOUND "container \"ID\"
 * does not exist"). */
int oci_dir_open(oci_dir *d, const char *root, const char *id);
void oci_dir_close(oci_dir *d);
/* Takes the container's lock (waiting at most OCI_LOCK_TIMEOUT_MS); *fd_out
 * holds it until closed. A fresh open each time: the container process
 * inherits create's descriptors, so a lock on those would never be let go. */
#define OCI_LOCK_TIMEOUT_MS 60000
int oci_dir_lock(const oci_dir *d, int *fd_out);
/* Removes the container's directory and everything in it. */
int oci_dir_remove(oci_dir *d);

int oci_state_write(const oci_dir *d, const oci_state *s);
int oci_state_load(const oci_dir *d, oci_state *s);
void oci_state_free(oci_state *s);

/* The spec's name of a status. */
const char *oci_status_name(oci_status s);
/* True for the statuses whose VM runs: created, running, paused. */
bool oci_status_live(oci_status s);

/* s->created_ns as RFC 3339 with nanoseconds, UTC. */
void oci_state_created_text(const oci_state *s, char *buf, size_t len);

/* Writes pid to an engine's --pid-file (atomically; errors say --pid-file). */
int oci_pid_file_write(const char *path, pid_t pid);

/* True while the container's process (pid + start time) lives. */
bool oci_state_process_alive(const oci_state *s);

#endif
