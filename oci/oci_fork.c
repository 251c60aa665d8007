/* The reporting child (see oci_fork.h). */
#include "oci_fork.h"

#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <unistd.h>

static void read_verdict(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;
	while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) != 0) {
		if (r < 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
}

int oci_fork_reporting(oci_child_fn fn, void *ctx, pid_t *pid_out, char *buf, size_t len)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return sv_err_errno(SV_EIO, errno, "pipe");
	fflush(NULL); /* nothing buffered is written twice */
	pid_t pid = fork();
	if (pid < 0) {
		close(ready[0]);
		close(ready[1]);
		return sv_err_errno(SV_EIO, errno, "fork");
	}
	if (pid == 0) {
		close(ready[0]);
		fn(ctx, ready[1]);
		_exit(1); /* fn does not return */
	}
	close(ready[1]);
	read_verdict(ready[0], buf, len);
	close(ready[0]);
	*pid_out = pid;
	return 0;
}
