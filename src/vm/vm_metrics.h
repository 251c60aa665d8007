/* Reading a VMM's metrics file (Firecracker appends one JSON object, one
 * line, per flush). Internal; the parser is separate from the file access so
 * a fuzz harness can drive it. */
#ifndef SV_VM_METRICS_H
#define SV_VM_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The last complete flush in buf, the end of a metrics file (whole lines
 * end with '\n'; bytes after the last '\n' are a flush being written and are
 * ignored; NUL bytes, left by truncating under an appending writer, separate
 * like whitespace). at_file_start says buf begins at the file's first byte:
 * otherwise a last line that starts before buf is "larger than the window".
 * *latest (new reference) is NULL when nothing complete was flushed yet.
 * shown names the file in errors (SV_EVMM for a line that is not JSON
 * objects, SV_EINVAL for one longer than buf). */
int sv_metrics_last_flush(const char *buf, size_t len, bool at_file_start, const char *shown,
			  json_t **latest);

#endif
