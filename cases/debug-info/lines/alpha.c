volatile int alpha_sink;

__attribute__((noinline)) int alpha(int x)
{
	alpha_sink = x;
	return x * 3;
}
