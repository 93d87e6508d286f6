#include <stdio.h>

int alpha(int x);
int beta(int x);

int main(void)
{
	printf("%d\n", alpha(3) + beta(4));
	return 0;
}
