//! Sessions STS issues to a caller's own `AssumeRole` (a team's function
//! taking a role of the platform's account), judged as IAM judges them.
//!
//! The call is allowed when the caller's identity policies and the role's
//! trust policy allow `sts:AssumeRole` (both, across accounts), with
//! `sts:ExternalId`, `sts:SourceIdentity`, `sts:RoleSessionName` and the
//! requested tags (`aws:RequestTag/<key>`) as condition keys; setting tags
//! asks `sts:TagSession` too, setting a source identity
//! `sts:SetSourceIdentity`. Once STS answers, its credentials are a
//! session the judge knows: the role's policies, its account, its tags
//! (`aws:PrincipalTag/<key>`) and its expiry, after which every call it
//! signs is refused as AWS refuses an expired token. A role's session
//! that assumes a role chains: an hour at most, and the transitive tags
//! and the source identity pass on.

use std::sync::Arc;
use std::time::SystemTime;

use axum::http::StatusCode;
use devstack_iam::actions::Call;
use devstack_iam::sigv4::{Arrived, Authorization};
use devstack_iam::verdict::judge;

use super::{Judge, Refusal, Session, denial, reads};
use devstack_iam::Mode;

/// A session's tags, key and value.
type Tags = Vec<(String, String)>;

/// What an AssumeRole asks for.
pub(super) struct Asked {
    role_arn: String,
    session_name: String,
    external_id: Option<String>,
    source_identity: Option<String>,
    tags: Tags,
    transitive_keys: Vec<String>,
    duration: Option<u64>,
}

/// A session's length when the call names none (STS's default).
const DEFAULT_SECONDS: u64 = 3600;
/// The longest a chained session lasts, and the shortest any does.
const CHAINED_MAX_SECONDS: u64 = 3600;
const MIN_SECONDS: u64 = 900;

impl Asked {
    /// The AssumeRole `request` (signed for `service`) asks for; none for
    /// any other call.
    pub(super) fn of(service: &str, request: &Arrived<'_>) -> Option<Result<Self, Refusal>> {
        if service != "sts" {
            return None;
        }
        Self::from_form(request.body)
    }

    fn from_form(body: &[u8]) -> Option<Result<Self, Refusal>> {
        let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let value = |name: &str| {
            (form.iter())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if value("Action").as_deref() != Some("AssumeRole") {
            return None;
        }
        let required = |name: &str, field: &str| {
            value(name).ok_or_else(|| {
                invalid(format!(
                    "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
                ))
            })
        };
        let listed = |prefix: &str| -> Vec<String> {
            (1..)
                .map_while(|i| value(&format!("{prefix}.member.{i}")))
                .collect()
        };
        let tags = (1..)
            .map_while(|i| {
                let key = value(&format!("Tags.member.{i}.Key"))?;
                Some((
                    key,
                    value(&format!("Tags.member.{i}.Value")).unwrap_or_default(),
                ))
            })
            .collect();
        let duration = value("DurationSeconds").map(|text| {
            (text.parse::<u64>()).map_err(|_| {
                invalid(format!(
                    "Value '{text}' at 'durationSeconds' is not a number"
                ))
            })
        });
        Some((|| {
            Ok(Self {
                role_arn: required("RoleArn", "roleArn")?,
                session_name: required("RoleSessionName", "roleSessionName")?,
                external_id: value("ExternalId"),
                source_identity: value("SourceIdentity"),
                tags,
                transitive_keys: listed("TransitiveTagKeys"),
                duration: duration.transpose()?,
            })
        })())
    }

    /// How long the session lasts, checked as STS checks it: a role's
    /// session that assumes a role chains, and a chain lasts an hour at
    /// most.
    fn seconds(&self) -> Result<u64, Refusal> {
        let seconds = self.duration.unwrap_or(DEFAULT_SECONDS);
        if seconds < MIN_SECONDS {
            return Err(invalid(format!(
                "1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {MIN_SECONDS}"
            )));
        }
        if seconds > CHAINED_MAX_SECONDS {
            return Err(invalid(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            ));
        }
        Ok(seconds)
    }

    /// The new session's tags and those of them that pass on again: the
    /// ones `inherited` from the calling session's chain, then the call's
    /// own (which win over an inherited key).
    fn chained_tags(&self, inherited: &[(String, String)]) -> (Tags, Tags) {
        let mut tags: Tags = (inherited.iter())
            .filter(|(k, _)| !self.tags.iter().any(|(asked, _)| asked == k))
            .cloned()
            .collect();
        let transitive = (self.tags.iter())
            .filter(|(k, _)| self.transitive_keys.contains(k))
            .chain(tags.iter())
            .cloned()
            .collect();
        tags.extend(self.tags.iter().cloned());
        (tags, transitive)
    }

    fn role_name(&self) -> &str {
        self.role_arn.rsplit('/').next().unwrap_or(&self.role_arn)
    }
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::Coded {
        status: StatusCode::BAD_REQUEST,
        code: "ValidationError",
        message: message.into(),
    }
}

impl Session {
    pub(super) fn expired(&self) -> bool {
        self.expires.is_some_and(|end| end <= SystemTime::now())
    }

