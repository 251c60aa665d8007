/* The CLI tests' fixture (test_cli_usage, test_cli_vm, test_cli_habits): a
 * temporary directory with the data and runtime dirs every command gets, a
 * stand-in kernel and rootfs for the fake Firecracker, and the output of the
 * last command. */
#ifndef SVT_CLIFIXTURE_H
#define SVT_CLIFIXTURE_H

#include <jansson.h>

typedef struct {
	char *tmp;
	char data_dir[512];
	char runtime_dir[512];
	char *kernel, *rootfs;
	char *out, *err; /* of the last svt_cli_run() */
} svt_cli_fixture;

svt_cli_fixture *svt_cli_fixture_new(void);
/* Frees fx but not its directory, whose path it returns: the caller checks
 * what is left there, then removes it (svt_rm_tmpdir). */
char *svt_cli_fixture_free(svt_cli_fixture *fx);

/* Runs smartvm with the args (NULL-terminated) followed by the fixture's
 * --data-dir/--runtime-dir, with env added (NULL: none); the exit code. */
int svt_cli_env(svt_cli_fixture *fx, const char *const *env, ...);
#define svt_cli_run(fx, ...) svt_cli_env((fx), NULL, __VA_ARGS__)

/* The last command's stdout as JSON (a new reference); fails the test if
 * it is not JSON. */
json_t *svt_cli_json(svt_cli_fixture *fx);

#endif
