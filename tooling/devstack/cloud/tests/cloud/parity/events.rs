//! Every event a function is handed, against AWS's example of its kind.

use devstack_client::walkthrough::journey;

use devstack_testkit::cloud::unique_email;

use super::compare::*;
use super::handed::*;

pub(super) const HTTP: Shape = Shape {
    name: "HTTP API payload 2.0 (JWT authorizer)",
    fixture: "example-apigw-v2-request-jwt-authorizer.json",
    at: "",
    rules: Rules {
        maps: &[
            "headers",
            "queryStringParameters",
            "pathParameters",
            "stageVariables",
            "requestContext.authorizer.jwt.claims",
        ],
        opaque: &[],
    },
    allowed: &[&[
        (
            "body: in AWS only",
            Why::Optional("only when the request has a body (GETs here)"),
        ),
        (
            "cookies: in AWS only",
            Why::Optional("only when the request has cookies; the app sends bearer tokens"),
        ),
        (
            "pathParameters: in AWS only",
            Why::Optional("only on a route with parameters"),
        ),
        (
            "queryStringParameters: in AWS only",
            Why::Optional("only when there is a query string"),
        ),
        (
            "stageVariables: in AWS only",
            Why::Optional("only when the stage has variables; ours have none"),
        ),
        (
            "requestContext.authentication: in AWS only",
            Why::Optional("mutual TLS only"),
        ),
        (
            "requestContext.authorizer.jwt.scopes: type AWS array, local null",
            Why::Optional(
                "a Cognito ID token has no scope claim and AWS then sends `\"scopes\": null` \
                 (aws/aws-lambda-go#317: \"with a stock Cognito JWT authorizer, I started receiving \
                 scopes: null\"); the example's token has scopes",
            ),
        ),
    ]],
};

pub(super) const DYNAMODB: Shape = Shape {
    name: "DynamoDB stream batch",
    fixture: "example-dynamodb-event.json",
    at: "",
    rules: Rules {
        maps: &[
            "Records[].dynamodb.Keys",
            "Records[].dynamodb.NewImage",
            "Records[].dynamodb.OldImage",
        ],
        opaque: &[],
    },
    allowed: &[&[
        // The example holds INSERTs only; AWS sends OldImage on MODIFY and
        // REMOVE, and no NewImage on REMOVE, as the local cloud does.
        (
            "Records[].dynamodb.OldImage: in local only",
            Why::Optional("OldImage is on MODIFY and REMOVE records, which the example lacks"),
        ),
        (
            "Records[].dynamodb.NewImage: in AWS only",
            Why::Optional("a REMOVE record has no NewImage"),
        ),
        (
            "Records[].userIdentity: in AWS only",
            Why::Optional("AWS sends userIdentity only on a TTL deletion"),
        ),
    ]],
};

pub(super) const S3: Shape = Shape {
    name: "S3 ObjectCreated",
    fixture: "example-s3-event.json",
    at: "",
    rules: Rules {
        maps: &["Records[].responseElements"],
        opaque: &[],
    },
    allowed: &[&[(
        "Records[].s3.object.versionId: in AWS only",
        Why::Optional("S3 sends versionId only from a versioned bucket; ours is not"),
    )]],
};

pub(super) const EVENTBRIDGE: Shape = Shape {
    name: "EventBridge rule target",
    fixture: "example-eventbridge-event-obj.json",
    at: "",
    rules: Rules {
        maps: &[],
        opaque: &["detail"],
    },
    allowed: &[&[(
        "version: in local only",
        Why::Fixture(
            "AWS sends \"version\": \"0\" on every event (EventBridge User Guide, \"Amazon \
             EventBridge events\"); this example leaves it out",
        ),
    )]],
};

