//! Parameter forms: each DSP and learning block's parameters as typed fields (numbers with their
//! ranges, choices, sets, lists, sub-tables, one-of shapes), generated from the JSON schemas that
//! `schemars` derives from the config types — no block has a hand-written form. The app renders a
//! [`Form`]; [`Form::check`] turns what a person entered back into the block's TOML table, or
//! names each field that is wrong. TOML stays the file format.
//!
//! Values travel as JSON in the shape of the TOML table: a number, a string, a list, a nested
//! object for a sub-table (`augment`), `{"low_pass": {...}}` or `"none"` for one of several
//! shapes (`filter`), `null` for "not set" (the default applies). The one thing without a typed
//! field — a whole learning block as a distillation teacher — is TOML text.

use serde::Serialize;
use serde_json::{Map, Value};

/// One block's parameters as fields, in the order the block declares them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Form {
    /// The block's name (`spectral`, `conv1d`).
    pub block: String,
    pub fields: Vec<Field>,
}

/// One parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Field {
    /// The key in the block's table.
    pub key: String,
    /// What it does, from the type's documentation.
    pub help: String,
    pub kind: Kind,
    /// The value used when the field is not set; `None` for "off" (an optional table) or none.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Any>))]
    pub default: Option<Value>,
    /// Whether it may be left unset: an optional table (`augment`) or an `Option` value.
    pub optional: bool,
    /// Whether it must be given (a field of a shape, such as a low-pass filter's `cutoff_hz`).
    pub required: bool,
}

/// What a field holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    Number(NumberSpec),
    Toggle,
    Text,
    /// One of these strings.
    Choice {
        options: Vec<Choice>,
    },
    /// Any of these strings, each at most once.
    Set {
        options: Vec<Choice>,
        min_items: Option<u32>,
    },
    /// A list of numbers.
    List {
        item: NumberSpec,
        min_items: Option<u32>,
        max_items: Option<u32>,
    },
    /// A sub-table.
    Group {
        fields: Vec<Field>,
    },
    /// One of several shapes: a bare name (`"none"`) or `{name: value}`.
    OneOf {
        variants: Vec<Variant>,
    },
    /// A table as TOML text.
    Toml,
}

/// A number's type and range.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NumberSpec {
    pub integer: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `min` itself is not allowed.
    pub min_exclusive: bool,
    /// `max` itself is not allowed.
    pub max_exclusive: bool,
    /// The only values allowed, when there is a short list of them (FFT lengths).
    pub options: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Choice {
    pub value: String,
    pub help: String,
}

/// One shape of a [`Kind::OneOf`]: a bare name, or a name holding a value (`body`, whose key is
/// the name).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Variant {
    pub name: String,
    pub help: String,
    pub body: Option<Box<Field>>,
}

/// A value a person entered that cannot be used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldError {
    /// The field's path in the table (`augment.copies`, `hidden[1]`).
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl Form {
    /// The form of a block from its schema (a JSON schema object with inlined sub-schemas);
    /// `defaults` replaces the schema's defaults of top-level fields (defaults fitted to the data).
    pub fn from_schema(block: &str, schema: &Value, defaults: &Map<String, Value>) -> Form {
        let mut fields = match object_fields(schema) {
            Some(fields) => fields,
            None => Vec::new(),
        };
        for field in &mut fields {
            if let Some(default) = defaults.get(&field.key) {
                field.default = Some(tidy(default.clone()));
            }
        }
        Form { block: block.to_string(), fields }
    }

    /// The DSP block `block`'s form, or `None` for an unknown block.
    pub fn dsp(block: &str, defaults: &Map<String, Value>) -> Option<Form> {
        mote_dsp::block_schema(block).map(|schema| Form::from_schema(block, schema.as_value(), defaults))
    }

    /// The learning block `block`'s form, or `None` for an unknown block.
    pub fn learn(block: &str, defaults: &Map<String, Value>) -> Option<Form> {
        mote_train::block_schema(block).map(|schema| Form::from_schema(block, schema.as_value(), defaults))
    }

    /// The values of a block's TOML table in this form's shape (TOML-text fields as text).
    pub fn values(&self, params: &toml::Table) -> Map<String, Value> {
        let mut values = Map::new();
        for (key, value) in params {
            let field = self.fields.iter().find(|field| &field.key == key);
            let json = match (field.map(|field| &field.kind), value) {
                (Some(Kind::Toml), toml::Value::Table(table)) => {
                    Value::String(toml::to_string(table).unwrap_or_default())
                }
                (Some(Kind::Group { fields }), toml::Value::Table(table)) => {
                    let group = Form { block: String::new(), fields: fields.clone() };
                    Value::Object(group.values(table))
                }
                _ => serde_json::to_value(value).unwrap_or(Value::Null),
            };
            values.insert(key.clone(), tidy(json));
        }
        values
    }

    /// Checks what a person entered and turns it into the block's TOML table (unset fields left
    /// out, so their defaults apply). Every wrong field is reported, not only the first.
    pub fn check(&self, values: &Value) -> Result<toml::Table, Vec<FieldError>> {
        let mut errors = Vec::new();
        let table = match values {
            Value::Null => toml::Table::new(),
            Value::Object(values) => check_group(&self.fields, values, "", &mut errors),
            _ => {
                errors.push(FieldError {
                    field: self.block.clone(),
                    message: "must be a table of parameters".into(),
                });
                toml::Table::new()
            }
        };
        if errors.is_empty() { Ok(table) } else { Err(errors) }
    }
}

