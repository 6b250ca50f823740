//! A service's pre-traffic hooks: before a new version of a function
//! takes any traffic, CodeDeploy invokes its hook, which hands that
//! version what it will meet and reports `Failed` if any of it is handled
//! wrongly. The deployment then stops and the alias stays on the old
//! version: no real event or request met the new one.
//!
//! - A consumer is handed the committed example of every event it
//!   consumes, as the bus would deliver it, with fresh ids so idempotency
//!   does not skip it. The examples' user is the producers' example user,
//!   and a user's deletion comes last, so what the hook made is erased
//!   again.
//! - An HTTP API function is sent a request per route it serves, from a
//!   caller who is nobody, and must answer each with a status its contract
//!   (the service's OpenAPI routes) declares. The requests change nothing:
//!   see [`probes`].
//!
//! The pure half (what is sent, the verdict) is here for every build; the
//! half that invokes and reports is behind the `hook` feature, which alone
//! brings the Lambda client.

use events::users::UserDeletedV1;
use events::{Event, EventKey};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http_api::HOOK_API_ID;
use crate::openapi::{Api, Route};

/// The event CodeDeploy invokes a lifecycle hook with.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HookEvent {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
}

/// Each of `consumed`'s examples as EventBridge delivers it to a target,
/// in the order given but a user's deletion last, under ids of its own
/// (`id` stands for both the event's and the envelope's `event_id`).
pub fn deliveries(
    consumed: &[EventKey],
    id: impl Fn() -> String,
    now: &str,
) -> Result<Vec<Value>, String> {
    let mut keys = consumed.to_vec();
    keys.sort_by_key(|k| *k == UserDeletedV1::KEY);
    keys.iter()
        .map(|key| {
            let text = events::examples::example(key)
                .ok_or_else(|| format!("no committed example of {key:?}"))?;
            let mut detail: Value = serde_json::from_str(text)
                .map_err(|e| format!("the example of {key:?} is not JSON: {e}"))?;
            detail["metadata"]["event_id"] = json!(id());
            Ok(json!({
                "version": "0",
                "id": id(),
                "detail-type": key.detail_type,
                "source": key.source,
                "account": "000000000000",
                "time": now,
                "region": "us-east-1",
                "resources": [],
                "detail": detail,
            }))
        })
        .collect()
}

/// One request of an API function's hook: a route as API Gateway hands
/// it over, and the statuses its contract declares.
pub struct Probe {
    pub route_key: &'static str,
    pub declared: Vec<u16>,
    pub event: Value,
}

impl Probe {
    /// What the hook reads of a handler's `response` to this request, as
    /// Lambda hands it back: for tests that hand the probes to a
    /// service's handler directly.
    #[cfg(any(test, feature = "test-support"))]
    pub fn answered(&self, response: crate::http_api::Response) -> Answer {
        Answer {
            what: self.route_key.to_owned(),
            function_error: None,
            payload: serde_json::to_string(&response.into_apigw()).expect("a response serializes"),
            declared: Some(self.declared.clone()),
        }
    }
}

/// Every route of `api` probed as the hook probes it, each request handed
/// to `handle` (a service's handler on a test table) instead of a new
/// version: how many were sent, and the verdict. For service tests.
#[cfg(any(test, feature = "test-support"))]
pub async fn probe_handler(
    api: &Api,
    read_groups: &[&str],
    handle: impl AsyncFn(crate::http_api::Request) -> crate::http_api::Response,
) -> (usize, Result<(), String>) {
    let caller = Nobody {
        sub: "nobody",
        read_groups,
    };
    let id = || uuid::Uuid::now_v7().to_string();
    let probes = probes(api, &api.route_keys(), &caller, id).expect("the API's own routes");
    let mut answers = Vec::new();
    for p in &probes {
        let req = serde_json::from_value(p.event.clone()).expect("a probe is API Gateway's shape");
        answers.push(p.answered(handle(crate::http_api::Request::from_apigw(&req)).await));
    }
    (answers.len(), verdict(&answers))
}

