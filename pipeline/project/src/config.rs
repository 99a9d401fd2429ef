//! `mote.toml`: the human-editable project settings — parsing with errors that name the line and key,
//! and rewriting that keeps the user's comments and layout (`toml_edit`).
//!
//! This crate owns `[project]`, `[data]` and `[window]` and validates them strictly (an unknown key there
//! is an error, because it is most likely a typo). `[dsp]` and `[learn]` are a `block` name plus free
//! parameters that the DSP and training crates validate. Any other top-level table is kept as it is.

use std::path::Path;

use crate::error::ConfigError;

/// The file name of the project settings inside a project folder.
pub const CONFIG_FILE: &str = "mote.toml";

/// The whole of `mote.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectConfig {
    pub project: ProjectSection,
    pub data: DataSection,
    pub window: WindowSection,
    pub dsp: BlockConfig,
    pub learn: BlockConfig,
    /// Top-level tables this crate does not own, kept unchanged.
    pub extra: toml::Table,
}

/// `[project]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSection {
    pub name: String,
    /// Seeds every random choice (automatic train/test split, training). Default 0.
    pub seed: u64,
}

/// `[data]`
#[derive(Debug, Clone, PartialEq)]
pub struct DataSection {
    /// The sensor's name on the board.
    pub sensor: String,
    /// The axes used for features and training, in this order.
    pub axes: Vec<String>,
    pub rate_hz: f64,
    /// A fixed label order; empty means the sorted labels found in the data.
    pub labels: Vec<String>,
}

/// `[window]`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSection {
    pub length_ms: u32,
    pub stride_ms: u32,
}

/// `[dsp]` or `[learn]`: the block's name and every other key as its parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BlockConfig {
    pub block: String,
    pub params: toml::Table,
}

impl BlockConfig {
    pub fn new(block: impl Into<String>) -> Self {
        BlockConfig { block: block.into(), params: toml::Table::new() }
    }
}

/// The file a new project starts with; `{name}` is replaced. Comments here survive every rewrite.
const TEMPLATE: &str = r#"# Mote project settings. Edit freely: Mote keeps your comments and layout when it rewrites this file.

[project]
name = "default"          # shown by the app and the CLI
seed = 42                 # seeds every random choice (automatic train/test split, training)

[data]
sensor = "imu"            # sensor name on the board
axes = ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]  # axes used for training, in this order
rate_hz = 100.0           # sampling rate in Hz
labels = []               # optional fixed label order; empty = sorted labels found in the data

[window]
length_ms = 2000          # length of the window a model sees
stride_ms = 1000          # step between consecutive windows

[dsp]                     # `block` + that block's parameters; validated by the DSP crate
block = "flatten"

[learn]                   # `block` + parameters; validated by the training crate
block = "dense"
"#;

const PROJECT_KEYS: &[&str] = &["name", "seed"];
const DATA_KEYS: &[&str] = &["sensor", "axes", "rate_hz", "labels"];
const WINDOW_KEYS: &[&str] = &["length_ms", "stride_ms"];

impl ProjectConfig {
    /// The settings a new project named `name` gets (the template's values).
    pub fn new_default(name: &str) -> Self {
        let mut config = ProjectConfig::parse(TEMPLATE, Path::new(CONFIG_FILE)).expect("template parses");
        config.project.name = name.to_string();
        config
    }

    /// The text `Project::create` writes for a new project named `name`.
    pub fn default_text(name: &str) -> String {
        ProjectConfig::new_default(name).render_onto(TEMPLATE).expect("template renders")
    }

