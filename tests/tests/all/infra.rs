//! Infrastructure checks: every template lints, every SAM template
//! translates offline, a service stack references only itself and the
//! platform's exports, and its bus rules match exactly the events the
//! service declares it consumes (checked by the emulator's own matcher), which
//! is also what the event catalog's flowchart draws.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use devstack_emulator::fixtures::{let_the_rules_send, new_queue, queue_arn};
use devstack_emulator::{shared, unique};
use events::{EventKey, catalog};
use serde_json::{Value, json};

use crate::support::{examples, root};

fn venv_bin(tool: &str) -> PathBuf {
    devstack_emulator::venv().join("bin").join(tool)
}

/// Service templates in the repository, with the service's declarations:
/// every declared service's (`declarations::SERVICES`, written from the
/// one list), so a new service's template is checked here
/// without an edit.
fn service_templates() -> Vec<(&'static str, PathBuf, &'static [EventKey])> {
    (declarations::SERVICES.iter())
        .map(|s| (s.name, repo::template_path(s.name), s.consumes))
        .filter(|(_, path, _)| path.exists())
        .collect()
}

/// `template` as CloudFormation JSON, from the translation cache the local
/// clouds fill (keyed by the template, the script and the translator):
/// each translation starts Python, about 0.7 CPU-seconds, and these tests
/// translate the same templates some 25 times.
fn translate(template: &Path) -> Value {
    devstack_template::load(template).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Informational checks included: I3011 (a stateful resource without
/// Retain) among them, so a table or a queue that would die with its stack
/// fails here.
#[test]
fn every_template_and_its_translation_passes_cfn_lint() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![
        root().join("infra/template.yaml"),
        root().join("web/template.yaml"),
    ];
    for (name, path, _) in service_templates() {
        files.push(path.clone());
        let translated = dir.path().join(format!("{name}.json"));
        let mut translation = translate(&path);
        // SAM writes each DeploymentPreference's Type, a parameter, into
        // its deployment group's configuration name, so the translation no
        // longer uses the parameter; the source above is linted for it.
        translation["Metadata"]["cfn-lint"]["config"]["ignore_checks"] =
            serde_json::json!(["W2001"]);
        std::fs::write(&translated, translation.to_string()).unwrap();
        files.push(translated);
    }
    assert!(
        files.len() >= 4,
        "the platform, the web hosting and at least one service template"
    );
    let out = Command::new(venv_bin("cfn-lint"))
        .args(["--include-checks", "I", "--"])
        .args(&files)
        .output()
        .expect("running cfn-lint");
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `Ref`/`GetAtt` target and `ImportValue` name in a template.
fn references(v: &Value, refs: &mut BTreeSet<String>, imports: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("Ref", Value::String(target)) => {
                        refs.insert(target.clone());
                    }
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        refs.insert(parts[0].as_str().unwrap_or_default().to_owned());
                    }
                    ("Fn::ImportValue", name) => {
                        imports.insert(name.to_string());
                    }
                    _ => {}
                }
                references(child, refs, imports);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| references(i, refs, imports)),
        _ => {}
    }
}

/// Where every alarm's description sends the on-call engineer.
const RUNBOOK: &str = "docs/on-call.md#on-call-runbook";

/// Actions IAM authorises on no resource but `*` (the Service
/// Authorization Reference lists no resource type for them): X-Ray's
/// writes, CloudWatch Logs' log delivery set-up that Step Functions'
/// logging needs, the task-token callbacks, whose token is the
/// capability, and a pre-traffic hook's status, which names its
/// deployment in the body.
const UNSCOPED_ACTIONS: &[&str] = &[
    "codedeploy:PutLifecycleEventHookExecutionStatus",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "states:SendTaskSuccess",
];

