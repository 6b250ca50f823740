//! Every AWS call in the product's code, found by reading it (`syn`):
//! an SDK operation's builder chain ending in `.send()` or `.presigned(..)`,
//! a signed JSON-protocol call (`JsonApi::call("Operation", ..)`, or a
//! `Read { api: JsonApi::new(.., SSM), operation: "GetParameter", .. }`),
//! and a hand-signed REST client (`Signer::new(.., "cloudfront")`). Test
//! code (`#[cfg(test)]`) is not the product's and is skipped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use syn::visit::{self, Visit};
use syn::{Attribute, Expr, ExprMethodCall, Lit};

/// Who makes a call: a function (through the gate, judged) or the
/// operator's command line (the operator's own keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Caller {
    Function,
    Operator,
}

/// One operation as the code calls it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Called {
    /// The API's signing name (`dynamodb`, `events`, `execute-api`).
    pub service: String,
    /// The SDK crate that calls it (`aws-sdk-dynamodbstreams`), or how it
    /// is signed by hand (`kit::signed`).
    pub client: String,
    /// AWS's name (`PutItem`).
    pub operation: String,
}

/// Every call of the product, with the files that make it and who runs them.
pub type Calls = BTreeMap<Called, BTreeMap<Caller, BTreeSet<String>>>;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("the SDK crates' sources: {0}")]
    Sdk(String),
}

/// An SDK crate the workspace builds: its signing name and its
/// operations (`src/operation/<snake_case>/`, one folder each).
pub struct Sdk {
    pub crate_name: String,
    pub service: String,
    pub operations: BTreeSet<String>,
}

/// The signing name of each SDK crate the product may use, where it is
/// not the crate's own suffix.
fn signing_name(crate_suffix: &str) -> &str {
    match crate_suffix {
        "eventbridge" => "events",
        "sfn" => "states",
        "apigatewaymanagement" => "execute-api",
        "dynamodbstreams" => "dynamodb",
        other => other,
    }
}

/// The SDK crates the lockfile resolved, read where cargo keeps them.
pub fn sdks(root: &Path) -> Result<Vec<Sdk>, ScanError> {
    let dirs = repo::workspace::dependency_dirs(root, "aws-sdk-")
        .map_err(|e| ScanError::Sdk(e.to_string()))?;
    let mut found = Vec::new();
    for (name, dir) in dirs {
        let Ok(entries) = std::fs::read_dir(dir.join("src/operation")) else {
            continue;
        };
        let operations = entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        let suffix = name.trim_start_matches("aws-sdk-").to_owned();
        found.push(Sdk {
            service: signing_name(&suffix).to_owned(),
            crate_name: name,
            operations,
        });
    }
    if found.is_empty() {
        return Err(ScanError::Sdk("no aws-sdk-* crate found".into()));
    }
    Ok(found)
}

