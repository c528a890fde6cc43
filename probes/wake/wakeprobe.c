// wakeprobe: how fast an idle pvm-pv vCPU wakes for device news, and at
// what host CPU cost: (a) today's WAIT, an OUT that exits to user space
// where the monitor blocks in ppoll on an eventfd, against (b) the HALT
// hypercall inside KVM woken by an MSI interrupt through KVM_IRQFD (split
// irqchip, as vmm/vcpu.c sets up). A "device" thread plays the peer: the
// guest notifies it through an ioeventfd right before going idle; the
// thread waits GAP us (the peer's own work), writes the wake fd and times
// until the guest's next notification (wake + one ioeventfd: the same
// extra in both). Modes alternate in rounds within one run.
//
// usage: ./wakeprobe [ITERS_PER_ROUND] [ROUNDS] [GAP_US] [HALT_POLL_NS|-1]
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wakeguest_syms.h"

#define MEM (64UL << 20)
#define KVA 0xffffffff80000000ULL
#define GBASE 0x10000
#define VIF 0x7000
#define MODE 0x7100
#define IDLEMODE 0x7108
#define NIRQ 0x7118
#define NHALT 0x7120
#define WAKETSC 0x7128
#define VEC 0x41
#define GSI 1

static uint8_t *mem;
static int vm, vcpu, wake_fd, irq_fd, notify_fd;
static struct kvm_run *run;
static int64_t tsc_off; /* guest TSC - host TSC */
static double tsc_ghz;
static pid_t vcpu_tid;
static int iters = 2000, rounds = 3, gap_us = 50, upoll_us = 30;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}
static uint64_t cpu_ns(void)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return (uint64_t)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1000ull;
}
/* The vCPU thread's CPU time (ns, /proc schedstat): the cost of the idle path itself. */
static uint64_t vcpu_cpu_ns(void)
{
	char p[64];
	unsigned long long ns = 0;
	snprintf(p, sizeof(p), "/proc/self/task/%d/schedstat", (int)vcpu_tid);
	FILE *f = fopen(p, "r");
	if (f) {
		if (fscanf(f, "%llu", &ns) != 1)
			ns = 0;
		fclose(f);
	}
	return ns;
}
/* KVM's binary statistics of the vCPU (cumulative counters), to see what one wake costs in exits and faults. */
static int stat_fd = -1;
static struct kvm_stats_header stat_h;
static struct kvm_stats_desc *stat_d;
static size_t stat_dsz;
static void stats_init(void)
{
	if ((stat_fd = ioctl(vcpu, KVM_GET_STATS_FD, 0)) < 0)
		return;
	if (pread(stat_fd, &stat_h, sizeof(stat_h), 0) != sizeof(stat_h))
		goto fail;
	stat_dsz = sizeof(struct kvm_stats_desc) + stat_h.name_size;
	stat_d = malloc(stat_dsz * stat_h.num_desc);
	if (pread(stat_fd, stat_d, stat_dsz * stat_h.num_desc, stat_h.desc_offset) != (ssize_t)(stat_dsz * stat_h.num_desc))
		goto fail;
	return;
fail:
	close(stat_fd);
	stat_fd = -1;
}
static struct kvm_stats_desc *stats_desc(unsigned i) { return (void *)((char *)stat_d + i * stat_dsz); }
static void stats_read(uint64_t *v)
{
	for (unsigned i = 0; stat_fd >= 0 && i < stat_h.num_desc && i < 128; i++)
		if (pread(stat_fd, &v[i], 8, stat_h.data_offset + stats_desc(i)->offset) != 8)
			v[i] = 0;
}
static volatile uint64_t *gword(uint64_t off) { return (volatile uint64_t *)(mem + off); }

