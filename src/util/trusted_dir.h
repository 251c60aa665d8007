/* Directories smartvm may trust, the way sshd checks ~/.ssh and tmux its
 * socket directory. smartvm runs as root and keeps ledgers, state files and
 * leases in its directories: if another local user could create, replace or
 * write one of them, that user would choose what root deletes, kills or
 * overwrites. So before any use a directory is checked:
 *
 *   - every ancestor is owned by root or by the effective uid, and is not
 *     writable by group or others unless it has the sticky bit (/tmp);
 *   - a symlink along the way is followed only when it and the directory
 *     holding it pass the same check (/var/run -> /run);
 *   - the directory itself is a real directory (not a symlink), owned by the
 *     effective uid, and not writable by group or others.
 *
 * Missing components are created with the given mode, then checked like the
 * rest. Once a directory passes, nobody but root and us can add, rename or
 * remove anything in it or above it, so paths below it stay what they were
 * when checked; files inside are still opened with O_NOFOLLOW (file.h's _at
 * helpers) so a mistake elsewhere cannot turn into following a link. */
#ifndef SV_UTIL_TRUSTED_DIR_H
#define SV_UTIL_TRUSTED_DIR_H

#include <sys/types.h>

/* Checks (creating what is missing, with mode) the directory path, which must
 * be absolute. On success *fd_out (may be NULL) is an O_DIRECTORY|O_CLOEXEC fd
 * of it. On failure the message names the offending directory, what is wrong
 * with it and the fix, prefixed by `what` (e.g. "runtime directory"). */
int sv_trusted_dir(const char *what, const char *path, mode_t mode, int *fd_out);

/* sv_trusted_dir without creating anything: SV_ENOTFOUND when path (or an
 * ancestor) does not exist. For readers such as `ps` and `gc`, which must not
 * create state directories as a side effect. */
int sv_trusted_dir_existing(const char *what, const char *path, int *fd_out);

/* Creates (or checks) the subdirectory name of the trusted directory dirfd
 * with mode: the same checks as above, relative to dirfd, never following a
 * symlink. *fd_out as above. */
int sv_trusted_subdir(const char *what, int dirfd, const char *dir_path, const char *name, mode_t mode,
		      int *fd_out);

/* sv_trusted_subdir without creating: SV_ENOTFOUND when name does not exist
 * (for readers, and for directories another process made). */
int sv_trusted_subdir_existing(const char *what, int dirfd, const char *dir_path, const char *name,
			       int *fd_out);

#endif
