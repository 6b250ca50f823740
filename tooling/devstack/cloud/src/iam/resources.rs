//! What a resource says about who may use it, read from the emulator with
//! the administrator's keys (another account's resource as that account's
//! administrator) and kept until the next deploy: a queue's and a topic's
//! policy and KMS key, a bucket's policy, a key's policy and ARN, a
//! function's policy (its Lambda permissions), a bus's policy.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use devstack_iam::policy::NamedPolicy;
use kit::signed::json_protocol::{EVENTS, JsonApi, KMS};

/// A resource's own policy, the key it is encrypted with, and a bucket's
/// CORS rules.
#[derive(Debug, Default)]
pub struct Facts {
    pub policy: Option<NamedPolicy>,
    /// The key's ARN.
    pub key: Option<String>,
    pub cors: Vec<devstack_iam::cors::Rule>,
}

/// One account's clients.
struct Clients {
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    s3: aws_sdk_s3::Client,
    lambda: aws_sdk_lambda::Client,
    kms: JsonApi,
    events: JsonApi,
}

impl Clients {
    fn new(conf: &SdkConfig) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(conf),
            sns: aws_sdk_sns::Client::new(conf),
            s3: crate::deploy::path_style_s3(conf),
            lambda: aws_sdk_lambda::Client::new(conf),
            kms: JsonApi::new(conf, KMS),
            events: JsonApi::new(conf, EVENTS),
        }
    }
}

pub struct Resources {
    conf: SdkConfig,
    /// The administrator's account, whose clients are `own`.
    account: String,
    own: Arc<Clients>,
    /// Other accounts' clients, as their administrators.
    elsewhere: RwLock<HashMap<String, Arc<Clients>>>,
    known: RwLock<HashMap<String, Arc<Facts>>>,
}

impl Resources {
    pub fn new(conf: &SdkConfig, account: &str) -> Self {
        Self {
            conf: conf.clone(),
            account: account.to_owned(),
            own: Arc::new(Clients::new(conf)),
            elsewhere: RwLock::default(),
            known: RwLock::default(),
        }
    }

    /// The clients that read `account`'s resources.
    async fn clients(&self, account: &str) -> Option<Arc<Clients>> {
        if account.is_empty() || account == self.account {
            return Some(self.own.clone());
        }
        if let Some(known) = (self.elsewhere.read().unwrap_or_else(|e| e.into_inner())).get(account)
        {
            return Some(known.clone());
        }
        let conf = super::administrator(&self.conf, account).await.ok()?;
        let clients = Arc::new(Clients::new(&conf));
        self.elsewhere
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.to_owned(), clients.clone());
        Some(clients)
    }

    /// A deploy may have changed any of them.
    pub fn forget(&self) {
        self.known
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// What the resource `arn` says; nothing for a kind without a policy
    /// (a table) or one that cannot be read (it is judged without).
    pub async fn of(&self, arn: &str) -> Arc<Facts> {
        // An object's facts are its bucket's: read once, not per key; a
        // rule's are its bus's, whose policy judges it.
        let on_bus = bus_of(arn);
        let arn = match arn.split_once('/') {
            Some((bucket, _)) if arn.starts_with("arn:aws:s3:::") => bucket,
            _ => on_bus.as_deref().unwrap_or(arn),
        };
        if let Some(known) = self
            .known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(arn)
        {
            return known.clone();
        }
        let facts = Arc::new(self.read(arn).await.unwrap_or_default());
        self.known
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(arn.to_owned(), facts.clone());
        facts
    }

    async fn read(&self, arn: &str) -> Option<Facts> {
        let mut parts = arn.splitn(6, ':');
        let service = parts.nth(2)?;
        let account = parts.nth(1)?;
        let name = parts.next()?;
        let c = self.clients(account).await?;
        match service {
            "sqs" => c.queue(name).await,
            "sns" => c.topic(arn, name).await,
            "s3" => c.bucket(name).await,
            "lambda" => Some(Facts {
                policy: c.function_policy(name.strip_prefix("function:")?).await,
                ..Facts::default()
            }),
            "events" if name.starts_with("event-bus/") => Some(Facts {
                policy: c.bus_policy(arn, name).await,
                ..Facts::default()
            }),
            "kms" => Some(Facts {
                policy: c.key_policy(arn).await,
                key: Some(arn.to_owned()),
                cors: Vec::new(),
            }),
            _ => None,
        }
    }
}

