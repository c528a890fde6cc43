/* check_cli.c: ukvm-run argument parsing: sizes, seconds, options, image and guest arguments. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ukvm_abi.h"

static struct cli_opts o;
static int stats;
static char err[256];

static int parse(char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	cli_free(&o);
	err[0] = '\0';
	return cli_parse(argc, argv, &o, &stats, err, sizeof(err));
}

static void teardown(void)
{
	cli_free(&o);
}

/* --snapshot-when-idle FILE [--snapshot-then exit|continue] IMAGE, and --restore FILE without an image. */
START_TEST(test_snapshot_flags)
{
	char *a[] = { "ukvm-run", "--snapshot-when-idle", "f.snap", "app.img", NULL };
	ck_assert_int_eq(parse(a), 0);
	ck_assert_str_eq(o.cfg.snapshot_when_idle, "f.snap");
	ck_assert(!o.cfg.snapshot_continue);
	ck_assert_str_eq(o.cfg.image, "app.img");
	char *b[] = { "ukvm-run", "--snapshot-when-idle=f.snap", "--snapshot-then", "continue", "app.img", "x", NULL };
	ck_assert_int_eq(parse(b), 0);
	ck_assert_str_eq(o.cfg.snapshot_when_idle, "f.snap");
	ck_assert(o.cfg.snapshot_continue);
	ck_assert_str_eq(o.cfg.argv[0], "x");
	char *c[] = { "ukvm-run", "--snapshot-then=exit", "--snapshot-when-idle", "f.snap", "app.img", NULL };
	ck_assert_int_eq(parse(c), 0);
	ck_assert(!o.cfg.snapshot_continue);
	char *d[] = { "ukvm-run", "--disk", "d.img", "--mem", "64M", "--pv", "off", "--restore", "f.snap", NULL };
	ck_assert_int_eq(parse(d), 0);
	ck_assert_str_eq(o.cfg.restore, "f.snap");
	ck_assert_ptr_null(o.cfg.image);
	ck_assert_uint_eq(o.cfg.ndisks, 1);
	ck_assert_uint_eq(o.cfg.mem_size, 64ull << 20);
	ck_assert_int_eq(o.cfg.pv, UKVM_PV_OFF);
	char *e[] = { "ukvm-run", "--restore=f.snap", "--timeout", "2", NULL };
	ck_assert_int_eq(parse(e), 0);
	ck_assert_str_eq(o.cfg.restore, "f.snap");
	ck_assert_uint_eq(o.cfg.timeout_ms, 2000);
}
END_TEST

START_TEST(test_snapshot_flags_bad)
{
	char *a[] = { "ukvm-run", "--snapshot-when-idle", NULL };
	ck_assert_int_eq(parse(a), -EINVAL);
	char *b[] = { "ukvm-run", "--snapshot-when-idle=", "app.img", NULL };
	ck_assert_int_eq(parse(b), -EINVAL);
	char *c[] = { "ukvm-run", "--snapshot-then", "later", "--snapshot-when-idle", "f", "app.img", NULL };
	ck_assert_int_eq(parse(c), -EINVAL);
	ck_assert_str_eq(err, "--snapshot-then: later: not exit or continue");
	char *d[] = { "ukvm-run", "--snapshot-then", "continue", "app.img", NULL };
	ck_assert_int_eq(parse(d), -EINVAL);
	ck_assert_str_eq(err, "--snapshot-then: needs --snapshot-when-idle");
	char *e[] = { "ukvm-run", "--restore", "f.snap", "app.img", NULL };
	ck_assert_int_eq(parse(e), -EINVAL);
	ck_assert_str_eq(err, "--restore: app.img: no image or arguments with a snapshot");
	char *f[] = { "ukvm-run", "--restore", "f.snap", "--snapshot-when-idle", "g.snap", NULL };
	ck_assert_int_eq(parse(f), -EINVAL);
	char *g[] = { "ukvm-run", "--env", "A=B", "--restore", "f.snap", NULL };
	ck_assert_int_eq(parse(g), -EINVAL);
	char *h[] = { "ukvm-run", "--restore", NULL };
	ck_assert_int_eq(parse(h), -EINVAL);
	char *i[] = { "ukvm-run", "--restore", "", NULL };
	ck_assert_int_eq(parse(i), -EINVAL);
}
END_TEST

