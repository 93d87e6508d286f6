/* Fake gen_init_cpio: echoes its list file, so a boot test can run without a real tree. */
#include <stdio.h>

int main(int argc, char **argv)
{
	FILE *in;
	int c;

	if (argc < 2 || !(in = fopen(argv[argc - 1], "r")))
		return 1;
	fputs("070701FAKE\n", stdout);
	while ((c = fgetc(in)) != EOF)
		putchar(c);
	return 0;
}