    /// Parses and validates `text`; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let table: toml::Table = text.parse().map_err(|error: toml::de::Error| ConfigError::Syntax {
            path: path.to_path_buf(),
            line: error.span().map(|span| line_at(text, span.start)),
            message: error.to_string().trim_end().to_string(),
        })?;
        let lines = KeyLines { text, document: toml_edit::Document::parse(text).ok(), path };

        let project = lines.section(&table, "project", PROJECT_KEYS)?;
        let data = lines.section(&table, "data", DATA_KEYS)?;
        let window = lines.section(&table, "window", WINDOW_KEYS)?;
        let config = ProjectConfig {
            project: ProjectSection {
                name: lines.string(project, "project", "name")?,
                seed: match project.get("seed") {
                    None => 0,
                    Some(value) => match value.as_integer() {
                        Some(seed) if seed >= 0 => seed as u64,
                        _ => return Err(lines.invalid("project", "seed", "an integer >= 0")),
                    },
                },
            },
            data: DataSection {
                sensor: lines.string(data, "data", "sensor")?,
                axes: lines.string_list(data, "data", "axes")?,
                rate_hz: match data.get("rate_hz") {
                    Some(toml::Value::Float(rate)) => *rate,
                    Some(toml::Value::Integer(rate)) => *rate as f64,
                    _ => return Err(lines.invalid("data", "rate_hz", "a number of samples per second > 0")),
                },
                labels: match data.get("labels") {
                    None => Vec::new(),
                    Some(_) => lines.string_list(data, "data", "labels")?,
                },
            },
            window: WindowSection {
                length_ms: lines.positive_ms(window, "window", "length_ms")?,
                stride_ms: lines.positive_ms(window, "window", "stride_ms")?,
            },
            dsp: lines.block(&table, "dsp")?,
            learn: lines.block(&table, "learn")?,
            extra: table
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "project" | "data" | "window" | "dsp" | "learn"))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        };
        config.check(&lines)?;
        Ok(config)
    }

    /// Validates the keys this crate owns (for settings built in code); `path` names the file in errors.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        self.check(&KeyLines { text: "", document: None, path })
    }

    fn check(&self, lines: &KeyLines<'_>) -> Result<(), ConfigError> {
        if self.project.name.trim().is_empty() {
            return Err(lines.invalid("project", "name", "a non-empty name"));
        }
        if self.data.sensor.trim().is_empty() {
            return Err(lines.invalid("data", "sensor", "a non-empty sensor name"));
        }
        if self.data.axes.is_empty() {
            return Err(lines.invalid("data", "axes", "a non-empty list of axis names"));
        }
        if let Some(axis) = first_repeat(&self.data.axes) {
            return Err(lines.invalid(
                "data",
                "axes",
                &format!("unique axis names, `{axis}` is listed twice"),
            ));
        }
        if self.data.axes.iter().any(|axis| axis.trim().is_empty()) {
            return Err(lines.invalid("data", "axes", "non-empty axis names"));
        }
        if !(self.data.rate_hz.is_finite() && self.data.rate_hz > 0.0) {
            return Err(lines.invalid("data", "rate_hz", "a number of samples per second > 0"));
        }
        if let Some(label) = first_repeat(&self.data.labels) {
            return Err(lines.invalid(
                "data",
                "labels",
                &format!("unique labels, `{label}` is listed twice"),
            ));
        }
        if self.window.length_ms == 0 {
            return Err(lines.invalid("window", "length_ms", "an integer number of milliseconds > 0"));
        }
        if self.window.stride_ms == 0 {
            return Err(lines.invalid("window", "stride_ms", "an integer number of milliseconds > 0"));
        }
        for (table, block) in [("dsp", &self.dsp), ("learn", &self.learn)] {
            if block.block.trim().is_empty() {
                return Err(lines.invalid(table, "block", "a non-empty block name"));
            }
        }
        Ok(())
    }

    /// A fresh, commented `mote.toml` holding these settings.
    pub fn to_toml(&self) -> String {
        self.render_onto(TEMPLATE).expect("template renders")
    }

    /// `original` with these settings written into it: keys whose value did not change keep their
    /// text, comments and layout; changed values keep the comment beside them; keys that are no longer
    /// present are removed. If `original` is not valid TOML, a fresh file is rendered instead.
    pub fn render_onto(&self, original: &str) -> Result<String, ConfigError> {
        let mut document: toml_edit::DocumentMut = match original.parse() {
            Ok(document) => document,
            Err(_) => TEMPLATE.parse().expect("template parses"),
        };
        let root = document.as_table_mut();

        let mut project = toml::Table::new();
        project.insert("name".into(), self.project.name.clone().into());
        project.insert("seed".into(), toml::Value::Integer(self.project.seed as i64));
        let mut data = toml::Table::new();
        data.insert("sensor".into(), self.data.sensor.clone().into());
        data.insert("axes".into(), string_array(&self.data.axes));
        data.insert("rate_hz".into(), toml::Value::Float(self.data.rate_hz));
        data.insert("labels".into(), string_array(&self.data.labels));
        let mut window = toml::Table::new();
        window.insert("length_ms".into(), toml::Value::Integer(self.window.length_ms.into()));
        window.insert("stride_ms".into(), toml::Value::Integer(self.window.stride_ms.into()));

        sync_table(root, "project", &project);
        sync_table(root, "data", &data);
        sync_table(root, "window", &window);
        for (name, block) in [("dsp", &self.dsp), ("learn", &self.learn)] {
            let mut table = toml::Table::new();
            table.insert("block".into(), block.block.clone().into());
            table.extend(block.params.iter().map(|(key, value)| (key.clone(), value.clone())));
            sync_table(root, name, &table);
        }
        let owned = ["project", "data", "window", "dsp", "learn"];
        let stale: Vec<String> = root
            .iter()
            .map(|(key, _)| key.to_string())
            .filter(|key| !owned.contains(&key.as_str()) && !self.extra.contains_key(key))
            .collect();
        for key in stale {
            root.remove(&key);
        }
        for (key, value) in &self.extra {
            sync_item(root, key, value);
        }
        Ok(document.to_string())
    }
}

