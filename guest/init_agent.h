/* What guest/init.c shares with its agent part (init_agent.c). */
#ifndef SV_GUEST_INIT_AGENT_H
#define SV_GUEST_INIT_AGENT_H

#include <stdbool.h>
#include <sys/types.h>

/* The boot arguments the agent part reads. */
#define SV_INIT_AGENT_OFF "smartvm.agent=off"
#define SV_INIT_EXEC_AGENT "smartvm.exec=agent"

/* init.c */
int init_load_module(const char *name);
int init_open_power_buttons(int *fds);
bool init_power_pressed(int fd);
bool init_boot_flag(const char *word);

/* Starts /sbin/smartvm-agent as a daemon when the guest has a transport for
 * it (the virtio-serial port or vsock) and the boot args do not say
 * smartvm.agent=off; chrooted into the mounted root when there is one.
 * Returns its pid, or 0 when it was not started. */
pid_t init_agent_start(bool in_root);

/* With smartvm.exec=agent and the agent running: the host runs the
 * commands through the agent. Keeps the agent running (restarting it if it
 * dies), reaps orphans, and returns when the VM should power off: a power
 * button press (after SIGTERM to everything, 3 s to end) or poweroff /
 * reboot / halt asked of PID 1 by signal (busybox's SIGUSR2 / SIGTERM /
 * SIGUSR1). */
void init_agent_serve(pid_t agent, bool in_root);

#endif
