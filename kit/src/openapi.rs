//! An OpenAPI 3.1 document for a service's HTTP API, built from the same
//! Rust types the handlers parse and answer with (schemars, JSON Schema
//! 2020-12, which OpenAPI 3.1 uses as is). Each service lists its routes
//! once, in its `openapi` module; the committed `openapi.json` is checked
//! against it, and the tests compare its routes with the template's.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use crate::http_api::{ErrorBody, GatewayError, MAX_BODY_BYTES};

/// The name of the security scheme every route requires.
pub const SECURITY: &str = "cognito";

type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// One route: `METHOD /path/{param}` exactly as the template declares it.
pub struct Route {
    route_key: &'static str,
    operation_id: &'static str,
    summary: &'static str,
    parameters: Vec<Value>,
    body: Option<SchemaFn>,
    replies: Vec<(u16, &'static str, Option<SchemaFn>)>,
    errors: Vec<(u16, &'static str)>,
    /// No Cognito token: the route proves its caller another way.
    public: bool,
}

impl Route {
    pub fn new(route_key: &'static str, operation_id: &'static str, summary: &'static str) -> Self {
        Self {
            route_key,
            operation_id,
            summary,
            parameters: Vec::new(),
            body: None,
            replies: Vec::new(),
            errors: Vec::new(),
            public: false,
        }
    }

    /// A route without the Cognito authorizer (a third party's webhook):
    /// its caller proves itself otherwise, and `unauthorized` says how.
    pub fn public(mut self, unauthorized: &'static str) -> Self {
        self.public = true;
        self.error(401, unauthorized)
    }

    /// A JSON request body of type `T`. Brings the answers every parsed
    /// body can get: 400 (not `T`'s shape) and 413 (over the size limit).
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(SchemaGenerator::subschema_for::<T>);
        self.error(
            400,
            "The body is not valid JSON of the documented shape; `field` names where.",
        )
        .error(413, "The body is over the size limit.")
    }

    /// A success answer with a JSON body of type `T`.
    pub fn reply<T: JsonSchema>(mut self, status: u16, description: &'static str) -> Self {
        self.replies.push((
            status,
            description,
            Some(SchemaGenerator::subschema_for::<T>),
        ));
        self
    }

    /// A success answer without a body.
    pub fn empty(mut self, status: u16, description: &'static str) -> Self {
        self.replies.push((status, description, None));
        self
    }

    /// An answer with the JSON error shape.
    pub fn error(mut self, status: u16, description: &'static str) -> Self {
        if !self.errors.iter().any(|(s, _)| *s == status) {
            self.errors.push((status, description));
        }
        self
    }

    pub fn path(mut self, name: &'static str, schema: Value, description: &'static str) -> Self {
        self.parameters.push(json!({
            "name": name, "in": "path", "required": true,
            "description": description, "schema": schema,
        }));
        self
    }

    pub fn query(mut self, name: &'static str, schema: Value, description: &'static str) -> Self {
        self.parameters.push(json!({
            "name": name, "in": "query", "required": false,
            "description": description, "schema": schema,
        }));
        self
    }

    /// `METHOD /path/{param}`, as the template declares it.
    pub fn key(&self) -> &'static str {
        self.route_key
    }

    /// Whether the route takes a JSON body.
    pub fn takes_body(&self) -> bool {
        self.body.is_some()
    }

    /// Whether the route's caller proves itself without a Cognito token.
    pub fn is_public(&self) -> bool {
        self.public
    }

    /// Every status the function itself may answer the route with: its
    /// replies and its errors (not the authorizer's 401, nor the 500 no
    /// answer should ever be).
    pub fn statuses(&self) -> Vec<u16> {
        let replies = self.replies.iter().map(|(s, _, _)| *s);
        replies.chain(self.errors.iter().map(|(s, _)| *s)).collect()
    }

    fn method_and_path(&self) -> (String, &'static str) {
        let (method, path) = self
            .route_key
            .split_once(' ')
            .expect("a route key is `METHOD /path`");
        (method.to_lowercase(), path)
    }
}

/// A service's HTTP API document.
pub struct Api {
    title: &'static str,
    description: &'static str,
    routes: Vec<Route>,
}

