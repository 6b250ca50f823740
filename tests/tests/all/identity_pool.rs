//! Browsers' own AWS credentials: the platform's identity pool exchanges
//! the user pool's ID token for a session of its authenticated role,
//! tagged with the token's `sub`, and the strict cloud judges every call
//! signed with it: a user lists and reads their own files straight from
//! S3, and nothing of anyone else's.

use std::path::Path;
use std::time::Duration;

use aws_sdk_dynamodb::config::Credentials;
use devstack_client::walkthrough::{Client, eventually};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{client, cloud, unique_email};
use devstack_testkit::Browser;

const PASSWORD: &str = "Str0ng!passw0rd";

/// One of Cognito Identity's calls at the local cloud's Cognito front.
async fn identity(operation: &str, body: Value) -> (u16, Value) {
    crate::web::cognito_front(&format!("AWSCognitoIdentityService.{operation}"), body).await
}

/// The `Logins` map a browser sends: the user pool's ID token.
fn logins(token: &str) -> Value {
    let e = &cloud().endpoints;
    let provider = format!("cognito-idp.{}.amazonaws.com/{}", e.region, e.user_pool_id);
    json!({ provider: token })
}

/// GetId then GetCredentialsForIdentity, as the browser's SDK calls them.
async fn credentials_of(token: &str) -> (String, Credentials) {
    let pool = &cloud().endpoints.identity_pool_id;
    let (status, id) = identity(
        "GetId",
        json!({"IdentityPoolId": pool, "Logins": logins(token)}),
    )
    .await;
    assert_eq!(status, 200, "{id}");
    let identity_id = id["IdentityId"].as_str().unwrap().to_owned();
    let (status, got) = identity(
        "GetCredentialsForIdentity",
        json!({"IdentityId": identity_id, "Logins": logins(token)}),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    let c = &got["Credentials"];
    let credentials = Credentials::new(
        c["AccessKeyId"].as_str().unwrap(),
        c["SecretKey"].as_str().unwrap(),
        c["SessionToken"].as_str().map(str::to_owned),
        None,
        "identity-pool",
    );
    (identity_id, credentials)
}

/// A new todo's attachment grant: its presigned upload URL.
async fn upload_grant(api: &Client) -> reqwest::Url {
    let (_, todo) = api
        .call(
            Method::POST,
            "/todos",
            Some(json!({"title": "with a file"})),
        )
        .await
        .unwrap();
    let id = todo["id"].as_str().unwrap();
    let (status, grant) = api
        .call(
            Method::POST,
            &format!("/todos/{id}/attachments"),
            Some(json!({"file_name": "plan.txt", "content_type": "text/plain", "size": 4})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{grant}");
    reqwest::Url::parse(grant["upload_url"].as_str().unwrap()).unwrap()
}

/// A todo of `api`'s user with one uploaded file: its object's key, and
/// the S3 endpoint and bucket the presigned URL named.
async fn uploaded(api: &Client) -> (String, String, String) {
    let url = upload_grant(api).await;
    let put = api
        .http
        .put(url.clone())
        .header("content-type", "text/plain")
        .body("plan")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let endpoint = format!("{}://{}", url.scheme(), url.authority());
    let (bucket, key) = url.path().trim_start_matches('/').split_once('/').unwrap();
    (key.to_owned(), endpoint, bucket.to_owned())
}

async fn s3(endpoint: &str, credentials: Credentials) -> aws_sdk_s3::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(kit::config::https())
        .region(aws_config::Region::new(cloud().endpoints.region.clone()))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .load()
        .await;
    todos::objects::client(&conf)
}

#[tokio::test]
async fn a_browser_session_lists_and_reads_its_own_files_and_nothing_of_anyone_elses() {
    let ada = client(&unique_email("pool-ada")).await;
    let bob = client(&unique_email("pool-bob")).await;
    let (key, endpoint, bucket) = uploaded(&ada).await;
    let (bobs_key, _, _) = uploaded(&bob).await;
    let ada_prefix = format!(
        "{}/",
        key.splitn(3, '/').take(2).collect::<Vec<_>>().join("/")
    );
    let bob_prefix = format!(
        "{}/",
        bobs_key
            .splitn(3, '/')
            .take(2)
            .collect::<Vec<_>>()
            .join("/")
    );

    let (identity_id, credentials) = credentials_of(&ada.token).await;
    let (again, _) = credentials_of(&ada.token).await;
    assert_eq!(identity_id, again, "one identity per user");
    let s3 = s3(&endpoint, credentials).await;

    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(&ada_prefix)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, [key.as_str()]);
    let body = s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let bytes = body.body.collect().await.unwrap().into_bytes();
    assert_eq!(&bytes[..], b"plan");

    // Bob's prefix, Bob's file, and the whole bucket: 403 each.
    let listing = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(&bob_prefix)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        listing.raw_response().map(|r| r.status().as_u16()),
        Some(403)
    );
    let reading = s3
        .get_object()
        .bucket(&bucket)
        .key(&bobs_key)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        reading.raw_response().map(|r| r.status().as_u16()),
        Some(403)
    );
    let everything = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        everything.raw_response().map(|r| r.status().as_u16()),
        Some(403)
    );

    // The trail says who was refused what, and which statement allowed
    // the rest.
    let dir = Path::new(&cloud().endpoints.telemetry_dir);
    let who = format!("identity/{identity_id}");
    let refused = eventually(Duration::from_secs(5), "the judgements", || async {
        let mine: Vec<_> = devstack_api::telemetry::read_judgements(dir)
            .into_iter()
            .filter(|j| j.function == who)
            .collect();
        Ok((mine.iter().filter(|j| j.verdict == "denied").count() >= 3).then_some(mine))
    })
    .await
    .unwrap();
    let object = format!("arn:aws:s3:::{bucket}/{bobs_key}");
    assert!(
        refused.iter().any(|j| j.verdict == "denied"
            && j.action == "s3:GetObject"
            && j.resource == object
            && j.reason == "no statement allows it"),
        "{refused:?}"
    );
    assert!(
        refused.iter().any(|j| j.verdict == "allowed"
            && j.action == "s3:ListBucket"
            && j.reason.ends_with("statement ListOwnFiles")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_pool_takes_only_a_valid_id_token_of_its_own_user_pool() {
    let ada = client(&unique_email("pool-token")).await;
    let pool = &cloud().endpoints.identity_pool_id;
    // The signature with one character changed in its middle (the last
    // one may only carry padding bits).
    let (signed, signature) = ada.token.rsplit_once('.').unwrap();
    let mut changed: Vec<char> = signature.chars().collect();
    changed[10] = if changed[10] == 'A' { 'B' } else { 'A' };
    let forged = format!("{signed}.{}", changed.into_iter().collect::<String>());
    for (token, why) in [(forged.as_str(), "a bad signature"), ("x.y.z", "no token")] {
        let (status, refused) = identity(
            "GetId",
            json!({"IdentityPoolId": pool, "Logins": logins(token)}),
        )
        .await;
        assert_eq!(status, 400, "{why}: {refused}");
        assert_eq!(refused["__type"], "NotAuthorizedException", "{why}");
    }
    let (status, refused) = identity(
        "GetId",
        json!({"IdentityPoolId": "us-east-1:00000000-0000-0000-0000-000000000000", "Logins": logins(&ada.token)}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(refused["__type"], "ResourceNotFoundException");
}

/// The web app's "Your files", on the page's own identity pool session:
/// the user's uploaded file is listed and downloaded straight from S3,
/// and the same credentials, turned on another user's prefix from the
/// page, are refused by the strict cloud and named in the trail.
#[tokio::test]
async fn in_the_browser_a_user_lists_and_downloads_their_file_and_nobody_elses() {
    let bob = client(&unique_email("files-bob")).await;
    let (bobs_key, _, bucket) = uploaded(&bob).await;
    let bob_prefix = bobs_key
        .splitn(3, '/')
        .take(2)
        .collect::<Vec<_>>()
        .join("/")
        + "/";

    let ada = Browser::start().await;
    let web = cloud().endpoints.web_url.clone();
    ada.sign_up(&web, "Ada", &unique_email("files-ada"), PASSWORD)
        .await;
    ada.fill("#todo-form-title", "Keep the plan").await;
    ada.click("#todo-form [type=submit]").await;
    let todo = ada
        .wait_for("#todos li.todo[data-todo-id]", Duration::from_secs(10))
        .await;
    let todo_id = todo.attr("data-todo-id").await.unwrap().unwrap();
    let file = tempfile::Builder::new()
        .prefix("plan-")
        .suffix(".txt")
        .tempfile()
        .unwrap();
    let content = "the plan, in full\n".repeat(10);
    std::fs::write(file.path(), &content).unwrap();
    let attach = format!("li.todo[data-todo-id='{todo_id}'] input.todo-attach");
    ada.wait_for(&attach, Duration::from_secs(5))
        .await
        .send_keys(&file.path().display().to_string())
        .await
        .unwrap();
    let ready = format!("li.todo[data-todo-id='{todo_id}'] li.attachment[data-status=ready]");
    ada.wait_for(&ready, Duration::from_secs(20)).await;

    ada.click("#files-load").await;
    let item = ada
        .wait_for("#files li.file[data-key]", Duration::from_secs(15))
        .await;
    let key = item.attr("data-key").await.unwrap().unwrap();
    assert!(key.contains(&format!("/todos/{todo_id}/")), "{key}");
    assert_eq!(
        ada.client
            .execute(
                "return document.querySelectorAll('#files li.file').length;",
                vec![]
            )
            .await
            .unwrap(),
        1,
        "only Ada's own file"
    );
    ada.click("#files li.file button.file-download").await;
    let downloaded = ada
        .until(
            "the download",
            "return document.querySelector('#files li.file').dataset.downloaded || null;",
            Duration::from_secs(15),
        )
        .await;
    assert_eq!(downloaded, Value::from(content.len().to_string()));
    ada.screenshot("files-1-listed-and-downloaded").await;

    // Bob's prefix, with the credentials the page holds.
    let tried = ada
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             window.__files.list(arguments[0]).then( \
               (f) => done('listed ' + f.length), \
               (e) => done('refused ' + (e.$metadata && e.$metadata.httpStatusCode) + ' ' + e.name));",
            vec![Value::from(bob_prefix.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(tried, "refused 403 AccessDenied");
    let dir = Path::new(&cloud().endpoints.telemetry_dir);
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    eventually(
        Duration::from_secs(5),
        "the refusal in the trail",
        || async {
            let found = devstack_api::telemetry::read_judgements(dir)
                .into_iter()
                .find(|j| {
                    j.function.starts_with("identity/")
                        && j.verdict == "denied"
                        && j.action == "s3:ListBucket"
                        && j.resource == bucket_arn
                });
            Ok(found.map(|j| assert_eq!(j.reason, "no statement allows it")))
        },
    )
    .await
    .unwrap();
}

/// The attachments bucket is TLS-only (its policy's Deny on
/// `aws:SecureTransport` false): a request that says it came over plain
/// HTTP is refused by that statement, as S3 refuses one on AWS, and the
/// same request over "TLS" (every local hop stands for AWS's HTTPS) passes.
#[tokio::test]
async fn a_request_over_plain_http_is_refused_by_the_buckets_tls_only_deny() {
    let ada = client(&unique_email("tls-ada")).await;
    let url = upload_grant(&ada).await;
    let put = |proto: &'static str| {
        ada.http
            .put(url.clone())
            .header("content-type", "text/plain")
            .header("x-forwarded-proto", proto)
            .body("plan")
            .send()
    };
    let plain = put("http").await.unwrap();
    assert_eq!(plain.status(), 403);
    assert!(put("https").await.unwrap().status().is_success());
}
