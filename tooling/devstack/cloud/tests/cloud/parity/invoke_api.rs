//! The Lambda API's answers, through the real SDK, against AWS's API
//! reference.

use serde_json::Value;

use super::compare::*;
use super::handed::*;

pub(super) async fn lambda() -> aws_sdk_lambda::Client {
    let endpoint = cloud().endpoints.lambda_endpoint.as_str().to_owned();
    aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&sdk().await)
            .endpoint_url(endpoint)
            .build(),
    )
}

pub(super) fn physical(service: &str, logical: &str) -> String {
    cloud().endpoints.services[service].functions[logical].clone()
}

pub(super) const NOT_FOUND: Shape = Shape {
    name: "Lambda error (ResourceNotFoundException)",
    fixture: "lambda-error-not-found.json",
    at: "",
    rules: Rules {
        maps: &[],
        opaque: &[],
    },
    allowed: &[],
};

pub(super) const FUNCTION_ERROR: Shape = Shape {
    name: "Invoke function error payload",
    fixture: "lambda-invoke-function-error.json",
    at: "",
    rules: Rules {
        maps: &[],
        opaque: &[],
    },
    allowed: &[],
};

#[tokio::test(flavor = "multi_thread")]
pub(super) async fn the_invoke_api_answers_as_aws_does_through_the_sdk() {
    use aws_sdk_lambda::operation::RequestId;
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::InvocationType;
    let client = lambda().await;
    let api = physical("notifications", "ApiFunction");
    let event = kit::http_api::apigw_event(
        "GET /notifications",
        "/notifications",
        &[],
        &[],
        Some(&[("sub", "nobody")]),
        None,
        TEST_MADE,
    );
    let event = Blob::new(serde_json::to_vec(&event).unwrap());

    // Sync: 200, the version executed, the function's answer.
    let out = client
        .invoke()
        .function_name(&api)
        .payload(event.clone())
        .send()
        .await
        .expect("a sync invoke");
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.executed_version(), Some("$LATEST"));
    assert_eq!(out.function_error(), None);
    assert!(out.request_id().is_some(), "no x-amzn-requestid");
    let answer: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(answer["statusCode"], 200);

    // Qualified: the alias and a version say the version that ran,
    // `$LATEST` says itself, and a version that does not run is not found.
    for (qualifier, executed) in [
        ("live", Some("1")),
        ("1", Some("1")),
        ("$LATEST", Some("$LATEST")),
    ] {
        let out = client
            .invoke()
            .function_name(&api)
            .qualifier(qualifier)
            .payload(event.clone())
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{qualifier}: {}",
                    aws_sdk_lambda::error::DisplayErrorContext(e)
                )
            });
        assert_eq!((qualifier, out.executed_version()), (qualifier, executed));
    }
    let missing = client
        .invoke()
        .function_name(format!("{api}:7"))
        .payload(event.clone())
        .send()
        .await
        .expect_err("no version 7");
    assert!(
        missing
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{}",
        aws_sdk_lambda::error::DisplayErrorContext(missing)
    );

    // A function error: still 200, with X-Amz-Function-Error and the
    // runtime's error object as the payload.
    let mut bad: Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo::root().join("events/examples/app.users/UserDeleted/v1/example.json"),
        )
        .unwrap(),
    )
    .unwrap();
    bad["data"].as_object_mut().unwrap().remove("user_id");
    bad["metadata"]["correlation_id"] = Value::from(TEST_MADE);
    let key = events::EventKey {
        source: events::users::SOURCE,
        detail_type: "UserDeleted",
        version: 1,
    };
    let bad = serde_json::to_vec(&devstack_testkit::delivered::delivered(&key, bad)).unwrap();
    let failed = client
        .invoke()
        .function_name(physical("todos", "OnUserDeletedFunction"))
        .payload(Blob::new(bad))
        .send()
        .await
        .expect("a function error is not an SDK error");
    assert_eq!(failed.status_code(), 200);
    assert_eq!(failed.function_error(), Some("Unhandled"));
    assert_eq!(failed.executed_version(), Some("$LATEST"));
    let error: Value = serde_json::from_slice(failed.payload().unwrap().as_ref()).unwrap();
    let (kind, message) = (
        error["errorType"].as_str().unwrap(),
        error["errorMessage"].as_str().unwrap(),
    );
    assert!(
        !message.starts_with(&format!("{kind}:")),
        "the message repeats the type: {error}"
    );

    // Async: 202 and no payload; DryRun: 204.
    let queued = client
        .invoke()
        .function_name(&api)
        .invocation_type(InvocationType::Event)
        .payload(event.clone())
        .send()
        .await
        .expect("an async invoke");
    assert_eq!(queued.status_code(), 202);
    assert!(queued.payload().is_none_or(|p| p.as_ref().is_empty()));
    let dry = client
        .invoke()
        .function_name(&api)
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .expect("a dry run");
    assert_eq!(dry.status_code(), 204);

    // Unknown: the SDK's own ResourceNotFoundException, naming the ARN.
    let err = client
        .invoke()
        .function_name("nope")
        .send()
        .await
        .expect_err("an unknown function")
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::message(&err),
        Some("Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope")
    );

    // The raw answers' JSON against AWS's.
    let endpoint = cloud().endpoints.lambda_endpoint.as_str();
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{endpoint}/2015-03-31/functions/nope/invocations"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.headers()["x-amzn-errortype"],
        "ResourceNotFoundException"
    );
    let not_found: Value = res.json().await.unwrap();
    conclude(vec![
        NOT_FOUND.check(&[not_found]),
        FUNCTION_ERROR.check(&[error]),
    ]);
}

