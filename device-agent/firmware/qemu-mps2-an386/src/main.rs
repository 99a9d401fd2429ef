//! The Mote device agent on an emulated Cortex-M4F (QEMU `mps2-an386`).
//!
//! - Link: the CMSDK UART0 at 0x4000_4000. Its RX interrupt (IRQ 0) moves each byte into a 1 KiB
//!   ring (heapless spsc) that the agent drains, so bytes keep arriving while DSP and inference
//!   run. Flow control: QEMU's UART holds one byte and keeps the rest in its character device
//!   until the guest reads; when the ring is full the handler stops reading (and masks the RX
//!   interrupt) until the agent has made room, so nothing is dropped.
//! - Clock: SysTick at the 25 MHz system clock, a millisecond counter in its exception. With QEMU's
//!   `-icount shift=0,sleep=on` one instruction is one virtual nanosecond, so it counts the
//!   instructions of DSP and inference (reported with each result). Virtual time is not the
//!   host's time, though: it only passes at the real rate while the CPU sleeps (WFI); the real
//!   time QEMU spends emulating instructions and waking up counts as one virtual ns per
//!   instruction, so on its own the clock ran 4–11 % slow (more on a busy host), and so did every
//!   stream. The board's time (`now_us`: sample times, stream rates) is therefore re-aligned with
//!   the host's monotonic clock (semihosting `SYS_ELAPSED`) on each wake-up, and runs on SysTick
//!   in between — so DSP/NN durations within one poll stay instruction-based.
//! - Sensors: `accel` (3 axes) replaying a 10 s table from flash at 100 Hz (see build.rs), and
//!   `imu` (6 axes: the same plus a gyroscope derived from the table).
//! - Stack: the top 64 KiB of RAM are painted at boot, so a host can read the high-water mark
//!   (QEMU monitor `pmemsave`; `cargo test -p mote-e2e --bench firmware`).
//! - Models: two 64 KiB slots in RAM; inference memory in static arrays. A lean build (feature
//!   `lean`) has its one model built in and inference memory sized for it instead.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use heapless::spsc::{Consumer, Producer, Queue};
use mote_agent::{Agent, ArrayBuffers, Clock, Link, LinkError, Sensors};
use mote_wire::{AxisInfo, Capabilities, DeviceInfo, SensorInfo};

mod replay {
    include!(concat!(env!("OUT_DIR"), "/replay.rs"));
}

#[cfg(not(any(feature = "general", feature = "lean")))]
compile_error!("build the general agent (feature `general`, the default) or a lean firmware (`lean`)");

/// The built-in model and its buffer sizes (build.rs, from $MOTE_LEAN_MODEL and $MOTE_LEAN_MEMORY).
#[cfg(feature = "lean")]
mod lean {
    include!(concat!(env!("OUT_DIR"), "/lean.rs"));
}

const SYSCLK_HZ: u32 = 25_000_000;
const TICKS_PER_MS: u32 = SYSCLK_HZ / 1000;
const NS_PER_TICK: u64 = 1_000_000_000 / SYSCLK_HZ as u64;
const _: () = assert!(1_000_000_000 % SYSCLK_HZ == 0, "a tick is a whole number of nanoseconds");
const UART0: usize = 0x4000_4000;

/// The CMSDK UART's registers.
struct Regs;

impl Regs {
    const DATA: usize = UART0;
    const STATE: usize = UART0 + 0x04;
    const CTRL: usize = UART0 + 0x08;
    const INTCLEAR: usize = UART0 + 0x0C;
    const BAUDDIV: usize = UART0 + 0x10;
    const TX_FULL: u32 = 1 << 0;
    const RX_FULL: u32 = 1 << 1;
    const TX_EN: u32 = 1 << 0;
    const RX_EN: u32 = 1 << 1;
    const RX_INT_EN: u32 = 1 << 3;
    const RX_INT: u32 = 1 << 1;

    fn read(addr: usize) -> u32 {
        // SAFETY: a device register of the MPS2 memory map, 32-bit aligned.
        unsafe { core::ptr::read_volatile(addr as *const u32) }
    }

    fn write(addr: usize, value: u32) {
        // SAFETY: as above.
        unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
    }
}

