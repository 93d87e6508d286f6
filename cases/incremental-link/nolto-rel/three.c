int three(int x)
{
	return x + 300;
}