    /// `call` as this session makes it: with the source identity it
    /// carries, which every policy may read.
    pub(super) fn with_source_identity(&self, call: &Call) -> Call {
        match &self.source_identity {
            Some(source) => call.clone().with("aws:SourceIdentity", source.clone()),
            None => call.clone(),
        }
    }

    /// The source identity a session chained from this one carries: its
    /// own, which cannot change, else the one the call sets.
    fn source_for(&self, asked: &Asked) -> Result<Option<String>, Refusal> {
        match (&self.source_identity, &asked.source_identity) {
            (Some(had), Some(new)) if had != new => Err(Refusal::Coded {
                status: StatusCode::FORBIDDEN,
                code: "AccessDenied",
                message: format!(
                    "User: {} cannot change the source identity {had} of its session to {new}",
                    self.session_arn
                ),
            }),
            (Some(had), _) => Ok(Some(had.clone())),
            (None, new) => Ok(new.clone()),
        }
    }
}

impl Judge {
    /// The refusal of a call `session` signed for `service` after its
    /// expiry, named in the trail.
    pub(super) fn expired(&self, session: &Session, service: &str) -> Refusal {
        let call = Call::new(format!("{service}:*"), "*");
        let verdict = devstack_iam::verdict::Verdict::refused(format!(
            "ExpiredToken: the session {} has expired",
            session.session_arn
        ));
        self.record(&session.function, session.caller.name(), &call, &verdict);
        Refusal::Expired
    }

    /// Whether `session` may assume the role `asked` names: the calls it
    /// makes, each judged under the role's trust policy.
    pub(super) async fn assume_role(&self, session: &Session, asked: Asked) -> Result<(), Refusal> {
        asked.seconds()?;
        let source = session.source_for(&asked)?;
        let mut call = Call::new("sts:AssumeRole", asked.role_arn.clone())
            .with("sts:RoleSessionName", asked.session_name.clone());
        if let Some(external) = &asked.external_id {
            call = call.with("sts:ExternalId", external.clone());
        }
        if let Some(source) = &source {
            call = call.with("sts:SourceIdentity", source.clone());
        }
        for (key, value) in &asked.tags {
            call = call.with(&format!("aws:RequestTag/{key}"), value.clone());
        }
        let mut wanted = vec![call.clone()];
        if !asked.tags.is_empty() {
            wanted.push(Call {
                action: "sts:TagSession".into(),
                ..call.clone()
            });
        }
        if asked.source_identity.is_some() {
            wanted.push(Call {
                action: "sts:SetSourceIdentity".into(),
                ..call.clone()
            });
        }
        // A role that does not exist trusts nobody: AWS's answer is the
        // same denial.
        let trust = self.trust_of(&asked.role_arn).await.ok();
        for call in wanted {
            let call = session.with_source_identity(&call);
            let verdict = judge(
                &session.caller,
                &session.policies,
                trust.as_deref(),
                &call,
                &session.place,
            );
            self.record(&session.function, session.caller.name(), &call, &verdict);
            if !verdict.allowed && self.mode == Mode::Strict {
                return Err(Refusal::Coded {
                    status: StatusCode::FORBIDDEN,
                    code: "AccessDenied",
                    message: denial(&session.session_arn, &call, &verdict),
                });
            }
        }
        Ok(())
    }

