/* runner.c: runs every unit suite and, when KVM is usable, the integration suites; prints Check's summary last. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "it_util.h"

#define UNIT(n) Suite *n##_suite(void);
#define INTEG(n) Suite *n##_suite(void);
#include "suites.h"
#undef UNIT
#undef INTEG

int main(void)
{
	char why[256];
	bool kvm = it_kvm_usable(why, sizeof(why));
	SRunner *sr = srunner_create(NULL);

#define UNIT(n) srunner_add_suite(sr, n##_suite());
#define INTEG(n)                                                                   \
	if (kvm)                                                                   \
		srunner_add_suite(sr, n##_suite());                                \
	else                                                                       \
		printf("SKIPPED: integration suite %s: %s\n", #n, why);
#include "suites.h"
#undef UNIT
#undef INTEG

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
