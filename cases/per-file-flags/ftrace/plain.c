/* Built without ftrace flags, like a file with CFLAGS_REMOVE_plain.o = $(CC_FLAGS_FTRACE). */
__attribute__((__noinline__)) int plain_fn(int x)
{
	return x * 5 + 2;
}
