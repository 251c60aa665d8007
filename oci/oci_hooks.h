/* config.json's hooks, run on the host as runc runs them: the program at
 * path with args and env exactly as given (no shell, no PATH lookup, no
 * inherited environment), the container's state JSON on stdin, killed
 * (its process group) after timeout seconds (default OCI_HOOK_TIMEOUT_S).
 *
 *   prestart, createRuntime  at create, once the VM runs and its mounts are
 *                            made; a failure fails create (nothing is left)
 *   poststart                after start; a failure is a warning
 *   poststop                 at delete, after the VM is gone; a warning
 *
 * createContainer and startContainer run inside the container's namespaces
 * under runc; here the container is a VM, so a config with them is refused
 * rather than run on the host in the wrong place. The hooks are kept in the
 * container's directory (hooks.json) from create to delete. */
#ifndef OCI_HOOKS_H
#define OCI_HOOKS_H

#include "oci_state.h"

#include <jansson.h>

#define OCI_HOOKS_FILE "hooks.json"
#define OCI_HOOK_TIMEOUT_S 60

/* Checks root's hooks object; *out (malloc'd) its compact JSON, or NULL
 * when there are none. Errors name the field: `config.json:
 * hooks.poststop[0].path: must be an absolute path`. */
int oci_hooks_parse(json_t *root, char **out);

/* Writes / reads the container's hooks.json (absent: no hooks, *out NULL). */
int oci_hooks_save(const oci_dir *d, const char *hooks_json);
int oci_hooks_load(const oci_dir *d, char **out);

/* Runs every hook of kind ("createRuntime") in order with the state of s
 * (as `state` prints it, with status) on stdin. Stops at the first
 * failure, which is returned: `hooks.createRuntime[0] (/usr/bin/x):
 * exited with status 3: <its stderr>`. hooks_json may be NULL. */
int oci_hooks_run(const char *hooks_json, const char *kind, const oci_state *s, oci_status status);

#endif
