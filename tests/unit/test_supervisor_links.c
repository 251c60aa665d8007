/* The supervisor is exec'd for every VM: each shared library it needs is
 * mapped and relocated at every VM start (issue 16). It may need libc and
 * libmnl (the network undo's netlink) and nothing else; jansson,
 * libcrypto and libnftnl (the VM's firewall elements, which it removes)
 * are linked into it statically (meson.build). Read from the binary's
 * DT_NEEDED entries, as the dynamic loader reads them. */
#include "svtest.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libc and libmnl; the dynamic loader, which every dynamic program loads
 * anyway (a static libcrypto names it for __tls_get_addr); and what a
 * sanitizer build adds to every program. */
static const char *const allowed_prefixes[] = {"libc.so.",     "libmnl.so.", "ld-linux",     "libasan.so.",
					       "libubsan.so.", "libm.so.",   "libgcc_s.so.", "libstdc++.so."};

static bool allowed(const char *name)
{
	for (size_t i = 0; i < sizeof(allowed_prefixes) / sizeof(*allowed_prefixes); i++)
		if (!strncmp(name, allowed_prefixes[i], strlen(allowed_prefixes[i])))
			return true;
	return false;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = n > 0 ? malloc((size_t)n) : NULL;
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The DT_NEEDED names of an ELF64 file, newline-separated, in *out (malloc'd). */
static int needed_libraries(const char *elf, size_t len, char **out)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > len)
		return -1;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(elf + eh->e_shoff);
	size_t cap = 1, used = 0;
	*out = calloc(1, 1);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNAMIC || sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *strtab = &sh[sh[i].sh_link];
		if (sh[i].sh_offset + sh[i].sh_size > len || strtab->sh_offset + strtab->sh_size > len)
			return -1;
		const Elf64_Dyn *d = (const Elf64_Dyn *)(elf + sh[i].sh_offset);
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*d) && d[k].d_tag != DT_NULL; k++) {
			if (d[k].d_tag != DT_NEEDED || d[k].d_un.d_val >= strtab->sh_size)
				continue;
			const char *name = elf + strtab->sh_offset + d[k].d_un.d_val;
			size_t n = strnlen(name, strtab->sh_size - d[k].d_un.d_val);
			cap += n + 1;
			*out = realloc(*out, cap);
			memcpy(*out + used, name, n);
			used += n;
			(*out)[used++] = '\n';
			(*out)[used] = '\0';
		}
	}
	return 0;
}

static void test_the_supervisor_needs_only_libc_and_libmnl(void **state)
{
	(void)state;
	const char *path = getenv("SMARTVM_SUPERVISOR");
	assert_non_null(path);
	size_t len = 0;
	char *elf = read_all(path, &len);
	assert_non_null(elf);
	char *names = NULL;
	assert_int_equal(needed_libraries(elf, len, &names), 0);
	bool has_libc = false;
	for (char *save = NULL, *n = strtok_r(names, "\n", &save); n; n = strtok_r(NULL, "\n", &save)) {
		if (!allowed(n))
			fail_msg("%s needs %s: every VM start would load and relocate it (link it "
				 "statically or keep its code out of the supervisor; see meson.build)",
				 path, n);
		has_libc |= !strncmp(n, "libc.so.", 8);
	}
	/* The check read the right thing: a dynamic program needs libc. */
	assert_true(has_libc);
	free(names);
	free(elf);
}

static void test_the_reader_finds_what_a_program_needs(void **state)
{
	(void)state;
	/* The test program itself links cmocka dynamically: the reader sees it. */
	size_t len = 0;
	char *elf = read_all("/proc/self/exe", &len);
	assert_non_null(elf);
	char *names = NULL;
	assert_int_equal(needed_libraries(elf, len, &names), 0);
	assert_non_null(strstr(names, "libcmocka.so."));
	assert_false(allowed("libcmocka.so.0"));
	assert_false(allowed("libcrypto.so.3"));
	free(names);
	free(elf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_supervisor_needs_only_libc_and_libmnl),
	    cmocka_unit_test(test_the_reader_finds_what_a_program_needs),
	};
	return svt_run_group(tests, NULL, NULL);
}
