/* procfs.c: a minimal /proc and /sys as programs expect them, each file's text made from kernel state when it is opened. */
#include <stdarg.h>
#include <string.h>
#include "k.h"
#include "boot.h"
#include "cpuid.h"
#include "fs.h"
#include "pmem.h"
#include "sys.h"
#include "thread.h"
#include "wait.h"

/*
 * /proc/self is a symbolic link to /proc/<pid> (the one process), which
 * holds exe (a link that opens the app's ELF, as Linux's does even when no
 * directory names it), fd/ (one link per open fd, remade whenever the
 * directory is looked at, each opening what its fd has open), cmdline,
 * comm, maps, mounts (also /proc/mounts) and status. cpuinfo, meminfo, stat and uptime, and /sys's CPU lists, answer
 * from CPUID, the page allocator, the clocks and the wait core's idle time;
 * net/sockstat from the network stack (fs_proc_sockstat).
 * A file's text is made once per open (a reader sees one consistent
 * snapshot, as Linux's seq_file gives per read) and its size is 0, as
 * Linux's. An image that brings its own /proc or /sys keeps it.
 */

#define PROC_USER_HZ 100 /* the clock ticks /proc/stat counts in (Linux's USER_HZ) */
#define PROC_DELETED " (deleted)" /* what a link to a file without a name left ends with */
#define PROC_MAPS_NAME_COL 73 /* where Linux's show_map_vma starts a mapping's name */

struct proc_text {
	char *s;
	size_t len, cap;
	bool oom;
};

