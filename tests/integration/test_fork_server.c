/* The supervisor fork server (src/vm/supervisor_server.c,
 * vm_fork_server.c), against the fake Firecracker: every VM's supervisor is
 * forked by one server per manager (from its second start: the first goes
 * by exec and starts no server) and holds nothing of the server's; a
 * killed server is replaced; a server that dies holding a request still
 * leaves exactly one supervisor; the environment reaches each VM's
 * supervisor as it was at that VM's start; an orchestrator killed outright
 * leaves its detached VM running and its attached one stopped; a forked copy
 * of the manager's process, or a thread in another mount namespace, starts
 * its VMs by exec; the server does not load libnftables (no supervisor
 * needs it for a VM's firewall, and it makes every fork dearer). */
#include "svtest.h"
#include "fcmgrfixture.h"
#include "leftovers.h"

#include "sv_build_config.h"
#include "util/file.h"
#include "util/spawn.h"
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <signal.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void first_start_by_exec(svt_fcmgr *m, sv_manager *mgr);

static int setup(void **state)
{
	svt_fcmgr *m = calloc(1, sizeof(*m));
	svt_fcmgr_init(m);
	*state = m;
	first_start_by_exec(m, m->mgr);
	return 0;
}

static int teardown(void **state)
{
	svt_fcmgr *m = *state;
	unsetenv("SMARTVM_FAULT");
	svt_fcmgr_close(m);
	svt_fcmgr_free(m);
	free(m);
	return 0;
}

static sv_vm *create(svt_fcmgr *m, sv_manager *mgr, const char *id)
{
	static sv_drive_config drive;
	drive = (sv_drive_config){.drive_id = "rootfs", .path_on_host = m->rootfs, .is_root_device = true};
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,
			    .id = id,
			    .boot_source = {.kernel_image_path = m->kernel},
			    .machine_config = {.vcpu_count = 1, .mem_size_mib = 64},
			    .drives = &drive,
			    .n_drives = 1};
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, mgr, &cfg))
		fail_msg("create %s: %s", id, sv_last_error());
	return vm;
}

static sv_vm *start(svt_fcmgr *m, sv_manager *mgr, const char *id)
{
	sv_vm *vm = create(m, mgr, id);
	if (sv_vm_start(vm))
		fail_msg("start %s: %s", id, sv_last_error());
	return vm;
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	int ppid = 0;
	char state;
	if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
		return 0;
	return ppid;
}

/* /proc/PID/<file> (cmdline, environ), NULs as spaces. */
static char *proc_strings(pid_t pid, const char *file)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	char *text = NULL;
	size_t len = 0;
	if (sv_read_file(path, 1 << 16, &text, &len) != 0)
		return strdup("");
	for (size_t i = 0; i < len; i++)
		if (!text[i])
			text[i] = ' ';
	return text;
}

static bool proc_strings_have(pid_t pid, const char *file, const char *needle)
{
	char *c = proc_strings(pid, file);
	bool yes = strstr(c, needle) != NULL;
	free(c);
	return yes;
}

static bool cmdline_has(pid_t pid, const char *needle) { return proc_strings_have(pid, "cmdline", needle); }

static pid_t supervisor_of(svt_fcmgr *m, const char *id)
{
	pid_t sup = svt_vm_state_pid(m->runtime, id, "supervisor_pid");
	assert_true(sup > 0);
	return sup;
}

/* The fork server of our manager: the parent of a VM's supervisor. */
static pid_t server_of(svt_fcmgr *m, const char *id)
{
	pid_t server = parent_of(supervisor_of(m, id));
	if (server <= 1 || !cmdline_has(server, "--fork-server"))
		fail_msg("VM %s: its supervisor's parent %d is not a fork server", id, (int)server);
	assert_int_equal(parent_of(server), getpid());
	return server;
}

/* A manager's first start goes by exec and starts no server (one VM's
 * supervisor costs less that way, vm_fork_server.h): the tests start and
 * stop one VM first, so that their starts are a manager's second and later. */
