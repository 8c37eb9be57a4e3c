/*
 * FPGM — a PruneKit criterion plugin written in plain C (C11, no other dependency than prune_plugin.h),
 * to show that the plugin ABI is language-neutral.
 *
 * Criterion "fpgm": filter pruning via the geometric median (He, Liu, Wang, Hu, Yang; CVPR 2019),
 * applied to PruneKit's structural units. For each unit group, every unit u is a vector w_u: all the
 * entries its parameter slices own (q/k/v rows and output-projection columns of a head; up-projection
 * rows and down-projection column of a neuron), concatenated. The score is
 *
 *     S_u = Σ_v ‖w_u − w_v‖₂     (v over the units of the same group)
 *
 * Units near the group's geometric median have the smallest total distance: the others can stand in for
 * them, so they are pruned first (higher score = more important to keep). Data-free.
 * This implementation matches: Torch-Pruning `FPGMImportance(p=2)` summed over a coupled group.
 *
 * Whole blocks (PRUNE_UNIT_BLOCK groups, `--units blocks`) are refused with PRUNE_ERR_UNSUPPORTED and an error
 * naming the group, before any scoring: FPGM's premise is that units of one layer are interchangeable filters,
 * so one near their geometric median can be replaced by the others. Successive blocks of a network are not
 * interchangeable (each transforms the previous one's output), so a distance between their weights says
 * nothing about what removing one costs. Score blocks with another criterion.
 *
 * Build by hand:  cc -std=c11 -O2 -shared -fPIC -I Sources/CPrunePlugin/include Plugins/FPGM/fpgm.c -o libFPGM.so -lm
 */
#include "fpgm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const prune_host_services *host;
static _Thread_local char last_error_text[512];

static const char *fpgm_last_error(void) { return last_error_text; }

/* Records a formatted error (with the host's own text appended when a host call failed). */
static prune_status fail(prune_status status, const char *what) {
    const char *detail = host && host->last_error ? host->last_error() : "";
    snprintf(last_error_text, sizeof last_error_text, "%s%s%s", what, detail[0] ? ": " : "", detail);
    return status;
}

/* One parameter read into plugin memory. */
typedef struct {
    float *values;
    int64_t shape[PRUNE_MAX_RANK];
    int32_t rank;
} parameter_copy;

static prune_status read_parameter(prune_scoring_context *context, const char *key, parameter_copy *copy) {
    prune_tensor tensor = NULL;
    prune_status status = host->scoring_parameter(context, key, &tensor);
    if (status != PRUNE_OK) return fail(status, "fpgm: reading a parameter");
    status = host->tensor_shape(tensor, copy->shape, PRUNE_MAX_RANK, &copy->rank);
    int64_t count = 1;
    for (int32_t axis = 0; status == PRUNE_OK && axis < copy->rank; axis++) count *= copy->shape[axis];
    copy->values = status == PRUNE_OK ? host->allocate((size_t)(count > 0 ? count : 1) * sizeof(float)) : NULL;
    if (status == PRUNE_OK && !copy->values) status = PRUNE_ERR_OUT_OF_MEMORY;
    if (status == PRUNE_OK) status = host->tensor_read(tensor, copy->values, count);
    host->tensor_release(tensor);
    if (status != PRUNE_OK) {
        host->deallocate(copy->values);
        copy->values = NULL;
        return fail(status, "fpgm: reading a parameter's values");
    }
    return PRUNE_OK;
}

/* scores[u] = Σ_v ‖vectors[u] − vectors[v]‖₂ over `units` row vectors of `length` floats. */
static void distance_sums(const float *vectors, int64_t units, int64_t length, float *scores) {
    for (int64_t u = 0; u < units; u++) scores[u] = 0;
    for (int64_t u = 0; u < units; u++)
        for (int64_t v = u + 1; v < units; v++) {
            double sum = 0;
            const float *a = vectors + u * length, *b = vectors + v * length;
            for (int64_t i = 0; i < length; i++) {
                double d = (double)a[i] - (double)b[i];
                sum += d * d;
            }
            float distance = (float)sqrt(sum);
            scores[u] += distance;
            scores[v] += distance;
        }
}