impl Clients {
    async fn queue(&self, name: &str) -> Option<Facts> {
        let url = self
            .sqs
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .ok()?;
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(url.queue_url()?)
            .attribute_names(QueueAttributeName::Policy)
            .attribute_names(QueueAttributeName::KmsMasterKeyId)
            .send()
            .await
            .ok()?;
        let get = |a: QueueAttributeName| attributes.attributes()?.get(&a).cloned();
        Some(Facts {
            policy: parsed(
                &format!("queue policy of {name}"),
                get(QueueAttributeName::Policy),
            ),
            key: self.key_arn(get(QueueAttributeName::KmsMasterKeyId)).await,
            cors: Vec::new(),
        })
    }

    async fn topic(&self, arn: &str, name: &str) -> Option<Facts> {
        let answer = self
            .sns
            .get_topic_attributes()
            .topic_arn(arn)
            .send()
            .await
            .ok()?;
        let get = |k: &str| answer.attributes()?.get(k).cloned();
        Some(Facts {
            policy: parsed(&format!("topic policy of {name}"), get("Policy")),
            key: self.key_arn(get("KmsMasterKeyId")).await,
            cors: Vec::new(),
        })
    }

    async fn bucket(&self, name: &str) -> Option<Facts> {
        // A bucket without a policy answers NoSuchBucketPolicy.
        let policy = match self.s3.get_bucket_policy().bucket(name).send().await {
            Ok(answer) => answer.policy,
            Err(_) => None,
        };
        // A bucket without CORS answers NoSuchCORSConfiguration.
        let cors = match self.s3.get_bucket_cors().bucket(name).send().await {
            Ok(answer) => answer
                .cors_rules()
                .iter()
                .map(|r| devstack_iam::cors::Rule {
                    origins: r.allowed_origins().to_vec(),
                    methods: r.allowed_methods().to_vec(),
                    headers: r.allowed_headers().to_vec(),
                    expose: r.expose_headers().to_vec(),
                    max_age: r.max_age_seconds(),
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        Some(Facts {
            policy: parsed(&format!("bucket policy of {name}"), policy),
            key: None,
            cors,
        })
    }

    /// A function without a permission answers ResourceNotFoundException:
    /// no one else may invoke it.
    async fn function_policy(&self, name: &str) -> Option<NamedPolicy> {
        let answer = self
            .lambda
            .get_policy()
            .function_name(name)
            .send()
            .await
            .ok()?;
        parsed(&format!("function policy of {name}"), answer.policy)
    }

    /// A bus's policy (DescribeEventBus's `Policy`), which judges the
    /// calls of other accounts on the bus and its rules.
    async fn bus_policy(&self, arn: &str, name: &str) -> Option<NamedPolicy> {
        let answer = self
            .events
            .call("DescribeEventBus", &serde_json::json!({"Name": arn}))
            .await
            .ok()?;
        let bus = name.trim_start_matches("event-bus/");
        parsed(
            &format!("bus policy of {bus}"),
            answer["Policy"].as_str().map(str::to_owned),
        )
    }

    async fn key_policy(&self, arn: &str) -> Option<NamedPolicy> {
        let answer = self
            .kms
            .call(
                "GetKeyPolicy",
                &serde_json::json!({"KeyId": arn, "PolicyName": "default"}),
            )
            .await
            .ok()?;
        let id = arn.rsplit('/').next().unwrap_or(arn);
        parsed(
            &format!("key policy of {id}"),
            answer["Policy"].as_str().map(str::to_owned),
        )
    }

    /// A key named as a resource names it (an id, an alias, an ARN), as
    /// its ARN.
    async fn key_arn(&self, id: Option<String>) -> Option<String> {
        let id = id.filter(|id| !id.is_empty())?;
        let answer = self
            .kms
            .call("DescribeKey", &serde_json::json!({"KeyId": id}))
            .await
            .ok()?;
        answer["KeyMetadata"]["Arn"].as_str().map(str::to_owned)
    }
}

fn parsed(name: &str, document: Option<String>) -> Option<NamedPolicy> {
    let document = document.filter(|d| !d.is_empty())?;
    match NamedPolicy::parse(name, &document) {
        Ok(policy) => Some(policy),
        Err(e) => {
            tracing::warn!(target: "trail", "iam: {e}; judged without it");
            None
        }
    }
}

/// The bus a rule is on (`rule/<bus>/<name>`), whose policy judges it;
/// none for any other resource.
fn bus_of(resource: &str) -> Option<String> {
    let (head, rest) = resource.split_once(":rule/")?;
    Some(match rest.split_once('/') {
        Some((bus, _)) => format!("{head}:event-bus/{bus}"),
        None => format!("{head}:event-bus/default"),
    })
}
