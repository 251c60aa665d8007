/* MOUNT channels: a filesystem mounted on a target resolved inside a root
 * directory, as an OCI runtime mounts config.json's mounts into the
 * container's root before its process runs.
 *
 * The target is resolved with openat2's RESOLVE_IN_ROOT: "..", absolute
 * symlinks and symlinks that climb out all stay inside the root, so a
 * hostile rootfs cannot make a mount land outside it. Missing components
 * are created (relative to their resolved parent, never following a
 * symlink in the last step), and the mount goes onto the resolved
 * descriptor through /proc/self/fd, so nothing is looked up by name twice.
 * A mount that would cover the root itself is refused.
 *
 * With a subpath, source is a block device holding a copy of the host's
 * file or directory (the OCI runtime's bind mounts): it is mounted on a
 * private directory under /dev for the moment it takes to bind its subpath
 * onto the target, then detached. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The flags a MOUNT may ask for; the rest (MS_BIND, MS_MOVE, propagation)
 * are the agent's to choose. */
#define ALLOWED_FLAGS                                                                                        \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_NOATIME | MS_NODIRATIME |      \
	 MS_RELATIME | MS_STRICTATIME)
#define STAGING_TEMPLATE "/dev/.smartvm-mount-XXXXXX"

typedef struct {
	char *target, *fstype, *source, *data, *root, *subpath;
	unsigned long flags;
	uint32_t create;
} mount_request;

static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	while (*path == '/')
		path++;
	return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
}

/* Creates what is missing of path inside the root: directories, and the
 * last component as create says. 0 or -1 (errno). */
static int make_missing(int rootfd, const char *path, uint32_t create)
{
	char buf[4096];
	size_t len = strlen(path);
	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (size_t end = 1; end <= len; end++) {
		if (end < len && buf[end] != '/')
			continue;
		char saved = buf[end];
		buf[end] = '\0';
		int fd = open_in_root(rootfd, buf, O_PATH);
		if (fd >= 0) {
			close(fd);
			buf[end] = saved;
			continue;
		}
		if (errno != ENOENT)
			return -1;
		/* A target without a leading '/' is relative to the root too. */
		char *slash = strrchr(buf, '/');
		const char *name = slash ? slash + 1 : buf;
		if (slash)
			*slash = '\0';
		int parent = open_in_root(rootfd, slash ? buf : "", O_PATH | O_DIRECTORY);
		if (slash)
			*slash = '/';
		if (parent < 0)
			return -1;
		int rc;
		if (end < len || create == SVA_MOUNT_CREATE_DIR) {
			rc = mkdirat(parent, name, 0755);
		} else {
			rc = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (rc >= 0)
				rc = close(rc);
		}
		int e = errno;
		close(parent);
		/* EEXIST: a dangling symlink; the open below says ENOENT. */
		if (rc < 0 && e != EEXIST) {
			errno = e;
			return -1;
		}
		buf[end] = saved;
	}
	return 0;
}

static void fd_path(char *out, size_t size, int fd)
{
	snprintf(out, size, "/proc/self/fd/%d", fd);
}

/* Mounts source's subpath (on a private staging directory) onto target. */
static int mount_subpath(const mount_request *r, int target_fd, const char **stage)
{
	char staging[] = STAGING_TEMPLATE, from[64], to[64];
	*stage = "staging";
	if (!mkdtemp(staging))
		return -1;
	int rc = -1, e = 0, src = -1;
	/* Read-write whatever the bind asks: one filesystem serves several
	 * binds, and a second mount of it with another read-only flag would
	 * be EBUSY. The bind itself gets r->flags (remount_bind). */
	*stage = "mounting the source";
	if (mount(r->source, staging, r->fstype, MS_NOSUID | MS_NODEV, r->data) < 0)
		goto out;
	*stage = "the subpath";
	int sdir = open(staging, O_PATH | O_DIRECTORY | O_CLOEXEC);
	src = sdir >= 0 ? openat(sdir, r->subpath, O_PATH | O_NOFOLLOW | O_CLOEXEC) : -1;
	if (sdir >= 0)
		close(sdir);
	if (src < 0)
		goto unmount;
	fd_path(from, sizeof(from), src);
	fd_path(to, sizeof(to), target_fd);
	*stage = "binding";
	rc = mount(from, to, NULL, MS_BIND, NULL);
unmount:
	e = errno;
	if (src >= 0)
		close(src);
	umount2(staging, MNT_DETACH);
out:
	if (!e)
		e = errno;
	rmdir(staging);
	errno = e;
	return rc;
}

