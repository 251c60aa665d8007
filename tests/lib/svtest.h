/* Shared test fixtures: temporary directories, programs the build made, leftover
 * checks. Included after cmocka's headers by every test. */
#ifndef SVTEST_H
#define SVTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh directory under /tmp (malloc'd path); removed by svt_rm_tmpdir. */
char *svt_tmpdir(void);
void svt_rm_tmpdir(char *path);

/* Writes text to dir/name (created), returns the malloc'd path. */
char *svt_write(const char *dir, const char *name, const char *text);

/* Writes size bytes of data (no holes; size a multiple of 64 KiB) to
 * dir/name (created), returns the malloc'd path. */
char *svt_write_data(const char *dir, const char *name, size_t size);

/* Mounts a tmpfs of the given size ("1000k") at dir/name (created, mode 0700)
 * in a mount namespace this test process enters for good (as root; skips the
 * calling test otherwise). Returns the malloc'd mount point; unmount it with
 * umount2(MNT_DETACH) before the directory is removed. */
char *svt_small_tmpfs(const char *dir, const char *name, const char *size);

/* A pid from <runtime_dir>/<id>/state.json ("vmm_pid", "supervisor_pid");
 * fails the test unless it is there and positive. */
int svt_vm_state_pid(const char *runtime_dir, const char *id, const char *key);

/* Paths of build products, from the test environment (meson sets them). */
const char *svt_fake_firecracker(void);
const char *svt_cli(void);
const char *svt_source_root(void);

/* Number of processes whose command line contains needle (e.g. a test's
 * runtime dir); the test process itself never counts. */
int svt_count_processes_with(const char *needle);
/* Fails naming each process (pid, parent, command line) with needle in its
 * command line. */
void svt_assert_no_processes_with(const char *needle);
/* SIGKILLs those processes (a failed test's leftovers); returns how many. */
int svt_kill_processes_with(const char *needle);

/* Number of entries in a directory (0 if it does not exist). */
int svt_dir_entries(const char *path);
/* The entries of a runtime dir but the end records of VMs that ended
 * detached (leftovers.h: kept until `smartvm rm`, no leak). */
int svt_vm_dirs_left(const char *runtime_dir);

/* Runs the smartvm CLI with argv (NULL-terminated, without argv[0]) and the
 * given extra environment ("K=V" strings, NULL-terminated, may be NULL).
 * Captures stdout and stderr (malloc'd). Returns the exit code. */
int svt_run_cli(const char *const *args, const char *const *extra_env, char **out, char **err);
/* The same for any program (a path). */
int svt_run_program(const char *program, const char *const *args, const char *const *extra_env, char **out,
		    char **err);

/* svt_run_cli with the NULL-terminated args in ap followed by
 * `--data-dir data_dir --runtime-dir runtime_dir` (at most 58 args, else the
 * test fails). *out and *err are freed first and then hold this run's output
 * ("" when there was none). Returns the exit code. */
int svt_run_cli_dirs_v(const char *data_dir, const char *runtime_dir, const char *const *extra_env,
		       char **out, char **err, va_list ap);

/* Fails the test, showing both strings, unless needle occurs in haystack. */
#define svt_assert_contains(haystack, needle) svt__assert_contains((haystack), (needle), __FILE__, __LINE__)
void svt__assert_contains(const char *haystack, const char *needle, const char *file, int line);

/* Moves this test process into a network namespace of its own (as root), so
 * host networking that VMs set up (bridge, TAPs, nftables, forwarding) never
 * touches the machine's real network. Returns false when not root: the
 * caller skips what needs networking. Call first thing in main(). */
bool svt_private_netns(void);

/* True when running as root (tests that need it skip otherwise). */
bool svt_is_root(void);

/* ---- skipping ----
 * A skipped test says why, and the program exits 77, so meson shows SKIP, never
 * OK, for a test that did nothing. In CI (CI=true in the environment) a skip
 * fails the test instead, unless CI cannot provide what is missing:
 * svt_ci_provides() in svtest.c is the one place that decides. */
typedef enum {
	SVT_NEED_ROOT,	  /* root: namespaces, TAPs, chown, the jailer */
	SVT_NEED_QEMU,	  /* qemu-system-x86_64 (a `make deps` package) */
	SVT_NEED_IMAGE,	  /* the minimal guest image, built from `make deps` packages */
	SVT_NEED_NETNS,	  /* a private network namespace */
	SVT_NEED_HOST,	  /* a property of this machine (a usable KVM, a PVM hypervisor) */
	SVT_NEED_FAULTS,  /* a build with fault injection (-Dfault_injection, on in test builds) */
	SVT_NEED_PACKAGE, /* another `make deps` package (wireguard-go, wireguard-tools) */
} svt_need;

/* Skips the running test: prints "skipped: <why>" and counts it (see
 * svt_run_group); fails it instead in CI when CI provides need. */
#define svt_skip(need, ...) svt__skip((need), __FILE__, __LINE__, __VA_ARGS__)
void svt__skip(svt_need need, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* For a main() that cannot run any of its tests: prints why and returns the
 * exit code (77; 1 in CI when CI provides need). */
int svt_skip_program(svt_need need, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when CI=true (or any value but "" / "0" / "false") is set. */
bool svt_in_ci(void);

/* cmocka's group runners, returning main()'s exit code: 1 if a test failed
 * or the group teardown failed (an assert in it, or a non-zero return: cmocka
 * itself does not count that), else 77 if one was skipped, else 0. Every test
 * program's main ends in one. */
#define svt_run_group(tests, setup, teardown)                                                                \
	svt__run_group(#tests, tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown)
#define svt_run_group_name(name, tests, setup, teardown)                                                     \
	svt__run_group(name, tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown)
int svt__run_group(const char *name, const struct CMUnitTest *tests, size_t n, CMFixtureFunction setup,
		   CMFixtureFunction teardown);
int svt__exit_code(int failed);

/* A bare cmocka skip() still counts, but must say why to pass in CI. */
#undef skip
#define skip() svt__skip(SVT_NEED_ROOT, __FILE__, __LINE__, "%s", "skip() without a reason (use svt_skip)")

#endif
