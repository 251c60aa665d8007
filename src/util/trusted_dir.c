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
 * ours, and sticky if others may write). */
static int check_dir(const walk_ctx *w, int fd, const char *shown, bool last)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return sv_err_errno(SV_EIO, errno, "%s %s: checking %s", w->what, w->path, shown);
	char why[PATH_MAX + 96], fix[PATH_MAX + 96];
	const char *it = strcmp(shown, w->path) ? shown : "it";
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, sizeof(why), "%s is not a directory", it);
		return refuse(w, why, "choose another directory");
	}
	uid_t me = geteuid();
	if (last ? st.st_uid != me : (st.st_uid != 0 && st.st_uid != me)) {
		snprintf(why, sizeof(why), "%s is owned by uid %u, not by uid %u%s", it, (unsigned)st.st_uid,
			 (unsigned)me, last ? "" : " or root");
		snprintf(fix, sizeof(fix), "remove %s or choose another directory", shown);
		return refuse(w, why, fix);
	}
	bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
	if (others_write && (last || !(st.st_mode & S_ISVTX))) {
		snprintf(why, sizeof(why), "%s is writable by group or others (mode %04o)", it,
			 (unsigned)(st.st_mode & 07777));
		snprintf(fix, sizeof(fix), "run `chmod go-w %s` or choose another directory", shown);
		return refuse(w, why, fix);
	}
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
	char shown[PATH_MAX], why[PATH_MAX + 64];
	show_path(shown, sizeof(shown), prefix, name);
	if (!*rest) {
		snprintf(why, sizeof(why), "%s is a symlink", shown);
		return refuse(w, why, "smartvm does not follow a symlink to its own directory; give the real path");
	}
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return sv_err_errno(SV_EIO, errno, "%s %s: checking %s", w->what, w->path, shown);
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, sizeof(why), "%s is a symlink owned by uid %u", shown, (unsigned)st.st_uid);
		return refuse(w, why, "give the real path or choose another directory");
	}
	if (++w->symlinks > MAX_SYMLINKS)
		return sv_err(SV_EINVAL, "%s %s: too many symlinks", w->what, w->path);
	char target[PATH_MAX];
	ssize_t n = readlinkat(parent, name, target, sizeof(target) - 1);
	if (n < 0)
		return sv_err_errno(SV_EIO, errno, "%s %s: reading symlink %s", w->what, w->path, shown);
	target[n] = '\0';
	char next[PATH_MAX];
	int len = target[0] == '/' ? snprintf(next, sizeof(next), "%s/%s", target, rest)
				   : snprintf(next, sizeof(next), "%s/%s/%s", prefix, target, rest);
	if (len < 0 || len >= (int)sizeof(next))
		return sv_err(SV_EINVAL, "%s %s: path too long", w->what, w->path);
	return walk(w, next, fd_out);
}

static int walk(walk_ctx *w, const char *path, int *fd_out)
{
	if (path[0] != '/')
		return sv_err(SV_EINVAL, "%s %s: must be an absolute path", w->what, w->path);
	char buf[PATH_MAX], prefix[PATH_MAX] = "/";
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return sv_err(SV_EINVAL, "%s %s: path too long", w->what, w->path);
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "%s %s: opening /", w->what, w->path);
	int rc = check_dir(w, fd, "/", false);
	char *save = NULL;
	for (char *name = strtok_r(buf, "/", &save); !rc && name; name = strtok_r(NULL, "/", &save)) {
		const char *rest = save ? save : "";
		while (*rest == '/')
			rest++;
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, ".."))
			return close(fd), sv_err(SV_EINVAL, "%s %s: must not contain \"..\"", w->what, w->path);
		char shown[PATH_MAX];
		show_path(shown, sizeof(shown), prefix, name);
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
				char pfx[PATH_MAX];
				snprintf(pfx, sizeof(pfx), "%s", prefix);
				rc = follow_symlink(w, fd, pfx, name, rest, fd_out);
				close(fd);
				return rc;
			}
			if (e == ENOTDIR) {
				char why[PATH_MAX + 32];
				snprintf(why, sizeof(why), "%s is not a directory", shown);
				rc = refuse(w, why, "choose another directory");
			}
			else if (e == ENOENT)
				rc = sv_err(SV_ENOTFOUND, "%s %s: %s does not exist", w->what, w->path, shown);
			else
				rc = sv_err_errno(SV_EIO, e, "%s %s: opening %s", w->what, w->path, shown);
			break;
		}
		close(fd);
		fd = child;
		snprintf(prefix, sizeof(prefix), "%s", shown);
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
