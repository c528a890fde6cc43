/* exec.c: starts the app: loads it (static ELF, non-PIE or static-PIE) from the payload, builds its stack, jumps to it. */
#include <asm-generic/errno.h>
#include <linux/auxvec.h>
#include <string.h>

#include "arch.h"
#include "boot.h"
#include "cpuid.h"
#include "elf.h"
#include "exec.h"
#include "k.h"
#include "pages.h"
#include "ptab.h"
#include "sys.h"
#include "vdso.h"

#define EXEC_PAGE 4096ull
#define EXEC_STACK_MAX (8ull << 20)
#define EXEC_GUARD_BIG (2ull << 20)
_Static_assert(EXEC_STACK_MAX <= UKVM_STACK_GUARD_ROOM, "the largest stack fits above the monitor's guard");
#define EXEC_PIE_ALIGN (2ull << 20)
#define EXEC_MAX_STRS 4096 /* argv or env entries */

/*
 * The vDSO's address for the app: in PV mode user mode cannot reach the
 * kernel half (the host unmaps it: #PF), so the app gets the identity view
 * of the same pages (position independent, its clock page 4 KiB below).
 */
static uint64_t exec_vdso_addr(void)
{
	uint64_t a = (uint64_t)(uintptr_t)k_vdso_start;
	return k_pv_vif ? a - UKVM_KERNEL_VBASE : a;
}

static const char *const exec_default_env[] = { "PATH=/bin:/usr/bin", "HOME=/", "TERM=dumb" };

struct exec_strs {
	const char **s;
	unsigned n, max;
};

