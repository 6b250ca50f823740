//! Every expected effect looked up through the APIs and counted: what is
//! missing, what is there more than once.

use reqwest::Method;
use serde_json::Value;

use super::api::Answer;
use super::journey::list_todos;
use super::{Ctx, Expected, MAX_ATTEMPTS, QUIET, Todo, User, backoff, s};

/// What the APIs show, against what the actions were told.
pub(super) struct Accounting<'a> {
    pub(super) ctx: &'a Ctx,
    pub(super) users: &'a [User],
    pub(super) todos: &'a [Todo],
}

/// Something that should have happened, for the report and for matching
/// a DLQ letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Effect {
    Welcome {
        user: String,
    },
    Todo {
        title: String,
    },
    Completed {
        title: String,
    },
    Congratulation {
        title: String,
        todo: String,
    },
    Attachment {
        title: String,
        todo: String,
    },
    Erased {
        service: &'static str,
        user: String,
        what: String,
    },
    /// The API itself would not answer: nothing could be checked.
    Unreadable {
        user: String,
        what: &'static str,
    },
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Welcome { user } => write!(f, "the welcome of user {user}"),
            Effect::Todo { title } => write!(f, "the todo {title}"),
            Effect::Completed { title } => write!(f, "the completion of {title}"),
            Effect::Congratulation { title, .. } => write!(f, "the congratulation for {title}"),
            Effect::Attachment { title, .. } => {
                write!(f, "the attachment of {title} marked ready")
            }
            Effect::Erased {
                service,
                user,
                what,
            } => write!(
                f,
                "the erasure by {service} of deleted user {user}'s {what}"
            ),
            Effect::Unreadable { user, what } => write!(f, "{what} of user {user} (unreadable)"),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Observed {
    pub(super) missing: Vec<Effect>,
    /// A description and how many copies too many.
    pub(super) extra: Vec<(String, u64)>,
}

impl Observed {
    pub(super) fn settled(&self) -> bool {
        self.missing.is_empty()
    }

    /// A deleted user: anything of theirs still there is an erasure missing.
    pub(super) fn erasures(&mut self, user: &User, todos: &[Value], notifications: &[Value]) {
        for t in todos {
            self.missing.push(Effect::Erased {
                service: "todos",
                user: user.id.clone(),
                what: format!("todo {}", s(t, "title")),
            });
        }
        for n in notifications {
            self.missing.push(Effect::Erased {
                service: "notifications",
                user: user.id.clone(),
                what: format!("{} notification {}", s(n, "kind"), s(n, "id")),
            });
        }
    }

    pub(super) fn welcomes(&mut self, user: &User, notifications: &[Value]) {
        let welcomes = notifications
            .iter()
            .filter(|n| n["kind"] == "welcome")
            .count();
        match welcomes {
            0 => self.missing.push(Effect::Welcome {
                user: user.id.clone(),
            }),
            1 => {}
            n => self
                .extra
                .push((format!("the welcome of user {}", user.id), n as u64 - 1)),
        }
    }

    /// One planned todo against the user's todos and congratulations; the
    /// answer is how many congratulations name it.
    pub(super) fn todo(&mut self, t: &Todo, todos: &[Value], congratulations: &[&Value]) -> usize {
        let found: Vec<&Value> = todos.iter().filter(|v| v["title"] == t.title).collect();
        let copies = congratulations
            .iter()
            .filter(|n| s(n, "message").contains(&t.title))
            .count();
        match found.len() {
            0 if t.created => self.missing.push(Effect::Todo {
                title: t.title.clone(),
            }),
            0 | 1 => {}
            n => self
                .extra
                .push((format!("the todo {}", t.title), n as u64 - 1)),
        }
        let completed_now = found.iter().any(|v| v["completed"] == true);
        if t.completed && !completed_now && !found.is_empty() {
            self.missing.push(Effect::Completed {
                title: t.title.clone(),
            });
        }
        // A completion the client could not confirm counts by what
        // the todo shows.
        let congratulate = t.completed || completed_now;
        let todo_id = found
            .first()
            .map(|v| s(v, "id").to_owned())
            .or_else(|| t.id.clone())
            .unwrap_or_default();
        match (congratulate, copies) {
            (true, 0) => self.missing.push(Effect::Congratulation {
                title: t.title.clone(),
                todo: todo_id.clone(),
            }),
            (true, 1) | (false, 0) => {}
            (true, n) => self
                .extra
                .push((format!("the congratulation for {}", t.title), n as u64 - 1)),
            (false, n) => self.extra.push((
                format!("a congratulation for {}, never completed", t.title),
                n as u64,
            )),
        }
        if let Some(attachment) = &t.attachment {
            let status = found
                .iter()
                .flat_map(|v| v["attachments"].as_array().cloned().unwrap_or_default())
                .find(|a| a["id"] == attachment.as_str())
                .map(|a| s(&a, "status").to_owned());
            if status.as_deref() != Some("ready") {
                self.missing.push(Effect::Attachment {
                    title: t.title.clone(),
                    todo: todo_id,
                });
            }
        }
        copies
    }
}

