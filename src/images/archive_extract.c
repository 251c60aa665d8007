/* Release archive extraction (see archive_extract.h). The archive is read
 * once, start to end, so every entry's path is checked even after the wanted
 * ones were found: a hostile archive is refused as a whole. Reading it is
 * bounded too: skipping an entry decompresses its data, so the stated sizes
 * of all entries together are capped (checked on each header, before its data
 * is read), and so is the number of entries. */
#include "images/archive_extract.h"

#include "util/error.h"
#include "util/lazy_lib.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libarchive, loaded at the first extraction (util/lazy_lib.h says why). */
#define ARCHIVE_FUNCTIONS(X, T)                                                                              \
	X(T, read_new, archive_read_new)                                                                     \
	X(T, support_filter_gzip, archive_read_support_filter_gzip)                                          \
	X(T, support_format_tar, archive_read_support_format_tar)                                            \
	X(T, open_filename, archive_read_open_filename)                                                      \
	X(T, next_header, archive_read_next_header)                                                          \
	X(T, data_block, archive_read_data_block)                                                            \
	X(T, read_free, archive_read_free)                                                                   \
	X(T, error_string, archive_error_string)                                                             \
	X(T, entry_size_is_set, archive_entry_size_is_set)                                                   \
	X(T, entry_size, archive_entry_size)                                                                 \
	X(T, entry_pathname, archive_entry_pathname)                                                         \
	X(T, entry_hardlink, archive_entry_hardlink)                                                         \
	X(T, entry_filetype, archive_entry_filetype)

SV_LAZY_TABLE(ARCHIVE_FUNCTIONS, archive_api);

static archive_api ar;

static const sv_lazy_symbol archive_symbols[] = SV_LAZY_SYMBOLS(ARCHIVE_FUNCTIONS, archive_api);

static sv_lazy_lib archive_lib =
    SV_LAZY_LIB_INIT("libarchive.so.13", "libarchive13", archive_symbols, &ar, NULL);

/* "./a/b" and "a/b" name the same entry. */
static const char *normalise(const char *path)
{
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	return path;
}

static int check_path(const char *archive_path, const char *name)
{
	if (name[0] == '/')
		return sv_err(SV_EARCHIVE, "%s: unsafe entry \"%s\": absolute path", archive_path, name);
	const char *p = name;
	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return sv_err(SV_EARCHIVE, "%s: unsafe entry \"%s\": contains \"..\"", archive_path,
				      name);
		p += len;
		while (*p == '/')
			p++;
	}
	return 0;
}

static int check_wanted(const char *archive_path, struct archive_entry *e, const char *name,
			uint64_t max_bytes)
{
	if (ar.entry_hardlink(e))
		return sv_err(SV_EARCHIVE, "%s: entry \"%s\" is a hard link", archive_path, name);
	mode_t type = ar.entry_filetype(e);
	if (type == AE_IFLNK)
		return sv_err(SV_EARCHIVE, "%s: entry \"%s\" is a symbolic link", archive_path, name);
	if (type != AE_IFREG)
		return sv_err(SV_EARCHIVE, "%s: entry \"%s\" is not a regular file", archive_path, name);
	if (!ar.entry_size_is_set(e) || ar.entry_size(e) < 0 || (uint64_t)ar.entry_size(e) > max_bytes)
		return sv_err(SV_EARCHIVE, "%s: entry \"%s\" is larger than %llu bytes", archive_path, name,
			      (unsigned long long)max_bytes);
	return 0;
}

