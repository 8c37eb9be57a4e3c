/*
 * A test architecture plugin in C with a list of whole blocks (PRUNE_UNIT_BLOCK) and no depth key: it masks its
 * blocks, but its exports cannot say a new depth, so removing a block must be refused.
 *
 * Architecture "scaler", class "BlockScaler", preset "scaler-test" ({"depth": 3}): latents x [B, 4, H, W];
 * block i is x + x ⊙ blocks.<i>.scale [1, 4, 1, 1]; masked, x + m_i·(block_i(x) − x).
 * With -DDECLARE_DEPTH it names "depth" with builder_block_depth_key (then exports may remove blocks).
 */
#include "prune_plugin.h"

#include <stdio.h>
#include <stdlib.h>

static const prune_host_services *host;
static _Thread_local char error_text[256];
static const char *last_error(void) { return error_text; }

typedef struct {
    int64_t depth;
    prune_tensor *scales;
} scaler_model;

static void release_model(void *pointer) {
    scaler_model *model = pointer;
    if (!model) return;
    for (int64_t i = 0; i < model->depth; i++) host->tensor_release(model->scales[i]);
    free(model->scales);
    free(model);
}

static prune_status build_model(void *context, prune_model_builder *builder, void **out) {
    (void)context;
    int64_t depth = 0;
    prune_status status = host->builder_config_int(builder, "depth", &depth);
    if (status != PRUNE_OK) return status;
    scaler_model *model = calloc(1, sizeof *model);
    if (!model) return PRUNE_ERR_OUT_OF_MEMORY;
    model->scales = calloc((size_t)(depth > 0 ? depth : 1), sizeof(prune_tensor));
    if (!model->scales) { free(model); return PRUNE_ERR_OUT_OF_MEMORY; }
    const int64_t shape[4] = {1, 4, 1, 1};
    for (int64_t i = 0; i < depth && status == PRUNE_OK; i++) {
        char key[64];
        snprintf(key, sizeof key, "blocks.%lld.scale", (long long)i);
        status = host->builder_parameter(builder, key, shape, 4, PRUNE_INIT_NORMAL, 0.5f, &model->scales[i]);
        if (status == PRUNE_OK) model->depth = i + 1;
    }
    if (status == PRUNE_OK) status = host->builder_unit_group(builder, "blocks", PRUNE_UNIT_BLOCK, depth);
#ifdef DECLARE_DEPTH
    if (status == PRUNE_OK) status = host->builder_block_depth_key(builder, "blocks", "depth");
#endif
    if (status != PRUNE_OK) {
        release_model(model);
        return status;
    }
    *out = model;
    return PRUNE_OK;
}

static prune_status forward(void *pointer, prune_forward_call *call, prune_tensor *out) {
    scaler_model *model = pointer;
    prune_tensor x = NULL, mask = NULL;
    prune_status status = host->call_input(call, "sample", &x);
    if (status == PRUNE_OK) status = host->call_mask(call, "blocks", &mask);
    for (int64_t i = 0; i < model->depth && status == PRUNE_OK; i++) {
        prune_tensor change = NULL, entry = NULL, scaled = NULL, next = NULL;
        status = host->binary(x, model->scales[i], PRUNE_BINARY_MULTIPLY, &change);  /* block_i(x) − x */
        if (status == PRUNE_OK && mask) {
            status = host->slice(mask, 0, i, i + 1, &entry);
            if (status == PRUNE_OK) status = host->binary(change, entry, PRUNE_BINARY_MULTIPLY, &scaled);
        }
        if (status == PRUNE_OK) status = host->binary(x, scaled ? scaled : change, PRUNE_BINARY_ADD, &next);
        host->tensor_release(change);
        host->tensor_release(entry);
        host->tensor_release(scaled);
        host->tensor_release(x);
        x = next;
    }
    host->tensor_release(mask);
    if (status != PRUNE_OK) {
        host->tensor_release(x);
        snprintf(error_text, sizeof error_text, "scaler forward failed");
        return status;
    }
    *out = x;
    return PRUNE_OK;
}

static const char *const class_names[] = {"BlockScaler"};
static const prune_preset presets[] = {{
    .struct_size = sizeof(prune_preset),
    .name = "scaler-test",
    .summary = "three scaling blocks",
    .configuration_json = "{\"_class_name\": \"BlockScaler\", \"depth\": 3}",
    .steps = 2,
    .guidance_scale = 1,
    .height = 64,
    .width = 64,
}};
static const char *const input_names[] = {"sample", "timestep"};

static const prune_architecture architecture = {
    .struct_size = sizeof(prune_architecture),
    .name = "scaler",
    .summary = "blocks that scale their input (test plugin)",
    .class_names = class_names,
    .class_name_count = 1,
    .presets = presets,
    .preset_count = 1,
    .scheduler_json = "sdxl-base",
    .input_names = input_names,
    .input_name_count = 2,
    .conditioning_count = 0,
    .latent_channels = 4,
    .build_model = build_model,
    .forward = forward,
    .predict = NULL,
    .release_model = release_model,
};
static const prune_architecture *const architectures[] = {&architecture};

static prune_status initialize(const prune_host_services *services, prune_plugin_contents *contents) {
#ifdef DECLARE_DEPTH
    if (!PRUNE_HAS_FIELD(services, prune_host_services, builder_block_depth_key)) return PRUNE_ERR_UNSUPPORTED;
#else
    if (services->struct_size < PRUNE_HOST_SERVICES_MIN_SIZE) return PRUNE_ERR_UNSUPPORTED;
#endif
    host = services;
    contents->architectures = architectures;
    contents->architecture_count = 1;
    return PRUNE_OK;
}

static const prune_plugin_descriptor descriptor = {
    .abi_version = PRUNE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(prune_plugin_descriptor),
#ifdef DECLARE_DEPTH
    .name = "scaler-depth",
#else
    .name = "scaler",
#endif
    .version = "0.0.1",
    .kinds = PRUNE_KIND_ARCHITECTURE,
    .summary = "a test architecture with a block list",
    .initialize = initialize,
    .last_error = last_error,
    .hooks = NULL,
    .hook_count = 0,
};

const prune_plugin_descriptor *prune_plugin_entry(void) { return &descriptor; }
