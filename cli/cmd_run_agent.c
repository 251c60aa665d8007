/* `smartvm run [-i] [-t] -- CMD` (see cmd_run_agent.h).
 *
 * The VM boots with smartvm.exec=agent: an init with the agent leaves the
 * command to the host, which runs it with sv_exec once the agent answers;
 * an init without it runs the command on the console as always, and the
 * console path takes over (-i and -t then cannot be honoured: the command
 * already runs without them, so it is stopped and that is an error).
 * Signals: without -t, SIGINT/SIGTERM go to the command (its status then
 * says so, 130 for Ctrl-C); a third one stops the VM. With -t the terminal
 * is raw and Ctrl-C is a byte for the guest's terminal. */
#include "cmd_run_agent.h"

#include "cmd_run_cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define WAIT_STEP_MS 100
#define STOP_AFTER_SIGNALS 3
/* How long a VM whose agent went away may take to end, and then its
 * console to say why. */
#define VM_END_WAIT_MS 15000

static volatile sig_atomic_t last_signal, signals_seen, winch;

static void on_signal(int sig)
{
	if (sig == SIGWINCH) {
		winch = 1;
		return;
	}
	last_signal = sig;
	signals_seen++;
}

int cli_run_agent_option(cli_run_agent *a, int c)
{
	if (c == 'i')
		a->interactive = true;
	else if (c == 't')
		a->tty = true;
	else
		return -1;
	return 0;
}

int cli_run_agent_check(cli_ctx *cli, const cli_run_agent *a, bool has_command, bool detach)
{
	if ((a->interactive || a->tty) && !has_command)
		return cli_usage_error(cli, "-i and -t need a command: run ... -i -- CMD");
	if ((a->interactive || a->tty) && detach)
		return cli_usage_error(cli, "-i and -t need the foreground (not --detach)");
	return 0;
}

int cli_run_agent_prepare(sv_vm *vm)
{
	int rc = sv_vm_set_agent_exec(vm, true);
	return rc < 0 ? cli_fail(rc) : 0;
}

static void terminal_size(uint32_t *rows, uint32_t *cols)
{
	struct winsize ws = {0};
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		ws = (struct winsize){0};
	*rows = ws.ws_row ? ws.ws_row : 24;
	*cols = ws.ws_col ? ws.ws_col : 80;
}

/* The VM ended under an exec, or before one started (the library's error
 * says how that looked from the agent's side): when the VM has ended,
 * the command layer says why, as on the console path (a kernel panic, a
 * reset, --timeout: 124); else rc's message. */
static int ended_under_us(sv_vm *vm)
{
	char *msg = strdup(sv_last_error());
	sv_vm_state st = sv_vm_get_state(vm);
	if (st == SV_VM_RUNNING || st == SV_VM_PAUSED || st == SV_VM_CONFIGURING)
		sv_vm_wait(vm, VM_END_WAIT_MS);
	st = sv_vm_get_state(vm);
	int code;
	if (st == SV_VM_RUNNING || st == SV_VM_PAUSED || st == SV_VM_CONFIGURING) {
		code = cli_error(CLI_EXIT_FAILURE, "%s", msg ? msg : "out of memory");
	} else {
		int status;
		int wrc = sv_vm_wait_command(vm, VM_END_WAIT_MS, NULL, NULL, &status);
		code = wrc == SV_ETIMEOUT ? CLI_EXIT_TIMEOUT : wrc < 0 ? CLI_EXIT_FAILURE : 0;
		if (code)
			cli_fail(wrc);
		else
			code = cli_error(CLI_EXIT_FAILURE, "%s", msg ? msg : "out of memory");
	}
	free(msg);
	return code;
}

/* Waits until the agent answers or the init runs the command itself. */
static int how_it_runs(sv_vm *vm, bool *via_agent)
{
	for (;;) {
		if (cli_stop_requested()) {
			int rc = sv_vm_stop(vm, -1);
			return rc < 0 ? cli_fail(rc) : cli_error(130, "stopped before the command started");
		}
		int rc = sv_vm_command_via_agent(vm, WAIT_STEP_MS * 5, via_agent);
		if (rc == 0)
			return 0;
		if (rc == SV_EPROCESS) /* the VM ended */
			return ended_under_us(vm);
		if (rc != SV_ETIMEOUT)
			return cli_fail(rc);
	}
}

/* The -e variables, with TERM (ours, else xterm) for a terminal unless
 * given. malloc'd vector; strings borrowed but for *term. */