impl Field {
    /// The default as `mote.toml` would spell it (`3`, `"flex"`, `{ low_pass = { … } }`).
    pub fn default_toml(&self) -> Option<String> {
        let value = self.default.as_ref()?;
        Some(toml::Value::try_from(value).map_or_else(|_| value.to_string(), |value| value.to_string()))
    }

    /// What the field takes, in words: `integer 0 to 16`, `one of flex, ndarray`, `list of
    /// integers ≥ 1`, `none | low_pass {cutoff_hz, order} | high_pass {cutoff_hz, order}`.
    pub fn takes(&self) -> String {
        let mut text = self.kind.takes();
        if self.optional && !matches!(self.kind, Kind::Group { .. }) {
            text.push_str(", or unset");
        }
        text
    }
}

impl Kind {
    fn takes(&self) -> String {
        match self {
            Kind::Number(spec) => spec.takes(),
            Kind::Toggle => "true or false".into(),
            Kind::Text => "text".into(),
            Kind::Choice { options } => format!("one of {}", names(options)),
            Kind::Set { options, .. } => format!("any of {}", names(options)),
            Kind::List { item, .. } => format!(
                "list of {}",
                item.takes().replacen("integer", "integers", 1).replacen("number", "numbers", 1)
            ),
            Kind::Group { fields } => {
                let keys: Vec<&str> = fields.iter().map(|field| field.key.as_str()).collect();
                format!("table {{{}}}", keys.join(", "))
            }
            Kind::OneOf { variants } => variants
                .iter()
                .map(|variant| match &variant.body {
                    None => variant.name.clone(),
                    Some(body) => match &body.kind {
                        Kind::Group { fields } => {
                            let keys: Vec<&str> = fields.iter().map(|field| field.key.as_str()).collect();
                            format!("{} {{{}}}", variant.name, keys.join(", "))
                        }
                        kind => format!("{} = {}", variant.name, kind.takes()),
                    },
                })
                .collect::<Vec<_>>()
                .join(" | "),
            Kind::Toml => "a TOML table".into(),
        }
    }
}

impl NumberSpec {
    fn takes(&self) -> String {
        let kind = if self.integer { "integer" } else { "number" };
        if !self.options.is_empty() {
            let options: Vec<String> = self.options.iter().map(|option| show(*option)).collect();
            return format!("{kind}, one of {}", options.join(", "));
        }
        let low = self.min.map(|min| (show(min), self.min_exclusive));
        let high = self.max.filter(|max| *max < 1e6).map(|max| (show(max), self.max_exclusive));
        match (low, high) {
            (Some((min, false)), Some((max, false))) => format!("{kind} {min} to {max}"),
            (low, high) => {
                let mut bounds = Vec::new();
                if let Some((min, exclusive)) = low {
                    bounds.push(format!("{} {min}", if exclusive { ">" } else { "≥" }));
                }
                if let Some((max, exclusive)) = high {
                    bounds.push(format!("{} {max}", if exclusive { "<" } else { "≤" }));
                }
                if bounds.is_empty() { kind.to_string() } else { format!("{kind} {}", bounds.join(" and ")) }
            }
        }
    }
}

// ---- schema → fields ---------------------------------------------------------------------------

