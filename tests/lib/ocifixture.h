/* Fixtures for the OCI runtime's tests: a test directory with a bundle whose
 * rootfs is busybox-static and its applet links, a state root for
 * smartvm-oci, and a data dir with the minimal image (for the tests that
 * boot). Include after svtest.h. */
#ifndef SVTEST_OCIFIXTURE_H
#define SVTEST_OCIFIXTURE_H

#include <stdbool.h>

typedef struct {
	char *dir;    /* the test's tmpdir: everything below it */
	char *root;   /* --root for smartvm-oci */
	char *data;   /* --data-dir (the minimal image, once svo_need_image ran) */
	char *bundle; /* <dir>/bundle, with rootfs/ */
	char *rootfs;
	char *bundle_config; /* <bundle>/config.json */
} svo_env;

/* The smartvm-oci the build made ($SMARTVM_OCI). */
const char *svo_program(void);

/* Makes the directories and the busybox rootfs (bin/busybox + links for
 * the applets the tests use, etc/passwd). */
void svo_env_init(svo_env *e);

/* Imports the minimal image into e->data; skips without root, QEMU or it. */
void svo_need_image(svo_env *e);

/* Writes <bundle>/config.json: a valid config running args (a JSON array
 * text such as "[\"echo\",\"hi\"]") with extra top-level members appended
 * (may be NULL, else text like ",\"hostname\":\"x\""). */
void svo_write_config(svo_env *e, const char *args_json, const char *extra);

/* smartvm-oci --root <root> --data-dir <data> --vmm qemu --accel tcg ARGS
 * (NULL-terminated); captures both outputs ("" when none); returns the exit
 * code. */
int svo_run(svo_env *e, const char *const *args, char **out, char **err);

/* Asserts the state root is empty and no process names the test dir, then
 * removes it. */
void svo_env_done(svo_env *e);

#endif
