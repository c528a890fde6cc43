/* check_cli.c: ukvm-run argument parsing: sizes, seconds, options, image and guest arguments. */
#include <check.h>
#include <errno.h>
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
	tcase_add_test(l, test_parse_bad);
	tcase_add_test(c, test_disks);
	tcase_add_test(l, test_disks_bad);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	return s;
}
