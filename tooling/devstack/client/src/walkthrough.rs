//! The main job, end to end, against a running local cloud: sign up,
//! create todos, upload an attachment through its presigned URL, complete a
//! todo, and see the notifications and the DLQ depth.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use devstack_api::Endpoints;
use reqwest::Method;
use serde_json::{Value, json};

/// What the journey saw, for printing and for tests.
#[derive(Debug, Default)]
pub struct Journey {
    pub user_id: String,
    pub todo_ids: Vec<String>,
    pub attachment_status: String,
    pub notifications: Vec<Value>,
    pub dlq_depths: Vec<(String, i64)>,
    /// Completing a todo → its congratulation visible through the API.
    pub completion_to_notification: Duration,
    /// The completion's `x-correlation-id`: `devstack trace` follows it.
    pub correlation_id: String,
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Client {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        self.call_correlated(method, path, body, None).await
    }

    /// [`Client::call`] with the caller's own correlation id, which the
    /// events the request causes carry (`devstack trace` finds it).
    pub async fn call_correlated(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        correlation_id: Option<&str>,
    ) -> Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(id) = correlation_id {
            req = req.header("x-correlation-id", id);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}

/// Polls `f` until it gives a value, first every 10 ms and then less often
/// (up to every 250 ms): each poll is a request through the gateway, a
/// function and the emulator, and a test run spends its CPU on them.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(Duration::from_millis(250));
    }
}

/// The password every signed-up test person has.
pub const PASSWORD: &str = "Correct-Horse-Battery-9";

pub async fn token_for(endpoints: &Endpoints, email: &str) -> Result<String> {
    crate::cognito::id_token(endpoints, email, PASSWORD).await
}

/// Signs `email` up as `name`, the registration's events carrying
/// `correlation_id`; returns an ID token.
pub async fn token_named(
    endpoints: &Endpoints,
    email: &str,
    name: &str,
    correlation_id: &str,
) -> Result<String> {
    let person = crate::cognito::Person {
        email,
        password: PASSWORD,
        name: Some(name),
        correlation_id: Some(correlation_id),
    };
    crate::cognito::id_token_of(endpoints, &person).await
}

pub async fn journey(endpoints: &Endpoints, email: &str, say: impl Fn(&str)) -> Result<Journey> {
    let api = Client {
        http: reqwest::Client::new(),
        base: endpoints.api_base_url.clone(),
        token: token_named(endpoints, email, "Ada", &uuid::Uuid::new_v4().to_string()).await?,
    };
    let mut j = Journey::default();
    say(&format!(
        "1. signed up {email} as Ada in the local user pool (its confirmation made the profile); got an ID token"
    ));
    j.user_id = put_profile(&api, &say).await?;
    j.todo_ids = create_todos(&api, &say).await?;
    let first = j.todo_ids[0].clone();
    upload_attachment(&api, &first, &say).await?;
    j.attachment_status = attachment_checked(&api, &first, &say).await?;
    let completed_at = Instant::now();
    j.correlation_id = complete(&api, &first, &say).await?;
    (j.notifications, j.completion_to_notification) =
        congratulated(&api, completed_at, &say).await?;
    j.dlq_depths = dlq_depths(endpoints).await?;
    say(&format!("8. DLQ depths: {:?}", j.dlq_depths));
    Ok(j)
}

/// Step 2: the profile; the answer is the user's id.
async fn put_profile(api: &Client, say: &impl Fn(&str)) -> Result<String> {
    let (status, me) = api
        .call(
            Method::PUT,
            "/users/me",
            Some(json!({"display_name": "Ada"})),
        )
        .await?;
    if status != 201 && status != 200 {
        bail!("PUT /users/me answered {status}: {me}");
    }
    say(&format!("2. PUT /users/me → {status} {me}"));
    Ok(me["id"].as_str().unwrap_or_default().to_owned())
}

/// Step 3: two todos; the answer is their ids.
async fn create_todos(api: &Client, say: &impl Fn(&str)) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for title in ["Write the launch post", "Draw the architecture diagram"] {
        let (status, todo) = api
            .call(Method::POST, "/todos", Some(json!({"title": title})))
            .await?;
        if status != 201 {
            bail!("POST /todos answered {status}: {todo}");
        }
        ids.push(todo["id"].as_str().unwrap_or_default().to_owned());
        say(&format!("3. POST /todos → 201 {}", todo["id"]));
    }
    Ok(ids)
}

