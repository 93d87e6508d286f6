#include <stdio.h>

extern int used_function(int x);

int main(void)
{
	printf("%d\n", used_function(41));
	return 0;
}
