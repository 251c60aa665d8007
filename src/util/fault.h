/* Fault injection for the tests (README, "Testing": fault injection).
 *
 * SV_FAULT_POINT("launch.tap") marks one step of launch, snapshot, restore
 * or stop, at the place where a failure or a crash is most telling (for a
 * resource: after its ledger entry, before it is created). Read in order,
 * the points of a file are the list of its steps. In a build configured with
 * -Dfault_injection=enabled (the test trees) the macro calls sv_fault_point;
 * otherwise it is the constant 0: no code, no name in the binary, nothing an
 * installed smartvm could be made to do. Release and installed builds are
 * always without it (meson.build refuses to install a build that has it).
 *
 * Arming, in a build that has it: the environment (inherited by the
 * supervisor, so its steps can be armed too)
 *   SMARTVM_FAULT=POINT:ACTION[:N]     at the N-th hit of POINT (default 1)
 *   SMARTVM_FAULT_REPORT=FILE          optional
 * ACTION is one of
 *   fail   the step returns the error "fault injected at POINT"
 *   stop   the process stops itself (SIGSTOP), for the test to SIGKILL it
 *          or another process and SIGCONT what should go on
 *   kill   the process SIGKILLs itself
 * With SMARTVM_FAULT_REPORT the fault fires once across all processes that
 * share the file: the first to hit creates it (O_EXCL) with the line
 * "POINT ACTION PID\n" before acting; the others see it and go on. */
#ifndef SV_UTIL_FAULT_H
#define SV_UTIL_FAULT_H

#include "sv_build_config.h"

#if SV_FAULT_INJECTION
/* 0, or the injected error (the action "fail"). */
int sv_fault_point(const char *name);
#define SV_FAULT_POINT(name) sv_fault_point(name)
#else
#define SV_FAULT_POINT(name) 0
#endif

#endif
