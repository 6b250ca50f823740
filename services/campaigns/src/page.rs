//! A campaign's public "view in browser" page, pure: rendered from what a
//! recipient already has (the subject, the body, whether it went out),
//! never from who received it. The page function serves it behind the web
//! app's CloudFront distribution, which keeps it a day; the page-cache
//! function invalidates it when a change of the campaign changes its page.

use aws_lambda_events::dynamodb::EventRecord;
use kit::stream::{Change, StreamError, change};
use uuid::Uuid;

use crate::items::{Campaign, Item};
use crate::status::CampaignStatus;

/// Where the distribution sends a campaign's page (`/view/<id>`).
pub const PREFIX: &str = "/view/";

/// Scripts, frames, forms, fonts and images are refused whatever the text
/// holds: the escaping keeps markup out, and this keeps out anything that
/// slipped past it. Only the page's own `<style>` applies.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// CloudFront keeps a page a day (invalidated on change); a browser five
/// minutes, since no invalidation reaches it.
const CACHED: &str = "public, max-age=300, s-maxage=86400";

/// What a page shows: nothing else of the campaign reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub subject: String,
    pub body: String,
    pub state: &'static str,
    pub dated: String,
}

impl View {
    pub fn of(c: &Campaign) -> Self {
        let state = match c.status {
            CampaignStatus::Submitted | CampaignStatus::Accepted | CampaignStatus::Sending => {
                "Being sent"
            }
            CampaignStatus::Sent | CampaignStatus::Delivered => "Sent",
            CampaignStatus::Failed => "Not sent",
        };
        Self {
            subject: c.subject.clone(),
            body: c.body.clone(),
            state,
            dated: c.created_at.format("%-d %B %Y").to_string(),
        }
    }
}

/// An answer of the page function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(&'static str, &'static str)>,
    pub html: String,
}

/// The campaign id a request's path names, if it names one.
pub fn id_of(path: &str) -> Option<Uuid> {
    path.strip_prefix(PREFIX)?.parse().ok()
}

/// The page of a campaign, or the page saying there is none.
pub fn render(view: Option<&View>) -> Page {
    let Some(v) = view else {
        return page(
            404,
            "no-store",
            "Not found",
            "<h1>Not found</h1><p>There is no campaign at this address.</p>",
        );
    };
    let paragraphs: String = v
        .body
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", escape(p.trim()).replace('\n', "<br>")))
        .collect();
    let main = format!(
        "<p class=\"meta\">{} · {}</p><h1>{}</h1>{paragraphs}",
        escape(&v.dated),
        v.state,
        escape(&v.subject),
    );
    page(200, CACHED, &v.subject, &main)
}

/// An answer the page function gives when it cannot read the campaign:
/// never kept, so the next reader asks again.
pub fn unavailable() -> Page {
    page(
        503,
        "no-store",
        "Unavailable",
        "<h1>Unavailable</h1><p>Try again in a moment.</p>",
    )
}

fn page(status: u16, cache: &'static str, title: &str, main: &str) -> Page {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}}\
         .meta{{color:#666;font-size:.9rem}}</style></head><body><main>{main}</main></body></html>",
        escape(title)
    );
    Page {
        status,
        headers: vec![
            ("content-type", "text/html; charset=utf-8"),
            ("cache-control", cache),
            ("content-security-policy", CONTENT_SECURITY_POLICY),
            ("x-content-type-options", "nosniff"),
            ("x-robots-tag", "noindex"),
        ],
        html,
    }
}

