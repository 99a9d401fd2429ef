//! The Mote device agent on a Raspberry Pi Pico (RP2040, Cortex-M0+ at 125 MHz) with an MPU-6050.
//!
//! - Link: USB CDC-ACM (embassy-usb; VID 0x2E8A, PID 0x000A — Raspberry Pi's id for the Pico's
//!   USB serial). The USB stack runs in an interrupt-level executor and moves bytes between the
//!   CDC endpoints and two 2 KiB pipes; the agent polls in thread mode, reading the receive pipe
//!   and writing whole frames into the transmit pipe (waiting for room, up to 100 ms when no host
//!   reads, then the frame counts as not sent).
//! - Sensors: MPU-6050 on I2C0 (SDA GP4, SCL GP5, address 0x68), ±2 g and ±250 °/s: `accel`,
//!   `gyro`, `imu` (all six axes), 10–200 Hz.
//! - Clock: embassy-time (the RP2040 timer, 1 MHz).
//! - Models: two 64 KiB slots at the top of the 2 MiB flash (XIP 0x101E0000, 0x101F0000;
//!   `memory.x` keeps code below them), each committed with a header written last.
//!
//! Built in every test run; it has not been run on a physical board (no hardware here).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embassy_executor::InterruptExecutor;
use embassy_rp::Peri;
use embassy_rp::bind_interrupts;
use embassy_rp::flash::{Blocking, Flash};
use embassy_rp::i2c::{self, I2c};
use embassy_rp::interrupt;
use embassy_rp::interrupt::{InterruptExt, Priority};
use embassy_rp::peripherals::{I2C0, USB};
use embassy_rp::usb::{self, Driver};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::pipe::Pipe;
use embassy_time::{Duration, Instant};
use embassy_usb::class::cdc_acm::{CdcAcmClass, Receiver, Sender, State};
use mote_agent::{
    Agent, ArrayBuffers, Clock, FlashModelStore, Link, LinkError, Refusal, Sensors, SlotRegion,
};
use mote_wire::{AxisInfo, Capabilities, DeviceInfo, ErrorCode, SensorInfo};

bind_interrupts!(struct Irqs {
    USBCTRL_IRQ => usb::InterruptHandler<USB>;
});

const LAYOUT: mote_agent::layout::FlashLayout = mote_agent::layout::RP2040_PICO;
const FLASH_BYTES: usize = LAYOUT.flash_len as usize;
const XIP_BASE: usize = LAYOUT.flash_base as usize;
const SLOT_BYTES: u32 = LAYOUT.slot_len;
/// Offsets from the start of flash (the flash driver's addresses).
const SLOT0: u32 = LAYOUT.slot_offset(0);
const SLOT1: u32 = LAYOUT.slot_offset(1);
const PIPE: usize = 2048;

static RX: Pipe<CriticalSectionRawMutex, PIPE> = Pipe::new();
static TX: Pipe<CriticalSectionRawMutex, PIPE> = Pipe::new();
static USB_EXECUTOR: InterruptExecutor = InterruptExecutor::new();

#[interrupt]
unsafe fn SWI_IRQ_1() {
    // SAFETY: the executor's own interrupt, started in `main`.
    unsafe { USB_EXECUTOR.on_interrupt() }
}

/// The USB serial port, built and run inside the interrupt executor: the device, and two loops
/// between the CDC endpoints and the pipes.
#[embassy_executor::task]
async fn usb_serial(usb: Peri<'static, USB>) -> ! {
    let mut config = embassy_usb::Config::new(0x2E8A, 0x000A);
    config.manufacturer = Some("Mote");
    config.product = Some("Mote device agent");
    config.serial_number = Some("rp2040-pico");
    config.max_power = 100;
    config.max_packet_size_0 = 64;
    // SAFETY: this task runs once; nothing else touches these buffers.
    let (config_descriptor, bos_descriptor, control, cdc_state) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(CONFIG_DESCRIPTOR),
            &mut *core::ptr::addr_of_mut!(BOS_DESCRIPTOR),
            &mut *core::ptr::addr_of_mut!(CONTROL),
            (*core::ptr::addr_of_mut!(CDC_STATE)).insert(State::new()),
        )
    };
    let driver = Driver::new(usb, Irqs);
    let mut builder =
        embassy_usb::Builder::new(driver, config, config_descriptor, bos_descriptor, &mut [], control);
    let class = CdcAcmClass::new(&mut builder, cdc_state, 64);
    let (sender, receiver) = class.split();
    let mut device = builder.build();
    // All three run forever; the first one's (never) result is this task's.
    embassy_futures::join::join3(device.run(), usb_in(receiver), usb_out(sender)).await.0
}