static void proc_printf(struct proc_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void proc_printf(struct proc_text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = k_vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || t->oom)
		return;
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 512;
		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		char *s = k_realloc(t->s, cap);
		if (!s) {
			t->oom = true;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
	va_start(ap, fmt);
	k_vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* ---- the files ---- */

/* CPUID leaf as four registers: eax, ebx, ecx, edx. */
static void proc_cpuid(uint32_t leaf, uint32_t r[4])
{
	k_cpuid_query(leaf, 0, r);
}

/* Linux's names of CPUID feature bits (arch/x86/include/asm/cpufeatures.h) for the common ones: {leaf, register, bit, name}. */
static const struct proc_flag {
	uint32_t leaf;
	uint8_t reg, bit; /* reg: 1 ebx, 2 ecx, 3 edx */
	const char *name;
} proc_flags[] = {
	{ 1, 3, 0, "fpu" }, { 1, 3, 1, "vme" }, { 1, 3, 2, "de" }, { 1, 3, 3, "pse" }, { 1, 3, 4, "tsc" },
	{ 1, 3, 5, "msr" }, { 1, 3, 6, "pae" }, { 1, 3, 7, "mce" }, { 1, 3, 8, "cx8" }, { 1, 3, 9, "apic" },
	{ 1, 3, 11, "sep" }, { 1, 3, 12, "mtrr" }, { 1, 3, 13, "pge" }, { 1, 3, 14, "mca" }, { 1, 3, 15, "cmov" },
	{ 1, 3, 16, "pat" }, { 1, 3, 17, "pse36" }, { 1, 3, 19, "clflush" }, { 1, 3, 23, "mmx" },
	{ 1, 3, 24, "fxsr" }, { 1, 3, 25, "sse" }, { 1, 3, 26, "sse2" }, { 1, 3, 27, "ss" }, { 1, 3, 28, "ht" },
	{ 0x80000001, 3, 11, "syscall" }, { 0x80000001, 3, 20, "nx" }, { 0x80000001, 3, 26, "pdpe1gb" },
	{ 0x80000001, 3, 27, "rdtscp" }, { 0x80000001, 3, 29, "lm" },
	{ 1, 2, 0, "pni" }, { 1, 2, 1, "pclmulqdq" }, { 1, 2, 9, "ssse3" }, { 1, 2, 12, "fma" }, { 1, 2, 13, "cx16" },
	{ 1, 2, 17, "pcid" }, { 1, 2, 19, "sse4_1" }, { 1, 2, 20, "sse4_2" }, { 1, 2, 21, "x2apic" },
	{ 1, 2, 22, "movbe" }, { 1, 2, 23, "popcnt" }, { 1, 2, 24, "tsc_deadline_timer" }, { 1, 2, 25, "aes" },
	{ 1, 2, 26, "xsave" }, { 1, 2, 28, "avx" }, { 1, 2, 29, "f16c" }, { 1, 2, 30, "rdrand" },
	{ 1, 2, 31, "hypervisor" },
	{ 0x80000001, 2, 0, "lahf_lm" }, { 0x80000001, 2, 5, "abm" }, { 0x80000001, 2, 8, "3dnowprefetch" },
	{ 7, 1, 0, "fsgsbase" }, { 7, 1, 3, "bmi1" }, { 7, 1, 4, "hle" }, { 7, 1, 5, "avx2" }, { 7, 1, 7, "smep" },
	{ 7, 1, 8, "bmi2" }, { 7, 1, 9, "erms" }, { 7, 1, 10, "invpcid" }, { 7, 1, 11, "rtm" },
	{ 7, 1, 16, "avx512f" }, { 7, 1, 17, "avx512dq" }, { 7, 1, 18, "rdseed" }, { 7, 1, 19, "adx" },
	{ 7, 1, 20, "smap" }, { 7, 1, 21, "avx512ifma" }, { 7, 1, 23, "clflushopt" }, { 7, 1, 24, "clwb" },
	{ 7, 1, 28, "avx512cd" }, { 7, 1, 29, "sha_ni" }, { 7, 1, 30, "avx512bw" }, { 7, 1, 31, "avx512vl" },
	{ 7, 2, 1, "avx512vbmi" }, { 7, 2, 4, "pku" }, { 7, 2, 6, "avx512_vbmi2" }, { 7, 2, 8, "gfni" },
	{ 7, 2, 9, "vaes" }, { 7, 2, 10, "vpclmulqdq" }, { 7, 2, 11, "avx512_vnni" }, { 7, 2, 12, "avx512_bitalg" },
	{ 7, 2, 14, "avx512_vpopcntdq" }, { 7, 2, 22, "rdpid" },
	{ 7, 3, 4, "fsrm" }, { 7, 3, 8, "avx512_vp2intersect" }, { 7, 3, 14, "serialize" },
};

/* The vCPUs the VM has: one (docs/design.md; sched_getaffinity answers the same mask). */
static unsigned proc_ncpus(void)
{
	return 1;
}

static void proc_gen_cpuinfo(struct proc_text *t)
{
	uint32_t r0[4], r1[4], r7[4] = { 0 }, rx[4] = { 0 }, rx1[4] = { 0 }, ra[4] = { 0 };
	char vendor[13], model[49];
	proc_cpuid(0, r0);
	memcpy(vendor, &r0[1], 4);
	memcpy(vendor + 4, &r0[3], 4);
	memcpy(vendor + 8, &r0[2], 4);
	vendor[12] = '\0';
	proc_cpuid(1, r1);
	if (r0[0] >= 7)
		proc_cpuid(7, r7);
	proc_cpuid(0x80000000, rx);
	model[0] = '\0';
	if (rx[0] >= 0x80000004) {
		for (uint32_t i = 0; i < 3; i++) {
			uint32_t r[4];
			proc_cpuid(0x80000002 + i, r);
			memcpy(model + 16 * i, r, 16);
		}
		model[48] = '\0';
	}
	if (rx[0] >= 0x80000001)
		proc_cpuid(0x80000001, rx1);
	if (rx[0] >= 0x80000008)
		proc_cpuid(0x80000008, ra);
	const char *name = model;
	while (*name == ' ')
		name++;
	if (!*name)
		name = "unknown"; /* a vCPU without a brand string: Linux's words */
	uint32_t family = (r1[0] >> 8) & 0xf, mod = (r1[0] >> 4) & 0xf;
	if (family == 0xf)
		family += (r1[0] >> 20) & 0xff;
	if (family >= 6)
		mod |= ((r1[0] >> 16) & 0xf) << 4;
	uint32_t khz = k_boot_info.tsc_khz;
	for (unsigned cpu = 0; cpu < proc_ncpus(); cpu++) {
		proc_printf(t, "processor\t: %u\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\nmodel name\t: %s\n"
			    "stepping\t: %u\ncpu MHz\t\t: %u.%03u\nphysical id\t: 0\nsiblings\t: %u\ncore id\t\t: %u\n"
			    "cpu cores\t: %u\napicid\t\t: %u\ninitial apicid\t: %u\nfpu\t\t: yes\nfpu_exception\t: yes\n"
			    "cpuid level\t: %u\nwp\t\t: yes\nflags\t\t:",
			    cpu, vendor, family, mod, name, r1[0] & 0xf, khz / 1000, khz % 1000, proc_ncpus(), cpu,
			    proc_ncpus(), cpu, cpu, r0[0]);
		for (size_t i = 0; i < sizeof(proc_flags) / sizeof(proc_flags[0]); i++) {
			const struct proc_flag *fl = &proc_flags[i];
			const uint32_t *r = fl->leaf == 1 ? r1 : fl->leaf == 7 ? r7 : rx1;
			if (r[fl->reg] & (1u << fl->bit))
				proc_printf(t, " %s", fl->name);
		}
		uint32_t clflush = ((r1[1] >> 8) & 0xff) * 8;
		proc_printf(t, "\nbogomips\t: %u.%02u\nclflush size\t: %u\ncache_alignment\t: %u\n"
			    "address sizes\t: %u bits physical, %u bits virtual\npower management:\n\n",
			    khz * 2 / 1000, (khz * 2 % 1000) / 10, clflush, clflush, ra[0] & 0xff, (ra[0] >> 8) & 0xff);
	}
}

static void proc_kb(struct proc_text *t, const char *name, uint64_t bytes)
{
	proc_printf(t, "%-16s%8lu kB\n", name, (unsigned long)(bytes >> 10));
}

/* Guest RAM is all there is: no swap, no page cache apart from what files hold in the kernel heap. */
static void proc_gen_meminfo(struct proc_text *t)
{
	uint64_t total, free;
	k_pages_stats(&total, &free);
	proc_kb(t, "MemTotal:", total);
	proc_kb(t, "MemFree:", free);
	proc_kb(t, "MemAvailable:", free);
	proc_kb(t, "Buffers:", 0);
	proc_kb(t, "Cached:", 0);
	proc_kb(t, "SwapCached:", 0);
	proc_kb(t, "SwapTotal:", 0);
	proc_kb(t, "SwapFree:", 0);
}

int (*fs_proc_sockstat)(char *buf, size_t size);

static void proc_gen_sockstat(struct proc_text *t)
{
	char buf[512];
	if (fs_proc_sockstat && fs_proc_sockstat(buf, sizeof(buf)) > 0)
		proc_printf(t, "%s", buf);
}

/* Time since boot and time idle (in the WAIT hypercall), in ns. */
static void proc_times(uint64_t *up, uint64_t *idle)
{
	*up = k_clock_monotonic_ns();
	*idle = k_wait_idle_ns();
	if (*idle > *up)
		*idle = *up;
}

static void proc_gen_uptime(struct proc_text *t)
{
	uint64_t up, idle;
	proc_times(&up, &idle);
	proc_printf(t, "%lu.%02lu %lu.%02lu\n", (unsigned long)(up / 1000000000u),
		    (unsigned long)(up % 1000000000u / 10000000u), (unsigned long)(idle / 1000000000u),
		    (unsigned long)(idle % 1000000000u / 10000000u));
}

/* The busy time is the app's and the kernel's together (they share CPL3): all of it is counted as user time. */
static void proc_gen_stat(struct proc_text *t)
{
	uint64_t up, idle;
	proc_times(&up, &idle);
	unsigned long busy = (unsigned long)((up - idle) / (1000000000u / PROC_USER_HZ));
	unsigned long idl = (unsigned long)(idle / (1000000000u / PROC_USER_HZ));
	proc_printf(t, "cpu  %lu 0 0 %lu 0 0 0 0 0 0\n", busy, idl);
	for (unsigned cpu = 0; cpu < proc_ncpus(); cpu++)
		proc_printf(t, "cpu%u %lu 0 0 %lu 0 0 0 0 0 0\n", cpu, busy, idl);
	proc_printf(t, "btime %lu\nprocesses 1\nprocs_running 1\n",
		    (unsigned long)((k_clock_realtime_ns() - up) / 1000000000u));
}

static void proc_gen_cpulist(struct proc_text *t)
{
	unsigned n = proc_ncpus();
	if (n == 1)
		proc_printf(t, "0\n");
	else
		proc_printf(t, "0-%u\n", n - 1);
}

/* The app's own name, as its comm (Linux's is the executable's base name, 15 bytes at most). */
static const char *proc_app_name(void)
{
	const char *n = k_boot_payload.app_name ? k_boot_payload.app_name : k_boot_info.argv0 ? k_boot_info.argv0 : "app";
	const char *slash = strrchr(n, '/');
	return slash && slash[1] ? slash + 1 : n;
}

/* The app's argv, each NUL-terminated, as exec built it (guest/kernel/exec.c): the FDT's list, argv[0] argv0 when set. */
static void proc_gen_cmdline(struct proc_text *t)
{
	const char *l = k_boot_info.argv;
	int len = l ? k_boot_info.argv_len : 0;
	if (len <= 0) {
		proc_printf(t, "%s%c", k_boot_info.argv0 ? k_boot_info.argv0 : "app", 0);
		return;
	}
	for (int i = 0; i < len;) {
		int n = 0;
		while (i + n < len && l[i + n])
			n++;
		if (i == 0 && k_boot_info.argv0)
			proc_printf(t, "%s%c", k_boot_info.argv0, 0);
		else
			proc_printf(t, "%.*s%c", n, l + i, 0);
		i += n + 1;
	}
}

static void proc_gen_comm(struct proc_text *t)
{
	proc_printf(t, "%.15s\n", proc_app_name());
}

/* The file systems of the one tree, as mount points (df and friends read them). */
static void proc_gen_mounts(struct proc_text *t)
{
	proc_printf(t, "tmpfs / tmpfs rw,relatime 0 0\nproc /proc proc rw,relatime 0 0\nsysfs /sys sysfs rw,relatime 0 0\n");
}

/* Bytes of RAM the app holds (its image, stack, heap and mappings). */
static uint64_t proc_app_bytes(void)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < k_pages.n; i++)
		if (k_pages.ext[i].state == PMEM_APP)
			sum += k_pages.ext[i].end - k_pages.ext[i].start;
	return sum;
}

