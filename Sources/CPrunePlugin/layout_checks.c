// Compile-time checks of the layout rules prune_plugin.h promises: every versioned struct starts with
// its version/size stamp at fixed offsets, so a host can read the stamp of a struct written against any
// header version before trusting anything else in it.
#include "prune_plugin.h"

_Static_assert(offsetof(prune_plugin_descriptor, abi_version) == 0, "abi_version must come first");
_Static_assert(offsetof(prune_plugin_descriptor, struct_size) == 4, "struct_size must follow abi_version");
_Static_assert(offsetof(prune_host_services, abi_version) == 0, "abi_version must come first");
_Static_assert(offsetof(prune_host_services, struct_size) == 4, "struct_size must follow abi_version");
_Static_assert(offsetof(prune_criterion, struct_size) == 0, "struct_size must come first");
_Static_assert(offsetof(prune_architecture, struct_size) == 0, "struct_size must come first");
_Static_assert(offsetof(prune_preset, struct_size) == 0, "struct_size must come first");
_Static_assert(offsetof(prune_plugin_contents, struct_size) == 0, "struct_size must come first");
_Static_assert(PRUNE_PLUGIN_DESCRIPTOR_MIN_SIZE <= sizeof(prune_plugin_descriptor),
               "the minimum size lies inside the struct");
_Static_assert(PRUNE_CRITERION_MIN_SIZE <= sizeof(prune_criterion), "the minimum size lies inside the struct");
_Static_assert(PRUNE_ARCHITECTURE_MIN_SIZE <= sizeof(prune_architecture),
               "the minimum size lies inside the struct");
_Static_assert(PRUNE_HOST_SERVICES_MIN_SIZE <= sizeof(prune_host_services), "the minimum size lies inside the struct");
// Services appended after ABI 1's first release lie after it, in the order they were appended.
_Static_assert(offsetof(prune_host_services, builder_block_depth_key) >= PRUNE_HOST_SERVICES_MIN_SIZE,
               "builder_block_depth_key is appended after the first release's services");
_Static_assert(offsetof(prune_host_services, scoring_sum_over_ranks) > offsetof(prune_host_services, builder_block_depth_key),
               "scoring_sum_over_ranks is appended after builder_block_depth_key");

/// The ABI version this copy of the header was compiled with (for diagnostics).
uint32_t prune_plugin_header_abi_version(void) { return PRUNE_PLUGIN_ABI_VERSION; }
