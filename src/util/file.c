/* File helpers shared by every module. Invariants: every fd is O_CLOEXEC and
 * closed on every path; a file others read is written atomically; a copy is
 * either complete or absent; rm_rf never leaves its own filesystem and never
 * follows a symlink. */
#include "util/file.h"

#include "util/error.h"
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *sv_path_join(const char *a, const char *b)
{
	char *s = NULL;
	size_t la = strlen(a);
	const char *sep = (la && a[la - 1] == '/') ? "" : "/";
	if (asprintf(&s, "%s%s%s", a, sep, b) < 0)
		return NULL;
	return s;
}

char *sv_path_absolute(const char *path, const char *base)
{
	if (path[0] == '/')
		return strdup(path);
	char *cwd = NULL;
	if (!base && !(base = cwd = getcwd(NULL, 0)))
		return NULL;
	/* "./a" and "a" name the same file; the leading "./" adds nothing. */
	while (path[0] == '.' && path[1] == '/')
		for (path += 2; *path == '/'; path++)
			;
	char *s = NULL;
	if (!*path || !strcmp(path, "."))
		s = strdup(base);
	else
		s = sv_path_join(base, path);
	int e = errno;
	free(cwd);
	errno = e;
	return s;
}

bool sv_path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int sv_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof(buf))
		return sv_err(SV_EINVAL, "%s: path too long", path);
	strcpy(buf, path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return sv_err_errno(SV_EIO, errno, "creating directory %s", buf);
		*p = saved;
		if (saved == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return sv_err(SV_EIO, "creating directory %s: not a directory", path);
	return 0;
}

/* type is the entry's d_type from readdir (DT_UNKNOWN: not known). A
 * non-directory is unlinked without a stat first; if it has become a
 * directory meanwhile, unlinkat says so (EISDIR) and the stat decides. */
static int rm_tree_at(int parent_fd, const char *name, unsigned char type, dev_t dev, const char *top)
{
	if (type != DT_UNKNOWN && type != DT_DIR) {
		if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
			return 0;
		if (errno != EISDIR)
			return sv_err_errno(SV_EIO, errno, "removing %s/%s", top, name);
	}
	struct stat st;
	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : sv_err_errno(SV_EIO, errno, "removing %s", top);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parent_fd, name, 0) != 0 && errno != ENOENT)
			return sv_err_errno(SV_EIO, errno, "removing %s/%s", top, name);
		return 0;
	}
	if (st.st_dev != dev)
		return sv_err(SV_EBUSY, "removing %s: %s is a mount point", top, name);
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "removing %s", top);
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return sv_err_errno(SV_EIO, errno, "removing %s", top);
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = rm_tree_at(dirfd(dir), de->d_name, de->d_type, dev, top);
		if (r && !rc)
			rc = r;
	}
	closedir(dir);
	if (rc)
		return rc;
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		return sv_err_errno(SV_EIO, errno, "removing %s", top);
	return 0;
}

int sv_rm_contents_except(int dirfd, const char *dir_path, const char *const *keep)
{
	struct stat st;
	if (fstat(dirfd, &st) != 0)
		return sv_err_errno(SV_EIO, errno, "removing the contents of %s", dir_path);
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return sv_err_errno(SV_EIO, e, "removing the contents of %s", dir_path);
	}
	int rc = 0;
	for (struct dirent *de; (de = readdir(dir));) {
		bool kept = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
		for (size_t i = 0; keep && keep[i] && !kept; i++)
			kept = !strcmp(de->d_name, keep[i]);
		int r = kept ? 0 : rm_tree_at(dirfd, de->d_name, de->d_type, st.st_dev, dir_path);
		if (r && !rc)
			rc = r;
	}
	closedir(dir);
	return rc;
}

int sv_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : sv_err_errno(SV_EIO, errno, "removing %s", path);
	return rm_tree_at(AT_FDCWD, path, DT_UNKNOWN, st.st_dev, path);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

unsigned long long sv_random_u64(void)
{
	unsigned long long r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned long long)now_ns() ^ ((unsigned long long)getpid() << 32);
	return r;
}

/* The temp name is random and created with O_EXCL | O_NOFOLLOW: nothing that
 * was in the directory before (a stale temp, a planted link) is ever opened. */
