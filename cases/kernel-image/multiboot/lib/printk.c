/* A minimal printk: %s, %u, %x and %%, out through the early serial console. */
#include <stdarg.h>
#include "kimage.h"

static void put_string(const char *s)
{
	while (*s)
		early_putc(*s++);
}

static void put_number(u32 value, u32 base)
{
	char digits[12];
	int n = 0;
	do {
		digits[n++] = "0123456789abcdef"[value % base];
		value /= base;
	} while (value);
	while (n)
		early_putc(digits[--n]);
}

void printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			early_putc(*fmt);
			continue;
		}
		switch (*++fmt) {
		case 's':
			put_string(va_arg(ap, const char *));
			break;
		case 'u':
			put_number(va_arg(ap, u32), 10);
			break;
		case 'x':
			put_number(va_arg(ap, u32), 16);
			break;
		case '\0':
			fmt--;
			break;
		default:
			early_putc(*fmt);
		}
	}
	va_end(ap);
}
