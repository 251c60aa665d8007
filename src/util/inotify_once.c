#include "util/inotify_once.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

int sv_inotify_once_fd(sv_inotify_once *in)
{
	if (in->fd == 0) {
		in->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (in->fd == 0) { /* stdin was closed: keep 0 free for "unset" */
			int fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
			close(0);
			in->fd = fd;
		}
	}
	return in->fd;
}

void sv_inotify_once_close(sv_inotify_once *in)
{
	if (in->fd > 0)
		close(in->fd);
	in->fd = 0;
}
