/* Built with LTO: called from the -fno-lto object. */
__attribute__((__noinline__)) int inlto_fn(int x)
{
	return x * 6;
}
