/* snapshot.json, smartvm's snapshot manifest (vm_snapshot.c writes it):
 * its one parser. Internal; kept apart from the files and the VMM so a fuzz
 * harness can drive it. */
#ifndef SV_VM_SNAPSHOT_MANIFEST_H
#define SV_VM_SNAPSHOT_MANIFEST_H

#include <jansson.h>
#include <stddef.h>

#define SV_SNAPSHOT_MANIFEST "snapshot.json"
#define SV_SNAPSHOT_FORMAT "smartvm-snapshot"
#define SV_SNAPSHOT_FORMAT_VERSION 2
#define SV_SNAPSHOT_STATE_FILE "vmstate"
#define SV_SNAPSHOT_MEMORY_FILE "memory"
#define SV_SNAPSHOT_DRIVES_DIR "drives"
#define SV_SNAPSHOT_MAX_MANIFEST_BYTES (4u << 20)

/* Parses text (len bytes, need not be NUL-terminated) as a manifest and
 * checks its shape, so later code may rely on it:
 *   format "smartvm-snapshot", format_version 2;
 *   arch, vmm, vmm_version: strings; snapshot_type "Full" or "Diff";
 *   config: an object (the VM config; parsed by the config layer);
 *   files: name -> lower-case hex SHA-256; sizes: the same names -> bytes;
 *     every name a plain relative path (no "..", ".", empty or absolute
 *     component), vmstate always among them;
 *   drives: objects with drive_id and vmm_path strings and read_only; a
 *     drive with a file has it in files, under drives/, and its vmm_path is
 *     the VM directory's drives/<name> (a staged copy); one without a file
 *     is read-only with an absolute vmm_path;
 *   network (optional): objects whose fields are strings when present.
 * shown names the manifest in errors (SV_EINVAL, naming the field).
 * *out is a new reference. */
int sv_snapshot_manifest_parse(const char *text, size_t len, const char *shown, json_t **out);

/* A relative path without "..", "." or empty components. */
int sv_snapshot_is_plain_relative(const char *p);
/* "drives/<one plain name>": a staged copy's path in a VM directory, and a
 * drive's file in a snapshot. */
int sv_snapshot_is_drive_file(const char *p);

#endif
