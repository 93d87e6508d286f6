extern int nm_extern(int x);

int nm_data = 5;
int nm_bss;
static int nm_hidden;

int nm_func(int x)
{
	nm_hidden += x;
	return nm_extern(x) + nm_data + nm_bss + nm_hidden;
}
