#include <stdio.h>

int optout_fn(int x);

int main(void)
{
	volatile int seven = 7;

	printf("%d\n", optout_fn(seven));
	return 0;
}