/// The calls in every Rust file under `dirs` (relative to `root`), each
/// made by `caller`.
pub fn scan(
    root: &Path,
    dirs: &[(&str, Caller)],
    sdks: &[Sdk],
    calls: &mut Calls,
) -> Result<(), ScanError> {
    for (dir, caller) in dirs {
        for file in rust_files(&root.join(dir)) {
            let relative = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            let text = std::fs::read_to_string(&file).map_err(|e| ScanError::File {
                file: relative.clone(),
                message: e.to_string(),
            })?;
            for called in in_file(&text, sdks).map_err(|message| ScanError::File {
                file: relative.clone(),
                message,
            })? {
                calls
                    .entry(called)
                    .or_default()
                    .entry(*caller)
                    .or_default()
                    .insert(relative.clone());
            }
        }
    }
    Ok(())
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            let test_code = path
                .file_name()
                .is_some_and(|n| ["tests", "benches", "examples"].contains(&&*n.to_string_lossy()));
            if path.is_dir() && !test_code {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The calls one file makes.
pub fn in_file(text: &str, sdks: &[Sdk]) -> Result<BTreeSet<Called>, String> {
    let file = syn::parse_file(text).map_err(|e| e.to_string())?;
    let named: Vec<&Sdk> = sdks
        .iter()
        .filter(|s| names_crate(text, &s.crate_name.replace('-', "_")))
        .collect();
    let mut finder = Finder {
        sdks,
        named,
        apis: constants_in(|v| v.visit_file(&file)),
        in_fn: Vec::new(),
        lets: Vec::new(),
        found: BTreeSet::new(),
        problems: Vec::new(),
    };
    finder.visit_file(&file);
    match finder.problems.first() {
        Some(problem) => Err(problem.clone()),
        None => Ok(finder.found),
    }
}

/// Whether `text` names `krate` as a whole word (`aws_sdk_dynamodb`, not
/// `aws_sdk_dynamodbstreams`).
fn names_crate(text: &str, krate: &str) -> bool {
    text.match_indices(krate).any(|(at, _)| {
        let after = text[at + krate.len()..].chars().next();
        !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

struct Finder<'a> {
    sdks: &'a [Sdk],
    /// The SDK crates the file names: they decide an operation two
    /// crates share.
    named: Vec<&'a Sdk>,
    /// The JSON-protocol APIs the file builds (`JsonApi::new(.., SSM)`).
    apis: Vec<String>,
    /// The same, within the function being read.
    in_fn: Vec<Vec<String>>,
    /// The function's `let name = <expr>` bindings, each name's in
    /// order: a builder kept in a variable (`let mut query =
    /// client.query()...; query.send()`).
    lets: Vec<HashMap<String, Vec<Expr>>>,
    found: BTreeSet<Called>,
    problems: Vec<String>,
}

fn is_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.to_string() == "test")
            || a.path().is_ident("test")
            || a.path().segments.last().is_some_and(|s| s.ident == "test")
    })
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_test(&m.attrs) {
            visit::visit_item_mod(self, m);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test(&f.attrs) {
            self.within(&f.block, |me| visit::visit_item_fn(me, f));
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test(&f.attrs) {
            self.within(&f.block, |me| visit::visit_impl_item_fn(me, f));
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
        let method = call.method.to_string();
        if (method == "send" && call.args.is_empty()) || method == "presigned" {
            self.sdk_chain(call);
        }
        if method == "call"
            && let Some(Expr::Lit(lit)) = call.args.first()
            && let Lit::Str(s) = &lit.lit
        {
            let api = self.api_of(&call.receiver);
            self.json_call(api, s.value());
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_struct(&mut self, s: &'ast syn::ExprStruct) {
        // `Read { api: JsonApi::new(conf, SSM), operation: "GetParameter", .. }`
        let api = s.fields.iter().find_map(|f| constant_of(&f.expr));
        let operation = s.fields.iter().find_map(|f| match (&f.member, &f.expr) {
            (syn::Member::Named(name), Expr::Lit(lit)) if name == "operation" => match &lit.lit {
                Lit::Str(s) => Some(s.value()),
                _ => None,
            },
            _ => None,
        });
        if let (Some(api), Some(operation)) = (api, operation) {
            self.json_call(Some(api), operation);
        }
        visit::visit_expr_struct(self, s);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        // A hand-signed REST client: `Signer::new(conf, "cloudfront")`.
        if let Expr::Path(p) = &*call.func
            && p.path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect::<Vec<_>>()
                == ["Signer", "new"]
            && let Some(Expr::Lit(lit)) = call.args.iter().nth(1)
            && let Lit::Str(service) = &lit.lit
        {
            match hand_signed(&service.value()) {
                Some(operations) => {
                    for operation in operations {
                        self.found.insert(Called {
                            service: service.value(),
                            client: "kit::signed".into(),
                            operation: (*operation).into(),
                        });
                    }
                }
                None => self.problems.push(format!(
                    "a hand-signed client of {} whose operations the conformance page does not know (add them to `hand_signed`)",
                    service.value()
                )),
            }
        }
        visit::visit_expr_call(self, call);
    }
}

/// The operations each hand-signed REST client makes.
fn hand_signed(service: &str) -> Option<&'static [&'static str]> {
    match service {
        // kit::signed::cloudfront::Invalidations::create.
        "cloudfront" => Some(&["CreateInvalidation"]),
        _ => None,
    }
}

/// The constant a `JsonApi::new(conf, CONST)` names.
fn constant_of(expr: &Expr) -> Option<String> {
    let Expr::Call(call) = expr else { return None };
    constant_called(call)
}

fn constant_called(call: &syn::ExprCall) -> Option<String> {
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let names: Vec<String> = func
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    if !names.ends_with(&["JsonApi".to_owned(), "new".to_owned()]) {
        return None;
    }
    match call.args.iter().nth(1)? {
        Expr::Path(p) => Some(p.path.segments.last()?.ident.to_string()),
        _ => None,
    }
}

/// Every `JsonApi::new(.., CONST)` a visit meets.
fn constants_in(walk: impl FnOnce(&mut Constants)) -> Vec<String> {
    let mut c = Constants(Vec::new());
    walk(&mut c);
    c.0
}

struct Constants(Vec<String>);

/// Every `let name = <expr>` of a function.
struct Lets(HashMap<String, Vec<Expr>>);

impl<'ast> Visit<'ast> for Lets {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        let name = match &local.pat {
            syn::Pat::Ident(i) => Some(i.ident.to_string()),
            syn::Pat::Type(t) => match &*t.pat {
                syn::Pat::Ident(i) => Some(i.ident.to_string()),
                _ => None,
            },
            _ => None,
        };
        if let (Some(name), Some(init)) = (name, &local.init) {
            self.0.entry(name).or_default().push((*init.expr).clone());
        }
        visit::visit_local(self, local);
    }
}

impl<'ast> Visit<'ast> for Constants {
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let Some(c) = constant_called(call) {
            self.0.push(c);
        }
        visit::visit_expr_call(self, call);
    }
}

impl Finder<'_> {
    /// `walk`s a function whose body is `body`, knowing the `JsonApi`s it
    /// builds and its `let` bindings.
    fn within(&mut self, body: &syn::Block, walk: impl FnOnce(&mut Self)) {
        self.in_fn.push(constants_in(|v| v.visit_block(body)));
        let mut lets = Lets(HashMap::new());
        lets.visit_block(body);
        self.lets.push(lets.0);
        walk(self);
        self.lets.pop();
        self.in_fn.pop();
    }

    /// The operation of a builder chain ending in `.send()`: the deepest
    /// method of the chain that is an SDK operation.
    fn sdk_chain(&mut self, end: &ExprMethodCall) {
        let mut methods = Vec::new();
        let mut at = &*end.receiver;
        // Each name's bindings are followed from the last back: `let q =
        // q.limit(1)` leads to the `q` before it, never to itself.
        let mut left: HashMap<String, usize> = HashMap::new();
        let mut client = None;
        loop {
            at = match at {
                Expr::MethodCall(m) => {
                    methods.push(m.method.to_string());
                    &m.receiver
                }
                Expr::Await(a) => &a.base,
                Expr::Try(t) => &t.expr,
                Expr::Paren(p) => &p.expr,
                Expr::Path(p) => {
                    // The innermost name is the client's (`lambda` in
                    // `let req = lambda.add_permission(); req.send()`).
                    client = receiver_name(at).or(client);
                    let Some(name) = p.path.get_ident().map(|i| i.to_string()) else {
                        break;
                    };
                    let Some(bound) = self.lets.last().and_then(|l| l.get(&name)) else {
                        break;
                    };
                    let next = left.entry(name).or_insert(bound.len());
                    let Some(earlier) = next.checked_sub(1) else {
                        break;
                    };
                    *next = earlier;
                    &bound[earlier]
                }
                _ => break,
            };
        }
        for method in methods.iter().rev() {
            let owners: Vec<&Sdk> = self
                .sdks
                .iter()
                .filter(|s| s.operations.contains(method))
                .collect();
            let owner = match owners.as_slice() {
                [] => continue,
                [one] => Some(*one),
                many => {
                    // The client's name says it (`lambda.add_permission()`),
                    // else the only one of them the file names.
                    let by_name = many.iter().find(|s| {
                        client.as_deref().is_some_and(|c| {
                            s.service == c || s.crate_name.trim_start_matches("aws-sdk-") == c
                        })
                    });
                    let named: Vec<&&Sdk> = many
                        .iter()
                        .filter(|s| self.named.iter().any(|n| n.crate_name == s.crate_name))
                        .collect();
                    by_name
                        .or(named.first().filter(|_| named.len() == 1).copied())
                        .copied()
                }
            };
            let Some(owner) = owner else {
                self.problems.push(format!(
                    "`.{method}()` is an operation of several SDK crates; name the one it is"
                ));
                return;
            };
            self.found.insert(Called {
                service: owner.service.clone(),
                client: owner.crate_name.clone(),
                operation: pascal(method),
            });
            return;
        }
    }

    /// Which JSON-protocol API a `.call(..)`'s receiver is: the one it
    /// builds or its name says (`JsonApi::new(conf, SSM).call(..)`,
    /// `site.ssm`, `codedeploy`), else the only one its function builds,
    /// else the only one the file builds.
    fn api_of(&self, receiver: &Expr) -> Option<String> {
        if let Some(constant) = constant_of(receiver) {
            return Some(constant);
        }
        let named = receiver_name(receiver).map(|n| n.to_uppercase());
        if let Some(name) = named.filter(|n| json_service(n).is_some()) {
            return Some(name);
        }
        let only = |all: &mut Vec<String>| {
            all.sort();
            all.dedup();
            (all.len() == 1).then(|| all[0].clone())
        };
        only(&mut self.in_fn.iter().flatten().cloned().collect())
            .or_else(|| only(&mut self.apis.clone()))
    }

    fn json_call(&mut self, api: Option<String>, operation: String) {
        let Some(service) = api.as_deref().and_then(json_service) else {
            self.problems.push(format!(
                "`call(\"{operation}\")`: which API it calls is not clear (build its JsonApi in the same function, or name the receiver after it)"
            ));
            return;
        };
        self.found.insert(Called {
            service: service.name.to_owned(),
            client: "kit::signed".into(),
            operation,
        });
    }
}

