/* Growth of typed arrays; see array.h. */
#include "util/array.h"

#include <stdint.h>
#include <stdlib.h>

void *sv_array_grow(void *items, size_t *cap, size_t len, size_t elem_size, size_t first)
{
	if (len < *cap)
		return items;
	size_t want = *cap ? *cap * 2 : (first ? first : 1);
	if (want <= len || want > SIZE_MAX / elem_size)
		return NULL;
	void *grown = realloc(items, want * elem_size);
	if (grown)
		*cap = want;
	return grown;
}
