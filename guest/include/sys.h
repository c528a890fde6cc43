/* sys.h: the Linux x86-64 syscall handlers; guest/sys/table.c maps syscall numbers to them. */
#ifndef SYS_H
#define SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every handler takes the six raw argument registers as longs (rdi, rsi,
 * rdx, r10, r8, r9 -> a0..a5; unused ones are marked unused by SYS_ARGS)
 * and returns the Linux result: >= 0 or -errno. Pointers from the app are
 * checked with k_user_ok()/k_user_strlen() before use.
 */
#define SYS_U __attribute__((unused))
#define SYS_ARGS long a0 SYS_U, long a1 SYS_U, long a2 SYS_U, long a3 SYS_U, long a4 SYS_U, long a5 SYS_U
typedef long (*sys_fn)(long, long, long, long, long, long);

/* Runs the handler of syscall f->rax with f's argument registers (guest/sys/table.c); its result or -errno. */
struct k_uregs;
long sys_dispatch(struct k_uregs *f);

/* Files: guest/fs and guest/sys/sys_fs.c (file-system engineer). */
long sys_read(SYS_ARGS);
long sys_write(SYS_ARGS);
long sys_readv(SYS_ARGS);
long sys_writev(SYS_ARGS);
long sys_pread64(SYS_ARGS);
long sys_pwrite64(SYS_ARGS);
long sys_open(SYS_ARGS);
long sys_openat(SYS_ARGS);
long sys_close(SYS_ARGS);
long sys_lseek(SYS_ARGS);
long sys_fstat(SYS_ARGS);
long sys_stat(SYS_ARGS);
long sys_lstat(SYS_ARGS);
long sys_newfstatat(SYS_ARGS);
long sys_statx(SYS_ARGS);
long sys_getdents64(SYS_ARGS);
long sys_access(SYS_ARGS);
long sys_faccessat(SYS_ARGS);
long sys_faccessat2(SYS_ARGS);
long sys_readlink(SYS_ARGS);
long sys_readlinkat(SYS_ARGS);
long sys_getcwd(SYS_ARGS);
long sys_chdir(SYS_ARGS);
long sys_fchdir(SYS_ARGS);
long sys_ioctl(SYS_ARGS);
long sys_fcntl(SYS_ARGS);
long sys_dup(SYS_ARGS);
long sys_dup2(SYS_ARGS);
long sys_dup3(SYS_ARGS);
long sys_pipe(SYS_ARGS);
long sys_pipe2(SYS_ARGS);
long sys_umask(SYS_ARGS);
long sys_mkdir(SYS_ARGS);
long sys_mkdirat(SYS_ARGS);
long sys_rmdir(SYS_ARGS);
long sys_unlink(SYS_ARGS);
long sys_unlinkat(SYS_ARGS);
long sys_rename(SYS_ARGS);
long sys_renameat(SYS_ARGS);
long sys_ftruncate(SYS_ARGS);
long sys_truncate(SYS_ARGS);
long sys_fsync(SYS_ARGS);
long sys_fdatasync(SYS_ARGS);
long sys_flock(SYS_ARGS);
long sys_chmod(SYS_ARGS);
long sys_fchmod(SYS_ARGS);
long sys_fchmodat(SYS_ARGS);
long sys_chown(SYS_ARGS);
long sys_lchown(SYS_ARGS);
long sys_fchown(SYS_ARGS);
long sys_fchownat(SYS_ARGS);
long sys_utimensat(SYS_ARGS);
/* Names and whole-file-system answers: guest/sys/sys_fs_link.c. */
long sys_symlink(SYS_ARGS);
long sys_symlinkat(SYS_ARGS);
long sys_link(SYS_ARGS);
long sys_linkat(SYS_ARGS);
long sys_mknod(SYS_ARGS);
long sys_mknodat(SYS_ARGS);
long sys_statfs(SYS_ARGS);
long sys_fstatfs(SYS_ARGS);
long sys_fadvise64(SYS_ARGS);
long sys_poll(SYS_ARGS);
long sys_ppoll(SYS_ARGS);
long sys_select(SYS_ARGS);
long sys_pselect6(SYS_ARGS);
/* Readiness files: guest/fs/epoll.c, eventfd.c, timerfd.c. */
long sys_epoll_create(SYS_ARGS);
long sys_epoll_create1(SYS_ARGS);
long sys_epoll_ctl(SYS_ARGS);
long sys_epoll_wait(SYS_ARGS);
long sys_epoll_pwait(SYS_ARGS);
long sys_epoll_pwait2(SYS_ARGS);
long sys_eventfd(SYS_ARGS);
long sys_eventfd2(SYS_ARGS);
long sys_timerfd_create(SYS_ARGS);
long sys_timerfd_settime(SYS_ARGS);
long sys_timerfd_gettime(SYS_ARGS);

