/* A child process that reports whether it got going: `create`'s container
 * process and `exec --detach`'s relay both fork, do their start-up in the
 * child, and let the parent return only once the child says "ok" (or why
 * not) on a pipe. */
#ifndef SV_OCI_FORK_H
#define SV_OCI_FORK_H

#include <stddef.h>
#include <sys/types.h>

/* Runs in the child; writes "ok" or its error text to ready_fd, closes it,
 * and never returns. */
typedef void (*oci_child_fn)(void *ctx, int ready_fd);

/* Forks a child running fn and reads its verdict into buf (up to EOF: ""
 * when it died without one). Returns 0 with *pid_out set, -1 when the pipe
 * or the fork failed (sv_last_error). */
int oci_fork_reporting(oci_child_fn fn, void *ctx, pid_t *pid_out, char *buf, size_t len);

#endif
