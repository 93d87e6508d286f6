/* LTRANS probe: gamma. Each noinline function is its own partition with -flto-partition=max. */
volatile int gamma_sink;

__attribute__((noinline)) int gamma_0(int x)
{
	for (int k = 0; k < x; k++)
		gamma_sink += k * 2 + 2;
	return gamma_sink;
}

__attribute__((noinline)) int gamma_1(int x)
{
	for (int k = 0; k < x; k++)
		gamma_sink += k * 3 + 2;
	return gamma_sink;
}

__attribute__((noinline)) int gamma_2(int x)
{
	for (int k = 0; k < x; k++)
		gamma_sink += k * 4 + 2;
	return gamma_sink;
}

int gamma(int x)
{
	return gamma_0(x) + gamma_1(x) + gamma_2(x);
}
