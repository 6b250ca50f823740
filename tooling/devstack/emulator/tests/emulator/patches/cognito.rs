//! A user pool's calls taking turns (`src/patches/cognito.py`).

use super::*;

/// A user pool answers a sign-in's lookup while people sign up: moto
/// finds a user by email by walking the pool's users, and a sign-up on
/// another of the server's threads adds one mid-walk ("dictionary changed
/// size during iteration", a 500 that failed a person's sign-in under the
/// test command's load). The pool's calls take turns (`src/patches/`),
/// as Cognito's answers are each whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_pool_finds_its_users_by_email_while_others_sign_up() {
    use kit::signed::json_protocol::{COGNITO_IDP, JsonApi};
    use serde_json::json;
    let conf = shared().sdk_config().await;
    let idp = std::sync::Arc::new(JsonApi::new(&conf, COGNITO_IDP));
    let pool = idp
        .call(
            "CreateUserPool",
            &json!({ "PoolName": unique("signing-up"), "UsernameAttributes": ["email"] }),
        )
        .await
        .unwrap();
    let pool = pool["UserPool"]["Id"].as_str().unwrap().to_owned();
    let email = |who: &str| format!("{who}@example.com");
    let create = move |who: String| json!({ "UserPoolId": pool, "Username": email(&who) });
    idp.call("AdminCreateUser", &create("first".into()))
        .await
        .unwrap();
    // Four at once, each way: the server answers each call on a thread.
    let signing_up: Vec<_> = (0..4)
        .map(|t| {
            let (idp, create) = (idp.clone(), create.clone());
            tokio::spawn(async move {
                let mut refused = Vec::new();
                for i in 0..250 {
                    let user = create(format!("new-{t}-{i}"));
                    if let Err(e) = idp.call("AdminCreateUser", &user).await {
                        refused.push(format!("{} {}", e.status, e.kind));
                    }
                }
                refused
            })
        })
        .collect();
    let busy: Vec<_> = signing_up.iter().map(|s| s.abort_handle()).collect();
    let busy = std::sync::Arc::new(busy);
    let lookups: Vec<_> = (0..4)
        .map(|_| {
            let (idp, create, busy) = (idp.clone(), create.clone(), busy.clone());
            tokio::spawn(async move {
                let mut answers = std::collections::BTreeMap::<String, usize>::new();
                while busy.iter().any(|s| !s.is_finished()) {
                    // Nobody has this address: each lookup walks the pool.
                    let found = idp.call("AdminGetUser", &create("nobody".into())).await;
                    let answer = found
                        .map_or_else(|e| format!("{} {}", e.status, e.kind), |_| "found".into());
                    *answers.entry(answer).or_default() += 1;
                }
                answers
            })
        })
        .collect();
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for lookup in lookups {
        for (answer, n) in lookup.await.unwrap() {
            *answers.entry(answer).or_default() += n;
        }
    }
    let mut refused = Vec::new();
    for s in signing_up {
        refused.extend(s.await.unwrap());
    }
    assert_eq!(refused, Vec::<String>::new(), "sign-ups refused");
    let looked_up: usize = answers.values().sum();
    assert!(
        looked_up > 100,
        "only {looked_up} lookups during the sign-ups"
    );
    assert_eq!(
        answers.keys().collect::<Vec<_>>(),
        ["400 UserNotFoundException"],
        "the answers of {looked_up} lookups: {answers:?}"
    );
}
