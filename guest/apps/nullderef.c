/* nullderef.c: writes through NULL in crash_here(), so the fault report must name that function. */
#include <stdio.h>

/* volatile: keeps the compiler from proving the pointer NULL and emitting a trap instead of the store. */
static int *volatile null_ptr;

__attribute__((noinline)) int crash_here(int v)
{
	*null_ptr = v;
	return v;
}

int main(void)
{
	fputs("about to dereference NULL\n", stdout);
	fflush(stdout);
	return crash_here(42);
}
