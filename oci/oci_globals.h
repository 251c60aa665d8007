/* The global options every smartvm-oci command sees (runc's, plus
 * smartvm's own, which engines pass with e.g. podman's --runtime-flag). */
#ifndef OCI_GLOBALS_H
#define OCI_GLOBALS_H

#include <smartvm/manager.h>
#include <stdbool.h>

typedef struct {
	const char *root;     /* --root: state directories (default OCI_DEFAULT_ROOT) */
	const char *data_dir; /* --data-dir: smartvm's data dir (base images) */
	sv_vmm_kind vmm;      /* --vmm */
	const char *accel;    /* --accel (QEMU): kvm, tcg, auto */
	bool systemd_cgroup;  /* --systemd-cgroup: cgroupsPath is slice:prefix:name */
} oci_globals;

#endif
