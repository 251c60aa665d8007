/* CI bucket listing and selection (see ci_listing.h). Keys are compared by
 * their numeric version components, never as strings (5.10.9 < 5.10.210), and
 * only names that match the expected patterns exactly are considered, so
 * debug builds, configs and nested prefixes are ignored. */
#include "images/ci_listing.h"

#include "images/download.h"
#include "util/array.h"
#include "util/curl_lib.h"
#include "util/error.h"
#include "util/lazy_lib.h"
#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* S3 pages hold at most 1000 keys of at most 1024 bytes: well under 4 MiB. */
#define MAX_PAGE_BYTES (4u << 20)
#define MAX_PAGES (SV_CI_MAX_OBJECTS / 100)
#define MAX_KEY_BYTES 1024
#define MAX_COMPONENTS 4

void sv_ci_objects_clear(sv_ci_objects *objs)
{
	for (size_t i = 0; i < objs->n; i++)
		free(objs->items[i].key);
	free(objs->items);
	memset(objs, 0, sizeof(*objs));
}

static int push_object(sv_ci_objects *objs, const char *key, int64_t size, const char *url)
{
	if (strlen(key) > MAX_KEY_BYTES)
		return sv_err(SV_EBASE_IMAGE_RESOLVE_FAILED, "listing %s: a key is longer than %d bytes", url,
			      MAX_KEY_BYTES);
	if (objs->n >= SV_CI_MAX_OBJECTS)
		return sv_err(SV_EBASE_IMAGE_RESOLVE_FAILED, "listing %s: more than %d objects", url,
			      SV_CI_MAX_OBJECTS);
	sv_ci_object *items = sv_array_grow(objs->items, &objs->cap, objs->n, sizeof(*items), 64);
	if (!items)
		return sv_err(SV_ENOMEM, "out of memory");
	objs->items = items;
	char *k = strdup(key);
	if (!k)
		return sv_err(SV_ENOMEM, "out of memory");
	objs->items[objs->n++] = (sv_ci_object){.key = k, .size = size};
	return 0;
}

/* libxml2, loaded at the first listing (util/lazy_lib.h says why). Its
 * xmlFree is a variable, reached through a function where libxml2 keeps
 * one per thread. */
#if defined(LIBXML_THREAD_ENABLED) && defined(LIBXML_THREAD_ALLOC_ENABLED)
#define XML_FREE(X, T) X(T, free_address, __xmlFree)
#define XML_FREE_FUNCTION (*xml.free_address())
#else
#define XML_FREE(X, T) X(T, free_variable, xmlFree)
#define XML_FREE_FUNCTION (*xml.free_variable)
#endif
#define XML_FUNCTIONS(X, T)                                                                                  \
	X(T, init_parser, xmlInitParser)                                                                     \
	X(T, read_memory, xmlReadMemory)                                                                     \
	X(T, root_element, xmlDocGetRootElement)                                                             \
	X(T, node_content, xmlNodeGetContent)                                                                \
	X(T, free_doc, xmlFreeDoc)                                                                           \
	XML_FREE(X, T)

SV_LAZY_TABLE(XML_FUNCTIONS, xml_api);

static xml_api xml;

static const sv_lazy_symbol xml_symbols[] = SV_LAZY_SYMBOLS(XML_FUNCTIONS, xml_api);

static const char *init_xml(void *table)
{
	((xml_api *)table)->init_parser();
	return NULL;
}

static sv_lazy_lib xml_lib = SV_LAZY_LIB_INIT("libxml2.so.2", "libxml2", xml_symbols, &xml, init_xml);

static bool named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static char *text_of(const xmlNode *n)
{
	xmlChar *t = xml.node_content(n);
	char *s = strdup(t ? (const char *)t : "");
	XML_FREE_FUNCTION(t);
	return s;
}