fn string_array(items: &[String]) -> toml::Value {
    toml::Value::Array(items.iter().map(|item| toml::Value::String(item.clone())).collect())
}

fn first_repeat(items: &[String]) -> Option<&String> {
    items.iter().enumerate().find(|(index, item)| items[..*index].contains(item)).map(|(_, item)| item)
}

fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|byte| **byte == b'\n').count() + 1
}

/// Typed access to the parsed table, with the line of each key for error messages.
struct KeyLines<'a> {
    text: &'a str,
    document: Option<toml_edit::Document<&'a str>>,
    path: &'a Path,
}

impl<'a> KeyLines<'a> {
    /// The line of `[table] key`, or of `[table]` when the key is absent.
    fn line(&self, table: &str, key: Option<&str>) -> Option<usize> {
        let document = self.document.as_ref()?;
        let table_item = document.as_table().get_key_value(table);
        let span = match (table_item, key) {
            (Some((_, item)), Some(key)) => match item.as_table_like().and_then(|t| t.get_key_value(key)) {
                Some((key, _)) => key.span(),
                None => item.span().or_else(|| document.as_table().get_key_value(table)?.0.span()),
            },
            (Some((table_key, item)), None) => item.span().or_else(|| table_key.span()),
            (None, _) => None,
        }?;
        Some(line_at(self.text, span.start))
    }

    fn invalid(&self, table: &str, key: &str, expected: &str) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line: self.line(table, Some(key)),
            key: format!("{table}.{key}"),
            expected: expected.to_string(),
        }
    }

    fn section<'t>(
        &self,
        root: &'t toml::Table,
        name: &str,
        known: &[&str],
    ) -> Result<&'t toml::Table, ConfigError> {
        let Some(toml::Value::Table(table)) = root.get(name) else {
            return Err(ConfigError::Invalid {
                path: self.path.to_path_buf(),
                line: self.line(name, None),
                key: name.to_string(),
                expected: format!("a table `[{name}]`"),
            });
        };
        if let Some(key) = table.keys().find(|key| !known.contains(&key.as_str())) {
            return Err(ConfigError::UnknownKey {
                path: self.path.to_path_buf(),
                line: self.line(name, Some(key)),
                key: format!("{name}.{key}"),
                known: known.join(", "),
            });
        }
        Ok(table)
    }

    fn string(&self, table: &toml::Table, name: &str, key: &str) -> Result<String, ConfigError> {
        match table.get(key) {
            Some(toml::Value::String(value)) => Ok(value.clone()),
            _ => Err(self.invalid(name, key, "a string")),
        }
    }

    fn string_list(&self, table: &toml::Table, name: &str, key: &str) -> Result<Vec<String>, ConfigError> {
        let expected = "a list of strings, e.g. [\"accX\", \"accY\"]";
        let Some(toml::Value::Array(items)) = table.get(key) else {
            return Err(self.invalid(name, key, expected));
        };
        items
            .iter()
            .map(|item| item.as_str().map(str::to_string).ok_or_else(|| self.invalid(name, key, expected)))
            .collect()
    }

    fn positive_ms(&self, table: &toml::Table, name: &str, key: &str) -> Result<u32, ConfigError> {
        match table.get(key).and_then(toml::Value::as_integer) {
            Some(ms) if ms > 0 && ms <= i64::from(u32::MAX) => Ok(ms as u32),
            _ => Err(self.invalid(name, key, "an integer number of milliseconds > 0")),
        }
    }

    fn block(&self, root: &toml::Table, name: &str) -> Result<BlockConfig, ConfigError> {
        let Some(toml::Value::Table(table)) = root.get(name) else {
            return Err(ConfigError::Invalid {
                path: self.path.to_path_buf(),
                line: self.line(name, None),
                key: name.to_string(),
                expected: format!("a table `[{name}]` with a `block` key"),
            });
        };
        let block = self.string(table, name, "block")?;
        let params = table.iter().filter(|(key, _)| *key != "block").map(|(k, v)| (k.clone(), v.clone()));
        Ok(BlockConfig { block, params: params.collect() })
    }
}

