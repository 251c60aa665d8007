/* Code pages a fork inherits mapped (see fork_code_pages.h).
 *
 * fork copies a child's page-table entries only for a mapping that has
 * anonymous pages (its anon_vma): entries of a file mapping without any are
 * left for page faults to fill in again, on the grounds that a fault can do
 * it. A read-only file mapping gets anonymous pages only from a forced
 * write, the way a debugger plants a breakpoint: /proc/self/mem writes with
 * FOLL_FORCE without making the mapping writable. We write one byte of each
 * segment back with the value it has, so the segment keeps its contents and
 * its protection and gains a private copy of that one page (4 KiB per
 * segment, shared again with every child). A child then inherits the
 * pages this process has mapped: those it ran or read (with the kernel's
 * fault-around, 64 KiB at a time). Mapping every page first
 * (MADV_POPULATE_READ) saved a child two or three faults more and cost each
 * fork more than that, copying entries for code no supervisor runs. */
#include "util/fork_code_pages.h"

#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static int share_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	int mem = *(const int *)arg;
	/* The vDSO is the kernel's code, not a file's: not ours to write. */
	if (info->dlpi_name && !strncmp(info->dlpi_name, "linux-vdso", 10))
		return 0;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		/* Writable segments have anonymous pages once written (relocated
		 * data, RELRO), and fork copies them already. */
		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || !ph->p_memsz)
			continue;
		uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
		char byte;
		if (pread(mem, &byte, 1, (off_t)start) == 1)
			(void)!pwrite(mem, &byte, 1, (off_t)start);
	}
	return 0;
}

void sv_fork_code_pages_share(void)
{
	int mem = open("/proc/self/mem", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (mem < 0)
		return;
	dl_iterate_phdr(share_object, &mem);
	close(mem);
}
