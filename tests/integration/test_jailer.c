#include "svtest.h"
int main(void){return 0;}
