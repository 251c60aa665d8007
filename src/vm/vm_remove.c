/* sv_vm_remove (`smartvm rm`): a VM that has ended goes for good, with its
 * end record (vm_end_record.c); a live one only when forced, after a kill.
 * Removal holds the directory's lock and acts only while the directory's
 * name still means that directory, so a new VM that claimed the id after
 * the old one's directory went is never touched. */
#include "vm/vm_internal.h"

#include "util/error.h"
#include "util/vm_alive.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The VM's directory is gone, or its name now means another directory. */
static bool dir_gone(const sv_vm *vm)
{
	struct stat locked, named;
	return fstat(vm->dir_fd, &locked) != 0 || locked.st_nlink == 0 ||
	       fstatat(AT_FDCWD, vm->dir, &named, AT_SYMLINK_NOFOLLOW) != 0 ||
	       locked.st_dev != named.st_dev || locked.st_ino != named.st_ino;
}

int sv_vm_remove(sv_vm *vm, unsigned flags)
{
	sv_err_clear();
	sv_vm__refresh(vm);
	if (vm->state == SV_VM_CREATED || vm->dir_fd < 0)
		return sv_err(SV_EINVALID_STATE, "VM \"%s\" is %s; there is nothing to remove", vm->id,
			      sv_vm_state_name(vm->state));
	int held = sv_vm_lock_held_at(vm->dir_fd);
	if (held < 0)
		return sv_err_prefix("removing VM \"%s\"", vm->id);
	if (held || sv_vm__is_live(vm)) {
		if (!(flags & SV_VM_REMOVE_FORCE))
			return sv_err(SV_EINVALID_STATE,
				      "VM \"%s\" is %s; stop it first (smartvm stop %s), or kill and remove "
				      "it at once with force (smartvm rm -f %s)",
				      vm->id,
				      held && !sv_vm__is_live(vm) ? "running" : sv_vm_state_name(vm->state),
				      vm->id, vm->id);
		int rc = sv_vm_kill(vm);
		if (rc)
			return rc == SV_EINVALID_STATE ? rc : sv_err_prefix("removing VM \"%s\"", vm->id);
	}
	int rc = dir_gone(vm) ? 1 : sv_vm__remove_if_dead(vm->dir_fd, vm->dir);
	if (rc == 0 && !dir_gone(vm))
		return sv_err(SV_EBUSY, "removing VM \"%s\": it is still running (its lock is held)", vm->id);
	if (rc < 0)
		return sv_err_prefix("removing VM \"%s\"", vm->id);
	vm->state = SV_VM_STOPPED;
	json_decref(vm->end_record);
	vm->end_record = NULL;
	close(vm->dir_fd);
	vm->dir_fd = -1;
	return 0;
}