static void proc_gen_status(struct proc_text *t)
{
	int pid = (int)sys_getpid(0, 0, 0, 0, 0, 0);
	uint64_t kb = proc_app_bytes() >> 10;
	proc_printf(t, "Name:\t%.15s\nUmask:\t0%u%u%u\nState:\tR (running)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t0\n"
		    "TracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t%d\nGroups:\t\n"
		    "VmPeak:\t%8lu kB\nVmSize:\t%8lu kB\nVmRSS:\t%8lu kB\nThreads:\t%d\n"
		    "Cpus_allowed:\t%x\nCpus_allowed_list:\t0\n",
		    proc_app_name(), fs_umask >> 6 & 7, fs_umask >> 3 & 7, fs_umask & 7, pid, pid, FS_MAX_FDS, (unsigned long)kb, (unsigned long)kb,
		    (unsigned long)kb, k_thr_count(), (1u << proc_ncpus()) - 1);
}

/* The app's initial environment as exec laid it on its stack, each string NUL-terminated (what Linux shows). */
static void proc_gen_environ(struct proc_text *t)
{
	const char *p = (const char *)(uintptr_t)k_boot_info.env_start, *end = (const char *)(uintptr_t)k_boot_info.env_end;
	while (p && p < end) {
		int n = 0;
		while (p + n < end && p[n])
			n++;
		proc_printf(t, "%.*s%c", n, p, 0);
		p += n + 1;
	}
}