static uint64_t exec_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Key length of "K=V" (whole string when there is no '='). */
static size_t exec_keylen(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Adds a "K=V" entry, replacing an earlier one with the same key. */
static void exec_env_put(struct exec_strs *e, const char *kv)
{
	size_t k = exec_keylen(kv);
	for (unsigned i = 0; i < e->n; i++)
		if (exec_keylen(e->s[i]) == k && strncmp(e->s[i], kv, k) == 0) {
			e->s[i] = kv;
			return;
		}
	if (e->n < e->max)
		e->s[e->n++] = kv;
}

/* Splits an FDT stringlist (validated NUL-terminated) into f(ctx, entry) calls. */
static void exec_each_str(const char *list, int len, void (*f)(struct exec_strs *, const char *), struct exec_strs *ctx)
{
	for (int i = 0; list && i < len;) {
		const char *s = list + i;
		f(ctx, s);
		i += (int)strlen(s) + 1;
	}
}

/* Entries in an FDT stringlist (at most EXEC_MAX_STRS are used). */
static unsigned exec_count(const char *list, int len)
{
	unsigned n = 0;
	for (int i = 0; list && i < len && n < EXEC_MAX_STRS; i++)
		n += list[i] == 0;
	return n;
}

static void exec_argv_put(struct exec_strs *a, const char *s)
{
	if (a->n < a->max)
		a->s[a->n++] = s;
}

/* Copies len bytes below *sp and returns their address. */
static uint64_t exec_push(uint64_t *sp, const void *src, size_t len)
{
	*sp -= len;
	memcpy((void *)(uintptr_t)*sp, src, len);
	return *sp;
}

/* Address of the program headers in the loaded image: PT_PHDR, else the PT_LOAD holding e_phoff. */
static uint64_t exec_phdr_addr(const struct elf_info *in, uint64_t base)
{
	uint64_t phoff = in->eh->e_phoff;
	for (unsigned i = 0; i < in->phnum; i++)
		if (in->ph[i].p_type == 6 /* PT_PHDR */)
			return base + in->ph[i].p_vaddr;
	for (unsigned i = 0; i < in->phnum; i++) {
		const struct elf64_phdr *p = &in->ph[i];
		if (p->p_type == ELF64_PT_LOAD && phoff >= p->p_offset && phoff - p->p_offset < p->p_filesz)
			return base + p->p_vaddr + (phoff - p->p_offset);
	}
	return 0;
}

/* True when [va, va + len) lies inside one PT_LOAD's file bytes (placed: loaded by the monitor, in reserved RAM). */
static bool exec_in_file_bytes(const struct elf_info *in, uint64_t va, uint64_t len)
{
	for (unsigned i = 0; i < in->phnum; i++) {
		const struct elf64_phdr *p = &in->ph[i];
		if (p->p_type == ELF64_PT_LOAD && va >= p->p_vaddr && len <= p->p_filesz &&
		    va - p->p_vaddr <= p->p_filesz - len)
			return true;
	}
	return false;
}

/* Builds argc, argv, envp and auxv at the top of the stack; returns the app's initial RSP. */
static uint64_t exec_stack(uint64_t top, const struct elf_info *in, uint64_t base, struct exec_strs *argv,
			 struct exec_strs *env)
{
	uint64_t sp = top;
	uint8_t rnd[16];
	uint32_t id[4];
	uint64_t *av = k_malloc(sizeof(uint64_t) * (argv->n + env->n + 2));

	if (!av)
		return 0;
	k_random_bytes(rnd, sizeof(rnd));
	uint64_t a_rnd = exec_push(&sp, rnd, sizeof(rnd));
	uint64_t a_plat = exec_push(&sp, "x86_64", 7);
	/* Both lists in order upwards, as Linux lays them out: the environment's bytes are /proc/self/environ. */
	k_boot_info.env_end = sp;
	for (unsigned i = env->n; i-- > 0;)
		av[argv->n + i] = exec_push(&sp, env->s[i], strlen(env->s[i]) + 1);
	k_boot_info.env_start = sp;
	for (unsigned i = argv->n; i-- > 0;)
		av[i] = exec_push(&sp, argv->s[i], strlen(argv->s[i]) + 1);
	uint64_t a_execfn = av[0];
	k_cpuid_query(1, 0, id);

	const uint64_t aux[][2] = {
		{ AT_PHDR, exec_phdr_addr(in, base) }, { AT_PHENT, sizeof(struct elf64_phdr) },
		{ AT_PHNUM, in->phnum }, { AT_PAGESZ, EXEC_PAGE },
		/* musl's static-PIE start code finds its base from AT_PHDR and _DYNAMIC when AT_BASE is 0, as on Linux. */
		{ AT_BASE, 0 }, { AT_FLAGS, 0 }, { AT_ENTRY, base + in->entry },
		{ AT_UID, 0 }, { AT_EUID, 0 }, { AT_GID, 0 }, { AT_EGID, 0 }, { AT_SECURE, 0 },
		{ AT_RANDOM, a_rnd }, { AT_HWCAP, id[3] }, { AT_CLKTCK, 100 },
		{ AT_EXECFN, a_execfn }, { AT_PLATFORM, a_plat },
		/* clock_gettime & co. without a SYSCALL (~20 us on PVM): musl looks up __vdso_clock_gettime here. */
		{ AT_SYSINFO_EHDR, exec_vdso_addr() }, { AT_NULL, 0 },
	};
	uint64_t words = 1 + (argv->n + 1) + (env->n + 1) + 2 * (sizeof(aux) / sizeof(aux[0]));
	sp = (sp - words * 8) & ~15ull; /* the ABI wants RSP 16-byte aligned at argc */
	uint64_t *w = (uint64_t *)(uintptr_t)sp;
	*w++ = argv->n;
	for (unsigned i = 0; i < argv->n; i++)
		*w++ = av[i];
	*w++ = 0;
	for (unsigned i = 0; i < env->n; i++)
		*w++ = av[argv->n + i];
	*w++ = 0;
	memcpy(w, aux, sizeof(aux));
	k_free(av);
	return sp;
}

/* Claims the app's pages and copies its segments in; pages come zeroed so bss needs nothing. */
static int exec_segments(const uint8_t *app, const struct elf_info *in, uint64_t base)
{
	uint64_t lo = (in->lo & ~(EXEC_PAGE - 1)) + base;
	uint64_t hi = in->hi + base;
	if (hi < base || hi > UINT64_MAX - EXEC_PAGE)
		return -ENOMEM;
	hi = exec_align_up(hi, EXEC_PAGE);
	int rc = pmem_claim(&k_pages, lo, (hi - lo) / EXEC_PAGE, PMEM_APP, false, false);
	if (rc) {
		k_printf("ukvm: app: [0x%lx, 0x%lx) is not free guest memory (RAM %lu MiB)\n", (unsigned long)lo,
			 (unsigned long)hi, (unsigned long)(k_pages.size >> 20));
		return rc;
	}
	for (unsigned i = 0; i < in->phnum; i++) {
		const struct elf64_phdr *p = &in->ph[i];
		if (p->p_type == ELF64_PT_LOAD && p->p_filesz)
			memcpy((void *)(uintptr_t)(base + p->p_vaddr), app + p->p_offset, p->p_filesz);
	}
	return 0;
}

/* Records where the app's code lies, so a crash report can tell its return addresses from data. */
static void exec_text_range(const struct elf_info *in, uint64_t base, struct payload_view *pv)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (unsigned i = 0; i < in->phnum; i++) {
		const struct elf64_phdr *p = &in->ph[i];
		if (p->p_type != ELF64_PT_LOAD || !(p->p_flags & ELF64_PF_X) || p->p_memsz == 0)
			continue;
		if (p->p_vaddr + base < lo)
			lo = p->p_vaddr + base;
		if (p->p_vaddr + p->p_memsz + base > hi)
			hi = p->p_vaddr + p->p_memsz + base; /* no wrap: the segments were loaded in RAM */
	}
	pv->app_text_lo = lo < hi ? lo : 0;
	pv->app_text_hi = lo < hi ? hi : 0;
}

