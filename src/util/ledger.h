/* The per-VM resource ledger (STYLE.md): an append-only text file in the VM
 * directory naming every host resource the VM creates, written *before* the
 * resource is created. Cleanup replays it backwards, undoing each entry and
 * tolerating what is already gone. The same replay serves in-process cleanup,
 * the supervisor when the VMM dies, and `smartvm gc` after a crash.
 *
 * Line format: "<kind> <arg1> [<arg2> [<arg3>]]\n", arguments percent-encoded
 * (so paths with spaces survive); handlers receive them decoded.
 * Kinds and how they are undone:
 *   file PATH             unlink PATH, which must be inside the VM directory
 *                         (recorded relative to it; never through a symlink)
 *   pid PID START EXE [THEN]
 *                         SIGKILL it if it is still that process: same start
 *                         time and /proc/PID/exe is EXE, or THEN, the program
 *                         EXE execs under the same pid (the jailer execs
 *                         Firecracker); a replaced or removed executable
 *                         (" (deleted)") still counts
 *   socket PATH           unlink PATH if it is (still) a socket (a vsock
 *                         uds_path outside the VM directory)
 *   dir PATH              rm -rf PATH (the jail directory, vm_jail.c)
 *   cgroup PATH           (src/vm)
 *   tap NAME              delete the link          (src/net)
 *   lease FILE IP         release the address lease (src/net)
 *   bridge NAME           delete the bridge if no port uses it (src/net)
 *   nft TABLE             delete the nftables table if no VM uses it (src/net)
 *   port DEV BRIDGE       detach an adopted device (src/net)
 * The VM directory itself goes last, and only when every entry was undone.
 */
#ifndef SV_UTIL_LEDGER_H
#define SV_UTIL_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Beside the ledger after a replay that could not undo everything: the
 * first failure's message (what `ps` and `gc` show). */
#define SV_LEDGER_CLEANUP_ERROR "cleanup-error"

typedef struct sv_ledger sv_ledger;

/* Opens (creating, never through a symlink) <vm_dir>/ledger for appending.
 * The _at form takes the VM directory's fd; vm_dir names it in messages and
 * is what `file` entries are made relative to. */
int sv_ledger_open(sv_ledger **out, const char *vm_dir);
int sv_ledger_open_at(sv_ledger **out, int dirfd, const char *vm_dir);
void sv_ledger_close(sv_ledger *ledger);

/* The VM directory the ledger belongs to. */
const char *sv_ledger_dir(const sv_ledger *ledger);

/* Appends and fsyncs one entry. Call before creating the resource. A `file`
 * below the VM directory is recorded relative to it. */
int sv_ledger_record(sv_ledger *ledger, const char *kind, const char *arg1, const char *arg2);

/* Records a child process with its identity (start time, executable). */
int sv_ledger_record_pid(sv_ledger *ledger, pid_t pid);

/* Records a child that has not exec'd yet (sv_spawn_opts.before_exec), so
 * it is in the ledger before it runs: exe is the program it will run, and
 * then_exe (may be NULL) one that program execs in turn. Both are made
 * canonical (realpath of the file, or of its directory when it does not
 * exist yet), as /proc/PID/exe shows them. */
int sv_ledger_record_child(sv_ledger *ledger, pid_t pid, const char *exe, const char *then_exe);

/* An undo handler: undoes one entry; must succeed when the resource is gone. */
typedef int (*sv_ledger_undo_fn)(const char *arg1, const char *arg2);

/* Registers the undo for a kind (src/net registers its kinds at library load). */
void sv_ledger_register(const char *kind, sv_ledger_undo_fn undo);

/* Replays <vm_dir>/ledger backwards, then removes vm_dir. vm_dir is checked
 * first (sv_trusted_dir: a directory another user could control is refused,
 * SV_EUNSAFE) and the ledger read without following a link. Every entry is
 * tried even if earlier ones fail. When some could not be undone (a failure,
 * an unknown kind, a refusal), the ledger is rewritten with just those, the
 * first failure (with "(and N more entries)") is saved in
 * SV_LEDGER_CLEANUP_ERROR, vm_dir stays, and that error is returned. A
 * missing vm_dir or ledger is success. */
int sv_ledger_replay(const char *vm_dir);

/* The same, but when everything was undone vm_dir stays with just the
 * entries named in keep (NULL-terminated; NULL: vm_dir goes, as above). */
int sv_ledger_replay_keep(const char *vm_dir, const char *const *keep);

/* The same, on vm_dir already checked and open as dfd (borrowed): for a
 * caller that reads the directory first and need not walk it twice. */
int sv_ledger_replay_keep_at(int dfd, const char *vm_dir, const char *const *keep);

/* True if the ledger in the directory dirfd names a process (pid with its
 * start time) that is still alive: a VMM that outlived its supervisor. */
bool sv_ledger_names_live_process_at(int dirfd);

/* SIGKILLs every process the ledger in dirfd names that is still the one
 * recorded (as the replay does), leaving the ledger as it is: the kill of a
 * VM another process is still starting, whose start then fails and cleans
 * up. */
void sv_ledger_kill_processes_at(int dirfd);

#endif
