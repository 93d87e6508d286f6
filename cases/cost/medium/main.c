/* The generated part (gen_*.c, written at test time from [expect] generate) defines gen_root. */
#include <stdio.h>

unsigned gen_root(unsigned x);

int main(int argc, char **argv)
{
	(void)argv;
	printf("%u\n", gen_root((unsigned)argc));
	return 0;
}
