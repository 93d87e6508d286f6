/* LTRANS probe: delta. Each noinline function is its own partition with -flto-partition=max. */
volatile int delta_sink;

__attribute__((noinline)) int delta_0(int x)
{
	for (int k = 0; k < x; k++)
		delta_sink += k * 2 + 3;
	return delta_sink;
}

__attribute__((noinline)) int delta_1(int x)
{
	for (int k = 0; k < x; k++)
		delta_sink += k * 3 + 3;
	return delta_sink;
}

__attribute__((noinline)) int delta_2(int x)
{
	for (int k = 0; k < x; k++)
		delta_sink += k * 4 + 3;
	return delta_sink;
}

int delta(int x)
{
	return delta_0(x) + delta_1(x) + delta_2(x);
}
