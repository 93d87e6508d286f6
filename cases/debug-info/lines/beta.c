volatile int beta_sink;

/* A few lines down, so a wrong line table cannot match by accident. */

__attribute__((noinline)) int beta(int x)
{
	beta_sink = x;
	return x + 7;
}