static void first_start_by_exec(svt_fcmgr *m, sv_manager *mgr)
{
	static int n;
	char id[32];
	snprintf(id, sizeof(id), "first%d", n++);
	sv_vm *vm = start(m, mgr, id);
	pid_t parent = parent_of(supervisor_of(m, id));
	if (parent > 1 && cmdline_has(parent, "--fork-server"))
		fail_msg("VM %s, the manager's first, was forked by a server (%d)", id, (int)parent);
	/* Nor is a server started for later (the fixture's manager is our only one). */
	DIR *d = opendir("/proc");
	assert_non_null(d);
	for (struct dirent *e; mgr == m->mgr && (e = readdir(d));) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid > 0 && parent_of(pid) == getpid() && cmdline_has(pid, "--fork-server"))
			fail_msg("a fork server (%d) runs after the manager's first start", (int)pid);
	}
	closedir(d);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

/* The server's spare: its child still under the server's command line
 * (a supervisor's names its VM). 0 if there is none. */
static pid_t spare_of(pid_t server)
{
	DIR *d = opendir("/proc");
	assert_non_null(d);
	pid_t found = 0;
	for (struct dirent *e; !found && (e = readdir(d));) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid > 0 && parent_of(pid) == server && cmdline_has(pid, "--fork-server"))
			found = pid;
	}
	closedir(d);
	return found;
}

/* The fds of pid as their link texts ("pipe:[N]", "socket:[N]", paths). */
static int fd_links(pid_t pid, char links[][128], int max)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) && n < max;) {
		if (e->d_name[0] == '.')
			continue;
		char path[384];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ssize_t k = readlink(path, links[n], sizeof(links[n]) - 1);
		if (k > 0)
			links[n++][k] = '\0';
	}
	closedir(d);
	return n;
}

static void test_supervisors_are_forked_by_one_server_and_share_nothing_of_it(void **state)
{
	svt_fcmgr *m = *state;
	sv_vm *a = start(m, m->mgr, "fa");
	sv_vm *b = start(m, m->mgr, "fb");
	pid_t server = server_of(m, "fa");
	assert_int_equal(server_of(m, "fb"), server);
	/* Told apart by their command lines, which name their VM. */
	char *dir = NULL;
	assert_true(asprintf(&dir, "--forked-for %s/fa", m->runtime) > 0);
	assert_true(cmdline_has(supervisor_of(m, "fa"), dir));
	free(dir);
	/* The server holds stdio (/dev/null), its socket, the pipe on which
	 * its spare (forked for the next VM) will say it took a request and
	 * the spare's pidfd: no VM's fd. */
	char links[64][128];
	int n = fd_links(server, links, 64);
	char socket[128] = "", pipe[128] = "";
	for (int i = 0; i < n; i++) {
		if (!strncmp(links[i], "socket:", 7) || !strncmp(links[i], "pipe:", 5)) {
			char *slot = links[i][0] == 's' ? socket : pipe;
			if (slot[0])
				fail_msg("the server holds a second %s", links[i]);
			strcpy(slot, links[i]);
		} else if (strcmp(links[i], "/dev/null") && strcmp(links[i], "anon_inode:[pidfd]")) {
			fail_msg("the server holds %s", links[i]);
		}
	}
	assert_true(socket[0]);
	assert_true(pipe[0]);
	pid_t spare = spare_of(server);
	assert_true(spare > 0);
	bool spare_has_pipe = false;
	n = fd_links(spare, links, 64);
	for (int i = 0; i < n; i++)
		spare_has_pipe |= !strcmp(links[i], pipe);
	assert_true(spare_has_pipe);
	/* Neither a supervisor nor a VMM holds the server's socket or pipe. */
	pid_t procs[] = {supervisor_of(m, "fa"), sv_vm_pid(a), supervisor_of(m, "fb"), sv_vm_pid(b)};
	for (size_t p = 0; p < 4; p++) {
		n = fd_links(procs[p], links, 64);
		for (int i = 0; i < n; i++)
			if (!strcmp(links[i], socket) || !strcmp(links[i], pipe))
				fail_msg("process %d holds the fork server's %s", (int)procs[p], links[i]);
	}
	assert_int_equal(sv_vm_stop(a, -1), 0);
	assert_int_equal(sv_vm_stop(b, -1), 0);
}

/* The hex mask of a "Sig...:" line of /proc/PID/status. */
static unsigned long long signal_mask(pid_t pid, const char *field)
{
	char *status = proc_strings(pid, "status"), *line = strstr(status, field);
	unsigned long long mask = ~0ULL;
	if (line)
		mask = strtoull(line + strlen(field), NULL, 16);
	free(status);
	return mask;
}