/// Who a hook's requests come from: a user nobody is (a fresh `sub`, no
/// profile, no todo), whose reads are made in `read_groups`, so that an
/// admins-only read reaches its table too, and whose writes in none.
pub struct Nobody<'a> {
    pub sub: &'a str,
    pub read_groups: &'a [&'a str],
}

/// A request per route in `routes` (the function's, as its template lists
/// them) from `caller`. Each path parameter is a fresh id, and a route
/// that takes a body is sent malformed JSON, so no request can change
/// anything: a write is refused (400) before it is parsed, let alone
/// applied; a read finds nothing of the caller's; a public route's caller
/// proves nothing. Each carries [`HOOK_API_ID`], which no caller can. What
/// the answers show is that the new version starts, answers every route
/// as its contract says, and reaches its table wherever a read does.
pub fn probes(
    api: &Api,
    routes: &[&str],
    caller: &Nobody,
    id: impl Fn() -> String,
) -> Result<Vec<Probe>, String> {
    (routes.iter())
        .map(|key| {
            let route = (api.routes().iter())
                .find(|r| r.key() == *key)
                .ok_or_else(|| format!("the API declares no route {key:?}"))?;
            Ok(probe(route, caller, &id))
        })
        .collect()
}

fn probe(route: &Route, caller: &Nobody, id: &impl Fn() -> String) -> Probe {
    let (method, template) = route.key().split_once(' ').unwrap_or(("", route.key()));
    let mut params: Vec<(&str, String)> = Vec::new();
    let path = (template.split('/'))
        .map(|part| {
            let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
                return part.to_owned();
            };
            params.push((name, id()));
            params[params.len() - 1].1.clone()
        })
        .collect::<Vec<_>>()
        .join("/");
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let email = format!("{}@pre-traffic.invalid", caller.sub);
    let groups = match method {
        "GET" => format!("[{}]", caller.read_groups.join(" ")),
        _ => "[]".to_owned(),
    };
    let claims = [
        ("sub", caller.sub),
        ("email", email.as_str()),
        ("cognito:groups", groups.as_str()),
    ];
    let mut event = crate::http_api::apigw_json(
        route.key(),
        &path,
        &params,
        &[],
        (!route.is_public()).then_some(&claims[..]),
        route.takes_body().then_some("{"),
        &id(),
    );
    event["requestContext"]["apiId"] = json!(HOOK_API_ID);
    Probe {
        route_key: route.key(),
        declared: route.statuses(),
        event,
    }
}

/// One invocation's outcome: the function error Lambda reported, if any
/// (`X-Amz-Function-Error`), with the answer's payload.
pub struct Answer {
    /// The event's detail type, or the request's route.
    pub what: String,
    pub function_error: Option<String>,
    pub payload: String,
    /// For a request, the statuses its route declares: any other, or a
    /// 5xx, is handled wrongly.
    pub declared: Option<Vec<u16>>,
}

impl Answer {
    /// Why the answer is wrong, if it is. A request's payload is told only
    /// for an error (its body holds no one's data).
    fn wrong(&self) -> Option<String> {
        if let Some(error) = &self.function_error {
            return Some(format!("{}: {error}: {}", self.what, self.payload));
        }
        let declared = self.declared.as_ref()?;
        let answer: Value = serde_json::from_str(&self.payload).unwrap_or_default();
        let Some(status) = answer["statusCode"].as_u64() else {
            return Some(format!("{}: no statusCode in the answer", self.what));
        };
        let body: Value = (answer["body"].as_str())
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or_default();
        let shown = if status >= 400 {
            body.to_string()
        } else {
            String::new()
        };
        if body["error"]["code"] == "no_route" {
            Some(format!("{}: the version has no such route", self.what))
        } else if status >= 500 || !declared.iter().any(|d| u64::from(*d) == status) {
            Some(format!(
                "{}: answered {status}, where its contract declares {declared:?} {shown}",
                self.what
            ))
        } else {
            None
        }
    }
}

/// The verdict on the answers: `Ok` when every one was handled as it
/// should be, else which were not and why.
pub fn verdict(answers: &[Answer]) -> Result<(), String> {
    let failed: Vec<String> = answers.iter().filter_map(Answer::wrong).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the new version handled {} of {} wrongly: {}",
            failed.len(),
            answers.len(),
            failed.join("; ")
        ))
    }
}

