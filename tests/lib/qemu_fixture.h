/* Fixtures for real QEMU boots of the minimal image, driving the QEMU backend
 * directly (build_argv, spawn, QMP): the image built once and cached, one VM
 * per struct with its own directory, console log and wall-clock bounds.
 * Include after cmocka's headers (svtest.h). */
#ifndef SVTEST_QEMU_FIXTURE_H
#define SVTEST_QEMU_FIXTURE_H

#include "guest_cmd.h"
#include "vmm/qemu/qemu.h"
#include <stdbool.h>
#include <sys/types.h>

typedef struct {
	char *kernel;
	char *initrd;
	char *rootfs;
	char *boot_args; /* the manifest's bootArgs */
} svq_image;

/* The minimal image, built on first use with the build tree's tool into
 * $SMARTVM_TEST_IMAGE_DIR (default /var/tmp/smartvm-test-images) and reused
 * afterwards. Returns false with *why (static text) when QEMU, root or the
 * image can't be had; the caller skips. */
bool svq_image_get(const svq_image **img, const char **why);

/* svq_image_get, or skips the calling test (printing why) when the image
 * can't be had. */
const svq_image *svq_image_or_skip(void);

typedef struct {
	char *dir;          /* the VM dir (a fresh tmpdir) */
	char *console;      /* <dir>/console.log: QEMU's stdout and stderr */
	pid_t pid;
	int pidfd;
	sv_vmm *vmm;        /* QMP connection */
	long long launched_ms;
} svq_vm;

/* Boot args for cmd (NULL-terminated argv; NULL = the init's default) on top
 * of the image's, with extra appended (may be NULL). malloc'd. */
char *svq_boot_args(const svq_image *img, const char *const *cmd, const char *extra);

/* A config with room for a few drives and interfaces (cfg points into it). */
typedef struct {
	sv_vm_config cfg;
	sv_drive_config drives[4];
	sv_net_iface_config nets[4];
} svq_config;

/* Fills c for the image: kernel, initrd, 1 vCPU, 256 MiB, boot_args (borrowed),
 * and the image's rootfs as read-only root drive when with_root. */
void svq_config_init(svq_config *c, const svq_image *img, const char *boot_args, bool with_root);

/* Launches QEMU for cfg under TCG into a fresh VM dir, waits for the QMP
 * socket and connects (the VM is still frozen). incoming: started to receive
 * a snapshot. Fails the test on error. */
void svq_launch(svq_vm *vm, const sv_vm_config *cfg, const char *id, bool incoming);

/* configure() + start(). */
void svq_start(svq_vm *vm, const sv_vm_config *cfg);

/* launch + start, for the common case. */
void svq_boot(svq_vm *vm, const sv_vm_config *cfg, const char *id);

/* Waits at most timeout_ms for the init's exit marker and for QEMU to end.
 * Returns the command's exit status (-1 if no marker came); *output (may be
 * NULL) gets the command's output exactly, malloc'd. */
int svq_wait_exit(svq_vm *vm, int timeout_ms, char **output);

/* Waits until the console contains needle; false after timeout_ms. */
bool svq_wait_console(svq_vm *vm, const char *needle, int timeout_ms);

/* The console log so far (malloc'd). */
char *svq_console(svq_vm *vm);

/* True once QEMU has exited (reaped). */
bool svq_exited(svq_vm *vm, int timeout_ms);

/* Kills QEMU if it still runs, reaps it, disconnects, removes the VM dir,
 * and asserts no process mentions the dir any more. */
void svq_destroy(svq_vm *vm);

#endif