static void seg(struct kvm_segment *s, int sel, int type, int l)
{
	*s = (struct kvm_segment){ .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
				   .db = !l, .s = 1, .l = l, .g = 1 };
}
static void set_msr(uint32_t idx, uint64_t v)
{
	struct { struct kvm_msrs m; struct kvm_msr_entry e[1]; } m = { .m.nmsrs = 1 };
	m.e[0].index = idx;
	m.e[0].data = v;
	if (ioctl(vcpu, KVM_SET_MSRS, &m) != 1)
		errx(1, "KVM_SET_MSRS %#x refused", idx);
}
static void gate(uint64_t *idt, int v, uint64_t h)
{
	idt[v * 2] = (h & 0xffff) | (0x10ULL << 16) | (0x8eULL << 40) | ((h >> 16 & 0xffff) << 48);
	idt[v * 2 + 1] = h >> 32;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void *device(void *arg)
{
	(void)arg;
	uint64_t *lat[3], *wk[3];
	for (int m = 0; m < 3; m++) {
		lat[m] = calloc(iters * rounds, 8);
		wk[m] = calloc(iters * rounds, 8);
	}
	uint64_t st[3][128] = { { 0 } }, sa[128], sb[128];
	uint64_t vcpu[3] = { 0 }, cpu[3] = { 0 }, wall[3] = { 0 }, n[3] = { 0 }, v, one = 1;
	uint64_t irq0 = 0, halt0 = 0;
	prctl(PR_SET_TIMERSLACK, 1UL);
	if (read(notify_fd, &v, 8) != 8) /* the guest's first idle (mode 0) */
		err(1, "read notify");
	for (int r = 0; r < rounds; r++) {
		for (int m = 0; m < 3; m++) {
			/* The guest idles in the previous mode: the next wake tells it the new one. */
			*gword(MODE) = m == 2 ? 3 : m;
			uint64_t c0 = cpu_ns(), w0 = now_ns(), v0 = vcpu_cpu_ns();
			stats_read(sa);
			for (int i = 0; i < iters; i++) {
				struct timespec g = { 0, gap_us * 1000L };
				if (gap_us)
					nanosleep(&g, NULL);
				int fd = *gword(IDLEMODE) == 1 ? irq_fd : wake_fd;
				uint64_t t0 = now_ns(), h0 = __builtin_ia32_rdtsc();
				if (write(fd, &one, 8) != 8)
					err(1, "write wake");
				if (read(notify_fd, &v, 8) != 8)
					err(1, "read notify");
				if (i > 0) { /* the first wake was of the other mode */
					wk[m][n[m]] = (uint64_t)((int64_t)(*gword(WAKETSC) - tsc_off - h0) / tsc_ghz);
					lat[m][n[m]++] = now_ns() - t0;
				}
			}
			cpu[m] += cpu_ns() - c0;
			vcpu[m] += vcpu_cpu_ns() - v0;
			stats_read(sb);
			for (unsigned k = 0; k < 128; k++)
				st[m][k] += sb[k] - sa[k];
			wall[m] += now_ns() - w0;
		}
	}
	irq0 = *gword(NIRQ);
	halt0 = *gword(NHALT);
	const char *name[3] = { "WAIT exit + ppoll", "HALT + irqfd", "WAIT exit + upoll" };
	for (int m = 0; m < 3; m++) {
		qsort(lat[m], n[m], 8, cmp_u64);
		qsort(wk[m], n[m], 8, cmp_u64);
		printf("%-18s write->guest runs: p10 %5.1f  p50 %5.1f  p90 %5.1f us\n", name[m],
		       wk[m][n[m] / 10] / 1e3, wk[m][n[m] / 2] / 1e3, wk[m][n[m] * 9 / 10] / 1e3);
		uint64_t tot = (uint64_t)iters * rounds;
		printf("%-18s wake->running: p10 %5.1f  p50 %5.1f  p90 %5.1f  p99 %6.1f us;"
		       " CPU us/wake: vCPU thread %5.1f, process %5.1f (wall %5.1f us/iter, gap %d us)\n",
		       name[m], lat[m][n[m] / 10] / 1e3, lat[m][n[m] / 2] / 1e3, lat[m][n[m] * 9 / 10] / 1e3,
		       lat[m][n[m] * 99 / 100] / 1e3, vcpu[m] / 1e3 / tot, cpu[m] / 1e3 / tot, wall[m] / 1e3 / tot, gap_us);
		printf("   KVM per wake:");
		for (unsigned k = 0; stat_fd >= 0 && k < stat_h.num_desc && k < 128; k++) {
			struct kvm_stats_desc *d = stats_desc(k);
			if ((d->flags & KVM_STATS_TYPE_MASK) == KVM_STATS_TYPE_CUMULATIVE && st[m][k] >= tot / 10)
				printf(" %s %.2f", d->name, (double)st[m][k] / tot);
		}
		printf("\n");
	}
	printf("interrupts %llu, HALT hypercalls %llu\n", (unsigned long long)irq0, (unsigned long long)halt0);
	*gword(MODE) = 2;
	int fd = *gword(IDLEMODE) == 1 ? irq_fd : wake_fd;
	if (write(fd, &one, 8) != 8)
		err(1, "write wake");
	return NULL;
}

int main(int argc, char **argv)
{
	if (getenv("UPOLL_US")) upoll_us = atoi(getenv("UPOLL_US"));
	if (argc > 1) iters = atoi(argv[1]);
	if (argc > 2) rounds = atoi(argv[2]);
	if (argc > 3) gap_us = atoi(argv[3]);
	long long poll_ns = argc > 4 ? atoll(argv[4]) : -1;

	int kvm = open("/dev/kvm", O_RDWR);
	if (kvm < 0) err(1, "/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) err(1, "KVM_CREATE_VM");
	if (poll_ns >= 0) {
		struct kvm_enable_cap hp = { .cap = KVM_CAP_HALT_POLL, .args[0] = (uint64_t)poll_ns };
		if (ioctl(vm, KVM_ENABLE_CAP, &hp))
			warn("KVM_CAP_HALT_POLL");
	}
	mem = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct kvm_userspace_memory_region r = { 0, 0, 0, MEM, (uintptr_t)mem };
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r)) err(1, "memregion");
	/* Page tables: PML4 0x2000 (and its user twin 0x3000), PDPT 0x8000/0xa000, PD 0x9000 of 2 MiB pages, U set. */
	uint64_t *pml4k = (void *)(mem + 0x2000), *pml4u = (void *)(mem + 0x3000);
	uint64_t *pdpt = (void *)(mem + 0x8000), *pdptk = (void *)(mem + 0xa000), *pd = (void *)(mem + 0x9000);
	pml4k[0] = pml4u[0] = 0x8000 | 7;
	pml4k[511] = pml4u[511] = 0xa000 | 7;
	pdptk[510] = 0x9000 | 7;
	pdpt[0] = 0x9000 | 7;
	for (int i = 0; i < 32; i++)
		pd[i] = ((uint64_t)i << 21) | 0x87;
	FILE *f = fopen("wakeguest.bin", "rb");
	if (!f) err(1, "wakeguest.bin");
	if (fread(mem + GBASE, 1, 0x10000, f) == 0) err(1, "wakeguest.bin empty");
	fclose(f);
	uint64_t *gdt = (void *)(mem + 0x1000);
	gdt[2] = 0x00af9a000000ffffULL;
	gdt[3] = 0x00cf92000000ffffULL;
	gdt[5] = 0x00cff2000000ffffULL;
	gdt[6] = 0x00affa000000ffffULL;
	uint64_t tss_b = KVA + 0x6000;
	gdt[8] = 0x67 | ((tss_b & 0xffffff) << 16) | (0x89ULL << 40) | (((tss_b >> 24) & 0xff) << 56);
	gdt[9] = tss_b >> 32;
	*(uint64_t *)(mem + 0x6000 + 4) = KVA + 0x300000;
	uint64_t *idt = (void *)(mem + 0x5000);
	for (int v = 0; v < 256; v++)
		gate(idt, v, KVA + GBASE + SYM_exc_any);
	gate(idt, VEC, KVA + GBASE + SYM_irq_wake);

	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = 0 };
	if (ioctl(vm, KVM_ENABLE_CAP, &cap)) err(1, "KVM_CAP_SPLIT_IRQCHIP");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) err(1, "vcpu");
	run = mmap(NULL, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[100]; } cp = { .c.nent = 100 };
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cp)) err(1, "cpuid");
	if (ioctl(vcpu, KVM_SET_CPUID2, &cp)) err(1, "setcpuid");
	struct kvm_sregs s;
	ioctl(vcpu, KVM_GET_SREGS, &s);
	seg(&s.cs, 0x10, 11, 1);
	seg(&s.ss, 0x18, 3, 0);
	s.ds = s.es = s.fs = s.gs = s.ss;
	s.fs.selector = s.gs.selector = 0;
	s.gdt.base = KVA + 0x1000; s.gdt.limit = 10 * 8 - 1;
	s.idt.base = KVA + 0x5000; s.idt.limit = 256 * 16 - 1;
	s.tr = (struct kvm_segment){ .base = tss_b, .limit = 0x67, .selector = 0x40, .type = 11, .present = 1 };
	s.cr3 = 0x2000;
	s.cr4 = (1 << 5) | (1 << 9) | (1 << 10) | (1 << 16);
	s.cr0 = 0x80050033;
	s.efer = 0xd01;
	if (ioctl(vcpu, KVM_SET_SREGS, &s)) err(1, "sregs");
	set_msr(0xC0000081, (0x23ULL << 48) | (0x10ULL << 32));
	set_msr(0x4b564d10, VIF | 0x5f | 0x400);
	struct kvm_regs g = { .rip = KVA + GBASE, .rsp = KVA + 0x300000, .rflags = 0x2, .r13 = KVA };
	ioctl(vcpu, KVM_SET_REGS, &g);

	/* The MSI route (fixed delivery to APIC 0, edge) and the irqfd on it. */
	struct { struct kvm_irq_routing h; struct kvm_irq_routing_entry e[1]; } rt = { .h.nr = 1 };
	rt.e[0] = (struct kvm_irq_routing_entry){ .gsi = GSI, .type = KVM_IRQ_ROUTING_MSI,
						   .u.msi = { .address_lo = 0xfee00000u, .data = VEC } };
	if (ioctl(vm, KVM_SET_GSI_ROUTING, &rt)) err(1, "KVM_SET_GSI_ROUTING");
	wake_fd = eventfd(0, EFD_NONBLOCK);
	irq_fd = eventfd(0, 0);
	notify_fd = eventfd(0, 0);
	struct kvm_irqfd irqfd = { .fd = irq_fd, .gsi = GSI };
	if (ioctl(vm, KVM_IRQFD, &irqfd)) err(1, "KVM_IRQFD");
	struct kvm_ioeventfd io = { .addr = 0x92, .len = 4, .fd = notify_fd, .flags = KVM_IOEVENTFD_FLAG_PIO };
	if (ioctl(vm, KVM_IOEVENTFD, &io)) err(1, "KVM_IOEVENTFD");

	{
		struct { struct kvm_msrs m; struct kvm_msr_entry e[1]; } t = { .m.nmsrs = 1, .e[0].index = 0x10 };
		uint64_t h0 = __builtin_ia32_rdtsc();
		if (ioctl(vcpu, KVM_GET_MSRS, &t) != 1) err(1, "TSC MSR");
		uint64_t h1 = __builtin_ia32_rdtsc();
		tsc_off = (int64_t)(t.e[0].data - (h0 + (h1 - h0) / 2));
		tsc_ghz = ioctl(vcpu, KVM_GET_TSC_KHZ, 0) / 1e6;
	}
	stats_init();
	vcpu_tid = gettid();
	pthread_t th;
	pthread_create(&th, NULL, device, NULL);
	uint64_t exits = 0;
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			err(1, "KVM_RUN");
		}
		exits++;
		if (run->exit_reason != KVM_EXIT_IO) {
			struct kvm_regs rr;
			ioctl(vcpu, KVM_GET_REGS, &rr);
			errx(1, "exit reason %u rip %llx", run->exit_reason, rr.rip);
		}
		uint32_t v = *(uint32_t *)((char *)run + run->io.data_offset);
		if (run->io.port == 0x93) {
			struct pollfd p = { .fd = wake_fd, .events = POLLIN };
			uint64_t c;
			if (*gword(IDLEMODE) == 3) {
				/* User-space polling, yielding each pass (as KVM's halt polling gives way to other tasks). */
				uint64_t until = now_ns() + upoll_us * 1000ull;
				bool got = false;
				while (!(got = read(wake_fd, &c, 8) == 8) && now_ns() < until)
					sched_yield();
				if (got)
					continue;
			}
			if (ppoll(&p, 1, NULL, NULL) == 1 && read(wake_fd, &c, 8) != 8)
				err(1, "read wake");
		} else if (run->io.port == 0x90) {
			break;
		} else if (run->io.port == 0x91 && v != 0x91) {
			struct kvm_regs rr;
			ioctl(vcpu, KVM_GET_REGS, &rr);
			errx(1, "guest exception, vector %llu rip %llx", rr.rbx, rr.rip);
		}
	}
	pthread_join(th, NULL);
	printf("exits to user space: %llu\n", (unsigned long long)exits);
	return 0;
}