    /// STS answered the AssumeRole in `request_body`, signed with
    /// `authorization`, with `answer`: its credentials are a session the
    /// judge knows from now on, until it expires.
    pub async fn assumed(&self, authorization: &str, request_body: &[u8], answer: &[u8]) {
        if self.mode == Mode::Off {
            return;
        }
        let Some(caller) = (Authorization::parse(authorization).ok())
            .and_then(|auth| self.session_of(&auth.key_id))
        else {
            return;
        };
        let Some(Ok(asked)) = Asked::from_form(request_body) else {
            return;
        };
        if let Err(e) = self.open_assumed(&caller, &asked, answer).await {
            tracing::warn!(target: "trail", function = %caller.function, role = %asked.role_arn,
                "iam: the session STS issued is not known to the judge: {e:#}");
        }
    }

    async fn open_assumed(
        &self,
        caller: &Session,
        asked: &Asked,
        answer: &[u8],
    ) -> anyhow::Result<()> {
        let credentials = reads::credentials_in(&String::from_utf8_lossy(answer))?;
        let role = asked.role_name();
        // The role's policies change only with a deploy: read once per deploy.
        let policies = (self.policies_of(&asked.role_arn).await)
            .map_err(anyhow::Error::msg)?
            .as_ref()
            .clone();
        let (tags, transitive) = asked.chained_tags(&caller.transitive);
        let seconds = asked.seconds().unwrap_or(DEFAULT_SECONDS);
        let lasts = self.session_minute.mul_f64(seconds as f64 / 60.0);
        let who = format!("{} as {role}", caller.function);
        let place = self.place_of(&asked.role_arn);
        let (arn, name) = (&asked.role_arn, &asked.session_name);
        let session = Arc::new(Session {
            expires: Some(SystemTime::now() + lasts),
            source_identity: caller.source_for(asked).ok().flatten(),
            transitive,
            ..Session::of_role(&who, arn, name, tags, place, &credentials, policies)
        });
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(credentials.key_id, session);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(form: &str) -> Result<Asked, Refusal> {
        Asked::from_form(form.as_bytes()).expect("an AssumeRole")
    }

    #[test]
    fn another_call_is_not_an_assume_role() {
        assert!(Asked::from_form(b"Action=GetCallerIdentity&Version=2011-06-15").is_none());
    }

    #[test]
    fn the_form_gives_the_role_the_tags_and_the_transitive_keys() {
        let a = asked(
            "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=s\
             &ExternalId=x&Tags.member.1.Key=team&Tags.member.1.Value=campaigns\
             &Tags.member.2.Key=cost&Tags.member.2.Value=7&TransitiveTagKeys.member.1=team",
        )
        .unwrap_or_else(|_| panic!("parsed"));
        assert_eq!(a.role_name(), "r");
        assert_eq!(a.external_id.as_deref(), Some("x"));
        assert_eq!(a.tags.len(), 2);
        assert_eq!(a.transitive_keys, ["team"]);
    }

    #[test]
    fn a_chained_session_keeps_the_transitive_tags_and_passes_on_only_those() {
        let a = asked(
            "Action=AssumeRole&RoleArn=a&RoleSessionName=s\
             &Tags.member.1.Key=stage&Tags.member.1.Value=prod\
             &Tags.member.2.Key=cost&Tags.member.2.Value=7&TransitiveTagKeys.member.1=stage",
        )
        .unwrap_or_else(|_| panic!("parsed"));
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let inherited = [pair("team", "campaigns"), pair("stage", "dev")];
        let (tags, transitive) = a.chained_tags(&inherited);
        assert_eq!(
            tags,
            [
                pair("team", "campaigns"),
                pair("stage", "prod"),
                pair("cost", "7")
            ]
        );
        assert_eq!(
            transitive,
            [pair("stage", "prod"), pair("team", "campaigns")]
        );
    }

    #[test]
    fn a_missing_role_and_a_chain_over_an_hour_are_sts_validation_errors() {
        let missing = asked("Action=AssumeRole&RoleSessionName=s");
        assert!(
            matches!(missing, Err(Refusal::Coded { code: "ValidationError", message, .. })
            if message.contains("'roleArn'"))
        );
        let long = asked("Action=AssumeRole&RoleArn=a&RoleSessionName=s&DurationSeconds=7200")
            .unwrap_or_else(|_| panic!("parsed"));
        assert!(matches!(long.seconds(), Err(Refusal::Coded { message, .. })
            if message.contains("role chaining")));
        let short = asked("Action=AssumeRole&RoleArn=a&RoleSessionName=s&DurationSeconds=60")
            .unwrap_or_else(|_| panic!("parsed"));
        assert!(short.seconds().is_err());
    }
}
