/* LTRANS probe: beta. Each noinline function is its own partition with -flto-partition=max. */
volatile int beta_sink;

__attribute__((noinline)) int beta_0(int x)
{
	for (int k = 0; k < x; k++)
		beta_sink += k * 2 + 1;
	return beta_sink;
}

__attribute__((noinline)) int beta_1(int x)
{
	for (int k = 0; k < x; k++)
		beta_sink += k * 3 + 1;
	return beta_sink;
}

__attribute__((noinline)) int beta_2(int x)
{
	for (int k = 0; k < x; k++)
		beta_sink += k * 4 + 1;
	return beta_sink;
}

int beta(int x)
{
	return beta_0(x) + beta_1(x) + beta_2(x);
}
