/* Checking (and creating) the directories smartvm keeps its state in; see
 * trusted_dir.h for the rules and why. The walk goes one component at a
 * time relative to the fd of the directory already checked, so what is
 * checked is what is used. */
#include "util/trusted_dir.h"

#include "util/error.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SYMLINKS 8

typedef struct {
	const char *what;     /* "runtime directory" */
	const char *path;     /* as the caller gave it */
	mode_t mode;          /* for what we create */
	bool create;
	int symlinks;
} walk_ctx;

/* "runtime directory /x/y: /x is ...; <fix>" */
static int refuse(const walk_ctx *w, const char *why, const char *fix)
{
	return sv_err(SV_EUNSAFE, "%s %s: %s; %s", w->what, w->path, why, fix);
}

/* The checks for a directory we hold an O_PATH fd of. `last` is the
 * directory asked for (it must be ours); the others are ancestors (root's or
 * ours, and sticky if others may write). Messages are formatted by sv_err,
 * not in buffers here: a forked supervisor walks its VM directory at every
 * stop, and each page of stack it touches costs it a page fault. */
static int check_dir(const walk_ctx *w, int fd, const char *shown, bool last)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return sv_err_errno(SV_EIO, errno, "%s %s: checking %s", w->what, w->path, shown);
	const char *it = strcmp(shown, w->path) ? shown : "it";
	if (!S_ISDIR(st.st_mode))
		return sv_err(SV_EUNSAFE, "%s %s: %s is not a directory; choose another directory", w->what, w->path,
			      it);
	uid_t me = geteuid();
	if (last ? st.st_uid != me : (st.st_uid != 0 && st.st_uid != me))
		return sv_err(SV_EUNSAFE,
			      "%s %s: %s is owned by uid %u, not by uid %u%s; "
			      "remove %s or choose another directory",
			      w->what, w->path, it, (unsigned)st.st_uid, (unsigned)me, last ? "" : " or root", shown);
	bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
	if (others_write && (last || !(st.st_mode & S_ISVTX)))
		return sv_err(SV_EUNSAFE,
			      "%s %s: %s is writable by group or others (mode %04o); "
			      "run `chmod go-w %s` or choose another directory",
			      w->what, w->path, it, (unsigned)(st.st_mode & 07777), shown);
	return 0;
}

static int walk(walk_ctx *w, const char *path, int *fd_out);

/* "<prefix>/<name>" for messages (prefix "/" gives "/<name>"). */
static void show_path(char *out, size_t size, const char *prefix, const char *name)
{
	if (snprintf(out, size, "%s/%s", strcmp(prefix, "/") ? prefix : "", name) >= (int)size)
		snprintf(out, size, ".../%s", name);
}

/* path = <prefix>/<link>/<rest>: continues the walk at the link's target
 * (relative to prefix when the target is relative). */
static int follow_symlink(walk_ctx *w, int parent, const char *prefix, const char *name, const char *rest,
			  int *fd_out)
{
	char *shown = NULL, *target = NULL, *next = NULL;
	if (asprintf(&shown, "%s/%s", strcmp(prefix, "/") ? prefix : "", name) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	struct stat st;
	ssize_t n = -1;
	int rc = 0;
	if (!*rest)
		rc = sv_err(SV_EUNSAFE,
			    "%s %s: %s is a symlink; "
			    "smartvm does not follow a symlink to its own directory; give the real path",
			    w->what, w->path, shown);
	else if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		rc = sv_err_errno(SV_EIO, errno, "%s %s: checking %s", w->what, w->path, shown);
	else if (st.st_uid != 0 && st.st_uid != geteuid())
		rc = sv_err(SV_EUNSAFE,
			    "%s %s: %s is a symlink owned by uid %u; "
			    "give the real path or choose another directory",
			    w->what, w->path, shown, (unsigned)st.st_uid);
	else if (++w->symlinks > MAX_SYMLINKS)
		rc = sv_err(SV_EINVAL, "%s %s: too many symlinks", w->what, w->path);
	else if (!(target = malloc(PATH_MAX)))
		rc = sv_err(SV_ENOMEM, "out of memory");
	else if ((n = readlinkat(parent, name, target, PATH_MAX - 1)) < 0)
		rc = sv_err_errno(SV_EIO, errno, "%s %s: reading symlink %s", w->what, w->path, shown);
	if (!rc) {
		target[n] = '\0';
		int len = target[0] == '/' ? asprintf(&next, "%s/%s", target, rest)
					   : asprintf(&next, "%s/%s/%s", prefix, target, rest);
		if (len < 0) {
			next = NULL;
			rc = sv_err(SV_ENOMEM, "out of memory");
		} else if (len >= PATH_MAX)
			rc = sv_err(SV_EINVAL, "%s %s: path too long", w->what, w->path);
	}
	free(shown);
	free(target);
	if (!rc)
		rc = walk(w, next, fd_out);
	free(next);
	return rc;
}

/* A ".." component anywhere: refused before the walk creates anything. */
static bool has_dot_dot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
	return false;
}

/* Its buffers are sized to the path and on the heap, its messages formatted
 * by sv_err: see check_dir. */
