//! What the routes share: the provider's fixed settings, its key, the
//! client's redirect URIs and the codes and access tokens it has handed
//! out, all in memory (a restart forgets every grant, as a key made per
//! start invalidates every token anyway).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Options;
use crate::keys::Key;
pub use crate::keys::random;

/// How long a code may wait for its exchange.
pub const CODE_LIFE: Duration = Duration::from_secs(60);
/// How long an ID or access token is good for.
pub const TOKEN_LIFE: Duration = Duration::from_secs(3600);

pub struct Shared {
    pub issuer: String,
    pub options: Options,
    pub key: Key,
    redirect_uris: Mutex<Vec<String>>,
    grants: Mutex<Grants>,
}

/// The person a consent was given as: what userinfo answers.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What a code stands for: the authorization request and its answer.
pub struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub person: Person,
    /// When consent was given: the ID token's `auth_time`.
    pub auth_time: i64,
    pub issued: Instant,
}

#[derive(Default)]
struct Grants {
    codes: HashMap<String, Grant>,
    /// Access token → its person, until the instant it expires.
    access: HashMap<String, (Person, Instant)>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind: still usable.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(issuer: String, options: Options, key: Key) -> Self {
        Self {
            issuer,
            options,
            key,
            redirect_uris: Mutex::new(Vec::new()),
            grants: Mutex::new(Grants::default()),
        }
    }

    pub fn set_redirect_uris(&self, uris: Vec<String>) {
        *lock(&self.redirect_uris) = uris;
    }

    pub fn is_registered(&self, redirect_uri: &str) -> bool {
        lock(&self.redirect_uris).iter().any(|u| u == redirect_uri)
    }

    /// A new single-use code for `grant`.
    pub fn remember_code(&self, grant: Grant) -> String {
        let code = random();
        let mut grants = lock(&self.grants);
        // Drop the expired ones, so a long run holds only live codes.
        grants.codes.retain(|_, g| g.issued.elapsed() < CODE_LIFE);
        grants.codes.insert(code.clone(), grant);
        code
    }

    /// The code's grant, if it is live; the code is spent either way.
    pub fn take_code(&self, code: &str) -> Option<Grant> {
        let grant = lock(&self.grants).codes.remove(code)?;
        (grant.issued.elapsed() < CODE_LIFE).then_some(grant)
    }

    /// A new access token for `person`, good for [`TOKEN_LIFE`].
    pub fn remember_access(&self, person: Person) -> String {
        let token = random();
        let now = Instant::now();
        let mut grants = lock(&self.grants);
        grants.access.retain(|_, (_, until)| *until > now);
        grants
            .access
            .insert(token.clone(), (person, now + TOKEN_LIFE));
        token
    }

    /// The person of a live access token.
    pub fn person_of(&self, token: &str) -> Option<Person> {
        let grants = lock(&self.grants);
        let (person, until) = grants.access.get(token)?;
        (*until > Instant::now()).then(|| person.clone())
    }
}
