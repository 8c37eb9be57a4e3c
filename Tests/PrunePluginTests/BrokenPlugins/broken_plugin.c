/*
 * A deliberately broken PruneKit plugin, compiled by the tests with one -D flag per way of breaking:
 *   BREAK_NO_ENTRY        exports no prune_plugin_entry
 *   BREAK_ABI             states ABI version 99
 *   BREAK_SMALL           states a descriptor struct_size of 8 bytes
 *   BREAK_INIT_FAILS      initialize returns PRUNE_ERR_INTERNAL with a last_error text
 *   BREAK_BAD_SIGNATURE   declares a "configure" hook with a signature the host does not call it with
 *   BREAK_UNPARSABLE      declares a hook with a malformed signature
 *   BREAK_HOOK_SYMBOL     declares a hook whose symbol is not exported
 *   BREAK_SMALL_CRITERION registers a criterion vtable smaller than ABI 1's
 *   BREAK_SCORE_FAILS     registers a criterion whose score fails with a message
 *   (none)                a valid minimal criterion plugin, "constant", scoring unit u of each group as u
 */
#include "prune_plugin.h"

#include <stdio.h>

static const prune_host_services *host;
static char error_text[256];
static const char *last_error(void) { return error_text; }

static prune_status score(void *context, prune_scoring_context *scoring, float *scores, int64_t count) {
    (void)context;
    (void)scoring;
#ifdef BREAK_SCORE_FAILS
    (void)scores;
    (void)count;
    snprintf(error_text, sizeof error_text, "the broken criterion refuses to score");
    return PRUNE_ERR_UNSUPPORTED;
#else
    int32_t groups = 0;
    prune_status status = host->scoring_counts(scoring, &groups, NULL, NULL);
    if (status != PRUNE_OK) return status;
    int64_t written = 0;
    for (int32_t g = 0; g < groups; g++) {
        int64_t units = 0;
        if ((status = host->scoring_group(scoring, g, NULL, NULL, &units)) != PRUNE_OK) return status;
        for (int64_t u = 0; u < units && written < count; u++) scores[written++] = (float)u;
    }
    return written == count ? PRUNE_OK : PRUNE_ERR_INTERNAL;
#endif
}

static const prune_criterion criterion = {
#ifdef BREAK_SMALL_CRITERION
    .struct_size = 12,
#else
    .struct_size = sizeof(prune_criterion),
#endif
    .name = "constant",
    .summary = "unit u of each group scores u (test plugin)",
    .flags = 0,
    .context = NULL,
    .score = score,
};
static const prune_criterion *const criteria[] = {&criterion};

static prune_status initialize(const prune_host_services *services, prune_plugin_contents *contents) {
#ifdef BREAK_INIT_FAILS
    (void)services;
    (void)contents;
    snprintf(error_text, sizeof error_text, "the broken plugin refuses to initialise");
    return PRUNE_ERR_INTERNAL;
#else
    host = services;
    contents->criteria = criteria;
    contents->criterion_count = 1;
    return PRUNE_OK;
#endif
}

int32_t broken_configure(const char *key, const char *value) {
    (void)key;
    (void)value;
    return PRUNE_OK;
}

static const prune_hook hooks[] = {
#if defined(BREAK_BAD_SIGNATURE)
    {.role = "configure", .symbol = "broken_configure", .signature = "f64(str)"},
#elif defined(BREAK_UNPARSABLE)
    {.role = "configure", .symbol = "broken_configure", .signature = "i32(str,long double)"},
#elif defined(BREAK_HOOK_SYMBOL)
    {.role = "configure", .symbol = "no_such_function", .signature = "i32(str,str)"},
#else
    {.role = "configure", .symbol = "broken_configure", .signature = "i32(str,str)"},
#endif
};

static const prune_plugin_descriptor descriptor = {
#ifdef BREAK_ABI
    .abi_version = 99,
#else
    .abi_version = PRUNE_PLUGIN_ABI_VERSION,
#endif
#ifdef BREAK_SMALL
    .struct_size = 8,
#else
    .struct_size = sizeof(prune_plugin_descriptor),
#endif
    .name = "broken",
    .version = "0.0.1",
    .kinds = PRUNE_KIND_CRITERION,
    .summary = "a test plugin broken on purpose",
    .initialize = initialize,
    .last_error = last_error,
    .hooks = hooks,
    .hook_count = 1,
};

#ifndef BREAK_NO_ENTRY
const prune_plugin_descriptor *prune_plugin_entry(void) { return &descriptor; }
#else
const prune_plugin_descriptor *some_other_symbol(void) { return &descriptor; }
#endif