static bool exec_reserved(void *ctx, uint64_t start, uint64_t len)
{
	(void)ctx;
	return pmem_range_is(&k_pages, start, len, PMEM_BIT(PMEM_RESERVED));
}

/*
 * A placed app (UKVM_PAYLOAD_APP_PLACED) was loaded by the monitor from the
 * image's own PT_LOADs: nothing to copy or zero (bss is fresh, zero RAM). Its
 * segments must sit in reserved RAM clear of the kernel and the payload, and
 * the program headers in place must be the payload's (the image carries this
 * app): that reads only the page AT_PHDR names, which the app reads anyway.
 * The pages stay PMEM_RESERVED (pmem has no reserved -> app transfer).
 */
static int exec_check_placed(const struct payload_view *pv, const struct elf_info *in)
{
	extern char _kernel_start[], _kernel_end[];
	const struct payload_range avoid[] = {
		{ K_GPA(_kernel_start), K_GPA(_kernel_end) },
		{ k_boot_info.payload_gpa, k_boot_info.payload_gpa + k_boot_info.payload_size },
	};
	uint64_t phsz = (uint64_t)in->phnum * sizeof(struct elf64_phdr), at = exec_phdr_addr(in, 0);
	int bad;

	if (payload_check_placed(in, k_pages.size, avoid, sizeof(avoid) / sizeof(avoid[0]), exec_reserved, NULL,
				 &bad)) {
		k_printf("ukvm: app: placed segment %d is not in reserved RAM clear of kernel and payload\n", bad);
		return -ENOEXEC;
	}
	if (at == 0 || !exec_in_file_bytes(in, at, phsz) ||
	    memcmp((const void *)(uintptr_t)at, pv->app + in->eh->e_phoff, phsz) != 0) {
		k_printf("ukvm: app: placed program headers at 0x%lx do not match the payload's\n", (unsigned long)at);
		return -ENOEXEC;
	}
	/* The monitor's reserve map handed these pages in reserved: make them the app's (mprotect, munmap, madvise). */
	for (unsigned i = 0; i < in->phnum; i++) {
		const struct elf64_phdr *p = &in->ph[i];
		if (p->p_type != ELF64_PT_LOAD || p->p_memsz == 0)
			continue;
		uint64_t lo = p->p_vaddr & ~(EXEC_PAGE - 1);
		uint64_t hi = exec_align_up(p->p_vaddr + p->p_memsz, EXEC_PAGE); /* no wrap: payload_check_placed bounded it */
		if (pmem_adopt(&k_pages, lo, (hi - lo) / EXEC_PAGE, PMEM_BIT(PMEM_RESERVED) | PMEM_BIT(PMEM_APP),
			       PMEM_APP)) {
			k_printf("ukvm: app: placed segment %u overlaps memory that is not the app's\n", i);
			return -ENOEXEC;
		}
	}
	return 0;
}

/*
 * The main stack sits above a guard gap, as Linux's stack_guard_gap: not
 * present, so an overflow raises SIGSEGV (SEGV_MAPERR, as at Linux's gap)
 * instead of running into other memory; the kernel keeps its pages, so
 * nothing maps them.
 *
 * The stack right above the gap the monitor left out of the page tables
 * (proto/ukvm_abi.h, UKVM_FDT_STACK_GUARD; boot_memory took its pages): no
 * entry is edited and nothing flushed, which on PVM (an emulated write to a
 * shadowed table, and in base mode an emulated CPL0 flush) was ~100 us of
 * boot. 0 with *stack_lo, or -ENOMEM when there is no such gap or the room
 * above it is taken.
 */
static int exec_stack_premade(uint64_t stack_size, uint64_t *stack_lo)
{
	uint64_t g = k_boot_info.stack_guard;
	if (!g || stack_size > UKVM_STACK_GUARD_ROOM ||
	    pmem_claim(&k_pages, g + UKVM_STACK_GUARD_SIZE, stack_size / EXEC_PAGE, PMEM_APP, false, false))
		return -ENOMEM;
	*stack_lo = g + UKVM_STACK_GUARD_SIZE;
	return 0;
}

/*
 * The stack with a gap of the kernel's own below it: one whole 2 MiB page
 * when RAM allows (its page-directory entry alone: splitting a 2 MiB page
 * into a table was measured at ~0.5 ms of boot), else one page. 0 with
 * *stack_lo, or -ENOMEM.
 */
