/* Reading and checking a snapshot's manifest (snapshot.json), apart from the
 * restore that acts on it, so that its fuzz harness (fuzz/snapshot_json.c)
 * can call it. Internal. */
#ifndef SV_VM_VM_SNAPSHOT_CHECK_H
#define SV_VM_VM_SNAPSHOT_CHECK_H

#include "vmm/vmm.h"
#include <jansson.h>

/* Reads dir's snapshot.json and checks it against dir (every listed file's
 * checksum, the architecture, the backend) before anything is created.
 * *manifest: a new reference on success, NULL otherwise. */
int sv_vm__snapshot_check(const char *dir, json_t **manifest, const sv_vmm_ops **backend);

#endif