static int open_temp_at(int dirfd, const char *name, mode_t mode, char *tmp, size_t tmp_size)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		if (snprintf(tmp, tmp_size, ".%s.tmp.%016llx", name, sv_random_u64()) >= (int)tmp_size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* ".<name>.tmp.<16 hex digits>", as open_temp_at names them. */
static bool is_atomic_temp_name(const char *n)
{
	size_t len = strlen(n);
	const char *tail = len > 22 ? n + len - 21 : NULL;
	if (n[0] != '.' || !tail || strncmp(tail, ".tmp.", 5))
		return false;
	for (const char *p = tail + 5; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return true;
}

void sv_remove_stale_temps_at(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	struct stat st;
	for (struct dirent *de; (de = readdir(d));)
		if (is_atomic_temp_name(de->d_name) &&
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			unlinkat(dirfd, de->d_name, 0);
	closedir(d);
}

int sv_write_file_atomic_at(int dirfd, const char *dir_path, const char *name, const void *data, size_t len,
			    mode_t mode)
{
	char tmp[NAME_MAX + 1];
	if (!*name || strchr(name, '/'))
		return sv_err(SV_EINVAL, "writing %s/%s: not a plain file name", dir_path, name);
	int fd = open_temp_at(dirfd, name, mode, tmp, sizeof(tmp));
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "writing %s/%s", dir_path, name);
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return sv_err_errno(SV_EIO, e, "writing %s/%s", dir_path, name);
	}
	close(fd);
	/* rename replaces a link of that name, never what it points to. */
	if (renameat(dirfd, tmp, dirfd, name) != 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return sv_err_errno(SV_EIO, e, "renaming %s/%s to %s", dir_path, tmp, name);
	}
	fsync(dirfd);
	return 0;
}

/* Splits path into its directory (opened) and last component. */
static int open_parent(const char *path, char *dir, size_t dir_size, const char **name)
{
	if (snprintf(dir, dir_size, "%s", path) >= (int)dir_size)
		return sv_err(SV_EINVAL, "%s: path too long", path);
	char *slash = strrchr(dir, '/');
	if (!slash) {
		*name = path;
		snprintf(dir, dir_size, ".");
	} else {
		*name = path + (slash - dir) + 1;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (!**name)
		return sv_err(SV_EINVAL, "%s: not a file name", path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(errno == ENOENT ? SV_ENOTFOUND : SV_EIO, errno, "opening directory %s",
				    dir);
	return fd;
}

int sv_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char dir[PATH_MAX];
	const char *name = NULL;
	int dfd = open_parent(path, dir, sizeof(dir), &name);
	if (dfd < 0)
		return sv_err_prefix("writing %s", path);
	int rc = sv_write_file_atomic_at(dfd, dir, name, data, len, mode);
	close(dfd);
	return rc;
}

/* Reads all of fd (a regular file, at most max_bytes) into a NUL-terminated
 * buffer. shown names the file in errors. */
static int read_regular_fd(int fd, const char *shown, size_t max_bytes, char **out, size_t *len_out)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return sv_err_errno(SV_EIO, errno, "reading %s", shown);
	if (!S_ISREG(st.st_mode))
		return sv_err(SV_EINVAL, "reading %s: not a regular file", shown);
	if ((unsigned long long)st.st_size > max_bytes)
		return sv_err(SV_EINVAL, "reading %s: larger than %zu bytes", shown, max_bytes);
	/* O_NONBLOCK was only for opening a FIFO without hanging. */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	size_t cap = (size_t)st.st_size + 1 < 4096 ? 4096 : (size_t)st.st_size + 1, len = 0;
	char *buf = malloc(cap);
	int rc = 0;
	for (;;) {
		if (!buf) {
			rc = sv_err(SV_ENOMEM, "reading %s: out of memory", shown);
			break;
		}
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				rc = sv_err(SV_ENOMEM, "reading %s: out of memory", shown);
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sv_err_errno(SV_EIO, errno, "reading %s", shown);
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max_bytes) { /* it grew while we read */
			rc = sv_err(SV_EINVAL, "reading %s: larger than %zu bytes", shown, max_bytes);
			break;
		}
	}
	if (rc) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	if (len_out)
		*len_out = len;
	return 0;
}

int sv_read_file(const char *path, size_t max_bytes, char **out, size_t *len_out)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(errno == ENOENT ? SV_ENOTFOUND : SV_EIO, errno, "reading %s", path);
	int rc = read_regular_fd(fd, path, max_bytes, out, len_out);
	close(fd);
	return rc;
}

int sv_read_file_at(int dirfd, const char *dir_path, const char *name, size_t max_bytes, char **out,
		    size_t *len_out)
{
	*out = NULL;
	char shown[PATH_MAX];
	snprintf(shown, sizeof(shown), "%s/%s", dir_path, name);
	int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			return sv_err(SV_EUNSAFE, "reading %s: is a symlink", shown);
		return sv_err_errno(errno == ENOENT ? SV_ENOTFOUND : SV_EIO, errno, "reading %s", shown);
	}
	int rc = read_regular_fd(fd, shown, max_bytes, out, len_out);
	close(fd);
	return rc;
}

