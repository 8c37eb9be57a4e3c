/*
 * prune_plugin.h — the C ABI between PruneKit (the host) and its dlopen plugins.
 *
 * A plugin is a shared object that exports ONE symbol, `prune_plugin_entry` (PRUNE_PLUGIN_ENTRY_SYMBOL),
 * of type `prune_plugin_entry_fn`. It returns a pointer to a static `prune_plugin_descriptor` that the
 * host reads before it initialises anything: name, version, kinds, the ABI version the plugin was built
 * against and the size of the descriptor as the plugin knows it. The host then calls
 * `descriptor->initialize(host, contents)`; the plugin fills `contents` with its criteria and
 * architectures (vtables below). From then on, every tensor the plugin touches is a host tensor, reached
 * through an opaque `prune_tensor` handle and the host's services table, so operations a plugin
 * architecture performs are recorded on the host's autodiff tape (masks, gradients and time-step
 * checkpointing keep working). Only C crosses this boundary: no Swift, C++ or Rust types.
 *
 * ---------------------------------------------------------------------------------------------------
 * Versioning (append-only rules)
 * - PRUNE_PLUGIN_ABI_VERSION changes only when an existing field changes meaning, type or position, or
 *   a field is removed. The host refuses a plugin whose descriptor states another ABI version.
 * - Every struct that crosses the boundary starts with `uint32_t struct_size` (after `abi_version` where
 *   there is one). New fields are APPENDED ONLY. A reader uses a field only if the writer's
 *   struct_size covers it (PRUNE_HAS_FIELD). The host refuses a plugin struct that is smaller than the
 *   ABI version's first release of it (PRUNE_*_MIN_SIZE below) and names both sizes in the error.
 * - Enumerated values (status codes, kinds, op codes) are never renumbered; new ones are appended.
 * - Optional entry points that do not fit a struct go through `hooks`: (role, symbol, signature) triples
 *   that the host validates and calls through libffi, so plugins can add hooks without any struct
 *   changing. Unknown roles are listed but never called.
 *
 * Errors
 * - Every fallible function returns `prune_status`: PRUNE_OK (0) or a negative code. No function may
 *   abort, longjmp or throw across this boundary; a trap inside a plugin is a bug in that plugin.
 * - On error the plugin may describe it through `descriptor->last_error()` (thread-local text, valid
 *   until the plugin's next call on the same thread); the host may describe its own service failures
 *   through `host->last_error()` under the same rule.
 *
 * Ownership
 * - Strings and tables in the descriptor, the vtables and preset lists are static in the plugin (they
 *   must live as long as the process: the host never dlcloses a plugin).
 * - `prune_tensor` handles: every handle the plugin receives through an out-parameter is OWNED by the
 *   plugin and must be given back exactly once with `host->tensor_release`. Handles the host passes as
 *   plain arguments (none in ABI 1) would be borrowed. A released or forged handle is rejected with
 *   PRUNE_ERR_INVALID_HANDLE, never dereferenced. Releasing a handle never frees data another handle
 *   or the host's tape still uses (host tensors are reference counted).
 * - Memory from `host->allocate` is freed with `host->deallocate`; nothing else crosses.
 * - Model and criterion contexts (`void *`) belong to the plugin; the host hands them back unchanged
 *   and releases a model with `architecture->release_model` when it no longer needs it.
 * - Output buffers (scores, shapes, float data) are owned by the caller that passes them.
 *
 * Threads: the host calls a plugin from one thread at a time per model/criterion. Host services are
 * thread-safe.
 */
#ifndef PRUNE_PLUGIN_H
#define PRUNE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI this header describes. */
#define PRUNE_PLUGIN_ABI_VERSION 1u
/** The symbol every plugin exports. */
#define PRUNE_PLUGIN_ENTRY_SYMBOL "prune_plugin_entry"

