//! The Mote device agent on an emulated Cortex-M4F (QEMU `mps2-an386`).
//!
//! - Link: the CMSDK UART0 at 0x4000_4000, polled. QEMU's UART holds one received byte and keeps
//!   the rest in its character device until the guest reads, so polling is its own flow control.
//! - Clock: SysTick at the 25 MHz system clock, a millisecond counter in its exception. With QEMU's
//!   `-icount shift=0,sleep=on` one instruction is one virtual nanosecond and idle time (WFI)
//!   passes in real time, so the clock keeps real time and also counts the instructions of
//!   DSP and inference (reported with each result).
//! - Sensor: `accel` (3 axes) replaying a 10 s table from flash at 100 Hz (see build.rs).
//! - Models: two 64 KiB slots in RAM; inference memory in static arrays.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use mote_agent::{Agent, ArrayBuffers, Clock, Link, LinkError, RamModelStore, Sensors};
use mote_wire::{AxisInfo, Capabilities, DeviceInfo, SensorInfo};

mod replay {
    include!(concat!(env!("OUT_DIR"), "/replay.rs"));
}

const SYSCLK_HZ: u32 = 25_000_000;
const TICKS_PER_MS: u32 = SYSCLK_HZ / 1000;
const UART0: usize = 0x4000_4000;

/// The CMSDK UART's registers.
struct Uart;

impl Uart {
    const DATA: usize = UART0;
    const STATE: usize = UART0 + 0x04;
    const CTRL: usize = UART0 + 0x08;
    const BAUDDIV: usize = UART0 + 0x10;
    const TX_FULL: u32 = 1 << 0;
    const RX_FULL: u32 = 1 << 1;

    fn read_reg(addr: usize) -> u32 {
        // SAFETY: a device register of the MPS2 memory map, 32-bit aligned.
        unsafe { core::ptr::read_volatile(addr as *const u32) }
    }

    fn write_reg(addr: usize, value: u32) {
        // SAFETY: as above.
        unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
    }

    fn init() -> Self {
        Self::write_reg(Self::BAUDDIV, 16);
        Self::write_reg(Self::CTRL, 0b11); // TX and RX enabled, no interrupts
        Uart
    }
}

impl Link for Uart {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() && Self::read_reg(Self::STATE) & Self::RX_FULL != 0 {
            buf[n] = Self::read_reg(Self::DATA) as u8;
            n += 1;
        }
        n
    }

    fn write(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        for &byte in frame {
            while Self::read_reg(Self::STATE) & Self::TX_FULL != 0 {}
            Self::write_reg(Self::DATA, u32::from(byte));
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
                return total_ms * 1_000_000 + elapsed_ticks * 1_000_000_000 / u64::from(SYSCLK_HZ);
            }
        }
    }
}

impl Clock for SysTickClock {
    fn now_us(&mut self) -> u64 {
        self.now_ns() / 1000
    }

    fn instructions(&mut self) -> Option<u64> {
        Some(self.now_ns())
    }
}

/// The replayed accelerometer.
struct ReplaySensor;

impl Sensors for ReplaySensor {
    fn sample(&mut self, _sensor: u8, t_us: u64, out: &mut [i16]) {
        let index = (t_us / 10_000) as usize % replay::REPLAY.len();
        for (slot, value) in out.iter_mut().zip(replay::REPLAY[index]) {
            *slot = value;
        }
    }
}

fn device_info() -> DeviceInfo<'static> {
    // 1 g = 4096 counts.
    let scale = 9.806_65 / 4096.0;
    let axis = |name| AxisInfo { name, unit: "m/s2", scale };
    let mut sensors = heapless::Vec::new();
    let _ = sensors.push(SensorInfo {
        name: "accel",
        axes: [axis("accX"), axis("accY"), axis("accZ")].into_iter().collect(),
        rates_hz: [25u32, 50, 100].into_iter().collect(),
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

static mut STORE: RamModelStore<{ 64 * 1024 }> = RamModelStore::new();
static mut BUFFERS: ArrayBuffers<4096, 1024, 8192, { 32 * 1024 }> = ArrayBuffers::new();

#[entry]
fn main() -> ! {
    let mut peripherals = cortex_m::Peripherals::take().expect("taken once");
    let syst = &mut peripherals.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(TICKS_PER_MS - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();

    // SAFETY: taken once, here, before anything else can reach them.
    let (store, buffers) = unsafe { (&mut *core::ptr::addr_of_mut!(STORE), &mut *core::ptr::addr_of_mut!(BUFFERS)) };
    let clock = SysTickClock { high: 0, last_ms: 0 };
    let mut agent = Agent::new(device_info(), Uart::init(), ReplaySensor, clock, StoreRef(store)).with_inference(BuffersRef(buffers));
    loop {
        agent.poll();
        // Sleep until the next SysTick (1 ms). With QEMU's `-icount shift=0,sleep=on` virtual
        // time then keeps up with real time, while the work in between is counted exactly.
        cortex_m::asm::wfi();
    }
}

/// The static model store, lent to the agent.
struct StoreRef(&'static mut RamModelStore<{ 64 * 1024 }>);

impl mote_agent::ModelStore for StoreRef {
    fn slot_count(&self) -> u8 {
        self.0.slot_count()
    }
    fn capacity(&self, slot: u8) -> u32 {
        self.0.capacity(slot)
    }
    fn state(&self, slot: u8) -> mote_wire::SlotState {
        self.0.state(slot)
    }
    fn active(&self) -> Option<u8> {
        self.0.active()
    }
    fn begin(&mut self, slot: u8, size: u32) -> Result<(), mote_agent::Refusal> {
        self.0.begin(slot, size)
    }
    fn write(&mut self, slot: u8, offset: u32, bytes: &[u8]) -> Result<(), mote_agent::Refusal> {
        self.0.write(slot, offset, bytes)
    }
    fn read(&self, slot: u8, len: u32) -> Option<&[u8]> {
        self.0.read(slot, len)
    }
    fn commit(&mut self, slot: u8, size: u32, crc: u32) -> Result<(), mote_agent::Refusal> {
        self.0.commit(slot, size, crc)
    }
}

/// The static inference memory, lent to the agent.
struct BuffersRef(&'static mut ArrayBuffers<4096, 1024, 8192, { 32 * 1024 }>);

impl mote_agent::InferenceBuffers for BuffersRef {
    fn memory(&mut self) -> mote_agent::InferenceMemory<'_> {
        self.0.memory()
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Ends QEMU with a failure status (semihosting), so a test sees it at once.
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    loop {}
}
