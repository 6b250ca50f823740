//! The users' actions: sign-ups, each user's todos (created, attached,
//! completed) and the deletions, each retried as a careful client would.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use devstack_api::Endpoints;
use devstack_api::chaos::{Counts, Remote, Rng};
use reqwest::Method;
use serde_json::{Value, json};

use super::api::Answer;
use super::chaos::{calm, start_chaos};
use super::{Config, Ctx, LoadError, MAX_ATTEMPTS, Todo, User, backoff, s};

/// Every user signed up and given a profile, in the order of their index.
pub(super) async fn sign_up_all(
    ctx: &Arc<Ctx>,
    endpoints: &Endpoints,
    run_id: &str,
    users_n: usize,
    doomed: &BTreeSet<usize>,
    semaphore: &Arc<tokio::sync::Semaphore>,
) -> Result<Vec<User>, LoadError> {
    let mut signups = tokio::task::JoinSet::new();
    for index in 0..users_n {
        let ctx = ctx.clone();
        let endpoints = endpoints.clone();
        let email = format!("load-{run_id}-u{index}@example.com");
        let delete = doomed.contains(&index);
        let permit = semaphore.clone();
        signups.spawn(async move {
            let _permit = permit.acquire_owned().await;
            sign_up(&ctx, &endpoints, index, email, delete).await
        });
    }
    let mut users: Vec<User> = Vec::new();
    while let Some(joined) = signups.join_next().await {
        match joined {
            Ok(Ok(user)) => users.push(user),
            Ok(Err(e)) => return Err(e),
            Err(e) => {
                return Err(LoadError::SignUp {
                    email: "?".into(),
                    message: e.to_string(),
                });
            }
        }
    }
    users.sort_by_key(|u| u.index);
    Ok(users)
}

/// The plan, drawn before anything runs so the seed decides it alone.
/// A user's notifications are read in one page of 50: a welcome and at
/// most 45 congratulations each.
pub(super) struct Planner<'a> {
    pub(super) config: &'a Config,
    pub(super) rng: Rng,
    pub(super) run_id: String,
    /// Per user.
    pub(super) completions_of: Vec<usize>,
}

impl Planner<'_> {
    pub(super) fn todo(&mut self, i: usize) -> Todo {
        let user = i % self.completions_of.len();
        let mut complete = self.rng.unit() < self.config.complete_share;
        if complete && self.completions_of[user] >= 45 {
            complete = false;
        }
        if complete {
            self.completions_of[user] += 1;
        }
        Todo {
            user,
            title: format!("[load {} u{user} t{i:06}]", self.run_id),
            complete,
            attach: self.rng.unit() < self.config.attach_share,
            ..Todo::default()
        }
    }
}

/// What the actions did.
pub(super) struct Acted {
    pub(super) todos: Vec<Todo>,
    pub(super) seconds: f64,
    /// What the fault proxies injected meanwhile (chaos only).
    pub(super) faults: Option<Counts>,
}

/// The todos' journeys, then the deletions; with chaos, the faults are on
/// from before the first journey until the last deletion is done.
pub(super) async fn act(
    ctx: &Arc<Ctx>,
    config: &Config,
    users: &Arc<Vec<User>>,
    plan: Planner<'_>,
    semaphore: &Arc<tokio::sync::Semaphore>,
    remote: Option<&Remote>,
    faults_before: Option<&Counts>,
) -> Result<Acted, LoadError> {
    let started = Instant::now();
    let deadline = config.duration.map(|d| started + d);
    let finished = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let chaos_task = start_chaos(config, remote, &finished, &stop).await?;

    tracing::info!(todos = ?config.todos, duration = ?config.duration, "load: actions");
    let limit = config.todos.unwrap_or(usize::MAX);
    let todos = run_journeys(ctx, users, plan, semaphore, limit, deadline, &finished).await;
    // Deletions last: their effects erase what the journeys made.
    delete_users(ctx, users).await;
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    if let Some(task) = chaos_task {
        let _ = task.await;
    }
    let faults = calm(remote, faults_before).await?;
    Ok(Acted {
        todos,
        seconds,
        faults,
    })
}