/* size resident shared text lib data dt, in pages: everything the app holds is resident and private. */
static void proc_gen_statm(struct proc_text *t)
{
	uint64_t pages = proc_app_bytes() / 4096, text = (k_boot_payload.app_text_hi - k_boot_payload.app_text_lo) / 4096;
	if (text > pages)
		text = pages;
	proc_printf(t, "%lu %lu 0 %lu 0 %lu 0\n", (unsigned long)pages, (unsigned long)pages, (unsigned long)text,
		    (unsigned long)(pages - text));
}

/*
 * The 52 fields of Linux's /proc/PID/stat: what this kernel knows (pid,
 * comm, state, session and group, threads, start time, virtual size and
 * resident pages, CPU time as in /proc/stat's all-user account), zeros
 * where nothing happens here (faults, children, signals by mask).
 */
static void proc_gen_pidstat(struct proc_text *t)
{
	int pid = (int)sys_getpid(0, 0, 0, 0, 0, 0);
	uint64_t up, idle, bytes = proc_app_bytes();
	proc_times(&up, &idle);
	unsigned long busy = (unsigned long)((up - idle) / (1000000000u / PROC_USER_HZ));
	proc_printf(t, "%d (%.15s) R 0 %d %d 0 -1 4194560 0 0 0 0 %lu 0 0 0 20 0 %d 0 0 %lu %lu 18446744073709551615 ",
		    pid, proc_app_name(), pid, pid, busy, k_thr_count(), (unsigned long)bytes,
		    (unsigned long)(bytes / 4096));
	/* startcode endcode startstack kstkesp kstkeip signal blocked sigignore sigcatch wchan nswap cnswap */
	proc_printf(t, "%lu %lu %lu 0 0 0 0 0 0 0 0 0 ", (unsigned long)k_boot_payload.app_text_lo,
		    (unsigned long)k_boot_payload.app_text_hi, (unsigned long)k_boot_info.env_end);
	/* exit_signal processor rt_priority policy delayacct_blkio_ticks guest_time cguest_time, then the
	   data, brk, arg and env bounds and the exit code */
	proc_printf(t, "17 0 0 0 0 0 0 0 0 0 0 0 %lu %lu 0\n", (unsigned long)k_boot_info.env_start,
		    (unsigned long)k_boot_info.env_end);
}

