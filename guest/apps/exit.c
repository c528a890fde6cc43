/* exit.c: exits with the status given as argv[1] (0 without one), to test status propagation. */
#include <stdlib.h>

int main(int argc, char **argv)
{
	return argc > 1 ? atoi(argv[1]) : 0;
}
