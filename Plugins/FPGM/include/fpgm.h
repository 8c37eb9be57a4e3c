/* FPGM: a pure-C PruneKit criterion plugin (see fpgm.c). */
#ifndef PRUNEKIT_FPGM_H
#define PRUNEKIT_FPGM_H
#include "prune_plugin.h"

/** The plugin's entry symbol (PRUNE_PLUGIN_ENTRY_SYMBOL). */
const prune_plugin_descriptor *prune_plugin_entry(void);

#endif