/* A forked supervisor's signals are what the exec path's are: SIGPIPE,
 * SIGINT and SIGHUP ignored (it sets them), nothing else ignored, nothing
 * blocked, and SIGCHLD back at its default (the server's SA_NOCLDWAIT would
 * reap its VMM behind its back), whatever the manager's process had. */
static void test_a_supervisor_has_the_signals_the_exec_path_gives(void **state)
{
	svt_fcmgr *m = *state;
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_usr1, old_term;
	sigset_t usr2, old_mask;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	assert_int_equal(sigaction(SIGUSR1, &ign, &old_usr1), 0);
	assert_int_equal(sigaction(SIGTERM, &ign, &old_term), 0);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &usr2, &old_mask), 0);
	sv_vm *a = start(m, m->mgr, "sa");
	sv_vm *b = start(m, m->mgr, "sb"); /* the spare forked after the first */
	assert_int_equal(sigaction(SIGUSR1, &old_usr1, NULL), 0);
	assert_int_equal(sigaction(SIGTERM, &old_term, NULL), 0);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old_mask, NULL), 0);
	unsigned long long want = 1ULL << (SIGPIPE - 1) | 1ULL << (SIGINT - 1) | 1ULL << (SIGHUP - 1);
	const char *ids[] = {"sa", "sb"};
	for (int i = 0; i < 2; i++) {
		pid_t sup = supervisor_of(m, ids[i]);
		if (signal_mask(sup, "SigIgn:") != want || signal_mask(sup, "SigBlk:") != 0)
			fail_msg("VM %s's supervisor: SigIgn %llx (want %llx), SigBlk %llx", ids[i],
				 signal_mask(sup, "SigIgn:"), want, signal_mask(sup, "SigBlk:"));
	}
	assert_int_equal(sv_vm_stop(a, -1), 0);
	assert_int_equal(sv_vm_stop(b, -1), 0);
}

static void test_a_killed_server_is_replaced_and_its_supervisors_live_on(void **state)
{
	svt_fcmgr *m = *state;
	sv_vm *a = start(m, m->mgr, "ka");
	pid_t server = server_of(m, "ka");
	pid_t spare = spare_of(server);
	assert_true(spare > 0);
	assert_int_equal(kill(server, SIGKILL), 0);
	assert_true(svt_wait_exited(server, 5000));
	/* Its spare goes with it: left behind, it would answer the next
	 * request on the old socket in place of a server. */
	assert_true(svt_wait_exited(spare, 5000));
	sv_vm *b = start(m, m->mgr, "kb");
	pid_t second = server_of(m, "kb");
	assert_int_not_equal(second, server);
	/* The first VM's supervisor outlived its server and still does its job. */
	assert_int_equal(sv_vm_get_state(a), SV_VM_RUNNING);
	assert_int_equal(sv_vm_pause(a), 0);
	assert_int_equal(sv_vm_stop(a, -1), 0);
	assert_int_equal(sv_vm_get_state(a), SV_VM_STOPPED);
	assert_int_equal(sv_vm_stop(b, -1), 0);
}

/* SMARTVM_FAULT in the server's environment (it inherits ours when it
 * starts, and its spares inherit it) kills the process that hits the point
 * named; a new manager starts a new server. */
static sv_manager *manager_with_server_fault(svt_fcmgr *m, const char *spec)
{
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = m->data,
				.runtime_dir = m->runtime,
				.firecracker_binary_path = svt_fake_firecracker(),
				.stop_timeout_ms = 10000};
	sv_manager *mgr = NULL;
	assert_int_equal(sv_manager_new(&mgr, &o), 0);
	first_start_by_exec(m, mgr);
	setenv("SMARTVM_FAULT", spec, 1);
	return mgr;
}

/* Starts VM id under a new manager whose fork server has SMARTVM_FAULT=spec,
 * as this start has; SMARTVM_FAULT is unset again once the start has
 * returned. The start's result in *rc. */
static sv_manager *start_under_server_fault(svt_fcmgr *m, const char *spec, const char *id, sv_vm **vm,
					    int *rc)
{
	sv_manager *mgr = manager_with_server_fault(m, spec);
	*vm = create(m, mgr, id);
	*rc = sv_vm_start(*vm);
	unsetenv("SMARTVM_FAULT");
	return mgr;
}

