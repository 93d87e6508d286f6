/* Code mass for LTO partitioning (see bulk.h). */
#include "bulk.h"

BULK(kernel_bulk)
