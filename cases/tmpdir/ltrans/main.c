int lib_twice(int x);

int main(int argc, char **argv)
{
	(void)argv;
	return lib_twice(argc) == 2 ? 0 : 1;
}
