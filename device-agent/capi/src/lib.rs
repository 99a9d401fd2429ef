//! Mote's runtime and DSP behind a C ABI (`include/mote.h` is the contract): `libmote.a` for
//! anyone's C or C++ firmware.
//!
//! Everything a model needs lives in memory the caller owns: a [`Context`] (an opaque
//! `mote_context` of `MOTE_CONTEXT_SIZE` bytes on the C side), one working buffer (the window as
//! `i16` counts, the features and DSP scratch as `f32`, the runtime's arena) and the blob. No
//! allocation, no statics that change, so two models run side by side. Every entry point checks
//! its pointers and lengths and returns a status; a failing call writes nothing.
//!
//! A window is computed exactly as a Mote board computes it (`mote-agent`'s inference): the DSP
//! block on the raw counts and the axis scales, the anomaly score on the features, the int8
//! network in the arena. Same code, same results.
#![no_std]

use core::ffi::c_char;
use core::mem::{align_of, size_of};

use mote_dsp::FeatureBlock;
use mote_runtime::{BlobError, MAX_AXES, MAX_LABELS, Model, round_to_i32};

pub const OK: i32 = 0;
pub const WINDOW_READY: i32 = 1;
pub const ERR_NULL: i32 = -1;
pub const ERR_BLOB: i32 = -2;
pub const ERR_BLOB_VERSION: i32 = -3;
pub const ERR_MEMORY_TOO_SMALL: i32 = -4;
pub const ERR_SCALES: i32 = -5;
pub const ERR_SAMPLE_COUNT: i32 = -6;
pub const ERR_VALUE: i32 = -7;
pub const ERR_WINDOW_NOT_FULL: i32 = -8;
pub const ERR_NOT_OPEN: i32 = -9;
pub const ERR_MODEL_UNUSABLE: i32 = -10;
pub const ERR_RUN: i32 = -11;

/// `MOTE_CONTEXT_SIZE` in mote.h.
const CONTEXT_SIZE: usize = 256;
/// "MOTE" + the API version: what an opened context starts with.
const OPEN_MAGIC: u32 = 0x4d4f_5401;

/// A model's state, in the caller's `mote_context` (opaque to C).
#[repr(C)]
pub struct Context {
    magic: u32,
    n_axes: u32,
    window_samples: u32,
    stride_samples: u32,
    /// Samples in the window buffer.
    filled: u32,
    /// Samples to drop before filling again (a stride longer than the window).
    skip: u32,
    seq: u32,
    n_features: u32,
    scratch_len: u32,
    arena_len: u32,
    scales: [f32; MAX_AXES],
    blob: *const u8,
    blob_len: usize,
    window: *mut i16,
    features: *mut f32,
    scratch: *mut f32,
    arena: *mut u8,
}

const _: () = assert!(size_of::<Context>() <= CONTEXT_SIZE && align_of::<Context>() <= 8);
const _: () = assert!(MAX_LABELS == 32 && MAX_AXES == 8, "mote.h's MOTE_MAX_LABELS / MOTE_MAX_AXES");

/// `mote_result`.
#[repr(C)]
pub struct MoteResult {
    seq: u32,
    top: i32,
    n_scores: u32,
    scores: [i8; MAX_LABELS],
    anomaly: f32,
}

impl MoteResult {
    const EMPTY: MoteResult =
        MoteResult { seq: 0, top: -1, n_scores: 0, scores: [0; MAX_LABELS], anomaly: f32::NAN };
}

/// `mote_model_info`.
#[repr(C)]
pub struct MoteModelInfo {
    n_axes: u32,
    window_samples: u32,
    stride_samples: u32,
    n_labels: u32,
    n_features: u32,
    memory_size: u32,
    has_classifier: u32,
    has_anomaly: u32,
    rate_hz: f32,
}

/// Where the parts of the working memory go (in elements of their type).
struct Layout {
    window: usize,
    features: usize,
    scratch: usize,
    arena: usize,
}

