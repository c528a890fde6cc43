/* floor.c: the bare KVM floor for make bench-boot: open /dev/kvm, one VM with 64 MiB, one vCPU, run one HLT, exit. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define FLOOR_MEM (64ull << 20)

/*
 * The least a monitor must do to run guest code, so ukvm's boot time can be
 * compared against it. Real mode at address 0: no page tables, no GDT.
 * Returns 0 when the vCPU exited on the HLT.
 */
int main(void)
{
	struct kvm_userspace_memory_region region = {0};
	struct kvm_sregs sregs;
	struct kvm_regs regs = {0};
	struct kvm_run *run;
	uint8_t *mem;
	int kvm, vm, vcpu, mmap_size;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("kvm-floor: /dev/kvm");
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		perror("kvm-floor: KVM_CREATE_VM");
		return 1;
	}
	mem = mmap(NULL, FLOOR_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		perror("kvm-floor: mmap");
		return 1;
	}
	mem[0] = 0xf4; /* hlt */
	region.memory_size = FLOOR_MEM;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		perror("kvm-floor: KVM_SET_USER_MEMORY_REGION");
		return 1;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || mmap_size <= 0) {
		perror("kvm-floor: KVM_CREATE_VCPU");
		return 1;
	}
	run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		perror("kvm-floor: vcpu setup");
		return 1;
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	regs.rip = 0;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		perror("kvm-floor: set registers");
		return 1;
	}
	if (ioctl(vcpu, KVM_RUN, 0) < 0) {
		perror("kvm-floor: KVM_RUN");
		return 1;
	}
	if (run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "kvm-floor: unexpected exit reason %u\n", run->exit_reason);
		return 1;
	}
	return 0;
}