/// The `FunctionConfiguration` keys the API reference lists that AWS
/// sends only for a feature our functions do not use, under `$at`.
macro_rules! unused_features {
    ($at:literal) => {
        &[
            (
                concat!($at, "VpcConfig: in AWS only"),
                Why::Optional("a function in a VPC only"),
            ),
            (
                concat!($at, "KMSKeyArn: in AWS only"),
                Why::Optional("a customer-managed key only"),
            ),
            (
                concat!($at, "MasterArn: in AWS only"),
                Why::Optional("a Lambda@Edge replica only"),
            ),
            (
                concat!($at, "Layers: in AWS only"),
                Why::Optional("a function with layers only"),
            ),
            (
                concat!($at, "FileSystemConfigs: in AWS only"),
                Why::Optional("EFS only"),
            ),
            (
                concat!($at, "ImageConfigResponse: in AWS only"),
                Why::Optional("a container image only"),
            ),
            (
                concat!($at, "SigningJobArn: in AWS only"),
                Why::Optional("code signing only"),
            ),
            (
                concat!($at, "SigningProfileVersionArn: in AWS only"),
                Why::Optional("code signing only"),
            ),
            (
                concat!($at, "StateReason: in AWS only"),
                Why::Optional("a function not Active only"),
            ),
            (
                concat!($at, "StateReasonCode: in AWS only"),
                Why::Optional("a function not Active only"),
            ),
            (
                concat!($at, "LastUpdateStatusReason: in AWS only"),
                Why::Optional("an update in progress or failed only"),
            ),
            (
                concat!($at, "LastUpdateStatusReasonCode: in AWS only"),
                Why::Optional("an update in progress or failed only"),
            ),
            (
                concat!($at, "Environment.Error: in AWS only"),
                Why::Optional("variables that cannot be decrypted only"),
            ),
            (
                concat!($at, "LoggingConfig.ApplicationLogLevel: in AWS only"),
                Why::Optional("the JSON log format only; ours is Text"),
            ),
            (
                concat!($at, "LoggingConfig.SystemLogLevel: in AWS only"),
                Why::Optional("the JSON log format only; ours is Text"),
            ),
            (
                concat!($at, "RuntimeVersionConfig: in AWS only"),
                Why::Local(
                    "the binary runs on this machine, under no managed runtime version to name",
                ),
            ),
        ]
    };
}

pub(super) const GET_FUNCTION: Shape = Shape {
    name: "GetFunction",
    fixture: "lambda-get-function.json",
    at: "",
    rules: Rules {
        maps: &["Configuration.Environment.Variables", "Tags"],
        opaque: &[],
    },
    allowed: &[
        unused_features!("Configuration."),
        &[
            (
                "Code.ImageUri: in AWS only",
                Why::Optional("a container image only"),
            ),
            (
                "Code.ResolvedImageUri: in AWS only",
                Why::Optional("a container image only"),
            ),
            (
                "Code.SourceKMSKeyArn: in AWS only",
                Why::Optional("a package encrypted with a customer-managed key only"),
            ),
            (
                "Concurrency: in AWS only",
                Why::Optional("reserved concurrency only"),
            ),
            (
                "TagsError: in AWS only",
                Why::Optional("tags that could not be read only"),
            ),
        ],
    ],
};

pub(super) const LIST_FUNCTIONS: Shape = Shape {
    name: "ListFunctions",
    fixture: "lambda-list-functions.json",
    at: "",
    rules: Rules {
        maps: &["Functions[].Environment.Variables"],
        opaque: &[],
    },
    allowed: &[
        unused_features!("Functions[]."),
        // The first page's function is the notifications API's, which has
        // no dead-letter queue.
        &[(
            "Functions[].DeadLetterConfig: in AWS only",
            Why::Optional("a function with a dead-letter queue only"),
        )],
    ],
};