/*
 * The app's memory, one line per run of pages it holds, in Linux's format.
 * Everything is mapped read-write-execute and private in this address
 * space; the run holding the app's code is named by the app.
 */
static void proc_gen_maps(struct proc_text *t)
{
	uint64_t lo = k_boot_payload.app_text_lo, hi = k_boot_payload.app_text_hi;
	for (unsigned i = 0; i < k_pages.n; i++) {
		const struct pmem_ext *e = &k_pages.ext[i];
		if (e->state != PMEM_APP)
			continue;
		uint64_t end = e->end;
		while (i + 1 < k_pages.n && k_pages.ext[i + 1].state == PMEM_APP && k_pages.ext[i + 1].start == end)
			end = k_pages.ext[++i].end;
		size_t at = t->len;
		proc_printf(t, "%08lx-%08lx rwxp 00000000 00:00 0", (unsigned long)e->start, (unsigned long)end);
		if (lo < hi && e->start < hi && lo < end) {
			size_t col = t->len - at;
			proc_printf(t, "%*s/%s", col < PROC_MAPS_NAME_COL ? (int)(PROC_MAPS_NAME_COL - col) : 1, "",
				    proc_app_name());
		}
		proc_printf(t, "\n");
	}
}

/* ---- the file operations of generated files ---- */

