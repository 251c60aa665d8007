/* `create --bundle DIR [--pid-file F] [--console-socket S] ID`: the
 * container's directory, its root image, and the container process (which
 * boots the VM); returns once the guest agent answers, with the process's
 * pid in the pid file. The engine's stdio fds stay with that process. On
 * any failure nothing of the container is left (no process, VM, cgroup,
 * network join, directory, pid file). The network namespace and cgroup
 * fields are checked before anything is made (oci_net.h, oci_cgroup.h). */
#include "oci_commands.h"

#include "oci_bundle.h"
#include "oci_cgroup.h"
#include "oci_console.h"
#include "oci_fork.h"
#include "oci_hooks.h"
#include "oci_log.h"
#include "oci_mount_drives.h"
#include "oci_net.h"
#include "oci_relay.h"
#include "oci_rootfs.h"
#include "oci_state.h"
#include "oci_vm.h"
#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_MAX 4096

enum { OPT_BUNDLE = 256, OPT_PID_FILE, OPT_CONSOLE, OPT_IGNORED, OPT_PRESERVE_FDS };

static const struct option create_opts[] = {
    {"bundle", required_argument, NULL, 'b'},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"console-socket", required_argument, NULL, OPT_CONSOLE},
    {"no-pivot", no_argument, NULL, OPT_IGNORED},
    {"no-new-keyring", no_argument, NULL, OPT_IGNORED},
    {"preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS},
    {0},
};

typedef struct {
	const oci_relay_args *args;
	const oci_cgroup *cg;
} container_ctx;

static void container_process(void *ctx, int ready_fd)
{
	const container_ctx *c = ctx;
	/* Before the VM boots: its supervisor and VMM inherit the cgroup. */
	oci_cgroup_enter(c->cg, getpid());
	oci_relay_args child = *c->args;
	child.ready_fd = ready_fd;
	oci_relay_main(&child);
}

/* Forks the container process; returns its pid once it reported ready. */
static int spawn_container_process(const oci_relay_args *a, const oci_cgroup *cg, pid_t *pid_out)
{
	container_ctx c = {.args = a, .cg = cg};
	char buf[READY_MAX];
	pid_t pid;
	if (oci_fork_reporting(container_process, &c, &pid, buf, sizeof(buf)) < 0)
		return -1;
	if (strcmp(buf, "ok") == 0) {
		*pid_out = pid;
		return 0;
	}
	waitpid(pid, NULL, 0);
	return sv_err(SV_EPROCESS, "%s", buf[0] ? buf : "the container process died while it booted the VM");
}

static int create(const oci_globals *g, const char *id, const char *bundle_dir, const char *pid_file,
		  const char *console_socket)
{
	oci_bundle b;
	oci_dir d;
	int tty = -1, rc;
	bool made_dir = false;
	if ((rc = oci_bundle_load(&b, bundle_dir)) < 0)
		return oci_log_error("%s", sv_last_error());
	if (b.terminal && !console_socket) {
		oci_bundle_free(&b);
		return oci_log_error("config.json: process.terminal is true: --console-socket is required");
	}
	if (!b.terminal && console_socket) {
		oci_bundle_free(&b);
		return oci_log_error("--console-socket given but config.json: process.terminal is not true");
	}
	for (size_t i = 0; i < b.mounts.n; i++)
		if (b.mounts.items[i].kind == OCI_MOUNT_CGROUP)
			oci_log_info("container \"%s\": mounts[%zu]: cgroup on %s skipped (the VM's cgroups are "
				     "its own)",
				     id, i, b.mounts.items[i].destination);
	oci_net net;
	oci_cgroup cg = {0};
	if ((b.netns_path && oci_net_prepare(&net, b.netns_path) < 0) ||
	    oci_cgroup_parse(&cg, &b, g->systemd_cgroup, id) < 0) {
		oci_bundle_free(&b);
		return oci_log_error("container \"%s\": %s", id, sv_last_error());
	}
	if ((rc = oci_dir_create(&d, g->root, id)) < 0) {
		oci_cgroup_free(&cg);
		oci_bundle_free(&b);
		return oci_log_error("%s", sv_last_error());
	}
	made_dir = true;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	oci_state st = {.id = (char *)id,
			.bundle = b.bundle_dir,
			.annotations_json = b.annotations_json,
			.status = OCI_CREATING,
			.created_ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec};
	pid_t pid = 0;
	if ((rc = oci_state_write(&d, &st)) < 0 || (rc = oci_cgroup_setup(&cg, &d, id)) < 0 ||
	    (rc = oci_rootfs_build(d.fd, d.dir, OCI_ROOTFS_FILE, b.root_path, NULL)) < 0 ||
	    (rc = oci_mount_drives_build(&b.mounts, d.fd, d.dir)) < 0 ||
	    (console_socket && (rc = oci_console_setup(console_socket, &tty)) < 0))
		goto fail;
	oci_relay_args a = {.bundle = &b, .dir = &d, .globals = g, .id = id, .ready_fd = -1, .tty_fd = tty};
	if ((rc = spawn_container_process(&a, &cg, &pid)) < 0)
		goto fail;
	st.pid = pid;
	st.start_time = sv_process_start_time(pid);
	if ((rc = oci_hooks_save(&d, b.hooks_json)) < 0 ||
	    (rc = oci_hooks_run(b.hooks_json, "prestart", &st, OCI_CREATING)) < 0 ||
	    (rc = oci_hooks_run(b.hooks_json, "createRuntime", &st, OCI_CREATING)) < 0)
		goto fail;
	st.status = OCI_CREATED;
	if ((rc = oci_state_write(&d, &st)) < 0)
		goto fail;
	if (pid_file && (rc = oci_pid_file_write(pid_file, pid)) < 0)
		goto fail;
	if (tty >= 0)
		close(tty);
	oci_dir_close(&d);
	oci_cgroup_free(&cg);
	oci_bundle_free(&b);
	return 0;
fail:;
	int code = oci_log_error("creating container \"%s\": %s", id, sv_last_error());
	oci_vm_hold held = {0};
	if (made_dir)
		oci_vm_hold_all(&held, &d, g); /* before its owner dies: see oci_vm_hold */
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (tty >= 0)
		close(tty);
	if (made_dir) {
		oci_vm_teardown(&held, &d, g);
		oci_cgroup_remove(&d);
		oci_dir_remove(&d);
	}
	oci_dir_close(&d);
	oci_cgroup_free(&cg);
	oci_bundle_free(&b);
	return code;
}

int oci_cmd_create(const oci_globals *g, int argc, char **argv)
{
	const char *bundle = ".", *pid_file = NULL, *console = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+b:", create_opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case OPT_PID_FILE:
			pid_file = optarg;
			break;
		case OPT_CONSOLE:
			console = optarg;
			break;
		case OPT_IGNORED:
		case OPT_PRESERVE_FDS: /* the engine's extra fds are not passed into the guest */
			break;
		default:
			return oci_log_error("create: unknown option %s", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return oci_log_error(
		    "usage: smartvm-oci create --bundle DIR [--pid-file F] [--console-socket S] ID");
	return create(g, argv[optind], bundle, pid_file, console);
}
