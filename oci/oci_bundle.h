/* The bundle: config.json parsed into what smartvm-oci uses, checked as it
 * is read. Every refusal names the field (`config.json: process.args: must
 * not be empty`). Unknown fields are ignored, as the runtime spec asks;
 * known fields of the wrong type are errors. */
#ifndef OCI_BUNDLE_H
#define OCI_BUNDLE_H

#include "oci_mounts.h"
#include "oci_rlimits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults of the VM a container gets (annotations override them). */
#define OCI_DEFAULT_VCPUS 1
#define OCI_DEFAULT_MEM_MIB 256
#define OCI_ANNOTATION_VCPUS "io.smartvm.vcpus"
#define OCI_ANNOTATION_MEM "io.smartvm.mem_mib"
#define OCI_ANNOTATION_IMAGE "io.smartvm.image"
#define OCI_ANNOTATION_CRI_TYPE "io.kubernetes.cri.container-type"
#define OCI_ANNOTATION_CRIO_TYPE "io.kubernetes.cri-o.ContainerType"

typedef struct {
	char *bundle_dir; /* absolute */
	char *root_path;  /* absolute: root.path resolved against the bundle */
	bool root_readonly;
	char **args; /* NULL-terminated, at least one */
	char **env;  /* NULL-terminated (maybe empty) */
	char *cwd;
	uint32_t uid, gid;
	uint32_t *groups;
	size_t n_groups;
	bool terminal;
	char *hostname; /* NULL if unset */
	oci_process_limits limits; /* process.rlimits, noNewPrivileges */
	oci_mounts mounts;
	char *hooks_json; /* the hooks object (compact JSON), NULL if none */
	uint32_t vcpus, mem_mib;
	char *image;		/* the base image with the kernel: default "minimal" */
	/* A pod's sandbox ("pause") container, as containerd and CRI-O mark it:
	 * it only holds the pod's namespaces, so its VM does not take the pod's
	 * network over (the pod's first other container does). */
	bool pod_sandbox;
	char *netns_path;	/* linux.namespaces' network entry's path (NULL: none) */
	char *cgroups_path;	/* linux.cgroupsPath (NULL: none) */
	char *resources_json;	/* linux.resources as JSON text (NULL: none); oci_cgroup.c reads it */
	char *annotations_json; /* the annotations object as JSON text ("{}") */
} oci_bundle;

/* Reads <bundle_dir>/config.json and checks that root.path is a directory.
 * 0, or an SV_E code with the message; on failure *b holds nothing. */
int oci_bundle_load(oci_bundle *b, const char *bundle_dir);
/* The parse alone, of config.json's text (root.path is resolved against
 * bundle_dir, not looked at): what the fuzz harness feeds. */
int oci_bundle_parse(oci_bundle *b, const char *bundle_dir, const char *text);
/* A process object alone (runc exec --process FILE): fills b's process
 * fields (args, env, cwd, user, terminal) and nothing else. Errors are
 * "SOURCE: process.args: must not be empty". */
int oci_process_parse(oci_bundle *b, const char *source, const char *text);
void oci_bundle_free(oci_bundle *b);

#endif
