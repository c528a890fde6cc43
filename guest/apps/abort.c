/* abort.c: calls abort(); the VM must end with status 134 and a message. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	fputs("about to abort\n", stdout);
	fflush(stdout);
	abort();
}
