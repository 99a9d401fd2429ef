//! Stable error codes. Every error type the engine returns has a `code()` (`link.timeout`,
//! `project.import_rejected`, `bundle.tampered`, …); this module is the one place that knows the
//! list, so the CLI's `--json` output and the app report the same code for the same failure.

use std::error::Error;

/// An error with a stable, machine-readable code.
pub trait ErrorCode: Error + 'static {
    fn code(&self) -> &'static str;
}

/// The code `mote --json` prints for an error no type claims.
pub const GENERIC_CODE: &str = "error";

macro_rules! coded_errors {
    ($($error:ty),+ $(,)?) => {
        $(impl ErrorCode for $error {
            fn code(&self) -> &'static str {
                <$error>::code(self)
            }
        })+

        /// The code of `error` itself, if it is one of the engine's error types.
        pub fn own_code(error: &(dyn Error + 'static)) -> Option<&'static str> {
            $(if let Some(error) = error.downcast_ref::<$error>() {
                return Some(ErrorCode::code(error));
            })+
            None
        }
    };
}

coded_errors!(
    crate::link::LinkError,
    crate::link::forwarder::ForwarderError,
    crate::record::RecordError,
    crate::impulse::ImpulseError,
    crate::features::FeatureError,
    crate::training::TrainingError,
    crate::tune::TuneError,
    crate::gateway::GatewayError,
    crate::live::LiveError,
    crate::emulator::EmulatorError,
    crate::firmware::FirmwareError,
    crate::export::ExportError,
    crate::bundle::BundleError,
    crate::models::ModelError,
    crate::int8::Int8Error,
    crate::parity::ParityError,
    crate::virtual_board::VirtualBoardError,
    mote_project::ProjectError,
    mote_project::ConfigError,
    mote_project::ImportError,
    mote_train::TrainError,
    mote_report::ReportError,
    mote_flash::FlashError,
);
