/* Bind mount sources -> drive images (see oci_mount_drives.h). Copies, not
 * shares: Firecracker has block devices only, and a copy cannot reach back
 * into the host however the guest treats it. */
#include "oci_mount_drives.h"

#include "oci_rootfs.h"

#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILES_IMAGE "binds-files.ext4"
#define FILES_STAGING "binds-files.d"
/* Room for what the container writes to a writable bind (the writes stay
 * in the copy). */
#define BIND_HEADROOM_MIB 16

/* Copies the bind source (a regular file, opened without following a
 * link) into stagefd as name, keeping mode and owner. */
static int copy_file(const oci_mount *m, size_t idx, int stagefd, const char *name)
{
	int in = open(m->source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), out = -1, rc = 0;
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0)
		rc = sv_err_errno(SV_EINVAL, errno, "config.json: mounts[%zu].source: %s", idx, m->source);
	else if (!S_ISREG(st.st_mode))
		rc = sv_err(SV_EINVAL, "config.json: mounts[%zu].source: %s is no longer a regular file", idx,
			    m->source);
	else if ((out = openat(stagefd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		rc = sv_err_errno(SV_EIO, errno, "copying %s", m->source);
	char buf[65536];
	ssize_t n = 0;
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(out, buf, (size_t)n) != n)
			rc = sv_err_errno(SV_EIO, errno, "copying %s", m->source);
	}
	if (rc == 0 && (fchown(out, st.st_uid, st.st_gid) < 0 || fchmod(out, st.st_mode & 07777) < 0))
		rc = sv_err_errno(SV_EIO, errno, "copying %s", m->source);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

/* Removes the staging directory (flat: only the copies). */
static void remove_staging(int dirfd, int stagefd)
{
	for (int i = 0; stagefd >= 0 && i < 64; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%d", i);
		unlinkat(stagefd, name, 0);
	}
	if (stagefd >= 0)
		close(stagefd);
	unlinkat(dirfd, FILES_STAGING, AT_REMOVEDIR);
}

static int add_drive(oci_mounts *m, const char *file)
{
	if (m->n_drives == OCI_MAX_BIND_DRIVES)
		return sv_err(SV_EINVAL, "config.json: mounts: more than %d bound directories",
			      OCI_MAX_BIND_DRIVES - 1);
	if (!(m->drive_files[m->n_drives] = strdup(file)))
		return sv_err(SV_ENOMEM, "out of memory");
	m->n_drives++;
	return 0;
}

static int build_files_image(oci_mounts *m, int dirfd, const char *dir_path)
{
	bool any = false;
	for (size_t i = 0; i < m->n; i++)
		any |= m->items[i].kind == OCI_MOUNT_BIND && !m->items[i].is_dir;
	if (!any)
		return 0;
	if (mkdirat(dirfd, FILES_STAGING, 0700) < 0)
		return sv_err_errno(SV_EIO, errno, "creating %s/%s", dir_path, FILES_STAGING);
	int stagefd = openat(dirfd, FILES_STAGING, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc = 0;
	if (stagefd < 0)
		rc = sv_err_errno(SV_EIO, errno, "opening %s/%s", dir_path, FILES_STAGING);
	for (size_t i = 0; rc == 0 && i < m->n; i++) {
		oci_mount *b = &m->items[i];
		if (b->kind != OCI_MOUNT_BIND || b->is_dir)
			continue;
		snprintf(b->subpath, sizeof(b->subpath), "%u", (unsigned)i); /* i < 64 */
		b->drive = (int)m->n_drives;
		rc = copy_file(b, i, stagefd, b->subpath);
	}
	char staging[4200];
	snprintf(staging, sizeof(staging), "%s/%s", dir_path, FILES_STAGING);
	if (rc == 0 && (rc = oci_ext4_build(dirfd, dir_path, FILES_IMAGE, staging, BIND_HEADROOM_MIB)) == 0 &&
	    (rc = add_drive(m, FILES_IMAGE)) != 0)
		unlinkat(dirfd, FILES_IMAGE, 0);
	remove_staging(dirfd, stagefd);
	return rc;
}

int oci_mount_drives_build(oci_mounts *m, int dirfd, const char *dir_path)
{
	int rc = build_files_image(m, dirfd, dir_path);
	for (size_t i = 0; rc == 0 && i < m->n; i++) {
		oci_mount *b = &m->items[i];
		if (b->kind != OCI_MOUNT_BIND || !b->is_dir)
			continue;
		char name[32];
		snprintf(name, sizeof(name), "bind-%zu.ext4", i);
		b->drive = (int)m->n_drives;
		if ((rc = oci_ext4_build(dirfd, dir_path, name, b->source, BIND_HEADROOM_MIB)) != 0)
			sv_err_prefix("config.json: mounts[%zu].source: %s", i, b->source);
		else if ((rc = add_drive(m, name)) != 0)
			unlinkat(dirfd, name, 0);
	}
	if (rc)
		for (size_t i = 0; i < m->n_drives; i++)
			unlinkat(dirfd, m->drive_files[i], 0);
	return rc;
}