impl Accounting<'_> {
    /// Everything is there: look once more after a quiet moment, so a copy
    /// that arrives late (a redelivery) is counted too.
    pub(super) async fn confirm(&self, settled: Observed) -> Observed {
        tokio::time::sleep(QUIET).await;
        let again = self.observe().await;
        if again.missing.is_empty() && again.extra.len() >= settled.extra.len() {
            again
        } else {
            settled
        }
    }

    pub(super) fn expected(&self) -> Expected {
        let live = self.users.iter().filter(|u| !u.delete).count();
        let mine = |t: &&Todo| !self.users[t.user].delete;
        Expected {
            users: self.users.len(),
            welcomes: live,
            todos: self.todos.iter().filter(mine).filter(|t| t.created).count(),
            completions: self
                .todos
                .iter()
                .filter(mine)
                .filter(|t| t.completed)
                .count(),
            attachments: self
                .todos
                .iter()
                .filter(mine)
                .filter(|t| t.attachment.is_some())
                .count(),
            deleted_users: self.users.len() - live,
        }
    }

    pub(super) async fn observe(&self) -> Observed {
        let mut out = Observed::default();
        type View = (usize, Option<Vec<Value>>, Option<Vec<Value>>);
        let views: Vec<View> =
            futures_util::future::join_all(self.users.iter().map(|u| async move {
                let todos = list_todos(self.ctx, u).await;
                let notifications = self.notifications(u).await;
                (u.index, todos, notifications)
            }))
            .await;
        for (index, todos, notifications) in views {
            let user = &self.users[index];
            let (Some(todos), Some(notifications)) = (todos, notifications) else {
                out.missing.push(Effect::Unreadable {
                    user: user.id.clone(),
                    what: "the todos and notifications",
                });
                continue;
            };
            if user.delete {
                out.erasures(user, &todos, &notifications);
                continue;
            }
            out.welcomes(user, &notifications);
            let congratulations: Vec<&Value> = notifications
                .iter()
                .filter(|n| n["kind"] == "todo_completed")
                .collect();
            let mut matched = 0usize;
            for t in self.todos.iter().filter(|t| t.user == index) {
                matched += out.todo(t, &todos, &congratulations);
            }
            // A congratulation for no todo of this run's: an event applied
            // twice under another title cannot happen; still, count it.
            let unmatched = congratulations.len().saturating_sub(matched);
            if unmatched > 0 {
                out.extra.push((
                    format!(
                        "congratulation(s) of user {} for no todo of this run",
                        user.id
                    ),
                    unmatched as u64,
                ));
            }
        }
        out.missing.sort();
        out
    }

    pub(super) async fn notifications(&self, user: &User) -> Option<Vec<Value>> {
        let mut answer = Answer::NoAnswer("not sent".into());
        for attempt in 0..MAX_ATTEMPTS {
            answer = self
                .ctx
                .api
                .call(
                    "GET /notifications",
                    &user.token,
                    Method::GET,
                    "/notifications",
                    None,
                )
                .await;
            if !answer.unsure() {
                break;
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        match answer {
            Answer::Status(200, page) => {
                Some(page["items"].as_array().cloned().unwrap_or_default())
            }
            _ => None,
        }
    }
}
