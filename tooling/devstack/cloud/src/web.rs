//! The web app as deployed: the web stack's site bucket on the emulator,
//! holding the built app (`web/dist`) and the `config.json` it reads, made
//! from this local cloud's endpoints (the local pool and client, the
//! Cognito front, the gateway and the WebSocket API; on AWS the same file
//! comes from the stacks' outputs, `ops web-config`), served through the
//! stack's CloudFront distribution, which the local CDN plays. A function
//! URL origin (the campaign pages) is the function, invoked as Lambda
//! invokes it for its URL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use devstack_api::Endpoints;
use devstack_template::adapt::OriginTarget;

use crate::deploy::{Deployed, Stack};

/// Where `cargo xtask web` (and `up`, `test`) leave the built app.
pub fn dist_dir() -> PathBuf {
    repo::root().join(repo::paths::WEB_DIST)
}

/// Set when the local cloud starts, how many seconds before the ID token
/// expires the app renews it (`renewBeforeSeconds`; the app's default is
/// 300): a lead close to the emulator's one-hour token life renews within
/// seconds, to watch a renewal happen.
pub const RENEW_BEFORE_SECONDS_ENV: &str = "DEVSTACK_WEB_RENEW_BEFORE_SECONDS";

/// The lead from [`RENEW_BEFORE_SECONDS_ENV`], if set to a whole number of
/// seconds; anything else is said and left out, so the app's default holds.
fn renew_before_seconds() -> Option<u64> {
    let value = std::env::var_os(RENEW_BEFORE_SECONDS_ENV)?;
    let seconds = value.to_str().and_then(|v| v.trim().parse().ok());
    if seconds.is_none() {
        tracing::warn!(
            "{RENEW_BEFORE_SECONDS_ENV}={value:?} is not a whole number of seconds: ignored"
        );
    }
    seconds
}

/// The app's configuration for these endpoints.
pub fn config(e: &Endpoints, renew_before_seconds: Option<u64>) -> Value {
    let api = |service: &str| {
        e.services
            .get(service)
            .and_then(|s| s.outputs.get("ApiUrl").cloned())
            .unwrap_or_else(|| e.api_base_url.clone())
    };
    let mut config = json!({
        "region": e.region,
        "cognitoEndpoint": format!("{}/", e.cognito_url.trim_end_matches('/')),
        "userPoolId": e.user_pool_id,
        "clientId": e.client_id,
        "apis": repo::SERVICES
            .iter()
            .map(|s| (s.to_string(), Value::from(api(s))))
            .collect::<serde_json::Map<_, _>>(),
        "socketUrl": e.socket_url,
        "local": true,
    });
    let bucket = (e.services.get("todos")).and_then(|s| s.outputs.get("BucketName"));
    if let Some(bucket) = bucket.filter(|_| !e.identity_pool_id.is_empty()) {
        config["identityPoolId"] = e.identity_pool_id.clone().into();
        config["filesBucket"] = bucket.clone().into();
        config["s3Endpoint"] = e.s3_url.clone().into();
    }
    if !e.federated_provider.is_empty() {
        config["federation"] = json!({
            "domainUrl": e.cognito_url.trim_end_matches('/'),
            "provider": e.federated_provider,
            "label": e.federated_provider,
        });
    }
    if let Some(seconds) = renew_before_seconds {
        config["renewBeforeSeconds"] = seconds.into();
    }
    config
}

/// What a browser reads a file as.
fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// The web stack as deployed: the template it was deployed from (with
/// the domains' parameters) and its resources. Deployed with the other
/// stacks, before any function runs, so a kept state holds it too.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Site {
    template: Value,
    deployed: Deployed,
}