/// Text as HTML text or a quoted attribute's value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page a table change makes stale, if any: a campaign's page is
/// invalidated when what it shows changed (a token stored or a history
/// line added leaves it as it was). A new campaign's address was never
/// kept: the 404 a reader could have met is cached seconds at most.
pub fn stale(record: &EventRecord) -> Result<Option<String>, StreamError> {
    let (old, new) = match change::<Item>(record)? {
        Change::Modify {
            old: Item::Campaign(o),
            new: Item::Campaign(n),
        } => (Some(o), Some(n)),
        Change::Remove {
            old: Item::Campaign(c),
        } => (Some(c), None),
        _ => return Ok(None),
    };
    let id = old.as_ref().or(new.as_ref()).map(|c| c.id);
    let changed = old.as_ref().map(View::of) != new.as_ref().map(View::of);
    Ok(id.filter(|_| changed).map(|id| format!("{PREFIX}{id}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::Received;
    use kit::stream::record;

    fn campaign(subject: &str, body: &str) -> Campaign {
        Campaign::new(subject, body, "admin-sub", chrono::Utc::now(), "req-1")
    }

    #[test]
    fn hostile_text_is_shown_as_text_and_the_policy_refuses_scripts() {
        let mut c = campaign(
            "<script>alert('x')</script> & \"more\"",
            "<img src=x onerror=alert(1)>\nline two\n\n<b>para</b>",
        );
        c.recipients = Some(3);
        let page = render(Some(&View::of(&c)));
        assert_eq!(page.status, 200);
        assert!(!page.html.contains("<script>"), "{}", page.html);
        assert!(!page.html.contains("<img"), "{}", page.html);
        assert!(!page.html.contains("<b>"), "{}", page.html);
        assert!(
            page.html.contains(
                "<h1>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;</h1>"
            ),
            "{}",
            page.html
        );
        assert!(page.html.contains("<br>line two</p><p>&lt;b&gt;para"));
        let csp = page
            .headers
            .iter()
            .find(|(k, _)| *k == "content-security-policy");
        assert!(csp.is_some_and(|(_, v)| v.starts_with("default-src 'none'")));
    }

    #[test]
    fn a_page_names_no_recipient_and_nothing_of_the_sender() {
        let mut c = campaign("Hello", "Body");
        c.recipients = Some(2);
        c.token = Some("task-token-secret".into());
        c.vendor_id = Some("cmp_vendor".into());
        c.status = CampaignStatus::Delivered;
        let received = Received::of(&c, "ada-sub", chrono::Utc::now());
        let html = render(Some(&View::of(&c))).html;
        for hidden in [
            "admin-sub",
            "ada-sub",
            received.pk.as_str(),
            "task-token",
            "cmp_vendor",
            "req-1",
        ] {
            assert!(!html.contains(hidden), "{hidden} in {html}");
        }
        assert!(html.contains("Sent"), "{html}");
    }

    #[test]
    fn only_a_campaigns_address_names_a_campaign() {
        let id = Uuid::now_v7();
        assert_eq!(id_of(&format!("/view/{id}")), Some(id));
        for path in ["/view/", "/view/nope", "/views/x", &format!("/view/{id}/x")] {
            assert_eq!(id_of(path), None, "{path}");
        }
        let missing = render(None);
        assert_eq!(missing.status, 404);
        assert!(missing.headers.contains(&("cache-control", "no-store")));
    }

    fn item(c: &Campaign) -> serde_dynamo::Item {
        serde_dynamo::to_item(Item::Campaign(c.clone())).unwrap()
    }

    #[test]
    fn a_page_is_stale_only_when_what_it_shows_changed() {
        let before = campaign("Hi", "Body");
        let mut token = before.clone();
        token.token = Some("t".into());
        token.status = CampaignStatus::Accepted;
        let quiet = record("1", "MODIFY", Some(item(&before)), Some(item(&token)));
        assert_eq!(
            stale(&quiet).unwrap(),
            None,
            "Submitted → Accepted shows the same"
        );
        let mut sent = token.clone();
        sent.status = CampaignStatus::Sent;
        let moved = record("2", "MODIFY", Some(item(&token)), Some(item(&sent)));
        assert_eq!(stale(&moved).unwrap(), Some(format!("/view/{}", before.id)));
        let removed = record("3", "REMOVE", Some(item(&sent)), None);
        assert!(stale(&removed).unwrap().is_some());
        let created = record("5", "INSERT", None, Some(item(&before)));
        assert_eq!(stale(&created).unwrap(), None);
        let member = crate::items::Member::new("u", "u@example.com", chrono::Utc::now());
        let other = record(
            "4",
            "INSERT",
            None,
            Some(serde_dynamo::to_item(Item::Member(member)).unwrap()),
        );
        assert_eq!(stale(&other).unwrap(), None);
    }
}
