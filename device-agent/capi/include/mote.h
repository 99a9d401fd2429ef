/*
 * mote.h: run a Mote model (DSP block + int8 network + anomaly score) in your own firmware.
 *
 * The library (libmote.a) is Mote's own runtime and DSP, the code its boards run and its host
 * evaluates with, so a window gives the same scores here, bit for bit, as in Mote.
 *
 *  - No allocation and no global state: all memory is yours (a context, one working buffer and
 *    the model blob), so any number of models can run side by side. The functions are reentrant
 *    for different contexts.
 *  - Every function checks its arguments and returns a status: MOTE_OK (0), MOTE_WINDOW_READY (1)
 *    or a negative MOTE_ERR_* code; mote_status_text() names it. A call that fails changes nothing
 *    and writes nothing outside the buffers you passed.
 *  - A model export (mote deploy --export c-library) also writes mote_model.h, which holds the
 *    blob and the sizes below as macros: MOTE_MODEL_MEMORY_SIZE, MOTE_MODEL_AXES, ...
 *
 * Typical use (one sample at a time from a sensor):
 *
 *     static mote_context ctx;
 *     static uint8_t memory[MOTE_MODEL_MEMORY_SIZE];
 *     static const float scales[MOTE_MODEL_AXES] = MOTE_MODEL_AXIS_SCALES;
 *     mote_open(&ctx, mote_model_blob, sizeof mote_model_blob, scales, MOTE_MODEL_AXES,
 *               memory, sizeof memory);
 *     for (;;) {
 *         int16_t sample[MOTE_MODEL_AXES];      // one reading of every axis, in model order
 *         read_sensor(sample);
 *         if (mote_push_i16(&ctx, sample, MOTE_MODEL_AXES, NULL) == MOTE_WINDOW_READY) {
 *             mote_result result;
 *             if (mote_run(&ctx, &result) == MOTE_OK) use(result.top, result.scores);
 *         }
 *     }
 */
#ifndef MOTE_H
#define MOTE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this API (the functions and structures below). */
#define MOTE_API_VERSION 1

/** Most labels a model has (the size of mote_result.scores). */
#define MOTE_MAX_LABELS 32
/** Most axes a model reads. */
#define MOTE_MAX_AXES 8
/** Bytes of a mote_context. */
#define MOTE_CONTEXT_SIZE 256

/* Statuses. */
#define MOTE_OK 0
/** mote_push_*: the window is full; call mote_run before pushing more. */
#define MOTE_WINDOW_READY 1
/** A required pointer is NULL (or a context pointer is not 8-byte aligned). */
#define MOTE_ERR_NULL (-1)
/** The model blob is damaged or not a Mote model (mote_blob_problem says what is wrong). */
#define MOTE_ERR_BLOB (-2)
/** The model blob was written for a newer runtime than this library. */
#define MOTE_ERR_BLOB_VERSION (-3)
/** The working memory is smaller than the model needs (mote_memory_size). */
#define MOTE_ERR_MEMORY_TOO_SMALL (-4)
/** The axis scales: not one per model axis, or one is zero or not finite. */
#define MOTE_ERR_SCALES (-5)
/** A sample count that does not fit: not whole samples (a multiple of the axes), or not exactly
 *  one window for mote_classify_*. */
#define MOTE_ERR_SAMPLE_COUNT (-6)
/** A float value is NaN or infinite. */
#define MOTE_ERR_VALUE (-7)
/** mote_run before the window is full. */
#define MOTE_ERR_WINDOW_NOT_FULL (-8)
/** The context was not opened with mote_open (or was overwritten). */
#define MOTE_ERR_NOT_OPEN (-9)
/** The model cannot run here: its DSP block does not fit its window, or it neither classifies
 *  nor scores anomalies. */
#define MOTE_ERR_MODEL_UNUSABLE (-10)
/** The DSP block or the network failed on this window (a library fault; please report it). */
#define MOTE_ERR_RUN (-11)

/** A model's working state. Yours to place anywhere (static, stack, struct member); opaque. */
typedef struct mote_context {
    uint64_t opaque[MOTE_CONTEXT_SIZE / 8];
} mote_context;

/** One classified window. */
typedef struct mote_result {
    /** Window number since mote_open (counts mote_run and mote_classify_* calls). */
    uint32_t seq;
    /** Index of the top label (the first on ties); -1 when the model has no classifier. */
    int32_t top;
    /** Number of valid entries in scores (the model's labels). */
    uint32_t n_scores;
    /** Quantized softmax scores, one per label; mote_probability() turns one into [0, 1). */
    int8_t scores[MOTE_MAX_LABELS];
    /** Anomaly score (distance to the nearest training cluster / its radius; ~1 is typical of
     *  training data); NaN when the model has no anomaly block. */
    float anomaly;
} mote_result;

