/* libcfault.c: faults inside musl's memset (no frame pointer there), so the report's backtrace must still name clear_buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* volatile: the compiler must not see that the buffer is bogus and trap instead of calling memset. */
static char *volatile bad_buf = (char *)16;

/* noinline and a use of memset's result: a tail call would leave no return address into this function. */
__attribute__((noinline)) int clear_buffer(char *p, size_t n)
{
	memset(p, 0, n);
	return p[n - 1];
}

int main(int argc, char **argv)
{
	(void)argv;
	fputs("about to fault inside memset\n", stdout);
	fflush(stdout);
	/*
	 * 100 bytes: musl's short path (plain stores). A large size takes its `rep stosq`, whose fault
	 * at address 16 PVM never delivers in base mode (the vCPU spins until --timeout).
	 */
	return clear_buffer(bad_buf, 100 * (size_t)argc);
}
