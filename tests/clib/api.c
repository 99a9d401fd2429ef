/*
 * The C API's contract, checked from C (tests/clib.rs builds this against an exported model and
 * runs it on the host and on the emulated Cortex-M4F):
 *   - bad input (damaged blob, too-small memory, wrong sample counts, NULL pointers, bad scales,
 *     NaN values, running early) returns the documented status and changes nothing;
 *   - every buffer the library is given sits between guard bytes that must stay untouched;
 *   - streaming (mote_push_*, mote_run) gives what mote_classify_i16 gives for the same windows,
 *     floats give what counts give, and two models run side by side without disturbing each other.
 * Prints "api: N checks, F failed" and returns 0 only when nothing failed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mote.h"
#include "mote_model.h"
#include "windows.h"

#define GUARD 64
#define GUARD_BYTE 0xA5

static unsigned checks, failed;

#define CHECK(cond, ...)                      \
    do {                                      \
        checks++;                             \
        if (!(cond)) {                        \
            failed++;                         \
            printf("FAILED line %d: ", __LINE__); \
            printf(__VA_ARGS__);              \
            printf("\n");                     \
        }                                     \
    } while (0)

#define STATUS(call, expected)                                                         \
    do {                                                                               \
        int32_t got_ = (call);                                                         \
        CHECK(got_ == (expected), "%s returned %s, expected %s", #call,                \
              mote_status_text(got_), mote_status_text(expected));                     \
    } while (0)

/* Every buffer handed to the library, with guard bytes on both sides. */
static struct {
    uint8_t before[GUARD];
    uint8_t bytes[MOTE_MODEL_MEMORY_SIZE];
    uint8_t after[GUARD];
} memory_a, memory_b;
static struct {
    uint8_t before[GUARD];
    mote_context ctx;
    uint8_t after[GUARD];
} ctx_a, ctx_b;
static struct {
    uint8_t before[GUARD];
    mote_result result;
    uint8_t after[GUARD];
} result_a, result_b;
static struct {
    uint8_t before[GUARD];
    uint8_t bytes[MOTE_MODEL_BLOB_SIZE];
    uint8_t after[GUARD];
} damaged;
static struct {
    uint8_t before[GUARD];
    char text[6];
    uint8_t after[GUARD];
} label_out;
static float float_window[MOTE_MODEL_WINDOW_VALUES];

static void guard(uint8_t *before, uint8_t *after) {
    memset(before, GUARD_BYTE, GUARD);
    memset(after, GUARD_BYTE, GUARD);
}

static int intact(const uint8_t *before, const uint8_t *after) {
    for (unsigned i = 0; i < GUARD; i++) {
        if (before[i] != GUARD_BYTE || after[i] != GUARD_BYTE) return 0;
    }
    return 1;
}

static int same_result(const mote_result *a, const mote_result *b) {
    uint32_t anomaly_a, anomaly_b;
    memcpy(&anomaly_a, &a->anomaly, 4);
    memcpy(&anomaly_b, &b->anomaly, 4);
    return a->top == b->top && a->n_scores == b->n_scores && anomaly_a == anomaly_b
           && memcmp(a->scores, b->scores, a->n_scores) == 0;
}

static int matches_expected(const mote_result *r, unsigned w) {
    uint32_t bits;
    memcpy(&bits, &r->anomaly, 4);
    return r->top == example_top[w] && bits == example_anomaly_bits[w]
           && memcmp(r->scores, example_scores[w], r->n_scores) == 0;
}

static int32_t open_a(const float *scales) {
    return mote_open(&ctx_a.ctx, mote_model_blob, MOTE_MODEL_BLOB_SIZE, scales, MOTE_MODEL_AXES,
                     memory_a.bytes, sizeof memory_a.bytes);
}

