/* threads.c: pthreads on the guest's cooperative threads (checked against Linux first); argv[1] picks deadlock, mainexit or bench. */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "t_check.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- create/join with results, distinct tids and __thread variables --- */
static __thread int t_local = 7;
static pid_t tids[8];

static void *square(void *arg)
{
	long i = (long)arg;
	CHECK(t_local == 7);
	t_local = (int)i * 100;
	sched_yield(); /* others run and set their own copies */
	CHECK(t_local == (int)i * 100);
	tids[i] = (pid_t)syscall(SYS_gettid);
	return (void *)(i * i);
}

static void test_join(void)
{
	pthread_t th[8];
	for (long i = 0; i < 8; i++)
		CHECK(pthread_create(&th[i], NULL, square, (void *)i) == 0);
	for (long i = 0; i < 8; i++) {
		void *r = NULL;
		CHECK(pthread_join(th[i], &r) == 0);
		CHECK((long)r == i * i);
	}
	CHECK(t_local == 7);
	for (int i = 0; i < 8; i++) {
		CHECK(tids[i] != getpid() && tids[i] > 0);
		for (int j = 0; j < i; j++)
			CHECK(tids[i] != tids[j]);
	}
}

/* --- mutex + condvar producer/consumer --- */
#define PC_N 2000
static pthread_mutex_t pc_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pc_nonempty = PTHREAD_COND_INITIALIZER, pc_nonfull = PTHREAD_COND_INITIALIZER;
static int pc_buf[4], pc_count, pc_head;

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= PC_N; i++) {
		pthread_mutex_lock(&pc_mu);
		while (pc_count == 4)
			pthread_cond_wait(&pc_nonfull, &pc_mu);
		pc_buf[(pc_head + pc_count++) % 4] = i;
		pthread_cond_signal(&pc_nonempty);
		pthread_mutex_unlock(&pc_mu);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long sum = 0;
	(void)arg;
	for (int i = 1; i <= PC_N / 2; i++) {
		pthread_mutex_lock(&pc_mu);
		while (pc_count == 0)
			pthread_cond_wait(&pc_nonempty, &pc_mu);
		sum += pc_buf[pc_head];
		pc_head = (pc_head + 1) % 4;
		pc_count--;
		pthread_cond_signal(&pc_nonfull);
		pthread_mutex_unlock(&pc_mu);
	}
	return (void *)sum;
}

static void test_prodcons(void)
{
	pthread_t p, c1, c2;
	void *s1, *s2;
	CHECK(pthread_create(&c1, NULL, consumer, NULL) == 0);
	CHECK(pthread_create(&c2, NULL, consumer, NULL) == 0);
	CHECK(pthread_create(&p, NULL, producer, NULL) == 0);
	pthread_join(p, NULL);
	pthread_join(c1, &s1);
	pthread_join(c2, &s2);
	CHECK((long)s1 + (long)s2 == (long)PC_N * (PC_N + 1) / 2);
}

/* --- barrier --- */
static pthread_barrier_t bar;
static int bar_phase[4];

static void *barrier_worker(void *arg)
{
	long i = (long)arg;
	for (int ph = 1; ph <= 3; ph++) {
		bar_phase[i] = ph;
		pthread_barrier_wait(&bar);
		for (int j = 0; j < 4; j++)
			CHECK(bar_phase[j] >= ph);
		pthread_barrier_wait(&bar);
	}
	return NULL;
}

static void test_barrier(void)
{
	pthread_t th[4];
	CHECK(pthread_barrier_init(&bar, NULL, 4) == 0);
	for (long i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, barrier_worker, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
}

/* --- semaphores --- */
static sem_t sem_items;
static int sem_got;

static void *sem_taker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++) {
		sem_wait(&sem_items);
		sem_got++;
	}
	return NULL;
}

static void test_sem(void)
{
	pthread_t th;
	CHECK(sem_init(&sem_items, 0, 0) == 0);
	pthread_create(&th, NULL, sem_taker, NULL);
	for (int i = 0; i < 5; i++) {
		sched_yield();
		sem_post(&sem_items);
	}
	pthread_join(th, NULL);
	CHECK(sem_got == 5);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	CHECK_ERR(sem_timedwait(&sem_items, &ts), ETIMEDOUT);
}

/* --- a sleeping thread lets another compute --- */
static volatile int computed;

static void *sleeper(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 50000000 };
	CHECK(nanosleep(&ts, NULL) == 0);
	CHECK(computed == 1); /* the main thread finished computing meanwhile */
	return NULL;
}