fn only_unscoped_actions(statement: &Value) -> bool {
    let actions: Vec<&str> = match &statement["Action"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    !actions.is_empty() && actions.iter().all(|a| UNSCOPED_ACTIONS.contains(a))
}

#[test]
fn a_service_stack_references_only_itself_and_the_platform() {
    for (name, path, _) in service_templates() {
        let cfn = translate(&path);
        let local: BTreeSet<String> = cfn["Resources"]
            .as_object()
            .unwrap()
            .keys()
            .chain(
                cfn["Parameters"]
                    .as_object()
                    .map(|p| p.keys())
                    .into_iter()
                    .flatten(),
            )
            .cloned()
            .collect();
        let (mut refs, mut imports) = (BTreeSet::new(), BTreeSet::new());
        references(&cfn, &mut refs, &mut imports);
        for r in refs.iter().filter(|r| !r.starts_with("AWS::")) {
            assert!(
                local.contains(r),
                "{name}: references {r}, which it does not own"
            );
        }
        // An export does not cross accounts: a stack takes the bus, the
        // issuer, the client and the browsers' role as parameters. Only the
        // users team's stack imports, the pool's id: the pool calls its
        // triggers, and so lives in its account.
        let allowed: &[&str] = match name {
            "users" => &[r#"{"Fn::Sub":"${PlatformStack}-UserPoolId"}"#],
            _ => &[],
        };
        for i in &imports {
            assert!(
                allowed.contains(&i.as_str()),
                "{name}: imports {i}, which does not cross accounts"
            );
        }
        // Least privilege: no inline statement grants every action or resource.
        for (id, resource) in cfn["Resources"].as_object().unwrap() {
            for policy in resource["Properties"]["Policies"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for statement in policy["PolicyDocument"]["Statement"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let text = statement.to_string();
                    assert!(!text.contains("\"Action\":\"*\""), "{name}/{id}: {text}");
                    let any_resource = text.contains("\"Resource\":\"*\"");
                    assert!(
                        !any_resource || only_unscoped_actions(statement),
                        "{name}/{id}: {text}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn each_services_rules_match_exactly_the_events_it_consumes() {
    let page = std::fs::read_to_string(root().join(governance::catalog_page::FILE)).unwrap();
    let drawn = governance::catalog_page::consumption(&governance::declared::services());
    let conf = shared().sdk_config().await;
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    for (name, path, consumes) in service_templates() {
        let cfn = translate(&path);
        let rules = || {
            cfn["Resources"]
                .as_object()
                .unwrap()
                .values()
                .filter(|r| r["Type"] == "AWS::Events::Rule")
        };
        // A function's rule is on the team's inbox; the subscription, on
        // the platform's bus, forwards what they consume to that inbox.
        let inbox = json!({"Ref": "InboxBus"});
        let (functions, subscriptions): (Vec<&Value>, Vec<&Value>) =
            rules().partition(|r| r["Properties"]["EventBusName"] == inbox);
        let patterns: Vec<String> = functions
            .iter()
            .map(|r| r["Properties"]["EventPattern"].to_string())
            .collect();
        assert_eq!(
            patterns.is_empty(),
            consumes.is_empty(),
            "{name}: rules vs declared consumption"
        );
        if patterns.is_empty() {
            assert!(
                subscriptions.is_empty(),
                "{name} consumes nothing, yet subscribes"
            );
            assert!(
                drawn.iter().all(|(service, _)| service != name),
                "{name} has no rules, yet docs/events.md draws it consuming"
            );
            continue;
        }
        let [subscription] = subscriptions[..] else {
            panic!("{name}: one subscription on the platform's bus, not {subscriptions:?}")
        };
        assert_eq!(
            subscription["Properties"]["Targets"][0]["Arn"],
            json!({"Fn::GetAtt": ["InboxBus", "Arn"]}),
            "{name}: the subscription forwards to the inbox"
        );
        let matched = matched_on_a_fresh_bus(&eb, &sqs, &patterns).await;
        let forwarded = matched_on_a_fresh_bus(
            &eb,
            &sqs,
            &[subscription["Properties"]["EventPattern"].to_string()],
        )
        .await;
        assert!(
            matched.is_subset(&forwarded),
            "{name}: its rules match {:?}, which its subscription does not forward",
            matched.difference(&forwarded).collect::<Vec<_>>()
        );
        let declared: BTreeSet<String> = consumes.iter().map(ToString::to_string).collect();
        assert_eq!(
            matched, declared,
            "{name}: events its rules match vs what it declares"
        );
        // The catalog page draws exactly what the rules deliver.
        let in_picture: BTreeSet<String> = drawn
            .iter()
            .filter(|(service, _)| service == name)
            .map(|(_, key)| key.to_string())
            .collect();
        assert_eq!(matched, in_picture, "{name}: rules vs docs/events.md");
        for spec in catalog() {
            let edge = governance::catalog_page::consumer_edge(&spec.key, name);
            assert_eq!(
                page.lines().any(|l| l == edge),
                matched.contains(&spec.key.to_string()),
                "{name}: `{edge}` in {}",
                governance::catalog_page::FILE
            );
        }
    }
}

#[test]
fn the_websocket_api_is_guarded_routed_and_may_manage_its_connections() {
    let (_, path, _) = service_templates()
        .into_iter()
        .find(|(name, _, _)| *name == "notifications")
        .unwrap();
    let t = translate(&path);
    let resources = t["Resources"].as_object().unwrap();
    let of =
        |kind: &str| -> Vec<&Value> { resources.values().filter(|r| r["Type"] == kind).collect() };
    let apis = of("AWS::ApiGatewayV2::Api");
    let socket = apis
        .iter()
        .find(|a| a["Properties"]["ProtocolType"] == "WEBSOCKET")
        .expect("a WebSocket API");
    assert_eq!(
        socket["Properties"]["RouteSelectionExpression"],
        "$request.body.action"
    );
    let routes = of("AWS::ApiGatewayV2::Route");
    let keys: BTreeSet<&str> = routes
        .iter()
        .filter_map(|r| r["Properties"]["RouteKey"].as_str())
        .collect();
    for key in ["$connect", "$disconnect", "$default"] {
        assert!(keys.contains(key), "no {key} route");
    }
    // Only $connect is authorized (API Gateway checks there, once), by a
    // REQUEST authorizer reading the token from the query string.
    for r in &routes {
        let custom = r["Properties"]["AuthorizationType"] == "CUSTOM";
        assert_eq!(custom, r["Properties"]["RouteKey"] == "$connect", "{r}");
    }
    let authorizer = &of("AWS::ApiGatewayV2::Authorizer")[0]["Properties"];
    assert_eq!(authorizer["AuthorizerType"], "REQUEST");
    assert_eq!(
        authorizer["IdentitySource"],
        serde_json::json!(["route.request.querystring.token"])
    );
    // Whoever posts to @connections may, and only on this API's stage.
    for function in ["DelivererFunction", "SocketFunction"] {
        let role = &resources[&format!("{function}Role")];
        let text = role.to_string();
        assert!(
            text.contains("execute-api:ManageConnections")
                && text.contains("${SocketApi}/${SocketStage}/POST/@connections/*"),
            "{function}: {text}"
        );
        assert!(
            resources[function]["Properties"]["Environment"]["Variables"]
                .get("CONNECTIONS_URL")
                .is_some()
        );
    }
}

/// Which catalog examples (`source/detail-type vN`) `patterns` match,
/// each a rule on a fresh bus of the shared cloud, into one queue.
async fn matched_on_a_fresh_bus(
    eb: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    patterns: &[String],
) -> BTreeSet<String> {
    let bus = unique("bus");
    eb.create_event_bus().name(&bus).send().await.unwrap();
    let queue = new_queue(sqs, "q").await;
    let arn = queue_arn(sqs, &queue).await;
    let mut rules = Vec::new();
    for (i, pattern) in patterns.iter().enumerate() {
        let rule = format!("rule-{i}");
        let made = eb
            .put_rule()
            .name(&rule)
            .event_bus_name(&bus)
            .event_pattern(pattern)
            .send()
            .await
            .unwrap();
        rules.extend(made.rule_arn);
        eb.put_targets()
            .rule(&rule)
            .event_bus_name(&bus)
            .targets(Target::builder().id("q").arn(&arn).build().unwrap())
            .send()
            .await
            .unwrap();
    }
    let_the_rules_send(sqs, &queue, &arn, &rules).await;
    for spec in catalog() {
        for (_, detail) in examples(&spec) {
            let entry = PutEventsRequestEntry::builder()
                .event_bus_name(&bus)
                .source(spec.key.source)
                .detail_type(spec.key.detail_type)
                .detail(detail.to_string())
                .build();
            eb.put_events().entries(entry).send().await.unwrap();
        }
    }
    (crate::support::drain(sqs, &queue).await.iter())
        .map(|event| {
            format!(
                "{}/{} v{}",
                event["source"].as_str().unwrap(),
                event["detail-type"].as_str().unwrap(),
                event["detail"]["metadata"]["schema_version"]
            )
        })
        .collect()
}

/// The alarms, the dashboard and the tracing of every service stack, each
/// expectation derived from the (translated) stack itself: a DLQ depth
/// alarm on its `DeadLetterQueue`; for each function a rule delivers to,
/// an errors alarm and an `EventAge` alarm on its own EMF metric; for each
/// function a table stream feeds, an `IteratorAge` alarm; for each HTTP
/// API, a 5xx rate alarm. Every alarm tells the team's own topic.
#[test]
fn every_service_stack_has_its_alarms_and_dashboard() {
    use devstack_template::adapt::target;

    // Each team's alarms tell its own topic, in its own account: an export
    // (the platform's ops topic) cannot cross accounts.
    let own = json!([{"Ref": "AlarmTopic"}]);

    for (name, path, _) in service_templates() {
        let t = translate(&path);
        assert_eq!(
            t["Resources"]["AlarmTopic"]["Type"], "AWS::SNS::Topic",
            "{name}: its alarms' topic"
        );
        let resources = t["Resources"].as_object().unwrap();
        let of = |kind: &'static str| {
            resources
                .iter()
                .filter(move |(_, r)| r["Type"] == kind)
                .map(|(id, r)| (id.as_str(), &r["Properties"]))
        };
        let parameter = |p: &str, default: u64| {
            assert_eq!(
                t["Parameters"][p]["Default"].as_u64(),
                Some(default),
                "{name}: parameter {p}"
            );
            json!({"Ref": p})
        };

        let alarms: Vec<(&str, &Value)> = of("AWS::CloudWatch::Alarm").collect();
        for (id, a) in &alarms {
            assert_eq!(a["AlarmActions"], own, "{name}/{id}: AlarmActions");
            assert_eq!(a["OKActions"], own, "{name}/{id}: OKActions");
            assert_eq!(a["TreatMissingData"], "notBreaching", "{name}/{id}");
            assert!(
                a["AlarmDescription"]
                    .as_str()
                    .is_some_and(|d| d.contains(RUNBOOK)),
                "{name}/{id}: its description names the runbook"
            );
        }
        // The page and the anchor the alarms name exist.
        let (page, anchor) = RUNBOOK.split_once('#').unwrap();
        let text = std::fs::read_to_string(root().join(page)).unwrap();
        assert!(
            text.contains(&format!("<a id=\"{anchor}\">")),
            "{RUNBOOK}: no such anchor"
        );
        // One metric, its statistic, `> threshold`.
        let watches = |a: &Value, namespace: &str, metric: &str, dimensions: Value, stat: &str| {
            a["Namespace"] == namespace
                && a["MetricName"] == metric
                && a["Dimensions"] == dimensions
                && a["Statistic"] == stat
                && a["ComparisonOperator"] == "GreaterThanThreshold"
        };
        let mut missing = Vec::new();
        let mut expect = |what: String, found: &dyn Fn(&Value) -> bool| {
            if !alarms.iter().any(|(_, a)| found(a)) {
                missing.push(what);
            }
        };

        expect("DeadLetterQueue depth > 0".into(), &|a| {
            watches(
                a,
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                json!([{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]),
                "Maximum",
            ) && a["Threshold"].as_f64() == Some(0.0)
                && a["Period"].as_u64() == Some(60)
        });

        let functions: BTreeSet<&str> = of("AWS::Lambda::Function").map(|(id, _)| id).collect();
        // A rule targets the function's alias (`AutoPublishAlias`); the
        // alarms watch the function.
        let consumers: BTreeSet<&str> = of("AWS::Events::Rule")
            .flat_map(|(_, rule)| rule["Targets"].as_array().into_iter().flatten())
            .filter_map(|t| target(&t["Arn"]))
            .map(|id| function_of(resources, id))
            .filter(|f| functions.contains(f))
            .collect();
        assert!(
            !consumers.is_empty(),
            "{name}: a rule delivers to no function"
        );
        for f in &consumers {
            // The function's own metrics name it `<binary>-<Handler>`
            // (`kit::function!`).
            let binary = resources[*f]["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}/{f}: no binary"));
            let handler = resources[*f]["Properties"]["Handler"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}/{f}: no Handler"));
            let binary = &format!("{binary}-{handler}");
            let by_name = json!([{"Name": "FunctionName", "Value": {"Ref": f}}]);
            expect(format!("{f} errors > 0"), &|a| {
                watches(a, "AWS/Lambda", "Errors", by_name.clone(), "Sum")
                    && a["Threshold"].as_f64() == Some(0.0)
            });
            let own =
                json!([{"Name": "service", "Value": name}, {"Name": "function", "Value": binary}]);
            let threshold = parameter("EventAgeThresholdMs", 60000);
            expect(format!("{f} ({binary}) EventAge"), &|a| {
                watches(
                    a,
                    &format!("app/{name}"),
                    "EventAge",
                    own.clone(),
                    "Maximum",
                ) && a["Threshold"] == threshold
            });
        }

        // A mapping invokes the function's alias (`AutoPublishAlias`);
        // the alarm watches the function.
        fn function_of<'r>(resources: &'r serde_json::Map<String, Value>, id: &'r str) -> &'r str {
            match resources.get(id) {
                Some(r) if r["Type"] == "AWS::Lambda::Alias" => {
                    target(&r["Properties"]["FunctionName"]).unwrap_or(id)
                }
                _ => id,
            }
        }
        let streamed: BTreeSet<&str> = of("AWS::Lambda::EventSourceMapping")
            .filter(|(_, m)| m["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn")
            .filter_map(|(_, m)| target(&m["FunctionName"]))
            .map(|id| function_of(resources, id))
            .collect();
        for f in &streamed {
            let threshold = parameter("IteratorAgeThresholdMs", 60000);
            let by_name = json!([{"Name": "FunctionName", "Value": {"Ref": f}}]);
            expect(format!("{f} IteratorAge"), &|a| {
                watches(a, "AWS/Lambda", "IteratorAge", by_name.clone(), "Maximum")
                    && a["Threshold"] == threshold
            });
        }

        // HTTP APIs (the translated AWS::Serverless::HttpApi) publish `5xx`
        // and `Count` per ApiId; the alarm divides them.
        let apis: Vec<&str> = of("AWS::ApiGatewayV2::Api")
            .filter(|(_, api)| api["ProtocolType"] != "WEBSOCKET")
            .map(|(id, _)| id)
            .collect();
        for api in &apis {
            let threshold = parameter("Api5xxRatePercent", 1);
            let stat_of = |a: &Value, metric: &str| -> Option<String> {
                a["Metrics"].as_array()?.iter().find_map(|m| {
                    let s = &m["MetricStat"];
                    (s["Metric"]["Namespace"] == "AWS/ApiGateway"
                        && s["Metric"]["MetricName"] == metric
                        && s["Metric"]["Dimensions"]
                            == json!([{"Name": "ApiId", "Value": {"Ref": api}}])
                        && s["Stat"] == "Sum")
                        .then(|| m["Id"].as_str().map(str::to_owned))
                        .flatten()
                })
            };
            expect(format!("{api} 5xx rate"), &|a| {
                let (Some(errors), Some(requests)) = (stat_of(a, "5xx"), stat_of(a, "Count"))
                else {
                    return false;
                };
                let rate = a["Metrics"].as_array().unwrap().iter().find(|m| {
                    m["ReturnData"] != false
                        && m["Expression"].as_str().is_some_and(|e| {
                            e.contains(&errors) && e.contains(&requests) && e.contains("100")
                        })
                });
                rate.is_some()
                    && a["Threshold"] == threshold
                    && a["ComparisonOperator"] == "GreaterThanThreshold"
            });
        }
        assert!(missing.is_empty(), "{name}: no alarm for {missing:?}");

        let dashboards: Vec<_> = of("AWS::CloudWatch::Dashboard").collect();
        assert_eq!(dashboards.len(), 1, "{name}: one dashboard");
        let body = dashboards[0].1["DashboardBody"].to_string();
        for shown in [format!("app/{name}"), "${DeadLetterQueue.QueueName}".into()]
            .into_iter()
            .chain(functions.iter().map(|f| format!("${{{f}}}")))
        {
            assert!(body.contains(&shown), "{name}: the dashboard shows {shown}");
        }

        for (f, props) in of("AWS::Lambda::Function") {
            assert_eq!(
                props["TracingConfig"]["Mode"], "Active",
                "{name}/{f}: active tracing"
            );
            let role = target(&props["Role"]).unwrap();
            assert!(
                resources[role]["Properties"]["ManagedPolicyArns"]
                    .to_string()
                    .contains("AWSXrayWriteOnlyAccess"),
                "{name}/{f}: its role may write traces"
            );
        }
    }
}

/// The statements of a translated function's role that allow `action`.
fn allowing<'a>(t: &'a Value, action: &str) -> Vec<(&'a str, &'a Value)> {
    let mut out = Vec::new();
    for (id, r) in t["Resources"].as_object().unwrap() {
        if r["Type"] != "AWS::IAM::Role" {
            continue;
        }
        for policy in r["Properties"]["Policies"].as_array().into_iter().flatten() {
            for st in policy["PolicyDocument"]["Statement"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let actions = match &st["Action"] {
                    Value::String(a) => vec![a.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                if actions.contains(&action) {
                    out.push((id.as_str(), &st["Resource"]));
                }
            }
        }
    }
    out
}

/// Each secret is readable by the one function that needs it: the sender's
/// API key by the send step, the webhook's signing secret by the webhook.
/// The page cache reads a parameter too, the web distribution's id, which
/// is no secret: it may read that one only.
#[test]
fn each_campaigns_function_may_read_exactly_its_own_secret() {
    let path = root().join("services/campaigns/template.yaml");
    let t = translate(&path);
    let readers = |action: &str| -> Vec<String> {
        allowing(&t, action)
            .iter()
            .map(|(role, _)| role.to_string())
            .collect()
    };
    assert_eq!(
        readers("ssm:GetParameter"),
        ["PageCacheFunctionRole", "SendFunctionRole"]
    );
    assert_eq!(
        readers("secretsmanager:GetSecretValue"),
        ["WebhookFunctionRole"]
    );
    for (role, resource) in allowing(&t, "ssm:GetParameter") {
        let parameter = match role {
            "SendFunctionRole" => "parameter${ApiKeyParameterName}",
            _ => "parameter${SiteDistributionParameter}",
        };
        assert!(
            resource.to_string().contains(parameter) && !resource.to_string().contains('*'),
            "{role}: the one parameter, by name: {resource}"
        );
    }
    let (_, resource) = allowing(&t, "secretsmanager:GetSecretValue")[0];
    assert!(
        resource
            .to_string()
            .contains("secret:${SigningSecretName}-??????"),
        "{resource}"
    );
    // No function holds a secret's value in its environment: names only.
    for (id, r) in t["Resources"].as_object().unwrap() {
        let env = r["Properties"]["Environment"]["Variables"].to_string();
        for leaked in ["sk_", "whsec_", "resolve:ssm", "resolve:secretsmanager"] {
            assert!(!env.contains(leaked), "{id}: {env}");
        }
    }
}

/// Every function an HTTP route calls has a pre-traffic hook that sends
/// its new version a request per route: the hook's `API_ROUTES` are
/// exactly the routes the template gives the function (a route added is
/// a route checked; `api` holds the template's routes to the OpenAPI
/// document's, whose statuses the hook expects), and `API_VERSION` is the
/// function's new version.
#[test]
fn every_api_function_is_sent_a_request_per_route_before_it_takes_traffic() {
    for (service, path, _) in service_templates() {
        let template = translate(&path);
        let (_, plan) = devstack_template::adapt::adapt(service, &template).unwrap();
        let mut routed: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for r in &plan.routes {
            routed.entry(&r.function).or_default().insert(&r.route_key);
        }
        assert!(!routed.is_empty(), "{service}: no HTTP route");
        for (function, routes) in routed {
            let d = (plan.deployments.iter())
                .find(|d| d.function == function)
                .unwrap_or_else(|| panic!("{service}/{function}: no DeploymentPreference"));
            let hook = (d.pre_traffic.as_deref())
                .unwrap_or_else(|| panic!("{service}/{function}: no pre-traffic hook"));
            let env = &template["Resources"][hook]["Properties"]["Environment"]["Variables"];
            let sent: BTreeSet<&str> = (env["API_ROUTES"].as_str())
                .unwrap_or_else(|| panic!("{service}/{hook}: no API_ROUTES"))
                .split(',')
                .collect();
            assert_eq!(sent, routes, "{service}/{hook}: the routes it sends");
            let version = env["API_VERSION"]["Ref"].as_str().unwrap_or_default();
            assert!(
                version.starts_with(&format!("{function}Version")),
                "{service}/{hook}: API_VERSION is {}",
                env["API_VERSION"]
            );
        }
    }
}

/// A service that deploys gradually: every function has its preference in
/// the plan (a canary for what answers requests, linear for what events
/// feed, the parameters' defaults), and each watches its new version's
/// errors (`ExecutedVersion`), which the local cloud evaluates. That the
/// plan adapts at all shows every event source found its function through
/// the alias (SAM points them at it; the WebSocket API's are written so).
#[test]
fn every_function_deploys_gradually_watching_its_new_versions_errors_throttles_and_latency() {
    use devstack_template::adapt::Dimension;
    for (service, path, _) in service_templates() {
        let template = devstack_template::load(&path).unwrap();
        let (_, plan) = devstack_template::adapt::adapt(service, &template).unwrap();
        let answers: BTreeSet<&str> = (plan.routes.iter().map(|r| r.function.as_str()))
            .chain(plan.sockets.iter().flat_map(|s| {
                s.routes.iter().flat_map(|r| {
                    std::iter::once(r.function.as_str())
                        .chain(r.authorizer.iter().map(|a| a.function.as_str()))
                })
            }))
            .chain(plan.function_urls.iter().map(|u| u.function.as_str()))
            .collect();
        let hooks: BTreeSet<&str> = (plan.deployments.iter())
            .flat_map(|d| d.pre_traffic.iter().chain(&d.post_traffic))
            .map(String::as_str)
            .collect();
        let routed: BTreeSet<&str> = plan.routes.iter().map(|r| r.function.as_str()).collect();
        for f in &plan.functions {
            let d = (plan.deployments.iter()).find(|d| d.function == f.logical_id);
            // A hook judges the others' deployments and takes no traffic.
            if hooks.contains(f.logical_id.as_str()) {
                assert!(
                    d.is_none(),
                    "{service}/{}: a hook deploys at once",
                    f.logical_id
                );
                continue;
            }
            let d =
                d.unwrap_or_else(|| panic!("{service}/{}: no DeploymentPreference", f.logical_id));
            // What answers a caller takes a canary; what events feed takes
            // either (a Cognito trigger answers a sign-up: a canary too).
            let canary = "CodeDeployDefault.LambdaCanary10Percent5Minutes";
            let linear = "CodeDeployDefault.LambdaLinear10PercentEvery1Minute";
            assert_eq!(d.alias, "live", "{service}/{}", f.logical_id);
            if answers.contains(f.logical_id.as_str()) {
                assert_eq!(d.config, canary, "{service}/{}", f.logical_id);
            } else {
                assert!([canary, linear].contains(&d.config.as_str()), "{d:?}");
            }
            let on_new_version = |metric: &str, statistic: &str| {
                d.alarms.iter().any(|a| {
                    a.metric == metric
                        && a.statistic == statistic
                        && a.dimensions
                            .iter()
                            .any(|(_, v)| *v == Dimension::NewVersion)
                })
            };
            for (metric, statistic) in [("Errors", "Sum"), ("Throttles", "Sum")] {
                assert!(
                    on_new_version(metric, statistic),
                    "{service}/{}: no alarm on its new version's {metric}: {:?}",
                    f.logical_id,
                    d.alarms
                );
            }
            // A stream's backlog predates the new version: a deploy that
            // watched it would roll back the fix deployed while behind.
            assert!(
                !d.alarms.iter().any(|a| a.metric == "IteratorAge"),
                "{service}/{}: its deployment watches its stream's IteratorAge: {:?}",
                f.logical_id,
                d.alarms
            );
            // An HTTP API's handler: its own latency percentile too.
            if routed.contains(f.logical_id.as_str()) {
                assert!(
                    on_new_version("Latency", "p99"),
                    "{service}/{}: no alarm on its new version's p99 latency: {:?}",
                    f.logical_id,
                    d.alarms
                );
            }
        }
    }
}
