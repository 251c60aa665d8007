/* The verifier: bytes go to a temporary file and through SHA-256 in the same
 * pass, and the file takes its final name only once its digest and size match.
 *
 * Invariants: a final path either does not exist or holds verified bytes; the
 * temporary "<final>.part" never outlives a failed or aborted sink. Never
 * reads the data twice. */
#ifndef SV_IMAGES_VERIFY_H
#define SV_IMAGES_VERIFY_H

#include "util/sha256.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
	int fd;
	char *tmp_path;
	char *final_path;
	char *what; /* starts error messages, e.g. "downloading <url>" */
	sv_sha256 hash;
	uint64_t bytes;
	uint64_t limit;	      /* writes beyond this many bytes fail; 0 = none */
	bool limit_is_stated; /* the limit is the source's stated size, not max_bytes */
} sv_sink;

/* Creates "<final_path>.part" (replacing a stale one) with mode. what starts
 * every error message ("downloading <url>"). The sink takes at most
 * expected_size bytes when it is >= 0 (the size the source states), else at
 * most max_bytes (the configured cap; 0 = unlimited). */
int sv_sink_open(sv_sink *s, const char *final_path, mode_t mode, const char *what, int64_t expected_size,
		 uint64_t max_bytes);

/* Writes and hashes. Fails with SV_ECHECKSUM past the limit. */
int sv_sink_write(sv_sink *s, const void *data, size_t len);

/* True if n bytes in all exceed the sink's limit. */
bool sv_sink_exceeds(const sv_sink *s, uint64_t n);

/* Sets and returns the SV_ECHECKSUM error of a body beyond the sink's limit
 * ("<what>: size mismatch: more than the expected N bytes", or "<what>: larger
 * than the limit of N bytes (max_bytes)"). */
int sv_sink_too_large(const sv_sink *s);

/* Starts over (a retried transfer): empties the file and the digest. */
int sv_sink_reset(sv_sink *s);

/* Checks the digest against expected_sha256 (NULL = don't) and the size
 * against expected_size (< 0 = don't), fsyncs and renames to the final path.
 * sha256_out (may be NULL) gets the digest. On a mismatch the temporary file is
 * removed and SV_ECHECKSUM returned. Always releases the sink. */
int sv_sink_commit(sv_sink *s, const char *expected_sha256, int64_t expected_size, char sha256_out[65]);

/* Removes the temporary file and releases the sink. Safe after commit. */
void sv_sink_abort(sv_sink *s);

/* Copies a local file through a sink (a local manifest's "path" artifacts).
 * Only a regular file is read (a FIFO or a device is refused without blocking
 * on it); its size is checked against expected_size (>= 0) or max_bytes
 * (0 = none) before reading. The copy is never more readable than src: its
 * mode is src's permission bits masked with 0644. */
int sv_copy_verified(const char *src, const char *final_path, const char *expected_sha256,
		     int64_t expected_size, uint64_t max_bytes, char sha256_out[65], uint64_t *size_out);

#endif