static void test_sleep(void)
{
	pthread_t th;
	double t0 = now_s();
	pthread_create(&th, NULL, sleeper, NULL);
	sched_yield(); /* the sleeper starts its nanosleep */
	volatile unsigned long x = 0;
	for (unsigned long i = 0; i < 1000000; i++)
		x += i;
	computed = 1;
	pthread_join(th, NULL);
	double dt = now_s() - t0;
	CHECK(dt >= 0.049 && dt < 2.0);
}

/* --- a pipe between two threads: a blocking read woken by the writer --- */
static int pfd[2];

static void *pipe_writer(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 10000000 };
	nanosleep(&ts, NULL);
	CHECK(write(pfd[1], "hello", 5) == 5);
	static char big[200000];
	memset(big, 'x', sizeof(big));
	/* More than the pipe holds in one call: a blocking write returns only when all of it is in (Linux). */
	CHECK(write(pfd[1], big, sizeof(big)) == (ssize_t)sizeof(big));
	close(pfd[1]);
	return NULL;
}

static void test_pipe(void)
{
	pthread_t th;
	char buf[4096];
	CHECK(pipe(pfd) == 0);
	pthread_create(&th, NULL, pipe_writer, NULL);
	CHECK(read(pfd[0], buf, 5) == 5 && memcmp(buf, "hello", 5) == 0);
	size_t total = 0;
	ssize_t n;
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0)
		total += (size_t)n;
	CHECK(n == 0 && total == 200000);
	pthread_join(th, NULL);
	close(pfd[0]);
}

/*
 * --- close(2) of a pipe end another thread is blocked reading: like Linux,
 * the blocked read keeps its open file and completes when data comes ---
 */
static int cfd[2];
static volatile int creader_started;

static void *closed_reader(void *arg)
{
	(void)arg;
	char c = 0;
	creader_started = 1;
	ssize_t n = read(cfd[0], &c, 1); /* blocks: the main thread closes cfd[0] meanwhile */
	return (void *)(long)(n == 1 && c == 'x');
}

static void test_close_while_blocked(void)
{
	pthread_t th;
	void *ok;
	CHECK(pipe(cfd) == 0);
	CHECK(pthread_create(&th, NULL, closed_reader, NULL) == 0);
	while (!creader_started)
		sched_yield();
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL); /* the reader is now blocked in read() */
	CHECK(close(cfd[0]) == 0);
	for (int i = 0; i < 64; i++) /* fresh fds and pipes reuse what a premature free would release */
		{ int t[2]; CHECK(pipe(t) == 0); close(t[0]); close(t[1]); }
	CHECK(write(cfd[1], "x", 1) == 1);
	CHECK(pthread_join(th, &ok) == 0);
	CHECK(ok == (void *)1);
	close(cfd[1]);
}

/* --- a futex ping-pong between two threads (semaphores): switches per second --- */
static sem_t ping, pong;
#define PP_N 20000

static void *ponger(void *arg)
{
	(void)arg;
	for (int i = 0; i < PP_N; i++) {
		sem_wait(&ping);
		sem_post(&pong);
	}
	return NULL;
}

static void bench(void)
{
	pthread_t th;
	sem_init(&ping, 0, 0);
	sem_init(&pong, 0, 0);
	pthread_create(&th, NULL, ponger, NULL);
	double t0 = now_s();
	for (int i = 0; i < PP_N; i++) {
		sem_post(&ping);
		sem_wait(&pong);
	}
	double dt = now_s() - t0;
	pthread_join(th, NULL);
	printf("pingpong: %d round trips in %.3f s: %.0f switches/s\n", PP_N, dt, 2 * PP_N / dt);
}

/* --- deadlock: two threads wait on each other forever --- */
static pthread_mutex_t dl_a = PTHREAD_MUTEX_INITIALIZER, dl_b = PTHREAD_MUTEX_INITIALIZER;

static volatile int dl_has_b;

static void *dl_other(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&dl_b);
	dl_has_b = 1;
	pthread_mutex_lock(&dl_a);
	return NULL;
}

static int deadlock(void)
{
	pthread_t th;
	pthread_mutex_lock(&dl_a);
	pthread_create(&th, NULL, dl_other, NULL);
	while (!dl_has_b)
		sched_yield();
	pthread_mutex_lock(&dl_b);
	printf("not reached\n");
	return 1;
}

/* --- the main thread leaves with pthread_exit; a detached thread finishes the process --- */
static void *detached(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 20000000 };
	nanosleep(&ts, NULL);
	printf("detached thread done\n");
	fflush(stdout);
	return NULL;
}

