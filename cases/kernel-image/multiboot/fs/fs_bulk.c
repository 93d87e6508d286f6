/* Code mass for LTO partitioning (see bulk.h). */
#include "bulk.h"

BULK(fs_bulk)
