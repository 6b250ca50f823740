//! The campaigns admin API: start a campaign, list them, read one with its
//! status and step history. Only the `admins` group may use it.

use aws_sdk_sfn::error::DisplayErrorContext;
use chrono::Utc;
use kit::http_api::{Caller, Request, Response, parse_body};
use serde_json::json;
use uuid::Uuid;

use crate::domain::{self, CampaignInput, CampaignList, CampaignStatus, Step};
use crate::items::Campaign;
use crate::store::Store;

/// What the API needs: its table, and the state machine it starts.
pub struct Admin {
    pub store: Store,
    pub sfn: aws_sdk_sfn::Client,
    pub state_machine_arn: String,
    /// How long the flow waits for each next status from the sender.
    pub wait_timeout_seconds: u64,
}

pub async fn handle(app: &Admin, req: Request) -> Response {
    kit::http_api::serve(&req, |caller, req| async move {
        domain::require_admin(&caller)?;
        match req.route_key.as_str() {
            "POST /campaigns" => start(app, &caller, req).await,
            "GET /campaigns" => list(&app.store).await,
            "GET /campaigns/{id}" => read(&app.store, req).await,
            other => Err(Response::no_route(other)),
        }
    })
    .await
}

async fn start(app: &Admin, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let input: CampaignInput = parse_body(req.body.as_deref())?;
    let input = input.validate()?;
    let campaign = Campaign::new(
        &input.subject,
        &input.body,
        &caller.user_id,
        Utc::now(),
        &req.correlation_id,
    );
    match app.store.create(&campaign).await {
        Err(kit::table::TableError::Barred) => return Err(kit::erasure::refused()),
        created => created?,
    }
    tracing::info!(campaign_id = %campaign.id, "campaign stored; starting its flow");
    let started = app
        .sfn
        .start_execution()
        .state_machine_arn(&app.state_machine_arn)
        // The campaign id names the execution: a retried start is the same
        // execution, and the console finds it by the campaign.
        .name(campaign.id.to_string())
        .input(
            json!({
                "campaign_id": campaign.id,
                "correlation_id": req.correlation_id,
                "wait_timeout_seconds": app.wait_timeout_seconds,
            })
            .to_string(),
        )
        .set_trace_header(kit::telemetry::current_header())
        .send()
        .await;
    let id = campaign.id;
    let saved = match started {
        Ok(out) => {
            let arn = out.execution_arn;
            app.store
                .update(id, |c| {
                    c.execution_arn = Some(arn.clone());
                    Some(c.clone())
                })
                .await?
        }
        Err(e) => {
            let why = format!("its flow could not be started: {}", DisplayErrorContext(&e));
            tracing::error!(campaign_id = %id, error = %why, "StartExecution failed");
            app.store
                .update(id, |c| {
                    c.status = CampaignStatus::Failed;
                    c.reason = Some(why.clone());
                    c.updated_at = Utc::now();
                    c.steps.push(Step::new(c.updated_at, "failed", why.clone()));
                    Some(())
                })
                .await?;
            return Err(Response::error(503, "unavailable", why, None));
        }
    };
    kit::telemetry::count("CampaignsStarted", 1);
    let view = domain::view(saved.as_ref().unwrap_or(&campaign));
    Ok(Response::of(202, &view))
}

async fn list(store: &Store) -> Result<Response, Response> {
    let campaigns = store.campaigns().await?;
    let list = CampaignList {
        items: campaigns.iter().map(domain::view).collect(),
    };
    Ok(Response::of(200, &list))
}

async fn read(store: &Store, req: &Request) -> Result<Response, Response> {
    let raw = req.path.get("id").map(String::as_str).unwrap_or_default();
    let id: Uuid = raw.parse().map_err(|_| Response::not_found("campaign"))?;
    let campaign = store
        .campaign(id)
        .await?
        .ok_or_else(|| Response::not_found("campaign"))?;
    Ok(Response::of(200, &domain::view(&campaign)))
}
