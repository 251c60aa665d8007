/* The per-VM supervisor (the conmon / containerd-shim pattern). Exec'd, it
 * forks once so that init, not the orchestrator, is its parent; forked by the
 * manager's fork server (supervisor_server.c), it is that server's child,
 * reaped by the kernel, and re-parented the same way once the server ends.
 * It spawns the VMM with its
 * stdout (the console) and stderr relayed by vmm_output.c, in its one poll
 * loop; and waits. When the VMM exits for any reason
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
#include "util/fault.h"
#include "util/file.h"
#include "util/ledger.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/trace.h"
#include <smartvm/command.h>
#include "vm/supervisor_agent.h"
#include "vm/vm_internal.h"
#include "vm/vmm_output.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* After the VMM ended: how long its output may take to reach the logs and
 * the console pipe. Less than the orchestrator's wait for our report. */
#define OUTPUT_DRAIN_MS 5000

static int parse_args(int argc, char **argv, sv_supervisor_fds *a)
{
	*a = (sv_supervisor_fds){-1, -1, -1, -1, NULL, 0};
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--status-fd") && i + 1 < argc)
			a->status_fd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--console-fd") && i + 1 < argc)
			a->console_fd = atoi(argv[++i]);
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

/* What launch.json says beyond argv and the console path. */
typedef struct {
	long long deadline_ms; /* CLOCK_MONOTONIC; 0 = none */
	bool qemu;	       /* the VMM is QEMU */
	char *then_exe;	       /* what the VMM execs in turn (the jailer's firecracker), or NULL */
	char *vmm;	       /* the backend's name, for the end record */
	json_t *command;       /* the command the VM runs (argv array), or NULL */
} launch_info;

/* argv, console path and the rest from launch.json. */
static int read_launch(const char *vm_dir, char ***argv, char **console, launch_info *info)
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
	info->deadline_ms = json_integer_value(json_object_get(o, "deadline_ms"));
	const char *vmm = json_string_value(json_object_get(o, "vmm"));
	info->qemu = vmm && !strcmp(vmm, "qemu");
	info->vmm = vmm ? strdup(vmm) : NULL;
	json_t *command = json_object_get(o, "command");
	info->command = json_is_array(command) ? json_incref(command) : NULL;
	const char *then = json_string_value(json_object_get(o, "then_exe"));
	*argv = calloc(n + 1, sizeof(char *));
	*console = cons ? strdup(cons) : NULL;
	info->then_exe = then ? strdup(then) : NULL;
	rc = (*argv && *console && n && (info->then_exe || !then))
		 ? 0
		 : sv_err(SV_EINVAL, "%s/%s: incomplete", vm_dir, SV_VM_LAUNCH_FILE);
	for (size_t i = 0; !rc && i < n; i++)
		if (!((*argv)[i] = strdup(json_string_value(json_array_get(args, i)) ?: "")))
			rc = sv_err(SV_ENOMEM, "out of memory");
	json_decref(o);
	return rc;
}

typedef struct {
	const char *vm_dir, *exe, *then_exe;
} vmm_record;

static bool stop_was_requested(const char *vm_dir)
{
	char *path = sv_path_join(vm_dir, SV_VM_STOP_MARKER);
	struct stat st;
	bool yes = path && fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	free(path);
	return yes;
}

/* Before the VMM runs (sv_spawn's before_exec): its pid in the ledger, with
 * the program it runs and the one that execs in turn, so that whoever
 * cleans up after us kills that process and no other. Then, a kill of the
 * VM while it was starting: sv_vm__terminate leaves the stop marker before
 * it kills what the ledger names, so either it finds this pid or we find
 * its marker here, and the VMM never runs; or it found the pid before the
 * exec, still running our binary, and let it be (ledger.c kills only the
 * recorded program): then spawn_vmm finds the marker after the exec. */
static int record_vmm_pid(pid_t pid, void *arg)
{
	const vmm_record *r = arg;
	sv_ledger *ledger;
	int rc = SV_FAULT_POINT("supervisor.vmm_pid");
	if (rc || (rc = sv_ledger_open(&ledger, r->vm_dir)))
		return rc;
	rc = sv_ledger_record_child(ledger, pid, r->exe, r->then_exe);
	sv_ledger_close(ledger);
	if (!rc && stop_was_requested(r->vm_dir))
		rc = sv_err(SV_EPROCESS, "killed while it was starting (smartvm kill or sv_vm_kill)");
	return rc ? rc : SV_FAULT_POINT("supervisor.vmm_exec");
}

