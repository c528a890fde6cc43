/* check_socket.c: the guest's socket layer under KVM: socktest's transcript in ukvm must equal the same binary's on Linux. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* select and pselect6 over TCP and UDP sockets: accept, data, end of file, connect, a refused connect. */
START_TEST(select_sockets_as_on_linux)
{
	compare_app("polltest", "sock", "polltest sock ok\n");
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
	tcase_add_test(tc, select_sockets_as_on_linux);
	suite_add_tcase(s, tc);
	return s;
}