pub(super) const SNS_ASYNC: Shape = Shape {
    name: "SNS envelope in SQS (async dead letter)",
    fixture: "example-sns-event.json",
    at: "Records[0].Sns",
    rules: Rules {
        maps: &["MessageAttributes"],
        opaque: &[],
    },
    allowed: &[&[
        (
            "Subject: in AWS only",
            Why::Optional("only when the message was published with a subject"),
        ),
        (
            "MessageAttributes: in local only",
            Why::Fixture(
                "SNS puts MessageAttributes in an SQS subscriber's envelope when the message has \
                 any, and a dead letter has three (RequestID, ErrorCode, ErrorMessage); the \
                 example was published without",
            ),
        ),
    ]],
};

pub(super) const SNS_ON_FAILURE: Shape = Shape {
    name: "SNS envelope in SQS (stream OnFailure)",
    fixture: "example-sns-event.json",
    at: "Records[0].Sns",
    rules: Rules {
        maps: &["MessageAttributes"],
        opaque: &[],
    },
    // Published without attributes, as Lambda publishes OnFailure records.
    allowed: &[&[(
        "Subject: in AWS only",
        Why::Optional("only when the message was published with a subject"),
    )]],
};

/// The authorizer example carries a serialised `lambda_runtime::Context`
/// beside the event; API Gateway sends none of it.
pub(super) const NOT_API_GATEWAYS: Why = Why::Fixture(
    "not API Gateway's: the example has a serialised Lambda context (and a version) beside the \
     event; AWS's REQUEST authorizer input for a WebSocket API is type, methodArn, headers, \
     multiValueHeaders, queryStringParameters, multiValueQueryStringParameters, stageVariables \
     and requestContext (API Gateway Developer Guide, \"Lambda authorizer input\")",
);

pub(super) const WS_AUTHORIZER: Shape = Shape {
    name: "WebSocket $connect REQUEST authorizer",
    fixture: "example-apigw-v2-custom-authorizer-websocket-request.json",
    at: "",
    rules: Rules {
        maps: &[
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "stageVariables",
        ],
        opaque: &[],
    },
    allowed: &[&[
        ("client_context: in AWS only", NOT_API_GATEWAYS),
        ("context: in AWS only", NOT_API_GATEWAYS),
        ("deadline: in AWS only", NOT_API_GATEWAYS),
        ("env_config: in AWS only", NOT_API_GATEWAYS),
        ("identity: in AWS only", NOT_API_GATEWAYS),
        ("invoked_function_arn: in AWS only", NOT_API_GATEWAYS),
        ("log_group: in AWS only", NOT_API_GATEWAYS),
        ("log_stream: in AWS only", NOT_API_GATEWAYS),
        ("memory: in AWS only", NOT_API_GATEWAYS),
        ("version: in AWS only", NOT_API_GATEWAYS),
        ("xray_trace_id: in AWS only", NOT_API_GATEWAYS),
    ]],
};

/// The WebSocket example mixes a REST API proxy event into a WebSocket
/// one. Its REST parts are no WebSocket event's: AWS's own captured
/// WebSocket events (the crate's "without-method" and "disconnect-route"
/// examples) have none of them.
pub(super) const REST_ONLY: Why = Why::Fixture(
    "a REST API proxy field the example mixes in; no WebSocket event has it (see the crate's \
     captured $connect and $disconnect examples)",
);

