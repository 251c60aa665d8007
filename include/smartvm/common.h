/** @file
 * Macros every public header uses.
 *
 * SV_EXTERN marks a function as part of libsmartvm's ABI; everything else in
 * the library is hidden. The ABI of a soname (libsmartvm.so.N) only grows:
 * functions are added, none changes. Every options struct starts with an
 * `unsigned int version` that its SV_..._INIT macro (or sv_..._init()) sets:
 * a field is added at the end under a new version, and the library reads
 * only the fields of the version the caller was built with (a struct that
 * did not start from its _INIT, version 0, is refused with SV_EINVAL). The
 * config structs (config.h) carry no version yet, so adding a field to one
 * moves the soname. Macros only (no thread-safety concern). */
#ifndef SMARTVM_COMMON_H
#define SMARTVM_COMMON_H

#if defined(__GNUC__)
#define SV_EXTERN __attribute__((visibility("default")))
#else
#define SV_EXTERN
#endif

#endif
