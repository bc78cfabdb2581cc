// The DistContext shared by the multi-rank tests (created in test_main.cpp).
#pragma once

#include "rso/dist/dist_context.hpp"

namespace rso::testing {
DistContext& dist();
}