impl Layout {
    fn of(model: &Model<'_>) -> Result<Layout, i32> {
        if !model.has_classifier() && model.anomaly().is_none() {
            return Err(ERR_MODEL_UNUSABLE);
        }
        let (samples, axes, rate) = (model.window_samples(), model.n_axes(), model.rate_hz());
        let dsp = model.dsp();
        dsp.validate(samples, axes, rate).map_err(|_| ERR_MODEL_UNUSABLE)?;
        let scratch = dsp.scratch_len(samples, axes, rate).map_err(|_| ERR_MODEL_UNUSABLE)?;
        let window = samples.checked_mul(axes).ok_or(ERR_MODEL_UNUSABLE)?;
        Ok(Layout { window, features: model.n_features(), scratch, arena: model.arena_len() })
    }

    /// Bytes from the 4-aligned start: window (`i16`, padded to 4), features and scratch (`f32`),
    /// arena (bytes).
    fn offsets(&self) -> Option<[usize; 4]> {
        let window_bytes = self.window.checked_mul(2)?.checked_add(3)? & !3;
        let features = window_bytes;
        let scratch = features.checked_add(self.features.checked_mul(4)?)?;
        let arena = scratch.checked_add(self.scratch.checked_mul(4)?)?;
        let end = arena.checked_add(self.arena)?;
        Some([features, scratch, arena, end])
    }

    /// What the caller must provide: the parts plus 3 bytes to align an arbitrary pointer.
    fn memory_size(&self) -> Option<usize> {
        self.offsets()?[3].checked_add(3)
    }
}

fn blob_status(error: BlobError) -> i32 {
    match error {
        BlobError::UnsupportedVersion { .. } => ERR_BLOB_VERSION,
        _ => ERR_BLOB,
    }
}

/// # Safety
/// `blob` is null or points to `len` readable bytes.
unsafe fn blob_slice<'a>(blob: *const u8, len: usize) -> Option<&'a [u8]> {
    if blob.is_null() {
        return None;
    }
    // SAFETY: non-null, and the caller promises `len` readable bytes.
    Some(unsafe { core::slice::from_raw_parts(blob, len) })
}

/// The open context behind `ctx`, or the status to return.
///
/// # Safety
/// `ctx` is null or points to a `mote_context`.
unsafe fn context<'a>(ctx: *mut Context) -> Result<&'a mut Context, i32> {
    if ctx.is_null() || !(ctx as usize).is_multiple_of(align_of::<Context>()) {
        return Err(ERR_NULL);
    }
    // SAFETY: non-null, aligned, and the caller's mote_context is CONTEXT_SIZE bytes.
    let context = unsafe { &mut *ctx };
    if context.magic != OPEN_MAGIC || context.blob.is_null() {
        return Err(ERR_NOT_OPEN);
    }
    Ok(context)
}

impl Context {
    fn model(&self) -> Result<Model<'_>, i32> {
        // SAFETY: mote_open checked the blob; the caller keeps it alive while the context is used.
        let blob = unsafe { core::slice::from_raw_parts(self.blob, self.blob_len) };
        Model::parse_trusted(blob).map_err(blob_status)
    }

    fn window_len(&self) -> usize {
        self.window_samples as usize * self.n_axes as usize
    }

    fn window(&mut self) -> &mut [i16] {
        // SAFETY: mote_open laid the window out inside the caller's memory.
        unsafe { core::slice::from_raw_parts_mut(self.window, self.window_len()) }
    }

    fn is_full(&self) -> bool {
        self.filled >= self.window_samples
    }

    /// Takes whole samples from `values` until the window is full; returns the values taken.
    fn push(&mut self, values: &[i16]) -> usize {
        let n_axes = self.n_axes as usize;
        let mut taken = 0;
        while taken < values.len() && !self.is_full() {
            if self.skip > 0 {
                self.skip -= 1;
            } else {
                let start = self.filled as usize * n_axes;
                let sample = &values[taken..taken + n_axes];
                self.window()[start..start + n_axes].copy_from_slice(sample);
                self.filled += 1;
            }
            taken += n_axes;
        }
        taken
    }

    /// Keeps the last `window − stride` samples after a window was classified.
    fn advance(&mut self) {
        let n_axes = self.n_axes as usize;
        let (window, stride) = (self.window_samples, self.stride_samples);
        if stride >= window {
            self.filled = 0;
            self.skip = stride - window;
        } else {
            let len = self.window_len();
            self.window().copy_within(stride as usize * n_axes..len, 0);
            self.filled = window - stride;
        }
    }

    /// DSP block, anomaly score and network on `window` (`None`: the context's own window).
    fn classify(&mut self, window: Option<&[i16]>, result: &mut MoteResult) -> Result<(), i32> {
        let model = self.model()?;
        // SAFETY: mote_open laid these out, disjoint, inside the caller's memory.
        let (features, scratch, arena) = unsafe {
            (
                core::slice::from_raw_parts_mut(self.features, self.n_features as usize),
                core::slice::from_raw_parts_mut(self.scratch, self.scratch_len as usize),
                core::slice::from_raw_parts_mut(self.arena, self.arena_len as usize),
            )
        };
        let window = match window {
            Some(window) => window,
            // SAFETY: as above; the window does not overlap the other parts.
            None => unsafe { core::slice::from_raw_parts(self.window, self.window_len()) },
        };
        let scales = &self.scales[..self.n_axes as usize];
        model
            .dsp()
            .compute(window, self.n_axes as usize, scales, model.rate_hz(), features, scratch)
            .map_err(|_| ERR_RUN)?;
        let mut out = MoteResult { seq: self.seq, ..MoteResult::EMPTY };
        if let Some(score) = model.anomaly_score(features) {
            out.anomaly = score;
        }
        if model.has_classifier() {
            let classification = model.classify(features, arena).map_err(|_| ERR_RUN)?;
            let n = classification.scores.len().min(MAX_LABELS);
            out.scores[..n].copy_from_slice(&classification.scores[..n]);
            out.n_scores = n as u32;
            out.top = classification.top as i32;
        }
        *result = out;
        self.seq = self.seq.wrapping_add(1);
        Ok(())
    }
}

