//! The calls of the services whose operation is a REST path: S3, Lambda,
//! CloudFront, CodeDeploy and API Gateway's `@connections`.

use super::{Call, Ctx, MapError, Names};
use crate::sigv4::Arrived;

/// S3's REST API, path-style (`/<bucket>/<key>`), as the local endpoints
/// address it.
pub(super) fn s3(request: &Arrived<'_>) -> Vec<Call> {
    let (path, query) = request
        .path_and_query
        .split_once('?')
        .unwrap_or((request.path_and_query, ""));
    let has = |name: &str| form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == name);
    let path =
        percent_encoding::percent_decode_str(path.trim_start_matches('/')).decode_utf8_lossy();
    let (bucket, key) = path.split_once('/').unwrap_or((&path, ""));
    let object = |op: &str| Call::of("s3", op, format!("arn:aws:s3:::{bucket}/{key}"));
    // A listing's condition keys, when the request sets them: a policy
    // confines a listing to a prefix with `s3:prefix`.
    let on_bucket = |op: &str| {
        let mut call = Call::of("s3", op, format!("arn:aws:s3:::{bucket}"));
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if matches!(name.as_ref(), "prefix" | "delimiter" | "max-keys") {
                call = call.with(&format!("s3:{name}"), value);
            }
        }
        call
    };
    let method = request.method;
    let versioned = has("versionId");
    let call = match (bucket.is_empty(), key.is_empty(), method) {
        (true, _, _) => Call::of("s3", "ListAllMyBuckets", "*"),
        (false, true, "GET") if has("versions") => on_bucket("ListBucketVersions"),
        (false, true, "GET") if has("policy") => on_bucket("GetBucketPolicy"),
        (false, true, "GET") if has("cors") => on_bucket("GetBucketCORS"),
        (false, true, "GET" | "HEAD") => on_bucket("ListBucket"),
        (false, true, "POST") if has("delete") => object_wildcard(bucket),
        (false, true, "PUT") => on_bucket("CreateBucket"),
        (false, true, "DELETE") => on_bucket("DeleteBucket"),
        (false, true, _) => on_bucket("ListBucket"),
        (false, false, "GET" | "HEAD") if has("tagging") => object(if versioned {
            "GetObjectVersionTagging"
        } else {
            "GetObjectTagging"
        }),
        (false, false, "PUT") if has("tagging") => object("PutObjectTagging"),
        (false, false, "GET" | "HEAD") => object(if versioned {
            "GetObjectVersion"
        } else {
            "GetObject"
        }),
        (false, false, "DELETE") if has("uploadId") => object("AbortMultipartUpload"),
        (false, false, "DELETE") => object(if versioned {
            "DeleteObjectVersion"
        } else {
            "DeleteObject"
        }),
        // PUT, multipart parts and POST uploads all need PutObject.
        (false, false, _) => object("PutObject"),
    };
    vec![call]
}

/// DeleteObjects names its keys in an XML body; the action is DeleteObject
/// on each. Judged on the bucket's every key: a policy that allows some
/// keys only is judged stricter than AWS would.
pub(super) fn object_wildcard(bucket: &str) -> Call {
    Call::of("s3", "DeleteObject", format!("arn:aws:s3:::{bucket}/*"))
}

/// Lambda's REST API: `/2015-03-31/functions/<name>/<what>`.
pub(super) fn lambda(ctx: &Ctx<'_>, request: &Arrived<'_>) -> Result<Vec<Call>, MapError> {
    let path = request.path_and_query.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let function = |name: &str| {
        let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
        if name.starts_with("arn:") {
            name.into_owned()
        } else {
            ctx.place.arn("lambda", &format!("function:{name}"))
        }
    };
    let (action, name) = match (request.method, &parts[..]) {
        ("POST", [_, "functions", name, "invocations"]) => ("InvokeFunction", *name),
        ("GET", [_, "functions", name]) => ("GetFunction", *name),
        ("GET", [_, "functions", name, "configuration"]) => ("GetFunctionConfiguration", *name),
        _ => return Err(ctx.unknown()),
    };
    Ok(vec![Call::of("lambda", action, function(name))])
}

/// CodeDeploy, as a lifecycle hook calls it. Its status call names no
/// resource type in the service authorisation reference, so IAM judges it
/// on `*`: a statement naming a deployment group's ARN does not allow it.
pub(super) fn codedeploy(ctx: &Ctx<'_>) -> Result<Vec<Call>, MapError> {
    match ctx.operation {
        "PutLifecycleEventHookExecutionStatus" => Ok(vec![ctx.call("*")]),
        _ => Err(ctx.unknown()),
    }
}

/// CloudFront's REST API (global: its ARNs carry no region). The local
/// cloud answers CreateInvalidation for the distribution it plays.
pub(super) fn cloudfront(ctx: &Ctx<'_>, request: &Arrived<'_>) -> Result<Vec<Call>, MapError> {
    let path = request.path_and_query.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let action = match (request.method, &parts[..]) {
        ("POST", [_, "distribution", _, "invalidation"]) => "CreateInvalidation",
        ("GET", [_, "distribution", _, "invalidation", _]) => "GetInvalidation",
        ("GET", [_, "distribution", _]) => "GetDistribution",
        _ => return Err(ctx.unknown()),
    };
    let arn = format!(
        "arn:aws:cloudfront::{}:distribution/{}",
        ctx.place.account, parts[2]
    );
    Ok(vec![Call::of("cloudfront", action, arn)])
}

/// API Gateway's management API (`@connections`), signed for
/// `execute-api`: the API is the host's, the stage and the connection the
/// path's.
pub(super) fn execute_api(
    ctx: &Ctx<'_>,
    request: &Arrived<'_>,
    names: &dyn Names,
) -> Result<Vec<Call>, MapError> {
    let path = request.path_and_query.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let host = request.header("host").unwrap_or_default();
    let api = host
        .split_once(".execute-api.")
        .map(|(api, _)| api.to_owned())
        .or_else(|| names.api_id(host));
    match (request.method, &parts[..], api) {
        ("POST" | "GET" | "DELETE", [stage, "@connections", id], Some(api)) => {
            let id = percent_encoding::percent_decode_str(id).decode_utf8_lossy();
            let method = request.method;
            let resource = format!("{api}/{stage}/{method}/@connections/{id}");
            Ok(vec![Call::of(
                "execute-api",
                "ManageConnections",
                ctx.place.arn("execute-api", &resource),
            )])
        }
        (_, _, None) => Err(ctx.malformed(format!("no API is served at {host}"))),
        _ => Err(ctx.unknown()),
    }
}
