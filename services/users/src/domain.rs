//! Profile rules without I/O.

use chrono::{DateTime, Utc};
use kit::http::{Invalid, LINE_PATTERN, check_line};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::items::Profile;

pub const DISPLAY_NAME_MAX: usize = 64;

/// The body of `PUT /users/me`. The email is not here: it comes from the
/// ID token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    #[schemars(length(min = 1, max = DISPLAY_NAME_MAX), pattern(LINE_PATTERN))]
    pub display_name: String,
}

impl ProfileInput {
    pub fn validate(self) -> Result<Self, Invalid> {
        check_line("display_name", &self.display_name, DISPLAY_NAME_MAX)?;
        Ok(self)
    }
}

/// A profile as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileView {
    /// The identity provider's subject (the token's `sub`).
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The profile after a PUT: a new one, or the old one renamed.
pub fn upsert(
    existing: Option<&Profile>,
    input: ProfileInput,
    user_id: &str,
    email: &str,
    now: DateTime<Utc>,
    correlation_id: &str,
) -> Profile {
    match existing {
        None => Profile::new(user_id, email, &input.display_name, now, correlation_id),
        Some(p) => {
            let mut next = p.clone();
            next.display_name = input.display_name;
            next.email = email.to_owned();
            next.updated_at = now;
            next.correlation_id = correlation_id.to_owned();
            next
        }
    }
}

pub fn view(p: &Profile) -> ProfileView {
    ProfileView {
        id: p.user_id.clone(),
        email: p.email.clone(),
        display_name: p.display_name.clone(),
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_one_to_sixty_four_characters() {
        let ok = |s: &str| {
            ProfileInput {
                display_name: s.into(),
            }
            .validate()
        };
        assert!(ok("Ada").is_ok());
        assert!(ok(&"ü".repeat(64)).is_ok());
        assert_eq!(ok(&"ü".repeat(65)).unwrap_err().field, "display_name");
        assert_eq!(ok("   ").unwrap_err().status, 422);
    }

    #[test]
    fn an_upsert_keeps_the_creation_time() {
        let t0: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let t1: DateTime<Utc> = "2026-11-22T11:00:00Z".parse().unwrap();
        let first = upsert(
            None,
            ProfileInput {
                display_name: "Ada".into(),
            },
            "u",
            "a@x",
            t0,
            "c1",
        );
        let second = upsert(
            Some(&first),
            ProfileInput {
                display_name: "Ada L.".into(),
            },
            "u",
            "a@x",
            t1,
            "c2",
        );
        assert_eq!((second.created_at, second.updated_at), (t0, t1));
        assert_eq!(second.correlation_id, "c2");
    }
}