/// Host → board: CDC packets into the receive pipe.
async fn usb_in(mut receiver: Receiver<'static, Driver<'static, USB>>) -> ! {
    let mut packet = [0u8; 64];
    loop {
        receiver.wait_connection().await;
        while let Ok(n) = receiver.read_packet(&mut packet).await {
            RX.write_all(&packet[..n]).await;
        }
    }
}

/// Board → host: the transmit pipe out as CDC packets.
async fn usb_out(mut sender: Sender<'static, Driver<'static, USB>>) -> ! {
    let mut packet = [0u8; 64];
    loop {
        sender.wait_connection().await;
        loop {
            let n = TX.read(&mut packet).await;
            if sender.write_packet(&packet[..n]).await.is_err() {
                break;
            }
            if n == packet.len() {
                // A full packet may end a transfer only with a zero-length packet.
                let _ = sender.write_packet(&[]).await;
            }
        }
    }
}

/// The agent's side of the USB serial port.
struct UsbSerial;

impl Link for UsbSerial {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        RX.try_read(buf).unwrap_or(0)
    }

    fn write(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        let mut rest = frame;
        let mut waited_since = Instant::now();
        while !rest.is_empty() {
            match TX.try_write(rest) {
                Ok(n) => {
                    rest = &rest[n..];
                    waited_since = Instant::now();
                }
                // Nobody is reading (no host, or it stopped): give up on this frame.
                Err(_) if waited_since.elapsed() > Duration::from_millis(100) => return Err(LinkError),
                Err(_) => cortex_m::asm::nop(),
            }
        }
        Ok(())
    }
}

/// The MPU-6050.
struct Mpu6050 {
    i2c: I2c<'static, I2C0, i2c::Blocking>,
}

impl Mpu6050 {
    const ADDRESS: u8 = 0x68;
    const SMPLRT_DIV: u8 = 0x19;
    const CONFIG: u8 = 0x1A;
    const ACCEL_XOUT_H: u8 = 0x3B;
    const PWR_MGMT_1: u8 = 0x6B;
}

impl Sensors for Mpu6050 {
    fn start(&mut self, _sensor: u8, rate_hz: u32) -> Result<(), Refusal> {
        if !RATES.contains(&rate_hz) {
            return Err(Refusal::new(ErrorCode::UNSUPPORTED_RATE, "rate not supported"));
        }
        let fail = |_| Refusal::new(ErrorCode::UNKNOWN_SENSOR, "MPU-6050 did not answer on I2C");
        // Wake up on the gyroscope's clock; 1 kHz internal rate with the 44 Hz low-pass filter,
        // divided down to the stream's rate; ±250 °/s and ±2 g are the reset defaults.
        self.i2c.blocking_write(Self::ADDRESS, &[Self::PWR_MGMT_1, 0x01]).map_err(fail)?;
        self.i2c.blocking_write(Self::ADDRESS, &[Self::CONFIG, 0x03]).map_err(fail)?;
        let divider = (1000 / rate_hz).saturating_sub(1).min(255) as u8;
        self.i2c.blocking_write(Self::ADDRESS, &[Self::SMPLRT_DIV, divider]).map_err(fail)
    }

    fn stop(&mut self, _sensor: u8) {
        // Sleep.
        let _ = self.i2c.blocking_write(Self::ADDRESS, &[Self::PWR_MGMT_1, 0x40]);
    }

