/* What smartvm's programs load when they start.
 *
 * The supervisor is exec'd for every VM: each shared library it needs is
 * mapped and relocated at every VM start (issue 16). It may need libc and
 * libmnl (the network undo's netlink) and nothing else; jansson,
 * libcrypto and libnftnl (the VM's firewall elements, which it removes)
 * are linked into it statically (meson.build). Read from the binary's
 * DT_NEEDED entries, as the dynamic loader reads them. And it binds its
 * symbols when it starts, which the fork server's children inherit.
 *
 * The CLI, the OCI runtime and the shared library load libcurl, libarchive,
 * libxml2 and libcrypto only when they use them (util/lazy_lib.h): linked, each start
 * of `smartvm ps` or of an OCI `state` loaded them and the libraries they
 * pull in. */
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

typedef struct {
	const char *strtab; /* the dynamic section's string table */
	size_t strtab_len;
	const Elf64_Dyn *dyn;
	size_t n;
} dynamic_section;

/* The first dynamic section of an ELF64 file; -1 if it is not one. */
static int find_dynamic(const char *elf, size_t len, dynamic_section *out)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > len)
		return -1;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(elf + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNAMIC || sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *strtab = &sh[sh[i].sh_link];
		if (sh[i].sh_offset + sh[i].sh_size > len || strtab->sh_offset + strtab->sh_size > len)
			return -1;
		*out = (dynamic_section){.strtab = elf + strtab->sh_offset,
					 .strtab_len = strtab->sh_size,
					 .dyn = (const Elf64_Dyn *)(elf + sh[i].sh_offset),
					 .n = sh[i].sh_size / sizeof(Elf64_Dyn)};
		return 0;
	}
	return -1;
}

/* The DT_NEEDED names of an ELF64 file, newline-separated, in *out (malloc'd). */
static int needed_libraries(const char *elf, size_t len, char **out)
{
	dynamic_section ds;
	if (find_dynamic(elf, len, &ds) != 0)
		return -1;
	size_t cap = 1, used = 0;
	*out = calloc(1, 1);
	for (size_t k = 0; k < ds.n && ds.dyn[k].d_tag != DT_NULL; k++) {
		if (ds.dyn[k].d_tag != DT_NEEDED || ds.dyn[k].d_un.d_val >= ds.strtab_len)
			continue;
		const char *name = ds.strtab + ds.dyn[k].d_un.d_val;
		size_t n = strnlen(name, ds.strtab_len - ds.dyn[k].d_un.d_val);
		cap += n + 1;
		*out = realloc(*out, cap);
		memcpy(*out + used, name, n);
		used += n;
		(*out)[used++] = '\n';
		(*out)[used] = '\0';
	}
	return 0;
}

/* Whether the dynamic loader binds all of the file's symbols when it
 * loads it (-z now: DF_BIND_NOW or DF_1_NOW) instead of at each
 * function's first call. */
static bool binds_now(const char *elf, size_t len)
{
	dynamic_section ds;
	if (find_dynamic(elf, len, &ds) != 0)
		return false;
	for (size_t k = 0; k < ds.n && ds.dyn[k].d_tag != DT_NULL; k++)
		if ((ds.dyn[k].d_tag == DT_FLAGS && (ds.dyn[k].d_un.d_val & DF_BIND_NOW)) ||
		    (ds.dyn[k].d_tag == DT_FLAGS_1 && (ds.dyn[k].d_un.d_val & DF_1_NOW)))
			return true;
	return false;
}

/* The supervisor's binary, whole; *path gets where it is. */
static char *read_supervisor(const char **path, size_t *len)
{
	*path = getenv("SMARTVM_SUPERVISOR");
	assert_non_null(*path);
	char *elf = read_all(*path, len);
	assert_non_null(elf);
	return elf;
}

static void test_the_supervisor_needs_only_libc_and_libmnl(void **state)
{
	(void)state;
	const char *path;
	size_t len = 0;
	char *elf = read_supervisor(&path, &len);
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

/* The fork server binds them once; a supervisor it forks that had to look
 * up each function at its first call would do it again, for every VM. */
static void test_the_supervisor_binds_its_symbols_when_it_starts(void **state)
{
	(void)state;
	const char *path;
	size_t len = 0;
	char *elf = read_supervisor(&path, &len);
	if (!binds_now(elf, len))
		fail_msg("%s binds its symbols lazily: link it with -z now (meson.build)", path);
	free(elf);
}

/* Loaded at their first use, never linked. */
static const char *const lazy_prefixes[] = {"libcurl.so.", "libarchive.so.", "libxml2.so.", "libcrypto.so."};

static void assert_links_no_lazy_library(const char *path)
{
	size_t len = 0;
	char *elf = read_all(path, &len);
	if (!elf)
		fail_msg("cannot read %s", path);
	char *names = NULL;
	assert_int_equal(needed_libraries(elf, len, &names), 0);
	assert_non_null(strstr(names, "libc.so."));
	for (size_t i = 0; i < sizeof(lazy_prefixes) / sizeof(*lazy_prefixes); i++)
		if (strstr(names, lazy_prefixes[i]))
			fail_msg(
			    "%s links %s*: every start would load it and what it pulls in (libsmartvm "
			    "takes it by its headers only and loads it at its first use; see meson.build)",
			    path, lazy_prefixes[i]);
	free(names);
	free(elf);
}

static void test_the_cli_runtime_and_library_load_curl_archive_xml_and_crypto_only_when_used(void **state)
{
	(void)state;
	const char *cli = getenv("SMARTVM_CLI"), *oci = getenv("SMARTVM_OCI"),
		   *build = getenv("SMARTVM_BUILD_ROOT");
	assert_non_null(cli);
	assert_non_null(oci);
	assert_non_null(build);
	assert_links_no_lazy_library(cli);
	assert_links_no_lazy_library(oci);
	char *shared = NULL;
	assert_true(asprintf(&shared, "%s/libsmartvm.so", build) > 0);
	assert_links_no_lazy_library(shared);
	free(shared);
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
	/* Test programs are linked as meson links them, without -z now: the
	 * bind check can tell the two apart. */
	assert_false(binds_now(elf, len));
	assert_false(allowed("libcmocka.so.0"));
	assert_false(allowed("libcrypto.so.3"));
	free(names);
	free(elf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_supervisor_needs_only_libc_and_libmnl),
	    cmocka_unit_test(test_the_supervisor_binds_its_symbols_when_it_starts),
	    cmocka_unit_test(test_the_cli_runtime_and_library_load_curl_archive_xml_and_crypto_only_when_used),
	    cmocka_unit_test(test_the_reader_finds_what_a_program_needs),
	};
	return svt_run_group(tests, NULL, NULL);
}
