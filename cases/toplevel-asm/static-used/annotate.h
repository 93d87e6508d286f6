/* The kernel's annotations (include/linux/compiler_attributes.h, compiler_types.h). */
#ifndef __used
#define __used __attribute__((__used__))
#endif
#ifndef __visible
#if defined(__has_attribute) && __has_attribute(__externally_visible__)
#define __visible __attribute__((__externally_visible__))
#else
#define __visible
#endif
#endif