/// The planned todos' journeys, as many at once as the semaphore allows,
/// until `limit` todos or the deadline.
pub(super) async fn run_journeys(
    ctx: &Arc<Ctx>,
    users: &Arc<Vec<User>>,
    mut plan: Planner<'_>,
    semaphore: &Arc<tokio::sync::Semaphore>,
    limit: usize,
    deadline: Option<Instant>,
    finished: &Arc<AtomicUsize>,
) -> Vec<Todo> {
    let mut journeys = tokio::task::JoinSet::new();
    let mut i = 0usize;
    while i < limit {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let mut todo = plan.todo(i);
        let ctx = ctx.clone();
        let users = users.clone();
        let finished = finished.clone();
        journeys.spawn(async move {
            let user = &users[todo.user];
            journey(&ctx, user, &mut todo).await;
            finished.fetch_add(1, Ordering::SeqCst);
            drop(permit);
            todo
        });
        i += 1;
    }
    let mut todos: Vec<Todo> = Vec::new();
    while let Some(joined) = journeys.join_next().await {
        if let Ok(todo) = joined {
            todos.push(todo);
        }
    }
    todos
}

/// Each user planned for deletion deleted, all at once.
pub(super) async fn delete_users(ctx: &Arc<Ctx>, users: &Arc<Vec<User>>) {
    let mut deletions = tokio::task::JoinSet::new();
    for u in users.iter().filter(|u| u.delete) {
        let ctx = ctx.clone();
        let users = users.clone();
        let index = u.index;
        deletions.spawn(async move { delete_user(&ctx, &users[index]).await });
    }
    while deletions.join_next().await.is_some() {}
}

pub(super) async fn sign_up(
    ctx: &Ctx,
    endpoints: &Endpoints,
    index: usize,
    email: String,
    delete: bool,
) -> Result<User, LoadError> {
    let mut last = String::new();
    let mut token = None;
    for attempt in 0..MAX_ATTEMPTS {
        let t0 = Instant::now();
        match crate::walkthrough::token_for(endpoints, &email).await {
            Ok(t) => {
                ctx.api.record(
                    "Cognito sign-up + sign-in",
                    t0.elapsed().as_secs_f64() * 1000.0,
                    &Answer::Status(200, Value::Null),
                );
                token = Some(t);
                break;
            }
            Err(e) => {
                last = format!("{e:#}");
                ctx.api.record(
                    "Cognito sign-up + sign-in",
                    t0.elapsed().as_secs_f64() * 1000.0,
                    &Answer::NoAnswer(last.clone()),
                );
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
    }
    let Some(token) = token else {
        return Err(LoadError::SignUp {
            email,
            message: last,
        });
    };
    ctx.done("sign_up");
    let body = json!({"display_name": format!("Load user {index}")});
    let mut answer = Answer::NoAnswer("not sent".into());
    for attempt in 0..MAX_ATTEMPTS {
        answer = ctx
            .api
            .call(
                "PUT /users/me",
                &token,
                Method::PUT,
                "/users/me",
                Some(body.clone()),
            )
            .await;
        if !answer.unsure() {
            break;
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    match answer {
        Answer::Status(200 | 201, me) if !s(&me, "id").is_empty() => {
            ctx.done("put_profile");
            Ok(User {
                index,
                email,
                token,
                id: s(&me, "id").to_owned(),
                delete,
            })
        }
        other => Err(LoadError::SignUp {
            email,
            message: format!("PUT /users/me: {}", other.describe()),
        }),
    }
}

/// A todo's life: created, perhaps given an attachment, perhaps completed.
pub(super) async fn journey(ctx: &Ctx, user: &User, todo: &mut Todo) {
    if !create(ctx, user, todo).await {
        return;
    }
    if todo.attach {
        attach(ctx, user, todo).await;
    }
    if todo.complete {
        complete(ctx, user, todo).await;
    }
}

/// Every todo of a user (all pages), or `None` when the API would not say.
pub(super) async fn list_todos(ctx: &Ctx, user: &User) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/todos?limit=100&cursor={c}"),
            None => "/todos?limit=100".to_owned(),
        };
        let mut answer = Answer::NoAnswer("not sent".into());
        for attempt in 0..MAX_ATTEMPTS {
            answer = ctx
                .api
                .call("GET /todos", &user.token, Method::GET, &path, None)
                .await;
            if !answer.unsure() {
                break;
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        let Answer::Status(200, page) = answer else {
            return None;
        };
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Some(out),
        }
    }
}

pub(super) async fn find_by_title(ctx: &Ctx, user: &User, title: &str) -> Option<Value> {
    list_todos(ctx, user)
        .await?
        .into_iter()
        .find(|t| t["title"] == title)
}

pub(super) async fn create(ctx: &Ctx, user: &User, todo: &mut Todo) -> bool {
    let mut answer = Answer::NoAnswer("not sent".into());
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            // The last try may have created it: look before trying again.
            tokio::time::sleep(backoff(attempt)).await;
            if let Some(found) = find_by_title(ctx, user, &todo.title).await {
                todo.id = Some(s(&found, "id").to_owned());
                todo.created = true;
                ctx.done("create_todo");
                return true;
            }
        }
        answer = ctx
            .api
            .call(
                "POST /todos",
                &user.token,
                Method::POST,
                "/todos",
                Some(json!({"title": todo.title})),
            )
            .await;
        if let Answer::Status(201, created) = &answer {
            todo.id = Some(s(created, "id").to_owned());
            todo.created = true;
            ctx.done("create_todo");
            return true;
        }
        if !answer.unsure() {
            break;
        }
    }
    ctx.gave_up(&format!("POST /todos {}", todo.title), &answer);
    false
}

