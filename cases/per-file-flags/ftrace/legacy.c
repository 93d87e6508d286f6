/* Built with -fno-lto (the kernel's CC_FLAGS_LTO removed): plain machine code that calls into LTO code. */
int plain_fn(int x);

__attribute__((__noinline__)) int legacy_fn(int x)
{
	return plain_fn(x) + 100;
}
