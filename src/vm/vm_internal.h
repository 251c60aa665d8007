/* The sv_vm object shared by the files of src/vm. Nothing outside src/vm (and
 * src/manager, which creates VMs) may include this. */
#ifndef SV_VM_VM_INTERNAL_H
#define SV_VM_VM_INTERNAL_H

#include "util/buf.h"
#include "util/ledger.h"
#include "vm/vm_host.h"
#include "vmm/vmm.h"
#include <smartvm/smartvm.h>
#include <stdbool.h>
#include <sys/types.h>

/* Files inside a VM directory. */
#define SV_VM_CONFIG_FILE "config.json"
#define SV_VM_STATE_FILE "state.json"
#define SV_VM_LAUNCH_FILE "launch.json"
/* The VMM's own configuration, when it boots from a file (config_document). */
#define SV_VM_VMM_CONFIG_FILE "vmm-config.json"
#define SV_VM_CONSOLE_FILE "console.log"
#define SV_VM_VMM_LOG_FILE "vmm.log" /* the VMM's stderr and the supervisor's own messages */
#define SV_VM_STOP_MARKER "stop-requested"
#define SV_VM_CONSOLE_SOCKET "console.sock" /* `smartvm attach` (console_hub.c) */
#define SV_VM_DRIVES_DIR "drives"
/* How a detached VM ended (vm_end_record.c); kept until sv_vm_remove. */
#define SV_VM_END_RECORD_FILE "ended.json"
/* A VM directory being created is ".<id>" SV_VM_NEW_DIR_INFIX "<random>"
 * until its id is claimed (vm.c); gc removes those whose lock is free. */
#define SV_VM_NEW_DIR_INFIX ".new-"

struct sv_vm {
	const sv_vm_host *host; /* the manager's; it outlives its VMs */
	char *id;
	char *dir;
	int dir_fd; /* the checked VM dir; -1 until created or opened */
	/* An attached VM's lock file as it was at attach (-1: none then): held
	 * until its supervisor has exited, after its directory is gone. */
	int lock_fd;
	char *console_path;
	sv_vm_config *cfg;    /* as given (deep copy) */
	sv_vm_config *staged; /* what the VMM gets: staged drives, TAPs, boot args */
	sv_vm_state state;
	const sv_vmm_ops *backend;
	sv_vmm *vmm; /* API connection, opened lazily */

	pid_t vmm_pid;
	unsigned long long vmm_start_time;
	pid_t supervisor_pid;
	unsigned long long supervisor_start_time;
	int supervisor_pidfd; /* -1 when unknown */
	int status_fd;	      /* supervisor -> us; -1 when not our child */
	int control_fd;	      /* us -> supervisor; closing it without 'D' kills the VM */
	bool own_child;	      /* we spawned the supervisor and must reap it */
	bool detached;

	sv_tap_device *taps;
	size_t n_taps;
	char *end_reason; /* how the VMM ended, from the supervisor */
	sv_buf status;	  /* what the supervisor reported on status_fd */

	/* Jailer (vm_jail.c); NULL/unset when the VMM runs directly. */
	struct sv_vm_jail *jail;       /* options, from sv_vm_set_jail */
	char *jail_root;	       /* host path of the jail's root (chroot) dir */
	struct sv_vm_command *command; /* vm_command.c; NULL = no command */
	/* Set by a restore (vm_snapshot.c) before the boot: the backend the
	 * snapshot was taken on. Its VMM is launched waiting for the snapshot. */
	const sv_vmm_ops *restore_backend;
	bool booting_from_file;	   /* launched with SV_VM_VMM_CONFIG_FILE, boot_wait not yet answered */
	bool agent_exec;	   /* vm_agent.c: boot with smartvm.exec=agent */
	struct json_t *end_record; /* ended.json once the VM ended detached; NULL else */
};

/* Files inside a VM directory (live operations). */
#define SV_VM_MMDS_MARKER "mmds-data-put"

/* A restore in progress (vm_snapshot.c). */
typedef struct sv_vm_restore sv_vm_restore;

/* vm.c */
/* A fresh id for a VM the caller did not name: "vm-" and 12 random hex
 * digits (the manager's creates and the snapshot restores and clones). */
