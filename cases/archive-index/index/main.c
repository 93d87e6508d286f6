#include <stdio.h>

extern int lib_one(int x);
extern int lib_two(int x);

int main(void)
{
	printf("%d\n", lib_one(20) + lib_two(1));
	return 0;
}