static int mainexit(void)
{
	pthread_t th;
	pthread_create(&th, NULL, detached, NULL);
	CHECK(pthread_detach(th) == 0);
	printf("main exits\n");
	fflush(stdout);
	pthread_exit(NULL);
}

/* --- tgkill to one thread: its handler runs in it, its nanosleep ends early --- */
static volatile pid_t sig_seen_tid;
static volatile pid_t sleeper_tid;

static void on_usr1(int sig)
{
	(void)sig;
	sig_seen_tid = (pid_t)syscall(SYS_gettid);
}

static void *sig_sleeper(void *arg)
{
	(void)arg;
	sleeper_tid = (pid_t)syscall(SYS_gettid);
	struct timespec ts = { 5, 0 }, rem = { 0, 0 };
	CHECK_ERR(nanosleep(&ts, &rem), EINTR);
	CHECK(rem.tv_sec > 0);
	return NULL;
}

static void test_tgkill(void)
{
	pthread_t th;
	signal(SIGUSR1, on_usr1);
	pthread_create(&th, NULL, sig_sleeper, NULL);
	while (!sleeper_tid)
		sched_yield();
	sched_yield();
	double t0 = now_s();
	CHECK(pthread_kill(th, SIGUSR1) == 0);
	pthread_join(th, NULL);
	CHECK(sig_seen_tid == sleeper_tid);
	CHECK(now_s() - t0 < 2.0);
}

/* --- SA_RESTART: a pipe read interrupted by a handler restarts; without it, EINTR --- */
static int rs_fd[2];
static volatile int rs_ready, rs_handled;
static volatile long rs_ret;
static volatile int rs_errno;

static void on_usr2(int sig)
{
	(void)sig;
	rs_handled++;
}

static void *rs_reader(void *arg)
{
	(void)arg;
	char c = 0;
	rs_ready = 1;
	errno = 0;
	rs_ret = read(rs_fd[0], &c, 1);
	rs_errno = errno;
	return NULL;
}

static void restart_case(int flags, long want_ret, int want_errno)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = flags };
	struct timespec pause_ts = { 0, 50000000 };
	pthread_t th;

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
	CHECK(pipe(rs_fd) == 0);
	rs_ready = rs_handled = 0;
	rs_ret = -2;
	CHECK(pthread_create(&th, NULL, rs_reader, NULL) == 0);
	while (!rs_ready)
		sched_yield();
	nanosleep(&pause_ts, NULL); /* Linux: let the reader block in read() */
	CHECK(pthread_kill(th, SIGUSR2) == 0);
	nanosleep(&pause_ts, NULL);
	CHECK(write(rs_fd[1], "x", 1) == 1);
	pthread_join(th, NULL);
	CHECK(rs_handled == 1);
	CHECK(rs_ret == want_ret);
	if (want_ret < 0)
		CHECK(rs_errno == want_errno);
	close(rs_fd[0]);
	close(rs_fd[1]);
	signal(SIGUSR2, SIG_DFL);
}

static void test_restart(void)
{
	restart_case(SA_RESTART, 1, 0);
	restart_case(0, -1, EINTR);
}

/* --- kill() to the process while the caller blocks the signal: a thread that does not takes it --- */
static volatile pid_t pk_tid, pk_seen;
static volatile int pk_count, pk_eintr;

static void on_usr2_pk(int sig)
{
	(void)sig;
	pk_seen = (pid_t)syscall(SYS_gettid);
	pk_count++;
}

static void *pk_waiter(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	pk_tid = (pid_t)syscall(SYS_gettid);
	struct timespec ts = { 5, 0 };
	pk_eintr = nanosleep(&ts, NULL) == -1 && errno == EINTR;
	return NULL;
}

static void test_process_kill(void)
{
	sigset_t s, old;
	pthread_t th;
	struct timespec pause_ts = { 0, 50000000 };

	signal(SIGUSR2, on_usr2_pk);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, &old);
	CHECK(pthread_create(&th, NULL, pk_waiter, NULL) == 0);
	while (!pk_tid)
		sched_yield();
	nanosleep(&pause_ts, NULL);
	double t0 = now_s();
	CHECK(kill(getpid(), SIGUSR2) == 0);
	pthread_join(th, NULL);
	CHECK(now_s() - t0 < 2.0);
	CHECK(pk_eintr);
	CHECK(pk_count == 1);
	CHECK(pk_seen == pk_tid);
	pthread_sigmask(SIG_SETMASK, &old, NULL); /* nothing left pending for main */
	CHECK(pk_count == 1);
	signal(SIGUSR2, SIG_DFL);
}

/* --- tgkill of a default-fatal signal the target blocks: pending there only, gone when it exits --- */
static volatile int bk_ready, bk_go;

