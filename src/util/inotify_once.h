/* One non-blocking inotify instance created on first use and kept: closing
 * one costs the kernel an RCU grace period (10-20 ms), more than the waits it
 * serves. Zero-initialised means "not created yet". */
#ifndef SV_UTIL_INOTIFY_ONCE_H
#define SV_UTIL_INOTIFY_ONCE_H

typedef struct {
	int fd; /* 0 = not created yet (fd 0 is never ours), -1 = unavailable */
} sv_inotify_once;

/* The instance's fd, created now if need be; -1 if inotify is unavailable. */
int sv_inotify_once_fd(sv_inotify_once *in);
void sv_inotify_once_close(sv_inotify_once *in);

#endif
