/* IPv4 forwarding on and, if we switched it, off again (see net_forward.h).
 * Never touches a setting someone else made. */
#include "net/net_forward.h"

#include "util/error.h"
#include "util/file.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define MARKER "ip_forward.smartvm"

static int read_setting(const char *path, char *value)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_ENETWORK, errno, "reading %s", path);
	ssize_t n = read(fd, value, 1);
	close(fd);
	return n == 1 ? 0 : sv_err(SV_ENETWORK, "reading %s: empty", path);
}

static int write_setting(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_ENETWORK, errno, "writing %s", path);
	int rc = write(fd, value, 2) == 2 ? 0 : sv_err_errno(SV_ENETWORK, errno, "writing %s", path);
	close(fd);
	return rc;
}

static int read_forwarding(char *value) { return read_setting(IP_FORWARD, value); }

static int write_forwarding(const char *value) { return write_setting(IP_FORWARD, value); }

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

/* route_localnet of one bridge, and the marker saying we switched it on. */
static int localnet_paths(const char *net_dir, const char *bridge, char **setting, char **marker)
{
	char *name = NULL;
	*setting = *marker = NULL;
	if (asprintf(setting, "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge) < 0 ||
	    asprintf(&name, "%s.route_localnet", bridge) < 0 || !(*marker = sv_path_join(net_dir, name))) {
		free(name);
		free(*setting);
		*setting = NULL;
		return sv_err(SV_ENOMEM, "out of memory");
	}
	free(name);
	return 0;
}

int sv_net_route_localnet_on(const char *net_dir, const char *bridge)
{
	char *setting, *marker, cur = 0;
	int rc = localnet_paths(net_dir, bridge, &setting, &marker);
	if (!rc && !(rc = read_setting(setting, &cur)) && cur != '1' &&
	    !(rc = sv_write_file_atomic(marker, "0\n", 2, 0644)))
		rc = write_setting(setting, "1\n");
	free(setting);
	free(marker);
	return rc ? sv_err_prefix("letting published ports be reached at 127.0.0.1 (route_localnet of %s)",
				  bridge)
		  : 0;
}

int sv_net_route_localnet_restore(const char *net_dir, const char *bridge)
{
	char *setting, *marker;
	int rc = localnet_paths(net_dir, bridge, &setting, &marker);
	if (!rc && sv_path_exists(marker)) {
		/* A bridge that is gone took its setting along. */
		if (sv_path_exists(setting))
			rc = write_setting(setting, "0\n");
		if (!rc && unlink(marker) != 0 && errno != ENOENT)
			rc = sv_err_errno(SV_EIO, errno, "removing %s", marker);
	}
	free(setting);
	free(marker);
	return rc ? sv_err_prefix("restoring route_localnet of %s", bridge) : 0;
}