/// Makes `root[name]` a table whose keys equal `desired`, editing in place.
fn sync_table(root: &mut toml_edit::Table, name: &str, desired: &toml::Table) {
    if !root.get(name).is_some_and(|item| item.is_table_like()) {
        root.insert(name, toml_edit::Item::Table(toml_edit::Table::new()));
    }
    let table = root.get_mut(name).and_then(toml_edit::Item::as_table_like_mut).expect("just inserted");
    let stale: Vec<String> =
        table.iter().map(|(key, _)| key.to_string()).filter(|key| !desired.contains_key(key)).collect();
    for key in stale {
        table.remove(&key);
    }
    for (key, value) in desired {
        let unchanged = table.get(key).and_then(item_to_toml).as_ref() == Some(value);
        if unchanged {
            continue;
        }
        let mut new_item = toml_to_item(value);
        if let (Some(old), Some(new)) = (table.get(key).and_then(|i| i.as_value()), new_item.as_value_mut()) {
            *new.decor_mut() = old.decor().clone();
        }
        // Replaced in place, so the key keeps its own decor (the comment lines above it).
        match table.get_mut(key) {
            Some(item) => *item = new_item,
            None => {
                table.insert(key, new_item);
            }
        }
    }
}

/// Makes `root[key]` equal `value`, keeping it untouched when it already is.
fn sync_item(root: &mut toml_edit::Table, key: &str, value: &toml::Value) {
    if root.get(key).and_then(item_to_toml).as_ref() != Some(value) {
        root.insert(key, toml_to_item(value));
    }
}

/// A table becomes a `[section.key]` table, except a one-key table such as `bands = { equal = 6 }`
/// (one of several shapes), which stays inline.
fn toml_to_item(value: &toml::Value) -> toml_edit::Item {
    match value {
        toml::Value::Table(table) if table.len() > 1 => {
            let mut out = toml_edit::Table::new();
            for (key, value) in table {
                out.insert(key, toml_to_item(value));
            }
            toml_edit::Item::Table(out)
        }
        other => toml_edit::Item::Value(toml_to_value(other)),
    }
}

fn toml_to_value(value: &toml::Value) -> toml_edit::Value {
    match value {
        toml::Value::String(text) => text.as_str().into(),
        toml::Value::Integer(number) => (*number).into(),
        toml::Value::Float(number) => (*number).into(),
        toml::Value::Boolean(flag) => (*flag).into(),
        toml::Value::Datetime(datetime) => {
            datetime.to_string().parse::<toml_edit::Value>().unwrap_or_else(|_| datetime.to_string().into())
        }
        toml::Value::Array(items) => {
            toml_edit::Value::Array(items.iter().map(toml_to_value).collect::<toml_edit::Array>())
        }
        toml::Value::Table(table) => {
            let mut inline = toml_edit::InlineTable::new();
            for (key, value) in table {
                inline.insert(key, toml_to_value(value));
            }
            toml_edit::Value::InlineTable(inline)
        }
    }
}

fn item_to_toml(item: &toml_edit::Item) -> Option<toml::Value> {
    match item {
        toml_edit::Item::None => None,
        toml_edit::Item::Value(value) => Some(value_to_toml(value)),
        toml_edit::Item::Table(table) => Some(toml::Value::Table(
            table.iter().filter_map(|(k, v)| Some((k.to_string(), item_to_toml(v)?))).collect(),
        )),
        toml_edit::Item::ArrayOfTables(tables) => Some(toml::Value::Array(
            tables
                .iter()
                .map(|table| {
                    toml::Value::Table(
                        table.iter().filter_map(|(k, v)| Some((k.to_string(), item_to_toml(v)?))).collect(),
                    )
                })
                .collect(),
        )),
    }
}

