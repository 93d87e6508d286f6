int alpha(int x);
int beta(int x);
int gamma(int x);
int delta(int x);

int main(int argc, char **argv)
{
	(void)argv;
	return (alpha(argc) + beta(argc) + gamma(argc) + delta(argc)) & 1;
}
