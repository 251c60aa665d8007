#include "util/verified_files.h"

#include <string.h>

/* A file must have been left alone this long before its hash is remembered. */
#define SETTLE_NS 1000000000LL

static bool same_file(const sv_verified_files *v, size_t i, const struct stat *st, const char *sha256_hex)
{
	const sv_verified_file *f = &v->files[i];
	return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
	       f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       f->ctime.tv_sec == st->st_ctim.tv_sec && f->ctime.tv_nsec == st->st_ctim.tv_nsec &&
	       !strcmp(f->sha256, sha256_hex);
}

bool sv_verified_files_has(const sv_verified_files *v, const struct stat *st, const char *sha256_hex)
{
	size_t n = v->n < SV_VERIFIED_FILES_MAX ? v->n : SV_VERIFIED_FILES_MAX;
	for (size_t i = 0; i < n; i++)
		if (same_file(v, i, st, sha256_hex))
			return true;
	return false;
}

void sv_verified_files_add(sv_verified_files *v, const struct stat *st, const char *sha256_hex)
{
	/* Written to within the timestamps' granularity of the hash, a file
	 * could change again and keep its ctime: not remembered. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long long age =
	    (now.tv_sec - st->st_ctim.tv_sec) * 1000000000LL + (now.tv_nsec - st->st_ctim.tv_nsec);
	if (age < SETTLE_NS || strlen(sha256_hex) != 64 || sv_verified_files_has(v, st, sha256_hex))
		return;
	sv_verified_file *f = &v->files[v->n++ % SV_VERIFIED_FILES_MAX];
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->ctime = st->st_ctim;
	memcpy(f->sha256, sha256_hex, 65);
}
