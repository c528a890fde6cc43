/* kmalloc.h: the kernel heap (guest/kernel/kmalloc.c), on whole pages from k_pages_alloc. */
#ifndef KMALLOC_H
#define KMALLOC_H

#include <stddef.h>

/* n bytes, 16-byte aligned, not zeroed; NULL when out of memory. */
void *k_malloc(size_t n);

/* count * n zeroed bytes; NULL on overflow or when out of memory. */
void *k_calloc(size_t count, size_t n);

/* Resizes p (NULL: like k_malloc) keeping its contents; NULL when out of memory, p then untouched. */
void *k_realloc(void *p, size_t n);

/*
 * What block p (from k_malloc/k_calloc/k_realloc) takes of the heap: its
 * size class or its pages, header included (0 for NULL). For accounting a
 * user's memory (lwIP's, guest/net/port.c) as the heap spends it.
 */
size_t k_malloc_size(const void *p);

/* Frees a block from k_malloc/k_calloc/k_realloc (NULL: nothing). */
void k_free(void *p);

#endif
