/* Nothing in C calls this: only entry.c's asm does, and nothing says so. */
int plain_helper(int x)
{
	return x + 1;
}