#define SV_VM_GENERATED_ID_LEN 16
void sv_vm__generate_id(char out[SV_VM_GENERATED_ID_LEN]);
int sv_vm__new(sv_vm **out, const sv_vm_host *host, const sv_vm_config *cfg, const char *id);
int sv_vm__open_existing(sv_vm **out, const sv_vm_host *host, const char *id);
/* Opens <runtime_dir>/<id> after checking both (sv_trusted_dir rules),
 * creating nothing: SV_ENOTFOUND "no VM with id ..." when it is absent. */
int sv_vm__open_dir(const sv_vm_host *host, const char *id, int *fd_out);
void sv_vm__free(sv_vm *vm);
/* SV_EEXISTS for an id in use in runtime_dir (its fd rtfd, or -1): the
 * message says when it is an ended VM's, kept until `smartvm rm`. */
int sv_vm__id_taken(const char *id, int rtfd, const char *runtime_dir);
bool sv_vm__is_live(const sv_vm *vm);
bool sv_vm__is_detached(const sv_vm *vm);

/* vm_state_file.c: state.json (atomic) and config.json, through vm->dir_fd,
 * never following a link. load: SV_ENOTFOUND when there is no state.json
 * (a start killed before its first state). */
int sv_vm__save_state(const sv_vm *vm);
int sv_vm__load_state(sv_vm *vm);
int sv_vm__save_config(const sv_vm *vm);
void sv_vm__load_config(sv_vm *vm);
/* The TAP devices as a JSON array (state.json and sv_vm_describe). */
struct json_t;
struct json_t *sv_vm__taps_json(const sv_vm *vm);

/* vm_end_record.c: ended.json. */
typedef struct {
	const char *id;
	int exit_code;		/* < 0: unknown (its supervisor was killed) */
	int signal;		/* the signal that ended the VMM, 0 none */
	const char *vmm;	/* backend name; NULL unknown */
	struct json_t *command; /* the command's argv (array; borrowed); NULL none */
	bool command_finished;	/* exit_code is the command's */
	const char *reason;	/* how it ended, in words; NULL none */
} sv_vm_end;
int sv_vm__write_end_record(int dfd, const char *dir, const sv_vm_end *end);
/* ended.json parsed (new reference); NULL when absent or unreadable. */
struct json_t *sv_vm__read_end_record(int dfd, const char *dir);
bool sv_vm__has_end_record(int dfd);
/* For the cleanup of dir, open as dfd (its lock held): true when an end
 * record is to stay in it, writing one with an unknown status first for a VM
 * that was detached (state.json) and has none: its supervisor died before
 * writing it. */
bool sv_vm__keep_end_record_at(int dfd, const char *dir);
/* vm->end_record (and end_reason) from the directory, when there is one. */
void sv_vm__load_end_record(sv_vm *vm);

/* vm_stage.c: private copies of drives. */
int sv_vm__stage_drives(sv_vm *vm, sv_ledger *ledger, bool ephemeral_writable);
/* Does drive d get a private copy (at boot, and for a new backing file)? */
bool sv_vm__should_stage(const sv_drive_config *d, bool ephemeral_writable);

/* vm_launch.c: supervisor + VMM process. */
/* Spawns the supervisor (handing it lock_fd), which spawns the VMM; waits
 * until the VMM's API socket exists or the VMM exits (error with its status
 * and last console lines) or socket_timeout_ms passes. */
int sv_vm__launch(sv_vm *vm, const char *binary, const char *qemu_accel, int lock_fd, int socket_timeout_ms);
/* Polls the supervisor without blocking (timeout_ms 0) or waits. Returns 1
 * when it has ended (vm->end_reason set), 0 when still running. */
int sv_vm__poll_supervisor(sv_vm *vm, int timeout_ms);
/* Stops the VMM: optional graceful request, then TERM, then KILL; waits for
 * the supervisor. */
int sv_vm__terminate(sv_vm *vm, bool graceful, int timeout_ms);

/* vm_backend.c */
/* The backend and its binary (and QEMU accelerator) for a boot; a restore
 * (vm->restore_backend) gets the snapshot's backend. */