static void test_a_spare_dying_with_the_request_leaves_the_start_to_exec(void **state)
{
	if (!SV_FAULT_INJECTION) {
		svt_skip(SVT_NEED_FAULTS, "arms SMARTVM_FAULT: this build has no fault injection");
		return;
	}
	svt_fcmgr *m = *state;
	sv_manager *mgr = manager_with_server_fault(m, "fork_server.request:kill");
	sv_vm *vm = create(m, mgr, "lost");
	long long before = sv_now_ms();
	int rc = sv_vm_start(vm);
	/* The server ends once its spare is gone without answering: the
	 * manager sees EOF, not the end of its 10 s wait for an answer. */
	long long took = sv_now_ms() - before;
	if (took >= 5000)
		fail_msg("the start took %lld ms", took);
	unsetenv("SMARTVM_FAULT");
	if (rc)
		fail_msg("start: %s", sv_last_error());
	/* Exactly one supervisor, the exec path's. */
	pid_t sup = supervisor_of(m, "lost");
	assert_true(cmdline_has(sup, "--status-fd"));
	char *dir = NULL;
	assert_true(asprintf(&dir, "%s/lost", m->runtime) > 0);
	assert_int_equal(svt_count_processes_with(dir), 2); /* the supervisor and its VMM */
	free(dir);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	/* The next start has a server again. */
	sv_vm *next = start(m, mgr, "after");
	server_of(m, "after");
	assert_int_equal(sv_vm_stop(next, -1), 0);
	sv_manager_free(mgr);
}

static void test_a_server_dying_after_its_spare_answered_leaves_that_supervisor(void **state)
{
	if (!SV_FAULT_INJECTION) {
		svt_skip(SVT_NEED_FAULTS, "arms SMARTVM_FAULT: this build has no fault injection");
		return;
	}
	svt_fcmgr *m = *state;
	sv_vm *vm;
	int rc;
	sv_manager *mgr = start_under_server_fault(m, "fork_server.reply:kill", "orphan", &vm, &rc);
	if (rc)
		fail_msg("start: %s", sv_last_error());
	pid_t sup = supervisor_of(m, "orphan");
	assert_true(cmdline_has(sup, "--forked-for"));
	char *dir = NULL;
	assert_true(asprintf(&dir, "%s/orphan", m->runtime) > 0);
	assert_int_equal(svt_count_processes_with(dir), 2);
	free(dir);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_STOPPED);
	sv_manager_free(mgr);
}

/* A supervisor killed between its spare's answer and its first report: the
 * start says so, and nothing of the VM is left. */
static void test_a_spare_killed_after_it_answered_fails_the_start_cleanly(void **state)
{
	if (!SV_FAULT_INJECTION) {
		svt_skip(SVT_NEED_FAULTS, "arms SMARTVM_FAULT: this build has no fault injection");
		return;
	}
	svt_fcmgr *m = *state;
	sv_vm *vm;
	int rc;
	sv_manager *mgr = start_under_server_fault(m, "fork_server.answered:kill", "silent", &vm, &rc);
	assert_int_not_equal(rc, 0);
	if (!strstr(sv_last_error(), "the supervisor ended without a report"))
		fail_msg("start: %s", sv_last_error());
	assert_int_equal(sv_vm_get_state(vm), SV_VM_ERROR);
	char *dir = NULL;
	assert_true(asprintf(&dir, "%s/silent", m->runtime) > 0);
	struct stat st;
	if (stat(dir, &st) == 0)
		fail_msg("%s is left behind", dir);
	svt_assert_no_processes_with(dir);
	free(dir);
	sv_manager_free(mgr);
}

/* The server started unarmed; a fault armed for one VM's start fires in
 * that VM's supervisor only. */
static void test_the_environment_reaches_each_supervisor_as_at_its_start(void **state)
{
	if (!SV_FAULT_INJECTION) {
		svt_skip(SVT_NEED_FAULTS, "arms SMARTVM_FAULT: this build has no fault injection");
		return;
	}
	svt_fcmgr *m = *state;
	sv_vm *first = start(m, m->mgr, "e1");
	setenv("SMARTVM_FAULT", "supervisor.spawn_vmm:fail", 1);
	sv_vm *armed = create(m, m->mgr, "e2");
	int rc = sv_vm_start(armed);
	unsetenv("SMARTVM_FAULT");
	assert_int_not_equal(rc, 0);
	if (!strstr(sv_last_error(), "fault injected at supervisor.spawn_vmm"))
		fail_msg("start e2: %s", sv_last_error());
	sv_vm *third = start(m, m->mgr, "e3");
	assert_int_equal(server_of(m, "e3"), server_of(m, "e1"));
	assert_int_equal(sv_vm_stop(first, -1), 0);
	assert_int_equal(sv_vm_stop(third, -1), 0);
}

