/* The supervisor's relay between clients of <vm dir>/agent.sock and the
 * guest agent (supervisor_agent.c). */
#ifndef SV_VM_SUPERVISOR_AGENT_H
#define SV_VM_SUPERVISOR_AGENT_H

typedef struct sv_agent_relay sv_agent_relay;

/* Listens on <vm_dir>/agent.sock (0600, made through the directory's fd).
 * Nothing else happens until a client connects. */
int sv_agent_relay_open(sv_agent_relay **out, const char *vm_dir);

/* Readable whenever the relay has work: poll it with the supervisor's
 * other fds and call sv_agent_relay_run then. */
int sv_agent_relay_fd(const sv_agent_relay *r);

/* Does what is ready; never blocks. */
void sv_agent_relay_run(sv_agent_relay *r);

/* Disconnects everyone and removes the socket. NULL is fine. */
void sv_agent_relay_free(sv_agent_relay *r);

#endif
