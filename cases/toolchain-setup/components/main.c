#include <stdio.h>

extern int lib_twice(int x);

int main(void)
{
	printf("%d\n", lib_twice(21));
	return 0;
}
