/* Signal names as `kill ID SIGNAL` takes them: KILL, SIGKILL or 9. */
#ifndef OCI_SIGNAL_H
#define OCI_SIGNAL_H

/* The signal number, or 0 when text names none. */
int oci_signal_parse(const char *text);

#endif