/// What a service's hook binary checks, by the variable its template
/// sets: `CONSUMER_VERSION` hands that version `consumed`'s examples;
/// `API_VERSION` sends it a request per route in `API_ROUTES` (a comma
/// separated list of route keys) of `api`, its reads made in
/// `read_groups` ([`Nobody`]).
pub struct Hooked {
    pub consumed: &'static [EventKey],
    pub api: fn() -> Api,
    pub read_groups: &'static [&'static str],
}

#[cfg(feature = "hook")]
pub use run::serve;

#[cfg(feature = "hook")]
mod run {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use aws_sdk_lambda::primitives::Blob;
    use lambda_runtime::LambdaEvent;
    use serde_json::Value;

    use super::{Answer, HookEvent, Hooked, Nobody, deliveries, probes, verdict};
    use crate::signed::json_protocol::{CODEDEPLOY, JsonApi};

    /// One invocation to make: what it is, its payload, and for a request
    /// the statuses its route declares.
    type Call = (String, Value, Option<Vec<u16>>);

    /// Time kept back from the hook's own timeout to report the verdict:
    /// a hook that ends without one leaves CodeDeploy waiting an hour.
    const TO_REPORT: Duration = Duration::from_secs(5);

    /// The hook's Lambda loop: the version its template names is handed
    /// what `hooked` says, and the deployment told the verdict, whatever
    /// stops the check (a setting missing, the version hanging) included.
    pub async fn serve(
        telemetry: crate::telemetry::Telemetry,
        hooked: Hooked,
    ) -> Result<(), lambda_runtime::Error> {
        let conf = crate::config::aws().await;
        let lambda = aws_sdk_lambda::Client::new(&conf);
        let codedeploy = JsonApi::new(&conf, CODEDEPLOY);
        let (lambda, codedeploy, hooked) = (&lambda, &codedeploy, &hooked);
        telemetry
            .run(move |event: LambdaEvent<HookEvent>| async move {
                let hook = event.payload;
                let left = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
                let left = left.duration_since(SystemTime::now()).unwrap_or_default();
                let check = async {
                    let (version, calls) = planned(hooked)?;
                    check(lambda, &version, calls).await
                };
                let outcome = tokio::time::timeout(left.saturating_sub(TO_REPORT), check)
                    .await
                    .unwrap_or_else(|_| {
                        Err("the new version did not answer in the hook's time".into())
                    });
                let status = match outcome {
                    Ok(()) => "Succeeded",
                    Err(why) => {
                        tracing::warn!(reason = %why, "the new version fails its hook");
                        "Failed"
                    }
                };
                codedeploy
                    .call(
                        "PutLifecycleEventHookExecutionStatus",
                        &serde_json::json!({
                            "deploymentId": hook.deployment_id,
                            "lifecycleEventHookExecutionId": hook.lifecycle_event_hook_execution_id,
                            "status": status,
                        }),
                    )
                    .await?;
                Ok::<_, lambda_runtime::Error>(serde_json::json!({"status": status}))
            })
            .await
    }

    /// The version to check and the calls to make to it, with fresh ids.
    fn planned(hooked: &Hooked) -> Result<(String, Vec<Call>), String> {
        let id = || uuid::Uuid::now_v7().to_string();
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        if let Ok(version) = var("API_VERSION") {
            let routes = var("API_ROUTES")?;
            let keys: Vec<&str> = routes.split(',').map(str::trim).collect();
            let sub = uuid::Uuid::new_v4().to_string();
            let caller = Nobody {
                sub: &sub,
                read_groups: hooked.read_groups,
            };
            let calls = (probes(&(hooked.api)(), &keys, &caller, id)?.into_iter())
                .map(|p| (p.route_key.to_owned(), p.event, Some(p.declared)))
                .collect();
            return Ok((version, calls));
        }
        let version = var("CONSUMER_VERSION")?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let calls = (deliveries(hooked.consumed, id, &now)?.into_iter())
            .map(|e| {
                let what = e["detail-type"].as_str().unwrap_or_default().to_owned();
                (what, e, None)
            })
            .collect();
        Ok((version, calls))
    }

