/* Fuzzes the release archive checks (src/images/archive_extract.c): the
 * archive comes from the network. The input is the archive (.tgz or plain
 * tar); the wanted entries are a release's firecracker and jailer. Oracles:
 * on success both files exist as regular files within the size limit and
 * nothing else was created; on failure nothing is left. */
#include "fuzz.h"

#include "images/archive_extract.h"
#include "util/file.h"
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ENTRY_BYTES (1u << 20)

static char *dir;
static char *out_dir;

static void cleanup(void)
{
	free(out_dir);
	fz_rm_tmpdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	dir = fz_tmpdir("archive");
	out_dir = sv_path_join(dir, "out");
	FZ_CHECK(out_dir && mkdir(out_dir, 0700) == 0);
	atexit(cleanup);
	return 0;
}

static int entries_in(const char *path)
{
	DIR *d = opendir(path);
	FZ_CHECK(d);
	int n = 0;
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *archive = fz_write(dir, "release.tgz", data, size);
	char *fc = sv_path_join(out_dir, "firecracker"), *jailer = sv_path_join(out_dir, "jailer");
	FZ_CHECK(fc && jailer);
	const sv_extract_item items[] = {
	    {"release-v1.7.0-x86_64/firecracker-v1.7.0-x86_64", fc, 0755},
	    {"release-v1.7.0-x86_64/jailer-v1.7.0-x86_64", jailer, 0755},
	};
	if (sv_extract_entries(archive, items, 2, MAX_ENTRY_BYTES) == 0) {
		struct stat st;
		FZ_CHECK(lstat(fc, &st) == 0 && S_ISREG(st.st_mode) &&
			 (uint64_t)st.st_size <= MAX_ENTRY_BYTES);
		FZ_CHECK(lstat(jailer, &st) == 0 && S_ISREG(st.st_mode) &&
			 (uint64_t)st.st_size <= MAX_ENTRY_BYTES);
		FZ_CHECK(entries_in(out_dir) == 2);
		unlink(fc);
		unlink(jailer);
	}
	FZ_CHECK(entries_in(out_dir) == 0);
	free(fc);
	free(jailer);
	free(archive);
	return 0;
}
