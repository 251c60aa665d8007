/* The terminal handed to the engine (see oci_console.h). */
#include "oci_console.h"

#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <smartvm/error.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int send_fd(const char *socket_path, int fd, const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return sv_err(SV_EINVAL, "--console-socket %s: path too long", socket_path);
	strcpy(sa.sun_path, socket_path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int rc = sv_err_errno(SV_EIO, errno, "--console-socket %s", socket_path);
		if (s >= 0)
			close(s);
		return rc;
	}
	char control[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	int rc = sendmsg(s, &msg, MSG_NOSIGNAL) < 0
		     ? sv_err_errno(SV_EIO, errno, "--console-socket %s: sending the terminal", socket_path)
		     : 0;
	close(s);
	return rc;
}

int oci_console_setup(const char *socket_path, int *slave_out)
{
	char name[128];
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), slave = -1, rc;
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, name, sizeof(name)) != 0 ||
	    (slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		rc = sv_err_errno(SV_EIO, errno, "opening a pseudo-terminal for process.terminal");
		goto fail;
	}
	struct termios t;
	if (tcgetattr(slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(slave, TCSANOW, &t);
	}
	if ((rc = send_fd(socket_path, master, name)))
		goto fail;
	close(master);
	*slave_out = slave;
	return 0;
fail:
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	return rc;
}
