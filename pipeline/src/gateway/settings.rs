//! A gateway's settings as a user gives them, the same for `mote gateway`'s flags and the app's
//! Integrations page: checked field by field ([`GatewaySettings::resolve`]) before anything
//! starts, so a bad broker address, CA file, prefix or key is named beside its field and nothing
//! runs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::format::Format;
use super::{Broker, EventRules, GatewayOptions, ModelLibrary, release};
use crate::models::{ModelError, model_blob};
use crate::project::Project;

/// What a user sets. Defaults: a local broker, prefix `mote`, every board found, Mote's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct GatewaySettings {
    /// `mqtt://host[:port]` (1883) or `mqtts://host[:port]` (8883, with a CA file).
    pub broker: String,
    /// The CA certificate (PEM) the broker's TLS certificate must chain to.
    pub ca: Option<String>,
    pub username: Option<String>,
    /// Never written to disk (settings files leave it out).
    #[serde(skip_serializing)]
    pub password: Option<String>,
    /// The first topic level.
    pub prefix: String,
    /// This gateway's name: its status topic and MQTT client id.
    pub id: String,
    /// Only these serial ports; empty: every Mote board found.
    pub ports: Vec<String>,
    /// Projects whose models the boards may run (their labels name the classes).
    pub projects: Vec<String>,
    /// A new top label is an event after this many windows in a row.
    pub hold: u32,
    /// An anomaly score above this is an event.
    pub anomaly_threshold: Option<f32>,
    /// Publish events and statuses only.
    pub only_events: bool,
    /// `mote`, `homeassistant` or `thingsboard`.
    pub format: String,
    /// The outbox's bound, in messages.
    pub queue_limit: u32,
    /// Each board's status is published again this often, seconds.
    pub status_every_s: f64,
    /// Take signed releases from `<prefix>/<fleet>/model`.
    pub fleet: Option<String>,
    /// The release public key: 64 hex digits, or a file holding them.
    pub release_key: Option<String>,
    /// A release file to put on the boards at start.
    pub release_file: Option<String>,
    /// Where the outbox lives [default: the user's data folder, per gateway id].
    pub state: Option<String>,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            broker: "mqtt://127.0.0.1:1883".into(),
            ca: None,
            username: None,
            password: None,
            prefix: "mote".into(),
            id: "gateway".into(),
            ports: Vec::new(),
            projects: Vec::new(),
            hold: 3,
            anomaly_threshold: None,
            only_events: false,
            format: "mote".into(),
            queue_limit: super::outbox::DEFAULT_LIMIT as u32,
            status_every_s: 30.0,
            fleet: None,
            release_key: None,
            release_file: None,
            state: None,
        }
    }
}

/// A setting that cannot work: which one, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[error("{message}")]
pub struct SettingError {
    /// The [`GatewaySettings`] field.
    pub field: String,
    pub message: String,
}

/// Settings that checked out: what [`super::run_gateway`] takes, and notes for the user (a
/// project without a model yet, releases that will all be refused).
pub struct Resolved {
    pub options: GatewayOptions,
    pub models: ModelLibrary,
    pub notes: Vec<String>,
}

fn bad(field: &str, message: impl Into<String>) -> SettingError {
    SettingError { field: field.into(), message: message.into() }
}

/// Empty text is no value (a form's cleared field).
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|text| !text.is_empty())
}

