/* A shared library loaded with dlopen at its first use instead of linked.
 *
 * Every library a program links is mapped and relocated at each of its
 * starts, used or not: libcurl, libxml2, libarchive and libcrypto (with what
 * they pull: GnuTLS, Kerberos, LDAP, ICU, libstdc++, a dozen compressors)
 * made each start of the CLI or of smartvm-oci cost ~13 ms of CPU and ~590
 * page faults on the development machine, for `smartvm ps` or an OCI
 * `state` that use none of them (bench #1's "program start" row).
 *
 * A library's functions are a table of typed pointers, listed once:
 *
 *   #define CURL_FUNCTIONS(X, T) X(T, easy_init, curl_easy_init) X(T, ...)
 *   SV_LAZY_TABLE(CURL_FUNCTIONS, curl_api);
 *   static curl_api curl;
 *   static const sv_lazy_symbol symbols[] = SV_LAZY_SYMBOLS(CURL_FUNCTIONS, curl_api);
 *   static sv_lazy_lib lib = SV_LAZY_LIB_INIT("libcurl.so.4", "libcurl4", symbols, &curl, NULL);
 *
 * then sv_lazy_lib_load(&lib) before the first curl.easy_init(). Each
 * member has the type of the function it holds (__typeof__ of the
 * declaration in the library's header, so a mismatch does not compile); a
 * variable (libxml2's xmlFree) gets a pointer to it. */
#ifndef SV_UTIL_LAZY_LIB_H
#define SV_UTIL_LAZY_LIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* The table type: a typed pointer per entry of FUNCTIONS. */
#define SV_LAZY_TABLE(FUNCTIONS, type)                                                                       \
	typedef struct {                                                                                     \
		FUNCTIONS(SV_LAZY_MEMBER_, type)                                                             \
	} type
/* The initialiser of the symbols that fill a table of that type. */
#define SV_LAZY_SYMBOLS(FUNCTIONS, type)                                                                     \
	{                                                                                                    \
		FUNCTIONS(SV_LAZY_SYMBOL_, type)                                                             \
	}
/* The initialiser of a table from the functions themselves, for a program
 * that links the library (see sv_lazy_lib_use). */
#define SV_LAZY_LINKED(FUNCTIONS, type)                                                                      \
	{                                                                                                    \
		FUNCTIONS(SV_LAZY_LINKED_, type)                                                             \
	}
#define SV_LAZY_LINKED_(type, member, symbol) .member = symbol,
#define SV_LAZY_MEMBER_(type, member, symbol) __typeof__(symbol) *member;
#define SV_LAZY_SYMBOL_(type, member, symbol) {#symbol, offsetof(type, member)},

typedef struct {
	const char *name;
	size_t offset; /* of its member in the table */
} sv_lazy_symbol;

typedef struct {
	const char *soname;  /* as dlopen takes it: "libcurl.so.4" */
	const char *package; /* the Debian package that ships it, for the error */
	const sv_lazy_symbol *symbols;
	size_t n_symbols;
	void *table;
	/* After the table is filled, once: the library's own set-up. Returns
	 * NULL, or why it failed (the load then fails, for good). */
	const char *(*init)(void *table);
	/* Private. */
	pthread_mutex_t lock;
	bool tried;
	char error[320];
} sv_lazy_lib;

#define SV_LAZY_LIB_INIT(so, pkg, syms, tbl, init_fn)                                                        \
	{                                                                                                    \
		.soname = (so), .package = (pkg), .symbols = (syms),                                         \
		.n_symbols = sizeof(syms) / sizeof(*(syms)), .table = (tbl), .init = (init_fn),              \
		.lock = PTHREAD_MUTEX_INITIALIZER                                                            \
	}

/* 0 once the library is loaded, its table filled and its init run (the
 * first call does it; later ones return at once). Otherwise an sv_err
 * naming the library, why, and the package to install; a failed load is
 * not retried. Thread-safe. */
int sv_lazy_lib_load(sv_lazy_lib *l);

/* For a program that links the library itself (the supervisor links
 * libcrypto statically): its own functions, a whole table of l's type,
 * stand for the library from now on and nothing is loaded. Call it before
 * any use of l; a load before it wins. */
void sv_lazy_lib_use(sv_lazy_lib *l, const void *linked, size_t table_size);

#endif