int main(void) {
    guard(memory_a.before, memory_a.after);
    guard(memory_b.before, memory_b.after);
    guard(ctx_a.before, ctx_a.after);
    guard(ctx_b.before, ctx_b.after);
    guard(result_a.before, result_a.after);
    guard(result_b.before, result_b.after);
    guard(damaged.before, damaged.after);
    guard(label_out.before, label_out.after);
    const float *scales = example_scales[0];

    /* The blob and its figures. */
    mote_model_info info;
    STATUS(mote_model_check(mote_model_blob, MOTE_MODEL_BLOB_SIZE, &info), MOTE_OK);
    CHECK(info.memory_size == MOTE_MODEL_MEMORY_SIZE, "memory_size %lu, header says %lu",
          (unsigned long)info.memory_size, (unsigned long)MOTE_MODEL_MEMORY_SIZE);
    CHECK(info.n_axes == MOTE_MODEL_AXES && info.window_samples == MOTE_MODEL_WINDOW_SAMPLES
              && info.n_labels == MOTE_MODEL_LABEL_COUNT,
          "model info disagrees with mote_model.h");
    CHECK(mote_blob_problem(mote_model_blob, MOTE_MODEL_BLOB_SIZE) == NULL, "a valid blob has a problem");

    /* A damaged blob: one flipped byte, cut short, a future version, not a model at all. */
    memcpy(damaged.bytes, mote_model_blob, MOTE_MODEL_BLOB_SIZE);
    damaged.bytes[MOTE_MODEL_BLOB_SIZE / 2] ^= 0x40;
    STATUS(mote_model_check(damaged.bytes, MOTE_MODEL_BLOB_SIZE, NULL), MOTE_ERR_BLOB);
    CHECK(strstr(mote_blob_problem(damaged.bytes, MOTE_MODEL_BLOB_SIZE), "CRC") != NULL,
          "a flipped byte is reported as %s", mote_blob_problem(damaged.bytes, MOTE_MODEL_BLOB_SIZE));
    STATUS(mote_open(&ctx_a.ctx, damaged.bytes, MOTE_MODEL_BLOB_SIZE, scales, MOTE_MODEL_AXES,
                     memory_a.bytes, sizeof memory_a.bytes),
           MOTE_ERR_BLOB);
    STATUS(mote_model_check(mote_model_blob, MOTE_MODEL_BLOB_SIZE - 1, NULL), MOTE_ERR_BLOB);
    STATUS(mote_model_check(mote_model_blob, 3, NULL), MOTE_ERR_BLOB);
    memcpy(damaged.bytes, mote_model_blob, MOTE_MODEL_BLOB_SIZE);
    damaged.bytes[8] = 0x7f; /* format version, little-endian u16 after the magic */
    STATUS(mote_model_check(damaged.bytes, MOTE_MODEL_BLOB_SIZE, NULL), MOTE_ERR_BLOB_VERSION);
    damaged.bytes[0] = 'X';
    STATUS(mote_model_check(damaged.bytes, MOTE_MODEL_BLOB_SIZE, NULL), MOTE_ERR_BLOB);
    CHECK(strstr(mote_blob_problem(damaged.bytes, MOTE_MODEL_BLOB_SIZE), "magic") != NULL, "bad magic named");

    /* Nothing is open yet: every call on the context says so. */
    memset(&ctx_a.ctx, 0, sizeof ctx_a.ctx);
    STATUS(mote_run(&ctx_a.ctx, &result_a.result), MOTE_ERR_NOT_OPEN);
    STATUS(mote_push_i16(&ctx_a.ctx, example_counts[0], MOTE_MODEL_AXES, NULL), MOTE_ERR_NOT_OPEN);
    STATUS(mote_reset(&ctx_a.ctx), MOTE_ERR_NOT_OPEN);
    CHECK(mote_label(&ctx_a.ctx, 0, label_out.text, sizeof label_out.text) == 0, "label of an unopened context");

    /* Too little memory, NULL pointers, bad scales: refused, the context stays unopened. */
    STATUS(mote_open(&ctx_a.ctx, mote_model_blob, MOTE_MODEL_BLOB_SIZE, scales, MOTE_MODEL_AXES,
                     memory_a.bytes, MOTE_MODEL_MEMORY_SIZE - 1),
           MOTE_ERR_MEMORY_TOO_SMALL);
    STATUS(mote_open(NULL, mote_model_blob, MOTE_MODEL_BLOB_SIZE, scales, MOTE_MODEL_AXES,
                     memory_a.bytes, sizeof memory_a.bytes),
           MOTE_ERR_NULL);
    STATUS(mote_open(&ctx_a.ctx, NULL, MOTE_MODEL_BLOB_SIZE, scales, MOTE_MODEL_AXES, memory_a.bytes,
                     sizeof memory_a.bytes),
           MOTE_ERR_NULL);
    STATUS(mote_open(&ctx_a.ctx, mote_model_blob, MOTE_MODEL_BLOB_SIZE, NULL, MOTE_MODEL_AXES,
                     memory_a.bytes, sizeof memory_a.bytes),
           MOTE_ERR_NULL);
    STATUS(mote_open(&ctx_a.ctx, mote_model_blob, MOTE_MODEL_BLOB_SIZE, scales, MOTE_MODEL_AXES, NULL,
                     sizeof memory_a.bytes),
           MOTE_ERR_NULL);
    STATUS(mote_open(&ctx_a.ctx, mote_model_blob, MOTE_MODEL_BLOB_SIZE, scales, MOTE_MODEL_AXES - 1,
                     memory_a.bytes, sizeof memory_a.bytes),
           MOTE_ERR_SCALES);
    float bad_scales[MOTE_MAX_AXES];
    memcpy(bad_scales, scales, sizeof(float) * MOTE_MODEL_AXES);
    bad_scales[0] = 0.0f;
    STATUS(open_a(bad_scales), MOTE_ERR_SCALES);
    bad_scales[0] = NAN;
    STATUS(open_a(bad_scales), MOTE_ERR_SCALES);
    STATUS(mote_run(&ctx_a.ctx, &result_a.result), MOTE_ERR_NOT_OPEN);

    /* Open; misuse of an open context. */
    STATUS(open_a(scales), MOTE_OK);
    STATUS(mote_run(&ctx_a.ctx, &result_a.result), MOTE_ERR_WINDOW_NOT_FULL);
    STATUS(mote_run(&ctx_a.ctx, NULL), MOTE_ERR_NULL);
    STATUS(mote_run(NULL, &result_a.result), MOTE_ERR_NULL);
    size_t consumed = 12345;
    STATUS(mote_push_i16(&ctx_a.ctx, example_counts[0], MOTE_MODEL_AXES + 1, &consumed), MOTE_ERR_SAMPLE_COUNT);
    CHECK(consumed == 12345, "a refused push reported %lu values consumed", (unsigned long)consumed);
    STATUS(mote_push_i16(&ctx_a.ctx, NULL, MOTE_MODEL_AXES, NULL), MOTE_ERR_NULL);
    STATUS(mote_classify_i16(&ctx_a.ctx, example_counts[0], MOTE_MODEL_WINDOW_VALUES - 1, &result_a.result),
           MOTE_ERR_SAMPLE_COUNT);
    STATUS(mote_classify_i16(&ctx_a.ctx, example_counts[0], MOTE_MODEL_WINDOW_VALUES + MOTE_MODEL_AXES,
                             &result_a.result),
           MOTE_ERR_SAMPLE_COUNT);
    STATUS(mote_classify_i16(&ctx_a.ctx, NULL, MOTE_MODEL_WINDOW_VALUES, &result_a.result), MOTE_ERR_NULL);
    STATUS(mote_classify_i16(&ctx_a.ctx, example_counts[0], MOTE_MODEL_WINDOW_VALUES, NULL), MOTE_ERR_NULL);
    float nan_sample[MOTE_MAX_AXES] = {0};
    nan_sample[MOTE_MODEL_AXES - 1] = NAN;
    STATUS(mote_push_f32(&ctx_a.ctx, nan_sample, MOTE_MODEL_AXES, &consumed), MOTE_ERR_VALUE);
    /* ... and none of it filled the window. */
    STATUS(mote_run(&ctx_a.ctx, &result_a.result), MOTE_ERR_WINDOW_NOT_FULL);

    /* Labels: copied NUL-terminated, truncated to the buffer, full length returned. */
    static const char *const labels[] = MOTE_MODEL_LABELS;
    size_t length = mote_label(&ctx_a.ctx, 0, label_out.text, sizeof label_out.text);
    CHECK(length == strlen(labels[0]), "label 0 length %lu", (unsigned long)length);
    CHECK(strncmp(label_out.text, labels[0], sizeof label_out.text - 1) == 0
              && label_out.text[length < sizeof label_out.text ? length : sizeof label_out.text - 1] == 0,
          "label 0 copied as '%s'", label_out.text);
    CHECK(mote_label(&ctx_a.ctx, MOTE_MODEL_LABEL_COUNT, label_out.text, sizeof label_out.text) == 0,
          "a label past the last");

    /* Every status has a text that starts with its name. */
    static const int32_t statuses[] = {MOTE_OK, MOTE_WINDOW_READY, MOTE_ERR_NULL, MOTE_ERR_BLOB,
                                       MOTE_ERR_BLOB_VERSION, MOTE_ERR_MEMORY_TOO_SMALL, MOTE_ERR_SCALES,
                                       MOTE_ERR_SAMPLE_COUNT, MOTE_ERR_VALUE, MOTE_ERR_WINDOW_NOT_FULL,
                                       MOTE_ERR_NOT_OPEN, MOTE_ERR_MODEL_UNUSABLE, MOTE_ERR_RUN};
    for (unsigned i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        CHECK(strncmp(mote_status_text(statuses[i]), "MOTE_", 5) == 0, "status %ld text", (long)statuses[i]);
    }
    CHECK(strncmp(mote_status_text(-1000), "MOTE_ERR_UNKNOWN", 16) == 0, "unknown status text");

    /* Streaming gives what the whole-window call gives: windows pushed sample by sample (with the
     * model's stride they follow each other), in uneven chunks, as counts and as floats. */
    unsigned streamed = 0;
    for (unsigned w = 0; w < EXAMPLE_WINDOWS; w++) {
        STATUS(open_a(example_scales[w]), MOTE_OK);
        size_t offset = 0;
        int32_t status = MOTE_OK;
        while (offset < MOTE_MODEL_WINDOW_VALUES) {
            size_t chunk = MOTE_MODEL_AXES * (1 + (offset / MOTE_MODEL_AXES) % 3);
            if (chunk > MOTE_MODEL_WINDOW_VALUES - offset) chunk = MOTE_MODEL_WINDOW_VALUES - offset;
            status = mote_push_i16(&ctx_a.ctx, &example_counts[w][offset], chunk, &consumed);
            offset += consumed;
            if (status != MOTE_OK) break;
        }
        CHECK(status == MOTE_WINDOW_READY && offset == MOTE_MODEL_WINDOW_VALUES, "window %u: push ended with %s",
              w, mote_status_text(status));
        STATUS(mote_push_i16(&ctx_a.ctx, example_counts[w], MOTE_MODEL_AXES, &consumed), MOTE_WINDOW_READY);
        CHECK(consumed == 0, "a full window took more values");
        STATUS(mote_run(&ctx_a.ctx, &result_a.result), MOTE_OK);
        STATUS(mote_classify_i16(&ctx_a.ctx, example_counts[w], MOTE_MODEL_WINDOW_VALUES, &result_b.result), MOTE_OK);
        CHECK(same_result(&result_a.result, &result_b.result), "window %u: streamed and whole differ", w);
        CHECK(matches_expected(&result_a.result, w), "window %u differs from Mote's host result", w);
        for (unsigned i = 0; i < MOTE_MODEL_WINDOW_VALUES; i++) {
            float_window[i] = (float)example_counts[w][i] * example_scales[w][i % MOTE_MODEL_AXES];
        }
        STATUS(mote_classify_f32(&ctx_a.ctx, float_window, MOTE_MODEL_WINDOW_VALUES, &result_b.result), MOTE_OK);
        CHECK(same_result(&result_a.result, &result_b.result), "window %u: floats and counts differ", w);
        streamed += matches_expected(&result_a.result, w);
    }

    /* Two models side by side: interleaved pushes into two contexts, each its own result. */
    if (EXAMPLE_WINDOWS >= 2) {
        STATUS(open_a(example_scales[0]), MOTE_OK);
        STATUS(mote_open(&ctx_b.ctx, mote_model_blob, MOTE_MODEL_BLOB_SIZE, example_scales[1], MOTE_MODEL_AXES,
                         memory_b.bytes, sizeof memory_b.bytes),
               MOTE_OK);
        for (unsigned s = 0; s < MOTE_MODEL_WINDOW_SAMPLES; s++) {
            size_t at = (size_t)s * MOTE_MODEL_AXES;
            mote_push_i16(&ctx_a.ctx, &example_counts[0][at], MOTE_MODEL_AXES, NULL);
            for (unsigned i = 0; i < MOTE_MODEL_AXES; i++) {
                float_window[i] = (float)example_counts[1][at + i] * example_scales[1][i];
            }
            mote_push_f32(&ctx_b.ctx, float_window, MOTE_MODEL_AXES, NULL);
        }
        STATUS(mote_run(&ctx_a.ctx, &result_a.result), MOTE_OK);
        STATUS(mote_run(&ctx_b.ctx, &result_b.result), MOTE_OK);
        CHECK(matches_expected(&result_a.result, 0), "side by side: model A's window 0");
        CHECK(matches_expected(&result_b.result, 1), "side by side: model B's window 1");
        CHECK(result_a.result.seq == 0 && result_b.result.seq == 0, "side by side: sequence numbers");
    }

    CHECK(intact(memory_a.before, memory_a.after) && intact(memory_b.before, memory_b.after), "memory guards");
    CHECK(intact(ctx_a.before, ctx_a.after) && intact(ctx_b.before, ctx_b.after), "context guards");
    CHECK(intact(result_a.before, result_a.after) && intact(result_b.before, result_b.after), "result guards");
    CHECK(intact(damaged.before, damaged.after) && intact(label_out.before, label_out.after), "blob and label guards");
    printf("streamed: %u of %u windows match Mote's results\n", streamed, (unsigned)EXAMPLE_WINDOWS);
    printf("api: %u checks, %u failed\n", checks, failed);
    return failed == 0 ? 0 : 1;
}
