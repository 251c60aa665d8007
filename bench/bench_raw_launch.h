/* The launch-throughput baseline (bench #2): one VM started and stopped the
 * way a hand-written client would, doing what any client must for the same
 * VM as smartvm's: a directory, a private copy of the writable drive (sparse,
 * like smartvm's staging), a TAP (ioctl on /dev/net/tun), the VMM spawned,
 * its socket waited for, the same sections configured, InstanceStart. Stop
 * is SendCtrlAltDel, the reap, the TAP and directory removed. No bridge, no
 * firewall, no ledger: that is the difference the ratio prices. */
#ifndef SV_BENCH_RAW_LAUNCH_H
#define SV_BENCH_RAW_LAUNCH_H

#include "bench_raw_client.h"
#include <stddef.h>
#include <sys/types.h>

typedef struct {
	const char *fake_firecracker;
	const char *dir; /* parent of the VMs' directories */
	const char *kernel, *drive;
} raw_launch_env;

typedef struct {
	char dir[512], tap[16];
	pid_t pid;
	int pidfd;
	raw_conn conn;
} raw_vm;

/* A TAP as any client makes one for a VM's interface (ioctl on
 * /dev/net/tun, persistent), and its removal. 0 or -1 (errno). */
int raw_tap_create(const char *name);
int raw_tap_delete(const char *name);

/* Starts VM number i; 0, or -1 with err filled (and nothing left behind). */
int raw_vm_start(const raw_launch_env *env, size_t i, raw_vm *vm, char *err, size_t err_size);
/* Stops and removes it; 0 or -1 with err filled. */
int raw_vm_stop(raw_vm *vm, char *err, size_t err_size);

#endif