static void *bk_blocker(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGPROF);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	bk_ready = 1;
	while (!bk_go)
		sched_yield();
	return NULL;
}

static void test_kill_blocked_default(void)
{
	pthread_t th;
	CHECK(pthread_create(&th, NULL, bk_blocker, NULL) == 0);
	while (!bk_ready)
		sched_yield();
	CHECK(pthread_kill(th, SIGPROF) == 0);
	bk_go = 1;
	pthread_join(th, NULL);
	CHECK(1); /* still alive */
}

/* --- FUTEX_WAKE with a count of 0 wakes one waiter, as Linux does --- */
static volatile uint32_t fw_word;
static volatile int fw_ready;
static volatile long fw_ret;

static void *fw_waiter(void *arg)
{
	(void)arg;
	struct timespec ts = { 3, 0 };
	fw_ready = 1;
	fw_ret = syscall(SYS_futex, &fw_word, 128 /* FUTEX_WAIT|FUTEX_PRIVATE_FLAG */, 0, &ts, NULL, 0);
	return NULL;
}

static void test_futex_wake0(void)
{
	pthread_t th;
	struct timespec pause_ts = { 0, 50000000 };
	CHECK(pthread_create(&th, NULL, fw_waiter, NULL) == 0);
	while (!fw_ready)
		sched_yield();
	nanosleep(&pause_ts, NULL);
	CHECK(syscall(SYS_futex, &fw_word, 129 /* FUTEX_WAKE|PRIVATE */, 0, NULL, NULL, 0) == 1);
	pthread_join(th, NULL);
	CHECK(fw_ret == 0);
}

/* --- XMM registers survive thread switches: each thread keeps its own values across yields and futex timeouts --- */
static volatile uint32_t xm_word;

static void *xmm_keeper(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg, in[8], out[8];
	struct timespec ts = { 0, 1000000 };
	for (int i = 0; i < 8; i++)
		in[i] = seed * 0x9e3779b97f4a7c15ull + (uint64_t)i;
	for (int round = 0; round < 20; round++) {
		long nr = round & 1 ? SYS_sched_yield : SYS_futex; /* futex: a 1 ms timed wait on a word nobody wakes */
		register long r10 __asm__("r10") = (long)&ts;
		__asm__ volatile(
			"movq 0(%[in]), %%xmm8\n\tmovq 8(%[in]), %%xmm9\n\tmovq 16(%[in]), %%xmm10\n\tmovq 24(%[in]), %%xmm11\n\t"
			"movq 32(%[in]), %%xmm12\n\tmovq 40(%[in]), %%xmm13\n\tmovq 48(%[in]), %%xmm14\n\tmovq 56(%[in]), %%xmm15\n\t"
			"syscall\n\t"
			"movq %%xmm8, 0(%[out])\n\tmovq %%xmm9, 8(%[out])\n\tmovq %%xmm10, 16(%[out])\n\tmovq %%xmm11, 24(%[out])\n\t"
			"movq %%xmm12, 32(%[out])\n\tmovq %%xmm13, 40(%[out])\n\tmovq %%xmm14, 48(%[out])\n\tmovq %%xmm15, 56(%[out])"
			: "+a"(nr)
			: [in] "r"(in), [out] "r"(out), "D"(&xm_word), "S"(128L), "d"(0L), "r"(r10)
			: "rcx", "r11", "memory", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
		for (int i = 0; i < 8; i++)
			if (out[i] != in[i])
				return (void *)1;
	}
	return NULL;
}

static void test_xmm_switch(void)
{
	pthread_t a, b;
	void *ra = (void *)2, *rb = (void *)2;
	CHECK(pthread_create(&a, NULL, xmm_keeper, (void *)1) == 0);
	CHECK(pthread_create(&b, NULL, xmm_keeper, (void *)2) == 0);
	xmm_keeper((void *)3);
	pthread_join(a, &ra);
	pthread_join(b, &rb);
	CHECK(ra == NULL && rb == NULL);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && !strcmp(argv[1], "deadlock"))
		return deadlock();
	if (argc > 1 && !strcmp(argv[1], "mainexit"))
		return mainexit();
	if (argc > 1 && !strcmp(argv[1], "bench")) {
		bench();
		return 0;
	}
	test_join();
	test_prodcons();
	test_barrier();
	test_sem();
	test_sleep();
	test_pipe();
	test_close_while_blocked();
	test_tgkill();
	test_restart();
	test_process_kill();
	test_kill_blocked_default();
	test_futex_wake0();
	test_xmm_switch();
	return t_done("threads");
}