/* What the copy helpers return besides 0 and an errno: the source ended
 * before the size it had when the copy began. */
#define COPY_SOURCE_SHRANK (-1)

/* One read/write round of the plain fallback: up to 64 KiB at the offsets,
 * written completely (a short write is retried, so the next one reports the
 * real error, e.g. ENOSPC). Returns the bytes copied, 0 at the source's end,
 * -1 with errno set. */
static ssize_t copy_chunk(int in, int out, off_t *in_off, off_t *out_off, off_t len)
{
	char buf[1 << 16];
	size_t want = len < (off_t)sizeof(buf) ? (size_t)len : sizeof(buf);
	ssize_t r = pread(in, buf, want, *in_off);
	if (r <= 0)
		return r;
	for (ssize_t done = 0; done < r;) {
		ssize_t w = pwrite(out, buf + done, (size_t)(r - done), *out_off + done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		done += w;
	}
	*in_off += r;
	*out_off += r;
	return r;
}

/* Copies [off, off+len) with copy_file_range, falling back to read/write when
 * the kernel refuses (e.g. across filesystems). Returns 0, the errno of what
 * failed (never that of the refused copy_file_range), or COPY_SOURCE_SHRANK. */
static int copy_range(int in, int out, off_t off, off_t len)
{
	off_t in_off = off, out_off = off;
	bool plain = false;
	while (len > 0) {
		ssize_t n;
		if (plain) {
			n = copy_chunk(in, out, &in_off, &out_off, len);
		} else {
			n = copy_file_range(in, &in_off, out, &out_off, (size_t)len, 0);
			if (n < 0 &&
			    (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return COPY_SOURCE_SHRANK;
		len -= n;
	}
	return 0;
}

/* Returns as copy_range does. */
static int copy_data_extents(int in, int out, off_t size)
{
	off_t pos = 0;
	while (pos < size) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : errno; /* ENXIO: only a hole remains */
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return errno;
		if (hole > size)
			hole = size; /* it grew meanwhile: the copy is of the size we saw */
		int e = copy_range(in, out, data, hole - data);
		if (e)
			return e;
		pos = hole;
	}
	return 0;
}

int sv_copy_sparse(const char *src, const char *dst)
{
	/* O_NONBLOCK: a FIFO swapped in after validation must not hang us. */
	int in = open(src, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (in < 0)
		return sv_err_errno(errno == ENOENT ? SV_ENOTFOUND : SV_EIO, errno, "copying %s", src);
	struct stat st;
	if (fstat(in, &st) != 0) {
		int e = errno;
		close(in);
		return sv_err_errno(SV_EIO, e, "copying %s", src);
	}
	if (!S_ISREG(st.st_mode)) {
		close(in);
		return sv_err(SV_EINVAL, "copying %s: not a regular file", src);
	}
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
	if (out < 0) {
		int e = errno;
		close(in);
		return sv_err_errno(SV_EIO, e, "copying %s to %s", src, dst);
	}
	int e = 0;
	if (ioctl(out, FICLONE, in) != 0) {
		/* No reflink here: size first so trailing holes survive, then data only. */
		e = ftruncate(out, st.st_size) != 0 ? errno : copy_data_extents(in, out, st.st_size);
	}
	/* No fsync: copies are ephemeral (a staged drive dies with its VM, and
	 * after a host crash `smartvm gc` removes it), and on a disk filesystem
	 * flushing 64 MiB doubled the staging time (bench #4). A network
	 * filesystem may still report a failed write only at close. */
	close(in);
	if (close(out) != 0 && !e)
		e = errno;
	if (!e)
		return 0;
	unlink(dst);
	if (e == COPY_SOURCE_SHRANK)
		return sv_err(SV_EIO, "copying %s to %s: the source shrank during the copy", src, dst);
	return sv_err_errno(SV_EIO, e, "copying %s to %s", src, dst);
}

int sv_lock_file(const char *path, int timeout_ms, int *fd_out)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return sv_err_errno(errno == ELOOP ? SV_EUNSAFE : SV_EIO, errno, "opening lock %s", path);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, timeout_ms < 0 ? LOCK_EX : LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			int e = errno;
			close(fd);
			return sv_err_errno(SV_EIO, e, "locking %s", path);
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= timeout_ms) {
			close(fd);
			return sv_err(SV_ETIMEOUT, "locking %s: still held by another process after %d ms",
				      path, timeout_ms);
		}
		poll(NULL, 0, 10);
	}
	*fd_out = fd;
	return 0;
}
