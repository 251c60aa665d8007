/* The Firecracker CI bucket: listing a prefix with S3 ListObjectsV2 (XML read
 * with libxml2, following continuation tokens) and choosing the kernel and the
 * root filesystem from the keys. Network access only in sv_ci_list. */
#ifndef SV_IMAGES_CI_LISTING_H
#define SV_IMAGES_CI_LISTING_H

#include "images/images_defaults.h"
#include <smartvm/images.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A listing holds at most this many objects (the CI prefix of one release
 * and arch holds a few dozen), each key at most 1024 bytes (S3's own limit). */
#define SV_CI_MAX_OBJECTS 10000

typedef struct {
	char *key;
	int64_t size; /* -1 if the listing had none */
} sv_ci_object;

typedef struct {
	sv_ci_object *items;
	size_t n, cap;
} sv_ci_objects;

void sv_ci_objects_clear(sv_ci_objects *objs);

/* Parses one ListObjectsV2 page (at most 4 MiB), appending its objects
 * (SV_EBASE_IMAGE_RESOLVE_FAILED past SV_CI_MAX_OBJECTS in objs, or for a key
 * longer than 1024 bytes). *next_token is the NextContinuationToken
 * (malloc'd) when IsTruncated is true, else NULL. */
int sv_ci_parse_page(sv_ci_objects *objs, char **next_token, const char *text, size_t len, const char *url);

/* "<bucket>?list-type=2&prefix=<prefix>" (malloc'd; prefix URL-encoded), or
 * NULL with the error set (out of memory, libcurl not loadable). */
char *sv_ci_listing_url(const char *bucket_url, const char *prefix);

/* Lists every object under prefix, all pages (at most SV_CI_MAX_OBJECTS / 100
 * of them, each a bounded transfer). */
int sv_ci_list(sv_ci_objects *objs, const sv_dl_config *c, const char *bucket_url, const char *prefix);

/* Picks the highest vmlinux-X.Y.Z and the highest ubuntu-X.Y.squashfs (else
 * ubuntu-X.Y.ext4) directly under prefix. Returns indexes into objs;
 * SV_EBASE_IMAGE_RESOLVE_FAILED naming listing_url when either is missing. */
int sv_ci_pick(size_t *kernel, size_t *rootfs, sv_rootfs_type *type, const sv_ci_objects *objs,
	       const char *prefix, const char *listing_url);

#endif
