//! API Gateway becomes the local gateway, from the routes in the API's
//! OpenAPI body (with its CORS configuration); a WebSocket API becomes a
//! local WebSocket endpoint, from its routes, integrations and authorizer,
//! and a function's environment value that names the API or its stage (the
//! `@connections` URL) becomes [`socket_placeholder`], which the local cloud
//! replaces with its own URL. An `execute-api` ARN in a role's policy or a
//! Lambda permission keeps naming the API, by its local id
//! ([`local_api_id`]): the local cloud judges the gateway's invocations and
//! the `@connections` calls by those ARNs, as AWS does.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::resources::of_api;
use super::stage::{self, StageSettings};
use super::{AdaptError, Stack, mentions_any, target, type_of};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The API's logical id: its routes share one stage.
    pub api: String,
    /// The API's id locally ([`local_api_id`]), in its `execute-api` ARNs.
    pub api_id: String,
    /// `METHOD /path/{param}`, as API Gateway names it in `routeKey`.
    pub route_key: String,
    pub function: String,
    /// The HTTP API's CORS configuration, if it has one.
    pub cors: Option<Cors>,
    pub stage: StageSettings,
    /// No authorizer (`Auth: Authorizer: NONE`): a third party's webhook.
    pub public: bool,
}

/// An HTTP API's `CorsConfiguration` (`x-amazon-apigateway-cors`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
}

impl Cors {
    fn from_openapi(v: &Value) -> Option<Self> {
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        v.is_object().then(|| Cors {
            allow_origins: list("allowOrigins"),
            allow_headers: list("allowHeaders"),
            allow_methods: list("allowMethods"),
            expose_headers: list("exposeHeaders"),
            max_age: v["maxAge"].as_u64(),
        })
    }
}

/// A WebSocket API the local cloud plays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketApi {
    /// The API's logical id.
    pub api: String,
    /// Its id locally ([`local_api_id`]), in its `execute-api` ARNs.
    pub api_id: String,
    pub stage: String,
    /// e.g. `$request.body.action`.
    pub route_selection_expression: String,
    pub routes: Vec<SocketRoute>,
    pub settings: StageSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketRoute {
    /// `$connect`, `$disconnect`, `$default` or a selected value.
    pub route_key: String,
    pub function: String,
    pub authorizer: Option<SocketAuthorizer>,
}

/// A Lambda REQUEST authorizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketAuthorizer {
    /// The authorizer's id locally ([`local_api_id`] of its logical id), in
    /// the ARN API Gateway invokes it under (`{api}/authorizers/{id}`).
    pub id: String,
    pub function: String,
    /// e.g. `route.request.querystring.token`; all must be present, or the
    /// caller gets 401 and the authorizer is not called.
    pub identity_source: Vec<String>,
}

/// What a function's environment holds, on the emulator, where AWS would
/// have the `@connections` URL of the WebSocket API `api`.
pub fn socket_placeholder(api: &str) -> String {
    format!("local-socket://{api}")
}

/// The id the local cloud gives an API (or an authorizer) of `stack` that
/// it plays itself, in API Gateway's style (ten lowercase letters and
/// digits) and the same on every deploy, so the policies and permissions
/// that name it in an ARN still name it after a redeploy.
pub fn local_api_id(stack: &str, logical_id: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    Sha256::digest(format!("{stack}/{logical_id}").as_bytes())
        .iter()
        .take(10)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// An HTTP `AWS::ApiGatewayV2::Api`: its OpenAPI paths become routes.
pub(super) fn http_api(st: &mut Stack, id: &str, props: &Value) -> Result<(), AdaptError> {
    let cors = Cors::from_openapi(&props["Body"]["x-amazon-apigateway-cors"]);
    let settings = stage::settings_of_api(st.resources, &st.parameters, id);
    for (path, methods) in props["Body"]["paths"].as_object().into_iter().flatten() {
        for (method, op) in methods.as_object().into_iter().flatten() {
            let uri = op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                .as_str()
                .unwrap_or_default();
            let function = st
                .functions
                .iter()
                .find(|f| uri.contains(&format!("${{{f}.Arn}}")))
                .ok_or_else(|| {
                    st.unsupported(
                        id,
                        &format!("{method} {path} integrates no function of this stack"),
                    )
                })?;
            // SAM writes a route without an authorizer as `security:
            // [{"NONE": []}]` in the API's OpenAPI body.
            let public = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("NONE").is_some()));
            st.plan.routes.push(Route {
                api: id.to_owned(),
                api_id: local_api_id(st.name, id),
                route_key: format!("{} {path}", method.to_uppercase()),
                function: function.clone(),
                cors: cors.clone(),
                stage: settings.clone(),
                public,
            });
        }
    }
    st.removed.insert(id.to_owned());
    Ok(())
}

