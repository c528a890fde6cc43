/* stdlib.h: the little of the C library that libfdt links against in the guest. */
#ifndef K_STDLIB_H
#define K_STDLIB_H

unsigned long strtoul(const char *s, char **end, int base);

#endif