/// The name a chain starts from: `lambda` in `lambda.add_permission()`,
/// `sqs` in `self.sqs.send_message()`.
fn receiver_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Expr::Field(f) => match &f.member {
            syn::Member::Named(n) => Some(n.to_string()),
            syn::Member::Unnamed(_) => None,
        },
        _ => None,
    }
}

/// A JSON-protocol API by its constant's name in `kit::signed::json_protocol`.
pub fn json_service(constant: &str) -> Option<kit::signed::json_protocol::Service> {
    use kit::signed::json_protocol::{CODEDEPLOY, COGNITO_IDP, EVENTS, KMS, SECRETS_MANAGER, SSM};
    Some(match constant {
        "SSM" => SSM,
        "SECRETS_MANAGER" => SECRETS_MANAGER,
        "KMS" => KMS,
        "EVENTS" => EVENTS,
        "CODEDEPLOY" => CODEDEPLOY,
        "COGNITO_IDP" => COGNITO_IDP,
        _ => return None,
    })
}

/// `put_item` → `PutItem`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk(name: &str, operations: &[&str]) -> Sdk {
        Sdk {
            crate_name: name.into(),
            service: signing_name(name.trim_start_matches("aws-sdk-")).into(),
            operations: operations.iter().map(|o| (*o).to_owned()).collect(),
        }
    }

    fn sdks() -> Vec<Sdk> {
        vec![
            sdk("aws-sdk-dynamodb", &["put_item", "query"]),
            sdk("aws-sdk-lambda", &["add_permission", "invoke"]),
            sdk("aws-sdk-sqs", &["add_permission", "send_message"]),
        ]
    }

    fn found(code: &str) -> Vec<String> {
        in_file(code, &sdks())
            .unwrap()
            .into_iter()
            .map(|c| format!("{} {} {}", c.service, c.operation, c.client))
            .collect()
    }

    #[test]
    fn a_builder_chain_a_builder_kept_in_a_variable_and_a_signed_call_are_each_found() {
        let code = r#"
            async fn put(c: &Client) { c.put_item().table_name("t").send().await; }
            async fn page(c: &Client) {
                let mut query = c.query().limit(1);
                query = query.consistent_read(true);
                query.send().await;
            }
            fn ssm(conf: &Conf) { JsonApi::new(conf, SSM).call("PutParameter", &body); }
            fn read(conf: &Conf) -> Read {
                Read { api: JsonApi::new(conf, SECRETS_MANAGER), operation: "GetSecretValue" }
            }
            async fn reqwest_is_no_aws_call(c: reqwest::Client) { c.get(url).send().await; }
        "#;
        assert_eq!(
            found(code),
            [
                "dynamodb PutItem aws-sdk-dynamodb",
                "dynamodb Query aws-sdk-dynamodb",
                "secretsmanager GetSecretValue kit::signed",
                "ssm PutParameter kit::signed",
            ]
        );
    }

    #[test]
    fn a_builder_bound_again_under_its_own_name_leads_back_to_its_operation() {
        let code = r#"
            async fn page(c: &Client) {
                let q = c.query();
                let q = q.limit(1);
                q.send().await;
            }
            async fn tap(lambda: &L) {
                let req = lambda.add_permission();
                req.send().await;
            }
        "#;
        assert_eq!(
            found(code),
            [
                "dynamodb Query aws-sdk-dynamodb",
                "lambda AddPermission aws-sdk-lambda"
            ]
        );
    }

    #[test]
    fn a_signed_calls_receiver_says_its_api_before_the_file_does() {
        let code = r#"
            fn reads(conf: &Conf) -> JsonApi { JsonApi::new(conf, SSM) }
            async fn key(&self) { self.kms.call("Decrypt", &body).await; }
        "#;
        assert_eq!(found(code), ["kms Decrypt kit::signed"]);
    }

    #[test]
    fn an_operation_two_sdks_share_is_the_clients_whose_name_the_receiver_has() {
        let code = r#"
            async fn tap(conf: &Conf) {
                let lambda = aws_sdk_lambda::Client::new(conf);
                lambda.add_permission().send().await;
            }
        "#;
        assert_eq!(found(code), ["lambda AddPermission aws-sdk-lambda"]);
        let unclear = "async fn f(c: &C) { c.add_permission().send().await; }";
        let err = in_file(unclear, &sdks()).unwrap_err();
        assert!(err.contains("several SDK crates"), "{err}");
    }

    #[test]
    fn test_code_is_not_the_products_and_an_unknown_signed_client_is_named() {
        let code = r#"
            #[cfg(test)]
            mod tests { async fn t(c: &C) { c.put_item().send().await; } }
            #[tokio::test]
            async fn t(c: &C) { c.invoke().send().await; }
        "#;
        assert!(found(code).is_empty());
        let hand = r#"fn s(conf: &Conf) { Signer::new(conf, "route53"); }"#;
        let err = in_file(hand, &sdks()).unwrap_err();
        assert!(err.contains("hand-signed client of route53"), "{err}");
    }
}
