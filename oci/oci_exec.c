/* `exec [OPTIONS] ID [ARGS...]`: runs one more process in the container's
 * guest through the agent, as `start` runs the first one (same user, env,
 * cwd semantics; oci_relay.c's pieces do the work). The process is the
 * bundle's process with ARGS and the overrides (runc's way), or a process
 * object from --process FILE (parsed by oci_bundle.c's process parser).
 *
 * A host process stands for the guest process: this `exec` itself, or with
 * --detach a relay it forks (its pid in --pid-file; engines wait on it as
 * they wait on the container process). Either relays stdio (the caller's
 * fds, or a terminal sent to --console-socket), forwards signals and exits
 * as the guest process did. Each is recorded in the container's directory
 * while it runs (oci_execs.h) for `ps` and `delete`. */
#include "oci_commands.h"

#include "oci_bundle.h"
#include "oci_console.h"
#include "oci_execs.h"
#include "oci_fork.h"
#include "oci_log.h"
#include "oci_relay.h"
#include "oci_vm.h"
#include "util/error.h"
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROCESS_MAX_BYTES (1u << 20)
#define VERDICT_MAX 4096
#define MAX_ENV_OVERRIDES 256
#define USAGE                                                                                                \
	"exec [--process FILE] [--tty] [--console-socket S] [--pid-file F] [--detach] [--cwd D] "            \
	"[--env K=V]... [--user UID[:GID]] [--ignore-paused] ID [ARGS...]"

typedef struct {
	const char *process_file, *console_socket, *pid_file, *cwd, *user;
	const char *env[MAX_ENV_OVERRIDES];
	size_t n_env;
	bool tty, detach, ignore_paused;
} exec_opts;

enum {
	OPT_PROCESS = 256,
	OPT_CONSOLE,
	OPT_PID_FILE,
	OPT_CWD,
	OPT_IGNORE_PAUSED,
	OPT_IGNORED_FLAG,
	OPT_IGNORED_VALUE
};

static const struct option exec_long_opts[] = {
    {"process", required_argument, NULL, 'p'},
    {"tty", no_argument, NULL, 't'},
    {"console-socket", required_argument, NULL, OPT_CONSOLE},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"detach", no_argument, NULL, 'd'},
    {"cwd", required_argument, NULL, OPT_CWD},
    {"env", required_argument, NULL, 'e'},
    {"user", required_argument, NULL, 'u'},
    {"ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED},
    /* runc's, accepted: the VM is the isolation boundary (docs/oci.md). */
    {"no-new-privs", no_argument, NULL, OPT_IGNORED_FLAG},
    {"preserve-fds", required_argument, NULL, OPT_IGNORED_VALUE},
    {"cap", required_argument, NULL, 'c'},
    {"process-label", required_argument, NULL, OPT_IGNORED_VALUE},
    {"apparmor", required_argument, NULL, OPT_IGNORED_VALUE},
    {"cgroup", required_argument, NULL, OPT_IGNORED_VALUE},
    {0},
};

