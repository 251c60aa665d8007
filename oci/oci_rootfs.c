/* rootfs directory -> ext4 image (see oci_rootfs.h). The tree is the
 * engine's (an overlay mount podman made, say) and read as root: it is only
 * walked to size it (lstat, never following a link or leaving its
 * filesystem) and then handed to mkfs.ext4, which copies links as links. */
#define _XOPEN_SOURCE 700
#include "oci_rootfs.h"

#include "util/error.h"
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024ull * 1024)
#define INODE_BYTES 256ull
#define TOOL_TIMEOUT_MS (10 * 60 * 1000)
#define MKFS_ERR_MAX 400

/* nftw has no context argument: the walk's totals. */
static unsigned long long walk_bytes, walk_inodes;

static int count_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path, (void)type, (void)ftw;
	walk_bytes += (unsigned long long)st->st_blocks * 512;
	walk_inodes++;
	return 0;
}

/* A system tool by absolute path: conmon and containerd may run us with a
 * PATH without the sbin directories. */
static const char *tool(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return name;
}

static int run_tool(const char *const *argv, const char *what)
{
	int code = -1;
	char *out = NULL, *err = NULL;
	int rc = sv_run(argv, NULL, TOOL_TIMEOUT_MS, &code, &out, &err);
	if (rc == 0 && code != 0)
		rc = sv_err(SV_EPROCESS, "%s: %s failed (exit %d): %.*s", what, argv[0], code, MKFS_ERR_MAX,
			    err && *err ? err
			    : out	? out
					: "");
	else if (rc < 0)
		sv_err_prefix("%s", what);
	free(out);
	free(err);
	return rc;
}

/* The init mounts proc, sysfs and devtmpfs inside the root and the agent a
 * devpts: an image whose tree lacks their directories gets them (mode 0755,
 * owned by root) with debugfs, on the image only. */
static int add_mount_points(const char *image, const char *tree)
{
	static const char *const dirs[] = {"proc", "sys", "dev", "tmp"};
	char dbg[PATH_MAX];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		char path[PATH_MAX], cmd[32];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", tree, dirs[i]);
		if (lstat(path, &st) == 0)
			continue;
		snprintf(cmd, sizeof(cmd), "mkdir %s", dirs[i]);
		const char *argv[] = {tool("debugfs", dbg, sizeof(dbg)), "-w", "-R", cmd, image, NULL};
		int rc = run_tool(argv, "adding mount points to the root image");
		if (rc)
			return rc;
	}
	return 0;
}

/* The image of tree with headroom_mib to spare, labelled label. */
static int build_image(int dirfd, const char *dir_path, const char *name, const char *tree,
		       uint64_t headroom_mib, const char *label, unsigned long long *bytes_out)
{
	walk_bytes = walk_inodes = 0;
	if (nftw(tree, count_entry, 32, FTW_PHYS | FTW_MOUNT) != 0)
		return sv_err_errno(SV_EIO, errno, "reading the rootfs %s", tree);
	unsigned long long bytes = walk_bytes + walk_bytes / 4 + walk_inodes * INODE_BYTES + headroom_mib * MIB;
	bytes = (bytes + MIB - 1) / MIB * MIB;

	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	*bytes_out = 0;
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "creating %s/%s", dir_path, name);
	int rc = ftruncate(fd, (off_t)bytes) == 0
		     ? 0
		     : sv_err_errno(SV_EIO, errno, "sizing %s/%s", dir_path, name);
	close(fd);
	char image[PATH_MAX], mkfs[PATH_MAX];
	snprintf(image, sizeof(image), "%s/%s", dir_path, name);
	if (rc == 0) {
		/* No journal: the image lives as long as the container. */
		const char *argv[] = {tool("mkfs.ext4", mkfs, sizeof(mkfs)),
				      "-q",
				      "-F",
				      "-m",
				      "0",
				      "-O",
				      "^has_journal",
				      "-L",
				      label,
				      "-d",
				      tree,
				      image,
				      NULL};
		rc = run_tool(argv, "building the image");
	}
	if (rc)
		unlinkat(dirfd, name, 0);
	*bytes_out = bytes;
	return rc;
}

int oci_rootfs_build(int dirfd, const char *dir_path, const char *name, const char *tree, uint64_t *size_mib)
{
	unsigned long long bytes = 0;
	char image[PATH_MAX];
	snprintf(image, sizeof(image), "%s/%s", dir_path, name);
	int rc = build_image(dirfd, dir_path, name, tree, OCI_ROOTFS_HEADROOM_MIB, "oci-root", &bytes);
	if (rc == 0 && (rc = add_mount_points(image, tree)) != 0)
		unlinkat(dirfd, name, 0);
	if (rc == 0 && size_mib)
		*size_mib = bytes / MIB;
	return rc;
}

int oci_ext4_build(int dirfd, const char *dir_path, const char *name, const char *tree, uint64_t headroom_mib)
{
	unsigned long long bytes = 0;
	char image[PATH_MAX], dbg[PATH_MAX], path[PATH_MAX];
	snprintf(image, sizeof(image), "%s/%s", dir_path, name);
	int rc = build_image(dirfd, dir_path, name, tree, headroom_mib, "oci-bind", &bytes);
	/* mkfs made a lost+found the tree does not have: not the tree's. */
	struct stat st;
	snprintf(path, sizeof(path), "%s/lost+found", tree);
	if (rc == 0 && lstat(path, &st) < 0) {
		const char *argv[] = {tool("debugfs", dbg, sizeof(dbg)), "-w", "-R", "rmdir lost+found", image, NULL};
		if ((rc = run_tool(argv, "building the image")) != 0)
			unlinkat(dirfd, name, 0);
	}
	return rc;
}