/** What a model needs and reads. */
typedef struct mote_model_info {
    uint32_t n_axes;
    uint32_t window_samples;  /**< samples (time steps) per window */
    uint32_t stride_samples;  /**< samples between the starts of consecutive windows */
    uint32_t n_labels;
    uint32_t n_features;      /**< the DSP block's output length */
    uint32_t memory_size;     /**< bytes of working memory mote_open needs */
    uint32_t has_classifier;  /**< 1 when the model classifies */
    uint32_t has_anomaly;     /**< 1 when the model scores anomalies */
    float rate_hz;            /**< the sample rate the model was trained at */
} mote_model_info;

/** The probability a score stands for: (score + 128) / 256. */
static inline float mote_probability(int8_t score) {
    return (float)((int)score + 128) / 256.0f;
}

/** A status's name and meaning, e.g. "MOTE_ERR_SCALES: ...". Never NULL. */
const char *mote_status_text(int32_t status);

/** Checks a model blob (header, CRC, every bound, the arena plan) and fills *info (may be NULL).
 *  MOTE_OK, MOTE_ERR_BLOB, MOTE_ERR_BLOB_VERSION or MOTE_ERR_NULL. */
int32_t mote_model_check(const uint8_t *blob, size_t blob_len, mote_model_info *info);

/** What is wrong with a blob, in words; NULL when it is a valid model. */
const char *mote_blob_problem(const uint8_t *blob, size_t blob_len);

/** Opens a model: checks the blob, lays out `memory` (any alignment; at least
 *  mote_model_info.memory_size bytes, MOTE_MODEL_MEMORY_SIZE for an exported model) and keeps
 *  `axis_scales`, the physical size of one count on each axis in the model's axis order (e.g. the
 *  sensor's m/s² per LSB). The blob and the memory must outlive the context; the scales are
 *  copied. Opening an open context starts it afresh. */
int32_t mote_open(mote_context *ctx, const uint8_t *blob, size_t blob_len, const float *axis_scales,
                  size_t n_scales, void *memory, size_t memory_len);

/** Appends samples to the window: `n_values` interleaved values (axis 0, axis 1, ..., then the
 *  next time step), a multiple of the model's axes, as raw counts. Stops when the window is
 *  full and returns MOTE_WINDOW_READY; `*consumed` (may be NULL) says how many values were taken,
 *  so push the rest after mote_run. Otherwise MOTE_OK. */
int32_t mote_push_i16(mote_context *ctx, const int16_t *values, size_t n_values, size_t *consumed);

/** As mote_push_i16 for values in physical units: each becomes round(value / axis scale),
 *  clamped to +-32767. NaN or infinite values are refused (MOTE_ERR_VALUE) before any is taken. */
int32_t mote_push_f32(mote_context *ctx, const float *values, size_t n_values, size_t *consumed);

/** Classifies the full window (DSP block, network, anomaly score), then slides it by the
 *  model's stride. MOTE_ERR_WINDOW_NOT_FULL before a window is complete. */
int32_t mote_run(mote_context *ctx, mote_result *result);

/** Classifies one whole window given as an array (exactly window_samples x n_axes interleaved
 *  counts), read in place. Does not touch a window being filled by mote_push_*. */
int32_t mote_classify_i16(mote_context *ctx, const int16_t *window, size_t n_values,
                          mote_result *result);

/** As mote_classify_i16 for values in physical units (converted as mote_push_f32 does, into the
 *  context's window buffer: a window being filled by mote_push_* is discarded). */
int32_t mote_classify_f32(mote_context *ctx, const float *window, size_t n_values,
                          mote_result *result);

/** Empties the window (e.g. after a gap in the sensor stream). */
int32_t mote_reset(mote_context *ctx);

/** Fills *info for an open context. */
int32_t mote_info(const mote_context *ctx, mote_model_info *info);

/** Copies label `index` as a NUL-terminated string into `out` (truncated to out_len - 1 bytes).
 *  Returns the label's full length in bytes, or 0 when there is no such label or ctx is not open. */
size_t mote_label(const mote_context *ctx, uint32_t index, char *out, size_t out_len);

#ifdef __cplusplus
}
#endif

#endif /* MOTE_H */