/// Counts from physical values, as `mote_push_f32` documents; `None` for a non-finite value.
fn to_count(value: f32, scale: f32) -> Option<i16> {
    if !value.is_finite() {
        return None;
    }
    Some(round_to_i32(value / scale).clamp(-32767, 32767) as i16)
}

/// # Safety
/// `values` is null or points to `n` readable values of `T`.
unsafe fn slice_of<'a, T>(values: *const T, n: usize) -> Result<&'a [T], i32> {
    if values.is_null() {
        return if n == 0 { Ok(&[]) } else { Err(ERR_NULL) };
    }
    // SAFETY: non-null, and the caller promises `n` readable values.
    Ok(unsafe { core::slice::from_raw_parts(values, n) })
}

/// A status's name and meaning (mote.h).
#[unsafe(no_mangle)]
pub extern "C" fn mote_status_text(status: i32) -> *const c_char {
    let text: &'static core::ffi::CStr = match status {
        OK => c"MOTE_OK: success",
        WINDOW_READY => c"MOTE_WINDOW_READY: the window is full; call mote_run",
        ERR_NULL => c"MOTE_ERR_NULL: a required pointer is NULL (or the context is not 8-byte aligned)",
        ERR_BLOB => c"MOTE_ERR_BLOB: the model blob is damaged or not a Mote model",
        ERR_BLOB_VERSION => c"MOTE_ERR_BLOB_VERSION: the model was written for a newer runtime",
        ERR_MEMORY_TOO_SMALL => c"MOTE_ERR_MEMORY_TOO_SMALL: the working memory is smaller than the model needs",
        ERR_SCALES => c"MOTE_ERR_SCALES: give one finite, non-zero scale per model axis",
        ERR_SAMPLE_COUNT => c"MOTE_ERR_SAMPLE_COUNT: the number of values is not whole samples (or not one window)",
        ERR_VALUE => c"MOTE_ERR_VALUE: a value is NaN or infinite",
        ERR_WINDOW_NOT_FULL => c"MOTE_ERR_WINDOW_NOT_FULL: the window is not full yet",
        ERR_NOT_OPEN => c"MOTE_ERR_NOT_OPEN: the context was not opened with mote_open",
        ERR_MODEL_UNUSABLE => c"MOTE_ERR_MODEL_UNUSABLE: the model's DSP block does not fit its window, or it neither classifies nor scores anomalies",
        ERR_RUN => c"MOTE_ERR_RUN: the DSP block or the network failed on this window",
        _ => c"MOTE_ERR_UNKNOWN: not a status of this library",
    };
    text.as_ptr()
}

