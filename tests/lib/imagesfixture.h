/* Fixtures for the images tests: release tarballs built with libarchive in the
 * test itself (the real release layout, or hostile variants), SHA-256 of test
 * data, a release page and a CI bucket served by httpfixture, hosted
 * manifests, and a fingerprint of a directory tree to assert "unchanged". */
#ifndef SVT_IMAGESFIXTURE_H
#define SVT_IMAGESFIXTURE_H

#include "httpfixture.h"
#include <stddef.h>

typedef struct {
	const char *name;
	char type;         /* 'f' file, 'l' symlink, 'h' hard link, 'd' dir, 'c' char device */
	const char *data;  /* file content, or the link target */
	long long size;    /* > 0: claim this size in the header (file type only) */
} svt_tar_entry;

/* A gzip'd tar of entries, malloc'd. */
void svt_make_tgz(const svt_tar_entry *entries, size_t n, char **out, size_t *len);

/* firecracker-<tag>-<arch>.tgz with the real layout: release-<tag>-<arch>/
 * {firecracker,jailer,seccompiler-bin}-<tag>-<arch>, SHA256SUMS, LICENSE. The
 * firecracker file holds "firecracker <tag>\n", the jailer "jailer <tag>\n". */
void svt_release_tgz(const char *tag, const char *arch, char **out, size_t *len);

/* Lowercase hex SHA-256 (malloc'd). */
char *svt_sha256_hex(const void *data, size_t len);

/* Serves /releases/latest -> /releases/tag/<tag>, and the release's .tgz and
 * .tgz.sha256.txt (sha NULL = the right one) under /releases/download/<tag>/. */
void svt_serve_release(svt_http *h, const char *tag, const char *arch, const void *tgz, size_t len,
		       const char *sha);

/* A ListObjectsV2 page with these keys (each of size 1024 unless the key is
 * repeated in sizes). next_token NULL = last page. malloc'd. */
char *svt_listing_xml(const char *const *keys, size_t n, const char *next_token);

/* Serves a body at path with 200. */
void svt_serve_bytes(svt_http *h, const char *path, const void *data, size_t len);

/* "path: size sha256 mode\n" for every file and "path/ mode\n" for every
 * directory under dir, sorted (malloc'd); "" if none. */
char *svt_tree_fingerprint(const char *dir);

/* Captures what the process writes to stderr between begin and end (malloc'd). */
void svt_stderr_begin(void);
char *svt_stderr_end(void);

#endif
