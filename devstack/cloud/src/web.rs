//! Serves the built web app (`web/dist`) and the `config.json` it reads,
//! made from this local cloud's endpoints: the local pool and client, the
//! local cloud's Cognito front (the emulator, with the pool's triggers), the gateway and the WebSocket API. On
//! AWS the same file comes from the deployed stacks' outputs.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use devstack_api::Endpoints;

/// Where `cargo xtask web` (and `up`, `test`) leave the built app.
pub fn dist_dir() -> PathBuf {
    repo::root().join("web/dist")
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
    if let Some(seconds) = renew_before_seconds {
        config["renewBeforeSeconds"] = seconds.into();
    }
    config
}

struct Site {
    dir: PathBuf,
    config: String,
}

pub fn router(dir: PathBuf, endpoints: &Endpoints) -> Router {
    let site = Arc::new(Site {
        dir,
        config: config(endpoints, renew_before_seconds()).to_string(),
    });
    Router::new().fallback(serve).with_state(site)
}

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

async fn serve(State(site): State<Arc<Site>>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path == "config.json" {
        return (
            [
                ("content-type", "application/json"),
                ("cache-control", "no-store"),
            ],
            site.config.clone(),
        )
            .into_response();
    }
    let relative = Path::new(if path.is_empty() { "index.html" } else { path });
    // Only plain names below the folder: no `..`, no absolute paths.
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let file = site.dir.join(relative);
    match tokio::fs::read(&file).await {
        Ok(bytes) => ([("content-type", content_type(&file))], bytes).into_response(),
        Err(_) if !site.dir.join("index.html").is_file() => (
            StatusCode::NOT_FOUND,
            format!(
                "the web app is not built: run `cargo xtask web` (expected {})",
                site.dir.display()
            ),
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
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