pub(super) async fn attach(ctx: &Ctx, user: &User, todo: &mut Todo) {
    let id = todo.id.clone().unwrap_or_default();
    let content = format!("attachment of {}", todo.title).into_bytes();
    let request =
        json!({"file_name": "notes.txt", "content_type": "text/plain", "size": content.len()});
    let mut answer = Answer::NoAnswer("not sent".into());
    for attempt in 0..MAX_ATTEMPTS {
        answer = ctx
            .api
            .call(
                "POST /todos/{id}/attachments",
                &user.token,
                Method::POST,
                &format!("/todos/{id}/attachments"),
                Some(request.clone()),
            )
            .await;
        if !answer.unsure() {
            break;
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    let Answer::Status(201, grant) = &answer else {
        ctx.gave_up(&format!("attachment of {}", todo.title), &answer);
        return;
    };
    ctx.done("attach");
    let url = s(grant, "upload_url").to_owned();
    let attachment_id = s(grant, "attachment_id").to_owned();
    for attempt in 0..MAX_ATTEMPTS {
        let put = ctx
            .api
            .http
            .put(&url)
            .header("content-type", "text/plain")
            .body(content.clone());
        answer = ctx.api.send("PUT presigned upload (S3)", put).await;
        if matches!(answer, Answer::Status(200..=299, _)) {
            todo.attachment = Some(attachment_id);
            ctx.done("upload");
            return;
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    ctx.gave_up(&format!("upload of {}", todo.title), &answer);
}

pub(super) async fn complete(ctx: &Ctx, user: &User, todo: &mut Todo) {
    let id = todo.id.clone().unwrap_or_default();
    let mut answer = Answer::NoAnswer("not sent".into());
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
            let read = ctx
                .api
                .call(
                    "GET /todos/{id}",
                    &user.token,
                    Method::GET,
                    &format!("/todos/{id}"),
                    None,
                )
                .await;
            if let Answer::Status(200, t) = read
                && t["completed"] == true
            {
                todo.completed = true;
                ctx.done("complete_todo");
                return;
            }
        }
        answer = ctx
            .api
            .call(
                "PATCH /todos/{id}",
                &user.token,
                Method::PATCH,
                &format!("/todos/{id}"),
                Some(json!({"completed": true})),
            )
            .await;
        if let Answer::Status(200, _) = answer {
            todo.completed = true;
            ctx.done("complete_todo");
            return;
        }
        if !answer.unsure() {
            break;
        }
    }
    ctx.gave_up(&format!("completing {}", todo.title), &answer);
}

pub(super) async fn delete_user(ctx: &Ctx, user: &User) {
    let mut answer = Answer::NoAnswer("not sent".into());
    for attempt in 0..MAX_ATTEMPTS {
        answer = ctx
            .api
            .call(
                "DELETE /users/me",
                &user.token,
                Method::DELETE,
                "/users/me",
                None,
            )
            .await;
        match &answer {
            Answer::Status(204, _) => {
                ctx.done("delete_user");
                return;
            }
            // An earlier try went through; only its answer was lost.
            Answer::Status(404, _) if attempt > 0 => {
                ctx.done("delete_user");
                return;
            }
            a if a.unsure() => tokio::time::sleep(backoff(attempt)).await,
            _ => break,
        }
    }
    ctx.gave_up(&format!("deleting {}", user.email), &answer);
}