    /// Every call made to `version`, one at a time.
    async fn check(
        lambda: &aws_sdk_lambda::Client,
        version: &str,
        calls: Vec<Call>,
    ) -> Result<(), String> {
        let mut answers = Vec::new();
        for (what, payload, declared) in calls {
            let out = lambda
                .invoke()
                .function_name(version)
                .payload(Blob::new(payload.to_string()))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "invoking {version}: {}",
                        aws_sdk_lambda::error::DisplayErrorContext(e)
                    )
                })?;
            answers.push(Answer {
                what,
                function_error: out.function_error().map(str::to_owned),
                payload: out
                    .payload()
                    .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
                    .unwrap_or_default(),
                declared,
            });
        }
        verdict(&answers)
    }
}

#[cfg(test)]
mod tests {
    use events::campaigns::CampaignDeliveredV1;
    use events::todos::TodoCompletedV1;
    use events::users::UserRegisteredV1;

    use super::*;

    /// `id-1`, `id-2`, ...: ids a test can name, counted in `n`.
    fn counted(n: &std::cell::Cell<u32>) -> String {
        n.set(n.get() + 1);
        format!("id-{}", n.get())
    }

    #[test]
    fn each_consumed_example_is_delivered_under_fresh_ids_and_the_deletion_last() {
        let n = std::cell::Cell::new(0);
        let id = || counted(&n);
        let consumed = [
            UserRegisteredV1::KEY,
            UserDeletedV1::KEY,
            TodoCompletedV1::KEY,
            CampaignDeliveredV1::KEY,
        ];
        let events = deliveries(&consumed, id, "2026-11-27T00:00:00Z").unwrap();
        let types: Vec<&str> = (events.iter())
            .map(|e| e["detail-type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "UserRegistered",
                "TodoCompleted",
                "CampaignDelivered",
                "UserDeleted"
            ]
        );
        assert_eq!(events[0]["detail"]["metadata"]["event_id"], "id-1");
        assert_eq!(events[0]["id"], "id-2");
        assert_eq!(events[1]["source"], "app.todos");
        // Each decodes as a consumer reads it.
        for e in &events {
            let handed: aws_lambda_events::eventbridge::EventBridgeEvent<Value> =
                serde_json::from_value(e.clone()).unwrap();
            assert!(handed.detail["data"].is_object(), "{e}");
        }
    }

    #[test]
    fn one_unhandled_event_fails_the_hook_and_says_which() {
        let answer = |t: &str, error: Option<&str>| Answer {
            what: t.into(),
            function_error: error.map(str::to_owned),
            payload: "{\"errorMessage\":\"no such table\"}".into(),
            declared: None,
        };
        assert_eq!(verdict(&[answer("UserRegistered", None)]), Ok(()));
        let why = verdict(&[
            answer("UserRegistered", None),
            answer("TodoCompleted", Some("Unhandled")),
        ])
        .unwrap_err();
        assert!(
            why.contains("1 of 2")
                && why.contains("TodoCompleted: Unhandled")
                && why.contains("no such table"),
            "{why}"
        );
    }

    fn api() -> Api {
        use crate::openapi::{Route, uuid};
        Api::new("t", "A test API.")
            .route(
                Route::new(
                    "PATCH /things/{id}/parts/{part}",
                    "patchPart",
                    "Change a part",
                )
                .path("id", uuid(), "The thing.")
                .path("part", uuid(), "The part.")
                .body::<Vec<u8>>()
                .empty(204, "Changed.")
                .error(404, "No such part."),
            )
            .route(Route::new("GET /things", "listThings", "The things").empty(200, "A page."))
            .route(
                Route::new("POST /things/hook", "hookThing", "A webhook")
                    .public("No signature.")
                    .empty(202, "Taken."),
            )
    }

    const NOBODY: Nobody = Nobody {
        sub: "nobody",
        read_groups: &["admins"],
    };

