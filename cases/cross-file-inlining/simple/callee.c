volatile int callee_sink;

/* Tiny, with a side effect the optimizer must keep. */
int callee(int x)
{
	callee_sink = x;
	return x;
}
