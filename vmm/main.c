/* main.c: ukvm-run, a thin CLI over libukvm: parse, create, run, report, exit with the guest's status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ukvm.h"

/* The one VM of this process, for the SIGINT/SIGTERM handler. */
static struct ukvm_vm *main_vm;
static volatile sig_atomic_t main_signal;

static void main_on_signal(int sig)
{
	main_signal = sig;
	if (main_vm)
		ukvm_stop(main_vm);
}

/* --signals forward: what a user sends the app goes to it (the kick's SIGUSR2 excepted). */
static const int main_forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 };
static volatile sig_atomic_t main_early; /* forwarded ones that came before main_vm was set */

static void main_on_forward(int sig)
{
	if (main_vm)
		ukvm_signal(main_vm, sig);
	else
		main_early |= 1u << sig; /* forwarded ones are all below 31 */
}

static uint64_t main_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void main_trace(const struct ukvm_result *res, uint64_t start)
{
	fprintf(stderr, "ukvm-run: boot trace (ms since process start):\n");
	fprintf(stderr, "  %8.3f  process start\n", 0.0);
	for (int p = UKVM_PHASE_KVM_READY; p < UKVM_PHASE_COUNT; p++) {
		if (!res->phase_ns[p])
			fprintf(stderr, "  %8s  %s\n", "-", ukvm_phase_name(p));
		else
			fprintf(stderr, "  %8.3f  %s\n", (double)(res->phase_ns[p] - start) / 1e6,
				ukvm_phase_name(p));
	}
}

static void main_stats(const struct ukvm_result *res)
{
	fprintf(stderr, "ukvm-run: %s mode (pvm-pv %s)\n", res->pv ? "pv" : "base", res->pv ? "on" : "off");
	fprintf(stderr, "ukvm-run: %llu exits:", (unsigned long long)res->exits_total);
	for (int s = 0; s < UKVM_STAT_COUNT; s++)
		if (res->exits[s])
			fprintf(stderr, " %s %llu", ukvm_stat_name(s), (unsigned long long)res->exits[s]);
	fputc('\n', stderr);
	if (res->kvm_stats)
		fprintf(stderr, "ukvm-run: KVM: %llu page faults (%llu fixed), %llu exits with those inside the kernel, "
			"%llu interrupts\n",
			(unsigned long long)res->kvm_pf_taken, (unsigned long long)res->kvm_pf_fixed,
			(unsigned long long)res->kvm_exits, (unsigned long long)res->kvm_irqs);
	if (res->stdin_reads)
		fprintf(stderr, "ukvm-run: stdin: %llu reads, %llu bytes\n", (unsigned long long)res->stdin_reads,
			(unsigned long long)res->stdin_bytes);
	uint64_t reqs = 0;
	for (unsigned i = 0; i < res->ndevs; i++) {
		const struct ukvm_dev_stats *d = &res->devs[i];
		fprintf(stderr, "ukvm-run: %s: %llu requests, %llu notifies, %llu wake-ups\n", d->name,
			(unsigned long long)d->requests, (unsigned long long)d->notifies,
			(unsigned long long)d->news);
		reqs += d->requests;
	}
	if (reqs)
		fprintf(stderr, "ukvm-run: %.3f exits per request\n", (double)res->exits_total / (double)reqs);
	uint64_t pkts = 0;
	for (unsigned i = 0; i < res->nnets; i++) {
		const struct ukvm_net_stats *n = &res->nets[i];
		uint64_t np = n->rx_packets + n->tx_packets;
		fprintf(stderr,
			"ukvm-run: %s: rx %llu packets %llu bytes (%llu dropped), tx %llu packets %llu bytes "
			"(%llu dropped), %llu notifies, %llu wake-ups, %llu mmio exits",
			n->name, (unsigned long long)n->rx_packets, (unsigned long long)n->rx_bytes,
			(unsigned long long)n->rx_dropped, (unsigned long long)n->tx_packets,
			(unsigned long long)n->tx_bytes, (unsigned long long)n->tx_dropped,
			(unsigned long long)n->notifies, (unsigned long long)n->news, (unsigned long long)n->exits);
		/*
		 * What this NIC's own traffic cost in exits: each queue notify is
		 * one (an MMIO write, caught in the kernel by the ioeventfd), each
		 * access to its registers another (to the monitor).
		 */
		if (np)
			fprintf(stderr, ", %.3f exits per packet (notifies and mmio exits)",
				(double)(n->notifies + n->exits) / (double)np);
		fputc('\n', stderr);
		pkts += np;
	}
	/* Every exit of the VM over every frame: what a packet costs while networking dominates the run. */
	if (pkts)
		fprintf(stderr, "ukvm-run: %.3f exits per packet, all exits of the VM\n", (double)res->exits_total / (double)pkts);
}