/// # Safety
/// `blob` is null or points to `blob_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_blob_problem(blob: *const u8, blob_len: usize) -> *const c_char {
    // SAFETY: forwarded from the caller.
    let Some(blob) = (unsafe { blob_slice(blob, blob_len) }) else {
        return c"the blob pointer is NULL".as_ptr();
    };
    let text: &'static core::ffi::CStr = match Model::parse(blob) {
        Ok(_) => return core::ptr::null(),
        Err(BlobError::TooShort { .. }) => c"model blob too short",
        Err(BlobError::BadMagic) => c"not a Mote model blob (bad magic)",
        Err(BlobError::UnsupportedVersion { .. }) => {
            c"model blob format version not supported by this library"
        }
        Err(BlobError::LengthMismatch { .. }) => {
            c"model blob length does not match its header (cut or padded)"
        }
        Err(BlobError::Crc { .. }) => c"model blob CRC mismatch (damaged)",
        Err(BlobError::Truncated { .. }) => c"a section of the model blob ends past its end",
        Err(BlobError::TrailingBytes { .. }) => c"bytes after the model blob's last section",
        Err(BlobError::BadText { .. }) => c"model blob text is not UTF-8",
        Err(BlobError::TooMany { .. }) => c"model blob exceeds a runtime limit",
        Err(BlobError::BadDsp) => c"model blob DSP configuration unreadable",
        Err(BlobError::BadTensor { .. }) => c"model blob has a malformed tensor",
        Err(BlobError::UnknownOp { .. }) => c"model blob uses an operator this library does not know",
        Err(BlobError::BadOp { .. }) => c"model blob has an operator that does not fit its tensors",
        Err(BlobError::BadConstant { .. }) => c"model blob constant out of bounds",
        Err(BlobError::BadMetadata { .. }) => c"model blob metadata contradicts its graph",
        Err(BlobError::BadAnomaly { .. }) => c"model blob anomaly block is malformed",
        Err(_) => c"model blob refused",
    };
    text.as_ptr()
}

fn info_of(model: &Model<'_>, layout: &Layout) -> MoteModelInfo {
    MoteModelInfo {
        n_axes: model.n_axes() as u32,
        window_samples: model.window_samples() as u32,
        stride_samples: model.stride_samples() as u32,
        n_labels: model.n_labels() as u32,
        n_features: model.n_features() as u32,
        memory_size: layout.memory_size().map_or(u32::MAX, |size| u32::try_from(size).unwrap_or(u32::MAX)),
        has_classifier: u32::from(model.has_classifier()),
        has_anomaly: u32::from(model.anomaly().is_some()),
        rate_hz: model.rate_hz(),
    }
}

/// # Safety
/// `blob` points to `blob_len` readable bytes; `info` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_model_check(blob: *const u8, blob_len: usize, info: *mut MoteModelInfo) -> i32 {
    // SAFETY: forwarded from the caller.
    let Some(blob) = (unsafe { blob_slice(blob, blob_len) }) else { return ERR_NULL };
    let model = match Model::parse(blob) {
        Ok(model) => model,
        Err(error) => return blob_status(error),
    };
    let layout = match Layout::of(&model) {
        Ok(layout) => layout,
        Err(status) => return status,
    };
    if !info.is_null() {
        // SAFETY: non-null and writable, as the caller promises.
        unsafe { info.write_unaligned(info_of(&model, &layout)) };
    }
    OK
}

