/* embed_min.c: the smallest libukvm embedder, built by tests/install/check-install.sh against an installed libukvm. */
#include <stdio.h>
#include <ukvm.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: embed_min IMAGE\n");
		return UKVM_EXIT_USAGE;
	}
	struct ukvm_config cfg = { .size = sizeof(cfg), .image = argv[1], .console_fd = 1 };
	struct ukvm_vm *vm;
	struct ukvm_result res = { .size = sizeof(res) };
	char err[256];
	int r = ukvm_create(&cfg, &vm, err, sizeof(err));
	if (r) {
		fprintf(stderr, "embed_min: %s\n", err);
		return ukvm_error_exit_code(r);
	}
	ukvm_run(vm, &res);
	ukvm_destroy(vm);
	if (res.kind != UKVM_EXITED)
		fprintf(stderr, "embed_min: %s\n", res.msg);
	return ukvm_exit_code(&res);
}
