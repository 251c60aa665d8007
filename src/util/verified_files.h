/* Files hashed and found as expected, remembered so that checking an
 * unchanged file again skips the hash (for a snapshot's memory file, most of
 * a restore). A file is the same when its device, inode, size, mtime and
 * ctime are (a write changes ctime; a file changed just before it was hashed
 * is not remembered, as timestamps are coarse). Bounded: a ring. */
#ifndef SV_UTIL_VERIFIED_FILES_H
#define SV_UTIL_VERIFIED_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#define SV_VERIFIED_FILES_MAX 64

typedef struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	char sha256[65];
} sv_verified_file;

typedef struct {
	sv_verified_file files[SV_VERIFIED_FILES_MAX];
	size_t n; /* ever remembered; the ring's next slot is n % MAX */
} sv_verified_files;

/* Was the file st, with content sha256_hex, remembered? */
bool sv_verified_files_has(const sv_verified_files *v, const struct stat *st, const char *sha256_hex);
/* Remembers that the file st hashed to sha256_hex (64 hex digits). */
void sv_verified_files_add(sv_verified_files *v, const struct stat *st, const char *sha256_hex);

#endif