/// A WebSocket `AWS::ApiGatewayV2::Api`, with its stage, routes,
/// integrations and authorizers.
pub(super) fn websocket_api(st: &mut Stack, id: &str, props: &Value) -> Result<(), AdaptError> {
    let api = socket_api(id, props, st).map_err(|message| st.unsupported(id, &message))?;
    st.plan.sockets.push(api);
    st.removed.insert(id.to_owned());
    Ok(())
}

/// A WebSocket API from its stage, routes, their integrations and
/// authorizers.
fn socket_api(id: &str, props: &Value, st: &Stack) -> Result<SocketApi, String> {
    let (resources, functions) = (&*st.resources, &st.functions);
    let stage = stage::stage_of(resources, id).ok_or("a WebSocket API needs a stage")?;
    let stage_name = stage["Properties"]["StageName"]
        .as_str()
        .ok_or("a WebSocket API's stage needs a StageName")?
        .to_owned();
    let mut routes = Vec::new();
    for (rid, r) in of_api(resources, "AWS::ApiGatewayV2::Route", id) {
        let mut route = socket_route(rid, &r["Properties"], resources, functions)?;
        if let Some(a) = &mut route.authorizer {
            a.id = local_api_id(st.name, &a.id);
        }
        routes.push(route);
    }
    routes.sort_by(|a, b| a.route_key.cmp(&b.route_key));
    Ok(SocketApi {
        api: id.to_owned(),
        api_id: local_api_id(st.name, id),
        stage: stage_name,
        route_selection_expression: props["RouteSelectionExpression"]
            .as_str()
            .unwrap_or("$request.body.action")
            .to_owned(),
        routes,
        settings: stage::settings(stage, &st.parameters),
    })
}

/// The route `rid` (its properties `p`), through its integration to a
/// function of this stack.
fn socket_route(
    rid: &str,
    p: &Value,
    resources: &Map<String, Value>,
    functions: &BTreeSet<String>,
) -> Result<SocketRoute, String> {
    let route_key = p["RouteKey"]
        .as_str()
        .ok_or(format!("{rid} has no RouteKey"))?;
    // `integrations/${Integration}`.
    let target_text = p["Target"]["Fn::Sub"].as_str().unwrap_or_default();
    let integration = resources
        .iter()
        .find(|(iid, r)| {
            type_of(r) == "AWS::ApiGatewayV2::Integration"
                && target_text == format!("integrations/${{{iid}}}")
        })
        .ok_or(format!(
            "{rid}: its Target names no integration of this stack"
        ))?;
    let function = function_in(&integration.1["Properties"]["IntegrationUri"], functions).ok_or(
        format!("{rid}: its integration calls no function of this stack"),
    )?;
    Ok(SocketRoute {
        route_key: route_key.to_owned(),
        function,
        authorizer: socket_authorizer(rid, p, resources, functions)?,
    })
}