impl Api {
    pub fn new(title: &'static str, description: &'static str) -> Self {
        Self {
            title,
            description,
            routes: Vec::new(),
        }
    }

    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route keys, as the template must declare them.
    pub fn route_keys(&self) -> Vec<&'static str> {
        self.routes.iter().map(|r| r.route_key).collect()
    }

    pub fn document(&self, version: &str) -> Value {
        let mut generator = SchemaSettings::draft2020_12()
            .with(|s| {
                s.definitions_path = "/components/schemas".into();
                s.meta_schema = None;
            })
            .with_transform(schemars::transform::RecursiveTransform(drop_null_default))
            .into_generator();
        let error = generator.subschema_for::<ErrorBody>().to_value();
        let gateway = generator.subschema_for::<GatewayError>().to_value();
        let json_of = |schema: Value| json!({"application/json": {"schema": schema}});
        let mut paths: Map<String, Value> = Map::new();
        for route in &self.routes {
            let (method, path) = route.method_and_path();
            let mut responses = Map::new();
            for (status, description, schema) in &route.replies {
                let mut reply = json!({"description": description});
                if let Some(schema) = schema {
                    reply["content"] = json_of(schema(&mut generator).to_value());
                }
                responses.insert(status.to_string(), reply);
            }
            let always = [(
                500,
                "The service failed; the answer carries no detail. Never expected: every failure is a bug.",
            )];
            for (status, description) in route.errors.iter().chain(&always) {
                responses.insert(
                    status.to_string(),
                    json!({"description": description, "content": json_of(error.clone())}),
                );
            }
            // The authorizer answers before the function runs, in API
            // Gateway's own shape.
            if !route.public {
                responses.insert(
                    "401".into(),
                    json!({
                        "description": "No valid Cognito token (API Gateway's JWT authorizer).",
                        "content": json_of(gateway.clone()),
                    }),
                );
            }
            let mut operation = json!({
                "operationId": route.operation_id,
                "summary": route.summary,
                "parameters": route.parameters.iter().cloned()
                    .chain(std::iter::once(correlation_header()))
                    .collect::<Vec<_>>(),
                "responses": responses,
            });
            if route.public {
                operation["security"] = json!([]);
            }
            if let Some(body) = route.body {
                operation["requestBody"] = json!({
                    "required": true,
                    "content": json_of(body(&mut generator).to_value()),
                });
            }
            paths
                .entry(path)
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("a path item is an object")
                .insert(method, operation);
        }
        let schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": self.title,
                "version": version,
                "description": self.description,
            },
            "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
            "security": [{ SECURITY: [] }],
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    SECURITY: {
                        "type": "http",
                        "scheme": "bearer",
                        "bearerFormat": "JWT",
                        "description": format!(
                            "A Cognito user pool ID token, checked by the HTTP API's JWT \
                             authorizer (signature, `iss`, `aud`, `exp`). The caller is its \
                             `sub`. Bodies are limited to {MAX_BODY_BYTES} bytes."
                        ),
                    }
                }
            }
        })
    }
}

/// `#[serde(default)]` on an optional field shows as `"default": null`,
/// which says nothing a reader needs and contradicts a non-null type.
fn drop_null_default(schema: &mut Schema) {
    if schema.get("default").is_some_and(Value::is_null) {
        schema.remove("default");
    }
}

fn correlation_header() -> Value {
    json!({
        "name": "x-correlation-id",
        "in": "header",
        "required": false,
        "description": "An id to follow the request through the events it causes (1 to 128 bytes; otherwise the request id is used).",
        "schema": {"type": "string"},
    })
}

/// The schema of a UUID path or query parameter.
pub fn uuid() -> Value {
    json!({"type": "string", "format": "uuid"})
}

/// Compares a service's committed document with the one its types give.
/// With `OPENAPI_WRITE` set, writes it instead (`cargo xtask openapi`).
pub fn check_committed(path: &std::path::Path, document: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(document).expect("a document serializes") + "\n";
    if std::env::var_os("OPENAPI_WRITE").is_some() {
        std::fs::write(path, &text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        return Ok(());
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed == text {
        Ok(())
    } else {
        Err(format!(
            "{} is stale: the API's types or routes changed. Run `cargo xtask openapi` and commit it.",
            path.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Thing {
        name: String,
    }

    #[test]
    fn a_route_documents_its_body_its_answers_and_the_shared_ones() {
        let api = Api::new("t", "d").route(
            Route::new("POST /things/{id}", "makeThing", "Make")
                .path("id", uuid(), "The thing")
                .body::<Thing>()
                .reply::<Thing>(201, "Made")
                .error(422, "Out of range"),
        );
        let doc = api.document("1");
        let op = &doc["paths"]["/things/{id}"]["post"];
        assert_eq!(op["operationId"], "makeThing");
        let codes: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        for code in ["201", "400", "401", "413", "422", "500"] {
            assert!(codes.iter().any(|c| *c == code), "{code} in {codes:?}");
        }
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Thing"
        );
        assert!(doc["components"]["schemas"]["Thing"].is_object());
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        assert_eq!(api.route_keys(), ["POST /things/{id}"]);
    }
}
