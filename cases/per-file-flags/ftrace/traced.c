/* Built with the kernel's ftrace flags (CC_FLAGS_FTRACE): -pg -mfentry. */
__attribute__((__noinline__)) int traced_fn(int x)
{
	return x * 3 + 1;
}
