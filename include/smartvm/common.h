/** @file
 * Macros every public header uses.
 *
 * SV_EXTERN marks a function as part of libsmartvm's ABI; everything else in
 * the library is hidden. The ABI of a soname (libsmartvm.so.N) only grows:
 * functions are added, none changes. The option and config structs carry no
 * version field yet, so adding a field to one is a change that moves the
 * soname. Macros only (no thread-safety concern). */
#ifndef SMARTVM_COMMON_H
#define SMARTVM_COMMON_H

#if defined(__GNUC__)
#define SV_EXTERN __attribute__((visibility("default")))
#else
#define SV_EXTERN
#endif

#endif
