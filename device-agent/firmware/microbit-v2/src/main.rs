//! The Mote device agent on the BBC micro:bit v2 (nRF52833, Cortex-M4F at 64 MHz).
//!
//! - Link: UARTE0 at 115,200 baud to the interface chip (TX P0.06, RX P1.08), which the host sees
//!   as a USB CDC port. Reception is DMA- and interrupt-driven into a 1 KiB ring (embassy-nrf's
//!   `BufferedUarte`), so bytes keep arriving while DSP and inference run; frames are written
//!   whole through a 1 KiB transmit ring.
//! - Sensor: `accel`, the LSM303AGR's accelerometer on the internal I2C bus (SCL P0.08, SDA
//!   P0.16, address 0x19), high-resolution ±2 g (1 g = 16,384 counts), 10–100 Hz.
//! - Clock: the DWT cycle counter (64 MHz), extended to 64 bits.
//! - Models: two 64 KiB slots at the top of flash (0x60000, 0x70000; `memory.x` keeps code below
//!   them) through the NVMC, each committed with a header written last (`FlashModelStore`). A
//!   lean build (feature `lean`) has its one model built in instead, and buffers sized for it.
//!
//! Built in every test run; it has not been run on a physical board (no hardware here).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embassy_nrf::buffered_uarte::{self, BufferedUarte};
use embassy_nrf::twim::{self, Twim};
use embassy_nrf::{bind_interrupts, peripherals, uarte};
use mote_agent::{Agent, ArrayBuffers, Clock, Link, LinkError, Refusal, Sensors};
use mote_wire::{AxisInfo, Capabilities, DeviceInfo, ErrorCode, SensorInfo};

bind_interrupts!(struct Irqs {
    UARTE0 => buffered_uarte::InterruptHandler<peripherals::UARTE0>;
    TWISPI0 => twim::InterruptHandler<peripherals::TWISPI0>;
});

const CPU_HZ: u64 = 64_000_000;
#[cfg(not(feature = "lean"))]
const LAYOUT: mote_agent::layout::FlashLayout = mote_agent::layout::MICROBIT_V2;

/// The UART to the interface chip.
struct Uart(BufferedUarte<'static>);

impl Link for Uart {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        match embedded_io_async::ReadReady::read_ready(&mut self.0) {
            // Data is waiting, so this read completes at once.
            Ok(true) => embassy_futures::block_on(self.0.read(buf)).unwrap_or(0),
            // An overrun lost bytes: the agent's frame decoder resynchronises at the next frame.
            Ok(false) | Err(_) => 0,
        }
    }

    fn write(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        let mut rest = frame;
        while !rest.is_empty() {
            // The transmit ring drains by DMA; wait for room.
            let sent = self.0.try_write(rest).map_err(|_| LinkError)?;
            rest = &rest[sent..];
        }
        Ok(())
    }
}

/// The LSM303AGR accelerometer.
struct Accelerometer {
    i2c: Twim<'static>,
}

impl Accelerometer {
    const ADDRESS: u8 = 0x19;
    const CTRL_REG1_A: u8 = 0x20;
    const CTRL_REG4_A: u8 = 0x23;
    const OUT_X_L_A: u8 = 0x28;
    /// Register auto-increment for multi-byte reads.
    const AUTO_INCREMENT: u8 = 0x80;

    fn odr_bits(rate_hz: u32) -> Option<u8> {
        match rate_hz {
            10 => Some(0x2),
            25 => Some(0x3),
            50 => Some(0x4),
            100 => Some(0x5),
            _ => None,
        }
    }
}

impl Sensors for Accelerometer {
    fn start(&mut self, _sensor: u8, rate_hz: u32) -> Result<(), Refusal> {
        let odr =
            Self::odr_bits(rate_hz).ok_or(Refusal::new(ErrorCode::UNSUPPORTED_RATE, "rate not supported"))?;
        let fail = |_| Refusal::new(ErrorCode::UNKNOWN_SENSOR, "accelerometer did not answer on I2C");
        // Block data update + high resolution (±2 g); then the data rate with X, Y, Z enabled.
        self.i2c.blocking_write(Self::ADDRESS, &[Self::CTRL_REG4_A, 0x88]).map_err(fail)?;
        self.i2c.blocking_write(Self::ADDRESS, &[Self::CTRL_REG1_A, (odr << 4) | 0x07]).map_err(fail)
    }

    fn stop(&mut self, _sensor: u8) {
        // Power down.
        let _ = self.i2c.blocking_write(Self::ADDRESS, &[Self::CTRL_REG1_A, 0x00]);
    }

    fn sample(&mut self, _sensor: u8, _t_us: u64, out: &mut [i16]) {
        let mut raw = [0u8; 6];
        let register = Self::OUT_X_L_A | Self::AUTO_INCREMENT;
        if self.i2c.blocking_write_read(Self::ADDRESS, &[register], &mut raw).is_err() {
            raw = [0; 6];
        }
        for (axis, value) in out.iter_mut().enumerate().take(3) {
            *value = i16::from_le_bytes([raw[2 * axis], raw[2 * axis + 1]]);
        }
    }
}

