/* The metrics file reader of sv_vm_metrics (vm_live.c), declared here so that
 * its fuzz harness (fuzz/metrics.c) calls the very code it does. Internal. */
#ifndef SV_VM_VM_METRICS_PARSE_H
#define SV_VM_VM_METRICS_PARSE_H

#include <jansson.h>
#include <stddef.h>

/* The objects in a metrics file (path names it in messages): Firecracker
 * appends one JSON object per flush (each on its own line, but nothing
 * requires it). *latest gets the last one (a new reference; NULL when there
 * is none) and *count their number. */
int sv_vm__parse_metrics(const char *path, const char *text, size_t len, json_t **latest, size_t *count);

#endif