    #[test]
    fn each_route_named_gets_one_request_that_can_change_nothing() {
        let n = std::cell::Cell::new(0);
        let id = || counted(&n);
        let routes = [
            "PATCH /things/{id}/parts/{part}",
            "GET /things",
            "POST /things/hook",
        ];
        let probes = probes(&api(), &routes, &NOBODY, id).unwrap();
        assert_eq!(probes.len(), 3);
        let patch = &probes[0].event;
        assert_eq!(patch["rawPath"], "/things/id-1/parts/id-2");
        assert_eq!(
            patch["pathParameters"],
            json!({"id": "id-1", "part": "id-2"})
        );
        assert_eq!(patch["requestContext"]["http"]["method"], "PATCH");
        let claims = &patch["requestContext"]["authorizer"]["jwt"]["claims"];
        assert_eq!(claims["sub"], "nobody");
        // A write is made in no group, a read in the reading groups.
        assert_eq!(claims["cognito:groups"], "[]");
        let claims = &probes[1].event["requestContext"]["authorizer"]["jwt"]["claims"];
        assert_eq!(claims["cognito:groups"], "[admins]");
        // Malformed JSON, which no body type parses: refused before any
        // write (a `[]` parses as a struct whose fields all default).
        assert_eq!(patch["body"], "{");
        assert!(crate::http_api::parse_body::<Vec<u8>>(Some("{")).is_err());
        assert_eq!(probes[0].declared, [204, 400, 413, 404]);
        assert!(probes[1].event.get("body").is_none());
        assert_eq!(probes[1].declared, [200]);
        // A public route is sent no claims: its caller proves nothing.
        assert!(
            probes[2].event["requestContext"]
                .get("authorizer")
                .is_none()
        );
        assert_eq!(probes[2].declared, [202, 401]);
        // Each reads as an API function reads its request, marked as the
        // hook's.
        for p in &probes {
            let req: aws_lambda_events::apigw::ApiGatewayV2httpRequest =
                serde_json::from_value(p.event.clone()).unwrap();
            let req = crate::http_api::Request::from_apigw(&req);
            assert_eq!(req.route_key, p.route_key);
            assert!(req.from_hook);
        }
        let caller =
            crate::http_api::apigw_event("GET /things", "/things", &[], &[], None, None, "c");
        assert!(!crate::http_api::Request::from_apigw(&caller).from_hook);
    }

    #[test]
    fn a_route_the_api_does_not_declare_is_an_error_naming_it() {
        let why = match probes(&api(), &["GET /nothing"], &NOBODY, || "x".into()) {
            Err(why) => why,
            Ok(_) => panic!("an undeclared route was probed"),
        };
        assert!(why.contains("GET /nothing"), "{why}");
    }

    #[test]
    fn a_request_answered_with_an_undeclared_status_or_a_5xx_fails_the_hook() {
        let answer = |status: u16| Answer {
            what: "GET /things".into(),
            function_error: None,
            payload: format!("{{\"statusCode\":{status},\"body\":\"{{}}\"}}"),
            declared: Some(vec![200, 404, 503]),
        };
        assert_eq!(verdict(&[answer(200), answer(404)]), Ok(()));
        for bad in [418, 500, 503] {
            let why = verdict(&[answer(200), answer(bad)]).unwrap_err();
            assert!(
                why.contains("1 of 2") && why.contains(&format!("GET /things: answered {bad}")),
                "{why}"
            );
        }
        let garbled = Answer {
            payload: "not json".into(),
            ..answer(200)
        };
        assert!(verdict(&[garbled]).unwrap_err().contains("no statusCode"));
        // A route the version no longer dispatches is wrong though 404 is
        // declared (a missing todo's answer).
        let dropped = Answer {
            payload: json!({"statusCode": 404, "body": json!({"error": {"code": "no_route", "message": "no route GET /things"}}).to_string()}).to_string(),
            ..answer(200)
        };
        assert!(verdict(&[dropped]).unwrap_err().contains("no such route"));
        // A success's body (someone's data) is not told, an error's is.
        let page = |status: u16| Answer {
            payload: json!({"statusCode": status, "body": "{\"email\":\"a@example.com\"}"})
                .to_string(),
            declared: Some(vec![200]),
            ..answer(200)
        };
        assert!(!verdict(&[page(201)]).unwrap_err().contains("a@example.com"));
        assert!(verdict(&[page(418)]).unwrap_err().contains("a@example.com"));
    }
}