/// UART0's RX interrupt line on the MPS2 (AN385/AN386).
#[derive(Clone, Copy)]
struct Uart0Rx;

// SAFETY: 0 is UART0 RX's interrupt number on this board.
unsafe impl cortex_m::interrupt::InterruptNumber for Uart0Rx {
    fn number(self) -> u16 {
        0
    }
}

const RX_RING: usize = 1024;
static mut RX_QUEUE: Queue<u8, RX_RING> = Queue::new();
/// The ring's writing end: used by the interrupt handler, and by `Uart::read` only inside a
/// critical section (when it resumes reception).
static mut RX_PRODUCER: Option<Producer<'static, u8>> = None;

/// Moves received bytes into the ring until the UART is empty or the ring is full; in the latter
/// case masks the RX interrupt (the UART keeps its byte, QEMU the rest). Returns whether it paused.
fn drain_uart(producer: &mut Producer<'static, u8>) -> bool {
    Regs::write(Regs::INTCLEAR, Regs::RX_INT);
    while Regs::read(Regs::STATE) & Regs::RX_FULL != 0 {
        if !producer.ready() {
            Regs::write(Regs::CTRL, Regs::TX_EN | Regs::RX_EN);
            return true;
        }
        let _ = producer.enqueue(Regs::read(Regs::DATA) as u8);
    }
    false
}

#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn == 0 {
        // SAFETY: set before the interrupt was unmasked; the main loop touches it only with
        // interrupts disabled.
        if let Some(producer) = unsafe { (*core::ptr::addr_of_mut!(RX_PRODUCER)).as_mut() } {
            if drain_uart(producer) {
                RX_PAUSED.store(true, Ordering::Release);
            }
        }
    }
}

static RX_PAUSED: AtomicBool = AtomicBool::new(false);

/// The agent's link: reads from the ring, writes straight to the UART.
struct Uart {
    rx: Consumer<'static, u8>,
}

impl Uart {
    fn init() -> Self {
        // SAFETY: split once, before the interrupt is unmasked.
        let (producer, consumer) = unsafe { (*core::ptr::addr_of_mut!(RX_QUEUE)).split() };
        unsafe { *core::ptr::addr_of_mut!(RX_PRODUCER) = Some(producer) };
        Regs::write(Regs::BAUDDIV, 16);
        Regs::write(Regs::CTRL, Regs::TX_EN | Regs::RX_EN | Regs::RX_INT_EN);
        // SAFETY: the handler only touches the producer and the UART.
        unsafe { cortex_m::peripheral::NVIC::unmask(Uart0Rx) };
        Uart { rx: consumer }
    }
}

impl Link for Uart {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() {
            match self.rx.dequeue() {
                Some(byte) => {
                    buf[n] = byte;
                    n += 1;
                }
                None => break,
            }
        }
        if n > 0 && RX_PAUSED.load(Ordering::Acquire) {
            // Room again: take the bytes waiting in the UART and resume the interrupt.
            cortex_m::interrupt::free(|_| {
                // Unmask first: a byte arriving after the drain below then raises the interrupt.
                Regs::write(Regs::CTRL, Regs::TX_EN | Regs::RX_EN | Regs::RX_INT_EN);
                // SAFETY: interrupts are off, so the handler cannot hold the producer now.
                if let Some(producer) = unsafe { (*core::ptr::addr_of_mut!(RX_PRODUCER)).as_mut() } {
                    RX_PAUSED.store(drain_uart(producer), Ordering::Release);
                }
            });
        }
        n
    }

    fn write(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        for &byte in frame {
            while Regs::read(Regs::STATE) & Regs::TX_FULL != 0 {}
            Regs::write(Regs::DATA, u32::from(byte));
        }
        Ok(())
    }
}

static MILLIS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}

/// Time from SysTick: whole milliseconds from the exception, the rest from the counter.
struct SysTickClock {
    high: u32,
    last_ms: u32,
}

