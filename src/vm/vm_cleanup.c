/* Cleanup of one VM directory: the ledger replay with every undo handler
 * registered. Kept apart from vm.c and vm_jail.c so that the supervisor,
 * which needs only this, does not link the VMM clients (libcurl and its
 * dependencies) and starts quickly. */
#include "vm/vm_internal.h"

#include "util/ledger.h"
#include "net/net_undo.h"
#include "util/error.h"
#include "util/file.h"
#include "util/trusted_dir.h"
#include "util/vm_alive.h"
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <linux/magic.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

/* Replay: a cgroup directory is removed with rmdir on cgroupfs, v2 or v1
 * (the kernel drops its control files), recursively elsewhere. */
static int undo_cgroup(const char *path, const char *unused)
{
	(void)unused;
	struct statfs sfs;
	if (statfs(path, &sfs) != 0)
		return errno == ENOENT ? 0 : sv_err_errno(SV_EIO, errno, "cgroup %s", path);
	if (sfs.f_type == CGROUP2_SUPER_MAGIC || sfs.f_type == CGROUP_SUPER_MAGIC)
		return rmdir(path) == 0 || errno == ENOENT
			   ? 0
			   : sv_err_errno(SV_EIO, errno, "removing cgroup %s", path);
	return sv_rm_rf(path);
}

static void register_undo_once(void)
{
	/* net_undo.c directly, not vm_net.c: the supervisor links this file,
	 * and vm_net.c's setup code would bring libcrypto (WireGuard keys)
	 * into every supervisor's dynamic loading for nothing. */
	sv_net_register_undo();
	sv_ledger_register("cgroup", undo_cgroup); /* jailed VMs (vm_jail.c) */
	sv_ledger_register("jail", sv_vm__undo_jail);
}

static void register_undo(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_undo_once);
}

/* What stays of a VM that ended detached: how it ended, what it printed, its
 * config as given (for inspect), and the lock that serializes its removal
 * with a new VM claiming its id. */
static const char *const end_record_files[] = {SV_VM_END_RECORD_FILE, SV_VM_LOCK_FILE, SV_VM_CONSOLE_FILE,
					       SV_VM_CONFIG_FILE, NULL};

int sv_vm__cleanup_dir(const char *dir)
{
	register_undo();
	/* One checked walk to the directory for both the end record and the
	 * replay. */
	int dfd = -1;
	int rc = sv_trusted_dir_existing("VM directory", dir, &dfd);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0;
	}
	if (rc)
		return rc;
	rc = sv_ledger_replay_keep_at(dfd, dir, sv_vm__keep_end_record_at(dfd, dir) ? end_record_files : NULL);
	close(dfd);
	return rc;
}

bool sv_vm__only_end_record(int dfd)
{
	if (!sv_vm__has_end_record(dfd))
		return false;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	bool only = true;
	for (struct dirent *de; only && (de = readdir(d));) {
		bool known = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
		for (size_t i = 0; end_record_files[i] && !known; i++)
			known = !strcmp(de->d_name, end_record_files[i]);
		only = known;
	}
	closedir(d);
	return only;
}

int sv_vm__remove_dir(const char *dir)
{
	register_undo();
	return sv_ledger_replay(dir);
}

int sv_vm__take_dead_lock(int dfd, const char *dir, int *lock_fd)
{
	int fd = openat(dfd, SV_VM_LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == ELOOP	 ? sv_err(SV_EUNSAFE, "%s/%s: is a symlink", dir, SV_VM_LOCK_FILE)
		       : errno == ENOENT ? 0 /* the directory was removed meanwhile */
					 : sv_err_errno(SV_EIO, errno, "opening %s/%s", dir, SV_VM_LOCK_FILE);
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? 0 : sv_err_errno(SV_EIO, e, "locking %s/%s", dir, SV_VM_LOCK_FILE);
	}
	*lock_fd = fd;
	return 1;
}

static int clean_if_dead(int dfd, const char *dir, int (*clean)(const char *dir))
{
	int lock = -1;
	int rc = sv_vm__take_dead_lock(dfd, dir, &lock);
	if (rc != 1)
		return rc;
	struct stat locked, named;
	if (fstat(dfd, &locked) != 0 || fstatat(AT_FDCWD, dir, &named, AT_SYMLINK_NOFOLLOW) != 0 ||
	    locked.st_dev != named.st_dev || locked.st_ino != named.st_ino)
		rc = 0;
	else if ((rc = clean(dir)) == 0)
		rc = 1;
	close(lock);
	return rc;
}

int sv_vm__cleanup_if_dead(int dfd, const char *dir) { return clean_if_dead(dfd, dir, sv_vm__cleanup_dir); }
int sv_vm__remove_if_dead(int dfd, const char *dir) { return clean_if_dead(dfd, dir, sv_vm__remove_dir); }