fn object_fields(schema: &Value) -> Option<Vec<Field>> {
    let properties = schema.get("properties")?.as_object()?;
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Some(
        properties
            .iter()
            .map(|(key, schema)| Field { required: required.contains(&key.as_str()), ..field(key, schema) })
            .collect(),
    )
}

fn field(key: &str, schema: &Value) -> Field {
    let (kind, optional) = kind(schema);
    Field {
        key: key.to_string(),
        help: help(schema),
        kind,
        default: schema.get("default").filter(|value| !value.is_null()).cloned().map(tidy),
        optional,
        required: false,
    }
}

/// The first paragraph of the schema's description (the type's doc comment), on one line,
/// without its "Default …" sentences: the form shows the default itself, which may be fitted to
/// the data rather than the type's.
fn help(schema: &Value) -> String {
    let text = schema.get("description").and_then(Value::as_str).unwrap_or_default();
    let paragraph = text.split("\n\n").next().unwrap_or_default();
    let line = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    let kept: String =
        line.split_inclusive(". ").filter(|sentence| !sentence.trim_start().starts_with("Default")).collect();
    kept.trim_end().to_string()
}

/// The field kind of a schema, and whether `null` is allowed.
fn kind(schema: &Value) -> (Kind, bool) {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let optional = types.contains(&"null");
    if let Some(variants) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array) {
        let (variants, nullable): (Vec<&Value>, Vec<&Value>) =
            variants.iter().partition(|variant| variant.get("type").and_then(Value::as_str) != Some("null"));
        return (one_of(&variants), optional || !nullable.is_empty());
    }
    let kind = match types.iter().find(|name| **name != "null").copied() {
        Some("integer" | "number") => Kind::Number(number(schema)),
        Some("boolean") => Kind::Toggle,
        Some("string") => match string_options(schema) {
            Some(options) => Kind::Choice { options },
            None => Kind::Text,
        },
        Some("array") => array(schema),
        Some("object") => match object_fields(schema) {
            Some(fields) if !fields.is_empty() => Kind::Group { fields },
            _ => Kind::Toml,
        },
        _ => Kind::Toml,
    };
    (kind, optional)
}

fn number(schema: &Value) -> NumberSpec {
    let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
    let (min, min_exclusive) = match (bound("exclusiveMinimum"), bound("minimum")) {
        (Some(exclusive), _) => (Some(exclusive), true),
        (None, minimum) => (minimum, false),
    };
    let (max, max_exclusive) = match (bound("exclusiveMaximum"), bound("maximum")) {
        (Some(exclusive), _) => (Some(exclusive), true),
        (None, maximum) => (maximum, false),
    };
    let options = schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|values| values.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let integer = schema.get("type").is_some_and(|types| match types {
        Value::String(name) => name == "integer",
        Value::Array(names) => names.iter().any(|name| name == "integer"),
        _ => false,
    });
    NumberSpec { integer, min, max, min_exclusive, max_exclusive, options }
}

/// The strings a schema allows, when it is a fixed set (an `enum`, or a `oneOf` of constants).
fn string_options(schema: &Value) -> Option<Vec<Choice>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|value| value.as_str().map(|value| Choice { value: value.to_string(), help: String::new() }))
            .collect();
    }
    let variants = schema.get("oneOf")?.as_array()?;
    variants
        .iter()
        .map(|variant| {
            let value = variant.get("const").and_then(Value::as_str).or_else(|| {
                variant.get("enum").and_then(Value::as_array).filter(|values| values.len() == 1)?[0].as_str()
            })?;
            Some(Choice { value: value.to_string(), help: help(variant) })
        })
        .collect()
}

fn one_of(variants: &[&Value]) -> Kind {
    if let [only] = variants {
        return kind(only).0;
    }
    let all_strings = Value::Object(
        [("oneOf".to_string(), Value::Array(variants.iter().map(|variant| (*variant).clone()).collect()))]
            .into_iter()
            .collect(),
    );
    if let Some(options) = string_options(&all_strings) {
        return Kind::Choice { options };
    }
    let mut shapes = Vec::new();
    for variant in variants {
        if let Some(name) = variant.get("const").and_then(Value::as_str) {
            shapes.push(Variant { name: name.to_string(), help: help(variant), body: None });
            continue;
        }
        let properties = variant.get("properties").and_then(Value::as_object);
        match properties.map(|properties| properties.iter().collect::<Vec<_>>()).as_deref() {
            Some([(name, body)]) => {
                let mut body = field(name, body);
                body.help = String::new();
                shapes.push(Variant {
                    name: name.to_string(),
                    help: help(variant),
                    body: Some(Box::new(body)),
                });
            }
            _ => return Kind::Toml,
        }
    }
    Kind::OneOf { variants: shapes }
}

