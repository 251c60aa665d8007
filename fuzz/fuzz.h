/* What every fuzz harness shares. A harness (fuzz/<name>.c) defines
 * LLVMFuzzerTestOneInput for one parser of outside data and may define
 * LLVMFuzzerInitialize for one-time set-up. Built with -Dfuzzing=true it is a
 * libFuzzer target (`make fuzz`); otherwise replay.c supplies main() and the
 * harness is a test that replays fuzz/corpus/<name>/ (under ASan+UBSan in the
 * sanitized build). A harness must not leak, must not write outside the
 * temporary directory it made, and aborts (FZ_CHECK) when an oracle fails. */
#ifndef SV_FUZZ_H
#define SV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An oracle: a property of the parser that must hold for every input. */
#define FZ_CHECK(cond)                                                                                       \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "%s:%d: fuzz oracle failed: %s\n", __FILE__, __LINE__, #cond);       \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

/* The input as a NUL-terminated string (malloc'd; aborts on OOM). Embedded
 * NULs stay: C-string parsers see the prefix, as they would in real life. */
char *fz_cstr(const uint8_t *data, size_t size);

/* A fresh private directory under /dev/shm (else /tmp; malloc'd), and its
 * removal. */
char *fz_tmpdir(const char *name);
void fz_rm_tmpdir(char *dir);

/* Writes data to dir/name (replacing it); aborts on failure. Returns the
 * malloc'd path. */
char *fz_write(const char *dir, const char *name, const uint8_t *data, size_t size);

#endif
