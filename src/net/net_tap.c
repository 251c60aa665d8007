/* TAP creation: TUNSETIFF then TUNSETPERSIST on /dev/net/tun, then the fd is
 * closed: the device outlives us until it is deleted over netlink (the tap
 * ledger entry's undo). The VMM opens the same name again with its own flags
 * (Firecracker and QEMU add IFF_VNET_HDR); a persistent TAP accepts that.
 * Never creates a multi-queue device: neither VMM attaches to one here. */
#include "net/net_tap.h"

#include "util/error.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int sv_tap_create(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_ENETWORK, errno, "creating TAP %s: opening /dev/net/tun", name);
	struct ifreq ifr = { 0 };
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int rc = 0;
	if (ioctl(fd, TUNSETIFF, &ifr) != 0)
		rc = sv_err_errno(SV_ENETWORK, errno, "creating TAP %s: TUNSETIFF", name);
	else if (ioctl(fd, TUNSETPERSIST, 1) != 0)
		rc = sv_err_errno(SV_ENETWORK, errno, "creating TAP %s: TUNSETPERSIST", name);
	close(fd);
	return rc;
}
