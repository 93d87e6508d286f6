#include <stdio.h>

extern int callee(int x);

/* noinline and not main: the proof is an inlined call under this concrete function. */
__attribute__((noinline)) int caller(int x)
{
	return callee(x) + 1;
}

int main(void)
{
	printf("%d\n", caller(41));
	return 0;
}