/* The VMM with its stdout and stderr on pipes that *output relays (the
 * console pipe, when >= 0, is handed to the relay too). */
static int spawn_vmm(const char *vm_dir, int console_pipe, pid_t *pid, int *pidfd, sv_vmm_output **output,
		     launch_info *info)
{
	char **argv = NULL, *console = NULL;
	int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
	int rc = read_launch(vm_dir, &argv, &console, info);
	if (!rc && (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(in, O_CLOEXEC)))
		rc = sv_err_errno(SV_EIO, errno, "creating the VMM's stdio pipes");
	sv_trace_span step;
	/* The VMM runs in the VM directory: relative paths in its config (staged
	 * drives) resolve there, which is what lets a snapshot be restored into
	 * another VM directory (Firecracker re-opens drives at the stored paths). */
	sv_spawn_opts so = {.argv = (const char *const *)argv,
			    .stdin_fd = in[0],
			    .stdout_fd = out[1],
			    .stderr_fd = err[1],
			    .cwd = vm_dir};
	/* The VMM must not outlive us: killed with SIGKILL, we could not stop
	 * it, and nobody else knows to. */
	so.parent_death_signal = SIGKILL;
	/* A jailed VMM changes credentials, which drops that signal: then only
	 * the ledger's entry, written before it runs, lets gc find it. */
	vmm_record r = {vm_dir, argv ? argv[0] : NULL, info->then_exe};
	so.before_exec = record_vmm_pid;
	so.before_exec_arg = &r;
	sv_trace_begin(&step);
	if (!rc)
		rc = sv_spawn(&so, pid, pidfd);
	sv_trace_end(&step, "supervisor:vmm_spawn+pid_record+exec");
	if (!rc && stop_was_requested(vm_dir))
		kill(*pid, SIGKILL); /* a kill raced our exec (record_vmm_pid): ends as killed */
	if (out[1] >= 0)
		close(out[1]);
	if (err[1] >= 0)
		close(err[1]);
	if (in[0] >= 0)
		close(in[0]);
	if (rc) {
		int fds[] = {out[0], err[0], console_pipe, in[1]};
		for (size_t i = 0; i < 4; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	} else {
		/* While the VMM execs and sets up (milliseconds), not before:
		 * the start waits for its API socket, and for our pid report,
		 * which follows. Its stdin is the guest's serial input: `smartvm
		 * attach` writes there (console_hub.c). A VM whose hub cannot
		 * start still runs; its VMM then reads end-of-file, as from
		 * /dev/null. */
		sv_console_hub *hub = NULL;
		sv_trace_begin(&step);
		if (sv_console_hub_open(&hub, vm_dir, in[1]) != 0)
			sv_warn("smartvm attach will not work for this VM: %s", sv_last_error());
		sv_trace_end(&step, "supervisor:console_hub_open");
		sv_trace_begin(&step);
		rc = sv_vmm_output_start(output, out[0], err[0], console_pipe, hub, vm_dir);
		sv_trace_end(&step, "supervisor:output_relay_start");
		if (rc) { /* nobody would read its output: it must not run */
			kill(*pid, SIGKILL);
			sv_reap(*pid, 5000, NULL);
			close(*pidfd);
			*pidfd = -1;
		}
	}
	free(console);
	sv_strv_free(argv);
	return rc;
}

/* The shorter of two poll timeouts in ms (-1: none). */
static int sooner(int a, int b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* Waits for the VMM; handles the control pipe, relays its output and for
 * the guest agent, and the VM's deadline (monotonic ms, 0 = none): when it
 * passes the VMM is killed and *timed_out set. Returns the VMM's wait
 * status. */
static int watch(pid_t vmm, int vmm_pidfd, int control_fd, sv_agent_relay *relay, sv_vmm_output *output,
		 long long deadline_ms, bool *timed_out, bool *detached_out)
{
	bool detached = false;
	for (;;) {
		int wait_ms = -1;
		if (deadline_ms > 0 && !*timed_out) {
			long long left = deadline_ms - sv_now_ms();
			if (left <= 0) {
				*timed_out = true;
				kill(vmm, SIGKILL);
			}
			wait_ms = left <= 0 ? -1 : left > INT_MAX ? INT_MAX : (int)left;
		}
		/* A negative fd (no control pipe, no relay) is ignored by poll. */
		struct pollfd p[3 + SV_VMM_OUTPUT_POLLFDS] = {{.fd = vmm_pidfd, .events = POLLIN},
							      {.fd = control_fd, .events = POLLIN},
							      {.fd = sv_agent_relay_fd(relay), .events = POLLIN}};
		wait_ms = sooner(wait_ms, sv_vmm_output_poll_prepare(output, p + 3));
		if (poll(p, 3 + SV_VMM_OUTPUT_POLLFDS, wait_ms) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break; /* what it printed last: sv_vmm_output_finish */
		sv_vmm_output_poll_done(output, p + 3);
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
	*detached_out = detached;
	return status;
}

/* The end of the console log (the command's exit line is at its very end). */
#define CONSOLE_TAIL_BYTES 8192

/* The command's exit status from the console's last bytes, when its exit
 * line is final (include/smartvm/command.h); -1 otherwise. */
static int command_status(int dfd)
{
	int fd = openat(dfd, SV_VM_CONSOLE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	off_t from = st.st_size > CONSOLE_TAIL_BYTES ? st.st_size - CONSOLE_TAIL_BYTES : 0;
	char buf[CONSOLE_TAIL_BYTES];
	ssize_t n = pread(fd, buf, sizeof(buf), from);
	close(fd);
	int status = -1;
	char *output = NULL;
	if (n > 0 && sv_command_parse_console(buf, (size_t)n, &output, NULL, &status) != 0)
		status = -1;
	free(output);
	sv_err_clear();
	return status;
}

/* ended.json for a detached VM (vm_end_record.c): the command's status when
 * it finished and the VM powered off by itself, else the VMM's. */
static void keep_end_record(const char *vm_dir, const launch_info *info, int status, bool timed_out,
			    const char *reason)
{
	int dfd = open(vm_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		sv_warn("keeping the end record: opening %s: %s", vm_dir, strerror(errno));
		return;
	}
	const char *slash = strrchr(vm_dir, '/');
	sv_vm_end e = {
	    .id = slash ? slash + 1 : vm_dir, .vmm = info->vmm, .command = info->command, .reason = reason};
	bool powered_off = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	int cmd = info->command && powered_off ? command_status(dfd) : -1;
	e.command_finished = cmd >= 0;
	if (cmd >= 0) {
		e.exit_code = cmd;
	} else if (WIFSIGNALED(status)) {
		e.signal = WTERMSIG(status);
		e.exit_code = 128 + e.signal;
	} else {
		e.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	if (sv_vm__write_end_record(dfd, vm_dir, &e) != 0)
		sv_warn("%s", sv_last_error());
	close(dfd);
}

int sv_supervisor_main(int argc, char **argv)
{
	sv_supervisor_fds a;
	if (parse_args(argc, argv, &a) != 0)
		return SV_SUPERVISOR_USAGE;
	/* Leave the orchestrator's process tree: it must not have to reap us. */
	pid_t child = fork();
	if (child < 0) {
		report(a.status_fd, "exit error the supervisor could not fork: %s\n", strerror(errno));
		return 1;
	}
	if (child > 0)
		_exit(0);
	return sv_supervisor_run(&a, false);
}

int sv_supervisor_run(const sv_supervisor_fds *fds, bool reaped_by_kernel)
{
	sv_supervisor_fds a = *fds;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	set_cloexec(a.status_fd);
	set_cloexec(a.control_fd);
	set_cloexec(a.lock_fd);
	set_cloexec(a.console_fd);
	sv_trace_span step;
	sv_trace_begin(&step);
	report(a.status_fd, "sup %d %llu\n", (int)getpid(),
	       a.start_time ? a.start_time : sv_process_start_time(getpid()));

	pid_t vmm = 0;
	int vmm_pidfd = -1;
	sv_vmm_output *output = NULL;
	launch_info info = {0};
	int rc = SV_FAULT_POINT("supervisor.spawn_vmm");
	if (!rc)
		rc = spawn_vmm(a.vm_dir, a.console_fd, &vmm, &vmm_pidfd, &output, &info);
	free(info.then_exe);
	if (rc) {
		free(info.vmm);
		json_decref(info.command);
		report(a.status_fd, "exit error %s\n", sv_last_error());
		sv_vm__cleanup_dir(a.vm_dir);
		return 1;
	}
	/* agent.sock exists before the start returns (it waits for the pid
	 * report below); made while the VMM starts, off the start's path. A
	 * VM without it still runs. */
	sv_agent_relay *relay = NULL;
	sv_trace_span relay_step;
	sv_trace_begin(&relay_step);
	if (sv_agent_relay_open(&relay, a.vm_dir) != 0)
		sv_warn("the guest agent's socket: %s", sv_last_error());
	sv_trace_end(&relay_step, "supervisor:agent_relay_open");
	unsigned long long start = sv_process_start_time(vmm);
	report(a.status_fd, "pid %d %llu\n", (int)vmm, start);
	sv_trace_end(&step, "supervisor:relay+vmm_spawn");

	bool timed_out = false, detached = false;
	int status = watch(vmm, vmm_pidfd, a.control_fd, relay, output, info.deadline_ms, &timed_out, &detached);
	sv_trace_begin(&step);
	close(vmm_pidfd);
	sv_agent_relay_free(relay);
	/* Everything it printed is relayed (and the console pipe closed) before
	 * the report, so a reader has the whole console once the VM has ended. */
	sv_vmm_output_finish(output, OUTPUT_DRAIN_MS);
	sv_trace_end(&step, "supervisor:output_drain");
	sv_trace_begin(&step);
	bool requested = stop_was_requested(a.vm_dir);
	bool clean = !timed_out && (requested || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
	char *err_tail = sv_vmm_output_stderr_tail(output), *con_tail = sv_vmm_output_console_tail(output);
	bool err_lines = err_tail && *err_tail, con_lines = con_tail && *con_tail;
	/* QEMU ends silently with 1 on a guest panic (-action panic=exit-failure). */
	bool panic = info.qemu && !err_lines && WIFEXITED(status) && WEXITSTATUS(status) == 1;
	char *reason = NULL;
	if (asprintf(&reason, "the VMM %s%s%s%s%s%s%s%s", sv_describe_wait_status(status),
		     panic ? " (QEMU's exit on a guest kernel panic)" : "",
		     timed_out	 ? " when the VM's deadline passed"
		     : requested ? " after a stop request"
				 : "",
		     err_lines ? "; its last messages:\n" : "", err_lines ? err_tail : "",
		     con_lines ? (err_lines ? "\n" : "; ") : "", con_lines ? "last console lines:\n" : "",
		     con_lines ? con_tail : "") < 0)
		reason = NULL;
	/* Before the report: whoever hears it may look for the record at once. */
	if (detached)
		keep_end_record(a.vm_dir, &info, status, timed_out, reason);
	report(a.status_fd, "exit %s %s\n", clean ? "stopped" : "error", reason ? reason : "the VMM ended");
	sv_trace_end(&step, "supervisor:report");
	free(reason);
	free(info.vmm);
	json_decref(info.command);
	free(err_tail);
	free(con_tail);
	sv_vmm_output_free(output);
	sv_trace_begin(&step);
	if (SV_FAULT_POINT("supervisor.cleanup") != 0 || sv_vm__cleanup_dir(a.vm_dir) != 0)
		sv_warn("cleaning up after the VMM: %s", sv_last_error());
	sv_trace_end(&step, "supervisor:ledger_replay");
	/* Nobody reaps us who could count our CPU and our VMM's (the fork
	 * server's children are reaped by the kernel): say it, before the
	 * status pipe's EOF tells the orchestrator we are done. */
	if (reaped_by_kernel)
		sv_trace_process_total("supervisor:process_total");
	if (a.status_fd >= 0)
		close(a.status_fd);
	return clean ? 0 : 1;
}
