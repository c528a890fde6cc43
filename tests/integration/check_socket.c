/* check_socket.c: the guest's socket layer under KVM: socktest's transcript in ukvm must equal the same binary's on Linux. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it_util.h"

/*
 * guest/apps/socktest prints one line per call (result or errno name) and
 * nothing that differs between hosts. The same static binary runs natively
 * first, then inside ukvm; any difference is a deviation from Linux. (Named
 * check_socket: the unit suite of guest/net is check_sock.)
 */

/* Runs apps/app natively with one argument: its stdout (malloc'd). */
static char *native_transcript(const char *app, const char *part)
{
	struct it_proc p;
	struct it_result r;
	char bin[256];
	snprintf(bin, sizeof(bin), "apps/%s", app);
	const char *args[] = { part, NULL };
	ck_assert_int_eq(it_start(&p, it_path(bin), args), 0);
	ck_assert_int_eq(it_finish(&p, 0, 60, &r, NULL), 0);
	ck_assert_msg(r.status == 0, "native %s %s failed (%d):\n%s", app, part, r.status, r.out);
	char *out = strdup(r.out);
	it_result_free(&r);
	return out;
}

/* app's transcript with argument part in ukvm must equal Linux's and end with the line ok. */
static void compare_app(const char *app, const char *part, const char *ok)
{
	char *want = native_transcript(app, part);
	struct it_result r;
	char bin[256];
	snprintf(bin, sizeof(bin), "apps/%s.img", app);
	char *img = strdup(it_path(bin)); /* it_path's buffer is reused by it_run */
	const char *args[] = { img, part, NULL };
	ck_assert_int_eq(it_run(&r, 60, args), 0);
	free(img);
	char msg[512];
	it_first_diff(want, r.out, msg, sizeof(msg));
	ck_assert_msg(strcmp(want, r.out) == 0, "%s %s differs from Linux at %s\nstderr: %s", app, part, msg, r.err);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, ok));
	it_result_free(&r);
	free(want);
}

static void compare_part(const char *part)
{
	compare_app("socktest", part, "socktest ok\n");
}

START_TEST(unix_sockets_as_on_linux)
{
	compare_part("unix");
}
END_TEST

/* TCP and UDP over 127.0.0.1 inside the guest (lwIP's loopback), against the host's loopback. */
START_TEST(inet_sockets_as_on_linux)
{
	compare_part("inet");
}
END_TEST

/* Datagram vectors and MSG_TRUNC, readv, SO_PEERCRED, SCM_RIGHTS and SO_LINGER. */
START_TEST(msg_features_as_on_linux)
{
	compare_part("msg");
}
END_TEST

/*
 * FIONBIO on and off; SIGPIPE and EPIPE from a TCP peer that closed (a reset in CLOSE_WAIT is
 * EPIPE); MSG_WAITALL gathering several writes; SO_KEEPALIVE and TCP_KEEPCNT/INTVL/IDLE ranges;
 * SO_REUSEPORT groups for TCP (each connection accepted by exactly one listener) and UDP.
 */
START_TEST(more_as_on_linux)
{
	compare_part("more");
}
END_TEST

/*
 * SO_SNDBUF and SO_RCVBUF bound a TCP connection's buffers (against a peer that does not read,
 * sends take about both, far less than the defaults; POLLOUT comes back as the peer reads);
 * backlogs past lwIP's 8-bit count (listen(1000): 600 handshakes complete unaccepted) and small
 * ones (backlog + 1); a listener stopped by SHUT_RD gives back a port the stack picked.
 */
START_TEST(limits_as_on_linux)
{
	compare_part("limits");
}
END_TEST

/* select and pselect6 over TCP and UDP sockets: accept, data, end of file, connect, a refused connect. */
START_TEST(select_sockets_as_on_linux)
{
	compare_app("polltest", "sock", "polltest sock ok\n");
}
END_TEST

/* Runs `ukvm-run [--net user] img socktest etc NAMES...` and returns its stdout (malloc'd). */
static char *etc_run(const char *img, bool net, const char *name1, const char *name2)
{
	struct it_result r;
	char *i = strdup(img);
	const char *with[] = { "--net", "user", i, "etc", name1, name2, NULL };
	const char *without[] = { i, "etc", name1, name2, NULL };
	ck_assert_int_eq(it_run(&r, 60, net ? with : without), 0);
	ck_assert_msg(r.status == 0, "status %d\n%s%s", r.status, r.out, r.err);
	char *out = strdup(r.out);
	it_result_free(&r);
	free(i);
	return out;
}

