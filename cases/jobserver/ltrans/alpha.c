/* LTRANS probe: alpha. Each noinline function is its own partition with -flto-partition=max. */
volatile int alpha_sink;

__attribute__((noinline)) int alpha_0(int x)
{
	for (int k = 0; k < x; k++)
		alpha_sink += k * 2 + 0;
	return alpha_sink;
}

__attribute__((noinline)) int alpha_1(int x)
{
	for (int k = 0; k < x; k++)
		alpha_sink += k * 3 + 0;
	return alpha_sink;
}

__attribute__((noinline)) int alpha_2(int x)
{
	for (int k = 0; k < x; k++)
		alpha_sink += k * 4 + 0;
	return alpha_sink;
}

int alpha(int x)
{
	return alpha_0(x) + alpha_1(x) + alpha_2(x);
}