int sv_vm__pick_backend(sv_vm *vm, char **binary_out, char **accel_out);
const sv_vmm_ops *sv_vm__backend_by_name(const char *name);
/* SV_EUNSUPPORTED unless the manager's vmm option allows backend b (auto
 * allows both). what names the request in the message. */
int sv_vm__backend_allowed(const sv_manager_options *o, const sv_vmm_ops *b, const char *what);

/* vm_command.c: the command a VM runs (smartvm/command.h). */
/* At boot, after the backend is chosen: adds smartvm.cmd= to the staged boot
 * args and sets the command's deadline. No command: does nothing. */
int sv_vm__command_apply(sv_vm *vm);
/* At launch: a pipe for the console (the supervisor relays it there too);
 * we keep the read end, *write_fd (O_CLOEXEC) is for the supervisor. -1
 * when the VM runs no command. */
int sv_vm__command_console_pipe(sv_vm *vm, int *write_fd);
/* The command as given (a JSON array owned by the VM), or NULL. */
struct json_t *sv_vm__command_argv(const sv_vm *vm);
/* The command's deadline (CLOCK_MONOTONIC ms) for the supervisor; 0 = none. */
long long sv_vm__command_deadline(const sv_vm *vm);
void sv_vm__command_free(struct sv_vm_command *cmd);

/* Replays the VM's ledger (registering undo handlers first). Only for the
 * holder of the directory's lock; everyone else: sv_vm__cleanup_if_dead.
 * The directory goes, but for a VM that ended detached: its end record, lock
 * and console log stay (vm_end_record.c) until sv_vm__remove_dir. */
int sv_vm__cleanup_dir(const char *dir);
/* The same, removing the end record and the directory too (sv_vm_remove). */
int sv_vm__remove_dir(const char *dir);
/* The directory dfd holds an end record and nothing else a cleanup removes:
 * an ended VM, not leftovers. */
bool sv_vm__only_end_record(int dfd);

/* Takes the lock of the VM directory dfd (path dir) without waiting: 1 and
 * *lock_fd when it was free (the VM is dead and stays ours while we hold
 * it), 0 when it is held (alive). A directory without a lock (a crash
 * between mkdir and lock in older versions) gets one. */
int sv_vm__take_dead_lock(int dfd, const char *dir, int *lock_fd);

/* Cleans up the directory dfd, named dir, if its VM is dead: with its lock,
 * and only while dir still names that directory (once the old one is gone,
 * a new VM with the same id may own the name). 1 cleaned up, 0 left alone
 * (alive, or dir is another directory now), < 0 failed (ledger.h: what
 * failed stays for gc). */
int sv_vm__cleanup_if_dead(int dfd, const char *dir);
/* The same with sv_vm__remove_dir: nothing of the VM stays. */
int sv_vm__remove_if_dead(int dfd, const char *dir);

/* vm_live.c: one live operation that changes a VM at a time, across
 * processes (a flock in the VM dir, waited for at most the API timeout;
 * else SV_EBUSY naming the holder's operation). */
int sv_vm__live_lock(sv_vm *vm, const char *what, int *fd_out);
void sv_vm__live_unlock(int fd);
/* The drive with drive_id in cfg (NULL-safe), or NULL. */
sv_drive_config *sv_vm__config_drive(const sv_vm_config *cfg, const char *drive_id);
/* Asks the VMM whether it runs or is paused; its answer replaces vm->state
 * (and state.json) when they differ. Needs a connection; keeps the error. */
void sv_vm__reconcile_state(sv_vm *vm);
/* running <-> paused: state.json says `to` before op asks the VMM; if op
 * fails, it says what the VMM says. */
int sv_vm__change_vmm_state(sv_vm *vm, sv_vm_state to, int (*op)(sv_vmm *));

/* vm.c, for the live operations. */
int sv_vm__require_state(const sv_vm *vm, const char *action, unsigned allowed_mask);
int sv_vm__connect(sv_vm *vm);
/* At the end of an operation that connected: lets a VMM that serves one
 * client at a time (QEMU) serve other processes until the next one. */
