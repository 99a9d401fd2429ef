//! What the gateway's messages look like on the broker. Mote's own JSON (`<prefix>/<device>/…`,
//! see the module above) is always there; two integrations can be added on top of it:
//!
//! - **Home Assistant** (MQTT discovery): when a board comes online, a retained config on
//!   `homeassistant/sensor/mote_<device>/label/config` makes a "label" sensor that reads Mote's
//!   inference topic, with the board's status as its availability, grouped under one device;
//! - **ThingsBoard** (its gateway API): `v1/gateway/connect` and `v1/gateway/disconnect` as boards
//!   come and go, their board, firmware and model as attributes (`v1/gateway/attributes`), and
//!   every result and event as telemetry (`v1/gateway/telemetry`, one time series per label
//!   score), under the board's device id.

use serde_json::{Value, json};

use super::outbox::{Kind, Message};

/// An integration's messages, besides Mote's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Mote,
    HomeAssistant,
    ThingsBoard,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "mote" => Some(Format::Mote),
            "homeassistant" | "home-assistant" => Some(Format::HomeAssistant),
            "thingsboard" => Some(Format::ThingsBoard),
            _ => None,
        }
    }
}

fn message(topic: String, payload: Value, retain: bool, kind: Kind, device: &str) -> Message {
    Message { topic, payload: payload.to_string().into_bytes(), retain, kind, device: device.to_string() }
}

/// The integration's messages for one of Mote's: `leaf` is `inference`, `event`, `status` or
/// `update`, `payload` Mote's JSON for it.
pub fn extra(
    format: Format,
    prefix: &str,
    device: &str,
    leaf: &str,
    kind: Kind,
    payload: &Value,
) -> Vec<Message> {
    match format {
        Format::Mote => Vec::new(),
        Format::HomeAssistant => home_assistant(prefix, device, leaf, payload),
        Format::ThingsBoard => thingsboard(device, leaf, kind, payload),
    }
}

fn home_assistant(prefix: &str, device: &str, leaf: &str, payload: &Value) -> Vec<Message> {
    if leaf != "status" || payload["state"] != "online" {
        return Vec::new();
    }
    let id = format!("mote_{device}");
    let config = json!({
        "name": "label",
        "unique_id": format!("{id}_label"),
        "state_topic": format!("{prefix}/{device}/inference"),
        "value_template": "{{ value_json.label }}",
        "json_attributes_topic": format!("{prefix}/{device}/inference"),
        "availability_topic": format!("{prefix}/{device}/status"),
        "availability_template": "{{ value_json.state }}",
        "payload_available": "online",
        "payload_not_available": "offline",
        "icon": "mdi:motion-sensor",
        "device": {
            "identifiers": [id],
            "name": device,
            "model": payload["board"],
            "sw_version": payload["firmware"],
            "manufacturer": "Mote",
        },
    });
    vec![message(format!("homeassistant/sensor/{id}/label/config"), config, true, Kind::Status, device)]
}

fn thingsboard(device: &str, leaf: &str, kind: Kind, payload: &Value) -> Vec<Message> {
    let ts = payload["time_ms"].as_f64().map_or(0, |ms| ms as u64);
    match leaf {
        "status" => {
            let (topic, state) = if payload["state"] == "online" {
                ("v1/gateway/connect", json!({ "device": device, "type": "mote-board" }))
            } else {
                ("v1/gateway/disconnect", json!({ "device": device }))
            };
            let attributes = json!({ device: {
                "board": payload["board"], "firmware": payload["firmware"], "model": payload["model"]["crc"],
                "labels": payload["model"]["labels"], "dropped": payload["dropped"], "state": payload["state"],
            }});
            vec![
                message(topic.into(), state, false, kind, device),
                message("v1/gateway/attributes".into(), attributes, false, kind, device),
            ]
        }
        "inference" => {
            let mut values = serde_json::Map::new();
            values.insert("label".into(), payload["label"].clone());
            values.insert("seq".into(), payload["seq"].clone());
            values.insert("session".into(), payload["session"].clone());
            if !payload["anomaly"].is_null() {
                values.insert("anomaly".into(), payload["anomaly"].clone());
            }
            if let Some(scores) = payload["scores"].as_object() {
                for (label, score) in scores {
                    values.insert(format!("score_{label}"), score.clone());
                }
            }
            let telemetry = json!({ device: [{ "ts": ts, "values": values }] });
            vec![message("v1/gateway/telemetry".into(), telemetry, false, kind, device)]
        }
        "event" | "update" => {
            let name = if leaf == "event" { "event" } else { "update" };
            let text = payload["label"]
                .as_str()
                .or_else(|| payload["kind"].as_str())
                .or_else(|| payload["state"].as_str());
            let telemetry = json!({ device: [{ "ts": ts, "values": { name: text, format!("{name}_detail"): payload } }] });
            vec![message("v1/gateway/telemetry".into(), telemetry, false, kind, device)]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn online() -> Value {
        json!({ "state": "online", "device": "board-1", "board": "virtual", "firmware": "0.1.0",
                "model": { "crc": "0eef3b10", "labels": ["idle", "wave"] }, "dropped": 0, "time_ms": 1000.5 })
    }

    #[test]
    fn home_assistant_discovers_a_label_sensor_per_board_that_reads_motes_topics() {
        let messages = extra(Format::HomeAssistant, "mote", "board-1", "status", Kind::Status, &online());
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].topic, "homeassistant/sensor/mote_board-1/label/config");
        assert!(messages[0].retain);
        let config: Value = serde_json::from_slice(&messages[0].payload).unwrap();
        assert_eq!(config["state_topic"], "mote/board-1/inference");
        assert_eq!(config["availability_topic"], "mote/board-1/status");
        assert_eq!(config["device"]["identifiers"][0], "mote_board-1");
        assert!(
            extra(Format::HomeAssistant, "mote", "board-1", "inference", Kind::Inference, &json!({}))
                .is_empty()
        );
    }

    #[test]
    fn thingsboard_gets_connect_attributes_and_telemetry_under_the_device() {
        let status = extra(Format::ThingsBoard, "mote", "board-1", "status", Kind::Status, &online());
        let topics: Vec<&str> = status.iter().map(|m| m.topic.as_str()).collect();
        assert_eq!(topics, ["v1/gateway/connect", "v1/gateway/attributes"]);
        let window = json!({ "device": "board-1", "session": 5, "seq": 12, "label": "wave", "anomaly": null,
                             "scores": { "idle": 0.1, "wave": 0.9 }, "time_ms": 1700000000123.4 });
        let telemetry = extra(Format::ThingsBoard, "mote", "board-1", "inference", Kind::Inference, &window);
        let body: Value = serde_json::from_slice(&telemetry[0].payload).unwrap();
        assert_eq!(body["board-1"][0]["ts"], 1700000000123u64);
        assert_eq!(body["board-1"][0]["values"]["label"], "wave");
        assert_eq!(body["board-1"][0]["values"]["score_wave"], 0.9);
        let offline = json!({ "state": "offline", "model": null });
        let gone = extra(Format::ThingsBoard, "mote", "board-1", "status", Kind::Status, &offline);
        assert_eq!(gone[0].topic, "v1/gateway/disconnect");
        assert_eq!(Format::parse("thingsboard"), Some(Format::ThingsBoard));
        assert_eq!(Format::parse("x"), None);
    }
}