fn array(schema: &Value) -> Kind {
    let count = |key: &str| schema.get(key).and_then(Value::as_u64).map(|n| n as u32);
    let Some(items) = schema.get("items") else { return Kind::Toml };
    match kind(items).0 {
        Kind::Choice { options } => Kind::Set { options, min_items: count("minItems") },
        Kind::Number(item) => Kind::List { item, min_items: count("minItems"), max_items: count("maxItems") },
        _ => Kind::Toml,
    }
}

/// Numbers written from `f32`s read back without the float noise (`0.1`, not `0.100000001…`).
fn tidy(value: Value) -> Value {
    match value {
        Value::Number(number) if number.is_f64() => {
            let shortest = (number.as_f64().unwrap_or_default() as f32).to_string();
            shortest
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Number(number), Value::Number)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(tidy).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(key, value)| (key, tidy(value))).collect()),
        other => other,
    }
}

// ---- values → TOML -----------------------------------------------------------------------------

fn path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

fn check_group(
    fields: &[Field],
    values: &Map<String, Value>,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> toml::Table {
    let mut table = toml::Table::new();
    for key in values.keys() {
        if !fields.iter().any(|field| &field.key == key) {
            let known: Vec<&str> = fields.iter().map(|field| field.key.as_str()).collect();
            errors.push(FieldError {
                field: path(prefix, key),
                message: format!("is not a parameter here (known: {})", known.join(", ")),
            });
        }
    }
    for field in fields {
        let field_path = path(prefix, &field.key);
        let Some(value) = values.get(&field.key).filter(|value| !value.is_null()) else {
            if field.required {
                errors.push(FieldError { field: field_path, message: "needs a value".into() });
            }
            continue;
        };
        if let Some(value) = check_value(&field.kind, value, &field_path, errors) {
            table.insert(field.key.clone(), value);
        }
    }
    table
}

fn check_value(kind: &Kind, value: &Value, field: &str, errors: &mut Vec<FieldError>) -> Option<toml::Value> {
    let mut fail = |message: String| {
        errors.push(FieldError { field: field.to_string(), message });
        None
    };
    match kind {
        Kind::Number(spec) => match value.as_f64() {
            Some(number) => match spec.problem(number) {
                Some(problem) => fail(problem),
                None if spec.integer => Some(toml::Value::Integer(number as i64)),
                None => Some(toml::Value::Float(number)),
            },
            None => fail("must be a number".into()),
        },
        Kind::Toggle => match value.as_bool() {
            Some(flag) => Some(toml::Value::Boolean(flag)),
            None => fail("must be on or off".into()),
        },
        Kind::Text => match value.as_str() {
            Some(text) if !text.trim().is_empty() => Some(toml::Value::String(text.to_string())),
            _ => fail("must be some text".into()),
        },
        Kind::Choice { options } => match value.as_str() {
            Some(text) if options.iter().any(|option| option.value == text) => {
                Some(toml::Value::String(text.into()))
            }
            _ => fail(format!("must be one of {}", names(options))),
        },
        Kind::Set { options, min_items } => {
            let Some(items) = value.as_array() else {
                return fail(format!("must be a list of {}", names(options)));
            };
            let mut chosen: Vec<&str> = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(text) if options.iter().any(|option| option.value == text) => {
                        if chosen.contains(&text) {
                            return fail(format!("lists {text} twice"));
                        }
                        chosen.push(text);
                    }
                    _ => return fail(format!("may only hold {}", names(options))),
                }
            }
            if let Some(min) = min_items
                && chosen.len() < *min as usize
            {
                return fail(format!("needs at least {min} of {}", names(options)));
            }
            Some(toml::Value::Array(
                chosen.into_iter().map(|text| toml::Value::String(text.into())).collect(),
            ))
        }
        Kind::List { item, min_items, max_items } => {
            let Some(items) = value.as_array() else { return fail("must be a list of numbers".into()) };
            if let Some(min) = min_items
                && items.len() < *min as usize
            {
                return fail(format!("needs at least {min} value{}", if *min == 1 { "" } else { "s" }));
            }
            if let Some(max) = max_items
                && items.len() > *max as usize
            {
                return fail(format!("takes at most {max} values"));
            }
            let mut list = Vec::new();
            for (index, entry) in items.iter().enumerate() {
                match entry.as_f64() {
                    Some(number) => match item.problem(number) {
                        Some(problem) => {
                            return fail(format!("value {} ({}) {problem}", index + 1, show(number)));
                        }
                        None if item.integer => list.push(toml::Value::Integer(number as i64)),
                        None => list.push(toml::Value::Float(number)),
                    },
                    None => return fail(format!("value {} must be a number", index + 1)),
                }
            }
            Some(toml::Value::Array(list))
        }
        Kind::Group { fields } => match value.as_object() {
            Some(values) => Some(toml::Value::Table(check_group(fields, values, field, errors))),
            None => fail("must be a table".into()),
        },
        Kind::OneOf { variants } => {
            let (name, body) = match value {
                Value::String(name) => (name.as_str(), None),
                Value::Object(map) if map.len() == 1 => {
                    let (name, body) = map.iter().next()?;
                    (name.as_str(), Some(body))
                }
                _ => return fail(format!("must be one of {}", variant_names(variants))),
            };
            let Some(variant) = variants.iter().find(|variant| variant.name == name) else {
                return fail(format!("must be one of {}", variant_names(variants)));
            };
            match (&variant.body, body) {
                (None, None) => Some(toml::Value::String(name.into())),
                (Some(shape), Some(body)) => {
                    let body = check_value(&shape.kind, body, &path(field, name), errors)?;
                    Some(toml::Value::Table([(name.to_string(), body)].into_iter().collect()))
                }
                (None, Some(_)) => fail(format!("{name} takes no value")),
                (Some(_), None) => fail(format!("{name} needs a value")),
            }
        }
        Kind::Toml => match value {
            Value::String(text) => match text.parse::<toml::Table>() {
                Ok(table) => Some(toml::Value::Table(table)),
                Err(error) => fail(format!("is not valid TOML: {}", error.message().trim_end())),
            },
            Value::Object(_) => match toml::Value::try_from(value) {
                Ok(table) => Some(table),
                Err(error) => fail(format!("cannot be written as TOML: {error}")),
            },
            _ => fail("must be a TOML table".into()),
        },
    }
}

