int alpha(int x);
int beta(int x);

int main(int argc, char **argv)
{
	(void)argv;
	return (alpha(argc) + beta(argc)) == 11 ? 0 : 1;
}
