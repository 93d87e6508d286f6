/* The kernel's annotations and tables, reduced to what the image needs. */
#ifndef KIMAGE_H
#define KIMAGE_H

typedef unsigned int u32;
typedef unsigned char u8;
typedef unsigned long uptr;

#if defined(__has_attribute) && __has_attribute(__externally_visible__)
#define __visible __attribute__((__externally_visible__))
#else
#define __visible
#endif
#define __used __attribute__((__used__))
/* SHF_GNU_RETAIN: lld (start-stop-gc) collects an orphan section that only its
 * __start_/__stop_ symbols reference unless it is retained. */
#if defined(__has_attribute) && __has_attribute(__retain__)
#define __retain __attribute__((__retain__))
#else
#define __retain
#endif
#define __section(s) __attribute__((__section__(s)))
#define __aligned(n) __attribute__((__aligned__(n)))
#define noinline __attribute__((__noinline__))
#define notrace __attribute__((__no_instrument_function__))
#define asmlinkage __attribute__((__regparm__(0)))
#if defined(__has_attribute) && __has_attribute(__no_reorder__)
#define __noreorder __attribute__((__no_reorder__))
#else
#define __noreorder
#endif

#define __init __section(".init.text") noinline notrace
#define __initdata __section(".init.data")

/* Initcalls: one pointer per call in .initcall<level>.init, run level by level
 * in link order. GCC LTO keeps the order with no_reorder (the kernel's GCC
 * LTO patches); clang LTO puts each call in its own section, which the build's
 * generated linker script (kbuild's .tmp_initcalls.lds) orders. */
typedef int (*initcall_t)(void);
#define __PASTE2(a, b) a##b
#define __PASTE(a, b) __PASTE2(a, b)
#define __STR2(x) #x
#define __STR(x) __STR2(x)
/* __initcall__<line>_<level>_<fn>: unique, and what the order generator reads back with nm. */
#define __initcall_id(fn, level) __PASTE(__PASTE(__initcall__, __LINE__), _##level##_##fn)
#ifdef KIMAGE_INITCALL_IDS
#define __initcall_section(fn, level) ".initcall" #level ".init.." __STR(__initcall_id(fn, level))
#else
#define __initcall_section(fn, level) ".initcall" #level ".init"
#endif
#define __define_initcall(fn, level)                                                       \
	static initcall_t __initcall_id(fn, level) __used __noreorder                       \
		__section(__initcall_section(fn, level)) = fn

#define core_initcall(fn) __define_initcall(fn, 1)
#define postcore_initcall(fn) __define_initcall(fn, 2)
#define arch_initcall(fn) __define_initcall(fn, 3)
#define subsys_initcall(fn) __define_initcall(fn, 4)
#define fs_initcall(fn) __define_initcall(fn, 5)
#define device_initcall(fn) __define_initcall(fn, 6)
#define late_initcall(fn) __define_initcall(fn, 7)

/* Exported symbols: {address, name} pairs in ___ksymtab+<name>, which the
 * linker script sorts by name into __ksymtab; the CRC of each comes from an
 * absolute symbol __crc_<name> (MODVERSIONS), kept in ___kcrctab+<name>. */
struct kernel_symbol {
	uptr value;
	const char *name;
};
#define EXPORT_SYMBOL(sym)                                                                 \
	extern char __crc_##sym[];                                                          \
	static const char __kstrtab_##sym[] __used __section("__ksymtab_strings") = #sym;   \
	static const struct kernel_symbol __ksymtab_##sym __used __aligned(4)               \
		__section("___ksymtab+" #sym) = { (uptr)&sym, __kstrtab_##sym };            \
	static const uptr __kcrctab_##sym __used __aligned(4)                               \
		__section("___kcrctab+" #sym) = (uptr)__crc_##sym

/* genksyms' output as it was: the CRC as an absolute symbol set in toplevel asm. */
#define SYMBOL_CRC(sym, crc) asm(".globl __crc_" #sym "\n\t.set __crc_" #sym ", " #crc "\n")

/* Self-tests in an orphan section with a C name: the linker defines the bounds
 * (__start_kimage_selftests, __stop_kimage_selftests). */
struct selftest {
	const char *name;
	u32 (*fn)(void);
};
#define SELFTEST(fn)                                                                       \
	static const struct selftest __selftest_##fn __used __retain __aligned(4)                    \
		__section("kimage_selftests") = { #fn, fn }

u32 boot_magic_value(void);

/* lib/printk.c, arch/early.c */
asmlinkage __visible void early_putc(char c);
__visible void arch_exit(u32 status) __attribute__((__noreturn__));
void printk(const char *fmt, ...);
void initcall_ran(const char *name);
const struct kernel_symbol *find_symbol(const char *name, uptr *crc);

/* lib/checksum.c: tiny helpers every subsystem calls; LTO inlines them across subsystems. */
u32 csum_mix(u32 sum, u32 word);
u32 csum_fold(u32 sum);

/* kernel/traced.c, built with -pg -mfentry */
u32 traced_square(u32 x);
u32 traced_twice(u32 x);
extern volatile u32 fentry_calls;

/* mm/slow.c, built at -O0 */
u32 mm_slow_sum(const u32 *words, u32 count);

/* exported by kernel/exports.c */
u32 kimage_add(u32 a, u32 b);
u32 kimage_mul(u32 a, u32 b);
u32 kimage_version(void);

/* the bulk of the image, so GCC's balanced partitioner makes many partitions */
u32 drivers_bulk(u32 seed);
u32 fs_bulk(u32 seed);
u32 mm_bulk(u32 seed);
u32 kernel_bulk(u32 seed);

#endif
