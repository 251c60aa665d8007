/* Manager internals used by src/vm. */
#ifndef SV_MANAGER_MANAGER_INTERNAL_H
#define SV_MANAGER_MANAGER_INTERNAL_H

#include <smartvm/manager.h>
#include <stdbool.h>

/* Resolved options: every default applied, strings owned by the manager. */
const sv_manager_options *sv_manager__opts(const sv_manager *mgr);

/* A non-blocking inotify instance for this manager's waits (created on first
 * use, closed with the manager); -1 if inotify is unavailable. */
int sv_manager__inotify_fd(sv_manager *mgr);

/* Snapshot files this manager hashed and found as their manifest says
 * (vm_snapshot.c): restoring an unchanged file again skips the hash, which
 * for a memory file is most of a restore. A file is the same when its
 * device, inode, size, mtime and ctime are (a write changes ctime; a file
 * changed just before it was hashed is not remembered, as timestamps are
 * coarse). Bounded; forgotten with the manager. */
struct stat;
bool sv_manager__verified(const sv_manager *mgr, const struct stat *st, const char *sha256_hex);
void sv_manager__remember_verified(sv_manager *mgr, const struct stat *st, const char *sha256_hex);

/* Adds a VM made by src/vm (a restore) to the registry; SV_EEXISTS if its id
 * is taken here or in runtime_dir. The manager owns it afterwards. */
struct sv_vm;
int sv_manager__register_vm(sv_manager *mgr, struct sv_vm *vm);

#endif