impl NumberSpec {
    /// What is wrong with `value` for this field, in words; `None` when it fits.
    pub fn problem(&self, value: f64) -> Option<String> {
        if !value.is_finite() {
            return Some("must be a number".into());
        }
        if self.integer && value.fract() != 0.0 {
            return Some("must be a whole number".into());
        }
        if !self.options.is_empty() {
            return (!self.options.contains(&value)).then(|| {
                let options: Vec<String> = self.options.iter().map(|option| show(*option)).collect();
                format!("must be one of {}", options.join(", "))
            });
        }
        let below = self.min.is_some_and(|min| if self.min_exclusive { value <= min } else { value < min });
        let above = self.max.is_some_and(|max| if self.max_exclusive { value >= max } else { value > max });
        (below || above).then(|| self.range_words())
    }

    /// The allowed range in words: "must be between 1 and 16", "must be above 0".
    pub fn range_words(&self) -> String {
        let low = self.min.map(|min| (show(min), self.min_exclusive));
        let high = self.max.map(|max| (show(max), self.max_exclusive));
        match (low, high) {
            (Some((min, false)), Some((max, false))) => format!("must be between {min} and {max}"),
            (Some((min, min_exclusive)), Some((max, max_exclusive))) => format!(
                "must be {} {min} and {} {max}",
                if min_exclusive { "above" } else { "at least" },
                if max_exclusive { "below" } else { "at most" }
            ),
            (Some((min, true)), None) => format!("must be above {min}"),
            (Some((min, false)), None) => format!("must be at least {min}"),
            (None, Some((max, true))) => format!("must be below {max}"),
            (None, Some((max, false))) => format!("must be at most {max}"),
            (None, None) => "must be a number".into(),
        }
    }
}

fn show(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        format!("{number}")
    }
}

fn names(options: &[Choice]) -> String {
    options.iter().map(|option| option.value.as_str()).collect::<Vec<_>>().join(", ")
}