struct proc_entry {
	const char *name;
	void (*gen)(struct proc_text *t);
};

static int proc_open(struct fs_file *f)
{
	const struct proc_entry *e = f->node->priv;
	if ((f->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	struct proc_text *t = k_calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	e->gen(t);
	if (t->oom) {
		k_free(t->s);
		k_free(t);
		return -ENOMEM;
	}
	f->priv = t;
	return 0;
}

static long proc_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	const struct proc_text *t = f->priv;
	uint64_t pos = off ? *off : f->off;
	if (pos >= t->len)
		return 0;
	if (len > t->len - pos)
		len = t->len - pos;
	memcpy(buf, t->s + pos, len);
	if (!off)
		f->off = pos + len;
	return (long)len;
}

static long proc_lseek(struct fs_file *f, int64_t off, int whence)
{
	const struct proc_text *t = f->priv;
	return fs_file_seek_to(f, off, whence, t ? t->len : 0, INT64_MAX);
}

static void proc_release(struct fs_file *f)
{
	struct proc_text *t = f->priv;
	if (t)
		k_free(t->s);
	k_free(t);
}

static const struct fs_file_ops proc_fops = {
	.caps = FS_CAP_PIO,
	.read = proc_read,
	.lseek = proc_lseek,
	.open = proc_open,
	.release = proc_release,
};

/* ---- /proc/<pid>/fd ---- */

/*
 * What readlink shows for an open file: its path, or Linux's names for
 * files no directory holds (pipe:[ino], socket:[ino], anon_inode:[eventfd]).
 */
static void proc_fd_text(const struct fs_node *n, char *buf, size_t size)
{
	switch (n->st_dev) {
	case FS_DEV_PIPE:
		k_snprintf(buf, size, "pipe:[%lu]", (unsigned long)n->ino);
		return;
	case FS_DEV_SOCK:
		k_snprintf(buf, size, "socket:[%lu]", (unsigned long)n->ino);
		return;
	case FS_DEV_ANON:
		k_snprintf(buf, size, "anon_inode:%s", n->fops->anon_name ? n->fops->anon_name : "[anon]");
		return;
	}
	if (fs_node_path(n, buf, size) < 0)
		k_snprintf(buf, size, "/" PROC_DELETED); /* no name left to tell */
}

/* A file whose last name went since its link was made reads as Linux's "<path> (deleted)". */
static void proc_fd_deleted(struct fs_node *l)
{
	size_t len = (size_t)l->size, dl = sizeof(PROC_DELETED) - 1;
	const struct fs_node *n = l->jump;
	if (n->nlink || n->st_dev || fs_is_dir(n) || (len >= dl && strcmp(l->link + len - dl, PROC_DELETED) == 0))
		return;
	if (len + dl >= LINUX_PATH_MAX)
		return;
	char *t = k_malloc(len + dl + 1);
	if (!t)
		return; /* keeps the old text */
	memcpy(t, l->link, len);
	memcpy(t + len, PROC_DELETED, dl + 1);
	k_free(l->link);
	l->link = t;
	l->size = len + dl;
}

/* A link's mode tells how its fd is open (Linux's proc_fd_link modes). */
static uint32_t proc_fd_mode(const struct fs_file *f)
{
	uint32_t acc = f->flags & O_ACCMODE;
	if (f->flags & O_PATH)
		return S_IFLNK;
	return S_IFLNK | (acc != O_WRONLY ? 0500 : 0) | (acc != O_RDONLY ? 0300 : 0);
}

/*
 * Brings the links in line with the fd table: one per open fd. A link that
 * is still right stays (a syscall may hold one found by an earlier lookup
 * of this directory); the others go, the missing ones are made.
 */
static void proc_fd_refresh(struct fs_node *dir)
{
	static uint64_t have[FS_MAX_FDS / 64];
	char name[16];
	memset(have, 0, sizeof(have));
	for (uint32_t i = dir->nents; i-- > 0;) {
		struct fs_node *l = dir->ents[i].node;
		int fd = l->jump_fd - 1;
		const struct fs_file *f = fd >= 0 ? fs_fd_file(fd) : NULL;
		k_snprintf(name, sizeof(name), "%d", fd);
		if (f && f->node == l->jump && l->mode == proc_fd_mode(f) && strcmp(dir->ents[i].name, name) == 0 &&
		    !(have[fd / 64] & 1ull << (fd % 64))) {
			have[fd / 64] |= 1ull << (fd % 64);
			proc_fd_deleted(l);
		} else {
			fs_dir_remove(dir, l);
		}
	}
	char *text = NULL;
	for (int fd = 0; fd < FS_MAX_FDS; fd++) {
		struct fs_file *f = fs_fd_file(fd);
		if (!f || (have[fd / 64] & 1ull << (fd % 64)))
			continue;
		if (!text && !(text = k_malloc(LINUX_PATH_MAX)))
			return; /* out of memory: the fds without a link stay without one */
		int nlen = k_snprintf(name, sizeof(name), "%d", fd);
		proc_fd_text(f->node, text, LINUX_PATH_MAX);
		struct fs_node *l = fs_symlink_new(text, strlen(text));
		if (!l)
			break;
		l->mode = proc_fd_mode(f);
		l->st_dev = dir->st_dev;
		l->jump = f->node;
		l->jump_fd = fd + 1;
		fs_node_get(f->node);
		if (fs_dir_add(dir, name, (size_t)nlen, l)) {
			fs_node_destroy(l);
			break;
		}
	}
	k_free(text);
}

/* ---- building the tree ---- */

static const struct proc_entry proc_top[] = {
	{ "cpuinfo", proc_gen_cpuinfo },
	{ "meminfo", proc_gen_meminfo },
	{ "stat", proc_gen_stat },
	{ "uptime", proc_gen_uptime },
};
static const struct proc_entry proc_pid[] = {
	{ "cmdline", proc_gen_cmdline },
	{ "comm", proc_gen_comm },
	{ "environ", proc_gen_environ },
	{ "maps", proc_gen_maps },
	{ "mounts", proc_gen_mounts },
	{ "stat", proc_gen_pidstat },
	{ "statm", proc_gen_statm },
	{ "status", proc_gen_status },
};
static const struct proc_entry proc_net[] = {
	{ "sockstat", proc_gen_sockstat },
};
static const struct proc_entry proc_cpu[] = {
	{ "online", proc_gen_cpulist },
	{ "possible", proc_gen_cpulist },
	{ "present", proc_gen_cpulist },
};

/* The app's ELF as a file no directory names (what /proc/self/exe opens); it lives as long as the VM. */
static struct fs_node *proc_exe;

/* Names n in dir; n lives in dir's file system (st_dev). */
static int proc_add(struct fs_node *dir, const char *name, struct fs_node *n)
{
	if (!n)
		return -ENOMEM;
	n->st_dev = dir->st_dev;
	int rc = fs_dir_add(dir, name, strlen(name), n);
	if (rc)
		fs_node_destroy(n);
	return rc;
}

static int proc_dir(struct fs_node *parent, const char *name, struct fs_node **out)
{
	struct fs_node *d = fs_dir_new(S_IFDIR | 0555);
	if (d)
		d->fixed = true;
	int rc = proc_add(parent, name, d);
	if (!rc)
		*out = d;
	return rc;
}

static int proc_files(struct fs_node *dir, const struct proc_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fs_node *f = fs_node_new(S_IFREG | 0444, &proc_fops);
		if (f)
			f->priv = (void *)(uintptr_t)&e[i];
		int rc = proc_add(dir, e[i].name, f);
		if (rc)
			return rc;
	}
	return 0;
}