/* The soft limit /proc/PID/limits shows for `name` ("Max open files"), or -1. */
static long long soft_limit_of(pid_t pid, const char *name)
{
	char *text = proc_strings(pid, "limits");
	char *line = strstr(text, name);
	long long soft = -1;
	if (line && sscanf(line + strlen(name), " %lld", &soft) != 1)
		soft = -1;
	free(text);
	return soft;
}

/* A limit lowered after the server started reaches the next VM's
 * supervisor and VMM, as an exec'd supervisor inherits its caller's; the
 * server keeps its own. */
static void test_the_rlimits_reach_each_supervisor_as_at_its_start(void **state)
{
	svt_fcmgr *m = *state;
	sv_vm *before = start(m, m->mgr, "l1");
	pid_t server = server_of(m, "l1");
	struct rlimit old;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(old.rlim_cur > 64);
	struct rlimit lower = {old.rlim_cur - 7, old.rlim_max};
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lower), 0);
	sv_vm *vm = create(m, m->mgr, "l2");
	int rc = sv_vm_start(vm);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	if (rc)
		fail_msg("start l2: %s", sv_last_error());
	assert_int_equal(server_of(m, "l2"), server);
	assert_int_equal(soft_limit_of(supervisor_of(m, "l2"), "Max open files"), (long long)lower.rlim_cur);
	pid_t vmm = svt_vm_state_pid(m->runtime, "l2", "vmm_pid");
	assert_true(vmm > 0);
	assert_int_equal(soft_limit_of(vmm, "Max open files"), (long long)lower.rlim_cur);
	assert_int_equal(soft_limit_of(server, "Max open files"), (long long)old.rlim_cur);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	assert_int_equal(sv_vm_stop(before, -1), 0);
}

/* The other way round: armed when the server started, unset for a later
 * start. That VM's supervisor has the start's environment instead of the
 * server's, not the two merged. */
static void test_the_servers_own_environment_does_not_reach_a_later_supervisor(void **state)
{
	if (!SV_FAULT_INJECTION) {
		svt_skip(SVT_NEED_FAULTS, "arms SMARTVM_FAULT: this build has no fault injection");
		return;
	}
	svt_fcmgr *m = *state;
	sv_vm *armed;
	int rc;
	sv_manager *mgr = start_under_server_fault(m, "supervisor.spawn_vmm:fail", "armed", &armed, &rc);
	assert_int_not_equal(rc, 0);
	if (!strstr(sv_last_error(), "fault injected at supervisor.spawn_vmm"))
		fail_msg("start armed: %s", sv_last_error());
	sv_vm *later = start(m, mgr, "later");
	/* A fork server forked it, and that server is still armed. */
	assert_true(
	    proc_strings_have(server_of(m, "later"), "environ", "SMARTVM_FAULT=supervisor.spawn_vmm:fail"));
	assert_int_equal(sv_vm_stop(later, -1), 0);
	sv_manager_free(mgr);
}

/* A start that failed, then the manager freed (smartvm-oci's create does
 * that before it reports): ending the server keeps the start's error. */
static void test_ending_the_server_keeps_the_callers_error(void **state)
{
	if (!SV_FAULT_INJECTION) {
		svt_skip(SVT_NEED_FAULTS, "arms SMARTVM_FAULT: this build has no fault injection");
		return;
	}
	svt_fcmgr *m = *state;
	sv_vm *vm;
	int rc;
	sv_manager *mgr = start_under_server_fault(m, "supervisor.spawn_vmm:fail", "failing", &vm, &rc);
	assert_int_not_equal(rc, 0);
	sv_manager_free(mgr);
	if (!strstr(sv_last_error(), "fault injected at supervisor.spawn_vmm"))
		fail_msg("after sv_manager_free: \"%s\"", sv_last_error());
}

/* The orchestrator, in a child: a detached VM and an attached one, then it
 * waits to be killed. Writes the fork server's pid to fd. */
