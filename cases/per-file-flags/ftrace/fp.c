/* Built with -fno-omit-frame-pointer (the kernel's CONFIG_FRAME_POINTER), unlike the files around it. */
int plain_fn(int x);

__attribute__((__noinline__)) int fp_fn(int x)
{
	return plain_fn(x) * 2 + plain_fn(x + 1);
}