/// Each WebSocket event against the mixed example.
pub(super) const NOT_WEBSOCKET: Allowances = &[
    ("httpMethod: in AWS only", REST_ONLY),
    ("path: in AWS only", REST_ONLY),
    ("pathParameters: in AWS only", REST_ONLY),
    ("resource: in AWS only", REST_ONLY),
    ("requestContext.accountId: in AWS only", REST_ONLY),
    ("requestContext.error: in AWS only", REST_ONLY),
    ("requestContext.httpMethod: in AWS only", REST_ONLY),
    ("requestContext.integrationLatency: in AWS only", REST_ONLY),
    ("requestContext.resourceId: in AWS only", REST_ONLY),
    ("requestContext.resourcePath: in AWS only", REST_ONLY),
    ("requestContext.status: in AWS only", REST_ONLY),
    ("requestContext.identity.accessKey: in AWS only", REST_ONLY),
    ("requestContext.identity.accountId: in AWS only", REST_ONLY),
    ("requestContext.identity.caller: in AWS only", REST_ONLY),
    (
        "requestContext.identity.cognitoAuthenticationProvider: in AWS only",
        REST_ONLY,
    ),
    (
        "requestContext.identity.cognitoAuthenticationType: in AWS only",
        REST_ONLY,
    ),
    (
        "requestContext.identity.cognitoIdentityId: in AWS only",
        REST_ONLY,
    ),
    (
        "requestContext.identity.cognitoIdentityPoolId: in AWS only",
        REST_ONLY,
    ),
    ("requestContext.identity.user: in AWS only", REST_ONLY),
    ("requestContext.identity.userArn: in AWS only", REST_ONLY),
    (
        "requestContext.identity.apiKey: in AWS only",
        Why::Optional("only on a route that requires an API key; ours do not"),
    ),
    (
        "requestContext.identity.apiKeyId: in AWS only",
        Why::Optional("only on a route that requires an API key; ours do not"),
    ),
    (
        "stageVariables: in AWS only",
        Why::Optional("only when the stage has variables; ours has none"),
    ),
    (
        "isBase64Encoded: in local only",
        Why::Fixture("AWS sends it on every WebSocket event (its captured examples have it)"),
    ),
];

pub(super) const WEBSOCKET_MAPS: &[&str] = &[
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    // The authorizer's context: principalId and what the policy's
    // context said, as strings, numbers and booleans.
    "requestContext.authorizer",
];

pub(super) const WS_CONNECT: Shape = Shape {
    name: "WebSocket $connect",
    fixture: "example-apigw-websocket-request.json",
    at: "",
    rules: Rules {
        maps: WEBSOCKET_MAPS,
        opaque: &[],
    },
    allowed: &[
        NOT_WEBSOCKET,
        &[
            ("body: in AWS only", Why::Optional("a $connect has no body")),
            (
                "requestContext.messageId: in AWS only",
                Why::Optional(
                    "a $connect carries no message; AWS's captured $connect has no messageId",
                ),
            ),
        ],
    ],
};

pub(super) const WS_MESSAGE: Shape = Shape {
    name: "WebSocket MESSAGE",
    fixture: "example-apigw-websocket-request.json",
    at: "",
    rules: Rules {
        maps: WEBSOCKET_MAPS,
        opaque: &[],
    },
    allowed: &[
        NOT_WEBSOCKET,
        &[
            ("headers: in AWS only", CONNECT_ONLY),
            ("multiValueHeaders: in AWS only", CONNECT_ONLY),
            ("queryStringParameters: in AWS only", CONNECT_ONLY),
            ("multiValueQueryStringParameters: in AWS only", CONNECT_ONLY),
            (
                "requestContext.messageId: type AWS null, local string",
                Why::Fixture(
                    "the example is a $connect, which has no message; a MESSAGE has its id",
                ),
            ),
        ],
    ],
};

pub(super) const CONNECT_ONLY: Why = Why::Optional(
    "headers and the query string come with $connect only (API Gateway Developer Guide, \
     \"WebSocket API\" routes); the example is a $connect",
);

pub(super) const WS_DISCONNECT: Shape = Shape {
    name: "WebSocket $disconnect",
    fixture: "example-apigw-websocket-request-disconnect-route.json",
    at: "",
    rules: Rules {
        maps: WEBSOCKET_MAPS,
        opaque: &[],
    },
    allowed: &[&[
        (
            "headers: in AWS only",
            Why::Known(
                "AWS's $disconnect carries headers (Host, X-Forwarded-For, …; the example is a \
                 capture); the local one has none; fix: tooling/devstack/gateway/src/websocket/messages.rs `run`",
            ),
        ),
        (
            "multiValueHeaders: in AWS only",
            Why::Known("as headers; fix: tooling/devstack/gateway/src/websocket/messages.rs `run`"),
        ),
        (
            "requestContext.identity.userAgent: in local only",
            Why::Known(
                "AWS's captured $disconnect identity has only sourceIp; the local one repeats \
                 the $connect's userAgent; fix: tooling/devstack/gateway/src/websocket/api.rs `request_context`",
            ),
        ),
        (
            "requestContext.authorizer: in local only",
            Why::Fixture(
                "the example's API has no authorizer; an authorized connection's events all \
                 carry the authorizer's context",
            ),
        ),
    ]],
};