/// # Safety
/// As mote.h says: `ctx` a `mote_context`, `blob`/`axis_scales`/`memory` valid for their lengths.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_open(
    ctx: *mut Context,
    blob: *const u8,
    blob_len: usize,
    axis_scales: *const f32,
    n_scales: usize,
    memory: *mut u8,
    memory_len: usize,
) -> i32 {
    if ctx.is_null()
        || !(ctx as usize).is_multiple_of(align_of::<Context>())
        || memory.is_null()
        || axis_scales.is_null()
    {
        return ERR_NULL;
    }
    // SAFETY: forwarded from the caller.
    let Some(blob_bytes) = (unsafe { blob_slice(blob, blob_len) }) else { return ERR_NULL };
    let model = match Model::parse(blob_bytes) {
        Ok(model) => model,
        Err(error) => return blob_status(error),
    };
    let layout = match Layout::of(&model) {
        Ok(layout) => layout,
        Err(status) => return status,
    };
    // SAFETY: non-null; the caller promises n_scales readable floats.
    let scales = unsafe { core::slice::from_raw_parts(axis_scales, n_scales) };
    if n_scales != model.n_axes() || scales.iter().any(|scale| !scale.is_finite() || *scale == 0.0) {
        return ERR_SCALES;
    }
    let (Some(offsets), Some(needed)) = (layout.offsets(), layout.memory_size()) else {
        return ERR_MODEL_UNUSABLE;
    };
    if memory_len < needed {
        return ERR_MEMORY_TOO_SMALL;
    }
    let start = memory.align_offset(4);
    if start > 3 {
        return ERR_NULL;
    }
    // SAFETY: start + offsets[3] <= needed <= memory_len: every part is inside the caller's memory.
    let base = unsafe { memory.add(start) };
    let mut context_scales = [0.0; MAX_AXES];
    context_scales[..n_scales].copy_from_slice(scales);
    let context = Context {
        magic: OPEN_MAGIC,
        n_axes: model.n_axes() as u32,
        window_samples: model.window_samples() as u32,
        stride_samples: model.stride_samples() as u32,
        filled: 0,
        skip: 0,
        seq: 0,
        n_features: layout.features as u32,
        scratch_len: layout.scratch as u32,
        arena_len: layout.arena as u32,
        scales: context_scales,
        blob,
        blob_len,
        window: base.cast(),
        // SAFETY: inside the caller's memory (above); offsets are multiples of 4.
        features: unsafe { base.add(offsets[0]) }.cast(),
        scratch: unsafe { base.add(offsets[1]) }.cast(),
        arena: unsafe { base.add(offsets[2]) },
    };
    // SAFETY: ctx is non-null, aligned and CONTEXT_SIZE bytes.
    unsafe { ctx.write(context) };
    OK
}

/// # Safety
/// `ctx` an opened `mote_context`; `values` valid for `n_values`; `consumed` null or writable.
unsafe fn push_counts(
    ctx: *mut Context,
    n_values: usize,
    consumed: *mut usize,
    take: impl FnOnce(&mut Context) -> Result<usize, i32>,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let context = match unsafe { context(ctx) } {
        Ok(context) => context,
        Err(status) => return status,
    };
    if !n_values.is_multiple_of(context.n_axes as usize) {
        return ERR_SAMPLE_COUNT;
    }
    let taken = match take(context) {
        Ok(taken) => taken,
        Err(status) => return status,
    };
    if !consumed.is_null() {
        // SAFETY: non-null and writable, as the caller promises.
        unsafe { consumed.write_unaligned(taken) };
    }
    if context.is_full() { WINDOW_READY } else { OK }
}

/// # Safety
/// See mote.h.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_push_i16(
    ctx: *mut Context,
    values: *const i16,
    n_values: usize,
    consumed: *mut usize,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let values = match unsafe { slice_of(values, n_values) } {
        Ok(values) => values,
        Err(status) => return status,
    };
    // SAFETY: forwarded from the caller.
    unsafe { push_counts(ctx, n_values, consumed, |context| Ok(context.push(values))) }
}

/// # Safety
/// See mote.h.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_push_f32(
    ctx: *mut Context,
    values: *const f32,
    n_values: usize,
    consumed: *mut usize,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let values = match unsafe { slice_of(values, n_values) } {
        Ok(values) => values,
        Err(status) => return status,
    };
    // SAFETY: forwarded from the caller.
    unsafe {
        push_counts(ctx, n_values, consumed, |context| {
            if values.iter().any(|value| !value.is_finite()) {
                return Err(ERR_VALUE);
            }
            let n_axes = context.n_axes as usize;
            let mut taken = 0;
            let mut sample = [0i16; MAX_AXES];
            for chunk in values.chunks_exact(n_axes) {
                if context.is_full() {
                    break;
                }
                for (axis, (&value, count)) in chunk.iter().zip(&mut sample).enumerate() {
                    *count = to_count(value, context.scales[axis]).unwrap_or(0);
                }
                taken += context.push(&sample[..n_axes]);
            }
            Ok(taken)
        })
    }
}

/// # Safety
/// See mote.h.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_run(ctx: *mut Context, result: *mut MoteResult) -> i32 {
    // SAFETY: forwarded from the caller.
    let context = match unsafe { context(ctx) } {
        Ok(context) => context,
        Err(status) => return status,
    };
    if result.is_null() {
        return ERR_NULL;
    }
    if !context.is_full() {
        return ERR_WINDOW_NOT_FULL;
    }
    let mut out = MoteResult::EMPTY;
    if let Err(status) = context.classify(None, &mut out) {
        return status;
    }
    context.advance();
    // SAFETY: non-null and writable, as the caller promises.
    unsafe { result.write_unaligned(out) };
    OK
}

