//! Finding boards: serial ports with their USB identity, and running virtual boards.

use serde::Serialize;
use serialport::SerialPortType;

use super::error::LinkError;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PortEntry {
    pub path: String,
    /// `usb`, `pci`, `bluetooth`, `virtual`, `emulated` (firmware in QEMU) or `unknown`.
    pub kind: &'static str,
    pub vid: Option<u16>,
    pub pid: Option<u16>,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    /// The board this USB id usually belongs to, or the virtual board's device id.
    pub likely_board: Option<String>,
}

/// USB ids of boards Mote supports.
const KNOWN_BOARDS: [(u16, u16, &str); 3] = [
    (0x0d28, 0x0204, "microbit-v2 (DAPLink)"),
    (0x2e8a, 0x000a, "rp2040-pico (USB CDC)"),
    (0x2e8a, 0x0005, "rp2040-pico (MicroPython)"),
];

/// Every serial port and every running virtual board. Virtual boards come first. When the
/// system cannot list its serial ports, that is an error, not an empty list.
pub fn list_ports() -> Result<Vec<PortEntry>, LinkError> {
    let mut entries: Vec<PortEntry> = mote_sim::registry::list_virtual_boards()
        .into_iter()
        .filter_map(|board| {
            let path = board.path.clone()?;
            Some(PortEntry {
                path,
                kind: if board.kind.as_deref() == Some("emulated") { "emulated" } else { "virtual" },
                vid: None,
                pid: None,
                serial_number: None,
                manufacturer: Some("Mote".into()),
                product: Some(
                    if board.kind.as_deref() == Some("emulated") {
                        "emulated board"
                    } else {
                        "virtual board"
                    }
                    .into(),
                ),
                likely_board: Some(board.device_id),
            })
        })
        .collect();
    let system_ports = serialport::available_ports().map_err(|e| LinkError::ListPorts(e.to_string()))?;
    for port in system_ports {
        if entries.iter().any(|entry| entry.path == port.port_name) {
            continue;
        }
        let mut entry = PortEntry {
            path: port.port_name,
            kind: "unknown",
            vid: None,
            pid: None,
            serial_number: None,
            manufacturer: None,
            product: None,
            likely_board: None,
        };
        match port.port_type {
            SerialPortType::UsbPort(usb) => {
                entry.kind = "usb";
                entry.likely_board = KNOWN_BOARDS
                    .iter()
                    .find(|(vid, pid, _)| *vid == usb.vid && *pid == usb.pid)
                    .map(|(_, _, name)| name.to_string());
                entry.vid = Some(usb.vid);
                entry.pid = Some(usb.pid);
                entry.serial_number = usb.serial_number;
                entry.manufacturer = usb.manufacturer;
                entry.product = usb.product;
            }
            SerialPortType::PciPort => entry.kind = "pci",
            SerialPortType::BluetoothPort => entry.kind = "bluetooth",
            SerialPortType::Unknown => {}
        }
        entries.push(entry);
    }
    Ok(entries)
}
