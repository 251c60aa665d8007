/* Where smartvm-oci's messages go: stderr, and the --log file in runc's
 * formats (engines read errors from it: podman passes --log-format=json).
 * text: `time="..." level=error msg="..."`; json: one object per line with
 * level, msg, time. */
#ifndef OCI_LOG_H
#define OCI_LOG_H

#include <stdbool.h>

/* path NULL: stderr only. Returns 0 or an SV_E code with the message. */
int oci_log_open(const char *path, bool json);

/* Logs msg at "error" and returns exit code 1. */
int oci_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void oci_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A note for the --log file only (create's stderr is the container's). */
void oci_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