/// The checks of the whole-window calls, then `run` on the caller's values and the result written.
///
/// # Safety
/// `ctx` a `mote_context`; `window` null or `n_values` readable values; `result` null or writable.
unsafe fn classify_whole<T>(
    ctx: *mut Context,
    window: *const T,
    n_values: usize,
    result: *mut MoteResult,
    run: impl FnOnce(&mut Context, &[T], &mut MoteResult) -> Result<(), i32>,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let context = match unsafe { context(ctx) } {
        Ok(context) => context,
        Err(status) => return status,
    };
    if window.is_null() || result.is_null() {
        return ERR_NULL;
    }
    if n_values != context.window_len() {
        return ERR_SAMPLE_COUNT;
    }
    // SAFETY: non-null; the caller promises n_values readable values.
    let values = unsafe { core::slice::from_raw_parts(window, n_values) };
    let mut out = MoteResult::EMPTY;
    if let Err(status) = run(context, values, &mut out) {
        return status;
    }
    // SAFETY: non-null and writable, as the caller promises.
    unsafe { result.write_unaligned(out) };
    OK
}

/// # Safety
/// See mote.h.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_classify_i16(
    ctx: *mut Context,
    window: *const i16,
    n_values: usize,
    result: *mut MoteResult,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        classify_whole(ctx, window, n_values, result, |context, values, out| {
            context.classify(Some(values), out)
        })
    }
}

/// # Safety
/// See mote.h.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_classify_f32(
    ctx: *mut Context,
    window: *const f32,
    n_values: usize,
    result: *mut MoteResult,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        classify_whole(ctx, window, n_values, result, |context, values, out| {
            if values.iter().any(|value| !value.is_finite()) {
                return Err(ERR_VALUE);
            }
            let n_axes = context.n_axes as usize;
            let scales = context.scales;
            for (index, (count, &value)) in context.window().iter_mut().zip(values).enumerate() {
                *count = to_count(value, scales[index % n_axes]).unwrap_or(0);
            }
            context.filled = 0;
            context.skip = 0;
            context.classify(None, out)
        })
    }
}

/// # Safety
/// See mote.h.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_reset(ctx: *mut Context) -> i32 {
    // SAFETY: forwarded from the caller.
    match unsafe { context(ctx) } {
        Ok(context) => {
            context.filled = 0;
            context.skip = 0;
            OK
        }
        Err(status) => status,
    }
}

/// # Safety
/// See mote.h.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_info(ctx: *const Context, info: *mut MoteModelInfo) -> i32 {
    // SAFETY: forwarded; `context` only reads through the pointer here.
    let context = match unsafe { context(ctx.cast_mut()) } {
        Ok(context) => context,
        Err(status) => return status,
    };
    if info.is_null() {
        return ERR_NULL;
    }
    let model = match context.model() {
        Ok(model) => model,
        Err(status) => return status,
    };
    let layout = match Layout::of(&model) {
        Ok(layout) => layout,
        Err(status) => return status,
    };
    // SAFETY: non-null and writable.
    unsafe { info.write_unaligned(info_of(&model, &layout)) };
    OK
}

/// # Safety
/// See mote.h.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mote_label(
    ctx: *const Context,
    index: u32,
    out: *mut c_char,
    out_len: usize,
) -> usize {
    // SAFETY: forwarded; only read through.
    let Ok(context) = (unsafe { context(ctx.cast_mut()) }) else { return 0 };
    let Ok(model) = context.model() else { return 0 };
    let Some(label) = model.label(index as usize) else { return 0 };
    if !out.is_null() && out_len > 0 {
        let n = label.len().min(out_len - 1);
        // SAFETY: out has out_len writable bytes; we write n + 1 <= out_len.
        unsafe {
            core::ptr::copy_nonoverlapping(label.as_ptr(), out.cast::<u8>(), n);
            out.add(n).write(0);
        }
    }
    label.len()
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // The library checks everything it is given and does not panic; should a bug make it, stop
    // here rather than run on with broken state (a debugger shows the spot).
    loop {
        core::hint::spin_loop();
    }
}
