/* Thread-local storage of libsmartvm: every thread of every program that links
 * the library gets a copy of its TLS segment, so it must stay small (a few
 * error-message slots, not buffers). */
#include "svtest.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TLS_BYTES 4096

/* p_memsz of the PT_TLS program header of the ELF file at path (0 if none). */
static unsigned long long tls_size(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("opening %s", path);
	Elf64_Ehdr eh;
	assert_int_equal(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
	assert_memory_equal(eh.e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
	unsigned long long size = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		off_t at = (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize);
		assert_int_equal(pread(fd, &ph, sizeof(ph), at), sizeof(ph));
		if (ph.p_type == PT_TLS)
			size = ph.p_memsz;
	}
	close(fd);
	return size;
}

static void test_shared_library_tls_stays_small(void **state)
{
	(void)state;
	const char *build = getenv("SMARTVM_BUILD_ROOT");
	assert_non_null(build);
	char path[4096];
	snprintf(path, sizeof(path), "%s/libsmartvm.so", build);
	unsigned long long size = tls_size(path);
	if (size > MAX_TLS_BYTES)
		fail_msg("%s has %llu bytes of thread-local storage (at most %d expected)", path, size,
			 MAX_TLS_BYTES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shared_library_tls_stays_small),
	};
	return svt_run_group_name("library_tls", tests, NULL, NULL);
}
