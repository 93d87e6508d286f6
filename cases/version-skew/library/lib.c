/* The symbol the stripped object or archive must still provide, through the IR. */
static int lib_offset(void)
{
	return 22;
}

int lib_answer(int x)
{
	return x + lib_offset();
}