/// Deploys the web stack: the site's domain is `platform`'s, the campaign
/// pages' is the campaigns stack's `PageDomain` output (what `ops` passes
/// on AWS).
pub async fn deploy_stack(
    conf: &aws_config::SdkConfig,
    template: Value,
    platform: &Value,
    (stacks, commit): (&[Stack], &str),
) -> anyhow::Result<Site> {
    use crate::deploy::{TAG_COMMIT, TAG_SERVICE, apply, create_tagged};
    let mut parameters = crate::custom_domain::site_parameters(platform);
    parameters.extend(page_domain(stacks));
    let template = devstack_template::adapt::with_parameters(template, &parameters);
    let (adapted, plan) = devstack_template::adapt::adapt(repo::WEB, &template)?;
    let deployed = create_tagged(
        conf,
        repo::WEB,
        &adapted,
        &[],
        &[(TAG_SERVICE, repo::WEB), (TAG_COMMIT, commit)],
    )
    .await?;
    apply(conf, &plan, &deployed).await?;
    Ok(Site { template, deployed })
}

/// The built app in `dir` and this cloud's `config.json` in the site
/// bucket, served through the stack's distribution.
pub async fn publish(
    conf: &aws_config::SdkConfig,
    judge: Arc<crate::iam::Judge>,
    (dir, urls): (&Path, FunctionUrls),
    endpoints: &Endpoints,
    Site { template, deployed }: &Site,
) -> anyhow::Result<Arc<devstack_cdn::Cdn>> {
    let (_, plan) = devstack_template::adapt::adapt(repo::WEB, template)?;
    let d = plan
        .distributions
        .first()
        .context("the web stack has no distribution")?;
    let s3 = crate::deploy::path_style_s3(conf);
    let mut buckets = BTreeMap::new();
    let mut functions = BTreeMap::new();
    for o in &d.origins {
        match &o.target {
            OriginTarget::Bucket(b) => {
                let bucket = deployed.physical(b)?.to_owned();
                buckets.insert(o.id.clone(), (bucket, o.access_control));
            }
            OriginTarget::FunctionUrl(host) => {
                let url = urls.get(host).cloned().with_context(|| {
                    format!(
                        "origin {}: no function of this local cloud has the URL {host}",
                        o.id
                    )
                })?;
                functions.insert(o.id.clone(), (url, o.access_control));
            }
        }
    }
    let site = &buckets[&d.behaviors.last().expect("a default behavior").origin].0;
    let config = config(endpoints, renew_before_seconds()).to_string();
    let files = put_files(&s3, site, dir, &config).await?;
    tracing::info!(target: "trail", bucket = %site, files, distribution = %d.id, "web app published");
    let origins = Arc::new(SiteOrigins {
        s3,
        buckets,
        functions,
        judge,
        distribution_arn: format!(
            "arn:aws:cloudfront::{}:distribution/{}",
            kit::config::LOCAL_ACCOUNT,
            d.id
        ),
    });
    Ok(devstack_cdn::Cdn::new(spec(d), origins))
}

/// The campaign pages' domain, where the campaigns stack is deployed: its
/// `PageDomain` output, as the web stack's `CampaignPageDomain`.
fn page_domain(stacks: &[Stack]) -> Option<(String, String)> {
    let (_, _, deployed, _) = stacks.iter().find(|(s, ..)| s == "campaigns")?;
    let domain = deployed.outputs.get("PageDomain")?;
    Some(("CampaignPageDomain".to_owned(), domain.clone()))
}

/// A function URL the local cloud serves: the function and its auth type.
#[derive(Clone)]
pub struct FunctionUrl {
    pub function: devstack_lambda::runtime::Function,
    pub auth_type: String,
    pub host: String,
}

/// The stacks' function URLs by host.
pub type FunctionUrls = BTreeMap<String, FunctionUrl>;

pub fn function_urls(
    stacks: &[crate::deploy::Stack],
    functions: &BTreeMap<String, devstack_lambda::runtime::Function>,
) -> FunctionUrls {
    let mut urls = BTreeMap::new();
    for (service, plan, _, _) in stacks {
        for u in &plan.function_urls {
            if let Some(f) = functions.get(&crate::deploy::qualified(service, &u.function)) {
                let url = FunctionUrl {
                    function: f.clone(),
                    auth_type: u.auth_type.clone(),
                    host: u.host().to_owned(),
                };
                urls.insert(u.host().to_owned(), url);
            }
        }
    }
    urls
}

