/* `smartvm run -i / -t -- CMD`: the command through the guest agent
 * (cmd_run_agent.c), kept apart from cmd_run.c so that file only forwards. */
#ifndef SMARTVM_CLI_CMD_RUN_AGENT_H
#define SMARTVM_CLI_CMD_RUN_AGENT_H

#include "cli.h"
#include "cmd_run_cmd.h"

typedef struct {
	bool interactive; /* -i: our stdin to the command */
	bool tty;	  /* -t: the command on a terminal */
	/* exec's -e, -w, -u (run leaves them at their defaults) */
	const char *const *env; /* NULL-terminated "K=V" */
	const char *cwd;
	uint32_t uid, gid;
	/* exec's --ulimit */
	const sv_exec_rlimit *rlimits;
	size_t n_rlimits;
} cli_run_agent;

#define CLI_RUN_AGENT_SHORTOPTS "it"
#define CLI_RUN_AGENT_LONGOPTS                                                                               \
	{"interactive", no_argument, NULL, 'i'}, { "tty", no_argument, NULL, 't' }

#define CLI_RUN_AGENT_USAGE " [-i] [-t]"

#define CLI_RUN_AGENT_HELP                                                                                   \
	"  -i, --interactive  with -- CMD: our stdin goes to CMD (needs the guest\n"                         \
	"                     agent; the minimal image has it)\n"                                            \
	"  -t, --tty          with -- CMD: run CMD on a terminal in the guest (our\n"                        \
	"                     terminal is put in raw mode; its size follows ours)\n"

/* Applies -i / -t. Returns -1 when c is not one of them, else 0. */
int cli_run_agent_option(cli_run_agent *a, int c);

/* After parsing: -i/-t need `-- CMD` and the foreground. Returns 0 or
 * CLI_EXIT_USAGE (message printed). */
int cli_run_agent_check(cli_ctx *cli, const cli_run_agent *a, bool has_command, bool detach);

/* Before start, for a foreground VM with a command: the guest's init is
 * asked to leave the command to its agent. Returns 0 or an exit code. */
int cli_run_agent_prepare(sv_vm *vm);

/* The foreground of a started VM with a command: through the agent when
 * the image has one (stdin with -i, a terminal with -t, stdout and stderr
 * apart; the VM is stopped afterwards), else the console as before
 * (cli_run_command_foreground). Returns the command's exit status: 126/127
 * when it could not run, 128+N after signal N; when the VM ends under the
 * command, 1 or CLI_EXIT_TIMEOUT (--timeout: the supervisor killed it) with
 * the console path's message. */
int cli_run_agent_foreground(sv_vm *vm, const cli_run_cmd *cmd, const cli_run_agent *a);

/* Runs argv in the running vm through its agent with our stdio (stdin with
 * -i, a raw terminal with -t, SIGINT/SIGTERM forwarded, SIGWINCH as
 * resizes) and returns its exit status as a shell would; messages printed.
 * Shared by `run` and `exec`. */
int cli_agent_exec(sv_vm *vm, char **argv, const cli_run_agent *a);

#endif
