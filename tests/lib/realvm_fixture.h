/* Fixtures for real VMs driven through smartvm itself (the manager, the VM
 * layer and the QEMU backend under TCG), booting the minimal image that
 * qemu_fixture builds and caches. Include after svtest.h. */
#ifndef SVTEST_REALVM_FIXTURE_H
#define SVTEST_REALVM_FIXTURE_H

#include "qemu_fixture.h"
#include <smartvm/command.h>
#include <smartvm/smartvm.h>
#include <stdbool.h>

/* Wall-clock bound for one boot-and-command. */
#define SVR_BOOT_TIMEOUT_MS 90000

/* The minimal image's boot args with its agent off: `run -- CMD` then runs
 * CMD on the console, for the tests of the console path. */
#define SVR_CONSOLE_BOOT_ARGS "console=ttyS0 panic=-1 quiet smartvm.agent=off"

typedef struct {
	const svq_image *img;
	char *data_dir;
	char *runtime_dir;
	char *bridge; /* the bridge VMs with interfaces use */
	char *subnet;
	sv_manager *mgr;    /* vmm qemu, accel tcg */
	bool runtime_tmpfs; /* runtime_dir is a small tmpfs of its own */
} svr_env;

/* Skips (with the reason) unless root, QEMU and the image are there. With
 * netns, first moves this process into a fresh network namespace (lo up), so
 * the bridge and TAPs the VMs get exist only there. */
void svr_env_init(svr_env *e, bool netns);

/* svr_env_init with the runtime dir on a tmpfs of runtime_bytes, in a mount
 * namespace of this process's own (a runtime fs that fills up). */
void svr_env_init_small_runtime(svr_env *e, size_t runtime_bytes);

/* Frees the manager (stopping whatever is left), then asserts the runtime
 * directory is empty and no process mentions it; removes the directories. */
void svr_env_done(svr_env *e);

/* c for the image: kernel, initrd, its boot args, read-only root, 1 vCPU, 256 MiB. */
void svr_config(svq_config *c, const svr_env *e);

/* Creates the VM (id may be NULL), sets cmd (may be NULL) and starts it;
 * fails the test on error. */
sv_vm *svr_start(svr_env *e, const sv_vm_config *cfg, const char *id, const char *const *cmd);

/* Waits for the command and the VM's end; returns the output (malloc'd) and
 * sets *status. Fails the test on error or after SVR_BOOT_TIMEOUT_MS. */
char *svr_wait(sv_vm *vm, int *status);

/* Reads the command's streaming output until it contains needle (the output
 * so far, malloc'd, is kept in *acc); false after timeout_ms. */
bool svr_wait_output(sv_vm *vm, char **acc, const char *needle, int timeout_ms);

/* For CLI tests: skips unless root, QEMU and the image are there, then
 * imports the image into data_dir as bundle "minimal" (`smartvm image
 * build-minimal`), once per data_dir and program. */
void svr_cli_image(const char *data_dir);

/* A data and a runtime directory for driving the CLI, with their flags. */
typedef struct {
	char *data_dir, *runtime_dir;
	char *data_flag, *runtime_flag; /* --data-dir=..., --runtime-dir=... */
	char *out, *err;		/* of the last svr_cli_run */
	long long took_ms;		/* how long it took */
} svr_cli;

void svr_cli_init(svr_cli *c);

/* Asserts nothing of any VM is left in the runtime dir (no entry, no
 * process naming it), then removes both directories. */
void svr_cli_done(svr_cli *c);

/* One svr_cli for a whole test program, set up and checked by cmocka's group
 * fixtures: cmocka_run_group_tests(tests, svr_shared_cli_setup,
 * svr_shared_cli_teardown). */
extern svr_cli svr_shared_cli;
int svr_shared_cli_setup(void **state);
int svr_shared_cli_teardown(void **state);

/* `smartvm run DIRS --image minimal --vmm qemu --accel tcg OPTS... -- CMD...`
 * (opts may be NULL; both NULL-terminated), importing the image first.
 * Returns the exit code; c->out, c->err and c->took_ms are set. */
int svr_cli_run(svr_cli *c, const char *const *opts, const char *const *cmd);

/* The highest "tick N" in text (0 if none), and the first. */
int svr_last_tick(const char *text);
int svr_first_tick(const char *text);

#endif
