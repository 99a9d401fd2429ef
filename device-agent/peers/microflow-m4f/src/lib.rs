//! The harness each network's binary runs on the emulated Cortex-M4F (QEMU `mps2-an386`):
//! paints the stack, counts instructions with SysTick around each inference, and prints one
//! parseable line over semihosting before ending QEMU with a semihosting exit.
//!
//! - Instructions: SysTick runs at the 25 MHz system clock (40 ns a tick) with a 24-bit reload
//!   and an exception counting the wraps. With QEMU's `-icount shift=0` one instruction is one
//!   virtual nanosecond, so `ticks × 40` is the instruction count (to within a tick), as in
//!   device-agent/firmware/qemu-mps2-an386/src/main.rs.
//! - Stack: the `STACK_PAINTED` bytes below the top of RAM (cortex-m-rt puts the stack there, see
//!   memory.x) are painted at boot; the deepest word no longer painted after the runs is the
//!   high-water mark (the `baseline` binary gives the harness's own).
//! - The line: `peer microflow <network> instructions=<n,n,…> macs=<n> stack=<bytes>
//!   output=[<f>,…]` (the output of the last run, dequantized).
#![no_std]

use core::fmt::Write as _;
use core::hint::black_box;
use core::sync::atomic::{compiler_fence, AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use cortex_m_semihosting::{debug, hprintln};

/// Inferences per network (all reported; QEMU models no caches, so they should agree).
pub const RUNS: usize = 5;
const SYSCLK_HZ: u32 = 25_000_000;
const NS_PER_TICK: u64 = 1_000_000_000 / SYSCLK_HZ as u64;
const RELOAD: u32 = 0x00FF_FFFF;
/// The stack's top (the end of RAM in memory.x) and the painted span below it.
pub const STACK_TOP: usize = 0x2040_0000;
pub const STACK_PAINTED: usize = 256 * 1024;
const STACK_PAINT: u32 = 0x5354_4b21;

static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Virtual nanoseconds since `start` (with `-icount shift=0`: instructions).
#[inline(never)]
pub fn instructions() -> u64 {
    loop {
        let before = WRAPS.load(Ordering::Acquire);
        let current = cortex_m::peripheral::SYST::get_current();
        if WRAPS.load(Ordering::Acquire) == before {
            let ticks = u64::from(before) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current);
            return ticks * NS_PER_TICK;
        }
    }
}

/// Fills the painted span below the current stack pointer.
#[inline(never)]
fn paint_stack() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut at = STACK_TOP - STACK_PAINTED;
    while at + 4 <= sp - 16 {
        // SAFETY: unused stack memory below the stack pointer, word aligned; no interrupt is
        // enabled yet.
        unsafe { core::ptr::write_volatile(at as *mut u32, STACK_PAINT) };
        at += 4;
    }
}

/// The deepest the stack has gone, in bytes below `STACK_TOP`.
#[inline(never)]
pub fn stack_high_water() -> usize {
    let mut at = STACK_TOP - STACK_PAINTED;
    // SAFETY: reads of RAM inside the painted span.
    while at < STACK_TOP && unsafe { core::ptr::read_volatile(at as *const u32) } == STACK_PAINT {
        at += 4;
    }
    STACK_TOP - at
}

/// Boots the harness: paints the stack and starts SysTick. Call first thing in `main`.
pub fn start() {
    paint_stack();
    let mut peripherals = cortex_m::Peripherals::take().expect("taken once");
    let syst = &mut peripherals.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Runs `predict` on `make()`'s input `RUNS` times, counting the instructions of each call, then
/// prints the line and ends QEMU. `output` turns the result into its values.
pub fn run<I, O, const N: usize>(
    network: &str,
    macs: u64,
    make: impl Fn() -> I,
    predict: impl Fn(I) -> O,
    output: impl Fn(&O) -> [f32; N],
) -> ! {
    let mut counts = [0u64; RUNS];
    let mut last = None;
    for count in &mut counts {
        let input = make();
        let started = instructions();
        compiler_fence(Ordering::SeqCst);
        let result = black_box(predict(black_box(input)));
        compiler_fence(Ordering::SeqCst);
        *count = instructions() - started;
        last = Some(result);
    }
    let stack = stack_high_water();
    let values = output(&last.expect("RUNS > 0"));

    let mut line = Line::new();
    let _ = write!(line, "peer microflow {network} instructions=");
    for (i, count) in counts.iter().enumerate() {
        let _ = write!(line, "{}{count}", if i == 0 { "" } else { "," });
    }
    let _ = write!(line, " macs={macs} stack={stack} output=[");
    for (i, value) in values.iter().enumerate() {
        let _ = write!(line, "{}", if i == 0 { "" } else { "," });
        write_fixed(&mut line, *value);
    }
    let _ = write!(line, "]");
    hprintln!("{}", line.as_str());
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}

/// For the baseline binary: the harness without a model, for the flash and stack it costs.
pub fn run_baseline() -> ! {
    run("baseline", 0, || [1.0f32; 4], |x| x, |x| *x)
}

/// `value` with six decimals, without core's float formatting (which would add its code to every
/// binary's flash).
fn write_fixed(line: &mut Line, value: f32) {
    let scaled = value * 1e6;
    let micros = if scaled < 0.0 { (scaled - 0.5) as i64 } else { (scaled + 0.5) as i64 };
    let (sign, micros) = if micros < 0 { ("-", -micros) } else { ("", micros) };
    let _ = write!(line, "{sign}{}.{:06}", micros / 1_000_000, micros % 1_000_000);
}

/// A fixed buffer for the printed line.
struct Line {
    bytes: [u8; 512],
    len: usize,
}

impl Line {
    fn new() -> Self {
        Line { bytes: [0; 512], len: 0 }
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("(not UTF-8)")
    }
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(core::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("peer microflow panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