/* Scores one group: gathers each unit's vector, then sums pairwise distances. */
static prune_status score_group(prune_scoring_context *context, int32_t group, int64_t units, float *scores) {
    int32_t slice_count = 0;
    prune_status status = host->scoring_group_slice(context, group, -1, &slice_count, NULL, NULL, NULL, NULL);
    if (status != PRUNE_OK) return fail(status, "fpgm: listing slices");
    if (units == 0) return PRUNE_OK;

    /* First pass: the length of one unit's vector. */
    int64_t length = 0;
    for (int32_t slice = 0; slice < slice_count; slice++) {
        const char *key; int32_t axis; int64_t offset, width;
        status = host->scoring_group_slice(context, group, slice, NULL, &key, &axis, &offset, &width);
        if (status != PRUNE_OK) return fail(status, "fpgm: reading a slice");
        parameter_copy copy = {0};
        if ((status = read_parameter(context, key, &copy)) != PRUNE_OK) return status;
        int64_t others = 1;
        for (int32_t a = 0; a < copy.rank; a++) if (a != axis) others *= copy.shape[a];
        length += width * others;
        host->deallocate(copy.values);
    }
    float *vectors = host->allocate((size_t)(units * (length > 0 ? length : 1)) * sizeof(float));
    if (!vectors) return fail(PRUNE_ERR_OUT_OF_MEMORY, "fpgm: allocating unit vectors");

    /* Second pass: copy each unit's entries; parameter [outer, extent, inner] along the slice axis. */
    int64_t position = 0;
    for (int32_t slice = 0; slice < slice_count && status == PRUNE_OK; slice++) {
        const char *key; int32_t axis; int64_t offset, width;
        status = host->scoring_group_slice(context, group, slice, NULL, &key, &axis, &offset, &width);
        parameter_copy copy = {0};
        if (status == PRUNE_OK) status = read_parameter(context, key, &copy);
        if (status != PRUNE_OK) break;
        if (axis >= copy.rank || offset + units * width > copy.shape[axis]) {
            host->deallocate(copy.values);
            status = fail(PRUNE_ERR_SHAPE, "fpgm: a slice reaches past its parameter");
            break;
        }
        int64_t outer = 1, inner = 1, extent = copy.shape[axis];
        for (int32_t a = 0; a < axis; a++) outer *= copy.shape[a];
        for (int32_t a = axis + 1; a < copy.rank; a++) inner *= copy.shape[a];
        for (int64_t u = 0; u < units; u++) {
            float *target = vectors + u * length + position;
            for (int64_t o = 0; o < outer; o++)
                for (int64_t j = offset + u * width; j < offset + (u + 1) * width; j++) {
                    memcpy(target, copy.values + (o * extent + j) * inner, (size_t)inner * sizeof(float));
                    target += inner;
                }
        }
        position += width * outer * inner;
        host->deallocate(copy.values);
    }
    if (status == PRUNE_OK) distance_sums(vectors, units, length, scores);
    host->deallocate(vectors);
    return status;
}

/* Refuses unit groups FPGM cannot score (whole blocks; any group of units without parameter slices), naming the first. */
static prune_status check_groups(prune_scoring_context *scoring, int32_t groups) {
    for (int32_t group = 0; group < groups; group++) {
        const char *key; int32_t kind; int64_t units; int32_t slice_count = 0;
        prune_status status = host->scoring_group(scoring, group, &key, &kind, &units);
        if (status != PRUNE_OK) return fail(status, "fpgm: reading a group");
        if (kind == PRUNE_UNIT_BLOCK) {
            snprintf(last_error_text, sizeof last_error_text,
                     "fpgm cannot score %s: its %lld units are whole blocks (kind block), and FPGM ranks interchangeable units of "
                     "one layer by their distance to the geometric median, which says nothing about removing a block; score "
                     "blocks with magnitude, taylor, activation or gradient-flow, or prune heads and neurons only (--units heads,neurons)",
                     key, (long long)units);
            return PRUNE_ERR_UNSUPPORTED;
        }
        status = host->scoring_group_slice(scoring, group, -1, &slice_count, NULL, NULL, NULL, NULL);
        if (status != PRUNE_OK) return fail(status, "fpgm: listing slices");
        if (units > 0 && slice_count == 0) {
            snprintf(last_error_text, sizeof last_error_text, "fpgm cannot score %s (unit kind %d): its units own no parameter slices",
                     key, (int)kind);
            return PRUNE_ERR_UNSUPPORTED;
        }
    }
    return PRUNE_OK;
}

