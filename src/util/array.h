/* Growth of the library's typed arrays (items + len + cap), in one place
 * instead of a realloc block per array. */
#ifndef SV_UTIL_ARRAY_H
#define SV_UTIL_ARRAY_H

#include <stddef.h>

/* Returns items with room for at least one element past len: the same
 * pointer when *cap > len, else a larger block (capacity doubled, `first`
 * elements the first time; *cap updated). NULL when memory runs out or the
 * size overflows; items is then still valid and *cap unchanged. */
void *sv_array_grow(void *items, size_t *cap, size_t len, size_t elem_size, size_t first);

#endif
