//! Buckets: S3 → Lambda notifications become S3 → tap queue notifications,
//! set by API because the emulator's CloudFormation skips them; so is a
//! bucket's versioning, which changes what a delete does.

use serde::Serialize;
use serde_json::{Value, json};

use super::{AdaptError, Stack, target};

/// An S3 bucket whose object-created notifications reach a function
/// through a tap queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadTap {
    pub bucket: String,
    pub function: String,
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub tap_queue: String,
}

/// `AWS::S3::Bucket`: each Lambda notification leaves the template and
/// becomes an [`UploadTap`]; the other notifications stay.
pub(super) fn bucket(st: &mut Stack, id: &str) -> Result<(), AdaptError> {
    if st.resources[id]["Properties"]["VersioningConfiguration"]["Status"] == "Enabled" {
        st.plan.versioned_buckets.push(id.to_owned());
    }
    let lambdas = st.resources[id]["Properties"]["NotificationConfiguration"]
        .get_mut("LambdaConfigurations")
        .and_then(Value::as_array_mut)
        .map(std::mem::take)
        .unwrap_or_default();
    for config in lambdas {
        let function = target(&config["Function"])
            .ok_or_else(|| st.unsupported(id, "a bucket notification names no function"))?
            .to_owned();
        let tap = format!("{id}{function}Tap");
        st.plan.uploads.push(UploadTap {
            bucket: id.to_owned(),
            function,
            events: vec![
                config["Event"]
                    .as_str()
                    .unwrap_or("s3:ObjectCreated:*")
                    .to_owned(),
            ],
            prefix: key_prefix(&config),
            tap_queue: tap.clone(),
        });
        st.added.insert(tap, json!({"Type": "AWS::SQS::Queue"}));
    }
    let properties = &mut st.resources[id]["Properties"];
    if let Some(n) = properties["NotificationConfiguration"].as_object_mut() {
        n.remove("LambdaConfigurations");
        if n.is_empty() {
            properties
                .as_object_mut()
                .expect("a bucket with notifications has properties")
                .remove("NotificationConfiguration");
        }
    }
    Ok(())
}

/// The notification's `prefix` key filter rule, its name in any case.
fn key_prefix(config: &Value) -> Option<String> {
    config["Filter"]["S3Key"]["Rules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| {
            r["Name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("prefix"))
        })
        .and_then(|r| r["Value"].as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::adapt;
    use super::super::tests::template;

    #[test]
    fn bucket_notifications_to_functions_become_taps() {
        let (out, plan) = adapt("svc", &template()).unwrap();
        assert_eq!(plan.uploads[0].prefix.as_deref(), Some("users/"));
        assert_eq!(plan.versioned_buckets, ["Bucket"]);
        assert_eq!(plan.uploads[0].tap_queue, "BucketFnTap");
        assert!(
            out["Resources"]["Bucket"]["Properties"]
                .get("NotificationConfiguration")
                .is_none()
        );
        assert_eq!(
            out["Resources"]["Bucket"]["DependsOn"],
            json!(["Perm"]),
            "a permission deploys, so it stays a dependency"
        );
    }
}
