/* IPv4 forwarding on and, if we switched it, off again (see net_forward.h).
 * Never touches a setting someone else made. */
#include "net/net_forward.h"

#include "util/error.h"
#include "util/file.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define MARKER "ip_forward.smartvm"

static int read_forwarding(char *value)
{
	int fd = open(IP_FORWARD, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_ENETWORK, errno, "reading %s", IP_FORWARD);
	ssize_t n = read(fd, value, 1);
	close(fd);
	return n == 1 ? 0 : sv_err(SV_ENETWORK, "reading %s: empty", IP_FORWARD);
}

static int write_forwarding(const char *value)
{
	int fd = open(IP_FORWARD, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_ENETWORK, errno, "writing %s", IP_FORWARD);
	int rc = write(fd, value, 2) == 2 ? 0 : sv_err_errno(SV_ENETWORK, errno, "writing %s", IP_FORWARD);
	close(fd);
	return rc;
}

int sv_net_forwarding_on(const char *net_dir)
{
	char cur = 0;
	int rc = read_forwarding(&cur);
	if (rc || cur == '1')
		return rc ? sv_err_prefix("enabling IPv4 forwarding") : 0;
	char *marker = sv_path_join(net_dir, MARKER);
	if (!marker)
		return sv_err(SV_ENOMEM, "out of memory");
	rc = sv_write_file_atomic(marker, "0\n", 2, 0644);
	free(marker);
	if (!rc)
		rc = write_forwarding("1\n");
	return rc ? sv_err_prefix("enabling IPv4 forwarding") : 0;
}

int sv_net_forwarding_restore(const char *net_dir)
{
	char *marker = sv_path_join(net_dir, MARKER);
	if (!marker)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = 0;
	if (sv_path_exists(marker)) {
		rc = write_forwarding("0\n");
		if (!rc && unlink(marker) != 0 && errno != ENOENT)
			rc = sv_err_errno(SV_EIO, errno, "removing %s", marker);
	}
	free(marker);
	return rc ? sv_err_prefix("restoring IPv4 forwarding") : 0;
}
