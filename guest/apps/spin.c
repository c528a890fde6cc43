/* spin.c: loops forever, for ukvm-run --timeout. */
int main(void)
{
	for (;;)
		__asm__ volatile("" ::: "memory");
}