static int walk(walk_ctx *w, const char *path, int *fd_out)
{
	if (path[0] != '/')
		return sv_err(SV_EINVAL, "%s %s: must be an absolute path", w->what, w->path);
	if (has_dot_dot(path))
		return sv_err(SV_EINVAL, "%s %s: must not contain \"..\"", w->what, w->path);
	size_t len = strlen(path);
	if (len >= PATH_MAX)
		return sv_err(SV_EINVAL, "%s %s: path too long", w->what, w->path);
	/* The path's copy that strtok_r cuts, the part of it checked so far
	 * and, for messages, the component being checked: the last two are
	 * components of the first joined by single slashes, never longer. */
	size_t size = len + 2;
	char *mem = malloc(3 * size);
	if (!mem)
		return sv_err(SV_ENOMEM, "out of memory");
	char *buf = mem, *prefix = mem + size, *shown = mem + 2 * size;
	memcpy(buf, path, len + 1);
	strcpy(prefix, "/");
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		free(mem);
		return sv_err_errno(SV_EIO, errno, "%s %s: opening /", w->what, w->path);
	}
	int rc = check_dir(w, fd, "/", false);
	char *save = NULL;
	for (char *name = strtok_r(buf, "/", &save); !rc && name; name = strtok_r(NULL, "/", &save)) {
		const char *rest = save ? save : "";
		while (*rest == '/')
			rest++;
		if (!strcmp(name, "."))
			continue;
		show_path(shown, size, prefix, name);
		bool last = *rest == '\0';
		int child = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (child < 0 && errno == ENOENT && w->create) {
			if (mkdirat(fd, name, w->mode) != 0 && errno != EEXIST)
				rc = sv_err_errno(SV_EIO, errno, "%s %s: creating %s", w->what, w->path, shown);
			else
				child = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (rc)
			break;
		if (child < 0) {
			int e = errno;
			struct stat st;
			if (e == ENOTDIR && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
				rc = follow_symlink(w, fd, prefix, name, rest, fd_out);
				close(fd);
				free(mem);
				return rc;
			}
			if (e == ENOTDIR)
				rc = sv_err(SV_EUNSAFE, "%s %s: %s is not a directory; choose another directory", w->what,
					    w->path, shown);
			else if (e == ENOENT)
				rc = sv_err(SV_ENOTFOUND, "%s %s: %s does not exist", w->what, w->path, shown);
			else
				rc = sv_err_errno(SV_EIO, e, "%s %s: opening %s", w->what, w->path, shown);
			break;
		}
		close(fd);
		fd = child;
		memcpy(prefix, shown, strlen(shown) + 1);
		rc = check_dir(w, fd, shown, last);
	}
	if (!rc && !strcmp(prefix, "/"))
		rc = sv_err(SV_EINVAL, "%s %s: must not be /", w->what, w->path);
	if (!rc && fd_out) {
		/* The O_PATH fd was for checking; callers need one they can read. */
		int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			rc = sv_err_errno(SV_EIO, errno, "%s %s: opening it", w->what, w->path);
		else
			*fd_out = dfd;
	}
	close(fd);
	free(mem);
	return rc;
}

static int trusted_dir(const char *what, const char *path, mode_t mode, bool create, int *fd_out)
{
	if (fd_out)
		*fd_out = -1;
	if (!path || !*path)
		return sv_err(SV_EINVAL, "%s: no path given", what);
	walk_ctx w = { .what = what, .path = path, .mode = mode, .create = create };
	return walk(&w, path, fd_out);
}

int sv_trusted_dir(const char *what, const char *path, mode_t mode, int *fd_out)
{
	return trusted_dir(what, path, mode, true, fd_out);
}

int sv_trusted_dir_existing(const char *what, const char *path, int *fd_out)
{
	return trusted_dir(what, path, 0, false, fd_out);
}

static int trusted_subdir(const char *what, int dirfd, const char *dir_path, const char *name, mode_t mode,
			  bool create, int *fd_out)
{
	if (fd_out)
		*fd_out = -1;
	char shown[PATH_MAX];
	snprintf(shown, sizeof(shown), "%s/%s", dir_path, name);
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return sv_err(SV_EINVAL, "%s %s: not a plain name", what, shown);
	if (create && mkdirat(dirfd, name, mode) != 0 && errno != EEXIST)
		return sv_err_errno(SV_EIO, errno, "%s %s: creating it", what, shown);
	int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		walk_ctx w = { .what = what, .path = shown };
		if (errno == ENOTDIR)
			return refuse(&w, "it is a symlink or not a directory", "remove it");
		if (errno == ENOENT)
			return sv_err(SV_ENOTFOUND, "%s %s: it does not exist", what, shown);
		return sv_err_errno(SV_EIO, errno, "%s %s: opening it", what, shown);
	}
	walk_ctx w = { .what = what, .path = shown };
	int rc = check_dir(&w, fd, shown, true);
	if (!rc && fd_out) {
		*fd_out = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*fd_out < 0)
			rc = sv_err_errno(SV_EIO, errno, "%s %s: opening it", what, shown);
	}
	close(fd);
	return rc;
}

int sv_trusted_subdir(const char *what, int dirfd, const char *dir_path, const char *name, mode_t mode,
		      int *fd_out)
{
	return trusted_subdir(what, dirfd, dir_path, name, mode, true, fd_out);
}

int sv_trusted_subdir_existing(const char *what, int dirfd, const char *dir_path, const char *name,
			       int *fd_out)
{
	return trusted_subdir(what, dirfd, dir_path, name, 0, false, fd_out);
}