    fn sample(&mut self, sensor: u8, _t_us: u64, out: &mut [i16]) {
        // ACCEL_X/Y/Z, TEMP, GYRO_X/Y/Z: big-endian words.
        let mut raw = [0u8; 14];
        if self.i2c.blocking_write_read(Self::ADDRESS, &[Self::ACCEL_XOUT_H], &mut raw).is_err() {
            raw = [0; 14];
        }
        let word = |i: usize| i16::from_be_bytes([raw[2 * i], raw[2 * i + 1]]);
        let (accel, gyro) = ([word(0), word(1), word(2)], [word(4), word(5), word(6)]);
        let values: &[i16] = match sensor {
            0 => &accel,
            1 => &gyro,
            _ => &[accel[0], accel[1], accel[2], gyro[0], gyro[1], gyro[2]],
        };
        for (slot, value) in out.iter_mut().zip(values) {
            *slot = *value;
        }
    }
}

struct TimerClock;

impl Clock for TimerClock {
    fn now_us(&mut self) -> u64 {
        Instant::now().as_micros()
    }
}

const RATES: [u32; 5] = [10, 25, 50, 100, 200];

fn device_info() -> DeviceInfo<'static> {
    let accel = |name| AxisInfo { name, unit: "m/s2", scale: 9.806_65 / 16_384.0 };
    let gyro = |name| AxisInfo { name, unit: "deg/s", scale: 1.0 / 131.0 };
    let rates = || RATES.into_iter().collect();
    let mut sensors = heapless::Vec::new();
    let _ = sensors.push(SensorInfo {
        name: "accel",
        axes: [accel("accX"), accel("accY"), accel("accZ")].into_iter().collect(),
        rates_hz: rates(),
    });
    let _ = sensors.push(SensorInfo {
        name: "gyro",
        axes: [gyro("gyrX"), gyro("gyrY"), gyro("gyrZ")].into_iter().collect(),
        rates_hz: rates(),
    });
    let _ = sensors.push(SensorInfo {
        name: "imu",
        axes: [accel("accX"), accel("accY"), accel("accZ"), gyro("gyrX"), gyro("gyrY"), gyro("gyrZ")]
            .into_iter()
            .collect(),
        rates_hz: rates(),
    });
    DeviceInfo {
        protocol_version: mote_wire::PROTOCOL_VERSION,
        board: "rp2040-pico",
        firmware_version: env!("CARGO_PKG_VERSION"),
        device_id: "rp2040-pico",
        sensors,
        max_frame: 0,
        model_slots: heapless::Vec::new(),
        capabilities: Capabilities(0),
    }
}

type Buffers = ArrayBuffers<4096, 1024, 8192, { 32 * 1024 }>;
static mut BUFFERS: Buffers = ArrayBuffers::new();
static mut CONFIG_DESCRIPTOR: [u8; 256] = [0; 256];
static mut BOS_DESCRIPTOR: [u8; 256] = [0; 256];
static mut CONTROL: [u8; 64] = [0; 64];
static mut CDC_STATE: Option<State<'static>> = None;

#[entry]
fn main() -> ! {
    let p = embassy_rp::init(Default::default());

    interrupt::SWI_IRQ_1.set_priority(Priority::P2);
    let spawner = USB_EXECUTOR.start(interrupt::SWI_IRQ_1);
    spawner.spawn(usb_serial(p.USB).expect("one USB task"));

    // SAFETY: taken once, here.
    let buffers = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    let i2c = I2c::new_blocking(p.I2C0, p.PIN_5, p.PIN_4, i2c::Config::default());
    let flash = Flash::<_, Blocking, FLASH_BYTES>::new_blocking(p.FLASH);
    let regions = [
        SlotRegion { offset: SLOT0, len: SLOT_BYTES, mapped: (XIP_BASE + SLOT0 as usize) as *const u8 },
        SlotRegion { offset: SLOT1, len: SLOT_BYTES, mapped: (XIP_BASE + SLOT1 as usize) as *const u8 },
    ];
    // SAFETY: the slots are XIP-mapped flash outside the program (memory.x); only this store
    // writes them.
    let store = unsafe { FlashModelStore::new(flash, regions) }.expect("slot layout is sector aligned");
    let mut agent =
        Agent::new(device_info(), UsbSerial, Mpu6050 { i2c }, TimerClock, store).with_inference(buffers);
    loop {
        agent.poll();
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Reset: the agent comes back and the host reconnects; committed models are in flash.
    cortex_m::peripheral::SCB::sys_reset()
}