#[tokio::test(flavor = "multi_thread")]
pub(super) async fn list_functions_and_get_function_answer_as_aws_does_through_the_sdk() {
    use aws_sdk_lambda::types::{
        Architecture, LastUpdateStatus, PackageType, Runtime, State, TracingMode,
    };
    let client = lambda().await;
    let e = &cloud().endpoints;
    let mut expected: Vec<String> = e
        .services
        .values()
        .flat_map(|s| s.functions.values().cloned())
        .collect();
    expected.sort();

    // Paged by the SDK's own paginator, following NextMarker.
    let pages: Vec<_> = client
        .list_functions()
        .max_items(5)
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("ListFunctions pages");
    assert_eq!(pages.len(), expected.len().div_ceil(5));
    assert!(pages[0].next_marker().is_some());
    assert!(pages.last().unwrap().next_marker().is_none());
    let listed: Vec<_> = pages.iter().flat_map(|p| p.functions()).collect();
    let names: Vec<String> = listed
        .iter()
        .map(|f| f.function_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, expected);
    for f in &listed {
        let name = f.function_name().unwrap();
        assert_eq!(f.runtime(), Some(&Runtime::Providedal2023), "{name}");
        // The template's Handler: which function of its service's one
        // binary it runs (a hook runs `pre-traffic`).
        let handler = f.handler().unwrap_or_default();
        if name.starts_with("CodeDeployHook_") {
            assert_eq!(handler, "pre-traffic", "{name}");
        } else {
            assert!(
                !handler.is_empty() && handler.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{name}: {handler}"
            );
        }
        // The templates' values, which the emulator's record loses.
        assert_eq!(f.architectures(), [Architecture::Arm64], "{name}");
        assert_eq!(
            f.tracing_config().and_then(|t| t.mode()),
            Some(&TracingMode::Active),
            "{name}"
        );
        assert_eq!(f.state(), Some(&State::Active), "{name}");
        assert_eq!(
            f.last_update_status(),
            Some(&LastUpdateStatus::Successful),
            "{name}"
        );
        assert_eq!(f.package_type(), Some(&PackageType::Zip), "{name}");
        assert_eq!(f.version(), Some("$LATEST"), "{name}");
        assert_eq!(f.memory_size(), Some(128), "{name}");
        assert!(f.timeout().is_some_and(|t| t > 0), "{name}");
        assert!(f.code_size() > 0, "{name}: the binary's size");
        assert!(f.role().unwrap().starts_with("arn:aws:iam::"), "{name}");
        chrono::DateTime::parse_from_str(f.last_modified().unwrap(), "%Y-%m-%dT%H:%M:%S%.3f%z")
            .unwrap_or_else(|err| panic!("{name}: LastModified {:?}: {err}", f.last_modified()));
        let vars = f.environment().and_then(|v| v.variables()).unwrap();
        assert!(vars.contains_key("TABLE_NAME"), "{name}: {vars:?}");
        assert!(
            !vars.contains_key("AWS_ENDPOINT_URL"),
            "{name}: the local plumbing is not the function's configuration"
        );
    }

    // By name, ARN, ARN with $LATEST and <stack>/<LogicalId>, all the same.
    let name = physical("todos", "OnUserDeletedFunction");
    let account = &cloud().endpoints.services["todos"].account;
    let arn = format!("arn:aws:lambda:us-east-1:{account}:function:{name}");
    for id in [
        name.clone(),
        arn.clone(),
        format!("{arn}:$LATEST"),
        "todos/OnUserDeletedFunction".to_owned(),
    ] {
        let got = client
            .get_function()
            .function_name(&id)
            .send()
            .await
            .unwrap_or_else(|err| panic!("GetFunction {id}: {err:?}"));
        let c = got.configuration().unwrap();
        assert_eq!(c.function_name(), Some(name.as_str()), "{id}");
        assert_eq!(c.function_arn(), Some(arn.as_str()), "{id}");
        assert_eq!(
            c.dead_letter_config().and_then(|d| d.target_arn()),
            Some(e.services["todos"].dlq_topic_arn.as_str()),
            "{id}"
        );
        let code = got.code().unwrap();
        assert_eq!(code.repository_type(), Some("S3"));
        // The service's one binary, which its Handler picks the function of.
        assert!(
            code.location().unwrap().ends_with("/todos"),
            "{:?}",
            code.location()
        );
        let tags = got.tags().unwrap();
        assert_eq!(tags["service"], "todos");
        assert_eq!(
            tags["aws:cloudformation:logical-id"],
            "OnUserDeletedFunction"
        );
        assert_eq!(tags["lambda:createdBy"], "SAM");
    }
    for unknown in ["nope".to_owned(), format!("{name}:1")] {
        let err = client
            .get_function()
            .function_name(&unknown)
            .send()
            .await
            .expect_err("an unknown function or version")
            .into_service_error();
        assert!(err.is_resource_not_found_exception(), "{unknown}: {err:?}");
    }

    // The raw JSON against AWS's API reference.
    let endpoint = e.lambda_endpoint.as_str();
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        async move {
            let res = http.get(format!("{endpoint}{path}")).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, one) = get(format!("/2015-03-31/functions/{name}")).await;
    assert_eq!(status, 200);
    let (status, page) = get("/2015-03-31/functions?MaxItems=1".into()).await;
    assert_eq!(status, 200, "without the trailing slash too");
    let (status, _) = get("/2015-03-31/functions/?MaxItems=0".into()).await;
    assert_eq!(status, 400, "MaxItems below 1");
    conclude(vec![
        GET_FUNCTION.check(&[one]),
        LIST_FUNCTIONS.check(&[page]),
    ]);
}