static void orchestrate(svt_fcmgr *m, int fd)
{
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = m->data,
				.runtime_dir = m->runtime,
				.firecracker_binary_path = svt_fake_firecracker()};
	sv_manager *mgr = NULL;
	if (sv_manager_new(&mgr, &o))
		_exit(2);
	sv_drive_config drive = {.drive_id = "rootfs", .path_on_host = m->rootfs, .is_root_device = true};
	const char *ids[] = {"kept", "owned"};
	for (int i = 0; i < 2; i++) {
		sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,
				    .id = ids[i],
				    .boot_source = {.kernel_image_path = m->kernel},
				    .machine_config = {.vcpu_count = 1, .mem_size_mib = 64},
				    .drives = &drive,
				    .n_drives = 1};
		sv_vm *vm = NULL;
		if (sv_manager_create_vm(&vm, mgr, &cfg) || sv_vm_start(vm) || (i == 0 && sv_vm_detach(vm)))
			_exit(3);
	}
	pid_t server = parent_of(svt_vm_state_pid(m->runtime, "owned", "supervisor_pid"));
	if (write(fd, &server, sizeof(server)) != sizeof(server))
		_exit(4);
	pause();
	_exit(0);
}

static void test_a_killed_orchestrator_leaves_its_detached_vm_only(void **state)
{
	svt_fcmgr *m = *state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(p[0]);
		orchestrate(m, p[1]);
	}
	close(p[1]);
	pid_t server = 0;
	ssize_t got = read(p[0], &server, sizeof(server));
	close(p[0]);
	if (got != sizeof(server)) {
		int status = 0;
		sv_reap(child, 5000, &status);
		fail_msg("the orchestrator failed: %s", sv_describe_wait_status(status));
	}
	pid_t owned_vmm = svt_vm_state_pid(m->runtime, "owned", "vmm_pid");
	bool is_server = server > 1 && cmdline_has(server, "--fork-server");
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_int_equal(sv_reap(child, 5000, NULL), 0);
	assert_true(is_server && owned_vmm > 0);
	/* The server sees its manager go and ends; the attached VM's supervisor
	 * kills its VMM and cleans up; the detached one runs on. */
	assert_true(svt_wait_exited(server, 5000));
	assert_true(svt_wait_exited(owned_vmm, 5000));
	char *owned = NULL;
	assert_true(asprintf(&owned, "%s/owned", m->runtime) > 0);
	for (int i = 0; i < 500 && sv_path_exists(owned); i++)
		usleep(10000);
	assert_false(sv_path_exists(owned));
	free(owned);
	sv_vm *kept = NULL;
	assert_int_equal(sv_manager_attach_vm(&kept, m->mgr, "kept"), 0);
	assert_int_equal(sv_vm_get_state(kept), SV_VM_RUNNING);
	assert_int_equal(sv_vm_stop(kept, -1), 0);
}

/* A copy of the process made by fork() after the manager must not talk to
 * the original's server: it starts its VM by exec. */
/* In a forked copy of the manager's process: prepare (may be NULL) runs,
 * VM id starts, check judges its supervisor (server: the original's), the
 * VM stops; any of these failing fails the test. */
static void start_in_a_fork(svt_fcmgr *m, const char *id, pid_t server, bool (*prepare)(void),
			    bool (*check)(pid_t sup, pid_t server))
{
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		if (prepare && !prepare())
			_exit(2);
		sv_vm *vm = create(m, m->mgr, id);
		int rc = sv_vm_start(vm) ? 3 : 0;
		pid_t sup = rc ? 0 : svt_vm_state_pid(m->runtime, id, "supervisor_pid");
		if (!rc && !check(sup, server))
			rc = 4;
		if (sv_vm_stop(vm, -1))
			rc = rc ? rc : 5;
		_exit(rc);
	}
	int status = 0;
	assert_int_equal(sv_reap(child, 30000, &status), 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("the forked process: %s", sv_describe_wait_status(status));
}

/* Spawned and exec'd (its command line has the exec path's arguments), not
 * forked by the server. */
static bool exec_path_supervisor(pid_t sup, pid_t server)
{
	return cmdline_has(sup, "--status-fd") && parent_of(sup) != server;
}

static void test_a_forked_process_starts_its_vms_by_exec(void **state)
{
	svt_fcmgr *m = *state;
	sv_vm *a = start(m, m->mgr, "parent");
	pid_t server = server_of(m, "parent");
	start_in_a_fork(m, "child", server, NULL, exec_path_supervisor);
	/* The original's server serves on. */
	sv_vm *b = start(m, m->mgr, "parent2");
	assert_int_equal(server_of(m, "parent2"), server);
	assert_int_equal(sv_vm_stop(a, -1), 0);
	assert_int_equal(sv_vm_stop(b, -1), 0);
}

