/* ptab.h: the app's page protections, edited in the page tables the monitor built (guest/kernel/ptab.c). */
#ifndef PTAB_H
#define PTAB_H

#include <stdbool.h>
#include <stdint.h>

enum ptab_prot {
	PTAB_NONE, /* not present: any access faults */
	PTAB_RO,   /* present, read-only */
	PTAB_RW,   /* what every page is at boot */
};

/*
 * Gives the identity pages [addr, addr + np pages) (inside RAM, above the
 * first 2 MiB) protection p, splitting a 2 MiB page into a page table of its
 * own the first time one of its pages is not RW. Sets *changed when an entry
 * changed: the caller then calls ptab_flush once for the whole batch.
 * 0 or -ENOMEM (no page for a table: the pages done so far keep p).
 */
int ptab_protect(uint64_t addr, uint64_t np, enum ptab_prot p, bool *changed);

/*
 * True when every page of [a, a + len) (an identity range inside RAM) can be
 * read, and written too when write: what the kernel checks before it touches
 * the app's memory, so that it never faults on a protected page.
 */
bool ptab_user_ok(uint64_t a, uint64_t len, bool write);

/*
 * [lo, lo + len) is absent from the page tables as the monitor built them
 * (its stack guard, proto/ukvm_abi.h): ptab_user_ok refuses it even while
 * nothing else was ever protected, without reading a table (a first read of
 * them costs a fault on PVM).
 */
void ptab_note_gap(uint64_t lo, uint64_t len);

/* True once some page was protected (until then every page is RW and nothing needs a look). */
bool ptab_active(void);
/* The protection of the page holding identity address a. */
enum ptab_prot ptab_prot_of(uint64_t a);

/*
 * Makes the edits since the last flush take effect (the shadow MMU keeps
 * old translations until then): one flush for the pages that changed, page
 * by page when they are few, else everything.
 */
void ptab_flush(void);

/* The flush itself (guest/arch/x86_64/exc.S): the pages holding va[0..n), n 0: all. */
void k_tlb_flush_list(const uint64_t *va, uint64_t n);

#endif
