/* Test fixture: a manager on the fake Firecracker in a temporary directory,
 * with the kernel, root filesystem and scratch drive files the library-level
 * VM tests boot from. The test's own fixture embeds one and adds its extras;
 * closing it asserts that nothing remains in the runtime directory and that
 * no process mentions it. Include after cmocka's headers (svtest.h). */
#ifndef SVTEST_FCMGRFIXTURE_H
#define SVTEST_FCMGRFIXTURE_H

#include <smartvm/smartvm.h>

typedef struct {
	char *dir;     /* fresh tmpdir */
	char *runtime; /* <dir>/runtime (not created) */
	char *data;    /* <dir>/data (not created) */
	char *kernel;  /* <dir>/vmlinux: "kernel image" */
	char *rootfs;  /* <dir>/rootfs.ext4: "root filesystem" */
	char *scratch; /* <dir>/scratch.img: "scratch data" */
	char *metrics; /* <dir>/metrics.json (not created) */
	sv_manager *mgr; /* fake Firecracker, stop timeout 3 s */
} svt_fcmgr;

/* Makes the directory, the files and the manager; fails the test on error. */
void svt_fcmgr_init(svt_fcmgr *m);

/* Frees the manager, then asserts the runtime directory is empty and no
 * process mentions it. */
void svt_fcmgr_close(svt_fcmgr *m);

/* Frees the paths and removes the directory (after svt_fcmgr_close and the
 * test's own checks). */
void svt_fcmgr_free(svt_fcmgr *m);

#endif
