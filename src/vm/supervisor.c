/* The per-VM supervisor (the conmon / containerd-shim pattern). It forks once
 * so that init, not the orchestrator, is its parent; spawns the VMM with its
 * console going to console.log; and waits. When the VMM exits for any reason
 * it reports how (to the orchestrator, if one is still listening), replays
 * the VM's ledger and exits. If the orchestrator disappears without having
 * detached the VM (its control pipe closes without a 'D'), it kills the VMM:
 * an attached VM never outlives the process that owns it. And no VMM
 * outlives its supervisor: it is spawned with SIGKILL as its parent-death
 * signal, so a supervisor killed outright takes its VMM along (the
 * orchestrator, if attached, then replays the ledger).
 *
 * It holds the VM directory's lock for its whole life: a held lock is what
 * tells `smartvm gc` that a VM is alive. It also relays between clients of
 * <vm dir>/agent.sock and the guest agent (supervisor_agent.c). */
#include "vm/supervisor.h"

#include "util/error.h"
#include "util/file.h"
#include "util/ledger.h"
#include "util/log.h"
#include "util/spawn.h"
#include "vm/supervisor_agent.h"
#include "vm/vm_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONSOLE_TAIL_LINES 20

typedef struct {
	int status_fd, control_fd, lock_fd;
	const char *vm_dir;
} sup_args;

static int parse_args(int argc, char **argv, sup_args *a)
{
	*a = (sup_args){ -1, -1, -1, NULL };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--status-fd") && i + 1 < argc)
			a->status_fd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--control-fd") && i + 1 < argc)
			a->control_fd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--lock-fd") && i + 1 < argc)
			a->lock_fd = atoi(argv[++i]);
		else if (argv[i][0] != '-' && !a->vm_dir)
			a->vm_dir = argv[i];
		else
			return -1;
	}
	return a->vm_dir ? 0 : -1;
}

static void report(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(int fd, const char *fmt, ...)
{
	if (fd < 0)
		return;
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n > 0 && write(fd, text, (size_t)n) < 0)
		sv_debug("supervisor: status pipe closed");
	free(text);
}