/// The plan's distribution as the CDN takes it.
fn spec(d: &devstack_template::adapt::DistributionPlan) -> devstack_cdn::Spec {
    devstack_cdn::Spec {
        id: d.id.clone(),
        default_root_object: d.default_root_object.clone(),
        behaviors: (d.behaviors.iter())
            .map(|b| devstack_cdn::Behavior {
                path_pattern: b.path_pattern.clone(),
                origin: b.origin.clone(),
                cached: b.cached,
                security_headers: b.security_headers,
            })
            .collect(),
        error_responses: (d.error_responses.iter())
            .map(|e| devstack_cdn::ErrorResponse {
                error_code: e.error_code,
                response_code: e.response_code,
                response_page_path: e.response_page_path.clone(),
            })
            .collect(),
    }
}

/// Every file under `dir` at its relative key, then `config.json`.
async fn put_files(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    dir: &Path,
    config: &str,
) -> anyhow::Result<usize> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    if !dir.join("index.html").is_file() {
        tracing::warn!(target: "trail", dir = %dir.display(),
            "the web app is not built (run `cargo xtask web`): the site serves only config.json");
    }
    for file in &files {
        let key = file.strip_prefix(dir)?.to_string_lossy().replace('\\', "/");
        s3.put_object()
            .bucket(bucket)
            .key(&key)
            .content_type(content_type(file))
            .body(tokio::fs::read(file).await?.into())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))
            .with_context(|| format!("uploading {key}"))?;
    }
    s3.put_object()
        .bucket(bucket)
        .key("config.json")
        .content_type("application/json")
        .body(config.as_bytes().to_vec().into())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))
        .context("uploading config.json")?;
    Ok(files.len() + 1)
}

/// The CDN's origins. Buckets are read as CloudFront's origin access
/// reads them (as `cloudfront.amazonaws.com` for the distribution, which
/// the bucket's policy must let in); a missing object is a 403, as S3
/// answers a reader that may not list the bucket. A function URL's
/// function is invoked with Lambda's URL event, signed by the origin
/// access control and judged by the function's policy
/// (`lambda:InvokeFunctionUrl`); unsigned, an `AWS_IAM` URL answers 403.
struct SiteOrigins {
    s3: aws_sdk_s3::Client,
    /// Origin id → the bucket, and whether reads are signed (OAC).
    buckets: BTreeMap<String, (String, bool)>,
    /// Origin id → the function URL, and whether requests are signed.
    functions: BTreeMap<String, (FunctionUrl, bool)>,
    judge: Arc<crate::iam::Judge>,
    distribution_arn: String,
}

impl SiteOrigins {
    fn invoker(&self) -> devstack_lambda::on_behalf::Invoker {
        devstack_lambda::on_behalf::Invoker {
            principal: "cloudfront.amazonaws.com",
            source_arn: self.distribution_arn.clone(),
        }
    }