int main(int argc, char **argv)
{
	uint64_t start = main_now_ns();
	struct cli_opts o;
	char err[512];
	int stats, code;

	if (cli_parse(argc, argv, &o, &stats, err, sizeof(err))) {
		fprintf(stderr, "ukvm-run: %s\n", err);
		cli_free(&o);
		return UKVM_EXIT_USAGE;
	}
	if (o.help || o.version) {
		fputs(o.help ? cli_usage() : "ukvm-run " UKVM_VERSION "\n", stdout);
		cli_free(&o);
		return 0;
	}

	/* What messages name: the user's paths, not the jail's. */
	const char *what = o.cfg.restore ? o.cfg.restore : o.cfg.image, *snap_file = o.cfg.snapshot_when_idle;
	struct ukvm_jailed *jailed = NULL;
	/*
	 * With --jail, what ukvm_jail_wait passes on is blocked until there is a handler for it: in
	 * this process (ukvm_jail_wait unblocks), and in the jailed monitor (unblocked below).
	 */
	sigset_t jail_old;
	sigemptyset(&jail_old);
	if (o.jail) {
		sigset_t fwd;
		sigemptyset(&fwd);
		for (size_t i = 0; i < sizeof(main_forwarded) / sizeof(main_forwarded[0]); i++)
			sigaddset(&fwd, main_forwarded[i]);
		sigprocmask(SIG_BLOCK, &fwd, &jail_old);
		struct ukvm_jail jo = { .size = sizeof(jo), .uid = o.jail_uid, .gid = o.jail_gid, .cgroup = o.jail_cgroup };
		int pid = ukvm_jail_enter(&jo, &o.cfg, &jailed, err, sizeof(err));
		if (pid) {
			if (pid < 0)
				fprintf(stderr, "ukvm-run: --%s\n", err);
			cli_free(&o);
			return pid < 0 ? ukvm_error_exit_code(pid) : ukvm_jail_wait(pid);
		}
	}

	struct sigaction sa = { .sa_handler = main_on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (o.cfg.forward_signals) {
		sa.sa_handler = main_on_forward;
		for (size_t i = 0; i < sizeof(main_forwarded) / sizeof(main_forwarded[0]); i++)
			sigaction(main_forwarded[i], &sa, NULL);
	}
	if (o.jail)
		sigprocmask(SIG_SETMASK, &jail_old, NULL); /* the jailed monitor: its handlers are in place */
	/*
	 * A closed stdout or stderr (the guest's fd 1 and 2) ends the run with
	 * "console closed" (UKVM_EXIT_CONSOLE); our own messages to a closed stderr must not kill us.
	 */
	signal(SIGPIPE, SIG_IGN);

	/* The guest's fd 0 reads ours; console_in_fd 0 would mean "none", so a dup (none when fd 0 is closed). */
	o.cfg.console_in_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	o.cfg.kvm_stats = stats;
	struct ukvm_vm *vm;
	int r = ukvm_create(&o.cfg, &vm, err, sizeof(err));
	if (r) {
		fprintf(stderr, "ukvm-run: %s\n", err);
		cli_free(&o);
		return ukvm_error_exit_code(r);
	}
	main_vm = vm;
	if (main_signal) /* arrived during setup, before main_vm was set */
		ukvm_stop(vm);
	for (size_t i = 0; i < sizeof(main_forwarded) / sizeof(main_forwarded[0]); i++)
		if (main_early & (1u << main_forwarded[i]))
			ukvm_signal(vm, main_forwarded[i]);

	struct ukvm_result res = { .size = sizeof(res) };
	ukvm_run(vm, &res);
	main_vm = NULL;
	code = ukvm_exit_code(&res);
	if (res.kind == UKVM_STOPPED && main_signal)
		code = 128 + main_signal; /* as a shell reports it: 130 SIGINT, 143 SIGTERM */
	if (res.kind == UKVM_STOPPED && main_signal)
		fprintf(stderr, "ukvm-run: %s: stopped by %s\n", what, main_signal == SIGINT ? "SIGINT" : "SIGTERM");
	else if (res.kind == UKVM_SNAPSHOTTED && jailed && !o.cfg.quiet) /* res.msg names the jail's /snapshot */
		fprintf(stderr, "ukvm-run: %s: snapshot written to %s\n", what, snap_file);
	else if (res.kind != UKVM_EXITED && !(res.kind == UKVM_SNAPSHOTTED && o.cfg.quiet))
		fprintf(stderr, "ukvm-run: %s: %s\n", what, res.msg);
	if (o.cfg.trace_boot)
		main_trace(&res, start);
	if (stats)
		main_stats(&res);
	ukvm_destroy(vm);
	ukvm_jail_free(jailed);
	cli_free(&o);
	return code;
}
