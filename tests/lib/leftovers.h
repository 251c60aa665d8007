/* What smartvm leaves on the host once its VMs are stopped and `gc` ran:
 * nothing. svt_leftovers lists whatever is still there within a scope (a
 * test's directory, its runtime and data dirs, its jail and cgroup roots,
 * its private network namespace), one line per item, so that a failing
 * test or the soak says what leaked. Shared by the fault-injection tests
 * and the soak. Include after cmocka's headers (svtest.h). */
#ifndef SVTEST_LEFTOVERS_H
#define SVTEST_LEFTOVERS_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct {
	/* Processes whose command line, executable or working directory names
	 * this directory (the test's own; a jailed VMM's command line names
	 * none of our paths, but its executable and cwd are in its jail). */
	const char *root;
	const char *runtime_dir;    /* must be empty (VM dirs, unclaimed dirs) */
	const char *data_dir;	    /* <data_dir>/net must be empty (leases, bridge state) */
	/* Take every bridge of data_dir down first (sv_net_down: the bridge and
	 * its table persist after the last VM by design). Down refuses while a
	 * lease is left and keeps a bridge a TAP of smartvm's is still on: its
	 * error is then reported as a leftover. */
	bool net_down;
	const char *jail_base;	    /* NULL, or <base>/<exec name>/ must be empty */
	const char *jail_exec_name; /* e.g. "fake-firecracker" */
	const char *cgroup_root;    /* NULL, or no <root>[/<ctrl>]/<exec name>/<id> dirs */
	/* In a private network namespace (the caller's): every link but lo and
	 * keep_links, every nftables table, counts. */
	bool netns;
	const char *const *keep_links; /* NULL-terminated; may be NULL */
	const char *const *gone_paths; /* NULL-terminated paths that must not exist; may be NULL */
} svt_scope;

/* runtime_dir/name holds nothing but the end record (ended.json naming
 * that id, its lock, console log and config) of a VM that ended detached: kept by
 * contract until `smartvm rm`, never a leak. */
bool svt_is_end_record_dir(const char *runtime_dir, const char *name);

/* The leftovers, one per line ("" when none); malloc'd. */
char *svt_leftovers(const svt_scope *s);

/* Waits (at most timeout_ms, polling) until no process of the scope is
 * left, then returns svt_leftovers. Processes that exit asynchronously (a
 * VMM killed by its supervisor) are given that long. */
char *svt_leftovers_settled(const svt_scope *s, int timeout_ms);

/* How many processes the scope has (command line, executable or cwd
 * naming root); the first max pids go to pids (may be NULL). */
int svt_scope_processes(const char *root, pid_t *pids, int max);

/* The pid of the process whose command line contains both needles
 * (e.g. "smartvm-supervisor" and a VM dir), or 0. */
pid_t svt_find_process(const char *needle1, const char *needle2);

/* Waits at most timeout_ms for pid to be stopped (SIGSTOP); false if it
 * exited or the time ran out. */
bool svt_wait_stopped(pid_t pid, int timeout_ms);
/* Waits until pid has exited: gone or a zombie, so its files (and the locks
 * they hold) are closed; a killed process loses its command line earlier
 * than that. False on timeout. */
bool svt_wait_exited(pid_t pid, int timeout_ms);

#endif
