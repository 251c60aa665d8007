/* `start`, `state`, `kill` and `delete`: each opens the container's
 * directory and state, and acts on the container process only while it is
 * the process create started (pid + start time, through a pidfd so that a
 * reused pid is never signalled). */
#include "oci_commands.h"

#include "oci_cgroup.h"
#include "oci_execs.h"
#include "oci_hooks.h"
#include "oci_log.h"
#include "oci_relay.h"
#include "oci_signal.h"
#include "oci_state.h"
#include "oci_vm.h"
#include "util/error.h"
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How long kill/delete wait for the container process to die of SIGKILL. */
#define DEATH_TIMEOUT_MS 10000

int oci_container_open(const oci_globals *g, const char *id, oci_dir *d, oci_state *s)
{
	if (oci_dir_open(d, g->root, id) < 0)
		return oci_log_error("%s", sv_last_error());
	if (oci_state_load(d, s) < 0) {
		int code = oci_log_error("container \"%s\": %s", id, sv_last_error());
		oci_dir_close(d);
		return code;
	}
	return 0;
}

/* Sends sig to the container process; with SIGKILL waits for its death. */
static int signal_process(const oci_state *s, int sig)
{
	int pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (pidfd < 0 || !oci_state_process_alive(s)) { /* checked after the open: no reuse race */
		if (pidfd >= 0)
			close(pidfd);
		return sv_err(SV_EINVALID_STATE, "container \"%s\" is not running", s->id);
	}
	int rc = 0;
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		rc = sv_err_errno(SV_EIO, errno, "container \"%s\": signal %d", s->id, sig);
	else if (sig == SIGKILL && sv_pidfd_wait_exit(pidfd, DEATH_TIMEOUT_MS) != 0)
		rc = sv_err(SV_ETIMEOUT, "container \"%s\": its process %d did not die of SIGKILL", s->id,
			    (int)s->pid);
	close(pidfd);
	return rc;
}

/* Parses `CMD [flags] ID [extra]`: flags are the given boolean options. */
static int parse(int argc, char **argv, const struct option *opts, const char *shortopts, bool *flags,
		 int max_pos, const char *usage)
{
	int c, idx;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, opts, &idx)) != -1) {
		if (c == '?')
			return oci_log_error("%s: unknown option %s\nusage: smartvm-oci %s", argv[0],
					     argv[optind - 1], usage);
		for (int i = 0; opts && opts[i].name; i++)
			if (opts[i].val == c && flags)
				flags[i] = true;
	}
	int n = argc - optind;
	if (n < 1 || n > max_pos)
		return oci_log_error("usage: smartvm-oci %s", usage);
	return 0;
}

int oci_cmd_start(const oci_globals *g, int argc, char **argv)
{
	oci_dir d;
	oci_state s;
	int code = parse(argc, argv, NULL, "+", NULL, 1, "start ID");
	if (code || (code = oci_container_open(g, argv[optind], &d, &s)))
		return code;
	if (s.status != OCI_CREATED)
		code = oci_log_error("container \"%s\" is %s, not created", s.id, oci_status_name(s.status));
	else if (oci_relay_request_start(&d, s.id) < 0)
		code = oci_log_error("%s", sv_last_error());
	if (code == 0) {
		s.status = OCI_RUNNING;
		if (oci_state_write(&d, &s) < 0)
			code = oci_log_error("%s", sv_last_error());
	}
	char *hooks = NULL;
	if (code == 0 && (oci_hooks_load(&d, &hooks) < 0 || oci_hooks_run(hooks, "poststart", &s, OCI_RUNNING) < 0))
		oci_log_warn("container \"%s\": %s", s.id, sv_last_error()); /* the spec: a warning */
	free(hooks);
	oci_state_free(&s);
	oci_dir_close(&d);
	return code;
}

int oci_cmd_state(const oci_globals *g, int argc, char **argv)
{
	oci_dir d;
	oci_state s;
	int code = parse(argc, argv, NULL, "+", NULL, 1, "state ID");
	if (code || (code = oci_container_open(g, argv[optind], &d, &s)))
		return code;
	char created[64];
	oci_state_created_text(&s, created, sizeof(created));
	bool live = oci_status_live(s.status);
	json_t *ann = json_loads(s.annotations_json, 0, NULL);
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:o}", "ociVersion", OCI_SPEC_VERSION, "id", s.id,
		      "status", oci_status_name(s.status), "pid", (json_int_t)(live ? s.pid : 0), "bundle",
		      s.bundle, "created", created, "annotations", ann ? ann : json_object());
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	if (text)
		printf("%s\n", text);
	else
		code = oci_log_error("out of memory");
	free(text);
	json_decref(o);
	oci_state_free(&s);
	oci_dir_close(&d);
	return code;
}

