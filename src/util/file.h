/* Files and directories: atomic writes, recursive create/remove, sparse-aware
 * copies, whole-file reads, flock. All fds are O_CLOEXEC. Errors are set
 * through util/error.h and name the path. */
#ifndef SV_UTIL_FILE_H
#define SV_UTIL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* mkdir -p with mode for the directories it creates. */
int sv_mkdir_p(const char *path, mode_t mode);

/* rm -rf; a missing path is success. Never follows symlinks out of the tree
 * and never crosses into another filesystem (mount points are refused). */
int sv_rm_rf(const char *path);

/* Removes everything in the directory dirfd (rm -rf each entry, the same
 * rules) but the entries named in keep (NULL-terminated). dir_path only
 * names it in errors. */
int sv_rm_contents_except(int dirfd, const char *dir_path, const char *const *keep);

/* Writes data to path via a fresh temp file in the same directory (random
 * name, O_EXCL | O_NOFOLLOW) + fsync + rename + fsync(dir). A symlink at path
 * is replaced, never followed. */
int sv_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* The same relative to a directory fd (name is one component); dir_path
 * only names it in errors. */
int sv_write_file_atomic_at(int dirfd, const char *dir_path, const char *name, const void *data, size_t len,
			    mode_t mode);

/* Removes the temp files sv_write_file_atomic* left in dirfd when their
 * process died between creating one and the rename (".<name>.tmp.<16 hex
 * digits>", regular files only). Only for a directory whose writers all hold
 * a lock the caller holds now: a live writer's temp would go too. */
void sv_remove_stale_temps_at(int dirfd);

/* Reads a whole regular file (at most max_bytes) into a NUL-terminated
 * malloc'd buffer. Anything else (a FIFO, a device, a directory) is refused
 * without blocking, and so is a file larger than max_bytes, before reading. */
int sv_read_file(const char *path, size_t max_bytes, char **out, size_t *len_out);

/* The same for name in the directory dirfd, never following a symlink
 * (SV_EUNSAFE). dir_path only names it in errors. */
int sv_read_file_at(int dirfd, const char *dir_path, const char *name, size_t max_bytes, char **out,
		    size_t *len_out);

/* Copies src to dst (created, mode of src), keeping holes: tries a reflink
 * (FICLONE) first, else copies only the data extents found with
 * SEEK_DATA/SEEK_HOLE using copy_file_range. dst is complete or absent; it is
 * not fsync'd (copies are ephemeral). */
int sv_copy_sparse(const char *src, const char *dst);

/* Opens (creating) path and takes an exclusive flock on it, waiting at most
 * timeout_ms (< 0 = forever). Returns the fd in *fd_out; close it to unlock. */
int sv_lock_file(const char *path, int timeout_ms, int *fd_out);

/* Random bits for names that must not collide (temp files, records). */
unsigned long long sv_random_u64(void);

/* Path helpers; results are malloc'd. */
char *sv_path_join(const char *a, const char *b);
/* path made absolute against base (an absolute directory; NULL = the current
 * directory), without resolving symlinks or "..": what a relative path
 * means to the caller, kept when it is opened from another directory. NULL
 * with errno set when out of memory or the current directory is unknown. */
char *sv_path_absolute(const char *path, const char *base);
bool sv_path_exists(const char *path);

#endif
