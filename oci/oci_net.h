/* The container's network: config.json's linux.namespaces network `path`
 * (the namespace the engine's CNI plugins set up) becomes the VM's
 * network. The VM's TAP is made in that namespace and joined to the
 * interface the engine made there by tc redirect both ways; the guest takes
 * that interface's MAC, IPv4 address and default gateway (the library's
 * net.join_dev, src/net/net_join.h). No network namespace: no network.
 *
 * The path is trusted only after a check, since smartvm-oci runs as root
 * and would change what it names: every directory on the way is root's
 * and not writable by others (sshd's check), a symlink is followed only as
 * procfs's /proc/PID/ns/net, the file is a network namespace, owned by the
 * initial user namespace (one a user made in their own user namespace is
 * that user's), and it is not the host's own namespace (pid 1's or this
 * process's): joining that would hand the host's interface to a VM. */
#ifndef OCI_NET_H
#define OCI_NET_H

#include <smartvm/smartvm.h>

/* The interface the VM takes over when the namespace has one of that name
 * (what podman, containerd and Kubernetes call it); else the only one
 * besides lo. */
#define OCI_NET_DEFAULT_DEV "eth0"

typedef struct {
	char dev[16]; /* the engine's interface in the namespace */
	sv_net_iface_config nic;
	sv_vm_net_options opts;
} oci_net;

/* Checks path as above and picks the interface; messages begin with
 * "linux.namespaces: network path ...". n borrows path. */
int oci_net_prepare(oci_net *n, const char *path);

/* Gives cfg (whose other fields are set) the one interface of n. */
void oci_net_apply(oci_net *n, sv_vm_config *cfg);

#endif