/// Step 4: an attachment of todo `id`, uploaded through its presigned URL.
async fn upload_attachment(api: &Client, id: &str, say: &impl Fn(&str)) -> Result<()> {
    let content = b"a diagram, honestly".to_vec();
    let (status, grant) = api
        .call(
            Method::POST,
            &format!("/todos/{id}/attachments"),
            Some(json!({"file_name": "diagram.txt", "content_type": "text/plain", "size": content.len()})),
        )
        .await?;
    if status != 201 {
        bail!("POST attachments answered {status}: {grant}");
    }
    let put = api
        .http
        .put(grant["upload_url"].as_str().unwrap_or_default())
        .header("content-type", "text/plain")
        .body(content)
        .send()
        .await?;
    say(&format!(
        "4. uploaded through the presigned URL → {}",
        put.status()
    ));
    Ok(())
}

/// Step 5: the attachment's status once the S3-triggered check ran.
async fn attachment_checked(api: &Client, id: &str, say: &impl Fn(&str)) -> Result<String> {
    let status = eventually(Duration::from_secs(20), "the attachment check", || async {
        let (_, todo) = api.call(Method::GET, &format!("/todos/{id}"), None).await?;
        let status = todo["attachments"][0]["status"]
            .as_str()
            .unwrap_or("pending")
            .to_owned();
        Ok((status != "pending").then_some(status))
    })
    .await?;
    say(&format!("5. the S3-triggered check marked it {status}"));
    Ok(status)
}

/// Step 6: todo `id` completed; the answer is the completion's correlation id.
async fn complete(api: &Client, id: &str, say: &impl Fn(&str)) -> Result<String> {
    let correlation_id = format!("walkthrough-{}", uuid::Uuid::new_v4().simple());
    let (status, _) = api
        .call_correlated(
            Method::PATCH,
            &format!("/todos/{id}"),
            Some(json!({"completed": true})),
            Some(&correlation_id),
        )
        .await?;
    say(&format!(
        "6. PATCH /todos/{id} {{\"completed\":true}} → {status} (x-correlation-id: {correlation_id})"
    ));
    Ok(correlation_id)
}

/// Step 7: the notifications once the congratulation shows, and how long
/// it took since `completed_at`.
async fn congratulated(
    api: &Client,
    completed_at: Instant,
    say: &impl Fn(&str),
) -> Result<(Vec<Value>, Duration)> {
    let notifications = eventually(Duration::from_secs(20), "the congratulation", || async {
        let (_, list) = api.call(Method::GET, "/notifications", None).await?;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let congratulated = items.iter().any(|n| n["kind"] == "todo_completed");
        Ok(congratulated.then_some(items))
    })
    .await?;
    let took = completed_at.elapsed();
    for n in &notifications {
        say(&format!(
            "7. notification: [{}] {}",
            n["kind"].as_str().unwrap_or_default(),
            n["message"].as_str().unwrap_or_default()
        ));
    }
    Ok((notifications, took))
}

/// Step 8: each service's DLQ depth (-1: unreadable).
async fn dlq_depths(endpoints: &Endpoints) -> Result<Vec<(String, i64)>> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let mut depths = Vec::new();
    for (service, s) in &endpoints.services {
        let sqs = aws_sdk_sqs::Client::new(&ops::targets::administrator(endpoints, service).await);
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&s.dlq_queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await?;
        let depth = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1);
        depths.push((service.clone(), depth));
    }
    Ok(depths)
}

pub async fn run(endpoints: &Endpoints) -> Result<()> {
    let email = format!(
        "walker-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let j = journey(endpoints, &email, |line| println!("{line}")).await?;
    println!(
        "completed → congratulation visible: {} ms",
        j.completion_to_notification.as_millis()
    );
    println!(
        "its whole path: devstack trace {}   (the metrics: devstack metrics)",
        j.correlation_id
    );
    Ok(())
}