impl GatewaySettings {
    /// Checks every field and opens the projects' models; the first problem found is returned.
    pub async fn resolve(&self) -> Result<Resolved, SettingError> {
        let mut broker = Broker::parse(self.broker.trim()).map_err(|e| bad("broker", e.to_string()))?;
        let tls = self.broker.trim().starts_with("mqtts://");
        broker.ca_file = given(&self.ca).map(PathBuf::from);
        if tls && broker.ca_file.is_none() {
            return Err(bad(
                "ca",
                "mqtts:// needs --ca, the CA certificate the broker's certificate chains to",
            ));
        }
        broker.username = given(&self.username).map(str::to_string);
        broker.password = self.password.clone();
        broker.check().map_err(|e| bad("ca", e.to_string()))?;
        let prefix = self.prefix.trim();
        super::check_prefix(prefix).map_err(|e| bad("prefix", e.to_string()))?;
        let id = self.id.trim();
        if id.is_empty() {
            return Err(bad("id", "the gateway needs a name"));
        }
        let format = Format::parse(&self.format).ok_or_else(|| {
            bad("format", format!("{:?} is not mote, homeassistant or thingsboard", self.format))
        })?;
        if self.hold == 0 {
            return Err(bad("hold", "an event needs at least one window"));
        }
        if self.queue_limit == 0 {
            return Err(bad("queue_limit", "the outbox must hold at least one message"));
        }
        if !(self.status_every_s.is_finite() && self.status_every_s >= 0.1) {
            return Err(bad("status_every_s", "must be at least 0.1 seconds"));
        }
        if let Some(threshold) = self.anomaly_threshold
            && !threshold.is_finite()
        {
            return Err(bad("anomaly_threshold", "must be a number"));
        }
        let release_key = given(&self.release_key)
            .map(release::public_key)
            .transpose()
            .map_err(|e| bad("release_key", e.to_string()))?;
        let fleet = given(&self.fleet).map(str::to_string);
        let release_file = given(&self.release_file).map(PathBuf::from);
        if let Some(file) = &release_file
            && !file.is_file()
        {
            return Err(bad("release_file", format!("{}: no such file", file.display())));
        }
        let mut notes = Vec::new();
        if (fleet.is_some() || release_file.is_some()) && release_key.is_none() {
            notes.push("no release key: every release will be refused".to_string());
        }

        let mut models = ModelLibrary::default();
        for dir in self.projects.iter().map(|dir| dir.trim()).filter(|dir| !dir.is_empty()) {
            let project =
                Project::open(Path::new(dir)).await.map_err(|e| bad("projects", format!("{dir}: {e}")))?;
            let blob = model_blob(&project, None).await;
            project.close().await;
            match blob {
                Ok((_, blob)) => models.add(blob),
                Err(ModelError::NoModel) => {
                    notes.push(format!("{dir} has no model yet; its boards publish class numbers"))
                }
                Err(error) => return Err(bad("projects", format!("{dir}: {error}"))),
            }
        }
        let state_dir = match given(&self.state) {
            Some(dir) => PathBuf::from(dir),
            None => Project::data_dir().map_err(|e| bad("state", e.to_string()))?.join("gateway").join(id),
        };
        let options = GatewayOptions {
            broker,
            prefix: prefix.to_string(),
            id: id.to_string(),
            state_dir,
            ports: self.ports.iter().map(|port| port.trim().to_string()).filter(|p| !p.is_empty()).collect(),
            events: EventRules { hold: self.hold, anomaly_threshold: self.anomaly_threshold },
            only_events: self.only_events,
            format,
            queue_limit: u64::from(self.queue_limit),
            status_every: std::time::Duration::from_secs_f64(self.status_every_s),
            fleet,
            release_key,
            release_file,
        };
        Ok(Resolved { options, models, notes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    fn refused(settings: GatewaySettings) -> SettingError {
        match runtime().block_on(settings.resolve()) {
            Ok(_) => panic!("{settings:?} was accepted"),
            Err(error) => error,
        }
    }

    #[test]
    fn each_bad_setting_is_named_by_its_field() {
        let state = tempfile::tempdir().unwrap();
        let base = GatewaySettings { state: Some(state.path().display().to_string()), ..Default::default() };
        let with = |change: fn(&mut GatewaySettings)| {
            let mut settings = base.clone();
            change(&mut settings);
            settings
        };
        let cases: [(fn(&mut GatewaySettings), &str, &str); 10] = [
            (|s| s.broker = "http://x".into(), "broker", "is not mqtt://host[:port]"),
            (|s| s.broker = "mqtts://x".into(), "ca", "mqtts:// needs --ca"),
            (|s| (s.broker, s.ca) = ("mqtts://x".into(), Some("/nope.pem".into())), "ca", "the CA file"),
            (|s| s.prefix = "a/#".into(), "prefix", "topic prefix"),
            (|s| s.id = " ".into(), "id", "needs a name"),
            (|s| s.format = "json".into(), "format", "is not mote, homeassistant or thingsboard"),
            (|s| s.hold = 0, "hold", "at least one window"),
            (|s| s.queue_limit = 0, "queue_limit", "at least one message"),
            (|s| s.release_key = Some("abc".into()), "release_key", "is not 64 hex digits"),
            (|s| s.projects = vec!["/no/such/project".into()], "projects", "/no/such/project"),
        ];
        for (change, field, message) in cases {
            let error = refused(with(change));
            assert_eq!(error.field, field, "{error:?}");
            assert!(error.message.contains(message), "{field}: {}", error.message);
        }
        let resolved = runtime().block_on(base.resolve()).unwrap();
        assert_eq!(resolved.options.prefix, "mote");
        assert_eq!(resolved.options.state_dir, state.path());
        assert!(resolved.notes.is_empty());
    }

    #[test]
    fn the_password_is_never_written() {
        let settings = GatewaySettings { password: Some("secret".into()), ..Default::default() };
        let text = serde_json::to_string(&settings).unwrap();
        assert!(!text.contains("secret"), "{text}");
        let back: GatewaySettings = serde_json::from_str(&text).unwrap();
        assert_eq!(back.password, None);
        assert_eq!(back.broker, settings.broker);
    }
}