/// The route's authorizer, if it has one.
fn socket_authorizer(
    rid: &str,
    p: &Value,
    resources: &Map<String, Value>,
    functions: &BTreeSet<String>,
) -> Result<Option<SocketAuthorizer>, String> {
    match p["AuthorizationType"].as_str() {
        None | Some("NONE") => Ok(None),
        Some("CUSTOM") => {
            let aid =
                target(&p["AuthorizerId"]).ok_or(format!("{rid}: CUSTOM without AuthorizerId"))?;
            let a = &resources
                .get(aid)
                .ok_or(format!("{rid}: no authorizer {aid}"))?["Properties"];
            if a["AuthorizerType"] != "REQUEST" {
                return Err(format!(
                    "{aid}: only REQUEST authorizers exist for WebSocket APIs"
                ));
            }
            Ok(Some(SocketAuthorizer {
                // The logical id: the caller, who knows the stack, makes it local.
                id: aid.to_owned(),
                function: function_in(&a["AuthorizerUri"], functions)
                    .ok_or(format!("{aid}: calls no function of this stack"))?,
                identity_source: a["IdentitySource"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            }))
        }
        Some(other) => Err(format!(
            "{rid}: authorization {other} is not played locally"
        )),
    }
}

/// `arn:...:functions/${Fn.Arn}/invocations` → `Fn`; also with the
/// function as a variable of the `Sub` (`${Target}` with `Target: !Ref
/// Fn.Alias`, which an alias collapsed has made the function's ARN).
fn function_in(uri: &Value, functions: &BTreeSet<String>) -> Option<String> {
    let sub = &uri["Fn::Sub"];
    let text = (sub.as_str().or_else(|| sub[0].as_str())).or_else(|| uri.as_str())?;
    let variable = (sub[1].as_object().into_iter().flatten())
        .filter(|(name, _)| text.contains(&format!("${{{name}}}")))
        .find_map(|(_, v)| target(v).filter(|t| functions.contains(*t)));
    if let Some(f) = variable {
        return Some(f.to_owned());
    }
    functions
        .iter()
        .find(|f| text.contains(&format!("${{{f}.Arn}}")))
        .cloned()
}

/// The @connections URL is the local cloud's to give.
pub(super) fn local_socket_urls(st: &mut Stack) {
    let socket_parts: Vec<(String, BTreeSet<String>)> = st
        .plan
        .sockets
        .iter()
        .map(|s| {
            let mut ids: BTreeSet<String> = st
                .resources
                .iter()
                .filter(|(_, r)| target(&r["Properties"]["ApiId"]) == Some(s.api.as_str()))
                .map(|(id, _)| id.clone())
                .collect();
            ids.insert(s.api.clone());
            (s.api.clone(), ids)
        })
        .collect();
    for id in &st.functions {
        let vars = st.resources[id]["Properties"]["Environment"]["Variables"].as_object_mut();
        for value in vars.into_iter().flat_map(|v| v.values_mut()) {
            if let Some((api, _)) = socket_parts
                .iter()
                .find(|(_, ids)| mentions_any(value, ids))
            {
                *value = Value::from(socket_placeholder(api));
            }
        }
    }
}

/// Each `execute-api` ARN of a role's policy or a Lambda permission that
/// names an API the local cloud plays (the API, its stage, its authorizer,
/// by `Ref` or `${Id}` in a `Sub`) names it by its local id or stage name
/// instead, so the ARN deploys as an ARN the local cloud judges by, and the
/// permission is not dropped with the API.
pub(super) fn pin_api_names(st: &mut Stack) {
    let apis: BTreeSet<&str> = (st.plan.routes.iter().map(|r| r.api.as_str()))
        .chain(st.plan.sockets.iter().map(|s| s.api.as_str()))
        .collect();
    let mut names = BTreeMap::new();
    for api in apis {
        names.insert(api.to_owned(), local_api_id(st.name, api));
        for (id, r) in of_api(st.resources, "AWS::ApiGatewayV2::Stage", api) {
            if let Some(stage) = r["Properties"]["StageName"].as_str() {
                names.insert(id.clone(), stage.to_owned());
            }
        }
        for (id, _) in of_api(st.resources, "AWS::ApiGatewayV2::Authorizer", api) {
            names.insert(id.clone(), local_api_id(st.name, id));
        }
    }
    for r in st.resources.values_mut() {
        if matches!(type_of(r), "AWS::IAM::Role" | "AWS::Lambda::Permission") {
            pin(r, &names);
        }
    }
}

/// `{"Ref": Id}` and `${Id}` in a `Sub`'s text, for each id `names` holds.
pub(super) fn pin(v: &mut Value, names: &BTreeMap<String, String>) {
    let reference = v
        .as_object()
        .filter(|map| map.len() == 1)
        .and_then(|map| map.get("Ref"))
        .and_then(Value::as_str)
        .and_then(|id| names.get(id));
    if let Some(name) = reference {
        *v = Value::from(name.as_str());
        return;
    }
    match v {
        Value::Object(map) => {
            if let Some(text) = super::resources::sub_text(map) {
                for (id, name) in names {
                    *text = text.replace(&format!("${{{id}}}"), name);
                }
            }
            map.values_mut().for_each(|child| pin(child, names));
        }
        Value::Array(items) => items.iter_mut().for_each(|child| pin(child, names)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::adapt;
    use super::super::tests::template;
    use super::*;

    #[test]
    fn the_http_api_becomes_routes_and_its_outputs_go() {
        let (out, plan) = adapt("svc", &template()).unwrap();
        assert_eq!(
            plan.routes,
            [Route {
                api: "Api".into(),
                api_id: local_api_id("svc", "Api"),
                route_key: "GET /things/{id}".into(),
                function: "Fn".into(),
                cors: None,
                stage: StageSettings {
                    throttle: Some(stage::Throttle {
                        rate_limit: 2.0,
                        burst_limit: 4
                    }),
                    access_log_format: Some("{\"id\":\"$context.requestId\"}".into()),
                },
                public: false,
            }]
        );
        // An override is the value the local gateway enforces.
        let t = super::super::with_parameters(template(), &[("Rate".into(), "0.5".into())]);
        let (_, plan) = adapt("svc", &t).unwrap();
        assert_eq!(plan.routes[0].stage.throttle.unwrap().rate_limit, 0.5);
        for gone in ["Api", "Stage", "Sub"] {
            assert!(out["Resources"].get(gone).is_none(), "{gone}");
        }
        // A rule's permission stays, and so does the API's, naming the API
        // by its local id: the local cloud judges by them.
        assert!(out["Resources"].get("RulePerm").is_some());
        let id = local_api_id("svc", "Api");
        assert_eq!(
            out["Resources"]["Perm"]["Properties"]["SourceArn"],
            json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:{id}/*")})
        );
        // A queue policy deploys as written (the emulator's launcher adds
        // its model): the local cloud judges deliveries by it.
        assert!(out["Resources"].get("Policy").is_some());
        assert!(out["Outputs"].get("Url").is_none());
        assert!(out["Outputs"].get("Table").is_some());
    }

    #[test]
    fn a_websocket_api_becomes_a_local_endpoint_with_its_routes_and_authorizer() {
        let (out, plan) = adapt("svc", &template()).unwrap();
        let authorizer = SocketAuthorizer {
            id: local_api_id("svc", "SocketAuth"),
            function: "Fn".into(),
            identity_source: vec!["route.request.querystring.token".into()],
        };
        assert_eq!(
            plan.sockets,
            [SocketApi {
                api: "Socket".into(),
                api_id: local_api_id("svc", "Socket"),
                stage: "live".into(),
                route_selection_expression: "$request.body.action".into(),
                routes: vec![
                    SocketRoute {
                        route_key: "$connect".into(),
                        function: "Fn".into(),
                        authorizer: Some(authorizer)
                    },
                    SocketRoute {
                        route_key: "$default".into(),
                        function: "Fn".into(),
                        authorizer: None
                    },
                ],
                settings: StageSettings::default(),
            }]
        );
        for gone in [
            "Socket",
            "SocketStage",
            "SocketAuth",
            "SocketIntegration",
            "Connect",
            "Default",
        ] {
            assert!(out["Resources"].get(gone).is_none(), "{gone}");
        }
        let env = &out["Resources"]["Fn"]["Properties"]["Environment"]["Variables"];
        assert_eq!(env["CONNECTIONS_URL"], socket_placeholder("Socket"));
        assert_eq!(env["TABLE"], json!({"Ref": "Table"}), "other values stay");
    }

    #[test]
    fn a_roles_and_a_permissions_execute_api_arns_name_the_local_ids() {
        let mut t = template();
        t["Resources"]["Role"] = json!({"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": "execute-api:ManageConnections",
             "Resource": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Socket}/${SocketStage}/POST/@connections/*"}}]}}]}});
        // SAM's shape for an HttpApi event's permission.
        t["Resources"]["Perm"]["Properties"]["SourceArn"] = json!({"Fn::Sub": [
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/${__Stage__}/GET/things/*",
            {"__ApiId__": {"Ref": "Api"}, "__Stage__": "*"}]});
        t["Resources"]["AuthPerm"] = json!({"Type": "AWS::Lambda::Permission", "Properties": {"FunctionName": {"Ref": "Fn"},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Socket}/authorizers/${SocketAuth}"}}});
        let (out, _) = adapt("svc", &t).unwrap();
        let r = &out["Resources"];
        let (socket, auth) = (
            local_api_id("svc", "Socket"),
            local_api_id("svc", "SocketAuth"),
        );
        assert_eq!(
            r["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"]["Fn::Sub"],
            format!(
                "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:{socket}/live/POST/@connections/*"
            )
        );
        assert_eq!(
            r["Perm"]["Properties"]["SourceArn"]["Fn::Sub"][1]["__ApiId__"],
            local_api_id("svc", "Api")
        );
        assert_eq!(
            r["AuthPerm"]["Properties"]["SourceArn"]["Fn::Sub"],
            format!(
                "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:{socket}/authorizers/{auth}"
            )
        );
        // The id is the same on every deploy, and the stack's own.
        assert_eq!(local_api_id("svc", "Socket"), socket);
        assert_ne!(local_api_id("other", "Socket"), socket);
        assert!(
            socket.len() == 10
                && socket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }

    #[test]
    fn an_http_apis_cors_configuration_reaches_its_routes() {
        let mut t = template();
        t["Resources"]["Api"]["Properties"]["Body"]["x-amazon-apigateway-cors"] = json!({"allowOrigins": ["*"], "allowHeaders": ["authorization"], "allowMethods": ["GET"], "maxAge": 600});
        let (_, plan) = adapt("svc", &t).unwrap();
        let cors = plan.routes[0].cors.as_ref().unwrap();
        assert_eq!(
            (cors.allow_origins.as_slice(), cors.max_age),
            (&["*".to_owned()][..], Some(600))
        );
    }

    #[test]
    fn a_websocket_route_without_a_function_is_refused_by_name() {
        let mut t = template();
        t["Resources"]["SocketIntegration"]["Properties"]["IntegrationUri"] =
            json!("arn:aws:lambda:elsewhere");
        let err = adapt("svc", &t).unwrap_err().to_string();
        assert!(
            err.contains("svc/Socket") && err.contains("Connect"),
            "{err}"
        );
    }
}
