/* Liveness of a VM from its directory (see vm_alive.h). */
#include "util/vm_alive.h"

#include "util/error.h"
#include "util/ledger.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

int sv_vm_lock_fd_held(int lock_fd)
{
	for (;;) {
		if (flock(lock_fd, LOCK_SH | LOCK_NB) == 0) {
			flock(lock_fd, LOCK_UN); /* an instant only: gc takes it exclusively */
			return 0;
		}
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? 1 : sv_err_errno(SV_EIO, errno, "probing the VM lock");
	}
}

int sv_vm_lock_open_at(int dirfd, int *fd)
{
	*fd = openat(dirfd, SV_VM_LOCK_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd >= 0 || errno == ENOENT)
		return 0;
	return errno == ELOOP ? sv_err(SV_EUNSAFE, "VM lock: is a symlink")
			      : sv_err_errno(SV_EIO, errno, "opening the VM lock");
}

int sv_vm_lock_held_at(int dirfd)
{
	int fd, rc = sv_vm_lock_open_at(dirfd, &fd);
	if (rc < 0 || fd < 0)
		return rc;
	int held = sv_vm_lock_fd_held(fd);
	close(fd);
	return held;
}

int sv_vm_dir_alive(const char *vm_dir)
{
	int dfd = open(vm_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return sv_err_errno(SV_EIO, errno, "VM directory %s", vm_dir);
	}
	int held = sv_vm_lock_held_at(dfd);
	if (held == 0 && sv_ledger_names_live_process_at(dfd))
		held = 1;
	close(dfd);
	return held < 0 ? sv_err_prefix("VM directory %s", vm_dir) : held;
}