static int proc_link(struct fs_node *dir, const char *name, const char *target, struct fs_node *jump)
{
	struct fs_node *l = fs_symlink_new(target, strlen(target));
	if (l && jump) {
		l->jump = jump;
		fs_node_get(jump);
	}
	return proc_add(dir, name, l);
}

static int proc_build_proc(void)
{
	struct fs_node *proc, *pid, *fd, *net;
	char name[16], target[LINUX_NAME_MAX + 2];
	int rc = proc_dir(fs_root, "proc", &proc);
	if (rc)
		return rc;
	proc->st_dev = FS_DEV_PROC;
	k_snprintf(name, sizeof(name), "%ld", sys_getpid(0, 0, 0, 0, 0, 0));
	rc = proc_files(proc, proc_top, sizeof(proc_top) / sizeof(proc_top[0]));
	if (!rc)
		rc = proc_dir(proc, "net", &net);
	if (!rc)
		rc = proc_files(net, proc_net, sizeof(proc_net) / sizeof(proc_net[0]));
	if (!rc)
		rc = proc_dir(proc, name, &pid);
	if (!rc)
		rc = proc_link(proc, "self", name, NULL);
	if (!rc)
		rc = proc_link(proc, "mounts", "self/mounts", NULL);
	if (!rc)
		rc = proc_files(pid, proc_pid, sizeof(proc_pid) / sizeof(proc_pid[0]));
	if (!rc)
		rc = proc_dir(pid, "fd", &fd);
	if (rc)
		return rc;
	fd->mode = S_IFDIR | 0500;
	fd->refresh = proc_fd_refresh;
	if (k_boot_payload.app) {
		proc_exe = fs_reg_new(S_IFREG | 0755);
		if (!proc_exe)
			return -ENOMEM;
		fs_node_get(proc_exe); /* no name: this reference keeps it */
		proc_exe->data = (uint8_t *)(uintptr_t)k_boot_payload.app;
		proc_exe->size = k_boot_payload.app_size;
		proc_exe->borrowed = true;
		k_snprintf(target, sizeof(target), "/%s", proc_app_name());
		rc = proc_link(pid, "exe", target, proc_exe);
	}
	return rc;
}