static int parse_contents(sv_ci_objects *objs, const xmlNode *contents, const char *url)
{
	char *key = NULL;
	int64_t size = -1;
	for (const xmlNode *c = contents->children; c; c = c->next) {
		if (named(c, "Key")) {
			free(key);
			key = text_of(c);
		} else if (named(c, "Size")) {
			char *s = text_of(c), *end = NULL;
			long long v = s ? strtoll(s, &end, 10) : -1;
			size = (s && end != s && *end == '\0' && v >= 0) ? v : -1;
			free(s);
		}
	}
	int rc = key ? push_object(objs, key, size, url) : 0;
	free(key);
	return rc;
}

int sv_ci_parse_page(sv_ci_objects *objs, char **next_token, const char *text, size_t len, const char *url)
{
	*next_token = NULL;
	if (len > MAX_PAGE_BYTES)
		return sv_err(SV_EBASE_IMAGE_RESOLVE_FAILED, "listing %s: page larger than %u bytes", url,
			      MAX_PAGE_BYTES);
	int rc = sv_lazy_lib_load(&xml_lib);
	if (rc)
		return sv_err_prefix("listing %s", url);
	xmlDoc *doc = xml.read_memory(text, (int)len, url, NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return sv_err(SV_EBASE_IMAGE_RESOLVE_FAILED, "listing %s: response is not XML", url);
	const xmlNode *root = xml.root_element(doc);
	bool truncated = false;
	char *token = NULL;
	if (!root || !named(root, "ListBucketResult")) {
		rc = sv_err(SV_EBASE_IMAGE_RESOLVE_FAILED,
			    "listing %s: response is not a ListBucketResult (root element <%s>)", url,
			    root ? (const char *)root->name : "none");
		goto out;
	}
	for (const xmlNode *c = root->children; c && !rc; c = c->next) {
		if (named(c, "Contents")) {
			rc = parse_contents(objs, c, url);
		} else if (named(c, "IsTruncated")) {
			char *t = text_of(c);
			truncated = t && !strcmp(t, "true");
			free(t);
		} else if (named(c, "NextContinuationToken")) {
			free(token);
			token = text_of(c);
		}
	}
	if (!rc && truncated) {
		if (!token || !*token)
			rc = sv_err(SV_EBASE_IMAGE_RESOLVE_FAILED,
				    "listing %s: IsTruncated without a NextContinuationToken", url);
		else {
			*next_token = token;
			token = NULL;
		}
	}
out:
	free(token);
	xml.free_doc(doc);
	return rc;
}

/* NULL with the error set. */
static char *escape(const char *s)
{
	if (sv_curl_load() != 0)
		return NULL;
	const sv_curl_api *curl = sv_curl();
	char *e = curl->easy_escape(NULL, s, 0);
	char *copy = e ? strdup(e) : NULL;
	curl->free(e);
	if (!copy)
		sv_err(SV_ENOMEM, "out of memory");
	return copy;
}

char *sv_ci_listing_url(const char *bucket_url, const char *prefix)
{
	char *p = escape(prefix), *url = NULL;
	if (p && asprintf(&url, "%s?list-type=2&prefix=%s", bucket_url, p) < 0) {
		url = NULL;
		sv_err(SV_ENOMEM, "out of memory");
	}
	free(p);
	return url;
}

int sv_ci_list(sv_ci_objects *objs, const sv_dl_config *c, const char *bucket_url, const char *prefix)
{
	char *base = sv_ci_listing_url(bucket_url, prefix);
	if (!base)
		return sv_last_error_code();
	char *token = NULL;
	int rc = 0;
	for (int page = 0; !rc; page++) {
		if (page >= MAX_PAGES) {
			rc = sv_err(SV_EBASE_IMAGE_RESOLVE_FAILED, "listing %s: more than %d pages", base,
				    MAX_PAGES);
			break;
		}
		char *url = NULL;
		if (token) {
			char *t = escape(token);
			if (!t || asprintf(&url, "%s&continuation-token=%s", base, t) < 0)
				url = NULL;
			free(t);
		} else {
			url = strdup(base);
		}
		free(token);
		token = NULL;
		if (!url) {
			rc = sv_err(SV_ENOMEM, "out of memory");
			break;
		}
		char *body = NULL;
		size_t len = 0;
		rc = sv_download_memory(c, url, MAX_PAGE_BYTES, &body, &len);
		if (!rc)
			rc = sv_ci_parse_page(objs, &token, body, len, url);
		free(body);
		free(url);
		if (!token)
			break;
	}
	free(token);
	free(base);
	return rc;
}

/* Parses "N.N[.N...]" exactly (the whole string), into at most MAX_COMPONENTS. */
static bool parse_version(const char *s, size_t len, unsigned long v[MAX_COMPONENTS], int *n)
{
	*n = 0;
	size_t i = 0;
	while (i < len) {
		if (*n == MAX_COMPONENTS || !isdigit((unsigned char)s[i]))
			return false;
		unsigned long x = 0;
		while (i < len && isdigit((unsigned char)s[i])) {
			if (x > 100000000UL)
				return false;
			x = x * 10 + (unsigned long)(s[i++] - '0');
		}
		v[(*n)++] = x;
		if (i < len && s[i++] != '.')
			return false;
		if (i == len && s[len - 1] == '.')
			return false;
	}
	return *n > 0;
}

static int version_cmp(const unsigned long *a, int na, const unsigned long *b, int nb)
{
	for (int i = 0; i < na || i < nb; i++) {
		unsigned long x = i < na ? a[i] : 0, y = i < nb ? b[i] : 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return na - nb;
}

typedef struct {
	long index;
	unsigned long v[MAX_COMPONENTS];
	int n;
} best;

/* If name is "<head><version><tail>" with exactly want_components numbers and
 * is higher than *b, records it. */
static void consider(best *b, size_t index, const char *name, const char *head, const char *tail,
		     int want_components)
{
	size_t hl = strlen(head), tl = strlen(tail), nl = strlen(name);
	if (nl <= hl + tl || strncmp(name, head, hl) != 0 || strcmp(name + nl - tl, tail) != 0)
		return;
	unsigned long v[MAX_COMPONENTS];
	int n;
	if (!parse_version(name + hl, nl - hl - tl, v, &n) || n != want_components)
		return;
	if (b->index >= 0 && version_cmp(v, n, b->v, b->n) <= 0)
		return;
	b->index = (long)index;
	memcpy(b->v, v, sizeof(v));
	b->n = n;
}

int sv_ci_pick(size_t *kernel, size_t *rootfs, sv_rootfs_type *type, const sv_ci_objects *objs,
	       const char *prefix, const char *listing_url)
{
	best k = {.index = -1}, sq = {.index = -1}, ext4 = {.index = -1};
	size_t pl = strlen(prefix);
	for (size_t i = 0; i < objs->n; i++) {
		const char *key = objs->items[i].key;
		if (strncmp(key, prefix, pl) != 0 || strchr(key + pl, '/'))
			continue;
		const char *name = key + pl;
		consider(&k, i, name, "vmlinux-", "", 3);
		consider(&sq, i, name, "ubuntu-", ".squashfs", 2);
		consider(&ext4, i, name, "ubuntu-", ".ext4", 2);
	}
	if (k.index < 0)
		return sv_err(SV_EBASE_IMAGE_RESOLVE_FAILED, "no kernel (vmlinux-X.Y.Z) under %s in %s",
			      prefix, listing_url);
	if (sq.index < 0 && ext4.index < 0)
		return sv_err(SV_EBASE_IMAGE_RESOLVE_FAILED,
			      "no root filesystem (ubuntu-X.Y.squashfs or .ext4) under %s in %s", prefix,
			      listing_url);
	*kernel = (size_t)k.index;
	*rootfs = (size_t)(sq.index >= 0 ? sq.index : ext4.index);
	*type = sq.index >= 0 ? SV_ROOTFS_SQUASHFS : SV_ROOTFS_EXT4;
	return 0;
}
