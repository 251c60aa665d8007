/* Images test fixtures (see imagesfixture.h). Tarballs are made with
 * libarchive's writer, never by hand. */
#include "imagesfixture.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "svtest.h"
#include "util/file.h"

void svt_make_tgz(const svt_tar_entry *entries, size_t n, char **out, size_t *len)
{
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t used = 0;
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const svt_tar_entry *e = &entries[i];
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e->name);
		archive_entry_set_perm(ae, 0755);
		size_t dlen = 0;
		switch (e->type) {
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e->data);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e->data);
			break;
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			break;
		case 'c':
			archive_entry_set_filetype(ae, AE_IFCHR);
			archive_entry_set_rdev(ae, makedev(1, 3));
			break;
		default:
			archive_entry_set_filetype(ae, AE_IFREG);
			dlen = e->data ? strlen(e->data) : 0;
			archive_entry_set_size(ae, e->size > 0 ? e->size : (la_int64_t)dlen);
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (dlen)
			archive_write_data(a, e->data, dlen);
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	*out = buf;
	*len = used;
}

void svt_release_tgz(const char *tag, const char *arch, char **out, size_t *len)
{
	char dir[128], fc[192], jailer[192], secc[192], sums[192], lic[192], fc_text[64], jl_text[64];
	snprintf(dir, sizeof(dir), "release-%s-%s", tag, arch);
	snprintf(fc, sizeof(fc), "%s/firecracker-%s-%s", dir, tag, arch);
	snprintf(jailer, sizeof(jailer), "%s/jailer-%s-%s", dir, tag, arch);
	snprintf(secc, sizeof(secc), "%s/seccompiler-bin-%s-%s", dir, tag, arch);
	snprintf(sums, sizeof(sums), "%s/SHA256SUMS", dir);
	snprintf(lic, sizeof(lic), "%s/LICENSE", dir);
	snprintf(fc_text, sizeof(fc_text), "firecracker %s\n", tag);
	snprintf(jl_text, sizeof(jl_text), "jailer %s\n", tag);
	const svt_tar_entry entries[] = {
	    {dir, 'd', NULL, 0},       {fc, 'f', fc_text, 0},
	    {jailer, 'f', jl_text, 0}, {secc, 'f', "seccompiler\n", 0},
	    {sums, 'f', "sums\n", 0},  {lic, 'f', "Apache-2.0\n", 0},
	};
	svt_make_tgz(entries, sizeof(entries) / sizeof(entries[0]), out, len);
}

char *svt_sha256_hex(const void *data, size_t len)
{
	unsigned char md[32];
	unsigned int n = 0;
	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
	char *hex = malloc(65);
	assert_non_null(hex);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return hex;
}

void svt_serve_bytes(svt_http *h, const char *path, const void *data, size_t len)
{
	svt_http_response r = {.status = 200, .body = data, .body_len = len};
	svt_http_route(h, path, NULL, &r);
}

void svt_serve_release(svt_http *h, const char *tag, const char *arch, const void *tgz, size_t len,
		       const char *sha)
{
	char location[256], path[256], sha_path[300], text[256];
	snprintf(location, sizeof(location), "%s/releases/tag/%s", svt_http_base(h), tag);
	svt_http_response redirect = {.status = 302, .location = location};
	svt_http_route(h, "/releases/latest", NULL, &redirect);
	snprintf(path, sizeof(path), "/releases/download/%s/firecracker-%s-%s.tgz", tag, tag, arch);
	snprintf(sha_path, sizeof(sha_path), "%s.sha256.txt", path);
	char *good = svt_sha256_hex(tgz, len);
	snprintf(text, sizeof(text), "%s  firecracker-%s-%s.tgz\n", sha ? sha : good, tag, arch);
	free(good);
	svt_serve_bytes(h, path, tgz, len);
	svt_http_route_text(h, sha_path, 200, text);
}

char *svt_listing_xml(const char *const *keys, size_t n, const char *next_token)
{
	size_t cap = 4096 + n * 512;
	char *x = malloc(cap);
	assert_non_null(x);
	size_t used =
	    (size_t)snprintf(x, cap,
			     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			     "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			     "<Name>spec.ccfc.min</Name><KeyCount>%zu</KeyCount><MaxKeys>1000</MaxKeys>"
			     "<IsTruncated>%s</IsTruncated>",
			     n, next_token ? "true" : "false");
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(
		    x + used, cap - used,
		    "<Contents><Key>%s</Key><LastModified>2025-01-01T00:00:00.000Z</LastModified>"
		    "<Size>1024</Size><StorageClass>STANDARD</StorageClass></Contents>",
		    keys[i]);
	if (next_token)
		used += (size_t)snprintf(x + used, cap - used,
					 "<NextContinuationToken>%s</NextContinuationToken>", next_token);
	snprintf(x + used, cap - used, "</ListBucketResult>\n");
	return x;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void walk(const char *root, const char *rel, char ***lines, size_t *n)
{
	char *dir = rel[0] ? sv_path_join(root, rel) : strdup(root);
	DIR *d = opendir(dir);
	if (!d) {
		free(dir);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *sub = NULL;
		assert_true(asprintf(&sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) > 0);
		char *full = sv_path_join(root, sub);
		struct stat st;
		assert_int_equal(lstat(full, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			char *line = NULL;
			assert_true(asprintf(&line, "%s/ %04o\n", sub, (unsigned)(st.st_mode & 07777)) > 0);
			*lines = realloc(*lines, (*n + 1) * sizeof(char *));
			(*lines)[(*n)++] = line;
			walk(root, sub, lines, n);
		} else {
			char *text = NULL;
			size_t len = 0;
			char *sha = NULL;
			if (S_ISREG(st.st_mode) && sv_read_file(full, 1 << 26, &text, &len) == 0)
				sha = svt_sha256_hex(text, len);
			char *line = NULL;
			assert_true(asprintf(&line, "%s: %lld %s %04o\n", sub, (long long)st.st_size,
					     sha ? sha : "-", (unsigned)(st.st_mode & 07777)) > 0);
			*lines = realloc(*lines, (*n + 1) * sizeof(char *));
			(*lines)[(*n)++] = line;
			free(sha);
			free(text);
		}
		free(full);
		free(sub);
	}
	closedir(d);
	free(dir);
}

char *svt_tree_fingerprint(const char *dir)
{
	char **lines = NULL;
	size_t n = 0;
	walk(dir, "", &lines, &n);
	qsort(lines, n, sizeof(char *), cmp_str);
	size_t total = 1;
	for (size_t i = 0; i < n; i++)
		total += strlen(lines[i]);
	char *out = malloc(total);
	assert_non_null(out);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(out, lines[i]);
		free(lines[i]);
	}
	free(lines);
	return out;
}

static int saved_stderr = -1;
static char stderr_path[64];

void svt_stderr_begin(void)
{
	fflush(stderr);
	snprintf(stderr_path, sizeof(stderr_path), "/tmp/svtest-stderr.XXXXXX");
	int fd = mkstemp(stderr_path);
	assert_true(fd >= 0);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

char *svt_stderr_end(void)
{
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
	char *text = NULL;
	assert_int_equal(sv_read_file(stderr_path, 1 << 20, &text, NULL), 0);
	unlink(stderr_path);
	return text;
}
