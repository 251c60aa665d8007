/* Whether a VM is alive, decided from the VM itself, wherever its runtime
 * directory is: its directory's lock is held for its whole life (by the
 * process starting it, then by its supervisor), and a VMM that outlived its
 * supervisor is named in its ledger. Never from the pid of the CLI that
 * started it, which exits for detached VMs. Used by `ps`/`gc`, `net gc` and
 * image eviction, so that they all agree. */
#ifndef SV_UTIL_VM_ALIVE_H
#define SV_UTIL_VM_ALIVE_H

/* The lock file in every VM directory. */
#define SV_VM_LOCK_FILE "lock"

/* 1 when the lock of the VM directory dirfd is held, 0 when it is free or
 * missing, < 0 (error set) when that cannot be told. Takes the lock shared
 * for an instant when it is free. */
int sv_vm_lock_held_at(int dirfd);

/* Opens the lock file of the VM directory dirfd for probing (*fd; -1 when
 * there is none); < 0 (error set) when it cannot be opened or is a symlink. */
int sv_vm_lock_open_at(int dirfd, int *fd);

/* The same for a lock file already open (lock_fd): it answers for the
 * supervisor that locked that file, also once the file is unlinked, so its
 * holder learns when that process has exited (the lock goes with its last
 * fd), not only when its directory was cleaned up. */
int sv_vm_lock_fd_held(int lock_fd);

/* 1 when the VM at vm_dir is alive (its lock is held, or its ledger names a
 * live process), 0 when not (also when vm_dir does not exist), < 0 (error
 * set) when that cannot be told: callers that destroy must treat that as
 * alive. */
int sv_vm_dir_alive(const char *vm_dir);

#endif
