/* The host's small helpers. They live in core/common/ (a library with no
 * host state, which the AWS client shares); this header re-exports them so
 * host code keeps writing #include "base/util.h". */
#ifndef SLASHD_UTIL_H
#define SLASHD_UTIL_H

#include "common/util.h"

#endif
