//! What can go wrong talking to a board, each with what to do about it.

use mote_wire::ErrorCode;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    #[error("no serial port {port}: is the board plugged in? (`mote devices` lists the ports)")]
    PortNotFound { port: String },
    #[error(
        "permission denied opening {port}: add yourself to the `dialout` group \
         (`sudo usermod -aG dialout $USER`), then log out and back in"
    )]
    PermissionDenied { port: String },
    #[error(
        "{port} is in use by another program (a serial monitor, or another Mote window); close it and try again"
    )]
    PortBusy { port: String },
    #[error("cannot open {port}: {source}")]
    Open { port: String, source: serialport::Error },
    #[error(
        "no answer from {port} within {waited_ms} ms: is Mote's device agent running on the board? \
         (a board that prints text lines works with `mote forward`)"
    )]
    NoAnswer { port: String, waited_ms: u64 },
    #[error(
        "{port} is not a Mote board: it sent {bytes} bytes but no valid Mote frame ({sample}); \
         a board that prints text lines works with `mote forward`"
    )]
    NotMote { port: String, bytes: u64, sample: String },
    #[error("{port} speaks Mote protocol v{board}, this Mote speaks v{host}: {advice}")]
    ProtocolMismatch { port: String, board: u16, host: u16, advice: &'static str },
    #[error("{port} disconnected: {reason}")]
    Disconnected { port: String, reason: String },
    #[error("{port} did not answer {request} within {waited_ms} ms")]
    Timeout { port: String, request: &'static str, waited_ms: u64 },
    #[error("the board refused {request}: {} ({detail})", code.name())]
    Refused { request: &'static str, code: ErrorCode, detail: String },
    #[error("{0}")]
    Invalid(String),
    #[error("cancelled")]
    Cancelled,
    #[error("cannot write to {port}: {source}")]
    Write { port: String, source: std::io::Error },
    #[error("cannot list the serial ports: {0}")]
    ListPorts(String),
}

impl LinkError {
    /// A short stable code for the UI and `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            LinkError::PortNotFound { .. } => "port_not_found",
            LinkError::PermissionDenied { .. } => "permission_denied",
            LinkError::PortBusy { .. } => "port_busy",
            LinkError::Open { .. } => "open_failed",
            LinkError::NoAnswer { .. } => "no_answer",
            LinkError::NotMote { .. } => "not_mote",
            LinkError::ProtocolMismatch { .. } => "protocol_mismatch",
            LinkError::Disconnected { .. } => "disconnected",
            LinkError::Timeout { .. } => "timeout",
            LinkError::Refused { .. } => "refused",
            LinkError::Invalid(_) => "invalid_request",
            LinkError::Cancelled => "cancelled",
            LinkError::Write { .. } => "write_failed",
            LinkError::ListPorts(_) => "list_ports_failed",
        }
    }

    /// Maps an error from opening a serial port.
    pub fn from_open(port: &str, error: serialport::Error) -> Self {
        use serialport::ErrorKind as Kind;
        use std::io::ErrorKind as Io;
        let port = port.to_string();
        match error.kind() {
            Kind::NoDevice => LinkError::PortBusy { port },
            Kind::Io(Io::NotFound) => LinkError::PortNotFound { port },
            Kind::Io(Io::PermissionDenied) => LinkError::PermissionDenied { port },
            _ => LinkError::Open { port, source: error },
        }
    }
}
