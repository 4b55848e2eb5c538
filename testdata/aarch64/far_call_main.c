#include <stdio.h>
int far_caller(void);
int main(void) { printf("far call returned %d\n", far_caller()); return 0; }
