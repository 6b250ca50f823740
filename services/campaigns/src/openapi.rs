//! The campaigns HTTP API as an OpenAPI 3.1 document: the routes `api`
//! and `webhook` dispatch, with the types they parse and answer with.

use kit::openapi::{Api, Route, uuid};

use crate::domain::{CampaignInput, CampaignList, CampaignView};
use crate::webhook::{Delivery, WebhookAnswer};

pub fn api() -> Api {
    Api::new(
        "campaigns",
        "Email campaigns sent through a third-party sender, for members of the Cognito group `admins` (anyone else gets 403). Each campaign runs as a Step Functions execution named by its id.",
    )
    .route(
        Route::new("POST /campaigns", "startCampaign", "Start a campaign to the whole audience")
            .body::<CampaignInput>()
            .reply::<CampaignView>(202, "Stored, and its flow started; watch its status.")
            .error(403, "The caller is not in the admins group.")
            .error(409, "The caller's account was deleted (`account_deleted`): a token issued before the erasure starts nothing.")
            .error(422, "A value is out of range; `field` names it.")
            .error(503, "Its flow could not be started; the campaign is recorded as failed."),
    )
    .route(
        Route::new("GET /campaigns", "listCampaigns", "The newest campaigns")
            .reply::<CampaignList>(200, "Newest first.")
            .error(403, "The caller is not in the admins group."),
    )
    .route(
        Route::new("GET /campaigns/{id}", "getCampaign", "One campaign, its status and step history")
            .path("id", uuid(), "The campaign's id (its execution's name).")
            .reply::<CampaignView>(200, "The campaign.")
            .error(403, "The caller is not in the admins group.")
            .error(404, "No such campaign."),
    )
    .route(
        Route::new("POST /campaigns/webhook", "senderWebhook", "The sender reports a campaign's status")
            .public("A missing or wrong `Sender-Signature` (HMAC-SHA256 of `<Sender-Timestamp>.<body>` with the signing secret), or a timestamp over 5 minutes away; nothing is read or changed.")
            .body::<Delivery>()
            .reply::<WebhookAnswer>(200, "Applied once: a duplicate or late delivery changes nothing.")
            .error(404, "No such campaign.")
            .error(422, "`campaign_id` is not the sender's id for this campaign."),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_document_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
        kit::openapi::check_committed(&path, &super::api().document(env!("CARGO_PKG_VERSION")))
            .unwrap();
    }
}
