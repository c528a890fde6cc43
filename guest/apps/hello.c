/* hello.c: the smallest ukvm app: one line on stdout. */
#include <stdio.h>

int main(void)
{
	fputs("Hello from ukvm!\n", stdout);
	return 0;
}
