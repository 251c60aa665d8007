/* util/fork_code_pages: after sv_fork_code_pages_share(), a forked child
 * reads the code its parent had mapped without a page fault per 64 KiB,
 * and the code is what it was: same bytes, still not writable. */
#include "svtest.h"

#include "util/fork_code_pages.h"
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* libc's code segment: big (over a MiB) and mapped in every test. */
static uintptr_t seg_start, seg_end;

static int find_libc_code(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "/libc.so"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
			seg_start = (info->dlpi_addr + ph->p_vaddr + page - 1) & ~(page - 1);
			seg_end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(page - 1);
			return 1;
		}
	}
	return 0;
}

/* Reads a byte of every page of the segment: in this process it maps them
 * all; in a child it faults in whatever fork did not copy. */
static unsigned long read_segment(void)
{
	unsigned long sum = 0;
	for (uintptr_t p = seg_start; p < seg_end; p += 4096)
		sum = sum * 31 + *(volatile const unsigned char *)p;
	return sum;
}

typedef struct {
	long faults;
	unsigned long sum;
} child_reading;

/* A child reads the segment and reports its page faults meanwhile. */
static child_reading read_in_child(void)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rusage before, after;
		getrusage(RUSAGE_SELF, &before);
		child_reading r = {.sum = read_segment()};
		getrusage(RUSAGE_SELF, &after);
		r.faults = after.ru_minflt - before.ru_minflt;
		_exit(write(fds[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(fds[1]);
	child_reading r = {.faults = -1};
	assert_int_equal(read(fds[0], &r, sizeof(r)), sizeof(r));
	close(fds[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return r;
}

/* The permissions /proc/self/maps shows for the mapping holding addr. */
static void perms_at(uintptr_t addr, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "re");
	assert_non_null(f);
	char line[512];
	perms[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char p[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && addr >= lo && addr < hi) {
			memcpy(perms, p, 5);
			break;
		}
	}
	fclose(f);
}

static void test_a_child_inherits_the_code_mapped_and_unchanged(void **state)
{
	(void)state;
	assert_int_equal(dl_iterate_phdr(find_libc_code, NULL), 1);
	assert_true(seg_end - seg_start >= 64 * 4096);
	unsigned long sum = read_segment();
	char perms_before[5];
	perms_at(seg_start, perms_before);
	assert_null(strchr(perms_before, 'w'));

	child_reading unshared = read_in_child();
	if (unshared.faults < 8)
		svt_skip(SVT_NEED_HOST, "this kernel maps a file's pages in a forked child already (%ld faults)",
			 unshared.faults);
	sv_fork_code_pages_share();
	child_reading shared = read_in_child();

	/* Fault-around maps up to 16 pages per fault: over a MiB of code cost
	 * the first child dozens of faults, the second a few at most. */
	assert_true(shared.faults * 4 <= unshared.faults);
	assert_true(unshared.sum == sum && shared.sum == sum && read_segment() == sum);
	char perms_after[5];
	perms_at(seg_start, perms_after);
	assert_string_equal(perms_after, perms_before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_child_inherits_the_code_mapped_and_unchanged),
	};
	return svt_run_group(tests, NULL, NULL);
}