static int write_entry(struct archive *a, const char *archive_path, const char *name, la_int64_t entry_size,
		       const sv_extract_item *item, uint64_t max_bytes)
{
	int fd = open(item->dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "extracting \"%s\" to %s", name, item->dest);
	int rc = 0;
	uint64_t total = 0;
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t offset;
		int r = ar.data_block(a, &buf, &size, &offset);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = sv_err(SV_EARCHIVE, "%s: reading entry \"%s\": %s", archive_path, name,
				    ar.error_string(a));
			break;
		}
		total += size;
		if (offset < 0 || (uint64_t)offset + size > max_bytes || total > max_bytes) {
			rc = sv_err(SV_EARCHIVE, "%s: entry \"%s\" is larger than %llu bytes", archive_path,
				    name, (unsigned long long)max_bytes);
			break;
		}
		const char *p = buf;
		off_t at = (off_t)offset;
		while (size > 0) {
			ssize_t n = pwrite(fd, p, size, at);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = sv_err_errno(SV_EIO, errno, "writing %s", item->dest);
				break;
			}
			p += n;
			at += n;
			size -= (size_t)n;
		}
		if (rc)
			break;
	}
	/* Sparse entries may end in a hole that no data block covers. */
	if (!rc && ftruncate(fd, (off_t)entry_size) != 0)
		rc = sv_err_errno(SV_EIO, errno, "writing %s", item->dest);
	if (!rc && (fchmod(fd, item->mode) != 0 || fsync(fd) != 0))
		rc = sv_err_errno(SV_EIO, errno, "writing %s", item->dest);
	close(fd);
	if (rc)
		unlink(item->dest);
	return rc;
}

#define TOTAL_FACTOR 4

int sv_extract_entries(const char *archive_path, const sv_extract_item *items, size_t n,
		       uint64_t max_entry_bytes)
{
	if (sv_lazy_lib_load(&archive_lib) != 0)
		return sv_err_prefix("extracting %s", archive_path);
	struct archive *a = ar.read_new();
	if (!a)
		return sv_err(SV_ENOMEM, "out of memory");
	ar.support_filter_gzip(a);
	ar.support_format_tar(a);
	bool *done = calloc(n ? n : 1, sizeof(bool));
	int rc = 0;
	uint64_t total = 0;
	uint64_t max_total =
	    max_entry_bytes > UINT64_MAX / TOTAL_FACTOR ? UINT64_MAX : max_entry_bytes * TOTAL_FACTOR;
	size_t entries = 0;
	if (!done)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else if (ar.open_filename(a, archive_path, 1 << 16) != ARCHIVE_OK)
		rc = sv_err(SV_EARCHIVE, "%s: %s", archive_path, ar.error_string(a));
	while (!rc) {
		struct archive_entry *e;
		int r = ar.next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = sv_err(SV_EARCHIVE, "%s: %s", archive_path, ar.error_string(a));
			break;
		}
		const char *raw = ar.entry_pathname(e);
		if (!raw) {
			rc = sv_err(SV_EARCHIVE, "%s: entry without a path", archive_path);
			break;
		}
		rc = check_path(archive_path, raw);
		if (rc)
			break;
		if (++entries > SV_EXTRACT_MAX_ENTRIES) {
			rc = sv_err(SV_EARCHIVE, "%s: more than %d entries", archive_path,
				    SV_EXTRACT_MAX_ENTRIES);
			break;
		}
		la_int64_t size = ar.entry_size_is_set(e) ? ar.entry_size(e) : 0;
		total += size > 0 ? (uint64_t)size : 0;
		if (size < 0 || total > max_total) {
			rc = sv_err(SV_EARCHIVE,
				    "%s: entry \"%s\" takes the archive past %llu bytes of content "
				    "(%d x the %llu-byte entry limit)",
				    archive_path, raw, (unsigned long long)max_total, TOTAL_FACTOR,
				    (unsigned long long)max_entry_bytes);
			break;
		}
		const char *name = normalise(raw);
		for (size_t i = 0; i < n && !rc; i++) {
			if (strcmp(name, items[i].entry) != 0)
				continue;
			if (done[i])
				rc =
				    sv_err(SV_EARCHIVE, "%s: entry \"%s\" appears twice", archive_path, name);
			else if (!(rc = check_wanted(archive_path, e, name, max_entry_bytes)))
				rc = write_entry(a, archive_path, name, ar.entry_size(e), &items[i],
						 max_entry_bytes);
			if (!rc)
				done[i] = true;
		}
	}
	for (size_t i = 0; i < n && !rc; i++)
		if (!done[i])
			rc = sv_err(SV_EARCHIVE, "%s: entry \"%s\" is missing", archive_path, items[i].entry);
	if (rc && done)
		for (size_t i = 0; i < n; i++)
			if (done[i])
				unlink(items[i].dest);
	free(done);
	ar.read_free(a);
	return rc;
}