static int exec_stack_own_guard(uint64_t stack_size, uint64_t *stack_lo)
{
	bool big = stack_size >= EXEC_GUARD_BIG * 2;
	uint64_t guard = big ? EXEC_GUARD_BIG : EXEC_PAGE, slack = big ? EXEC_GUARD_BIG - EXEC_PAGE : 0, lo;
	/* Pristine pages cost nothing until the app touches them. */
	int rc = pmem_alloc(&k_pages, (stack_size + guard + slack) / EXEC_PAGE, PMEM_APP, &lo);
	if (rc) {
		k_printf("ukvm: no memory for the app's stack\n");
		return rc;
	}
	if (big) {
		/* The guard on a 2 MiB boundary; what is left below and above goes back. */
		uint64_t glo = exec_align_up(lo, EXEC_GUARD_BIG), end = lo + stack_size + guard + slack;
		if (glo > lo)
			pmem_free(&k_pages, lo, (glo - lo) / EXEC_PAGE, PMEM_APP);
		if (glo + guard + stack_size < end)
			pmem_free(&k_pages, glo + guard + stack_size, (end - glo - guard - stack_size) / EXEC_PAGE, PMEM_APP);
		lo = glo;
	}
	bool flush = false;
	if (pmem_adopt(&k_pages, lo, guard / EXEC_PAGE, PMEM_BIT(PMEM_APP), PMEM_KERNEL) == 0 &&
	    ptab_protect(lo, guard / EXEC_PAGE, PTAB_NONE, &flush) == 0 && flush)
		ptab_flush();
	*stack_lo = lo + guard;
	return 0;
}

int k_exec_app(void)
{
	const struct payload_view *pv = &k_boot_payload;
	struct elf_info in;
	int bad, rc;

	if (!pv->app) {
		k_printf("ukvm: no app in this image\n");
		return -ENOENT;
	}
	enum elf_err e = elf_parse(pv->app, pv->app_size, &in, &bad);
	if (e != ELF_OK) {
		k_printf("ukvm: app: %s (segment %d)\n", elf_strerror(e), bad);
		return -ENOEXEC;
	}
	if (in.interp) {
		k_printf("ukvm: app: dynamically linked (PT_INTERP): only static programs run\n");
		return -ENOEXEC;
	}

	uint64_t payload_end = k_boot_info.payload_gpa + k_boot_info.payload_size;
	uint64_t base = 0;
	if (in.pie)
		base = exec_align_up(payload_end, EXEC_PIE_ALIGN) - (in.lo & ~(EXEC_PAGE - 1));
	if (pv->flags & UKVM_PAYLOAD_APP_PLACED)
		rc = exec_check_placed(pv, &in);
	else
		rc = exec_segments(pv->app, &in, base);
	if (rc)
		return rc;
	k_boot_payload.app_base = in.pie ? base : 0;
	exec_text_range(&in, base, &k_boot_payload);

	uint64_t stack_size = k_pages.size / 8 < EXEC_STACK_MAX ? k_pages.size / 8 : EXEC_STACK_MAX;
	stack_size &= ~(EXEC_PAGE - 1);
	uint64_t stack_lo;
	if (exec_stack_premade(stack_size, &stack_lo) && (rc = exec_stack_own_guard(stack_size, &stack_lo)))
		return rc;

	uint64_t app_end = in.hi + base;
	sys_mm_brk_init(exec_align_up(app_end > payload_end ? app_end : payload_end, EXEC_PAGE));

	static const char *arg0_default = "app";
	/* Sized to the FDT's lists: every page the kernel touches at boot costs ~14 us on PVM. */
	unsigned nargs = exec_count(k_boot_info.argv, k_boot_info.argv_len) + 1;
	unsigned nenv = exec_count(k_boot_info.env, k_boot_info.env_len) + 3;
	struct exec_strs argv = { .s = k_malloc(nargs * sizeof(char *)), .max = nargs };
	struct exec_strs env = { .s = k_malloc(nenv * sizeof(char *)), .max = nenv };
	if (!argv.s || !env.s)
		return -ENOMEM;
	exec_each_str(k_boot_info.argv, k_boot_info.argv_len, exec_argv_put, &argv);
	if (argv.n == 0)
		exec_argv_put(&argv, k_boot_info.argv0 ? k_boot_info.argv0 : arg0_default);
	else if (k_boot_info.argv0)
		argv.s[0] = k_boot_info.argv0;
	for (unsigned i = 0; i < sizeof(exec_default_env) / sizeof(exec_default_env[0]); i++)
		exec_env_put(&env, exec_default_env[i]);
	exec_each_str(k_boot_info.env, k_boot_info.env_len, exec_env_put, &env);

	uint64_t sp = exec_stack(stack_lo + stack_size, &in, base, &argv, &env);
	if (!sp)
		return -ENOMEM;
	k_free(argv.s);
	k_free(env.s);
	k_hypercall_mark(UKVM_MARK_APP_MAIN);
	k_enter_app(base + in.entry, sp);
}
