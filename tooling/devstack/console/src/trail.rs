//! The live trail: the telemetry files read from where the reader left
//! off, as they grow. Each client keeps its own place (its offsets), so a
//! slow page never makes the cloud drop a line, and a reconnecting page
//! resumes where it stopped (`Last-Event-ID`).

use std::path::{Path, PathBuf};

use devstack_api::telemetry::{BUS_LOG, DEAD_LETTERS, EVENTS, HOPS, JUDGEMENTS};
use serde_json::{Value, json};

/// Each file the trail follows, and the `type` its lines become.
const FILES: [(&str, &str); 5] = [
    (HOPS, "hop"),
    (EVENTS, "event"),
    (JUDGEMENTS, "denial"),
    (DEAD_LETTERS, "dead-letter"),
    (BUS_LOG, "bus-log"),
];

/// Where a reader is in each file, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Place([u64; FILES.len()]);

impl Place {
    /// The offsets in `FILES`' order, dotted, as the SSE event id carries
    /// them.
    pub fn id(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(u64::to_string).collect();
        parts.join(".")
    }

    /// A place from an event id; the start for anything else.
    pub fn parse(id: &str) -> Self {
        let parts: Vec<u64> = id.split('.').filter_map(|p| p.parse().ok()).collect();
        parts.try_into().map_or_else(|_| Self::default(), Self)
    }
}

/// The records added since `place`, in file order (hops, then events,
/// then denials, then dead letters, then the buses' logs), and the place
/// after them. A line not
/// yet ended (still being written) waits for the next read. Allowed IAM
/// verdicts are not part of the trail.
pub fn read_since(dir: &Path, place: Place) -> (Vec<Value>, Place) {
    let mut out = Vec::new();
    let mut next = place;
    for (i, (file, kind)) in FILES.iter().enumerate() {
        let (lines, offset) = new_lines(&dir.join(file), place.0[i]);
        next.0[i] = offset;
        for line in lines {
            let Ok(Value::Object(mut record)) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if *kind == "denial" && record.get("verdict").and_then(Value::as_str) == Some("allowed")
            {
                continue;
            }
            record.insert("type".into(), json!(kind));
            out.push(Value::Object(record));
        }
    }
    (out, next)
}

fn new_lines(path: &PathBuf, from: u64) -> (Vec<String>, u64) {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return (vec![], from);
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    // A file shorter than the place was started afresh (a new cloud).
    let from = if len < from { 0 } else { from };
    let mut text = String::new();
    if file.seek(SeekFrom::Start(from)).is_err() || file.read_to_string(&mut text).is_err() {
        return (vec![], from);
    }
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    let lines = text[..complete].lines().map(str::to_owned).collect();
    (lines, from + complete as u64)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn lines_arrive_once_each_and_a_half_written_one_waits() {
        let dir = tempfile::tempdir().unwrap();
        let mut hops = std::fs::File::create(dir.path().join(HOPS)).unwrap();
        writeln!(hops, r#"{{"kind":"http","function":"todos/ApiFunction"}}"#).unwrap();
        write!(hops, r#"{{"kind":"rule""#).unwrap();
        let mut iam = std::fs::File::create(dir.path().join(JUDGEMENTS)).unwrap();
        writeln!(iam, r#"{{"verdict":"allowed"}}"#).unwrap();
        writeln!(iam, r#"{{"verdict":"denied","action":"sqs:SendMessage"}}"#).unwrap();
        let mut bus = std::fs::File::create(dir.path().join(BUS_LOG)).unwrap();
        writeln!(bus, r#"{{"message_type":"EVENT_RECEIPT"}}"#).unwrap();
        let (first, place) = read_since(dir.path(), Place::default());
        let kinds: Vec<&str> = first.iter().map(|r| r["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["hop", "denial", "bus-log"], "{first:?}");
        let (none, same) = read_since(dir.path(), place);
        assert!(none.is_empty());
        assert_eq!(same, place);
        writeln!(hops, r#","function":"notifications/ConsumerFunction"}}"#).unwrap();
        let (second, place) = read_since(dir.path(), Place::parse(&place.id()));
        assert_eq!(second.len(), 1);
        assert_eq!(second[0]["function"], "notifications/ConsumerFunction");
        assert_eq!(Place::parse(&place.id()), place);
        assert_eq!(Place::parse("nonsense"), Place::default());
    }
}
