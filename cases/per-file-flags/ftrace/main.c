#include <stdio.h>

int traced_fn(int x);
int plain_fn(int x);
int legacy_fn(int x);
int fp_fn(int x);
extern unsigned long fentry_calls;

int main(void)
{
	volatile int one = 1;
	int sum = traced_fn(one) + plain_fn(one) + legacy_fn(one) + fp_fn(one);

	printf("%d, %lu traced call(s)\n", sum, fentry_calls);
	return 0;
}