static prune_status fpgm_score(void *context, prune_scoring_context *scoring, float *scores, int64_t score_count) {
    (void)context;
    int32_t groups = 0;
    prune_status status = host->scoring_counts(scoring, &groups, NULL, NULL);
    if (status != PRUNE_OK) return fail(status, "fpgm: counting groups");
    if ((status = check_groups(scoring, groups)) != PRUNE_OK) return status;
    int64_t written = 0;
    for (int32_t group = 0; group < groups; group++) {
        const char *key; int32_t kind; int64_t units;
        status = host->scoring_group(scoring, group, &key, &kind, &units);
        if (status != PRUNE_OK) return fail(status, "fpgm: reading a group");
        if (written + units > score_count) return fail(PRUNE_ERR_INVALID_ARGUMENT, "fpgm: more units than scores");
        if ((status = score_group(scoring, group, units, scores + written)) != PRUNE_OK) return status;
        written += units;
        char message[256];
        snprintf(message, sizeof message, "group %d of %d (%s)", group + 1, groups, key);
        host->scoring_progress(scoring, group + 1, groups, message);
    }
    if (written != score_count) return fail(PRUNE_ERR_INVALID_ARGUMENT, "fpgm: fewer units than scores");
    return PRUNE_OK;
}

static const prune_criterion fpgm_criterion = {
    .struct_size = sizeof(prune_criterion),
    .name = "fpgm",
    .summary = "FPGM: Σ distance of each unit's weights to the others of its group; near the geometric median = redundant (data-free, C plugin)",
    .flags = 0,
    .context = NULL,
    .score = fpgm_score,
};
static const prune_criterion *const criteria[] = {&fpgm_criterion};

static prune_status fpgm_initialize(const prune_host_services *services, prune_plugin_contents *contents) {
    if (!services || !contents) return PRUNE_ERR_INVALID_ARGUMENT;
    /* FPGM calls only ABI 1's first services: any host table at least that large will do (append-only rule). */
    if (services->abi_version != PRUNE_PLUGIN_ABI_VERSION || services->struct_size < PRUNE_HOST_SERVICES_MIN_SIZE) {
        snprintf(last_error_text, sizeof last_error_text, "fpgm needs host ABI %u with a services table of at least %zu bytes, got ABI %u, %u bytes",
                 PRUNE_PLUGIN_ABI_VERSION, (size_t)PRUNE_HOST_SERVICES_MIN_SIZE, services->abi_version, services->struct_size);
        return PRUNE_ERR_UNSUPPORTED;
    }
    host = services;
    contents->criteria = criteria;
    contents->criterion_count = 1;
    contents->architectures = NULL;
    contents->architecture_count = 0;
    return PRUNE_OK;
}

/* Optional hooks, called by the host through libffi. */
const char *fpgm_about(void) { return "pure C (C11); He et al., CVPR 2019; O(units² · unit size) per group"; }

/* Checks the distance kernel on three units (3-4-5 triangle legs): (0,0), (3,0), (0,4) give 3+4, 3+5, 4+5. */
int32_t fpgm_self_test(void) {
    const float vectors[6] = {0, 0, 3, 0, 0, 4};
    float scores[3];
    distance_sums(vectors, 3, 2, scores);
    if (scores[0] != 7 || scores[1] != 8 || scores[2] != 9) {
        snprintf(last_error_text, sizeof last_error_text, "fpgm self-test: distances %g %g %g", scores[0], scores[1], scores[2]);
        return PRUNE_ERR_INTERNAL;
    }
    return PRUNE_OK;
}

static const prune_hook hooks[] = {
    {.role = "about", .symbol = "fpgm_about", .signature = "str()"},
    {.role = "self-test", .symbol = "fpgm_self_test", .signature = "i32()"},
};

static const prune_plugin_descriptor descriptor = {
    .abi_version = PRUNE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(prune_plugin_descriptor),
    .name = "fpgm",
    .version = "1.0.0",
    .kinds = PRUNE_KIND_CRITERION,
    .summary = "geometric-median (FPGM) criterion, written in C",
    .initialize = fpgm_initialize,
    .last_error = fpgm_last_error,
    .hooks = hooks,
    .hook_count = 2,
};

const prune_plugin_descriptor *prune_plugin_entry(void) { return &descriptor; }
