# wakeguest.S: the guest half of wakeprobe.c (flat binary at guest physical
# 0x10000, run at the kernel alias in the host's pvm-pv mode; r13 = alias).
# Each round: notify the host through an ioeventfd (port 0x92, no exit to
# user space), then go idle the way MODE says: 0 = an OUT to port 0x93 that
# the monitor answers when its wake eventfd fires (today's WAIT), 1 = the
# HALT hypercall with the virtual IF set, woken by an irqfd interrupt.
#define HC_WRMSR 0x1003
#define HC_HALT  0x1009
#define VIF      0x7000     /* u8 if_, u8 pending, ..., u64 cr2 */
#define MODE     0x7100     /* host writes: 0 WAIT exit, 1 HALT, 3 WAIT exit + poll, 2 done */
#define IDLEMODE 0x7108     /* guest writes: the mode of the idle it enters */
#define WOKE     0x7110     /* set by the interrupt handler */
#define NIRQ     0x7118     /* interrupts taken */
#define NHALT    0x7120     /* HALT hypercalls issued */
#define WAKETSC  0x7128     /* guest TSC when it runs again after an idle */

.macro WRMSR_HC msr, valreg
    mov     \valreg, %rcx
    mov     $\msr, %ebx
    mov     $HC_WRMSR, %eax
    int     $0x1b
.endm

.code64
.text
.globl _start
_start:
    mov     $0xfee00d00, %edx            # APIC base | EN | EXTD | BSP
    WRMSR_HC 0x1b, %rdx
    mov     $0x1ff, %edx                 # SVR: enable, spurious 0xff
    WRMSR_HC 0x80f, %rdx
    mov     $0x91, %eax
    out     %eax, $0x91                  # ready
loop:
    rdtsc
    shl     $32, %rdx
    or      %rdx, %rax
    mov     %rax, WAKETSC(%r13)
    mov     MODE(%r13), %rax
    cmp     $2, %rax
    je      done
    mov     %rax, IDLEMODE(%r13)
    out     %eax, $0x92                  # notify (ioeventfd)
    cmp     $1, %rax
    je      halt_idle
    out     %eax, $0x93                  # WAIT exit to the monitor
    jmp     loop
halt_idle:
    movb    $0, WOKE(%r13)
1:  mov     $HC_HALT, %eax
    xor     %ebx, %ebx
    incq    NHALT(%r13)
    movb    $1, VIF(%r13)                # virtual sti
    cmpb    $0, VIF+1(%r13)
    je      halt_insn
    out     %al, $0x80                   # pending: the doorbell delivers it
    jmp     halt_end
.globl halt_insn
halt_insn:
    int     $0x1b
.globl halt_end
halt_end:
    movb    $0, VIF(%r13)                # virtual cli
    cmpb    $0, WOKE(%r13)
    je      1b                           # spurious wake-up: halt again
    jmp     loop
done:
    mov     $0x90, %eax
    out     %eax, $0x90

.org 0x400
.globl irq_wake
irq_wake:                                # vector 0x41, from kernel mode: frame rip cs rflags rsp ss
    push    %rax
    push    %rbx
    push    %rcx
    push    %rdx
    movb    $1, WOKE(%r13)
    incq    NIRQ(%r13)
    xor     %eax, %eax
    WRMSR_HC 0x80b, %rax                 # EOI
    lea     halt_insn(%rip), %rax        # taken between sti and the HALT: skip it
    cmp     %rax, 32(%rsp)
    jne     1f
    lea     halt_end(%rip), %rax
    mov     %rax, 32(%rsp)
1:  pop     %rdx
    pop     %rcx
    pop     %rbx
    pop     %rax
    movq    $0x33, 8(%rsp)               # same-privilege native iretq (PVM-GUIDE.md 5)
    movq    $0x2b, 32(%rsp)
    testl   $0x200, 16(%rsp)
    jz      2f
    movb    $1, VIF(%r13)
2:  iretq

.org 0x500
.globl exc_any
exc_any:
    mov     (%rsp), %rbx
    mov     $0x5e, %eax
    out     %eax, $0x91
    mov     $0xdead, %eax
    out     %eax, $0x90