static const char **exec_env(const cli_run_agent *a, char **term)
{
	size_t n = 0;
	bool has_term = false;
	for (; a->env && a->env[n]; n++)
		has_term |= !strncmp(a->env[n], "TERM=", 5);
	const char **env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		env[i] = a->env[i];
	const char *t = getenv("TERM");
	if (a->tty && !has_term && asprintf(term, "TERM=%s", t && *t ? t : "xterm") > 0)
		env[n] = *term;
	return env;
}

/* Runs argv; returns its exit code (messages printed), or -1 with *rc set
 * and the library's error not yet printed when the exec itself failed.
 * drain_console: the VM's console pipe is read (and dropped: its copy is in
 * console.log) meanwhile, so that a talkative console never blocks the
 * guest. */
static int agent_exec(sv_vm *vm, char **argv, const cli_run_agent *a, bool drain_console, int *rc_out)
{
	char *term = NULL;
	const char **env = exec_env(a, &term);
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	o.stdin_fd = a->interactive ? STDIN_FILENO : -1;
	o.stdout_fd = STDOUT_FILENO;
	o.stderr_fd = STDERR_FILENO;
	o.env = env;
	o.cwd = a->cwd;
	o.uid = a->uid;
	o.gid = a->gid;
	o.rlimits = a->rlimits;
	o.n_rlimits = a->n_rlimits;
	if (a->tty) {
		o.tty = true;
		terminal_size(&o.tty_rows, &o.tty_cols);
	}
	struct termios saved;
	bool raw = a->tty && a->interactive && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART}, old_int, old_term, old_winch;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGWINCH, &sa, &old_winch);

	sv_exec *e = NULL;
	int status = -1, forwarded = 0;
	int rc = sv_exec_start(&e, vm, (const char *const *)argv, &o);
	bool started = rc == 0, gave_up = false;
	while (started && (rc = sv_exec_wait(e, WAIT_STEP_MS, &status)) == SV_ETIMEOUT) {
		const char *out;
		size_t len;
		if (drain_console)
			sv_vm_command_output(vm, &out, &len);
		if (winch) {
			winch = 0;
			uint32_t rows, cols;
			terminal_size(&rows, &cols);
			sv_exec_resize(e, rows, cols);
		}
		if (signals_seen > forwarded) {
			forwarded = signals_seen;
			if (forwarded >= STOP_AFTER_SIGNALS) {
				gave_up = true;
				break;
			}
			sv_exec_signal(e, last_signal);
		}
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGWINCH, &old_winch, NULL);
	int code = -1;
	*rc_out = rc;
	if (rc == 0 && sv_exec_start_error(e))
		code = cli_error(status, "VM \"%s\": %s", sv_vm_id(vm), sv_exec_start_error(e));
	else if (rc == 0)
		code = status;
	else if (gave_up)
		code = cli_error(128 + (int)last_signal, "VM \"%s\": stopped after %d signals", sv_vm_id(vm),
				 forwarded);
	sv_exec_free(e);
	free(env);
	free(term);
	return code;
}

int cli_agent_exec(sv_vm *vm, char **argv, const cli_run_agent *a)
{
	int rc;
	int code = agent_exec(vm, argv, a, false, &rc);
	return code >= 0 ? code : cli_fail(rc);
}

static int run_exec(sv_vm *vm, char **argv, const cli_run_agent *a)
{
	int rc;
	int code = agent_exec(vm, argv, a, true, &rc);
	if (code < 0)
		return ended_under_us(vm);
	/* The command is done; the VM was only there for it. */
	rc = sv_vm_stop(vm, -1);
	if (rc < 0 && code == 0)
		code = cli_fail(rc);
	return code;
}

int cli_run_agent_foreground(sv_vm *vm, const cli_run_cmd *cmd, const cli_run_agent *a)
{
	bool via_agent = false;
	int code = how_it_runs(vm, &via_agent);
	if (code)
		return code;
	if (via_agent)
		return run_exec(vm, cmd->argv, a);
	if (a->interactive || a->tty) {
		sv_vm_stop(vm, -1);
		return cli_error(
		    CLI_EXIT_FAILURE,
		    "VM \"%s\": -i and -t need the guest agent, and the image has none (its init ran the "
		    "command on the console); the VM was stopped",
		    sv_vm_id(vm));
	}
	return cli_run_command_foreground(vm);
}