/* Sets "K=V" in the NULL-terminated env, replacing K's entry if there is one. */
static int set_env(char ***env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return sv_err(SV_EINVAL, "exec --env \"%s\": expected KEY=VALUE", kv);
	size_t klen = (size_t)(eq - kv) + 1, n = 0;
	char *copy = strdup(kv);
	if (!copy)
		return sv_err(SV_ENOMEM, "out of memory");
	for (; (*env)[n]; n++)
		if (!strncmp((*env)[n], kv, klen)) {
			free((*env)[n]);
			(*env)[n] = copy;
			return 0;
		}
	char **grown = realloc(*env, (n + 2) * sizeof(**env));
	if (!grown) {
		free(copy);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	grown[n] = copy;
	grown[n + 1] = NULL;
	*env = grown;
	return 0;
}

static bool parse_id(const char *s, const char *end, uint32_t *out)
{
	char *stop;
	errno = 0;
	unsigned long long n = s < end && *s >= '0' && *s <= '9' ? strtoull(s, &stop, 10) : 0;
	if (s >= end || *s < '0' || *s > '9' || errno || stop != end || n > UINT32_MAX)
		return false;
	*out = (uint32_t)n;
	return true;
}

/* --user UID[:GID] (numbers: the guest's names are not looked up). */
static int set_user(oci_bundle *p, const char *user)
{
	const char *colon = strchr(user, ':'), *end = user + strlen(user);
	uint32_t uid, gid = 0;
	if (!parse_id(user, colon ? colon : end, &uid) || (colon && !parse_id(colon + 1, end, &gid)))
		return sv_err(SV_EINVAL, "exec --user \"%s\": expected UID[:GID] (numbers)", user);
	p->uid = uid;
	p->gid = gid;
	return 0;
}

/* The process to run: --process FILE, or the bundle's with ARGS; then the
 * options that override it. */
static int build_process(oci_bundle *p, const exec_opts *o, const oci_state *s, char **args)
{
	int rc;
	if (o->process_file) {
		char *text = NULL;
		if ((rc = sv_read_file(o->process_file, PROCESS_MAX_BYTES, &text, NULL)) < 0) {
			*p = (oci_bundle){0};
			sv_err_prefix("exec --process");
			return rc;
		}
		rc = oci_process_parse(p, o->process_file, text);
		free(text);
		if (rc < 0)
			return rc;
	} else {
		if (!args[0])
			return sv_err(SV_EINVAL, "exec: no command: give ARGS after the id, or --process FILE");
		if ((rc = oci_bundle_load(p, s->bundle)) < 0) {
			sv_err_prefix("exec: the container's bundle");
			return rc;
		}
		for (size_t i = 0; p->args[i]; i++)
			free(p->args[i]);
		free(p->args);
		size_t n = 0;
		while (args[n])
			n++;
		if (!(p->args = calloc(n + 1, sizeof(*p->args))))
			return sv_err(SV_ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++)
			if (!(p->args[i] = strdup(args[i])))
				return sv_err(SV_ENOMEM, "out of memory");
		if (!p->args[0][0])
			return sv_err(SV_EINVAL, "exec: the command must not be empty");
		p->terminal = false; /* runc: the bundle's terminal is the first process's */
	}
	p->terminal = p->terminal || o->tty;
	if (o->cwd) {
		if (o->cwd[0] != '/')
			return sv_err(SV_EINVAL, "exec --cwd \"%s\": must be an absolute path", o->cwd);
		char *cwd = strdup(o->cwd);
		if (!cwd)
			return sv_err(SV_ENOMEM, "out of memory");
		free(p->cwd);
		p->cwd = cwd;
	}
	for (size_t i = 0; i < o->n_env; i++)
		if ((rc = set_env(&p->env, o->env[i])) < 0)
			return rc;
	if (o->user && (rc = set_user(p, o->user)) < 0)
		return rc;
	if (p->terminal && !o->console_socket)
		return sv_err(SV_EINVAL, "exec: a terminal (--tty or process.terminal) needs --console-socket");
	if (!p->terminal && o->console_socket)
		return sv_err(SV_EINVAL, "exec: --console-socket given without a terminal (--tty)");
	return 0;
}

/* Tells the waiting parent (detach) or reports itself (foreground). False
 * when the parent is gone: nobody learnt the relay's pid, so nobody would
 * wait for it. */
static bool verdict(int ready_fd, const char *text)
{
	if (ready_fd < 0) {
		if (strcmp(text, "ok"))
			oci_log_error("%s", text);
		fflush(NULL); /* the caller _exits */
		return true;
	}
	bool told = write(ready_fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(ready_fd);
	return told;
}

/* The relay standing for the guest process; never returns. */
__attribute__((noreturn)) static void relay(oci_relay_args *a, int ready_fd)
{
	sv_manager *mgr = NULL;
	sv_vm *vm = NULL;
	sv_exec *e = NULL;
	int code = 1, sig = 0;
	char msg[VERDICT_MAX];

	/* A detached relay leaves the caller's session, as runc's does; in the
	 * foreground only a terminal of our own needs one (its resizes become
	 * our SIGWINCH), else the caller's terminal signals still reach us. */
	if ((ready_fd >= 0 || a->tty_fd >= 0) && setsid() >= 0 && a->tty_fd >= 0)
		ioctl(a->tty_fd, TIOCSCTTY, 0);
	oci_relay_catch_signals();
	if (oci_vm_attach(&mgr, &vm, a->dir, a->globals) < 0 || oci_execs_add(a->dir, a->bundle->args[0]) < 0) {
		snprintf(msg, sizeof(msg), "exec in container \"%s\": %s", a->id, sv_last_error());
		verdict(ready_fd, msg);
		sv_manager_free(mgr);
		_exit(1);
	}
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	oci_relay_exec_options(&o, a);
	if (sv_exec_start(&e, vm, (const char *const *)a->bundle->args, &o) < 0) {
		snprintf(msg, sizeof(msg), "exec in container \"%s\": %s", a->id, sv_last_error());
		oci_execs_remove(a->dir);
		verdict(ready_fd, msg);
		sv_manager_free(mgr);
		_exit(1);
	}
	if (!verdict(ready_fd, "ok")) {
		sv_exec_free(e); /* the agent ends a process whose client went */
		oci_execs_remove(a->dir);
		sv_manager_free(mgr);
		_exit(1);
	}
	oci_relay_run_process(e, a, &code, &sig);
	sv_exec_free(e);
	oci_execs_remove(a->dir);
	sv_manager_free(mgr); /* attached: the VM stays */
	oci_relay_exit_like(code, sig);
}

static void relay_child(void *ctx, int ready_fd)
{
	relay(ctx, ready_fd);
}

/* --detach: forks the relay, returns once the guest process runs, with the
 * relay's pid in --pid-file. */
static int detach(oci_relay_args *a, const char *pid_file)
{
	char buf[VERDICT_MAX];
	pid_t pid;
	if (oci_fork_reporting(relay_child, a, &pid, buf, sizeof(buf)) < 0)
		return -1;
	int rc = 0;
	if (strcmp(buf, "ok") != 0)
		rc = sv_err(SV_EPROCESS, "%s", buf[0] ? buf : "the exec relay died before the process started");
	else if (pid_file && (rc = oci_pid_file_write(pid_file, pid)) < 0)
		kill(pid, SIGKILL); /* nobody would know to wait for it */
	if (rc < 0)
		waitpid(pid, NULL, 0);
	return rc;
}

static int run_exec(const oci_globals *g, const exec_opts *o, const char *id, char **args)
{
	oci_dir d;
	oci_state s;
	oci_bundle p = {0};
	int tty = -1, code = oci_container_open(g, id, &d, &s);
	if (code)
		return code;
	if (!oci_status_live(s.status)) {
		code = oci_log_error("container \"%s\" is %s: cannot exec in it", id, oci_status_name(s.status));
		goto out;
	}
	if (s.status == OCI_PAUSED && !o->ignore_paused) {
		code = oci_log_error("container \"%s\" is paused: resume it first (exec --ignore-paused "
				     "waits for the resume instead)",
				     id);
		goto out;
	}
	if (build_process(&p, o, &s, args) < 0 ||
	    (o->console_socket && oci_console_setup(o->console_socket, &tty) < 0)) {
		code = oci_log_error("%s", sv_last_error());
		goto out;
	}
	oci_relay_args a = {
	    .bundle = &p, .dir = &d, .globals = g, .id = id, .ready_fd = -1, .tty_fd = tty, .ctl_fd = -1};
	if (o->detach) {
		if (detach(&a, o->pid_file) < 0)
			code = oci_log_error("%s", sv_last_error());
		goto out;
	}
	if (o->pid_file && oci_pid_file_write(o->pid_file, getpid()) < 0) {
		code = oci_log_error("%s", sv_last_error());
		goto out;
	}
	oci_state_free(&s);
	relay(&a, -1);
out:
	if (tty >= 0)
		close(tty);
	oci_bundle_free(&p);
	oci_state_free(&s);
	oci_dir_close(&d);
	return code;
}

int oci_cmd_exec(const oci_globals *g, int argc, char **argv)
{
	exec_opts o = {0};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p:tde:u:c:", exec_long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.process_file = optarg;
			break;
		case 't':
			o.tty = true;
			break;
		case OPT_CONSOLE:
			o.console_socket = optarg;
			break;
		case OPT_PID_FILE:
			o.pid_file = optarg;
			break;
		case 'd':
			o.detach = true;
			break;
		case OPT_CWD:
			o.cwd = optarg;
			break;
		case 'e':
			if (o.n_env == MAX_ENV_OVERRIDES)
				return oci_log_error("exec: more than %d --env options", MAX_ENV_OVERRIDES);
			o.env[o.n_env++] = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case OPT_IGNORE_PAUSED:
			o.ignore_paused = true;
			break;
		case 'c':
		case OPT_IGNORED_FLAG:
		case OPT_IGNORED_VALUE:
			break;
		default:
			return oci_log_error("exec: unknown option %s\nusage: smartvm-oci " USAGE, argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return oci_log_error("usage: smartvm-oci " USAGE);
	if (o.process_file && optind + 1 < argc)
		return oci_log_error("exec: give ARGS or --process FILE, not both");
	return run_exec(g, &o, argv[optind], argv + optind + 1);
}
