//! The board-independent Mote agent: answers the host, streams sensors at the requested rate,
//! receives models into A/B slots, and classifies its own sensor stream with the active model.
//!
//! Hardware comes in through four small traits — [`Link`] (bytes to and from the host),
//! [`Sensors`], [`Clock`] and [`ModelStore`] — so the same agent runs on a microcontroller, in
//! QEMU and in the virtual board. It never allocates and never panics on input: every bad
//! request is answered with an `Error` message.
#![no_std]

mod agent;
mod built_in;
#[cfg(feature = "flash-store")]
mod flash_store;
mod inference;
pub mod layout;
mod ram_store;
mod stream;
mod upload;

pub use agent::{Agent, MAX_STREAMS};
pub use built_in::BuiltInModel;
#[cfg(feature = "flash-store")]
pub use flash_store::{FlashModelStore, SlotRegion, slot_header};
pub use inference::{ArrayBuffers, InferenceBuffers, InferenceMemory, NoInference};
/// The runtime kernels' working memory a board lends to every inference ([`InferenceMemory::kernels`]).
pub use mote_runtime::Scratch;
pub use ram_store::RamModelStore;

use mote_wire::{ErrorCode, SimControl, SlotState};

/// Bytes to and from the host.
pub trait Link {
    /// Reads what has arrived, without waiting; returns 0 when nothing has.
    fn read(&mut self, buf: &mut [u8]) -> usize;
    /// Sends one whole frame. An error means the frame was not (fully) sent.
    fn write(&mut self, frame: &[u8]) -> Result<(), LinkError>;
}

/// A frame could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkError;

/// The board's sense of time.
pub trait Clock {
    /// Microseconds since an arbitrary fixed point; never goes backwards.
    fn now_us(&mut self) -> u64;

    /// Instructions retired so far, on boards that can count them (emulated boards); used to
    /// report what DSP and inference cost.
    fn instructions(&mut self) -> Option<u64> {
        None
    }
}

/// A request the board turned down: the code and a short reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub detail: &'static str,
}

impl Refusal {
    pub const fn new(code: ErrorCode, detail: &'static str) -> Self {
        Self { code, detail }
    }
}

/// The board's sensors, indexed as in `DeviceInfo::sensors`.
pub trait Sensors {
    /// Fills `out` (one value per axis) with the sample of `sensor` at board time `t_us`.
    fn sample(&mut self, sensor: u8, t_us: u64, out: &mut [i16]);

    /// A stream of `sensor` at `rate_hz` is about to start (power up, set the data rate).
    fn start(&mut self, _sensor: u8, _rate_hz: u32) -> Result<(), Refusal> {
        Ok(())
    }

    /// The stream of `sensor` stopped.
    fn stop(&mut self, _sensor: u8) {}

    /// A virtual board's control command. Real boards refuse it.
    fn sim_control(&mut self, _command: &SimControl<'_>) -> Result<(), Refusal> {
        Err(Refusal::new(ErrorCode::UNSUPPORTED, "not a virtual board"))
    }
}

/// Persistent model slots (flash on a board, a file for the virtual board).
///
/// The agent drives uploads: `begin` → `write`… → `commit`. A slot becomes active only in
/// `commit`, after the agent has checked size and CRC; until then the active slot is untouched.
pub trait ModelStore {
    /// Number of slots (at most `mote_wire::MAX_SLOTS`).
    fn slot_count(&self) -> u8;
    /// Whether models can be uploaded (the `MODEL_UPLOAD` capability); a lean firmware's
    /// built-in model ([`BuiltInModel`]) cannot be replaced.
    fn accepts_uploads(&self) -> bool {
        self.slot_count() > 0
    }
    /// Largest model `slot` holds.
    fn capacity(&self, slot: u8) -> u32;
    /// What `slot` holds now.
    fn state(&self, slot: u8) -> SlotState;
    /// The slot inference uses, if any.
    fn active(&self) -> Option<u8>;
    /// Prepares `slot` for `size` bytes (erase) and marks it not valid.
    fn begin(&mut self, slot: u8, size: u32) -> Result<(), Refusal>;
    /// Writes `bytes` at `offset` of `slot`.
    fn write(&mut self, slot: u8, offset: u32, bytes: &[u8]) -> Result<(), Refusal>;
    /// The first `len` bytes of `slot`, for checking and running the model.
    fn read(&self, slot: u8, len: u32) -> Option<&[u8]>;
    /// Marks `slot` valid with `size` and `crc` and makes it the active slot, atomically.
    fn commit(&mut self, slot: u8, size: u32, crc: u32) -> Result<(), Refusal>;
}

/// Boards lend a static store: `&'static mut RamModelStore<…>` works as well as an owned one.
impl<T: ModelStore + ?Sized> ModelStore for &mut T {
    fn slot_count(&self) -> u8 {
        (**self).slot_count()
    }
    fn accepts_uploads(&self) -> bool {
        (**self).accepts_uploads()
    }
    fn capacity(&self, slot: u8) -> u32 {
        (**self).capacity(slot)
    }
    fn state(&self, slot: u8) -> SlotState {
        (**self).state(slot)
    }
    fn active(&self) -> Option<u8> {
        (**self).active()
    }
    fn begin(&mut self, slot: u8, size: u32) -> Result<(), Refusal> {
        (**self).begin(slot, size)
    }
    fn write(&mut self, slot: u8, offset: u32, bytes: &[u8]) -> Result<(), Refusal> {
        (**self).write(slot, offset, bytes)
    }
    fn read(&self, slot: u8, len: u32) -> Option<&[u8]> {
        (**self).read(slot, len)
    }
    fn commit(&mut self, slot: u8, size: u32, crc: u32) -> Result<(), Refusal> {
        (**self).commit(slot, size, crc)
    }
}

/// A board without model storage.
pub struct NoModelStore;

impl ModelStore for NoModelStore {
    fn slot_count(&self) -> u8 {
        0
    }
    fn capacity(&self, _slot: u8) -> u32 {
        0
    }
    fn state(&self, _slot: u8) -> SlotState {
        SlotState::Empty
    }
    fn active(&self) -> Option<u8> {
        None
    }
    fn begin(&mut self, _slot: u8, _size: u32) -> Result<(), Refusal> {
        Err(Refusal::new(ErrorCode::UNSUPPORTED, "this board stores no models"))
    }
    fn write(&mut self, _slot: u8, _offset: u32, _bytes: &[u8]) -> Result<(), Refusal> {
        Err(Refusal::new(ErrorCode::UNSUPPORTED, "this board stores no models"))
    }
    fn read(&self, _slot: u8, _len: u32) -> Option<&[u8]> {
        None
    }
    fn commit(&mut self, _slot: u8, _size: u32, _crc: u32) -> Result<(), Refusal> {
        Err(Refusal::new(ErrorCode::UNSUPPORTED, "this board stores no models"))
    }
}
