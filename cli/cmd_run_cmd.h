/* `smartvm run`'s choice of VMM (--vmm, --accel) and the command it runs in
 * the guest (`-- CMD ARGS...`), kept apart from cmd_run.c so that file only
 * forwards them. */
#ifndef SMARTVM_CLI_CMD_RUN_CMD_H
#define SMARTVM_CLI_CMD_RUN_CMD_H

#include "cli.h"

/* Option values, clear of cmd_run.c's and cmd_net.h's. */
enum {
	CLI_OPT_RUN_VMM = CLI_OPT_LONG_BASE + 0xC0,
	CLI_OPT_RUN_ACCEL,
};

#define CLI_RUN_VMM_LONGOPTS                                                                                 \
	{"vmm", required_argument, NULL, CLI_OPT_RUN_VMM},                                                   \
	{                                                                                                    \
		"accel", required_argument, NULL, CLI_OPT_RUN_ACCEL                                          \
	}

#define CLI_RUN_VMM_USAGE " [--vmm firecracker|qemu|auto] [--accel kvm|tcg|auto] [-- CMD [ARG]...]"

#define CLI_RUN_VMM_HELP                                                                                     \
	"  --vmm firecracker|qemu|auto\n"                                                                    \
	"                     the VMM (default auto: Firecracker when a binary is\n"                         \
	"                     given or cached, else qemu-system-x86_64 from PATH)\n"                         \
	"  --accel kvm|tcg|auto\n"                                                                           \
	"                     QEMU's accelerator (default auto: kvm when /dev/kvm is\n"                      \
	"                     usable and not a nested PVM hypervisor, else tcg)\n"                           \
	"  -- CMD [ARG]...    run CMD in the guest (images with smartvm's init, e.g.\n"                      \
	"                     `smartvm image build-minimal`): print only its output,\n"                      \
	"                     exactly, and exit with its exit status (128+N for\n"                           \
	"                     signal N, 127 if it could not be run)\n"

/* Applies --vmm / --accel to cli->opts. Returns -1 when c is not one of
 * them, else 0 or CLI_EXIT_USAGE (message printed). */
int cli_run_vmm_option(cli_ctx *cli, int c, const char *arg);

/* Cuts argv at the first "--": *argc becomes the count before it and *cmd
 * the NULL-terminated words after it (pointing into argv), or NULL when
 * there is no "--". Returns 0, or CLI_EXIT_USAGE when "--" has no command. */
int cli_run_split_command(cli_ctx *cli, int *argc, char **argv, char ***cmd);

/* The foreground of a VM running a command: streams the command's output
 * to stdout as it comes, stops the VM gracefully on SIGINT/SIGTERM, and
 * returns the command's exit status, or 1 (message printed) when the VM
 * ended before the command finished. */
int cli_run_command_foreground(sv_vm *vm);

#endif
