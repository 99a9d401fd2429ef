/*
 * Instructions per window of the C library on the emulated Cortex-M4F (tests/bench/clib.rs):
 * QEMU runs with -icount shift=0 (one instruction per virtual nanosecond) and SysTick counts the
 * 25 MHz system clock, so one tick is 40 instructions — the clock the Rust firmware counts with.
 * Prints "instructions W N" for each example window (mote_classify_i16: DSP, network, anomaly).
 */
#include <stdio.h>

#include "mote.h"
#include "mote_model.h"
#include "windows.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define INSTRUCTIONS_PER_TICK 40u /* 1 GHz of icount time / 25 MHz */

static mote_context ctx;
static uint8_t memory[MOTE_MODEL_MEMORY_SIZE];

static uint32_t ticks_between(uint32_t start, uint32_t end) {
    return (start - end) & 0x00FFFFFFu; /* a down-counter */
}

int main(void) {
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 5u; /* enabled, processor clock, no interrupt */
    uint32_t start = SYST_CVR, end = SYST_CVR;
    uint32_t overhead = ticks_between(start, end);
    for (unsigned w = 0; w < EXAMPLE_WINDOWS; w++) {
        if (mote_open(&ctx, mote_model_blob, MOTE_MODEL_BLOB_SIZE, example_scales[w], MOTE_MODEL_AXES, memory,
                      sizeof memory) != MOTE_OK) {
            return 2;
        }
        mote_result result;
        start = SYST_CVR;
        int32_t status = mote_classify_i16(&ctx, example_counts[w], MOTE_MODEL_WINDOW_VALUES, &result);
        end = SYST_CVR;
        if (status != MOTE_OK) return 3;
        printf("instructions %u %lu\n", w, (unsigned long)((ticks_between(start, end) - overhead) * INSTRUCTIONS_PER_TICK));
    }
    return 0;
}
