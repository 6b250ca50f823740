//! Profile rules without I/O.

use chrono::{DateTime, Utc};
use kit::http_api::{Invalid, LINE_PATTERN, check_line};
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

/// Who may list every user (`GET /users`): the pool's admins group, as
/// the ID token's `cognito:groups` names it.
pub const ADMINS: &str = "admins";

/// One page of `GET /users`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPage {
    /// In no particular order (the table's).
    pub items: Vec<ProfileView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A page's cursor: the table key the scan goes on after, hex-encoded, so
/// it is opaque and safe in a query string.
pub fn encode_cursor((pk, sk): &(String, String)) -> String {
    format!("{pk}\n{sk}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A cursor [`encode_cursor`] made, or why not (the field is `cursor`).
pub fn decode_cursor(cursor: &str) -> Result<(String, String), Invalid> {
    let invalid = || Invalid {
        status: 400,
        field: "cursor".into(),
        message: "is not a cursor this API issued".into(),
    };
    if cursor.len() > 1024 || !cursor.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(cursor.get(i..i + 2).ok_or_else(invalid)?, 16).map_err(|_| invalid())
        })
        .collect::<Result<Vec<u8>, _>>()?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (pk, sk) = text.split_once('\n').ok_or_else(invalid)?;
    if !pk.starts_with("USER#") || sk.is_empty() {
        return Err(invalid());
    }
    Ok((pk.to_owned(), sk.to_owned()))
}

/// The services whose `UserDataErased` the person's sign-in waits for
/// (the stack's `ErasureConfirmedBy`, comma-separated).
pub fn confirming_services(list: &str) -> Vec<String> {
    list.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether every service that must confirm an erasure has.
pub fn erasure_complete(confirmed: &[String], required: &[String]) -> bool {
    required.iter().all(|r| confirmed.contains(r))
}

/// Why a sign-up is refused, in words the person signing up reads (the
/// web app shows Cognito's message, which carries this one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("sign-ups from {0} are not accepted: use an address you will keep")]
    RefusedDomain(String),
    #[error("the email address {0:?} has no domain")]
    NoDomain(String),
    #[error("your name must be 1 to {DISPLAY_NAME_MAX} characters on one line")]
    Name,
}

/// What the product refuses before Cognito accepts a sign-up (the
/// PreSignUp trigger): an address at a refused domain (disposable mail,
/// by the stack's `RefusedEmailDomains`), and a name the profile could not
/// hold, since the profile is made from it at confirmation.
pub fn check_sign_up(
    email: &str,
    name: Option<&str>,
    refused_domains: &[String],
) -> Result<(), Refusal> {
    let domain = email
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .ok_or_else(|| Refusal::NoDomain(email.to_owned()))?;
    if refused_domains
        .iter()
        .any(|r| domain == *r || domain.ends_with(&format!(".{r}")))
    {
        return Err(Refusal::RefusedDomain(domain));
    }
    if let Some(name) = name {
        check_line("display_name", name, DISPLAY_NAME_MAX).map_err(|_| Refusal::Name)?;
    }
    Ok(())
}

/// The display name a new profile starts with: the name given at sign-up,
/// else the address's local part (at most [`DISPLAY_NAME_MAX`]
/// characters), which the person renames with `PUT /users/me`.
pub fn first_display_name(name: Option<&str>, email: &str) -> String {
    let valid = name.filter(|n| check_line("display_name", n, DISPLAY_NAME_MAX).is_ok());
    let chosen = valid.unwrap_or_else(|| email.split('@').next().unwrap_or(email));
    let chosen: String = chosen.chars().take(DISPLAY_NAME_MAX).collect();
    if check_line("display_name", &chosen, DISPLAY_NAME_MAX).is_ok() {
        chosen
    } else {
        "new user".to_owned()
    }
}

/// The stack's `RefusedEmailDomains`, as the environment carries it
/// (comma-separated), lower-cased, blanks dropped.
pub fn refused_domains(list: &str) -> Vec<String> {
    list.split(',')
        .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_up_from_a_refused_domain_or_its_subdomains_is_refused() {
        let refused = refused_domains(" Mailinator.com, @trashmail.com ,,");
        assert_eq!(refused, ["mailinator.com", "trashmail.com"]);
        assert_eq!(
            check_sign_up("a@MAILINATOR.com", None, &refused),
            Err(Refusal::RefusedDomain("mailinator.com".into()))
        );
        assert!(check_sign_up("a@eu.trashmail.com", None, &refused).is_err());
        assert!(check_sign_up("a@notmailinator.com", None, &refused).is_ok());
        assert!(check_sign_up("a@example.com", Some("Ada"), &refused).is_ok());
        assert_eq!(
            check_sign_up("nobody", None, &refused),
            Err(Refusal::NoDomain("nobody".into()))
        );
    }

    #[test]
    fn a_name_the_profile_cannot_hold_refuses_the_sign_up() {
        let long = "n".repeat(DISPLAY_NAME_MAX + 1);
        assert_eq!(
            check_sign_up("a@x.io", Some(&long), &[]),
            Err(Refusal::Name)
        );
        assert_eq!(
            check_sign_up("a@x.io", Some("a\nb"), &[]),
            Err(Refusal::Name)
        );
        assert!(
            Refusal::Name.to_string().contains("64"),
            "the message says the limit"
        );
    }

    #[test]
    fn a_first_display_name_is_the_name_given_or_the_local_part() {
        assert_eq!(first_display_name(Some("Ada L."), "ada@x.io"), "Ada L.");
        assert_eq!(
            first_display_name(None, "ada.lovelace@x.io"),
            "ada.lovelace"
        );
        assert_eq!(first_display_name(Some("  "), "ada@x.io"), "ada");
        let long = format!("{}@x.io", "a".repeat(100));
        assert_eq!(
            first_display_name(None, &long).chars().count(),
            DISPLAY_NAME_MAX
        );
        assert_eq!(first_display_name(None, "@x.io"), "new user");
    }

    #[test]
    fn the_sign_in_goes_only_once_every_named_service_confirmed() {
        let required = confirming_services(" todos, notifications,,campaigns ");
        assert_eq!(required, ["todos", "notifications", "campaigns"]);
        let confirmed = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(!erasure_complete(
            &confirmed(&["todos", "campaigns"]),
            &required
        ));
        assert!(erasure_complete(
            &confirmed(&["campaigns", "todos", "notifications", "other"]),
            &required
        ));
        assert!(erasure_complete(&[], &[]), "nobody to wait for");
    }

    #[test]
    fn a_cursor_reads_back_and_a_made_up_one_is_refused_naming_the_field() {
        let key = ("USER#ab-12".to_owned(), "PROFILE".to_owned());
        let cursor = encode_cursor(&key);
        assert!(cursor.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(decode_cursor(&cursor).unwrap(), key);
        for bad in [
            "zz",
            "abc",
            "",
            &encode_cursor(&("ORDER#1".into(), "X".into())),
        ] {
            let refused = decode_cursor(bad).unwrap_err();
            assert_eq!(
                (refused.field.as_str(), refused.status),
                ("cursor", 400),
                "{bad}"
            );
        }
    }

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