/*
 * /etc/hosts and /etc/resolv.conf: generated from the boot info (without a NIC only
 * localhost; with --net user the guest's name and slirp's DNS), and musl's getaddrinfo
 * resolves names from them in the guest as on Linux; an image's own copies win.
 */
START_TEST(etc_files_and_getaddrinfo)
{
	struct it_proc p;
	struct it_result r;
	const char *nargs[] = { "etc", "localhost", NULL };
	ck_assert_int_eq(it_start(&p, it_path("apps/socktest"), nargs), 0);
	ck_assert_int_eq(it_finish(&p, 0, 60, &r, NULL), 0);
	ck_assert_msg(strstr(r.out, "getaddrinfo localhost: 127.0.0.1:80\n"), "Linux: %s", r.out); /* the check can fail */
	it_result_free(&r);

	char *out = etc_run(it_path("apps/socktest.img"), false, "localhost", "localhost");
	ck_assert_msg(strstr(out, "/etc/hosts:\n127.0.0.1\tlocalhost\n::1\tlocalhost\n/etc/resolv.conf: none\n"), "%s", out);
	ck_assert_msg(strstr(out, "getaddrinfo localhost: 127.0.0.1:80\n"), "%s", out);
	free(out);

	out = etc_run(it_path("apps/socktest.img"), true, "ukvm", "localhost");
	ck_assert_msg(strstr(out, "/etc/hosts:\n127.0.0.1\tlocalhost\n::1\tlocalhost\n10.0.2.15\tukvm\n"), "%s", out);
	ck_assert_msg(strstr(out, "/etc/resolv.conf:\nnameserver 10.0.2.3\n"), "%s", out);
	ck_assert_msg(strstr(out, "getaddrinfo ukvm: 10.0.2.15:80\ngetaddrinfo localhost: 127.0.0.1:80\n"), "%s", out);
	free(out);

	/* The image brings both files: they win, and getaddrinfo reads its hosts. */
	char dir[] = "/tmp/ukvm-etcnet-XXXXXX", hosts[512], resolv[512], img[512], spec1[1024], spec2[1024];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(hosts, sizeof(hosts), "%s/hosts", dir);
	snprintf(resolv, sizeof(resolv), "%s/resolv", dir);
	snprintf(img, sizeof(img), "%s/socktest.img", dir);
	snprintf(spec1, sizeof(spec1), "%s:/etc/hosts", hosts);
	snprintf(spec2, sizeof(spec2), "%s:/etc/resolv.conf", resolv);
	FILE *f = fopen(hosts, "w");
	ck_assert_ptr_nonnull(f);
	fputs("10.9.8.7\town-host own-alias\n", f);
	fclose(f);
	f = fopen(resolv, "w");
	ck_assert_ptr_nonnull(f);
	fputs("nameserver 10.9.8.53\n", f);
	fclose(f);
	char *builder = strdup(it_path("ukvm-build"));
	char *app = strdup(it_path("apps/socktest"));
	const char *bargs[] = { "-o", img, "--file", spec1, "--file", spec2, app, NULL };
	ck_assert_int_eq(it_run_prog(&r, 60, builder, bargs), 0);
	ck_assert_msg(r.status == 0, "ukvm-build: %s%s", r.out, r.err);
	it_result_free(&r);
	free(builder);
	free(app);
	out = etc_run(img, true, "own-alias", "own-host");
	ck_assert_msg(strstr(out, "/etc/hosts:\n10.9.8.7\town-host own-alias\n/etc/resolv.conf:\nnameserver 10.9.8.53\n"
				  "getaddrinfo own-alias: 10.9.8.7:80\ngetaddrinfo own-host: 10.9.8.7:80\n"),
		      "%s", out);
	free(out);
	unlink(hosts);
	unlink(resolv);
	unlink(img);
	rmdir(dir);
}
END_TEST

Suite *socket_suite(void)
{
	Suite *s = suite_create("socket");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, unix_sockets_as_on_linux);
	tcase_add_test(tc, inet_sockets_as_on_linux);
	tcase_add_test(tc, msg_features_as_on_linux);
	tcase_add_test(tc, more_as_on_linux);
	tcase_add_test(tc, limits_as_on_linux);
	tcase_add_test(tc, select_sockets_as_on_linux);
	tcase_add_test(tc, etc_files_and_getaddrinfo);
	suite_add_tcase(s, tc);
	return s;
}