static void set_cloexec(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* argv and console path from launch.json. */
static int read_launch(const char *vm_dir, char ***argv, char **console)
{
	/* It names what we run as root: read it without following a link. */
	int dfd = open(vm_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *text = NULL;
	int rc = dfd < 0 ? sv_err_errno(SV_EIO, errno, "opening %s", vm_dir)
			 : sv_read_file_at(dfd, vm_dir, SV_VM_LAUNCH_FILE, 1 << 20, &text, NULL);
	if (dfd >= 0)
		close(dfd);
	if (rc)
		return rc;
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr);
	free(text);
	if (!o)
		return sv_err(SV_EIO, "reading %s/%s: %s", vm_dir, SV_VM_LAUNCH_FILE, jerr.text);
	json_t *args = json_object_get(o, "argv");
	size_t n = json_array_size(args);
	const char *cons = json_string_value(json_object_get(o, "console"));
	*argv = calloc(n + 1, sizeof(char *));
	*console = cons ? strdup(cons) : NULL;
	rc = (*argv && *console && n) ? 0 : sv_err(SV_EINVAL, "%s/%s: incomplete", vm_dir, SV_VM_LAUNCH_FILE);
	for (size_t i = 0; !rc && i < n; i++)
		if (!((*argv)[i] = strdup(json_string_value(json_array_get(args, i)) ?: "")))
			rc = sv_err(SV_ENOMEM, "out of memory");
	json_decref(o);
	return rc;
}

static int spawn_vmm(const char *vm_dir, pid_t *pid, int *pidfd, char **console_path)
{
	char **argv = NULL;
	int rc = read_launch(vm_dir, &argv, console_path);
	if (rc) {
		sv_strv_free(argv);
		return rc;
	}
	int console = open(*console_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (console < 0) {
		rc = sv_err_errno(SV_EIO, errno, "opening %s", *console_path);
		sv_strv_free(argv);
		return rc;
	}
	/* The VMM runs in the VM directory: relative paths in its config (staged
	 * drives) resolve there, which is what lets a snapshot be restored into
	 * another VM directory (Firecracker re-opens drives at the stored paths). */
	sv_spawn_opts so = { .argv = (const char *const *)argv, .stdin_fd = -1, .stdout_fd = console,
			     .stderr_fd = console, .cwd = vm_dir };

	/* The VMM must not outlive us: killed with SIGKILL, we could not stop
	 * it, and nobody else knows to. */
	so.parent_death_signal = SIGKILL;
	rc = sv_spawn(&so, pid, pidfd);
	close(console);
	sv_strv_free(argv);
	return rc;
}

/* With its start time and executable: gc kills only that very process. */
static void record_vmm_pid(const char *vm_dir, pid_t pid)
{
	sv_ledger *ledger;
	if (sv_ledger_open(&ledger, vm_dir) != 0)
		return;
	sv_ledger_record_pid(ledger, pid);
	sv_ledger_close(ledger);
}

/* Waits for the VMM; handles the control pipe and relays for the guest
 * agent. Returns the VMM's wait status. */
static int watch(pid_t vmm, int vmm_pidfd, int control_fd, sv_agent_relay *relay)
{
	bool detached = false;
	for (;;) {
		struct pollfd p[3] = { { .fd = vmm_pidfd, .events = POLLIN }, { .fd = control_fd, .events = POLLIN },
				       { .fd = sv_agent_relay_fd(relay), .events = POLLIN } };
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[2].revents)
			sv_agent_relay_run(relay);
		if (control_fd >= 0 && p[1].revents) {
			char c;
			ssize_t n = read(control_fd, &c, 1);
			if (n == 1 && c == 'D') {
				detached = true;
			} else if (n <= 0) {
				close(control_fd);
				control_fd = -1;
				if (!detached) /* the orchestrator died holding this VM */
					kill(vmm, SIGKILL);
			}
		}
	}
	int status = 0;
	sv_reap(vmm, -1, &status);
	if (control_fd >= 0)
		close(control_fd);
	return status;
}

static bool stop_was_requested(const char *vm_dir)
{
	char *path = sv_path_join(vm_dir, SV_VM_STOP_MARKER);
	struct stat st;
	bool yes = path && fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	free(path);
	return yes;
}

int sv_supervisor_main(int argc, char **argv)
{
	sup_args a;
	if (parse_args(argc, argv, &a) != 0) {
		fprintf(stderr, "usage: smartvm-supervisor --status-fd N --control-fd N --lock-fd N VM_DIR\n"
				"(started by libsmartvm for every VM; not for direct use)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	set_cloexec(a.status_fd);
	set_cloexec(a.control_fd);
	set_cloexec(a.lock_fd);

	/* Leave the orchestrator's process tree: it must not have to reap us. */
	pid_t child = fork();
	if (child < 0) {
		report(a.status_fd, "exit error the supervisor could not fork: %s\n", strerror(errno));
		return 1;
	}
	if (child > 0)
		_exit(0);
	report(a.status_fd, "sup %d %llu\n", (int)getpid(), sv_process_start_time(getpid()));

	/* agent.sock exists before the VMM does; a VM without it still runs. */
	sv_agent_relay *relay = NULL;
	if (sv_agent_relay_open(&relay, a.vm_dir) != 0)
		sv_warn("the guest agent's socket: %s", sv_last_error());
	pid_t vmm = 0;
	int vmm_pidfd = -1;
	char *console = NULL;
	int rc = spawn_vmm(a.vm_dir, &vmm, &vmm_pidfd, &console);
	if (rc) {
		report(a.status_fd, "exit error %s\n", sv_last_error());
		sv_agent_relay_free(relay);
		free(console);
		sv_vm__cleanup_dir(a.vm_dir);
		return 1;
	}
	unsigned long long start = sv_process_start_time(vmm);
	record_vmm_pid(a.vm_dir, vmm);
	report(a.status_fd, "pid %d %llu\n", (int)vmm, start);

	int status = watch(vmm, vmm_pidfd, a.control_fd, relay);
	close(vmm_pidfd);
	sv_agent_relay_free(relay);
	bool requested = stop_was_requested(a.vm_dir);
	bool clean = requested || (WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char *tail = sv_file_tail(console, CONSOLE_TAIL_LINES);
	const char *vmm_name = argv[0];
	(void)vmm_name;
	report(a.status_fd, "exit %s the VMM %s%s; last console lines:\n%s\n", clean ? "stopped" : "error",
	       sv_describe_wait_status(status), requested ? " after a stop request" : "", tail ? tail : "");
	free(tail);
	free(console);
	if (sv_vm__cleanup_dir(a.vm_dir) != 0)
		sv_warn("cleaning up after the VMM: %s", sv_last_error());
	if (a.status_fd >= 0)
		close(a.status_fd);
	return clean ? 0 : 1;
}
