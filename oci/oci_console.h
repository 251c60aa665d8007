/* process.terminal: a pseudo-terminal on the host whose master goes to the
 * engine over --console-socket (SCM_RIGHTS, as runc sends it) and whose
 * slave the container process relays to the guest's own terminal. The
 * slave is raw: the guest's terminal does the line discipline, once. */
#ifndef OCI_CONSOLE_H
#define OCI_CONSOLE_H

/* Opens the pair, sends the master to the unix socket at socket_path and
 * closes it here. *slave_out is the slave (O_CLOEXEC, not our controlling
 * terminal yet). */
int oci_console_setup(const char *socket_path, int *slave_out);

#endif