/* After a bind: its flags (read-only above all) on the new mount, which a
 * fresh lookup of the target reaches. */
static int remount_bind(int rootfd, const mount_request *r)
{
	if (!(r->flags & ~(unsigned long)MS_RELATIME))
		return 0;
	int fd = open_in_root(rootfd, r->target, O_PATH);
	if (fd < 0)
		return -1;
	char p[64];
	fd_path(p, sizeof(p), fd);
	int rc = mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | r->flags, NULL);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int do_mount(const mount_request *r, const char **stage)
{
	*stage = "root";
	int rootfd = open(r->root ? r->root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -1;
	int rc = -1, e = 0, tfd = -1;
	struct stat rs, ts;
	*stage = "target";
	if (r->create && make_missing(rootfd, r->target, r->create) < 0)
		goto out;
	if ((tfd = open_in_root(rootfd, r->target, O_PATH)) < 0 || fstat(rootfd, &rs) < 0 ||
	    fstat(tfd, &ts) < 0)
		goto out;
	if (rs.st_dev == ts.st_dev && rs.st_ino == ts.st_ino) {
		*stage = "target (it resolves to the root itself)";
		errno = EBUSY;
		goto out;
	}
	if (r->subpath) {
		if ((rc = mount_subpath(r, tfd, stage)) == 0 && (rc = remount_bind(rootfd, r)) < 0)
			*stage = "remounting the bind";
	} else {
		char p[64];
		fd_path(p, sizeof(p), tfd);
		*stage = "mount";
		rc = mount(r->source, p, r->fstype, r->flags, r->data);
	}
out:
	e = errno;
	if (tfd >= 0)
		close(tfd);
	close(rootfd);
	errno = e;
	return rc;
}

static char *opt(const sva_field *f, bool *bad)
{
	if (!f->present)
		return NULL;
	char *s = agent_path(f);
	if (!s)
		*bad = true;
	return s;
}

void agent_mount(agent_channel *c, const sva_field *v)
{
	mount_request r = {0};
	bool bad = false;
	r.target = opt(&v[SVA_F_MOUNT_TARGET], &bad);
	r.fstype = opt(&v[SVA_F_MOUNT_FSTYPE], &bad);
	r.source = opt(&v[SVA_F_MOUNT_SOURCE], &bad);
	r.data = opt(&v[SVA_F_MOUNT_DATA], &bad);
	r.root = opt(&v[SVA_F_MOUNT_ROOT], &bad);
	r.subpath = opt(&v[SVA_F_MOUNT_SUBPATH], &bad);
	r.flags = (unsigned long)v[SVA_F_MOUNT_FLAGS].num;
	r.create = (uint32_t)v[SVA_F_MOUNT_CREATE].num;
	const char *stage = "";
	if (bad || !r.target || !r.fstype || !r.source) {
		agent_send_error(c->s, c->id, EINVAL, "MOUNT: target, fstype and source are needed, without NUL");
	} else if (r.flags & ~(unsigned long)ALLOWED_FLAGS || r.create > SVA_MOUNT_CREATE_FILE ||
		   (r.subpath && (strchr(r.subpath, '/') || !strcmp(r.subpath, ".") || !strcmp(r.subpath, "..")))) {
		agent_send_error(c->s, c->id, EINVAL,
				 "MOUNT %s: flags 0x%lx, create %u or subpath not valid", r.target, r.flags,
				 r.create);
	} else if (do_mount(&r, &stage) < 0) {
		int e = errno;
		agent_send_error(c->s, c->id, e, "mount %s on %s: %s: %s", r.fstype, r.target, stage, strerror(e));
	} else {
		agent_send_ok(c);
	}
	free(r.target);
	free(r.fstype);
	free(r.source);
	free(r.data);
	free(r.root);
	free(r.subpath);
}