START_TEST(test_sizes)
{
	uint64_t v;
	ck_assert_int_eq(cli_parse_size("64M", &v), 0);
	ck_assert_uint_eq(v, 64ull << 20);
	ck_assert_int_eq(cli_parse_size("1g", &v), 0);
	ck_assert_uint_eq(v, 1ull << 30);
	ck_assert_int_eq(cli_parse_size("8192K", &v), 0);
	ck_assert_uint_eq(v, 8ull << 20);
	ck_assert_int_eq(cli_parse_size("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(cli_parse_size("", &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size("M", &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size("12X", &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size("12MB", &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size("-5M", &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size(" 5M", &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size("99999999999999999999", &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size("17179869184G", &v), -EINVAL); /* 2^34 G overflows */
}
END_TEST

START_TEST(test_seconds)
{
	uint64_t ms;
	ck_assert_int_eq(cli_parse_seconds("1", &ms), 0);
	ck_assert_uint_eq(ms, 1000);
	ck_assert_int_eq(cli_parse_seconds("0.25", &ms), 0);
	ck_assert_uint_eq(ms, 250);
	ck_assert_int_eq(cli_parse_seconds("0", &ms), -EINVAL);
	ck_assert_int_eq(cli_parse_seconds("-1", &ms), -EINVAL);
	ck_assert_int_eq(cli_parse_seconds("abc", &ms), -EINVAL);
	ck_assert_int_eq(cli_parse_seconds("1s", &ms), -EINVAL);
	ck_assert_int_eq(cli_parse_seconds("nan", &ms), -EINVAL);
	ck_assert_int_eq(cli_parse_seconds("1e300", &ms), -EINVAL);
}
END_TEST

START_TEST(test_parse_full)
{
	char *argv[] = { "ukvm-run", "--mem", "128M", "--timeout=2.5", "--env", "A=1", "--env=B=2",
			 "--trace-boot", "--stats", "app.img", "--", "x", "--mem", NULL };
	ck_assert_int_eq(parse(argv), 0);
	ck_assert_str_eq(o.cfg.image, "app.img");
	ck_assert_uint_eq(o.cfg.mem_size, 128ull << 20);
	ck_assert_uint_eq(o.cfg.timeout_ms, 2500);
	ck_assert(o.cfg.trace_boot);
	ck_assert_int_eq(stats, 1);
	ck_assert_str_eq(o.cfg.env[0], "A=1");
	ck_assert_str_eq(o.cfg.env[1], "B=2");
	ck_assert_ptr_null(o.cfg.env[2]);
	ck_assert_str_eq(o.cfg.argv[0], "x");
	ck_assert_str_eq(o.cfg.argv[1], "--mem"); /* after the image, options belong to the guest */
	ck_assert_ptr_null(o.cfg.argv[2]);
}
END_TEST

START_TEST(test_parse_plain)
{
	char *argv[] = { "ukvm-run", "app.img", "a", "b", NULL };
	ck_assert_int_eq(parse(argv), 0);
	ck_assert_str_eq(o.cfg.image, "app.img");
	ck_assert_uint_eq(o.cfg.mem_size, 0); /* library default */
	ck_assert_uint_eq(o.cfg.size, sizeof(o.cfg)); /* this ukvm.h's config */
	ck_assert_int_eq(o.cfg.console_fd, 1);
	ck_assert_int_eq(o.cfg.console_err_fd, 2); /* guest stderr and kernel messages: our stderr */
	ck_assert(o.cfg.stdin_tty);
	ck_assert(!o.cfg.quiet);
	ck_assert_ptr_null(o.cfg.argv0); /* the app's own name, from the image */
	ck_assert_str_eq(o.cfg.argv[0], "a");
	ck_assert_str_eq(o.cfg.argv[1], "b");
	ck_assert_ptr_null(o.cfg.argv[2]);
	ck_assert_ptr_null(o.cfg.env[0]);
	char *argv2[] = { "ukvm-run", "--", "app.img", NULL };
	ck_assert_int_eq(parse(argv2), 0);
	ck_assert_str_eq(o.cfg.image, "app.img");
	ck_assert_ptr_null(o.cfg.argv[0]);
	char *argv3[] = { "ukvm-run", "--help", NULL };
	ck_assert_int_eq(parse(argv3), 0);
	ck_assert_int_eq(o.help, 1);
}
END_TEST

START_TEST(test_parse_pv)
{
	char *a0[] = { "ukvm-run", "app.img", NULL };
	ck_assert_int_eq(parse(a0), 0);
	ck_assert_int_eq(o.cfg.pv, UKVM_PV_AUTO);
	char *a1[] = { "ukvm-run", "--pv", "off", "app.img", NULL };
	ck_assert_int_eq(parse(a1), 0);
	ck_assert_int_eq(o.cfg.pv, UKVM_PV_OFF);
	char *a2[] = { "ukvm-run", "--pv=on", "app.img", NULL };
	ck_assert_int_eq(parse(a2), 0);
	ck_assert_int_eq(o.cfg.pv, UKVM_PV_ON);
	char *a3[] = { "ukvm-run", "--pv", "off", "--pv", "auto", "app.img", NULL };
	ck_assert_int_eq(parse(a3), 0);
	ck_assert_int_eq(o.cfg.pv, UKVM_PV_AUTO);
}
END_TEST

START_TEST(test_parse_console)
{
	char *a1[] = { "ukvm-run", "--quiet", "--argv0", "busybox", "bb.img", "--quiet", NULL };
	ck_assert_int_eq(parse(a1), 0);
	ck_assert(o.cfg.quiet);
	ck_assert_str_eq(o.cfg.argv0, "busybox");
	ck_assert_str_eq(o.cfg.argv[0], "--quiet"); /* after the image it is the guest's */
	ck_assert(!o.cfg.raw_console);
	char *a0[] = { "ukvm-run", "--raw-console", "bb.img", NULL };
	ck_assert_int_eq(parse(a0), 0);
	ck_assert(o.cfg.raw_console);
	ck_assert(!o.jail);
	ck_assert_uint_eq(o.jail_uid, 65534);
	char *aj[] = { "ukvm-run", "--jail", "--jail-uid", "1000", "--jail-gid=2000", "--jail-cgroup", "/sys/fs/cgroup/vm1",
		       "bb.img", NULL };
	ck_assert_int_eq(parse(aj), 0);
	ck_assert(o.jail);
	ck_assert_uint_eq(o.jail_uid, 1000);
	ck_assert_uint_eq(o.jail_gid, 2000);
	ck_assert_str_eq(o.jail_cgroup, "/sys/fs/cgroup/vm1");
	char *ab[] = { "ukvm-run", "--jail-uid", "0", "bb.img", NULL }; /* root is no jail */
	ck_assert_int_eq(parse(ab), -EINVAL);
	char *ac[] = { "ukvm-run", "--jail-cgroup", "rel", "bb.img", NULL };
	ck_assert_int_eq(parse(ac), -EINVAL);
	char *a2[] = { "ukvm-run", "--argv0=", "app.img", NULL };
	ck_assert_int_eq(parse(a2), 0);
	ck_assert_str_eq(o.cfg.argv0, ""); /* execve allows an empty argv[0]: so do we */
	ck_assert_ptr_null(o.cfg.cwd);
	char *a3[] = { "ukvm-run", "--argv0", NULL };
	ck_assert_int_eq(parse(a3), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--argv0"));
	ck_assert_ptr_nonnull(strstr(err, "missing value"));
	char *a4[] = { "ukvm-run", "--quiet=1", "app.img", NULL };
	ck_assert_int_eq(parse(a4), -EINVAL); /* a flag takes no value */
	char *a5[] = { "ukvm-run", "--cwd", "/srv/x", "app.img", NULL };
	ck_assert_int_eq(parse(a5), 0);
	ck_assert_str_eq(o.cfg.cwd, "/srv/x");
	char *a6[] = { "ukvm-run", "--cwd=srv", "app.img", NULL };
	ck_assert_int_eq(parse(a6), -EINVAL); /* the guest has no cwd to be relative to yet */
	ck_assert_ptr_nonnull(strstr(err, "--cwd"));
}
END_TEST

START_TEST(test_parse_bad)
{
	char *a1[] = { "ukvm-run", "--mem", "1M", "app.img", NULL };
	ck_assert_int_eq(parse(a1), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--mem"));
	ck_assert_ptr_nonnull(strstr(err, "minimum"));
	char *a2[] = { "ukvm-run", "--mem", "65M", "app.img", NULL };
	ck_assert_int_eq(parse(a2), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "2M"));
	char *a3[] = { "ukvm-run", "--mem", "lots", "app.img", NULL };
	ck_assert_int_eq(parse(a3), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--mem: lots"));
	char *a4[] = { "ukvm-run", "--mem", "128G", "app.img", NULL };
	ck_assert_int_eq(parse(a4), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "maximum"));
	char *a5[] = { "ukvm-run", "--mem", NULL };
	ck_assert_int_eq(parse(a5), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "missing value"));
	char *a6[] = { "ukvm-run", NULL };
	ck_assert_int_eq(parse(a6), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no image"));
	char *a7[] = { "ukvm-run", "--stats", NULL };
	ck_assert_int_eq(parse(a7), -EINVAL);
	char *a8[] = { "ukvm-run", "--bogus", "app.img", NULL };
	ck_assert_int_eq(parse(a8), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--bogus"));
	char *a9[] = { "ukvm-run", "--env", "NOEQUALS", "app.img", NULL };
	ck_assert_int_eq(parse(a9), -EINVAL);
	char *a10[] = { "ukvm-run", "--env", "=x", "app.img", NULL };
	ck_assert_int_eq(parse(a10), -EINVAL);
	char *a11[] = { "ukvm-run", "--timeout", "0", "app.img", NULL };
	ck_assert_int_eq(parse(a11), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--timeout"));
	char *a12[] = { "ukvm-run", "--", NULL };
	ck_assert_int_eq(parse(a12), -EINVAL);
	char *a13[] = { "ukvm-run", "--pv", "maybe", "app.img", NULL };
	ck_assert_int_eq(parse(a13), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--pv"));
	char *a14[] = { "ukvm-run", "--pv", NULL };
	ck_assert_int_eq(parse(a14), -EINVAL);
}
END_TEST

START_TEST(test_disks)
{
	char *argv[] = { "ukvm-run", "--disk", "a.img", "--disk=b.img,ro", "--disk", "/x/c.img,direct,ro",
			 "app.img", NULL };
	ck_assert_int_eq(parse(argv), 0);
	ck_assert_uint_eq(o.cfg.ndisks, 3);
	ck_assert_str_eq(o.cfg.disks[0].path, "a.img");
	ck_assert(!o.cfg.disks[0].ro && !o.cfg.disks[0].direct);
	ck_assert_str_eq(o.cfg.disks[1].path, "b.img");
	ck_assert(o.cfg.disks[1].ro && !o.cfg.disks[1].direct);
	ck_assert_str_eq(o.cfg.disks[2].path, "/x/c.img");
	ck_assert(o.cfg.disks[2].ro && o.cfg.disks[2].direct);
	char *none[] = { "ukvm-run", "app.img", NULL };
	ck_assert_int_eq(parse(none), 0);
	ck_assert_uint_eq(o.cfg.ndisks, 0);
}
END_TEST

START_TEST(test_disks_bad)
{
	char *a1[] = { "ukvm-run", "--disk", "a.img,rw", "app.img", NULL };
	ck_assert_int_eq(parse(a1), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--disk"));
	ck_assert_ptr_nonnull(strstr(err, "rw"));
	char *a2[] = { "ukvm-run", "--disk", ",ro", "app.img", NULL };
	ck_assert_int_eq(parse(a2), -EINVAL);
	char *a3[] = { "ukvm-run", "--disk", "a.img,ro,ro", "app.img", NULL };
	ck_assert_int_eq(parse(a3), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "repeated"));
	char *a4[] = { "ukvm-run", "--disk", "a.img,", "app.img", NULL };
	ck_assert_int_eq(parse(a4), -EINVAL);
	char *a5[] = { "ukvm-run", "--disk", NULL };
	ck_assert_int_eq(parse(a5), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "missing value"));
	char *a6[] = { "ukvm-run", "--disk", "", "app.img", NULL };
	ck_assert_int_eq(parse(a6), -EINVAL);
	/* 32 disks are fine, 33 are not. */
	char *many[2 * 33 + 3];
	int n = 0;
	many[n++] = "ukvm-run";
	for (int i = 0; i < 33; i++) {
		many[n++] = "--disk";
		many[n++] = "d.img";
	}
	many[n++] = "app.img";
	many[n] = NULL;
	ck_assert_int_eq(parse(many), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "at most 32"));
	many[2 * 32 + 1] = "app.img";
	many[2 * 32 + 2] = NULL;
	ck_assert_int_eq(parse(many), 0);
	ck_assert_uint_eq(o.cfg.ndisks, 32);
}
END_TEST

/* --net: repeatable, tap and user forms with their options, in order. */
START_TEST(test_nets)
{
	char *a[] = { "ukvm-run", "--net", "tap:tap0,mac=52:54:00:AB:cd:ef,ip=10.1.2.3/16,gw=10.1.0.1,dns=1.1.1.1,dns=8.8.8.8,mtu=9000",
		      "--net=user", "--net", "user,mtu=1400,mac=02:00:00:00:00:01,hostfwd=tcp::8080-:80,"
		      "hostfwd=udp:127.0.0.1:5353-10.0.2.15:53,hostfwd=:0.0.0.0:2222-:22", "app.img", NULL };
	ck_assert_msg(parse(a) == 0, "%s", err);
	ck_assert_uint_eq(o.cfg.nnets, 3);
	ck_assert_ptr_eq(o.cfg.nets, o.nets);
	const struct ukvm_net *t = &o.cfg.nets[0];
	ck_assert_int_eq(t->kind, UKVM_NET_TAP);
	ck_assert_str_eq(t->ifname, "tap0");
	ck_assert_mem_eq(t->mac, ((uint8_t[]){ 0x52, 0x54, 0, 0xab, 0xcd, 0xef }), 6);
	ck_assert_uint_eq(t->ipv4, htonl(0x0a010203));
	ck_assert_uint_eq(t->prefix, 16);
	ck_assert_uint_eq(t->gw, htonl(0x0a010001));
	ck_assert_uint_eq(t->dns[0], htonl(0x01010101));
	ck_assert_uint_eq(t->dns[1], htonl(0x08080808));
	ck_assert_uint_eq(t->dns[2], 0);
	ck_assert_uint_eq(t->mtu, 9000);
	ck_assert_uint_eq(t->nfwds, 0);
	const struct ukvm_net *u = &o.cfg.nets[1];
	ck_assert_int_eq(u->kind, UKVM_NET_USER);
	ck_assert_ptr_null(u->ifname);
	ck_assert_uint_eq(u->ipv4 | u->gw | u->mtu | u->nfwds, 0);
	ck_assert_mem_eq(u->mac, ((uint8_t[6]){ 0 }), 6); /* chosen at random by the device */
	u = &o.cfg.nets[2];
	ck_assert_uint_eq(u->mtu, 1400);
	ck_assert_uint_eq(u->mac[0], 2);
	ck_assert_uint_eq(u->nfwds, 3);
	ck_assert(!u->fwds[0].udp);
	ck_assert_uint_eq(u->fwds[0].host_addr, 0); /* every host address */
	ck_assert_uint_eq(u->fwds[0].host_port, 8080);
	ck_assert_uint_eq(u->fwds[0].guest_addr, 0);
	ck_assert_uint_eq(u->fwds[0].guest_port, 80);
	ck_assert(u->fwds[1].udp);
	ck_assert_uint_eq(u->fwds[1].host_addr, htonl(0x7f000001));
	ck_assert_uint_eq(u->fwds[1].host_port, 5353);
	ck_assert_uint_eq(u->fwds[1].guest_addr, htonl(0x0a00020f));
	ck_assert_uint_eq(u->fwds[1].guest_port, 53);
	ck_assert(!u->fwds[2].udp); /* QEMU: an empty protocol is tcp */
	ck_assert_uint_eq(u->fwds[2].host_port, 2222);
	/* An address without a prefix takes /24. */
	char *b[] = { "ukvm-run", "--net", "tap:t,ip=192.168.7.2", "app.img", NULL };
	ck_assert_msg(parse(b) == 0, "%s", err);
	ck_assert_uint_eq(o.cfg.nets[0].prefix, 24);
	ck_assert_int_eq(o.cfg.nets[0].fd, -1);
}
END_TEST

/* Each malformed --net gets its own one-line message. */
START_TEST(test_nets_bad)
{
	static const struct {
		const char *v, *msg;
	} bad[] = {
		{ "tap", "expected tap:IFNAME[,OPTION=VALUE]... or user[,OPTION=VALUE]..." },
		{ "usr", "expected tap:IFNAME[,OPTION=VALUE]... or user[,OPTION=VALUE]..." },
		{ "userx", "expected tap:IFNAME[,OPTION=VALUE]... or user[,OPTION=VALUE]..." },
		{ "tap:", "bad interface name '' (1..15 bytes, no '/', ':' or space)" },
		{ "tap:0123456789abcdef", "bad interface name '0123456789abcdef' (1..15 bytes, no '/', ':' or space)" },
		{ "tap:a/b", "bad interface name 'a/b' (1..15 bytes, no '/', ':' or space)" },
		{ "tap:..", "bad interface name '..' (1..15 bytes, no '/', ':' or space)" },
		{ "tap:t,mac=52:54:00:12:34", "bad MAC '52:54:00:12:34' (want six hex bytes like 52:54:00:12:34:56)" },
		{ "tap:t,mac=52:54:00:12:34:5g", "bad MAC '52:54:00:12:34:5g' (want six hex bytes like 52:54:00:12:34:56)" },
		{ "tap:t,mac=52-54-00-12-34-56", "bad MAC '52-54-00-12-34-56' (want six hex bytes like 52:54:00:12:34:56)" },
		{ "tap:t,mac=01:00:5e:00:00:01", "MAC '01:00:5e:00:00:01' is a multicast address" },
		{ "tap:t,mac=00:00:00:00:00:00", "MAC 00:00:00:00:00:00 is not an address" },
		{ "tap:t,ip=10.0.0.256/24", "bad address '10.0.0.256/24' (want e.g. 10.0.0.2/24)" },
		{ "tap:t,ip=10.0.0/24", "bad address '10.0.0/24' (want e.g. 10.0.0.2/24)" },
		{ "tap:t,ip=0.0.0.0", "bad address '0.0.0.0' (want e.g. 10.0.0.2/24)" },
		{ "tap:t,ip=10.0.0.2/33", "prefix '33' is not 1..32" },
		{ "tap:t,ip=10.0.0.2/", "prefix '' is not 1..32" },
		{ "tap:t,ip=10.0.0.2/x", "prefix 'x' is not 1..32" },
		{ "tap:t,gw=host", "bad gateway address 'host'" },
		{ "tap:t,dns=1.2.3", "bad dns address '1.2.3'" },
		{ "tap:t,dns=1.1.1.1,dns=1.1.1.2,dns=1.1.1.3,dns=1.1.1.4", "more than 3 dns servers" },
		{ "tap:t,mtu=575", "mtu '575' is not 576..9000" },
		{ "tap:t,mtu=9001", "mtu '9001' is not 576..9000" },
		{ "tap:t,mtu=1500x", "mtu '1500x' is not 576..9000" },
		{ "tap:t,mtu=99999999999", "mtu '99999999999' is not 576..9000" },
		{ "tap:t,speed=10", "unknown option 'speed' (tap takes mac, ip, gw, dns, mtu)" },
		{ "tap:t,hostfwd=tcp::1-:1", "unknown option 'hostfwd' (tap takes mac, ip, gw, dns, mtu)" },
		{ "user,ip=10.0.2.16", "unknown option 'ip' (user takes mac, mtu, hostfwd)" },
		{ "tap:t,mac=02:00:00:00:00:01,mac=02:00:00:00:00:02", "option 'mac' given twice" },
		{ "user,mtu=1500,mtu=1500", "option 'mtu' given twice" },
		{ "tap:t,mtu", "option 'mtu' needs a value" },
		{ "tap:t,", "unknown option '' (tap takes mac, ip, gw, dns, mtu)" },
		{ "user,hostfwd=tcp:8080-:80", "hostfwd=tcp:8080-:80: expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" },
		{ "user,hostfwd=tcp::8080:80", "hostfwd=tcp::8080:80: expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" },
		{ "user,hostfwd=tcp::8080-80", "hostfwd=tcp::8080-80: expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" },
		{ "user,hostfwd=tcp:localhost:8080-:80", "hostfwd=tcp:localhost:8080-:80: expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" },
		{ "user,hostfwd=sctp::8080-:80", "hostfwd=sctp::8080-:80: protocol 'sctp' (want tcp or udp)" },
		{ "user,hostfwd=tcp::0-:80", "hostfwd=tcp::0-:80: a port outside 1..65535" },
		{ "user,hostfwd=tcp::65536-:80", "hostfwd=tcp::65536-:80: a port outside 1..65535" },
		{ "user,hostfwd=udp::53-:0", "hostfwd=udp::53-:0: a port outside 1..65535" },
		{ "user,hostfwd=tcp::-:80", "hostfwd=tcp::-:80: expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *a[] = { "ukvm-run", "--net", (char *)bad[i].v, "app.img", NULL };
		char want[256];
		snprintf(want, sizeof(want), "--net: %s: %s", bad[i].v, bad[i].msg);
		ck_assert_int_eq(parse(a), -EINVAL);
		ck_assert_str_eq(err, want);
	}
	char *m[] = { "ukvm-run", "--net", NULL };
	ck_assert_int_eq(parse(m), -EINVAL);
	ck_assert_str_eq(err, "--net: missing value");
	/* Too many NICs, too many forwards. */
	char *many[UKVM_MAX_NICS + 4];
	int k = 0;
	many[k++] = "ukvm-run";
	for (int i = 0; i <= UKVM_MAX_NICS; i++)
		many[k++] = "--net=user";
	many[k++] = "app.img";
	many[k] = NULL;
	ck_assert_int_eq(parse(many), -EINVAL);
	ck_assert_str_eq(err, "--net: user: too many NICs (at most 8)");
	char fw[2048] = "user";
	for (int i = 0; i <= CLI_MAX_FWDS; i++)
		snprintf(fw + strlen(fw), sizeof(fw) - strlen(fw), ",hostfwd=tcp::%d-:80", 1000 + i);
	char *f[] = { "ukvm-run", "--net", fw, "app.img", NULL };
	ck_assert_int_eq(parse(f), -EINVAL);
	ck_assert_msg(!strncmp(err, "--net: user,hostfwd=tcp::1000-:80,", 34), "%s", err);
	ck_assert_msg(strstr(err, "...: more than 16 hostfwd options"), "%s", err);
}
END_TEST

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *c = tcase_create("core"), *l = tcase_create("limits");
	tcase_add_checked_fixture(c, NULL, teardown);
	tcase_add_checked_fixture(l, NULL, teardown);
	tcase_add_test(c, test_sizes);
	tcase_add_test(c, test_seconds);
	tcase_add_test(c, test_parse_full);
	tcase_add_test(c, test_parse_pv);
	tcase_add_test(c, test_parse_plain);
	tcase_add_test(c, test_parse_console);
	tcase_add_test(l, test_parse_bad);
	tcase_add_test(c, test_disks);
	tcase_add_test(l, test_disks_bad);
	tcase_add_test(c, test_nets);
	tcase_add_test(l, test_nets_bad);
	tcase_add_test(c, test_snapshot_flags);
	tcase_add_test(l, test_snapshot_flags_bad);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	return s;
}
