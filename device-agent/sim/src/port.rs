//! How the virtual board reaches the host: a pseudo-terminal (a real serial port to every
//! client) or a TCP socket on loopback.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use mote_agent::{Link, LinkError};
use serialport::{SerialPort, TTYPort};

/// How long a frame may wait for the host to make room before it is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_millis(250);

/// A link whose far end can go away for good (the board was "unplugged").
pub trait BoardLink: Link {
    /// True once the link will never carry another byte.
    fn is_closed(&self) -> bool {
        false
    }
}

/// The board's end of a pseudo-terminal. The host opens [`PtyLink::path`] like any serial port.
pub struct PtyLink {
    master: TTYPort,
    /// Held open so the terminal keeps its raw settings and the master never reads EIO
    /// between two host sessions.
    _slave: TTYPort,
    path: String,
}

impl PtyLink {
    pub fn open() -> Result<Self, serialport::Error> {
        let (mut master, slave) = TTYPort::pair()?;
        master.set_timeout(Duration::ZERO)?;
        let path = slave.name().unwrap_or_default();
        Ok(Self { master, _slave: slave, path })
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Link for PtyLink {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        self.master.read(buf).unwrap_or(0)
    }

    fn write(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        write_with_deadline(&mut self.master, frame)
    }
}

impl BoardLink for PtyLink {}

/// Writes all of `bytes`, retrying while the other side is slow, up to [`WRITE_TIMEOUT`].
fn write_with_deadline(sink: &mut impl Write, mut bytes: &[u8]) -> Result<(), LinkError> {
    let deadline = Instant::now() + WRITE_TIMEOUT;
    while !bytes.is_empty() {
        match sink.write(bytes) {
            Ok(0) => return Err(LinkError),
            Ok(n) => bytes = &bytes[n..],
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                ) =>
            {
                if Instant::now() > deadline {
                    return Err(LinkError);
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(_) => return Err(LinkError),
        }
    }
    Ok(())
}

/// A TCP listener on loopback; one host at a time.
pub struct TcpLink {
    listener: TcpListener,
    client: Option<TcpStream>,
}

impl TcpLink {
    pub fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Self { listener, client: None })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl Link for TcpLink {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        if let Ok((stream, _)) = self.listener.accept() {
            // A new host replaces the old one, as replugging a cable would.
            if stream.set_nonblocking(true).is_ok() {
                let _ = stream.set_nodelay(true);
                self.client = Some(stream);
            }
        }
        let Some(client) = self.client.as_mut() else { return 0 };
        match client.read(buf) {
            Ok(0) => {
                self.client = None;
                0
            }
            Ok(n) => n,
            Err(error) if error.kind() == ErrorKind::WouldBlock => 0,
            Err(_) => {
                self.client = None;
                0
            }
        }
    }

    fn write(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        let client = self.client.as_mut().ok_or(LinkError)?;
        let result = write_with_deadline(client, frame);
        if result.is_err() {
            self.client = None;
        }
        result
    }
}

impl BoardLink for TcpLink {}