/* Kills what is left of the container's VM (held: attached before its
 * container process was killed) and, with remove, deletes the container's
 * cgroup and directory (kill leaves the cgroup: it stays busy until the
 * engine reaps the process kill just ended); under the container's lock,
 * since an engine may run kill and delete at once. Releases held. Logs;
 * returns the exit code. */
static int teardown_locked(oci_dir *d, const oci_globals *g, const char *id, oci_vm_hold *held, bool remove)
{
	int lock = -1, code = 0;
	struct stat st;
	if (oci_dir_lock(d, &lock) < 0) {
		code = fstatat(d->root_fd, id, &st, AT_SYMLINK_NOFOLLOW) < 0 /* another delete was first */
			   ? 0
			   : oci_log_error("container \"%s\": %s", id, sv_last_error());
		oci_vm_release(held);
		return code;
	}
	if (fstatat(d->root_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0) /* not removed meanwhile */
		oci_execs_signal_all(d, SIGKILL); /* the exec relays go with the VM */
	if (fstatat(d->root_fd, id, &st, AT_SYMLINK_NOFOLLOW) != 0)
		oci_vm_release(held);
	else if (oci_vm_teardown(held, d, g) < 0 ||
		 (remove && (oci_cgroup_remove(d) < 0 || oci_dir_remove(d) < 0)))
		code = oci_log_error("%s container \"%s\": %s", remove ? "deleting" : "stopping the VM of",
				     id, sv_last_error());
	close(lock);
	return code;
}

int oci_cmd_kill(const oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {0}};
	bool all[1] = {false};
	oci_dir d;
	oci_state s;
	int code = parse(argc, argv, opts, "+a", all, 2, "kill [--all] ID [SIGNAL]");
	if (code)
		return code;
	const char *sig_text = optind + 1 < argc ? argv[optind + 1] : "TERM";
	int sig = oci_signal_parse(sig_text);
	if (!sig)
		return oci_log_error(
		    "kill: \"%s\" is not a signal (a name like TERM or SIGTERM, or a number)", sig_text);
	if ((code = oci_container_open(g, argv[optind], &d, &s)))
		return code;
	oci_vm_hold held = {0};
	if (sig == SIGKILL && oci_status_live(s.status)) /* before its owner dies: see oci_vm_hold */
		oci_vm_hold_all(&held, &d, g);
	if (!oci_status_live(s.status))
		code = oci_log_error("container \"%s\" is %s: nothing to signal", s.id,
				     oci_status_name(s.status));
	else if (signal_process(&s, sig) < 0)
		code = oci_log_error("%s", sv_last_error());
	else if (all[0]) /* runc: every process of the container, exec's too */
		oci_execs_signal_all(&d, sig);
	/* SIGKILL cannot be relayed: the container process died of it, and
	 * its VM goes with it. */
	if (code == 0 && sig == SIGKILL)
		code = teardown_locked(&d, g, s.id, &held, false);
	oci_vm_release(&held);
	oci_state_free(&s);
	oci_dir_close(&d);
	return code;
}

int oci_cmd_delete(const oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
	bool force[1] = {false};
	oci_dir d;
	oci_state s;
	int code = parse(argc, argv, opts, "+f", force, 1, "delete [--force] ID");
	if (code)
		return code;
	const char *id = argv[optind];
	if (oci_dir_open(&d, g->root, id) < 0) /* runc: --force of what is gone is fine */
		return force[0] && sv_last_error_code() == SV_ENOTFOUND
			   ? 0
			   : oci_log_error("%s", sv_last_error());
	/* A state file that cannot be read (a create killed before it wrote
	 * one) still leaves a directory to remove. */
	bool have_state = oci_state_load(&d, &s) == 0;
	if (have_state && (s.status == OCI_RUNNING || s.status == OCI_PAUSED) && !force[0]) {
		code = oci_log_error("container \"%s\" is %s: stop it first, or delete --force", id,
				     oci_status_name(s.status));
		goto out;
	}
	oci_vm_hold held;
	oci_vm_hold_all(&held, &d, g); /* before its owner dies: see oci_vm_hold */
	/* The exec relays first: killed after the container process they
	 * would see their VM go and exit on their own, not of SIGKILL. */
	oci_execs_signal_all(&d, SIGKILL);
	if (have_state && oci_state_process_alive(&s) && signal_process(&s, SIGKILL) < 0 &&
	    oci_state_process_alive(&s)) {
		code = oci_log_error("%s", sv_last_error());
		oci_vm_release(&held);
		goto out;
	}
	char *hooks = NULL;
	bool hooks_ok = oci_hooks_load(&d, &hooks) == 0;
	code = teardown_locked(&d, g, id, &held, true);
	if (!hooks_ok || (code == 0 && have_state && oci_hooks_run(hooks, "poststop", &s, OCI_STOPPED) < 0))
		oci_log_warn("container \"%s\": %s", id, sv_last_error()); /* the spec: a warning */
	free(hooks);
out:
	if (have_state)
		oci_state_free(&s);
	oci_dir_close(&d);
	return code;
}