static bool runs_from(pid_t pid, const char *dir)
{
	char path[64], link[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return !strcmp(link, dir);
}

/* In the supervisor's directory, with $SMARTVM_SUPERVISOR relative to it. */
static bool run_from_the_supervisors_directory(void)
{
	char *sup = strdup(getenv("SMARTVM_SUPERVISOR")), *slash = strrchr(sup, '/');
	*slash = '\0';
	return chdir(sup) == 0 && setenv("SMARTVM_SUPERVISOR", "./smartvm-supervisor", 1) == 0;
}

static bool exec_path_supervisor_from_root(pid_t sup, pid_t server)
{
	return parent_of(sup) != server && runs_from(sup, "/");
}

/* No process of a VM keeps the working directory of the process that
 * started it (its mount would stay busy while a detached VM runs): the
 * server, the supervisors it forks and one started by exec (from a relative
 * $SMARTVM_SUPERVISOR) run from "/", the VMM from its VM directory. */
static void test_no_vm_process_keeps_the_callers_directory(void **state)
{
	svt_fcmgr *m = *state;
	char *here = svt_tmpdir(), old[PATH_MAX];
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(here), 0);
	sv_vm *a = start(m, m->mgr, "wa");
	pid_t server = server_of(m, "wa");
	assert_true(runs_from(server, "/"));
	assert_true(runs_from(supervisor_of(m, "wa"), "/"));
	char *vm_dir = NULL;
	assert_true(asprintf(&vm_dir, "%s/wa", m->runtime) > 0);
	assert_true(runs_from(sv_vm_pid(a), vm_dir));
	assert_int_equal(chdir(old), 0);
	start_in_a_fork(m, "wb", server, run_from_the_supervisors_directory, exec_path_supervisor_from_root);
	assert_int_equal(sv_vm_stop(a, -1), 0);
	free(vm_dir);
	svt_rm_tmpdir(here);
}

/* Namespaces (links like "net:[4026531840]") among pid's open fds. */
static int namespace_fds(pid_t pid)
{
	static const char *const kinds[] = {"net:[", "mnt:[", "user:[", "pid:[", "uts:[", "ipc:[", "cgroup:["};
	static char links[256][128];
	int n = fd_links(pid, links, 256), found = 0;
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (!strncmp(links[i], kinds[k], strlen(kinds[k])))
				found++;
	return found;
}

/* The manager keeps the server's seven namespaces open (each start's
 * identity check is cheaper then): only in the manager's process, which
 * lets go of them with the server. */
static void test_the_servers_namespaces_are_held_by_the_manager_alone_and_let_go(void **state)
{
	svt_fcmgr *m = *state;
	int before = namespace_fds(getpid());
	sv_vm *a = start(m, m->mgr, "nsa");
	assert_int_equal(namespace_fds(getpid()), before + 7);
	pid_t procs[] = {server_of(m, "nsa"), supervisor_of(m, "nsa"), sv_vm_pid(a)};
	for (size_t p = 0; p < 3; p++)
		if (namespace_fds(procs[p]))
			fail_msg("process %d holds a namespace fd of the manager's", (int)procs[p]);
	/* A second start checks against them and still forks. */
	sv_vm *b = start(m, m->mgr, "nsb");
	assert_int_equal(server_of(m, "nsb"), procs[0]);
	assert_int_equal(namespace_fds(getpid()), before + 7);
	assert_int_equal(sv_vm_stop(a, -1), 0);
	assert_int_equal(sv_vm_stop(b, -1), 0);
	svt_fcmgr_close(m);
	assert_int_equal(namespace_fds(getpid()), before);
}

typedef struct {
	svt_fcmgr *m;
	sv_vm *vm;
	int unshared; /* errno of unshare, 0 */
} ns_start;

static void *start_in_own_mount_namespace(void *arg)
{
	ns_start *a = arg;
	a->unshared = unshare(CLONE_NEWNS) == 0 ? 0 : errno;
	if (!a->unshared && sv_vm_start(a->vm))
		fail_msg("start: %s", sv_last_error());
	return NULL;
}

