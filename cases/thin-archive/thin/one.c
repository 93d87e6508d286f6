int lib_one(int x)
{
	return 2 * x;
}