/// The Runtime API's `/next` headers AWS always sends (the API reference,
/// "Next invocation"); the client-context and Cognito identity headers come
/// only with a mobile SDK's invocation.
pub(super) const NEXT_HEADERS: [&str; 4] = [
    "lambda-runtime-aws-request-id",
    "lambda-runtime-deadline-ms",
    "lambda-runtime-invoked-function-arn",
    "lambda-runtime-trace-id",
];

#[tokio::test(flavor = "multi_thread")]
pub(super) async fn every_event_a_function_is_handed_has_the_shape_aws_gives_it() {
    let e = &cloud().endpoints;
    let email = unique_email("parity");
    // Sign-up, profile, todos, a presigned upload, a completion: HTTP
    // events, stream batches, an S3 notification and rule targets.
    journey(e, &email, |_| {}).await.unwrap();
    socket_traffic(&email).await;
    let async_letter = async_failure().await;
    let on_failure_letter = stream_failure().await;

    let http = handed(
        &[
            "users/ApiFunction",
            "todos/ApiFunction",
            "notifications/ApiFunction",
        ],
        |_| true,
    );
    let streams = handed(
        &[
            "users/PublisherFunction",
            "todos/PublisherFunction",
            "notifications/PublisherFunction",
            "notifications/DelivererFunction",
        ],
        |_| true,
    );
    let uploads = handed(&["todos/AttachmentCheckFunction"], |_| true);
    let rules = handed(
        &[
            "notifications/ConsumerFunction",
            "todos/OnUserDeletedFunction",
        ],
        |_| true,
    );
    let authorizer = handed(&["notifications/AuthorizerFunction"], |_| true);
    let socket = |t: &'static str| {
        handed(&["notifications/SocketFunction"], move |e| {
            e["requestContext"]["eventType"] == t
        })
    };

    let mut verdicts = vec![
        HTTP.check(&http),
        DYNAMODB.check(&streams),
        S3.check(&uploads),
        EVENTBRIDGE.check(&rules),
        WS_AUTHORIZER.check(&authorizer),
        WS_CONNECT.check(&socket("CONNECT")),
        WS_MESSAGE.check(&socket("MESSAGE")),
        WS_DISCONNECT.check(&socket("DISCONNECT")),
        SNS_ASYNC.check(std::slice::from_ref(&async_letter)),
        SNS_ON_FAILURE.check(&[on_failure_letter]),
    ];
    // The same envelope against the pascal-case example, once its names
    // are mapped the way an SQS body spells them.
    let pascal = sqs_names(at(
        &fixture("example-sns-event-pascal-case.json"),
        "Records[0].Sns",
    ));
    verdicts.push(SNS_ASYNC.check_against(&pascal, &[async_letter]));

    // Every event came with the Runtime API's headers.
    let mut missing = Verdict::default();
    for entry in std::fs::read_dir(capture()).unwrap() {
        let path = entry.unwrap().path();
        let function = path.file_stem().unwrap().to_string_lossy().into_owned();
        for c in captured(&function.replacen('-', "/", 1)) {
            for h in NEXT_HEADERS {
                if !c.headers.contains_key(h) {
                    missing
                        .failures
                        .push(format!("Runtime API /next to {function}: no {h} header"));
                }
            }
        }
    }
    verdicts.push(missing);
    conclude(verdicts);
}
