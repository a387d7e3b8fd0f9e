//! Logs as go-plugin expects them on stderr: one JSON object a line in hclog's shape
//! (`@level`, `@message`, `@module`, then fields), which Terraform re-levels and shows under
//! `TF_LOG`/`TF_LOG_PROVIDER`.
//!
//! Only this crate logs below WARN: the SDKs' debug output carries request details we do not
//! want in a user's log, and none of our own events include credentials or secret values.

use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

const OUR_TARGET: &str = "terraform_provider_scaling";

struct HclogJson {
    ours: Level,
}

pub fn init() {
    let ours = level_from_env().unwrap_or(Level::WARN);
    let _ = tracing_subscriber::registry().with(HclogJson { ours }).try_init();
}

fn level_from_env() -> Option<Level> {
    let raw = std::env::var("TF_LOG_PROVIDER").or_else(|_| std::env::var("TF_LOG")).ok()?;
    match raw.trim().to_ascii_lowercase().as_str() {
        "trace" | "json" => Some(Level::TRACE),
        "debug" => Some(Level::DEBUG),
        "info" => Some(Level::INFO),
        "warn" => Some(Level::WARN),
        "error" => Some(Level::ERROR),
        _ => None,
    }
}

impl<S: Subscriber> Layer<S> for HclogJson {
    fn enabled(&self, meta: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        let limit = if meta.target().starts_with(OUR_TARGET) { self.ours } else { Level::WARN };
        *meta.level() <= limit
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let mut line = serde_json::Map::new();
        line.insert("@level".into(), meta.level().as_str().to_ascii_lowercase().into());
        line.insert("@timestamp".into(), hclog_timestamp(jiff::Timestamp::now()).into());
        line.insert("@message".into(), fields.message.into());
        line.insert("@module".into(), format!("scaling.{}", meta.target().trim_start_matches(OUR_TARGET).trim_start_matches("::")).into());
        for (k, v) in fields.rest {
            line.insert(k, v);
        }
        let mut text = serde_json::Value::Object(line).to_string();
        text.push('\n');
        // A closed stderr must not take the provider down.
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

/// hclog's JSON time format, `2006-01-02T15:04:05.000000Z07:00`: go-plugin parses `@timestamp`
/// with exactly that layout (six fractional digits) and drops a line it cannot parse, while a
/// line without one shows the zero time.
fn hclog_timestamp(at: jiff::Timestamp) -> String {
    format!("{at:.6}")
}

#[derive(Default)]
struct JsonFields {
    message: String,
    rest: Vec<(String, serde_json::Value)>,
}

impl Visit for JsonFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.rest.push((field.name().to_string(), value.into()));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.rest.push((field.name().to_string(), value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.rest.push((field.name().to_string(), value.into()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.rest.push((field.name().to_string(), value.into()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.rest.push((field.name().to_string(), text.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_use_hclogs_layout() {
        let at: jiff::Timestamp = "2026-11-30T08:05:09.5Z".parse().unwrap();
        assert_eq!(hclog_timestamp(at), "2026-11-30T08:05:09.500000Z");
        assert_eq!(hclog_timestamp(jiff::Timestamp::UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    }
}