    async fn object(&self, bucket: &str, signed: bool, key: &str) -> devstack_cdn::Object {
        let object_arn = format!("arn:aws:s3:::{bucket}/{key}");
        if signed
            && !self
                .judge
                .for_service(&self.invoker(), "s3:GetObject", &object_arn)
                .await
        {
            return denied();
        }
        match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => {
                let content_type = out.content_type().map(str::to_owned);
                let body = out.body.collect().await.map(|b| b.into_bytes());
                devstack_cdn::Object::new(200, content_type.as_deref(), body.unwrap_or_default())
            }
            Err(_) => denied(),
        }
    }

    async fn page(&self, url: &FunctionUrl, signed: bool, key: &str) -> devstack_cdn::Object {
        let arn = &url.function.spec.arn;
        let allowed = match url.auth_type.as_str() {
            "NONE" => true,
            _ if !signed => false,
            _ => {
                (self.judge)
                    .for_service(&self.invoker(), "lambda:InvokeFunctionUrl", arn)
                    .await
            }
        };
        if !allowed {
            return devstack_cdn::Object::new(403, Some(JSON), r#"{"Message":"Forbidden"}"#);
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let arrival = devstack_lambda::recorder::Arrival::new("function-url", format!("/{key}"));
        let event = url_event(&url.host, &format!("/{key}"), &request_id);
        match url.function.invoke_traced(request_id, event, arrival).await {
            Ok(answer) => url_answer(&answer),
            Err(error) => {
                tracing::warn!(target: "trail", function = %url.function.spec.name, %error, "function URL: the function failed");
                devstack_cdn::Object::new(502, Some(JSON), r#"{"Message":"Internal Server Error"}"#)
            }
        }
    }
}

const JSON: &str = "application/json";

fn denied() -> devstack_cdn::Object {
    devstack_cdn::Object::new(
        403,
        Some("application/xml"),
        "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
    )
}

/// Lambda's event for a GET of `path` through a function URL (payload
/// version 2.0), as CloudFront's request arrives.
fn url_event(host: &str, path: &str, request_id: &str) -> Value {
    let now = chrono::Utc::now();
    let url_id = host.split('.').next().unwrap_or_default();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": host, "user-agent": "Amazon CloudFront", "x-forwarded-proto": "https"},
        "requestContext": {
            "accountId": kit::config::LOCAL_ACCOUNT,
            "apiId": url_id,
            "domainName": host,
            "domainPrefix": url_id,
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "Amazon CloudFront"},
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    })
}

/// A function's answer as its URL returns it: a `statusCode` answer as
/// given, anything else as a 200 of JSON (Lambda's rule).
fn url_answer(answer: &Value) -> devstack_cdn::Object {
    let Some(status) = answer["statusCode"].as_u64() else {
        return devstack_cdn::Object::new(200, Some(JSON), answer.to_string());
    };
    let headers: Vec<(String, String)> = (answer["headers"].as_object().into_iter().flatten())
        .filter_map(|(k, v)| Some((k.to_lowercase(), v.as_str()?.to_owned())))
        .collect();
    let content_type = (headers.iter())
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone());
    let body = answer["body"].as_str().unwrap_or_default();
    let body = if answer["isBase64Encoded"] == true {
        aws_smithy_types::base64::decode(body).unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    devstack_cdn::Object {
        status: u16::try_from(status).unwrap_or(502),
        content_type,
        headers: headers
            .into_iter()
            .filter(|(k, _)| k != "content-type")
            .collect(),
        body: body.into(),
    }
}

impl devstack_cdn::Origins for SiteOrigins {
    fn get<'a>(&'a self, origin: &'a str, key: &'a str) -> devstack_cdn::Fetch<'a> {
        Box::pin(async move {
            if let Some((bucket, signed)) = self.buckets.get(origin) {
                return self.object(bucket, *signed, key).await;
            }
            match self.functions.get(origin) {
                Some((url, signed)) => self.page(url, *signed, key).await,
                None => denied(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_renewal_lead_is_written_only_when_given() {
        let e = Endpoints::default();
        assert!(config(&e, None).get("renewBeforeSeconds").is_none());
        assert_eq!(config(&e, Some(3590))["renewBeforeSeconds"], 3590);
    }

    #[test]
    fn every_service_has_its_api_in_the_config() {
        let e = Endpoints {
            api_base_url: "http://127.0.0.1:1".into(),
            ..Endpoints::default()
        };
        let apis = config(&e, None)["apis"].as_object().unwrap().clone();
        let names: Vec<&str> = apis.keys().map(String::as_str).collect();
        let mut services = repo::SERVICES.to_vec();
        services.sort_unstable();
        assert_eq!(names, services);
        assert!(apis.values().all(|v| v == "http://127.0.0.1:1"));
    }
}