impl SysTickClock {
    /// Virtual nanoseconds since boot (with `-icount shift=0`: instructions).
    fn now_ns(&mut self) -> u64 {
        loop {
            let ms = MILLIS.load(Ordering::Relaxed);
            let current = cortex_m::peripheral::SYST::get_current();
            if MILLIS.load(Ordering::Relaxed) == ms {
                // Extend the 32-bit millisecond counter (wraps after 49 days).
                if ms < self.last_ms {
                    self.high += 1;
                }
                self.last_ms = ms;
                let total_ms = (u64::from(self.high) << 32) | u64::from(ms);
                let elapsed_ticks = u64::from(TICKS_PER_MS - 1 - current.min(TICKS_PER_MS - 1));
                // A multiplication, not a 64-bit division: this runs inside the instruction
                // counts it takes.
                return total_ms * 1_000_000 + elapsed_ticks * NS_PER_TICK;
            }
        }
    }
}

/// The host's monotonic clock in nanoseconds, through semihosting (`SYS_TICKFREQ` once, then
/// `SYS_ELAPSED`; QEMU answers from its host clock at 1 GHz); `None` without semihosting support.
struct HostClock {
    ticks_per_s: u64,
}

impl HostClock {
    fn new() -> Option<Self> {
        // SAFETY: a semihosting call without memory arguments (QEMU runs with semihosting on:
        // `-semihosting-config enable=on`, as for the panic handler's exit).
        let ticks_per_s = unsafe { cortex_m_semihosting::syscall1(cortex_m_semihosting::nr::TICKFREQ, 0) };
        // -1: not supported.
        let mut clock = HostClock { ticks_per_s: u64::try_from(ticks_per_s as i32).ok().filter(|&t| t > 0)? };
        clock.now_ns().map(|_| clock)
    }

    fn now_ns(&mut self) -> Option<u64> {
        let mut ticks = [0u32; 2];
        // SAFETY: SYS_ELAPSED writes the 64-bit tick count as two words at the address in r1,
        // which points at `ticks`.
        let status = unsafe {
            cortex_m_semihosting::syscall1(cortex_m_semihosting::nr::ELAPSED, ticks.as_mut_ptr() as usize)
        };
        if status != 0 {
            return None;
        }
        let ticks = (u64::from(ticks[1]) << 32) | u64::from(ticks[0]);
        let per_s = self.ticks_per_s;
        Some(ticks / per_s * 1_000_000_000 + ticks % per_s * 1_000_000_000 / per_s)
    }
}

/// Set by the main loop on every wake-up: the board clock's next reading re-aligns with the host.
static ALIGN: AtomicBool = AtomicBool::new(true);

/// The board's clock: SysTick (virtual time, instructions) plus an offset that keeps it on the
/// host's time. The offset is re-measured at the first reading after each wake-up, so between
/// two wake-ups — a poll, with any DSP and inference in it — time advances by instructions.
struct BoardClock {
    ticks: SysTickClock,
    host: Option<HostClock>,
    /// Host time minus virtual time at the last alignment, ns.
    offset_ns: i64,
    /// The last time returned, ns (the clock never goes backwards across an alignment).
    last_ns: u64,
}

impl Clock for BoardClock {
    fn now_us(&mut self) -> u64 {
        let virtual_ns = self.ticks.now_ns();
        if ALIGN.swap(false, Ordering::Relaxed) {
            if let Some(host_ns) = self.host.as_mut().and_then(HostClock::now_ns) {
                self.offset_ns = host_ns as i64 - virtual_ns as i64;
            }
        }
        let ns = (virtual_ns as i64).saturating_add(self.offset_ns).max(0) as u64;
        self.last_ns = self.last_ns.max(ns);
        self.last_ns / 1000
    }

    fn instructions(&mut self) -> Option<u64> {
        Some(self.ticks.now_ns())
    }
}

/// The replayed sensors: `accel` (the table), and `imu` (the table's accelerometer plus a gyroscope
/// made from the same table 2.5 s later, so a 6-axis model has input too).
struct ReplaySensor;

impl Sensors for ReplaySensor {
    fn sample(&mut self, sensor: u8, t_us: u64, out: &mut [i16]) {
        let len = replay::REPLAY.len();
        let index = (t_us / 10_000) as usize % len;
        let gyro = replay::REPLAY[(index + len / 4) % len].map(|value| value / 8);
        let values = replay::REPLAY[index].into_iter().chain(if sensor == 1 { gyro } else { [0; 3] });
        for (slot, value) in out.iter_mut().zip(values) {
            *slot = value;
        }
    }
}

