/* smartvm: placeholder until the CLI lands. */
#include <smartvm/smartvm.h>
#include <stdio.h>

int main(void)
{
	printf("smartvm %s\n", sv_version());
	return 0;
}