fn variant_names(variants: &[Variant]) -> String {
    variants.iter().map(|variant| variant.name.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spectral() -> Form {
        Form::dsp("spectral", &Map::new()).unwrap()
    }

    fn field<'a>(form: &'a Form, key: &str) -> &'a Field {
        form.fields.iter().find(|field| field.key == key).unwrap_or_else(|| panic!("no field {key}"))
    }

    #[test]
    fn fields_follow_the_declaration_with_types_ranges_and_defaults() {
        let form = spectral();
        let keys: Vec<&str> = form.fields.iter().map(|field| field.key.as_str()).collect();
        assert_eq!(keys, ["fft_length", "filter", "bands", "n_peaks", "peak_threshold", "log_power"]);
        let Kind::Number(fft) = &field(&form, "fft_length").kind else { panic!("fft_length is a number") };
        assert!(fft.integer);
        assert_eq!(fft.options, [16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0]);
        let Kind::Number(peaks) = &field(&form, "n_peaks").kind else { panic!("n_peaks is a number") };
        assert_eq!((peaks.min, peaks.max), (Some(0.0), Some(16.0)));
        assert_eq!(field(&form, "n_peaks").default, Some(json!(3)));
        assert_eq!(field(&form, "n_peaks").help, "Number of spectral peaks reported, 0 to 16.");
        assert_eq!(field(&form, "fft_length").help, "FFT size: a power of two from 16 to 4096.");
        let Kind::OneOf { variants } = &field(&form, "filter").kind else {
            panic!("filter is one of shapes")
        };
        let names: Vec<&str> = variants.iter().map(|variant| variant.name.as_str()).collect();
        assert_eq!(names, ["none", "low_pass", "high_pass"]);
        assert!(matches!(variants[1].body.as_deref().map(|body| &body.kind), Some(Kind::Group { .. })));
        assert_eq!(field(&form, "bands").default, Some(json!({"edges": [0.1, 0.5, 1.0, 2.0, 5.0]})));
        assert_eq!(field(&form, "log_power").kind, Kind::Toggle);

        let flatten = Form::dsp("flatten", &Map::new()).unwrap();
        let Kind::Set { options, min_items } = &field(&flatten, "stats").kind else {
            panic!("stats is a set")
        };
        assert_eq!(options.len(), 7);
        assert_eq!(*min_items, Some(1));
    }

    #[test]
    fn learning_forms_put_the_block_first_and_optional_tables_last() {
        let form = Form::learn("conv1d", &Map::new()).unwrap();
        let keys: Vec<&str> = form.fields.iter().map(|field| field.key.as_str()).collect();
        assert_eq!(&keys[..5], ["filters", "kernel_size", "pool", "dense", "dropout"]);
        assert_eq!(&keys[keys.len() - 3..], ["augment", "distill", "prune"]);
        let augment = field(&form, "augment");
        assert!(augment.optional);
        let Kind::Group { fields } = &augment.kind else { panic!("augment is a table") };
        let copies = fields.iter().find(|field| field.key == "copies").unwrap();
        assert_eq!(copies.default, Some(json!(2)));
        let Kind::Group { fields } = &field(&form, "distill").kind else { panic!("distill is a table") };
        assert_eq!(fields.iter().find(|field| field.key == "teacher").unwrap().kind, Kind::Toml);
        let Kind::List { item, min_items, .. } = &field(&form, "filters").kind else {
            panic!("filters is a list")
        };
        assert_eq!((item.integer, item.min, *min_items), (true, Some(1.0), Some(1)));
        assert!(field(&form, "early_stopping_patience").optional);
    }

    #[test]
    fn checking_returns_the_table_or_every_wrong_field() {
        let form = Form::learn("dense", &Map::new()).unwrap();
        let table = form
            .check(&json!({"hidden": [16, 8], "epochs": 40, "dropout": 0.25, "augment": {"copies": 3, "noise": 0.1},
                           "early_stopping_patience": null}))
            .unwrap();
        let expected: toml::Table =
            "hidden = [16, 8]\ndropout = 0.25\nepochs = 40\naugment = { copies = 3, noise = 0.1 }"
                .parse()
                .unwrap();
        assert_eq!(table, expected);

        let errors = form
            .check(
                &json!({"hidden": [16, 0], "epochs": 2.5, "dropout": 1, "augment": {"copies": 17}, "bogus": 1,
                           "backend": "tpu"}),
            )
            .unwrap_err();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "bogus: is not a parameter here (known: hidden, dropout, epochs, learning_rate, batch_size, \
                 validation_split, early_stopping_patience, backend, seed, augment, distill, prune)",
                "hidden: value 2 (0) must be at least 1",
                "dropout: must be at least 0 and below 1",
                "epochs: must be a whole number",
                "backend: must be one of flex, ndarray",
                "augment.copies: must be between 1 and 16",
            ]
        );
    }

    #[test]
    fn one_of_shapes_and_toml_text_check_their_bodies() {
        let form = spectral();
        let table = form
            .check(&json!({"filter": {"high_pass": {"cutoff_hz": 0.5, "order": 2}}, "bands": {"equal": 6}}))
            .unwrap();
        assert_eq!(table["filter"]["high_pass"]["order"].as_integer(), Some(2));
        assert_eq!(form.check(&json!({"filter": "none"})).unwrap()["filter"].as_str(), Some("none"));
        let errors = form.check(&json!({"filter": {"low_pass": {"cutoff_hz": 0, "order": 9}}})).unwrap_err();
        assert_eq!(errors[0].to_string(), "filter.low_pass.cutoff_hz: must be above 0");
        assert_eq!(errors[1].to_string(), "filter.low_pass.order: must be between 1 and 8");
        let errors = form.check(&json!({"filter": {"high_pass": {"order": 2}}})).unwrap_err();
        assert_eq!(errors[0].to_string(), "filter.high_pass.cutoff_hz: needs a value");
        assert_eq!(
            form.check(&json!({"filter": "band_pass"})).unwrap_err()[0].message,
            "must be one of none, low_pass, high_pass"
        );
        assert_eq!(
            form.check(&json!({"fft_length": 100})).unwrap_err()[0].message,
            "must be one of 16, 32, 64, 128, 256, 512, 1024, 2048, 4096"
        );

        let learn = Form::learn("dense", &Map::new()).unwrap();
        let teacher = "block = \"dense\"\nhidden = [64, 32]\n";
        let table = learn.check(&json!({"distill": {"teacher": teacher}})).unwrap();
        assert_eq!(table["distill"]["teacher"]["hidden"].as_array().map(Vec::len), Some(2));
        let params: toml::Table = toml::Table::try_from(table.clone()).unwrap();
        assert_eq!(learn.values(&params)["distill"]["teacher"], json!(teacher));
        assert!(
            learn.check(&json!({"distill": {"teacher": "hidden = ["}})).unwrap_err()[0]
                .message
                .starts_with("is not valid TOML")
        );
    }

    #[test]
    fn fitted_defaults_replace_the_schema_defaults() {
        let defaults = json!({"fft_length": 256, "filter": "none"});
        let form = Form::dsp("spectral", defaults.as_object().unwrap()).unwrap();
        assert_eq!(field(&form, "fft_length").default, Some(json!(256)));
        assert_eq!(field(&form, "filter").default, Some(json!("none")));
        assert_eq!(field(&form, "n_peaks").default, Some(json!(3)));
    }

    #[test]
    fn each_field_says_what_it_takes() {
        let form = spectral();
        let takes = |key: &str| field(&form, key).takes();
        assert_eq!(takes("n_peaks"), "integer 0 to 16");
        assert_eq!(takes("peak_threshold"), "number ≥ 0");
        assert_eq!(takes("fft_length"), "integer, one of 16, 32, 64, 128, 256, 512, 1024, 2048, 4096");
        assert_eq!(takes("filter"), "none | low_pass {cutoff_hz, order} | high_pass {cutoff_hz, order}");
        assert_eq!(takes("bands"), "edges = list of numbers | equal = integer 1 to 65535");
        let learn = Form::learn("conv1d", &Map::new()).unwrap();
        assert_eq!(field(&learn, "filters").takes(), "list of integers ≥ 1");
        assert_eq!(field(&learn, "dropout").takes(), "number ≥ 0 and < 1");
        assert_eq!(field(&learn, "early_stopping_patience").takes(), "integer ≥ 1, or unset");
        assert_eq!(field(&learn, "prune").takes(), "table {target, steps, fine_tune_epochs}");
    }

    #[test]
    fn unknown_blocks_have_no_form() {
        assert!(Form::dsp("wavelet", &Map::new()).is_none());
        assert!(Form::learn("transformer", &Map::new()).is_none());
    }
}
