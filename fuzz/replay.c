/* main() for a harness built without libFuzzer: replays every file of the
 * corpus directory given as argv[1] (in name order) through
 * LLVMFuzzerTestOneInput, so the test suite keeps every input the fuzzers
 * ever found. Fails when the directory holds no input: a replay that ran
 * nothing must not pass. */
#include "fuzz.h"

#include "util/file.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* Defined by harnesses that need one-time set-up. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_input(const struct dirent *de) { return de->d_name[0] != '.'; }

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	struct dirent **names = NULL;
	int n = scandir(argv[1], &names, is_input, by_name);
	if (n < 0) {
		perror(argv[1]);
		return 1;
	}
	int replayed = 0;
	for (int i = 0; i < n; i++) {
		char *path = sv_path_join(argv[1], names[i]->d_name);
		char *data = NULL;
		size_t len = 0;
		/* 16 MiB: far above libFuzzer's default -max_len. */
		if (!path || sv_read_file(path, 16 << 20, &data, &len) != 0) {
			fprintf(stderr, "cannot read %s\n", path ? path : names[i]->d_name);
			return 1;
		}
		fprintf(stderr, "replaying %s (%zu bytes)\n", names[i]->d_name, len);
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		replayed++;
		free(data);
		free(path);
		free(names[i]);
	}
	free(names);
	fprintf(stderr, "replayed %d inputs from %s\n", replayed, argv[1]);
	return replayed ? 0 : 1;
}
