/* The agent's end-to-end cases (exec, stdin, TTY, copies, 1 GiB of output
 * with bounded memory), written once and run against every transport: a
 * real QEMU guest (test_realvm_agent.c) and the fake Firecracker relaying
 * its vsock to an agent on the host (test_agent_firecracker.c). Include
 * after svtest.h. */
#ifndef SVTEST_AGENTCASES_H
#define SVTEST_AGENTCASES_H

#include <smartvm/smartvm.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
	sv_vm *vm;		 /* running, its agent answering */
	const char *runtime_dir; /* its manager's (for the supervisor's pid) */
	char *guest_dir;	 /* a fresh directory in the guest the cases may use */
	char *host_dir;		 /* a fresh directory on the host the cases may use */
	bool tty;		 /* pseudo-terminals work there (not on the host agent of the tests) */
} svag_target;

/* The cases run against t (set before cmocka runs them). */
void svag_set_target(svag_target *t);

/* The cases; a target without terminals leaves out the ones named *_tty_*. */
extern const struct CMUnitTest svag_cases[];
extern const size_t svag_n_cases;

/* SHA-256 of a file as 64 hex digits (into hex[65]). */
void svag_sha256_file(const char *path, char hex[65]);

/* VmHWM (peak resident set) of a process in KiB, and resetting it to the
 * current RSS (so a peak measures what came after). */
long svag_peak_rss_kib(int pid);
void svag_reset_peak_rss(int pid);

#endif