fn value_to_toml(value: &toml_edit::Value) -> toml::Value {
    match value {
        toml_edit::Value::String(text) => toml::Value::String(text.value().clone()),
        toml_edit::Value::Integer(number) => toml::Value::Integer(*number.value()),
        toml_edit::Value::Float(number) => toml::Value::Float(*number.value()),
        toml_edit::Value::Boolean(flag) => toml::Value::Boolean(*flag.value()),
        toml_edit::Value::Datetime(datetime) => datetime
            .value()
            .to_string()
            .parse::<toml::value::Datetime>()
            .map(toml::Value::Datetime)
            .unwrap_or_else(|_| toml::Value::String(datetime.value().to_string())),
        toml_edit::Value::Array(items) => toml::Value::Array(items.iter().map(value_to_toml).collect()),
        toml_edit::Value::InlineTable(table) => toml::Value::Table(
            table.iter().map(|(key, value)| (key.to_string(), value_to_toml(value))).collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRIEF_EXAMPLE: &str = r#"[project]
name = "basic-motions"
seed = 42
[data]
sensor = "imu"            # sensor name on the board
axes = ["accX","accY","accZ","gyrX","gyrY","gyrZ"]
rate_hz = 10.0
labels = []               # optional fixed label order; empty = sorted labels found in the data
[window]
length_ms = 10000
stride_ms = 10000
[dsp]                     # `block` + that block's parameters; validated by the DSP crate, not here
block = "flatten"
[learn]                   # `block` + parameters; validated by the training crate, not here
block = "dense"
epochs = 30
"#;

    #[test]
    fn parses_the_documented_example() {
        let config = ProjectConfig::parse(BRIEF_EXAMPLE, Path::new("mote.toml")).unwrap();
        assert_eq!(config.project, ProjectSection { name: "basic-motions".into(), seed: 42 });
        assert_eq!(config.data.axes.len(), 6);
        assert_eq!(config.data.rate_hz, 10.0);
        assert_eq!(config.window, WindowSection { length_ms: 10_000, stride_ms: 10_000 });
        assert_eq!(config.dsp, BlockConfig::new("flatten"));
        assert_eq!(config.learn.block, "dense");
        assert_eq!(config.learn.params.get("epochs").and_then(toml::Value::as_integer), Some(30));
    }

    #[test]
    fn invalid_settings_name_the_key_and_line() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "name = \"basic-motions\"",
                "name = \"\"",
                "mote.toml line 2: `project.name`: expected a non-empty",
            ),
            ("rate_hz = 10.0", "rate_hz = 0", "line 7: `data.rate_hz`: expected a number"),
            ("rate_hz = 10.0", "rate_hz = \"fast\"", "line 7: `data.rate_hz`"),
            (
                "axes = [\"accX\",\"accY\",\"accZ\",\"gyrX\",\"gyrY\",\"gyrZ\"]",
                "axes = []",
                "line 6: `data.axes`",
            ),
            (
                "axes = [\"accX\",\"accY\",\"accZ\",\"gyrX\",\"gyrY\",\"gyrZ\"]",
                "axes = [\"a\", \"a\"]",
                "`a` is listed twice",
            ),
            ("length_ms = 10000", "length_ms = 0", "line 10: `window.length_ms`"),
            ("stride_ms = 10000", "stride_ms = -5", "line 11: `window.stride_ms`"),
            (
                "stride_ms = 10000",
                "stride_ms = 10000\nstrid_ms = 3",
                "line 12: unknown key `window.strid_ms`",
            ),
            ("block = \"flatten\"", "blok = \"flatten\"", "`dsp.block`: expected a string"),
            ("seed = 42", "seed = 4x", "mote.toml: TOML parse error at line 3"),
            ("[window]\nlength_ms = 10000\nstride_ms = 10000\n", "", "`window`: expected a table `[window]`"),
        ];
        for (from, to, expected) in cases {
            let text = BRIEF_EXAMPLE.replacen(from, to, 1);
            let error = ProjectConfig::parse(&text, Path::new("mote.toml")).unwrap_err().to_string();
            assert!(error.contains(expected), "{from} -> {to}: `{error}` lacks `{expected}`");
        }
    }

    #[test]
    fn rewriting_keeps_comments_and_untouched_text() {
        let mut config = ProjectConfig::parse(BRIEF_EXAMPLE, Path::new("mote.toml")).unwrap();
        assert_eq!(config.render_onto(BRIEF_EXAMPLE).unwrap(), BRIEF_EXAMPLE, "no change, same bytes");

        config.data.sensor = "lsm303".into();
        config.learn.params.insert("epochs".into(), toml::Value::Integer(50));
        config.dsp.params.insert("scale".into(), toml::Value::Float(0.5));
        let text = config.render_onto(BRIEF_EXAMPLE).unwrap();
        assert!(text.contains("sensor = \"lsm303\"            # sensor name on the board"), "{text}");
        assert!(text.contains("# optional fixed label order"), "{text}");
        assert!(text.contains("epochs = 50"), "{text}");
        assert_eq!(ProjectConfig::parse(&text, Path::new("mote.toml")).unwrap(), config);
    }

    #[test]
    fn default_text_is_commented_and_valid() {
        let text = ProjectConfig::default_text("my-project");
        assert!(text.contains("name = \"my-project\"          # shown by the app"), "{text}");
        let config = ProjectConfig::parse(&text, Path::new("mote.toml")).unwrap();
        assert_eq!(config, ProjectConfig::new_default("my-project"));
        assert_eq!(ProjectConfig::new_default("x").to_toml(), ProjectConfig::default_text("x"));
    }
}
