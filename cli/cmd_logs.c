/* `smartvm logs`: the VM's console output (<vm dir>/console.log, and the
 * generation before it, console.log.1).
 *
 * Reads through one fd opened at the start (cli_console.c), so a follower
 * keeps everything the guest wrote even when the VM's cleanup removes the
 * file, and follows the log's rotation. On a terminal the guest's bytes are
 * shown escaped. Never writes to the VM directory and never changes the VM: a
 * VM that ends while we follow is cleaned up by its own supervisor, and we
 * just notice its directory is gone.
 */
#include "cli.h"
#include "cli_console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How often a follower looks for new output and for the VM's end. */
#define FOLLOW_POLL_MS 100

static bool path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Every this many polls, also ask the library: a VM whose supervisor was
 * killed keeps its directory until gc, but its state says it has ended. */
#define FOLLOW_STATE_EVERY 10

static bool vm_ended(sv_vm *vm)
{
	sv_vm_state s = sv_vm_get_state(vm);
	return s == SV_VM_STOPPED || s == SV_VM_ERROR;
}

static int follow(cli_console *con, sv_vm *vm, bool from_previous)
{
	const char *dir = sv_vm_dir(vm);

	cli_catch_stop_signals();
	for (unsigned round = 1;; round++) {
		/* Check for the end before draining, so the last drain sees
		 * everything written before the VM went away. */
		bool gone = !path_exists(dir) || (round % FOLLOW_STATE_EVERY == 0 && vm_ended(vm));
		if (cli_console_pump(con, round == 1 && from_previous) < 0)
			return CLI_EXIT_OK; /* the reader went away (logs -f | head) */
		if (gone || cli_stop_requested())
			return CLI_EXIT_OK;
		poll(NULL, 0, FOLLOW_POLL_MS);
	}
}

static int cmd_logs(cli_ctx *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {"tail", required_argument, NULL, 'n'},
	    {0},
	};
	uint32_t tail = 0;
	bool has_tail = false;
	cli_opts p;
	const char *id = NULL;
	sv_vm *vm = NULL;
	bool follow_output = false;
	int c, rc;

	cli_opts_begin(&p, cli, argc, argv, "fn:", longopts);
	while ((c = cli_opts_next(&p)) > 0) {
		if (c == 'f')
			follow_output = true;
		else if (c == 'n' && (has_tail = true) &&
			 (rc = cli_parse_u32(cli, "--tail", p.optarg, 0, UINT32_MAX, &tail)))
			return rc;
	}
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	if ((rc = cli_one_arg(&p, "VM id (ID)", &id)) || (rc = cli_attach(cli, id, &vm)))
		return rc;

	const char *path = sv_vm_console_path(vm);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_error(CLI_EXIT_FAILURE, "VM \"%s\": opening console log %s: %s", id, path,
				 strerror(errno));
	close(fd);
	cli_console con;
	cli_console_init(&con, path);
	if (has_tail && cli_console_tail(&con, tail) < 0) {
		rc = cli_error(CLI_EXIT_FAILURE, "writing to stdout: %s", strerror(errno));
	} else if (follow_output) {
		rc = follow(&con, vm, !has_tail);
	} else {
		rc = cli_console_pump(&con, !has_tail) < 0
			 ? cli_error(CLI_EXIT_FAILURE, "writing to stdout: %s", strerror(errno))
			 : CLI_EXIT_OK;
	}
	cli_console_close(&con);
	return rc;
}

const cli_command cli_logs_commands[] = {
    {
	.name = "logs",
	.summary = "Print a VM's console output",
	.usage = "ID [-f] [-n N]",
	.help = "Prints the VM's console log (the guest's serial console, kept in\n"
		"<runtime dir>/<ID>/console.log; at most 1 MiB, the 1 MiB before it in\n"
		"console.log.1). On a terminal, control characters and bytes >= 0x80\n"
		"are shown as \\xNN (the guest chose them); pipe the output for the\n"
		"exact bytes.\n"
		"\n"
		"A VM that ended detached keeps its console log with its end record\n"
		"until 'smartvm rm'.\n"
		"\n"
		"Options:\n"
		"  -f, --follow  keep printing new output as it arrives, until the VM is\n"
		"                gone (its runtime directory removed), has ended, or\n"
		"                SIGINT/SIGTERM; exits 0 either way\n"
		"  -n, --tail N  start with the last N lines only (0: none, only what\n"
		"                follows with -f)\n"
		"\n"
		"Exits 1 if there is no VM with that id or it has no console log.\n",
	.handler = cmd_logs,
    },
    {0},
};
