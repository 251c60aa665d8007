/* Safe extraction of named entries from a release .tgz with libarchive.
 *
 * Only the requested entries are written, each to a given path as a new
 * regular file. The whole archive is refused (SV_EARCHIVE) if any entry has
 * an absolute path or a ".." component, if a requested entry is a link, a
 * device or anything but a regular file, is larger than the limit, appears
 * twice or is missing; and so is an archive of more than
 * SV_EXTRACT_MAX_ENTRIES entries or whose entries state more than 4 x
 * max_entry_bytes of content in all (the data of skipped entries is
 * decompressed too). Never creates a directory, never follows a link. */
#ifndef SV_IMAGES_ARCHIVE_EXTRACT_H
#define SV_IMAGES_ARCHIVE_EXTRACT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* At most this many entries per archive (a Firecracker release has ~15). */
#define SV_EXTRACT_MAX_ENTRIES 1000

typedef struct {
	const char
	    *entry; /* path inside the archive, e.g. "release-v1.7.0-x86_64/firecracker-v1.7.0-x86_64" */
	const char *dest; /* file to create (must not exist) */
	mode_t mode;
} sv_extract_item;

/* On failure every dest created so far is removed. */
int sv_extract_entries(const char *archive_path, const sv_extract_item *items, size_t n,
		       uint64_t max_entry_bytes);

#endif