static int proc_build_sys(void)
{
	struct fs_node *sys, *dev, *system, *cpu;
	int rc = proc_dir(fs_root, "sys", &sys);
	if (!rc) {
		sys->st_dev = FS_DEV_SYS;
		rc = proc_dir(sys, "devices", &dev);
	}
	if (!rc)
		rc = proc_dir(dev, "system", &system);
	if (!rc)
		rc = proc_dir(system, "cpu", &cpu);
	if (!rc)
		rc = proc_files(cpu, proc_cpu, sizeof(proc_cpu) / sizeof(proc_cpu[0]));
	return rc;
}

/* /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr: links into /proc/self/fd, as udev makes them (absent ones only). */
static int proc_build_dev_links(void)
{
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
	};
	struct fs_node *dev = fs_dir_find(fs_root, "dev", 3);
	if (!dev || !fs_is_dir(dev))
		return 0;
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (fs_dir_find(dev, links[i][0], strlen(links[i][0])))
			continue;
		int rc = proc_link(dev, links[i][0], links[i][1], NULL);
		if (rc)
			return rc;
	}
	return 0;
}

int fs_proc_init(void)
{
	int rc = 0;
	proc_exe = NULL; /* a fs_reset dropped the last tree's (unit tests) */
	if (!fs_dir_find(fs_root, "proc", 4))
		rc = proc_build_proc();
	if (!rc && !fs_dir_find(fs_root, "sys", 3))
		rc = proc_build_sys();
	if (!rc)
		rc = proc_build_dev_links();
	return rc;
}
