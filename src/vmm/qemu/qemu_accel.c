/* Choosing QEMU's accelerator (kvm or tcg).
 *
 * "auto" must only pick KVM when an ordinary guest kernel can actually run
 * on it. On the PVM nested hypervisor (kernel module kvm_pvm) /dev/kvm opens
 * and answers KVM_GET_API_VERSION, yet guests hang right after decompression,
 * so the presence of /sys/module/kvm_pvm alone means TCG. Never boots a guest
 * to find out; never touches anything but the two paths it is given.
 */
#include "vmm/qemu/qemu.h"

#include "util/error.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* 0 when dev_kvm opens read-write and speaks the stable KVM API (12). */
static int probe_kvm(const char *dev_kvm)
{
	int fd = open(dev_kvm, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_EUNSUPPORTED, errno, "qemu_accel: kvm: cannot open %s", dev_kvm);
	int version = ioctl(fd, KVM_GET_API_VERSION, 0);
	int e = errno;
	close(fd);
	if (version < 0)
		return sv_err_errno(SV_EUNSUPPORTED, e, "qemu_accel: kvm: KVM_GET_API_VERSION on %s", dev_kvm);
	if (version != KVM_API_VERSION)
		return sv_err(SV_EUNSUPPORTED, "qemu_accel: kvm: %s speaks KVM API %d, not %d", dev_kvm,
			      version, KVM_API_VERSION);
	return 0;
}

static bool is_pvm(const char *sys_module_dir)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/kvm_pvm", sys_module_dir);
	return stat(path, &st) == 0;
}

int sv_qemu_pick_accel_at(const char *requested, const char *sys_module_dir, const char *dev_kvm,
			  const char **out)
{
	*out = NULL;
	if (requested && strcmp(requested, "tcg") == 0) {
		*out = "tcg";
		return 0;
	}
	if (requested && strcmp(requested, "kvm") == 0) {
		int rc = probe_kvm(dev_kvm);
		if (rc)
			return rc;
		*out = "kvm";
		return 0;
	}
	if (requested && strcmp(requested, "auto") != 0)
		return sv_err(SV_EINVAL, "qemu_accel: must be \"kvm\", \"tcg\" or \"auto\", not \"%s\"",
			      requested);
	*out = (!is_pvm(sys_module_dir) && probe_kvm(dev_kvm) == 0) ? "kvm" : "tcg";
	sv_err_clear();
	return 0;
}

int sv_qemu_pick_accel(const char *requested, const char **out)
{
	return sv_qemu_pick_accel_at(requested, "/sys/module", "/dev/kvm", out);
}