void sv_vm__release_vmm(sv_vm *vm);
void sv_vm__refresh(sv_vm *vm);
/* created -> running (or paused): a fresh boot (restore NULL) or a restore. */
int sv_vm__boot(sv_vm *vm, const sv_vm_restore *restore);
/* The API socket as the host sees it (malloc'd). */
char *sv_vm__api_socket_path(const sv_vm *vm);
/* A path from the VMM's config as the host sees it: relative paths are
 * relative to the VM dir (the VMM's cwd), absolute ones to the jail root when
 * jailed. malloc'd. */
char *sv_vm__host_path(const sv_vm *vm, const char *vmm_path);

/* vm_snapshot.c: a restore or clone, driven by the manager, which registers
 * the VMs: begin (options, manifest, SHA-256 checks, backend; count > 1 is a
 * clone), then per VM new (a VM in state created, the snapshot's config
 * adapted) and boot, then end (also after a failed begin). */
int sv_vm__restore_begin(sv_vm_restore **out, const sv_vm_host *host, const char *dir,
			 const sv_restore_options *opts, size_t count);
/* The id (a clone's prefix) the options ask for; NULL to generate one. */
const char *sv_vm__restore_id(const sv_vm_restore *r);
int sv_vm__restore_new(sv_vm **out, const sv_vm_restore *r, const char *id);
int sv_vm__restore_boot(sv_vm *vm, const sv_vm_restore *r);
void sv_vm__restore_end(sv_vm_restore *r);
/* vm_snapshot.c: the restore steps sv_vm__boot calls. */
/* Stages the snapshot's drives, vsock and output files into vm->staged. */
int sv_vm__restore_stage(sv_vm *vm, sv_ledger *ledger, const sv_vm_restore *r);
/* Checks the VMM version and loads the snapshot into the fresh VMM. */
int sv_vm__restore_load(sv_vm *vm, const sv_vm_restore *r);
bool sv_vm__restore_resumes(const sv_vm_restore *r);

/* vm_jail.c */
void sv_vm__jail_free(struct sv_vm_jail *jail);
/* Builds the jail (chroot dir, cgroup records) as root, puts the kernel,
 * initrd, drives and outputs in it, hands the VMM's writable files to the
 * jail's uid last, and rewrites vm->staged's paths to the jail's view.
 * Everything in the ledger first. */
int sv_vm__jail_prepare(sv_vm *vm, sv_ledger *ledger);
/* Writes the VMM's config file (text) into the jail's root, before the
 * jailer has run (the root is still root's), handed to the jail's uid with
 * mode 0600; *jail_path_out is the VMM's view of it (malloc'd). */
int sv_vm__jail_put_vmm_config(sv_vm *vm, const char *text, char **jail_path_out);
/* Fills the launch's jail fields (pointers into vm->jail). */
void sv_vm__jail_launch(const sv_vm *vm, sv_vmm_launch *launch, sv_vmm_jail *jail_out);
/* Puts host_path into the running VM's jail as /drives/<name> (a new name):
 * ours (a private copy in the VM dir) is hard-linked and handed to the
 * jail's uid, the caller's file copied read-only. *jail_path_out is the
 * VMM's view (malloc'd). Works from any process (vm->jail_root). */
int sv_vm__jail_add_drive(sv_vm *vm, const char *host_path, const char *name, bool ours,
			  char **jail_path_out);
/* Opens name in the running VM's jail root (flags | O_NOFOLLOW) from any
 * process: the jail's uid owns that directory, so links are never followed. */
int sv_vm__jail_open(const sv_vm *vm, const char *name, int flags, int *fd_out);
/* Removes /drives/<name> from the running VM's jail (missing is fine). */
int sv_vm__jail_remove_drive(sv_vm *vm, const char *name);

/* vm_jail_undo.c: the ledger's `jail BASE EXEC/ID/TOKEN`. The jail
 * directory holds SV_JAIL_OWNER_FILE with TOKEN (hex). */
#define SV_JAIL_OWNER_FILE ".smartvm-owner"
#define SV_JAIL_TOKEN_LEN 32
int sv_vm__undo_jail(const char *base, const char *exec_id_token);

#endif
