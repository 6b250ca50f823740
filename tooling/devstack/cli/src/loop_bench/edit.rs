//! Edit → live: notifications' welcome message changed in the working
//! tree, deployed as `devstack deploy notifications --watch` deploys it,
//! then answered by the new version: a new user's welcome, read through
//! the API, carries the changed words. The file is put back and deployed
//! once more at the end, so the cloud runs the tree's code again.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use devstack_api::Endpoints;
use devstack_client::deploy::{self, Source};
use devstack_client::walkthrough::{Client, eventually, token_named};
use reqwest::Method;

use super::Row;
use super::restore::Restore;

const SERVICE: &str = "notifications";
/// The words of the welcome the bench changes, as the domain writes them.
const WELCOME: &str = "Your account is ready.";

pub(crate) async fn run(
    root: &Path,
    endpoints: &Endpoints,
    edits: usize,
    minute_ms: u64,
) -> Result<Vec<Row>> {
    let file = Restore::new(&repo::service_dir_in(root, SERVICE).join("src/domain.rs"))?;
    if !file.original().contains(WELCOME) {
        bail!("notifications' domain no longer says {WELCOME:?}: the bench has nothing to edit");
    }
    let mut rows = Vec::new();
    for n in 1..=edits {
        let marker = format!(
            "(loop-bench edit {n} {})",
            &uuid::Uuid::new_v4().simple().to_string()[..6]
        );
        file.write(&edited(file.original(), &marker))?;
        rows.push(
            one_edit(
                root,
                endpoints,
                &format!("edit {n}"),
                Some(&marker),
                minute_ms,
            )
            .await?,
        );
    }
    file.put_back()?;
    rows.push(one_edit(root, endpoints, "put back", None, minute_ms).await?);
    Ok(rows)
}

/// The domain's source with the welcome's words followed by `marker`.
fn edited(source: &str, marker: &str) -> String {
    source.replacen(WELCOME, &format!("{WELCOME} {marker}"), 1)
}

/// One saved edit: built and deployed (live behind the alias), then, with
/// a `marker`, seen in a new user's welcome.
async fn one_edit(
    root: &Path,
    endpoints: &Endpoints,
    name: &str,
    marker: Option<&str>,
    minute_ms: u64,
) -> Result<Row> {
    let saved = Instant::now();
    let workspace = repo::workspace::Workspace::load(root)?;
    let source = Source::Cargo { release: false };
    let report = deploy::deploy(
        &endpoints.control_url,
        &workspace,
        SERVICE,
        source,
        Some(minute_ms),
    )
    .await
    .with_context(|| format!("{name}: the deploy"))?;
    if let Some(why) = &report.rolled_back {
        bail!("{name}: rolled back by {why}");
    }
    let live = saved.elapsed();
    let deploying = Duration::from_millis(report.total_ms);
    let mut note = format!(
        "build {:.1} s, deploy {:.1} s",
        live.saturating_sub(deploying).as_secs_f64(),
        deploying.as_secs_f64()
    );
    if let Some(marker) = marker {
        welcomed(endpoints, marker)
            .await
            .with_context(|| format!("{name}: the new version's answer"))?;
        note.push_str(&format!(
            "; answered at {:.1} s",
            saved.elapsed().as_secs_f64()
        ));
    }
    Ok(Row {
        what: format!("edit → live: {SERVICE}, {name}"),
        seconds: live.as_secs_f64(),
        note,
    })
}

/// A new user's welcome through the API, which must carry `marker`: a
/// welcome without it is the old version answering after the deploy.
async fn welcomed(endpoints: &Endpoints, marker: &str) -> Result<()> {
    let email = format!(
        "loop-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let correlation = uuid::Uuid::new_v4().to_string();
    let api = Client {
        http: reqwest::Client::new(),
        base: endpoints.api_base_url.clone(),
        token: token_named(endpoints, &email, "Ada", &correlation).await?,
    };
    let message = eventually(Duration::from_secs(30), "the welcome", || async {
        let (_, list) = api.call(Method::GET, "/notifications", None).await?;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        Ok(items
            .iter()
            .find(|n| n["kind"] == "welcome")
            .map(|n| n["message"].as_str().unwrap_or_default().to_owned()))
    })
    .await?;
    if !message.contains(marker) {
        bail!("the old version answered after the deploy: {message:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_follows_the_welcomes_words_once() {
        let source = format!("a \"{WELCOME}\" b \"{WELCOME}\"");
        assert_eq!(
            edited(&source, "(m)"),
            format!("a \"{WELCOME} (m)\" b \"{WELCOME}\"")
        );
    }
}
