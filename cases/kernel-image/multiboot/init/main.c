/* start_kernel: run the initcalls level by level, then report over the serial
 * port what the image observed, and leave QEMU through isa-debug-exit. */
#include "kimage.h"

#define EXIT_SUCCESS_STATUS 0x2a /* QEMU exits with (0x2a << 1) | 1 = 85 */

extern initcall_t __initcall0_start[], __initcall1_start[], __initcall2_start[], __initcall3_start[],
	__initcall4_start[], __initcall5_start[], __initcall6_start[], __initcall7_start[], __initcall_end[];
extern char __init_begin[], __init_end[];
extern const struct selftest __start_kimage_selftests[], __stop_kimage_selftests[];

static initcall_t *const initcall_levels[] __initdata = {
	__initcall0_start, __initcall1_start, __initcall2_start, __initcall3_start, __initcall4_start,
	__initcall5_start, __initcall6_start, __initcall7_start, __initcall_end,
};
static const char banner[] __initdata = "KIMAGE boot";
static u32 current_level;
static u32 initcalls_seen;

void initcall_ran(const char *name)
{
	initcalls_seen++;
	printk("KIMAGE initcall %u %s\n", current_level, name);
}

static int in_init(const void *p)
{
	return (const char *)p >= __init_begin && (const char *)p < __init_end;
}

static void __init do_initcalls(void)
{
	u32 level, total = 0, inside = 0;
	initcall_t *call;

	for (level = 0; level + 1 < sizeof(initcall_levels) / sizeof(initcall_levels[0]); level++) {
		current_level = level;
		for (call = initcall_levels[level]; call < initcall_levels[level + 1]; call++) {
			total++;
			inside += in_init((const void *)*call);
			(*call)();
		}
	}
	printk("KIMAGE initcall_table %u %u\n", total, inside);
}

static void __init report_exports(void)
{
	static const char *const names[] __initdata = { "kimage_add", "kimage_mul", "kimage_version" };
	u32 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uptr crc = 0;
		const struct kernel_symbol *sym = find_symbol(names[i], &crc);
		u32 value;

		if (!sym) {
			printk("KIMAGE ksym %s missing\n", names[i]);
			continue;
		}
		if (i == 0)
			value = ((u32(*)(u32, u32))sym->value)(2, 3);
		else if (i == 1)
			value = ((u32(*)(u32, u32))sym->value)(6, 7);
		else
			value = ((u32(*)(void))sym->value)();
		printk("KIMAGE ksym %s %u\n", names[i], value);
		printk("KIMAGE crc %s %x\n", names[i], (u32)crc);
	}
}

static void __init run_selftests(void)
{
	const struct selftest *t;

	for (t = __start_kimage_selftests; t < __stop_kimage_selftests; t++)
		printk("KIMAGE selftest %s %x\n", t->name, t->fn());
}

#ifndef KIMAGE_NO_BULK
static u32 bulk_selftest(void)
{
	return kernel_bulk(mm_bulk(fs_bulk(drivers_bulk(1))));
}
SELFTEST(bulk_selftest);
#endif

static u32 traced_selftest(void)
{
	u32 square = traced_square(3);

	return square + traced_twice(4);
}
SELFTEST(traced_selftest);

asmlinkage __visible __used void __init start_kernel(void)
{
	printk("%s magic %x init %u\n", banner, boot_magic_value(), in_init(banner) && in_init(&do_initcalls));
	do_initcalls();
	report_exports();
	run_selftests();
	printk("KIMAGE fentry_calls %u\n", fentry_calls);
	printk("KIMAGE initcalls_seen %u\n", initcalls_seen);
	printk("KIMAGE done\n");
	arch_exit(EXIT_SUCCESS_STATUS);
}

static int __init init_late(void)
{
	initcall_ran(__func__);
	return 0;
}
late_initcall(init_late);
