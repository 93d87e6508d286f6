#include <stdio.h>

int lib_answer(int x);

int main(void)
{
	printf("%d\n", lib_answer(20));
	return 0;
}
