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
	CLI_OPT_RUN_TIMEOUT,
};

/* `smartvm run`'s exit code when --timeout passed (as timeout(1)'s). */
#define CLI_EXIT_TIMEOUT 124

#define CLI_RUN_VMM_LONGOPTS                                                                                 \
	{"vmm", required_argument, NULL, CLI_OPT_RUN_VMM},                                                   \
	    {"accel", required_argument, NULL, CLI_OPT_RUN_ACCEL},                                           \
	{                                                                                                    \
		"timeout", required_argument, NULL, CLI_OPT_RUN_TIMEOUT                                      \
	}

#define CLI_RUN_VMM_USAGE                                                                                    \
	" [--vmm firecracker|qemu|auto] [--accel kvm|tcg|auto]\n [--timeout DURATION] [-- CMD [ARG]...]"

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
	"                     signal N, 127 if it could not be run); 1 (with a\n"                            \
	"                     message) if the VM ends without the command's final\n"                         \
	"                     exit line: a kernel panic, a reset, a crash, or an\n"                          \
	"                     exit line not followed by the VM powering off within\n"                        \
	"                     10 s (the VM is then killed)\n"                                                \
	"  --timeout DURATION with -- CMD: kill the VM when the whole run (boot,\n"                          \
	"                     command, power-off) takes longer, and exit 124;\n"                             \
	"                     DURATION is a number with an optional unit s (the\n"                           \
	"                     default), m, h or d; 0 means no limit (the default)\n"

/* What `-- CMD` and its options asked for. */
typedef struct {
	char **argv;	/* the words after "--" (into argv); NULL = none */
	int timeout_ms; /* --timeout; 0 = none */
} cli_run_cmd;

/* Applies --vmm / --accel to cli->opts and --timeout to *cmd. Returns -1
 * when c is not one of them, else 0 or CLI_EXIT_USAGE (message printed). */
int cli_run_vmm_option(cli_ctx *cli, cli_run_cmd *cmd, int c, const char *arg);

/* After parsing: --timeout needs `-- CMD` and the foreground (detached, the
 * command's end is nobody's to report). 0 or CLI_EXIT_USAGE. */
int cli_run_command_check(cli_ctx *cli, const cli_run_cmd *cmd, bool detach);

/* Gives vm the command and its options (nothing without a command); a
 * detached one gets the console as its terminal (for `smartvm attach`).
 * Returns 0 or an exit code (message printed). */
int cli_run_set_command(sv_vm *vm, const cli_run_cmd *cmd, bool detach);

/* Cuts argv at the first "--": *argc becomes the count before it and *cmd
 * the NULL-terminated words after it (pointing into argv), or NULL when
 * there is no "--". Returns 0, or CLI_EXIT_USAGE when "--" has no command. */
int cli_run_split_command(cli_ctx *cli, int *argc, char **argv, char ***cmd);

/* The foreground of a VM running a command: streams the command's output
 * to stdout as it comes, stops the VM gracefully on SIGINT/SIGTERM, and
 * returns the command's exit status, CLI_EXIT_TIMEOUT when --timeout passed,
 * or 1 when the VM ended without the command finishing (message printed). */
int cli_run_command_foreground(sv_vm *vm);

#endif