/*
 * The waiting rules of poll/ppoll (guest/sys/sys_fs_poll.c), shared with
 * epoll_wait/epoll_pwait/epoll_pwait2 so every readiness call waits alike
 * (their timeouts: deadline.h).
 */
struct lx_timespec;
/* Installs a call's sigmask argument (NULL: none) for the wait, *old the mask to restore: 0, -EINVAL, -EFAULT. */
long poll_mask_set(const uint64_t *mask, size_t size, uint64_t *old);
/* Restores the mask after the wait as Linux does (kept for the handler when rc is -EINTR with a signal let through). */
void poll_mask_restore(const uint64_t *mask, uint64_t old, long rc);

/* Sockets: guest/net and guest/sys/sys_socket.c. */
long sys_socket(SYS_ARGS);
long sys_socketpair(SYS_ARGS);
long sys_bind(SYS_ARGS);
long sys_listen(SYS_ARGS);
long sys_accept(SYS_ARGS);
long sys_accept4(SYS_ARGS);
long sys_connect(SYS_ARGS);
long sys_send(SYS_ARGS);
long sys_recv(SYS_ARGS);
long sys_sendto(SYS_ARGS);
long sys_recvfrom(SYS_ARGS);
long sys_sendmsg(SYS_ARGS);
long sys_recvmsg(SYS_ARGS);
long sys_shutdown(SYS_ARGS);
long sys_getsockname(SYS_ARGS);
long sys_getpeername(SYS_ARGS);
long sys_setsockopt(SYS_ARGS);
long sys_getsockopt(SYS_ARGS);
long sys_sendfile(SYS_ARGS);

/* Memory: guest/kernel (core engineer). */
long sys_brk(SYS_ARGS);
long sys_mmap(SYS_ARGS);
long sys_munmap(SYS_ARGS);
long sys_mprotect(SYS_ARGS);
long sys_mremap(SYS_ARGS);
long sys_madvise(SYS_ARGS);
long sys_msync(SYS_ARGS);
long sys_shmget(SYS_ARGS);
long sys_shmat(SYS_ARGS);
long sys_shmdt(SYS_ARGS);
long sys_shmctl(SYS_ARGS);

/*
 * Shared mappings of a memory file's pages (sys_mm.c), for SysV shm (sys_shm.c): the whole of n's
 * first np pages at addr (fixed: exactly there, replacing what is mapped when replace, else -EEXIST
 * if anything is) or anywhere. The address or -errno.
 */
struct fs_node;
long sys_mm_share(struct fs_node *n, uint64_t addr, uint64_t np, bool fixed, bool replace);
/* The node whose pages from 0 on a share at addr starts with (a SysV attach), or NULL. */
struct fs_node *sys_mm_share_node(uint64_t addr);
/* Takes one mapping of n off [addr, addr + np pages): 0 or -ENOMEM. */
int sys_mm_unshare(const struct fs_node *n, uint64_t addr, uint64_t np);
/* True when the app has the page holding addr mapped (its own page or a share): a fault there is SEGV_ACCERR. */
bool sys_mm_mapped_at(uint64_t addr);
/* How many mappings of n there are (the most layers over any of its pages). */
unsigned sys_mm_share_count(const struct fs_node *n);
long sys_arch_prctl(SYS_ARGS);