/** True when a struct of `struct_size` bytes written against some header version contains `field`. */
#define PRUNE_HAS_FIELD(pointer, type, field) \
    ((pointer)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ---------------------------------------------------------------------------------------------- */
/* Status codes                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

typedef int32_t prune_status;
#define PRUNE_OK 0
/** An argument is malformed (NULL where a value is required, a negative count, an unknown code). */
#define PRUNE_ERR_INVALID_ARGUMENT (-1)
/** The request is valid but not supported by this side (unknown preset, unsupported dtype). */
#define PRUNE_ERR_UNSUPPORTED (-2)
/** An unexpected failure inside the callee; see last_error(). */
#define PRUNE_ERR_INTERNAL (-3)
/** Tensor shapes do not fit the operation; see last_error() for both shapes. */
#define PRUNE_ERR_SHAPE (-4)
/** A named thing (input, parameter, key, file) does not exist. */
#define PRUNE_ERR_NOT_FOUND (-5)
/** An allocation failed. */
#define PRUNE_ERR_OUT_OF_MEMORY (-6)
/** A `prune_tensor` handle is NULL where one is required, released, or was never issued. */
#define PRUNE_ERR_INVALID_HANDLE (-7)
/** A file could not be read or is malformed. */
#define PRUNE_ERR_IO (-8)
/** A caller-provided buffer is too small; the required size was written where the call says. */
#define PRUNE_ERR_BUFFER_TOO_SMALL (-9)

/* ---------------------------------------------------------------------------------------------- */
/* Opaque host objects                                                                            */
/* ---------------------------------------------------------------------------------------------- */

/** A host tensor (float32, any rank ≤ PRUNE_MAX_RANK). Owned handles are released with tensor_release. */
typedef struct prune_tensor_opaque *prune_tensor;
/** Builds a model's parameters and units; valid during create_model/load_model only. */
typedef struct prune_model_builder_opaque prune_model_builder;
/** One forward call's named inputs and unit masks; valid during forward/predict only. */
typedef struct prune_forward_call_opaque prune_forward_call;
/** A criterion's view of the model and calibration data; valid during score only. */
typedef struct prune_scoring_context_opaque prune_scoring_context;

#define PRUNE_MAX_RANK 8

/* ---------------------------------------------------------------------------------------------- */
/* Enumerations                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

/** Plugin kinds (bit set in prune_plugin_descriptor.kinds). */
#define PRUNE_KIND_CRITERION 1u
#define PRUNE_KIND_ARCHITECTURE 2u

/** Log levels for host->log. */
#define PRUNE_LOG_DEBUG 0
#define PRUNE_LOG_INFO 1
#define PRUNE_LOG_WARNING 2
#define PRUNE_LOG_ERROR 3

/** Unit kinds (what one maskable unit of a group is). */
#define PRUNE_UNIT_ATTENTION_HEAD 0
#define PRUNE_UNIT_FFN_NEURON 1
#define PRUNE_UNIT_MODULATION_OUTPUT 2
/** A list of whole blocks: `module_key` names the list (`blocks`), unit u is the block `<module_key>.<u>` and owns
 *  every parameter whose key starts with `<module_key>.<u>.` (the host collects them; declare no slices).
 *  Masked, block u's output is `x + m[u]·(block(x) − x)`; the mask is call_mask(`<module_key>`), [blocks]. Name the
 *  configuration value holding the list's depth with builder_block_depth_key so exports may remove blocks.
 *  Appended after ABI 1's first release. */
#define PRUNE_UNIT_BLOCK 3

/** Parameter initialisation for models built from a seed (host->builder_parameter). */
#define PRUNE_INIT_ZEROS 0
#define PRUNE_INIT_ONES 1
/** Uniform in ±1/sqrt(argument) (PyTorch's Linear/Conv default with argument = fan-in). */
#define PRUNE_INIT_FAN_IN_UNIFORM 2
/** Normal with standard deviation `argument`. */
#define PRUNE_INIT_NORMAL 3

/** Element-wise unary functions (host->unary). */
#define PRUNE_UNARY_NEGATE 0
#define PRUNE_UNARY_EXP 1
#define PRUNE_UNARY_LOG 2
#define PRUNE_UNARY_SQRT 3
#define PRUNE_UNARY_RSQRT 4
#define PRUNE_UNARY_RECIPROCAL 5
#define PRUNE_UNARY_ABS 6
#define PRUNE_UNARY_RELU 7
#define PRUNE_UNARY_SIGMOID 8
#define PRUNE_UNARY_TANH 9
#define PRUNE_UNARY_SILU 10
#define PRUNE_UNARY_GELU_ERF 11
#define PRUNE_UNARY_GELU_TANH 12
#define PRUNE_UNARY_SOFTPLUS 13

/** Broadcasting binary operations (host->binary). */
#define PRUNE_BINARY_ADD 0
#define PRUNE_BINARY_SUBTRACT 1
#define PRUNE_BINARY_MULTIPLY 2
#define PRUNE_BINARY_DIVIDE 3

/** Reductions (host->reduce). */
#define PRUNE_REDUCE_SUM 0
#define PRUNE_REDUCE_MEAN 1

/** Criterion flags. */
#define PRUNE_CRITERION_NEEDS_CALIBRATION 1u
/** The criterion passes everything it sums over calibration samples through host->scoring_sum_over_ranks, so it
 *  may run data-parallel (mpirun): each rank's scoring context then holds that rank's samples only. */
#define PRUNE_CRITERION_DATA_PARALLEL 2u

/* ---------------------------------------------------------------------------------------------- */
/* Host services: the table the host hands to descriptor->initialize (host → plugin)              */
/* ---------------------------------------------------------------------------------------------- */

/**
 * The host's services. The table lives for the whole process; the plugin may keep the pointer.
 * Shapes are `int64_t` arrays of `rank` entries, rank 0 … PRUNE_MAX_RANK. Every tensor-producing
 * function writes a new OWNED handle to its last argument `out` (set to NULL on error). Operations
 * record on the host's tape when an input requires a gradient and recording is on, exactly as the
 * host's own layers do.
 */
typedef struct prune_host_services {
    uint32_t abi_version;  /* PRUNE_PLUGIN_ABI_VERSION of the host */
    uint32_t struct_size;  /* sizeof(prune_host_services) in the host */

    /* --- diagnostics and memory ----------------------------------------------------------------- */
    /** Writes `message` (UTF-8) to the host's log with a level and the plugin's name. */
    void (*log)(int32_t level, const char *message);
    /** Text describing the last failed host service call on this thread ("" if none). Host-owned. */
    const char *(*last_error)(void);
    /** `bytes` bytes aligned to 64, or NULL. Free with deallocate. */
    void *(*allocate)(size_t bytes);
    void (*deallocate)(void *pointer);

    /* --- tensor lifetime and inspection --------------------------------------------------------- */
    /** Gives back an owned handle. NULL is ignored. */
    prune_status (*tensor_release)(prune_tensor tensor);
    /** A second owned handle to the same tensor. */
    prune_status (*tensor_retain)(prune_tensor tensor, prune_tensor *out);
    /** Writes the rank to *rank and up to `capacity` extents to `shape`. */
    prune_status (*tensor_shape)(prune_tensor tensor, int64_t *shape, int32_t capacity, int32_t *rank);
    /** Copies the `count` float32 values of the tensor, in row-major order, to `values`. */
    prune_status (*tensor_read)(prune_tensor tensor, float *values, int64_t count);
    /** A new tensor holding a copy of `values` (`count` = product of `shape`). */
    prune_status (*tensor_create)(const float *values, int64_t count, const int64_t *shape, int32_t rank,
                                  int32_t requires_gradient, prune_tensor *out);
    /** A new tensor of `shape` filled with `value`. */
    prune_status (*tensor_full)(const int64_t *shape, int32_t rank, float value, prune_tensor *out);
    /** A new standard-normal tensor drawn from `seed` (the host's generator). */
    prune_status (*tensor_random_normal)(const int64_t *shape, int32_t rank, uint64_t seed, prune_tensor *out);
    /** The same values, cut from the tape (no gradient flows back through the result). */
    prune_status (*detach)(prune_tensor tensor, prune_tensor *out);

    /* --- autodiff --------------------------------------------------------------------------------- */
    /** Back-propagates from a scalar (one-element) tensor; gradients accumulate in leaves. */
    prune_status (*backward)(prune_tensor scalar);
    /** The accumulated gradient of a leaf, or *out = NULL when none arrived. */
    prune_status (*gradient)(prune_tensor leaf, prune_tensor *out);
    /** Clears a leaf's accumulated gradient. */
    prune_status (*zero_gradient)(prune_tensor leaf);
    /** Runs body(user) with recording on (enabled ≠ 0) or off; returns body's status. */
    prune_status (*with_gradient_mode)(int32_t enabled, prune_status (*body)(void *user), void *user);

    /* --- element-wise ------------------------------------------------------------------------------ */
    /** PRUNE_UNARY_* of every element. */
    prune_status (*unary)(prune_tensor x, int32_t function, prune_tensor *out);
    /** PRUNE_BINARY_* with NumPy broadcasting. */
    prune_status (*binary)(prune_tensor a, prune_tensor b, int32_t operation, prune_tensor *out);
    /** x · scale + shift. */
    prune_status (*affine)(prune_tensor x, float scale, float shift, prune_tensor *out);

    /* --- linear algebra, convolution ------------------------------------------------------------- */
    /** [..., m, k] · [..., k, n] → [..., m, n], batch axes broadcast. */
    prune_status (*matmul)(prune_tensor a, prune_tensor b, prune_tensor *out);
    /** x [..., in] · weightᵀ [out, in] + bias [out] (bias may be NULL). A zero-width `in` yields the bias. */
    prune_status (*linear)(prune_tensor x, prune_tensor weight, prune_tensor bias, prune_tensor *out);
    /** x [N, C, H, W] ⋆ weight [O, C, kh, kw] + bias [O] (may be NULL). */
    prune_status (*conv2d)(prune_tensor x, prune_tensor weight, prune_tensor bias, int32_t stride_y, int32_t stride_x,
                           int32_t padding_y, int32_t padding_x, prune_tensor *out);

    /* --- normalisation, attention, softmax ------------------------------------------------------- */
    /** Group norm of x [N, C, …] over `groups` groups; weight/bias [C] or NULL. */
    prune_status (*group_norm)(prune_tensor x, int32_t groups, prune_tensor weight, prune_tensor bias, float epsilon,
                               prune_tensor *out);
    /** Layer norm over the last axis; weight/bias [last] or NULL. */
    prune_status (*layer_norm)(prune_tensor x, prune_tensor weight, prune_tensor bias, float epsilon, prune_tensor *out);
    /** RMS norm over the last axis; weight [last] or NULL. */
    prune_status (*rms_norm)(prune_tensor x, prune_tensor weight, float epsilon, prune_tensor *out);
    /** Scaled-dot-product attention: q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv].
     *  scale ≤ 0 means 1/sqrt(D). */
    prune_status (*attention)(prune_tensor query, prune_tensor key, prune_tensor value, float scale, prune_tensor *out);
    /** Softmax along `axis` (negative counts from the end). */
    prune_status (*softmax)(prune_tensor x, int32_t axis, prune_tensor *out);
    /** FLUX-style rotary embedding of x [B, H, L, D] with cos, sin [L, D]. */
    prune_status (*rotary_embedding)(prune_tensor x, prune_tensor cos, prune_tensor sin, prune_tensor *out);

    /* --- reductions and losses -------------------------------------------------------------------- */
    /** PRUNE_REDUCE_* over `axis_count` axes (0 axes: all), keeping them as size 1 when keep ≠ 0. */
    prune_status (*reduce)(prune_tensor x, int32_t reduction, const int32_t *axes, int32_t axis_count, int32_t keep,
                           prune_tensor *out);
    /** mean((a − b)²), a scalar; shapes must match. */
    prune_status (*mean_squared_error)(prune_tensor a, prune_tensor b, prune_tensor *out);

    /* --- shape ---------------------------------------------------------------------------------- */
    /** Same elements, new shape (one extent may be −1). */
    prune_status (*reshape)(prune_tensor x, const int64_t *shape, int32_t rank, prune_tensor *out);
    /** Axes reordered: result axis i is input axis order[i]. */
    prune_status (*permute)(prune_tensor x, const int32_t *order, int32_t rank, prune_tensor *out);
    /** Joins `count` tensors along `axis` (other extents equal). */
    prune_status (*concat)(const prune_tensor *tensors, int32_t count, int32_t axis, prune_tensor *out);
    /** Elements [start, end) along `axis`. */
    prune_status (*slice)(prune_tensor x, int32_t axis, int64_t start, int64_t end, prune_tensor *out);

    /* --- model building (valid inside create_model / load_model) --------------------------------- */
    /**
     * The model parameter `key` of `shape`: read from the checkpoint being loaded, or drawn with
     * PRUNE_INIT_* and `argument` from the seed being built with. The host owns the parameter store
     * (export and reload work unchanged); *out is an owned handle the model may keep until release_model.
     */
    prune_status (*builder_parameter)(prune_model_builder *builder, const char *key, const int64_t *shape, int32_t rank,
                                      int32_t initialization, float argument, prune_tensor *out);
    /**
     * The shape stored in the checkpoint under `key` (to read pruned widths back), or *rank = −1 when
     * the model is built from a seed. PRUNE_ERR_NOT_FOUND when a checkpoint lacks the key.
     */
    prune_status (*builder_checkpoint_shape)(prune_model_builder *builder, const char *key, int64_t *shape,
                                             int32_t capacity, int32_t *rank);
    /** The integer `name` of config.json (loading) or of the preset's configuration (building). */
    prune_status (*builder_config_int)(prune_model_builder *builder, const char *name, int64_t *value);
    /** Declares a group of `unit_count` maskable units named `module_key` of PRUNE_UNIT_* `kind`. */
    prune_status (*builder_unit_group)(prune_model_builder *builder, const char *module_key, int32_t kind,
                                       int64_t unit_count);
    /** Adds to the last declared group: unit u owns entries offset + u·width ..< offset + (u+1)·width along
     *  `axis` of parameter `key`. */
    prune_status (*builder_unit_slice)(prune_model_builder *builder, const char *key, int32_t axis, int64_t offset,
                                       int64_t width);

    /* --- forward calls (valid inside forward / predict) ------------------------------------------ */
    /** The input tensor `name` (diffusers forward argument names), or PRUNE_ERR_NOT_FOUND. */
    prune_status (*call_input)(prune_forward_call *call, const char *name, prune_tensor *out);
    /** The unit mask [units] of `module_key`, or *out = NULL when that module is not masked. */
    prune_status (*call_mask)(prune_forward_call *call, const char *module_key, prune_tensor *out);
    /** The guidance scale of this call (predict), or 1 for a plain forward. */
    prune_status (*call_guidance)(prune_forward_call *call, float *scale);

    /* --- scoring contexts (valid inside criterion->score) ---------------------------------------- */
    /** Number of unit groups, calibration samples, and the run's seed. */
    prune_status (*scoring_counts)(prune_scoring_context *context, int32_t *groups, int32_t *samples, uint64_t *seed);
    /** Group `index`: its module key (host-owned, valid during score), PRUNE_UNIT_* kind and unit count. */
    prune_status (*scoring_group)(prune_scoring_context *context, int32_t index, const char **module_key, int32_t *kind,
                                  int64_t *unit_count);
    /** Number of parameter slices of group `index`, and slice `slice`'s key, axis, offset and width. */
    prune_status (*scoring_group_slice)(prune_scoring_context *context, int32_t index, int32_t slice,
                                        int32_t *slice_count, const char **key, int32_t *axis, int64_t *offset,
                                        int64_t *width);
    /** The model parameter `key`. */
    prune_status (*scoring_parameter)(prune_scoring_context *context, const char *key, prune_tensor *out);
    /** Sample `sample`'s step count, initial latents (from its noise) and unmasked final latents (target). */
    prune_status (*scoring_sample)(prune_scoring_context *context, int32_t sample, int32_t *steps,
                                   prune_tensor *initial_latents, prune_tensor *target);
    /**
     * One denoising step of sample `sample`: the latents after step `index` from `latents`, with unit masks
     * `masks[g]` for group g (in scoring_group order; NULL entries or masks = NULL: unmasked). Recorded on
     * the tape like any op.
     */
    prune_status (*scoring_step)(prune_scoring_context *context, int32_t sample, int32_t index, prune_tensor latents,
                                 const prune_tensor *masks, int32_t mask_count, prune_tensor *out);
    /** Reports progress (`total` 0 when unknown). */
    prune_status (*scoring_progress)(prune_scoring_context *context, int64_t completed, int64_t total,
                                     const char *message);

    /* --- appended after ABI 1's first release (check PRUNE_HAS_FIELD(host, prune_host_services, …)) -- */
    /**
     * Says which integer of the configuration holds the depth of the block list `list_key` (a group of
     * kind PRUNE_UNIT_BLOCK declared before, during this build): an export that removes whole blocks of
     * the list writes the number of kept blocks there in its config.json (e.g. DiT's "depth"), so the
     * loader builds that many blocks, numbered 0 … kept−1 as the export renumbers them. The value must
     * equal the list's block count now. Without this declaration an export refuses to remove whole blocks
     * of the list. Valid inside build_model.
     */
    prune_status (*builder_block_depth_key)(prune_model_builder *builder, const char *list_key, const char *config_key);
    /**
     * Sums `count` doubles in place over the ranks of a data-parallel run, so that statistics each rank gathered
     * over its own samples become the statistics of all samples on every rank. Every rank must make the same
     * calls with the same counts, in the same order; in a single process the values stay as they are. `values`
     * may be NULL only when `count` is 0. Valid inside criterion->score; a criterion that sums everything it
     * gathers over samples through it sets PRUNE_CRITERION_DATA_PARALLEL.
     */
    prune_status (*scoring_sum_over_ranks)(prune_scoring_context *context, double *values, int64_t count);
} prune_host_services;
/** The size of ABI 1's first services table: a plugin that calls no appended service may accept any host table
 *  at least this large (and must check PRUNE_HAS_FIELD before calling an appended one). */
#define PRUNE_HOST_SERVICES_MIN_SIZE (offsetof(prune_host_services, scoring_progress) + sizeof(void *))

/* ---------------------------------------------------------------------------------------------- */
/* Criterion vtable (plugin → host)                                                                */
/* ---------------------------------------------------------------------------------------------- */

/** A pruning criterion: one score per unit, higher = more important to keep. Static in the plugin. */
typedef struct prune_criterion {
    uint32_t struct_size;  /* sizeof(prune_criterion) in the plugin */
    const char *name;      /* the name `--criterion` selects, e.g. "gradient-flow" */
    const char *summary;   /* one line */
    uint32_t flags;        /* PRUNE_CRITERION_* */
    void *context;         /* handed back to score */
    /**
     * Scores every unit: writes `score_count` floats to `scores`, group after group in scoring_group
     * order (score_count = the sum of the groups' unit counts).
     */
    prune_status (*score)(void *context, prune_scoring_context *scoring, float *scores, int64_t score_count);
} prune_criterion;
#define PRUNE_CRITERION_MIN_SIZE (offsetof(prune_criterion, score) + sizeof(void *))

/* ---------------------------------------------------------------------------------------------- */
/* Architecture vtable (plugin → host)                                                             */
/* ---------------------------------------------------------------------------------------------- */

/** A named configuration a plugin architecture builds from a seed, and its default trajectory. */
typedef struct prune_preset {
    uint32_t struct_size;  /* sizeof(prune_preset) in the plugin */
    const char *name;      /* e.g. "dit-s-2" */
    const char *summary;
    /** The configuration as a JSON object (config.json of an export); builder_config_int reads it. */
    const char *configuration_json;
    int32_t steps;         /* default denoising steps */
    float guidance_scale;  /* default guidance (1: none) */
    int32_t height;        /* default image size in pixels */
    int32_t width;
} prune_preset;
#define PRUNE_PRESET_MIN_SIZE (offsetof(prune_preset, width) + sizeof(int32_t))

/**
 * An architecture: its units, a masked forward built from host operations, and its stepping schedule.
 *
 * Schedule: the host unrolls `scheduler_json` (a diffusers scheduler_config.json: DDIMScheduler,
 * EulerDiscreteScheduler, … — or a PruneKit scheduler preset name such as "sdxl-base") for the
 * requested steps. At step i it calls `predict` (or `forward` when predict is NULL) with inputs
 * `sample` (the scheduler-scaled latents), `timestep` [1] and the prompt's conditioning tensors, then
 * applies the scheduler update to what predict returned. The whole step is on the host tape.
 */
typedef struct prune_architecture {
    uint32_t struct_size;  /* sizeof(prune_architecture) in the plugin */
    const char *name;      /* short stable name, e.g. "dit" */
    const char *summary;
    const char *const *class_names;  /* config.json `_class_name` values load_model reads */
    int32_t class_name_count;
    const prune_preset *presets;
    int32_t preset_count;
    const char *scheduler_json;       /* see above */
    const char *const *input_names;   /* forward input names, e.g. "sample", "timestep", "class_labels" */
    int32_t input_name_count;
    /** Conditioning one prompt carries: names and [1, …] shapes (rank ≤ PRUNE_MAX_RANK each). */
    const char *const *conditioning_names;
    const int64_t *conditioning_shapes;  /* conditioning_count × PRUNE_MAX_RANK, unused extents 0 */
    const int32_t *conditioning_ranks;
    int32_t conditioning_count;
    int32_t latent_channels;  /* latents are [1, latent_channels, height/8, width/8] */
    void *context;

    /** Builds a model: declare parameters and units through the builder; *model is the plugin's object. */
    prune_status (*build_model)(void *context, prune_model_builder *builder, void **model);
    /** The raw denoiser on named inputs with masks (`prunekit forward`); *out is owned by the host. */
    prune_status (*forward)(void *model, prune_forward_call *call, prune_tensor *out);
    /** What the scheduler consumes (e.g. ε with guidance applied); NULL: forward is used. */
    prune_status (*predict)(void *model, prune_forward_call *call, prune_tensor *out);
    /** Releases everything `model` holds (its parameter handles included). */
    void (*release_model)(void *model);
} prune_architecture;
#define PRUNE_ARCHITECTURE_MIN_SIZE (offsetof(prune_architecture, release_model) + sizeof(void *))

/* ---------------------------------------------------------------------------------------------- */
/* Descriptor and entry                                                                            */
/* ---------------------------------------------------------------------------------------------- */

/**
 * An optional entry point: the host looks `symbol` up, parses `signature` and calls it through libffi
 * for the `role` it knows. Signature grammar: `RET(ARG,ARG,…)` with types v (void, return only),
 * i32, u32, i64, u64, f32, f64, ptr, str (const char *). Roles the host knows in ABI 1:
 *   "configure" "i32(str,str)"  called once per `--plugin-option KEY=VALUE` whose KEY is this plugin's
 *                               name + "." + key; returns a prune_status.
 *   "about"     "str()"         extra text for `prunekit plugins list` (static storage).
 *   "self-test" "i32()"         run by `prunekit plugins list --check`; returns a prune_status.
 * A hook whose signature does not parse or differs from its role's is rejected and the plugin does not
 * load; a hook whose symbol is missing likewise.
 */
typedef struct prune_hook {
    const char *role;
    const char *symbol;
    const char *signature;
} prune_hook;

/** What initialize fills in (host-allocated; the host sets struct_size to its own size). */
typedef struct prune_plugin_contents {
    uint32_t struct_size;
    const prune_criterion *const *criteria;
    int32_t criterion_count;
    const prune_architecture *const *architectures;
    int32_t architecture_count;
} prune_plugin_contents;

/** Static metadata the host reads before calling anything. */
typedef struct prune_plugin_descriptor {
    uint32_t abi_version;  /* PRUNE_PLUGIN_ABI_VERSION the plugin was built against */
    uint32_t struct_size;  /* sizeof(prune_plugin_descriptor) in the plugin */
    const char *name;      /* e.g. "gradient-flow"; prefixes its --plugin-option keys */
    const char *version;   /* the plugin's own version, e.g. "1.0.0" */
    uint32_t kinds;        /* PRUNE_KIND_* bit set */
    const char *summary;
    /** Registers the plugin's contents. `host` lives for the process. */
    prune_status (*initialize)(const prune_host_services *host, prune_plugin_contents *contents);
    /** Thread-local text of the plugin's last error (may be NULL). */
    const char *(*last_error)(void);
    const prune_hook *hooks;
    int32_t hook_count;
} prune_plugin_descriptor;
#define PRUNE_PLUGIN_DESCRIPTOR_MIN_SIZE (offsetof(prune_plugin_descriptor, hook_count) + sizeof(int32_t))

/** The type of PRUNE_PLUGIN_ENTRY_SYMBOL. Returns the same process-lifetime descriptor on every call (it may
 *  be built lazily on the first call, as PrunePluginKit does); must not call the host or fail. */
typedef const prune_plugin_descriptor *(*prune_plugin_entry_fn)(void);

/** A static English name for a status code ("ok", "invalid argument", …; "unknown status" otherwise). */
static inline const char *prune_status_name(prune_status status) {
    switch (status) {
    case PRUNE_OK: return "ok";
    case PRUNE_ERR_INVALID_ARGUMENT: return "invalid argument";
    case PRUNE_ERR_UNSUPPORTED: return "unsupported";
    case PRUNE_ERR_INTERNAL: return "internal error";
    case PRUNE_ERR_SHAPE: return "shape mismatch";
    case PRUNE_ERR_NOT_FOUND: return "not found";
    case PRUNE_ERR_OUT_OF_MEMORY: return "out of memory";
    case PRUNE_ERR_INVALID_HANDLE: return "invalid tensor handle";
    case PRUNE_ERR_IO: return "I/O error";
    case PRUNE_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    default: return "unknown status";
    }
}

#ifdef __cplusplus
}
#endif

#endif /* PRUNE_PLUGIN_H */
