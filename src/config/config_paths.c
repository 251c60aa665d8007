/* Relative host paths in a VM config, made absolute when the config is made.
 *
 * The VMM runs in the VM directory (so that staged drives can be named
 * relative to it), so a path left relative would be opened from there, not
 * from where the user meant it: `run --kernel ./vmlinux` failed. Paths the
 * caller gives (flags, the C API) are taken from the caller's current
 * directory when the VM is created; a config file's from the file's own
 * directory when it is loaded, so the file means the same wherever smartvm
 * is run from (Firecracker itself would use its own cwd). Symlinks and ".."
 * are left to the kernel, as they would be for the relative path.
 *
 * Invariant: every host path field of sv_vm_config is listed here.
 */
#include "config/config_paths.h"

#include "util/error.h"
#include "util/file.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int resolve(const char **slot, const char *base, const char *field)
{
	if (!*slot || !**slot || **slot == '/')
		return 0;
	char *abs = sv_path_absolute(*slot, base);
	if (!abs)
		return sv_err_errno(errno == ENOMEM ? SV_ENOMEM : SV_EIO, errno,
				    "%s: %s: making the path absolute", field, *slot);
	free((void *)(uintptr_t)*slot);
	*slot = abs;
	return 0;
}

int sv_config_resolve_paths(sv_vm_config *cfg, const char *base_dir)
{
	char *cwd = NULL;
	if (!base_dir && !(base_dir = cwd = getcwd(NULL, 0)))
		return sv_err_errno(SV_EIO, errno, "resolving relative paths: the current directory");
	int rc = resolve(&cfg->boot_source.kernel_image_path, base_dir, "boot_source.kernel_image_path");
	if (!rc)
		rc = resolve(&cfg->boot_source.initrd_path, base_dir, "boot_source.initrd_path");
	for (size_t i = 0; !rc && i < cfg->n_drives; i++) {
		char field[64];
		snprintf(field, sizeof(field), "drives[%zu].path_on_host", i);
		rc = resolve(&((sv_drive_config *)cfg->drives)[i].path_on_host, base_dir, field);
	}
	if (!rc && cfg->vsock)
		rc = resolve(&((sv_vsock_config *)cfg->vsock)->uds_path, base_dir, "vsock.uds_path");
	if (!rc && cfg->logger)
		rc = resolve(&((sv_logger_config *)cfg->logger)->log_path, base_dir, "logger.log_path");
	if (!rc && cfg->metrics)
		rc = resolve(&((sv_metrics_config *)cfg->metrics)->metrics_path, base_dir,
			     "metrics.metrics_path");
	if (!rc && cfg->net) {
		sv_vm_net_options *net = (sv_vm_net_options *)(uintptr_t)cfg->net;
		rc = resolve(&net->wireguard_config, base_dir, "net.wireguard_config");
		if (!rc)
			rc = resolve(&net->netns_path, base_dir, "net.netns_path");
	}
	free(cwd);
	return rc;
}