/* A thread in another mount namespace than the server's gets what an exec
 * from there gives: a supervisor in its namespace, by exec. */
static void test_a_start_from_another_namespace_goes_by_exec(void **state)
{
	svt_fcmgr *m = *state;
	if (!svt_is_root()) {
		svt_skip(SVT_NEED_ROOT, "unshare(CLONE_NEWNS) needs root");
		return;
	}
	sv_vm *a = start(m, m->mgr, "here");
	ns_start arg = {m, create(m, m->mgr, "there"), 0};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, start_in_own_mount_namespace, &arg), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(arg.unshared, 0);
	pid_t sup = supervisor_of(m, "there");
	assert_true(cmdline_has(sup, "--status-fd"));
	char ours[64], theirs[64], path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)sup);
	ssize_t n = readlink(path, theirs, sizeof(theirs) - 1);
	ssize_t k = readlink("/proc/thread-self/ns/mnt", ours, sizeof(ours) - 1);
	assert_true(n > 0 && k > 0);
	theirs[n] = ours[k] = '\0';
	assert_string_not_equal(ours, theirs);
	/* This thread's starts still go to the server. */
	sv_vm *b = start(m, m->mgr, "here2");
	assert_int_equal(server_of(m, "here2"), server_of(m, "here"));
	assert_int_equal(sv_vm_stop(arg.vm, -1), 0);
	assert_int_equal(sv_vm_stop(a, -1), 0);
	assert_int_equal(sv_vm_stop(b, -1), 0);
}

/* True once pid has a library whose name starts with lib mapped. */
static bool maps_library(pid_t pid, const char *lib)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	char *text = NULL;
	if (sv_read_file(path, 16 << 20, &text, NULL) != 0)
		return false;
	bool yes = strstr(text, lib) != NULL;
	free(text);
	return yes;
}

/* A supervisor removes a VM's firewall elements with netlink messages
 * (net_nft_elems.c), not libnftables: the server must not map it (with its
 * five libraries) into every supervisor it forks, which costs each fork
 * CPU. Nor the shared libcrypto: the program links libcrypto statically and
 * hands it to the library (util/crypto_lib.h), so the server's first digest
 * (sv_sha256_prepare, before its first fork) loads nothing. Checked after a
 * few forks, when a preload would have happened. */
static void test_the_server_loads_neither_libnftables_nor_libcrypto(void **state)
{
	svt_fcmgr *m = *state;
	sv_vm *a = start(m, m->mgr, "na");
	pid_t server = server_of(m, "na");
	sv_vm *b = start(m, m->mgr, "nb");
	assert_int_equal(server_of(m, "nb"), server);
	usleep(100 * 1000);
	assert_true(kill(server, 0) == 0);
	/* The check reads the right thing: the server maps its program. */
	assert_true(maps_library(server, "smartvm-supervisor"));
	const char *libs[] = {"libnftables", "libcrypto.so"};
	for (size_t i = 0; i < 2; i++) {
		if (maps_library(server, libs[i]))
			fail_msg("the fork server %d mapped %s", (int)server, libs[i]);
		assert_false(maps_library(supervisor_of(m, "nb"), libs[i]));
	}
	assert_int_equal(sv_vm_stop(a, -1), 0);
	assert_int_equal(sv_vm_stop(b, -1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_supervisors_are_forked_by_one_server_and_share_nothing_of_it,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_supervisor_has_the_signals_the_exec_path_gives, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_killed_server_is_replaced_and_its_supervisors_live_on,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_spare_dying_with_the_request_leaves_the_start_to_exec,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_spare_killed_after_it_answered_fails_the_start_cleanly, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_server_dying_after_its_spare_answered_leaves_that_supervisor, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_the_environment_reaches_each_supervisor_as_at_its_start,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_servers_own_environment_does_not_reach_a_later_supervisor,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_rlimits_reach_each_supervisor_as_at_its_start, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ending_the_server_keeps_the_callers_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_killed_orchestrator_leaves_its_detached_vm_only, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_the_server_loads_neither_libnftables_nor_libcrypto, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_forked_process_starts_its_vms_by_exec, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_vm_process_keeps_the_callers_directory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_servers_namespaces_are_held_by_the_manager_alone_and_let_go,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_start_from_another_namespace_goes_by_exec, setup,
					    teardown),
	};
	return svt_run_group_name("fork_server", tests, NULL, NULL);
}
