static const char alpha_table[] = "reproducible";

int beta(int x);

int alpha(int x)
{
	int sum = 0;

	for (int i = 0; i < x; i++)
		sum += alpha_table[i] + (i ? beta(i - 1) : 0);
	return sum;
}
static int beta_calls;

int beta(int x)
{
	beta_calls++;
	return x * 7 + beta_calls % 3;
}
