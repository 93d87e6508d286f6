#include <stdio.h>

int one(int x);
int two(int x);
int three(int x);

int main(void)
{
	printf("%d\n", one(1) + two(2) + three(3));
	return 0;
}
