int lib_two(int x)
{
	return 2 * x;
}
