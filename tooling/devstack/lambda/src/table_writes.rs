//! The stream pollers' wake signal: which tables were just written. Handed
//! to the pollers and to whatever sees the writes (the cloud's DynamoDB
//! proxy) separately, so neither reaches into the other, nor into the
//! trace recorder.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::Notify;

/// Which tables were just written, for the stream pollers waiting on them.
/// Lambda reads a shard as soon as it has records (the mappings here have no
/// batching window), so a poller that wakes on the write is closer to AWS
/// than one sleeping out a timer. The functions' DynamoDB calls pass the
/// local proxy (`devstack_cloud`'s bus proxy), which reports each write
/// here once the emulator has applied it.
#[derive(Default)]
pub struct Writes {
    waiting: Mutex<HashMap<String, Vec<Arc<Notify>>>>,
}

impl Writes {
    /// A poller of `table` asks to be woken.
    pub fn watch(&self, table: &str) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(table.to_owned())
            .or_default()
            .push(notify.clone());
        notify
    }

    /// `table` was written. A poller busy with GetRecords keeps the wake
    /// (`notify_one` stores a permit), so no write is slept through.
    pub fn written(&self, table: &str) {
        if let Some(pollers) = self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(table)
        {
            for p in pollers {
                p.notify_one();
            }
        }
    }
}

/// The tables a DynamoDB write request names (`x-amz-target`
/// `DynamoDB_20120810.<op>`), or none for a read.
pub fn written_tables(target: &str, request: &Value) -> Vec<String> {
    let op = target
        .strip_prefix("DynamoDB_20120810.")
        .unwrap_or_default();
    let mut tables: Vec<String> = match op {
        "PutItem" | "UpdateItem" | "DeleteItem" => request["TableName"]
            .as_str()
            .map(str::to_owned)
            .into_iter()
            .collect(),
        "BatchWriteItem" => request["RequestItems"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
        "TransactWriteItems" => request["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                ["Put", "Update", "Delete"]
                    .iter()
                    .find_map(|k| item[*k]["TableName"].as_str())
                    .map(str::to_owned)
            })
            .collect(),
        _ => Vec::new(),
    };
    tables.sort();
    tables.dedup();
    tables
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    #[test]
    fn every_kind_of_write_names_its_tables_and_reads_name_none() {
        let t = |target: &str, request: Value| written_tables(target, &request);
        assert_eq!(
            t("DynamoDB_20120810.PutItem", json!({"TableName": "a"})),
            ["a"]
        );
        assert_eq!(
            t(
                "DynamoDB_20120810.BatchWriteItem",
                json!({"RequestItems": {"b": [], "a": []}})
            ),
            ["a", "b"]
        );
        assert_eq!(
            t(
                "DynamoDB_20120810.TransactWriteItems",
                json!({"TransactItems": [
                    {"Put": {"TableName": "n"}},
                    {"ConditionCheck": {"TableName": "x"}},
                    {"Delete": {"TableName": "n"}},
                    {"Update": {"TableName": "m"}}
                ]})
            ),
            ["m", "n"]
        );
        assert!(t("DynamoDB_20120810.Query", json!({"TableName": "a"})).is_empty());
        assert!(t("DynamoDB_20120810.GetItem", json!({"TableName": "a"})).is_empty());
    }

    #[tokio::test]
    async fn a_write_during_get_records_still_wakes_the_poller_after() {
        let writes = Writes::default();
        let poller = writes.watch("todos");
        let other = writes.watch("users");
        // The write lands before the poller waits: the permit is kept.
        writes.written("todos");
        tokio::time::timeout(Duration::from_millis(100), poller.notified())
            .await
            .expect("the write's wake was lost");
        assert!(
            tokio::time::timeout(Duration::from_millis(20), other.notified())
                .await
                .is_err(),
            "another table's poller woke"
        );
    }
}
