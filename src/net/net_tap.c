/* TAP creation: TUNSETIFF then TUNSETPERSIST on /dev/net/tun, then the fd is
 * closed: the device outlives us until it is deleted over netlink (the tap
 * ledger entry's undo). The VMM opens the same name again with its own flags
 * (Firecracker and QEMU add IFF_VNET_HDR); a persistent TAP accepts that.
 *
 * Creation is exclusive (IFF_TUN_EXCL): a TAP of that name that exists
 * already belongs to someone else (another VM whose derived name collides,
 * other software), and re-opening it would hand their device to this VM.
 * Each TAP is marked with its owner's alias right after creation, which is
 * how a cleanup later tells it from a device that took the name. Never
 * creates a multi-queue device: neither VMM attaches to one here. */
#include "net/net_tap.h"

#include "net/net_link.h"
#include "util/error.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int sv_tap_create(const char *name, const char *alias)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_ENETWORK, errno, "creating TAP %s: opening /dev/net/tun", name);
	struct ifreq ifr = { 0 };
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int rc = 0;
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		if (errno == EBUSY)
			rc = sv_err(SV_EEXISTS,
				    "creating TAP %s: a device of that name exists already (another VM's, other "
				    "software's, or left behind: `smartvm net gc` removes those of dead VMs)",
				    name);
		else
			rc = sv_err_errno(SV_ENETWORK, errno, "creating TAP %s: TUNSETIFF", name);
		close(fd);
		return rc;
	}
	if (ioctl(fd, TUNSETPERSIST, 1) != 0) {
		rc = sv_err_errno(SV_ENETWORK, errno, "creating TAP %s: TUNSETPERSIST", name);
		close(fd);
		return rc;
	}
	close(fd);
	sv_nl_link link;
	if ((rc = sv_nl_link_get(name, &link)) == 0 && (rc = sv_nl_link_set_alias(name, alias)) != 0) {
		/* Unmarked, no cleanup could tell it is ours: take it back now. */
		sv_err_saved saved;
		sv_err_save(&saved);
		sv_nl_link_del_checked(&link);
		sv_err_restore(&saved);
	}
	return rc ? sv_err_prefix("creating TAP %s", name) : 0;
}