/// Time from the DWT cycle counter, extended past its 67 s wrap (polled every loop).
struct CycleClock {
    high: u64,
    last: u32,
}

impl Clock for CycleClock {
    fn now_us(&mut self) -> u64 {
        let now = cortex_m::peripheral::DWT::cycle_count();
        if now < self.last {
            self.high += 1 << 32;
        }
        self.last = now;
        (self.high | u64::from(now)) * 1_000_000 / CPU_HZ
    }
}

fn device_info() -> DeviceInfo<'static> {
    let scale = 9.806_65 / 16_384.0;
    let axis = |name| AxisInfo { name, unit: "m/s2", scale };
    let mut sensors = heapless::Vec::new();
    let _ = sensors.push(SensorInfo {
        name: "accel",
        axes: [axis("accX"), axis("accY"), axis("accZ")].into_iter().collect(),
        rates_hz: [10u32, 25, 50, 100].into_iter().collect(),
    });
    DeviceInfo {
        protocol_version: mote_wire::PROTOCOL_VERSION,
        board: "microbit-v2",
        firmware_version: env!("CARGO_PKG_VERSION"),
        device_id: "microbit-v2",
        sensors,
        max_frame: 0,
        model_slots: heapless::Vec::new(),
        capabilities: Capabilities(0),
    }
}

#[cfg(not(any(feature = "general", feature = "lean")))]
compile_error!("build the general agent (feature `general`, the default) or a lean firmware (`lean`)");

/// The built-in model and its buffer sizes (build.rs, from $MOTE_LEAN_MODEL and $MOTE_LEAN_MEMORY).
#[cfg(feature = "lean")]
mod lean {
    include!(concat!(env!("OUT_DIR"), "/lean.rs"));
}

#[cfg(not(feature = "lean"))]
type Buffers = ArrayBuffers<2048, 512, 4096, { 16 * 1024 }>;
#[cfg(feature = "lean")]
type Buffers = ArrayBuffers<{ lean::WINDOW }, { lean::FEATURES }, { lean::SCRATCH }, { lean::ARENA }>;
static mut BUFFERS: Buffers = ArrayBuffers::new();
static mut RX_RING: [u8; 1024] = [0; 1024];
static mut TX_RING: [u8; 1024] = [0; 1024];
static mut I2C_TX: [u8; 4] = [0; 4];

#[entry]
fn main() -> ! {
    let p = embassy_nrf::init(Default::default());
    let mut core = cortex_m::Peripherals::take().expect("taken once");
    core.DCB.enable_trace();
    core.DWT.enable_cycle_counter();

    // SAFETY: taken once, here, before anything else can reach them.
    let (rx_ring, tx_ring, i2c_tx, buffers) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(RX_RING),
            &mut *core::ptr::addr_of_mut!(TX_RING),
            &mut *core::ptr::addr_of_mut!(I2C_TX),
            &mut *core::ptr::addr_of_mut!(BUFFERS),
        )
    };
    let uart = BufferedUarte::new(
        p.UARTE0,
        p.TIMER1,
        p.PPI_CH0,
        p.PPI_CH1,
        p.PPI_GROUP0,
        p.P1_08,
        p.P0_06,
        Irqs,
        uarte::Config::default(),
        rx_ring,
        tx_ring,
    );
    let i2c = Twim::new(p.TWISPI0, Irqs, p.P0_16, p.P0_08, twim::Config::default(), i2c_tx);
    #[cfg(not(feature = "lean"))]
    let store = {
        use embassy_nrf::nvmc::Nvmc;
        use mote_agent::{FlashModelStore, SlotRegion};
        let (len, slot0, slot1) = (LAYOUT.slot_len, LAYOUT.slot0, LAYOUT.slot1);
        let regions = [
            SlotRegion { offset: slot0, len, mapped: slot0 as *const u8 },
            SlotRegion { offset: slot1, len, mapped: slot1 as *const u8 },
        ];
        // SAFETY: the slots are memory-mapped flash at their own addresses, outside the program
        // (memory.x), and only this store writes them.
        unsafe { FlashModelStore::new(Nvmc::new(p.NVMC), regions) }.expect("slot layout is sector aligned")
    };
    #[cfg(feature = "lean")]
    let store = mote_agent::BuiltInModel::new(&lean::MODEL.0);
    let clock = CycleClock { high: 0, last: 0 };
    let mut agent =
        Agent::new(device_info(), Uart(uart), Accelerometer { i2c }, clock, store).with_inference(buffers);
    loop {
        agent.poll();
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Reset: the agent comes back and the host reconnects; committed models are in flash.
    cortex_m::peripheral::SCB::sys_reset()
}
