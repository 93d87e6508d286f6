/* Built with -flto ... -fno-lto: plain machine code between LTO objects. */
int inlto_fn(int x);

__attribute__((__noinline__)) int optout_fn(int x)
{
	return inlto_fn(x) + 5;
}