/* Process, time, signals, identity, randomness: guest/sys (misc engineer). */
long sys_exit(SYS_ARGS);
long sys_exit_group(SYS_ARGS);
long sys_set_tid_address(SYS_ARGS);
long sys_set_robust_list(SYS_ARGS);
long sys_rt_sigaction(SYS_ARGS);
long sys_rt_sigprocmask(SYS_ARGS);
long sys_sigaltstack(SYS_ARGS);
long sys_kill(SYS_ARGS);
long sys_tkill(SYS_ARGS);
long sys_tgkill(SYS_ARGS);
long sys_uname(SYS_ARGS);
long sys_getpid(SYS_ARGS);
long sys_getppid(SYS_ARGS);
long sys_gettid(SYS_ARGS);
long sys_getuid(SYS_ARGS);
long sys_geteuid(SYS_ARGS);
long sys_getgid(SYS_ARGS);
long sys_getegid(SYS_ARGS);
long sys_clock_gettime(SYS_ARGS);
long sys_clock_getres(SYS_ARGS);
long sys_gettimeofday(SYS_ARGS);
long sys_time(SYS_ARGS);
long sys_nanosleep(SYS_ARGS);
long sys_clock_nanosleep(SYS_ARGS);
long sys_getrandom(SYS_ARGS);
long sys_sched_yield(SYS_ARGS);
long sys_sched_getaffinity(SYS_ARGS);
long sys_prlimit64(SYS_ARGS);
long sys_getrlimit(SYS_ARGS);
long sys_sysinfo(SYS_ARGS);
long sys_setrlimit(SYS_ARGS);
long sys_get_robust_list(SYS_ARGS);
/* rseq(2): -ENOSYS without the unimplemented-syscall notice (glibc registers one at every start). */
long sys_rseq(SYS_ARGS);
/* The process among processes: guest/sys/sys_proc.c. */
long sys_getgroups(SYS_ARGS);
long sys_setgroups(SYS_ARGS);
long sys_setuid(SYS_ARGS);
long sys_setgid(SYS_ARGS);
long sys_getpgrp(SYS_ARGS);
long sys_getpgid(SYS_ARGS);
long sys_setpgid(SYS_ARGS);
long sys_getsid(SYS_ARGS);
long sys_setsid(SYS_ARGS);
long sys_prctl(SYS_ARGS);
long sys_wait4(SYS_ARGS);
long sys_waitid(SYS_ARGS);
/* Timers that send signals: guest/sys/sys_timer.c. */
long sys_getitimer(SYS_ARGS);
long sys_setitimer(SYS_ARGS);
long sys_alarm(SYS_ARGS);
long sys_timer_create(SYS_ARGS);
long sys_timer_settime(SYS_ARGS);
long sys_timer_gettime(SYS_ARGS);
long sys_timer_getoverrun(SYS_ARGS);
long sys_timer_delete(SYS_ARGS);
/* Waiting for signals: guest/sys/sys_sigwait.c. */
long sys_pause(SYS_ARGS);
long sys_rt_sigsuspend(SYS_ARGS);
long sys_rt_sigtimedwait(SYS_ARGS);
long sys_rt_sigpending(SYS_ARGS);
/* SysV IPC: guest/sys/sys_ipc.c (message queues), sys_sem.c (semaphores). */
long sys_msgget(SYS_ARGS);
long sys_msgsnd(SYS_ARGS);
long sys_msgrcv(SYS_ARGS);
long sys_msgctl(SYS_ARGS);
long sys_semget(SYS_ARGS);
long sys_semop(SYS_ARGS);
long sys_semtimedop(SYS_ARGS);
long sys_semctl(SYS_ARGS);
long sys_getrusage(SYS_ARGS);
long sys_futex(SYS_ARGS);

/* The app's program break (guest/sys/sys_mm.c): brk starts at start (page-aligned); the app loader calls it once. */
void sys_mm_brk_init(uint64_t start);

/* File-system hooks the core calls at boot (guest/fs). */

/*
 * Builds the root file system from the payload's file records
 * (struct ukvm_file_rec, see proto/ukvm_abi.h) and opens fds 0, 1, 2 on
 * /dev/console. File data may stay in place in the payload until written.
 * Returns 0 or -errno; a malformed archive is -EINVAL.
 */
int fs_init(const void *files, size_t size);

/* Reads up to len bytes at off from open fd (for private file mmap by copy). Returns bytes or -errno. */
long fs_fd_pread(int fd, void *buf, size_t len, uint64_t off);

#endif