fn device_info() -> DeviceInfo<'static> {
    // 1 g = 4096 counts.
    let scale = 9.806_65 / 4096.0;
    let axis = |name| AxisInfo { name, unit: "m/s2", scale };
    let gyro = |name| AxisInfo { name, unit: "deg/s", scale: 250.0 / 32768.0 };
    let rates = || [10u32, 25, 50, 100].into_iter().collect();
    let mut sensors = heapless::Vec::new();
    let _ = sensors.push(SensorInfo {
        name: "accel",
        axes: [axis("accX"), axis("accY"), axis("accZ")].into_iter().collect(),
        rates_hz: rates(),
    });
    let _ = sensors.push(SensorInfo {
        name: "imu",
        axes: [axis("accX"), axis("accY"), axis("accZ"), gyro("gyrX"), gyro("gyrY"), gyro("gyrZ")]
            .into_iter()
            .collect(),
        rates_hz: rates(),
    });
    DeviceInfo {
        protocol_version: mote_wire::PROTOCOL_VERSION,
        board: "qemu-mps2-an386",
        firmware_version: env!("CARGO_PKG_VERSION"),
        device_id: "qemu-mps2-an386-1",
        sensors,
        max_frame: 0,
        model_slots: heapless::Vec::new(),
        capabilities: Capabilities(Capabilities::INSTRUCTION_COUNT),
    }
}

#[cfg(not(feature = "lean"))]
static mut STORE: mote_agent::RamModelStore<{ 64 * 1024 }> = mote_agent::RamModelStore::new();
#[cfg(not(feature = "lean"))]
static mut BUFFERS: ArrayBuffers<4096, 1024, 8192, { 32 * 1024 }> = ArrayBuffers::new();
#[cfg(feature = "lean")]
static mut BUFFERS: ArrayBuffers<{ lean::WINDOW }, { lean::FEATURES }, { lean::SCRATCH }, { lean::ARENA }> =
    ArrayBuffers::new();

/// Where the model comes from: uploads into RAM slots, or built in.
fn model_store() -> impl mote_agent::ModelStore {
    #[cfg(feature = "lean")]
    return mote_agent::BuiltInModel::new(&lean::MODEL.0);
    // SAFETY: taken once, at start-up, before anything else can reach it.
    #[cfg(not(feature = "lean"))]
    return unsafe { &mut *core::ptr::addr_of_mut!(STORE) };
}

/// The stack's top (cortex-m-rt puts it at the end of RAM, see memory.x) and the painted span.
pub const STACK_TOP: usize = 0x2040_0000;
pub const STACK_PAINTED: usize = 64 * 1024;
pub const STACK_PAINT: u32 = 0x5354_4b21;

/// Fills the painted span below the current stack pointer with `STACK_PAINT`.
fn paint_stack() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut at = STACK_TOP - STACK_PAINTED;
    while at < sp - 32 {
        // SAFETY: unused stack memory below the stack pointer, word aligned.
        unsafe { core::ptr::write_volatile(at as *mut u32, STACK_PAINT) };
        at += 4;
    }
}

#[entry]
fn main() -> ! {
    paint_stack();
    let mut peripherals = cortex_m::Peripherals::take().expect("taken once");
    let syst = &mut peripherals.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(TICKS_PER_MS - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();

    let store = model_store();
    // SAFETY: taken once, here, before anything else can reach them.
    let buffers = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    let clock = BoardClock {
        ticks: SysTickClock { high: 0, last_ms: 0 },
        host: HostClock::new(),
        offset_ns: 0,
        last_ns: 0,
    };
    let mut agent =
        Agent::new(device_info(), Uart::init(), ReplaySensor, clock, store).with_inference(buffers);
    loop {
        agent.poll();
        // Sleep until the next SysTick (1 ms) or UART byte; the work in between is counted
        // exactly (`-icount shift=0`). Waking up, the board's clock re-aligns with the host's.
        cortex_m::asm::wfi();
        ALIGN.store(true, Ordering::Relaxed);
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Ends QEMU with a failure status (semihosting), so a test sees it at once.
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    loop {}
}
