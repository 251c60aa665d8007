/* The QEMU backend's resolve op: which binary and accelerator a VM runs
 * with. The binary is resolved through PATH here, because the supervisor
 * spawns argv[0] as a path; the accelerator comes from sv_qemu_pick_accel. */
#include "vmm/qemu/qemu.h"

#include "util/error.h"
#include "util/file.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* name as given when it contains a '/', else the first executable PATH entry. */
static int find_in_path(const char *name, char **out)
{
	*out = NULL;
	if (!*name)
		return sv_err(SV_EINVAL, "qemu_binary: must not be empty");
	if (strchr(name, '/')) {
		if (access(name, X_OK) != 0)
			return sv_err(SV_ENOTFOUND, "qemu_binary: %s: not an executable file", name);
		*out = sv_path_absolute(name, NULL);
		return *out ? 0 : sv_err_errno(SV_EIO, errno, "qemu_binary: %s", name);
	}
	const char *path = getenv("PATH");
	char *dirs = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!dirs)
		return sv_err(SV_ENOMEM, "out of memory");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *candidate = sv_path_join(d, name);
		if (candidate && access(candidate, X_OK) == 0) {
			*out = sv_path_absolute(candidate, NULL); /* PATH may hold relative entries */
			int e = errno;
			free(candidate);
			free(dirs);
			return *out ? 0 : sv_err_errno(SV_EIO, e, "qemu_binary: %s", name);
		}
		free(candidate);
	}
	free(dirs);
	return sv_err(SV_ENOTFOUND, "qemu_binary: %s: not found in PATH (install qemu-system-x86)", name);
}

int sv_qemu_resolve(const char *binary, const char *accel, char **binary_out, char **accel_out)
{
	*binary_out = *accel_out = NULL;
	const char *picked = NULL;
	int rc = sv_qemu_pick_accel(accel, &picked);
	if (rc || (rc = find_in_path(binary, binary_out)))
		return rc;
	if (!(*accel_out = strdup(picked))) {
		free(*binary_out);
		*binary_out = NULL;
		return sv_err(SV_ENOMEM, "out of memory");
	}
	return 0;
}
