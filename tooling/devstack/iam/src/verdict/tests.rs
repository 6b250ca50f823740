use super::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/notifications-ApiFunctionRole-X1";
const SESSION: &str =
    "arn:aws:sts::123456789012:assumed-role/notifications-ApiFunctionRole-X1/notifications-Api";
const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/notifications-Table";

fn place() -> Place {
    Place {
        account: "123456789012".into(),
        region: "us-east-1".into(),
    }
}

fn policy(name: &str, json: serde_json::Value) -> NamedPolicy {
    NamedPolicy::parse(name, &json.to_string()).unwrap()
}

fn call(action: &str, resource: &str) -> Call {
    Call::new(action, resource)
}

fn verdict(identity: &[NamedPolicy], resource: Option<&NamedPolicy>, c: &Call) -> Verdict {
    let caller = Caller::Role {
        arn: ROLE.into(),
        session: Some(SESSION.into()),
        tags: Vec::new(),
    };
    judge(&caller, identity, resource, c, &place())
}

/// A browser's session of the identity pool's role, tagged with its
/// user (the pool maps the ID token's `sub` to `user_id`).
fn tagged(identity: &[NamedPolicy], c: &Call, user: &str) -> Verdict {
    let caller = Caller::Role {
        arn: ROLE.into(),
        session: Some(SESSION.into()),
        tags: vec![("user_id".into(), user.into())],
    };
    judge(&caller, identity, None, c, &place())
}

/// What the todos stack gives the browsers' role: listing and reading
/// under the user's own prefix, named by the session's tag.
fn own_prefix(condition: bool) -> NamedPolicy {
    let mut list = serde_json::json!({"Sid": "ListOwnFiles", "Effect": "Allow",
        "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::files"});
    if condition {
        list["Condition"] = serde_json::json!(
            {"StringLike": {"s3:prefix": "users/${aws:PrincipalTag/user_id}/*"}});
    }
    policy(
        "role policy BrowserFiles",
        serde_json::json!({"Version": "2012-10-17", "Statement": [list,
            {"Sid": "ReadOwnFiles", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::files/users/${aws:PrincipalTag/user_id}/*"}]}),
    )
}

/// The platform's BrowserRole trust policy, for the identity pool `pool`.
fn browser_trust(pool: &str) -> NamedPolicy {
    NamedPolicy::parse_trust(
        "trust policy of BrowserRole",
        &serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": pool},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}}]})
        .to_string(),
    )
    .unwrap()
}

fn web_identity(pool: &str, amr: &[&str]) -> Caller {
    Caller::Federated {
        provider: "cognito-identity.amazonaws.com".into(),
        keys: vec![
            (
                "cognito-identity.amazonaws.com:aud".into(),
                vec![pool.into()],
            ),
            (
                "cognito-identity.amazonaws.com:amr".into(),
                amr.iter().map(|a| a.to_string()).collect(),
            ),
        ],
    }
}

#[test]
fn a_role_trusts_only_the_identity_pool_and_the_kind_of_identity_it_names() {
    let role = "arn:aws:iam::123456789012:role/platform-BrowserRole";
    let trust = browser_trust("us-east-1:pool");
    let assume = call("sts:AssumeRoleWithWebIdentity", role);
    let signed_in = [
        "authenticated",
        "cognito-idp.us-east-1.amazonaws.com/us-east-1_P",
    ];
    let judged = |caller: &Caller, c: &Call| judge(caller, &[], Some(&trust), c, &place());
    let ok = judged(&web_identity("us-east-1:pool", &signed_in), &assume);
    assert!(ok.allowed, "{ok:?}");
    let tags = judged(
        &web_identity("us-east-1:pool", &signed_in),
        &call("sts:TagSession", role),
    );
    assert!(tags.allowed);
    assert!(!judged(&web_identity("us-east-1:other", &signed_in), &assume).allowed);
    assert!(
        !judged(
            &web_identity("us-east-1:pool", &["unauthenticated"]),
            &assume
        )
        .allowed
    );
    let service = Caller::Service {
        name: "cognito-identity.amazonaws.com".into(),
        source_arn: String::new(),
    };
    assert!(
        !judged(&service, &assume).allowed,
        "a service is not the federated principal"
    );
}

#[test]
fn a_principal_tag_confines_a_session_to_its_own_prefix() {
    let read = |key: &str| call("s3:GetObject", &format!("arn:aws:s3:::files/{key}"));
    let policies = [own_prefix(true)];
    assert!(tagged(&policies, &read("users/ada/todos/1/a"), "ada").allowed);
    let v = tagged(&policies, &read("users/bob/todos/1/a"), "ada");
    assert!(!v.allowed, "another user's file");
    let list = |prefix: &str| {
        let mut c = call("s3:ListBucket", "arn:aws:s3:::files");
        c.context.push(("s3:prefix".into(), prefix.into()));
        c
    };
    let v = tagged(&policies, &list("users/ada/"), "ada");
    assert!(v.allowed, "{v:?}");
    assert_eq!(
        v.statement.as_deref(),
        Some("role policy BrowserFiles, statement ListOwnFiles")
    );
    assert!(!tagged(&policies, &list("users/bob/"), "ada").allowed);
    assert!(!tagged(&policies, &list(""), "ada").allowed);
    // Without the tag condition the listing is anyone's.
    let open = [own_prefix(false)];
    assert!(tagged(&open, &list("users/bob/"), "ada").allowed);
    // Without a tag the variable names nothing: nothing is allowed.
    let untagged = verdict(&policies, None, &read("users/ada/todos/1/a"));
    assert!(!untagged.allowed);
}

/// What SAM's DynamoDBCrudPolicy becomes, for one table.
fn crud() -> NamedPolicy {
    policy(
        "role policy ApiFunctionRolePolicy0",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": [
            "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan",
            "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem",
            "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"],
            "Resource": [TABLE, format!("{TABLE}/index/*")]}]}),
    )
}

/// A kept state carries policies to other processes as text: each
/// arrives as it was read, a trust policy's `*` and a 2008 document's
/// literal variables included.
#[test]
fn a_policy_arrives_as_it_was_read() {
    let legacy = policy(
        "role policy Legacy",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::files/${aws:username}/*"}]}),
    );
    for read in [crud(), own_prefix(true), browser_trust("pool"), legacy] {
        let text = serde_json::to_string(&read).unwrap();
        let arrived: NamedPolicy = serde_json::from_str(&text).unwrap();
        assert_eq!(arrived.name, read.name);
        assert_eq!(arrived.document, read.document, "{text}");
        assert_eq!(arrived.varying, read.varying, "{text}");
    }
    let broken = r#"{"name": "role policy Broken", "document": "{\"Statement\": 1"}"#;
    let refused = serde_json::from_str::<NamedPolicy>(broken).unwrap_err();
    assert!(
        refused.to_string().contains("role policy Broken"),
        "{refused}"
    );
}

#[test]
fn an_allow_names_its_statement_and_nothing_else_allows() {
    let v = verdict(&[crud()], None, &call("dynamodb:PutItem", TABLE));
    assert_eq!(
        v,
        Verdict {
            allowed: true,
            statement: Some("role policy ApiFunctionRolePolicy0, statement #1".into()),
            lacking: None,
        }
    );
    let other = "arn:aws:dynamodb:us-east-1:123456789012:table/todos-Table";
    let v = verdict(&[crud()], None, &call("dynamodb:PutItem", other));
    assert!(!v.allowed);
    assert_eq!(v.reason(), "no statement allows it");
    let v = verdict(
        &[crud()],
        None,
        &call("dynamodb:Query", &format!("{TABLE}/index/byUser")),
    );
    assert!(v.allowed, "the index wildcard allows the index");
    assert!(!verdict(&[], None, &call("dynamodb:GetItem", TABLE)).allowed);
}

#[test]
fn an_explicit_deny_wins_wherever_it_is() {
    let deny = policy(
        "role policy NoDeletes",
        serde_json::json!({"Statement": [{"Sid": "NoDeletes", "Effect": "Deny",
            "Action": "dynamodb:Delete*", "Resource": "*"}]}),
    );
    let v = verdict(
        &[crud(), deny.clone()],
        None,
        &call("dynamodb:DeleteItem", TABLE),
    );
    assert_eq!(
        v,
        Verdict::refused("role policy NoDeletes, statement NoDeletes")
    );
    assert!(verdict(&[crud(), deny], None, &call("dynamodb:GetItem", TABLE)).allowed);
}

#[test]
fn not_action_and_not_resource_invert_their_lists() {
    let all_but_delete = policy(
        "role policy AllButDelete",
        serde_json::json!({"Statement": [{"Effect": "Allow",
            "NotAction": ["dynamodb:DeleteItem"], "NotResource": "arn:aws:dynamodb:*:*:table/secret*"}]}),
    );
    let p = [all_but_delete];
    assert!(verdict(&p, None, &call("dynamodb:GetItem", TABLE)).allowed);
    assert!(!verdict(&p, None, &call("dynamodb:DeleteItem", TABLE)).allowed);
    let secret = "arn:aws:dynamodb:us-east-1:123456789012:table/secrets"; // pragma: allowlist secret (a field name, no secret)
    assert!(!verdict(&p, None, &call("dynamodb:GetItem", secret)).allowed);
}

#[test]
fn a_resource_policy_allows_the_role_it_names_and_denies_plain_http() {
    let bucket = "arn:aws:s3:::attachments";
    let object = "arn:aws:s3:::attachments/users/u1/f.png";
    let bucket_policy = policy(
        "bucket policy of attachments",
        serde_json::json!({"Statement": [
            {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [bucket, format!("{bucket}/*")],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "Uploads", "Effect": "Allow", "Principal": {"AWS": ROLE},
             "Action": "s3:PutObject", "Resource": format!("{bucket}/*")}]}),
    );
    let v = verdict(&[], Some(&bucket_policy), &call("s3:PutObject", object));
    assert_eq!(
        v.statement.as_deref(),
        Some("bucket policy of attachments, statement Uploads")
    );
    assert!(v.allowed);
    assert!(!verdict(&[], Some(&bucket_policy), &call("s3:GetObject", object)).allowed);
    let mut plain = call("s3:PutObject", object);
    plain
        .context
        .push(("aws:SecureTransport".into(), "false".into()));
    let v = verdict(&[], Some(&bucket_policy), &plain);
    assert!(!v.allowed, "over plain HTTP");
    assert_eq!(
        v.statement.as_deref(),
        Some("bucket policy of attachments, statement TlsOnly")
    );
}

#[test]
fn an_action_without_a_resource_type_needs_a_statement_on_star() {
    let scoped = policy(
        "role policy Scoped",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "states:SendTaskSuccess",
            "Resource": "arn:aws:states:us-east-1:123456789012:stateMachine:flow"}]}),
    );
    let star = policy(
        "role policy Star",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "states:SendTask*", "Resource": "*"}]}),
    );
    assert!(!verdict(&[scoped], None, &call("states:SendTaskSuccess", "*")).allowed);
    assert!(verdict(&[star], None, &call("states:SendTaskSuccess", "*")).allowed);
}

#[test]
fn conditions_on_the_context_the_local_cloud_fills() {
    let only_here = policy(
        "role policy Region",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}]}),
    );
    let topic = "arn:aws:sns:us-east-1:123456789012:dlq";
    assert!(!verdict(&[only_here], None, &call("sns:Publish", topic)).allowed);
    let arn_like = policy(
        "role policy Principal",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/notifications-*"}}}]}),
    );
    assert!(verdict(&[arn_like], None, &call("sns:Publish", topic)).allowed);
}

#[test]
fn a_publisher_limited_to_its_own_source_may_put_only_that_source() {
    let own_source = policy(
        "role policy Publish",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "events:PutEvents",
            "Resource": "arn:aws:events:us-east-1:123456789012:event-bus/app-bus",
            "Condition": {"StringEquals": {"events:source": "app.todos"}}}]}),
    );
    let bus = "arn:aws:events:us-east-1:123456789012:event-bus/app-bus";
    let put = |source: &str| call("events:PutEvents", bus).with("events:source", source);
    assert!(verdict(std::slice::from_ref(&own_source), None, &put("app.todos")).allowed);
    assert!(!verdict(&[own_source], None, &put("app.users")).allowed);
}

/// The services' key policy, as the templates write it (the account
/// administers; SNS encrypts for the queue; this stack's roles publish
/// through SNS).
fn key_policy(with_roles: bool) -> NamedPolicy {
    let root = "arn:aws:iam::123456789012:root";
    let mut statements = vec![
        serde_json::json!({"Sid": "TheAccountAdministersTheKey", "Effect": "Allow",
            "Principal": {"AWS": root}, "Action": ["kms:Describe*", "kms:Put*"], "Resource": "*"}),
        serde_json::json!({"Sid": "SnsEncryptsForTheQueue", "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}),
    ];
    if with_roles {
        statements.push(serde_json::json!({"Sid": "ThisStacksRolesPublishThroughSns",
            "Effect": "Allow", "Principal": {"AWS": root},
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com",
                                 "kms:CallerAccount": "123456789012"},
                "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/notifications-*"}}}));
    }
    policy(
        "key policy of MessagesKey",
        serde_json::json!({"Statement": statements}),
    )
}

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn role_may_use_the_key() -> NamedPolicy {
    policy(
        "role policy Key",
        serde_json::json!({"Statement": [{"Effect": "Allow",
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": KEY}]}),
    )
}

#[test]
fn a_key_used_through_sns_needs_the_key_policys_delegation_and_the_roles_grant() {
    let through_sns =
        call("kms:GenerateDataKey", KEY).with("kms:ViaService", "sns.us-east-1.amazonaws.com");
    let both = verdict(
        &[role_may_use_the_key()],
        Some(&key_policy(true)),
        &through_sns,
    );
    assert!(both.allowed, "{both:?}");
    assert_eq!(
        both.statement.as_deref(),
        Some("key policy of MessagesKey, statement ThisStacksRolesPublishThroughSns")
    );
    // The key policy no longer delegates: the role's own grant is not enough.
    assert!(
        !verdict(
            &[role_may_use_the_key()],
            Some(&key_policy(false)),
            &through_sns
        )
        .allowed
    );
    // The role grants nothing: the delegation alone is not enough.
    assert!(!verdict(&[crud()], Some(&key_policy(true)), &through_sns).allowed);
    // Not through SNS: the delegation's condition fails.
    let direct = call("kms:GenerateDataKey", KEY);
    assert!(!verdict(&[role_may_use_the_key()], Some(&key_policy(true)), &direct).allowed);
}

#[test]
fn a_service_is_judged_by_the_resource_policy_alone_with_its_source() {
    let topic = "arn:aws:sns:us-east-1:123456789012:notifications-DeadLetterTopic";
    let queue = "arn:aws:sqs:us-east-1:123456789012:notifications-DeadLetterQueue";
    let queue_policy = policy(
        "queue policy of notifications-DeadLetterQueue",
        serde_json::json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": queue, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}),
    );
    let sns = |source: &str| Caller::Service {
        name: "sns.amazonaws.com".into(),
        source_arn: source.into(),
    };
    let send = call("sqs:SendMessage", queue);
    assert!(judge(&sns(topic), &[], Some(&queue_policy), &send, &place()).allowed);
    let other = "arn:aws:sns:us-east-1:123456789012:someone-elses";
    assert!(!judge(&sns(other), &[], Some(&queue_policy), &send, &place()).allowed);
    assert!(
        !judge(&sns(topic), &[], None, &send, &place()).allowed,
        "no queue policy"
    );
    // SNS encrypting for the queue: the key policy names the service.
    let encrypt = call("kms:GenerateDataKey", KEY);
    assert!(
        judge(
            &sns(topic),
            &[],
            Some(&key_policy(false)),
            &encrypt,
            &place()
        )
        .allowed
    );
}

#[test]
fn nobody_gets_in_only_where_a_resource_policy_names_every_principal() {
    let object = "arn:aws:s3:::todos-attachments/users/u1/a.png";
    let get = call("s3:GetObject", object);
    let public = policy(
        "bucket policy of todos-attachments",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*",
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::todos-attachments/*"}]}),
    );
    let account_only = policy(
        "bucket policy of todos-attachments",
        serde_json::json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::todos-attachments/*"}]}),
    );
    let anonymous = |p: Option<&NamedPolicy>| judge(&Caller::Anonymous, &[], p, &get, &place());
    assert!(anonymous(Some(&public)).allowed);
    assert!(!anonymous(Some(&account_only)).allowed);
    assert!(!anonymous(None).allowed);
}

/// A function's policy as Lambda's GetPolicy hands it out for the
/// template's permissions (SAM's for a rule and a bucket): the
/// condition keys spelled `AWS:`, as AddPermission writes them.
#[test]
fn a_functions_permissions_let_in_only_their_rule_and_their_account() {
    let function = "arn:aws:lambda:us-east-1:123456789012:function:todos-OnUserDeleted";
    let rule = "arn:aws:events:us-east-1:123456789012:rule/bus/todos-UserDeleted";
    let function_policy = policy(
        "function policy of todos-OnUserDeleted",
        serde_json::json!({"Version": "2012-10-17", "Id": "default", "Statement": [
            {"Sid": "a", "Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Principal": {"Service": "events.amazonaws.com"}, "Resource": function,
             "Condition": {"ArnLike": {"AWS:SourceArn": rule}}},
            {"Sid": "b", "Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Principal": {"Service": "s3.amazonaws.com"}, "Resource": function,
             "Condition": {"StringEquals": {"AWS:SourceAccount": "123456789012"}}}]}),
    );
    let by = |name: &str, source: &str| Caller::Service {
        name: name.into(),
        source_arn: source.into(),
    };
    let invoke = call("lambda:InvokeFunction", function);
    let verdict = |caller: &Caller, policy: Option<&NamedPolicy>| {
        judge(caller, &[], policy, &invoke, &place()).allowed
    };
    let events = by("events.amazonaws.com", rule);
    assert!(verdict(&events, Some(&function_policy)));
    let other_rule = "arn:aws:events:us-east-1:123456789012:rule/bus/other";
    assert!(!verdict(
        &by("events.amazonaws.com", other_rule),
        Some(&function_policy)
    ));
    assert!(verdict(
        &by("s3.amazonaws.com", "arn:aws:s3:::bucket"),
        Some(&function_policy)
    ));
    assert!(!verdict(
        &by("sns.amazonaws.com", rule),
        Some(&function_policy)
    ));
    assert!(!verdict(&events, None), "no permission at all");
}

/// A Deny whose principal is the account (its id, or its root) covers
/// every principal of the account, its roles' sessions included; an
/// Allow naming the account only delegates to the identity policies.
#[test]
fn a_resource_policys_deny_on_the_account_covers_its_roles() {
    let object = "arn:aws:s3:::todos-attachments/users/u1/a.png";
    let get = call("s3:GetObject", object);
    for account in ["123456789012", "arn:aws:iam::123456789012:root"] {
        let bucket_policy = policy(
            "bucket policy of todos-attachments",
            serde_json::json!({"Statement": [{"Sid": "NoReads", "Effect": "Deny",
                "Principal": {"AWS": account}, "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::todos-attachments/*"}]}),
        );
        let reads = policy(
            "role policy Reads",
            serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                "Resource": "*"}]}),
        );
        let v = verdict(&[reads], Some(&bucket_policy), &get);
        assert_eq!(
            (v.allowed, v.reason()),
            (
                false,
                "bucket policy of todos-attachments, statement NoReads".to_owned()
            ),
            "{account}"
        );
    }
    let delegates = policy(
        "bucket policy of todos-attachments",
        serde_json::json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "123456789012"}, "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::todos-attachments/*"}]}),
    );
    assert!(!verdict(&[], Some(&delegates), &get).allowed);
}

/// `{"AWS": "*"}` is every principal, as `"*"` is: a service
/// delivering and an anonymous caller included.
#[test]
fn every_aws_principal_includes_services_and_anonymous_callers() {
    let queue = "arn:aws:sqs:us-east-1:123456789012:q";
    let deny_all = policy(
        "queue policy of q",
        serde_json::json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
             "Action": "sqs:SendMessage", "Resource": queue},
            {"Sid": "Closed", "Effect": "Deny", "Principal": {"AWS": "*"},
             "Action": "sqs:SendMessage", "Resource": queue}]}),
    );
    let sns = Caller::Service {
        name: "sns.amazonaws.com".into(),
        source_arn: "arn:aws:sns:us-east-1:123456789012:t".into(),
    };
    let send = call("sqs:SendMessage", queue);
    let v = judge(&sns, &[], Some(&deny_all), &send, &place());
    assert_eq!(v.reason(), "queue policy of q, statement Closed");
    let open = policy(
        "queue policy of q",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": "sqs:SendMessage", "Resource": queue}]}),
    );
    assert!(judge(&Caller::Anonymous, &[], Some(&open), &send, &place()).allowed);
}

/// Condition operators are matched without regard to case: a policy
/// spelling one otherwise is judged, not dropped as unreadable.
#[test]
fn a_condition_operator_in_another_case_still_holds() {
    let deny = NamedPolicy::parse(
        "role policy Region",
        &serde_json::json!({"Statement": [
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
            {"Sid": "OnlyEu", "Effect": "Deny", "Action": "sns:Publish", "Resource": "*",
             "Condition": {"stringnotequalsIFEXISTS": {"aws:RequestedRegion": "eu-west-1"},
                           "forallvalues:stringequals": {"aws:TagKeys": ["a"]}}}]})
        .to_string(),
    )
    .expect("a readable policy");
    let v = verdict(
        &[deny],
        None,
        &call("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t"),
    );
    assert_eq!(v.reason(), "role policy Region, statement OnlyEu");
}

/// `aws:ResourceAccount` is filled on every request: the resource's
/// account, or the caller's where its ARN names none (S3).
#[test]
fn the_resource_account_is_filled() {
    let only_ours = policy(
        "role policy Ours",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage", "s3:GetObject"],
            "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceAccount": "123456789012"}}}]}),
    );
    let ours = "arn:aws:sqs:us-east-1:123456789012:q";
    let theirs = "arn:aws:sqs:us-east-1:210987654321:q";
    let p = [only_ours];
    assert!(verdict(&p, None, &call("sqs:SendMessage", ours)).allowed);
    assert!(!verdict(&p, None, &call("sqs:SendMessage", theirs)).allowed);
    assert!(verdict(&p, None, &call("s3:GetObject", "arn:aws:s3:::b/k")).allowed);
}

/// A policy variable in a condition's value is the request's value,
/// as in a resource.
#[test]
fn a_variable_in_a_conditions_value_is_substituted() {
    let ours = "arn:aws:sqs:us-east-1:123456789012:q";
    let theirs = "arn:aws:sqs:us-east-1:210987654321:q";
    let only_elsewhere = policy(
        "role policy Elsewhere",
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
            {"Sid": "NotHere", "Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}}]}),
    );
    let p = [only_elsewhere];
    let v = verdict(&p, None, &call("sqs:SendMessage", ours));
    assert_eq!(v.reason(), "role policy Elsewhere, statement NotHere");
    // The other account's queue lets this account in, as it must.
    let lets_us_in = policy(
        "queue policy of q",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
            "Principal": {"AWS": "123456789012"}, "Resource": theirs}]}),
    );
    let sent = verdict(&p, Some(&lets_us_in), &call("sqs:SendMessage", theirs));
    assert!(sent.allowed, "{sent:?}");
}

/// In a 2008-10-17 document (or one without a Version) `${…}` is
/// literal text: IAM substitutes variables only under 2012-10-17.
#[test]
fn a_2008_documents_variables_are_literal() {
    let object = "arn:aws:s3:::b/123456789012/k";
    let with = |version: Option<&str>| {
        let mut doc = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/${aws:PrincipalAccount}/*"}]});
        if let Some(v) = version {
            doc["Version"] = v.into();
        }
        policy("role policy Prefix", doc)
    };
    let get = call("s3:GetObject", object);
    assert!(verdict(&[with(Some("2012-10-17"))], None, &get).allowed);
    assert!(!verdict(&[with(Some("2008-10-17"))], None, &get).allowed);
    assert!(!verdict(&[with(None)], None, &get).allowed);
    let literal = call("s3:GetObject", "arn:aws:s3:::b/${aws:PrincipalAccount}/k");
    assert!(verdict(&[with(None)], None, &literal).allowed);
}

/// A resource policy naming the role's session matches that session's
/// calls, in an Allow and in a Deny; another session of the role is
/// not it.
#[test]
fn a_role_session_principal_matches_that_session() {
    let object = "arn:aws:s3:::b/k";
    let get = call("s3:GetObject", object);
    let naming = |effect: &str, session: &str| {
        policy(
            "bucket policy of b",
            serde_json::json!({"Statement": [
                {"Sid": "ToTheSession", "Effect": effect, "Principal": {"AWS": session},
                 "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}),
        )
    };
    let reads = policy(
        "role policy Reads",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}),
    );
    let v = verdict(&[], Some(&naming("Allow", SESSION)), &get);
    assert_eq!(v.reason(), "bucket policy of b, statement ToTheSession");
    let v = verdict(
        std::slice::from_ref(&reads),
        Some(&naming("Deny", SESSION)),
        &get,
    );
    assert_eq!(
        (v.allowed, v.reason()),
        (
            false,
            "bucket policy of b, statement ToTheSession".to_owned()
        )
    );
    let other = "arn:aws:sts::123456789012:assumed-role/notifications-ApiFunctionRole-X1/other";
    assert!(!verdict(&[], Some(&naming("Allow", other)), &get).allowed);
    assert!(verdict(&[reads], Some(&naming("Deny", other)), &get).allowed);
}

/// The platform's bus, in an account of its own; the todos team's role
/// in the team's account.
const PLATFORM_BUS: &str = "arn:aws:events:us-east-1:111111111111:event-bus/app-bus";
const TEAM_ROLE: &str = "arn:aws:iam::222222222222:role/todos-PublisherRole-X";

fn team_put(source: &str, bus_policy: Option<&NamedPolicy>, own: &[NamedPolicy]) -> Verdict {
    let caller = Caller::Role {
        arn: TEAM_ROLE.into(),
        session: Some("arn:aws:sts::222222222222:assumed-role/todos-PublisherRole-X/p".into()),
        tags: Vec::new(),
    };
    let put = call("events:PutEvents", PLATFORM_BUS).with("events:source", source);
    judge(&caller, own, bus_policy, &put, &place())
}

fn may_publish() -> NamedPolicy {
    policy(
        "role policy Publish",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "events:PutEvents",
            "Resource": PLATFORM_BUS}]}),
    )
}

/// The bus's policy as the platform stack writes it: each team's account
/// publishes its own source.
fn bus_policy(accounts: &[(&str, &str)]) -> NamedPolicy {
    let statements: Vec<_> = accounts
        .iter()
        .map(|(account, source)| {
            serde_json::json!({"Sid": format!("{source}Publishes"), "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": "events:PutEvents", "Resource": PLATFORM_BUS,
                "Condition": {"StringEquals": {"events:source": source}}})
        })
        .collect();
    policy(
        "bus policy of app-bus",
        serde_json::json!({"Statement": statements}),
    )
}

#[test]
fn across_accounts_the_callers_policies_and_the_resources_must_both_allow() {
    let bus = bus_policy(&[("222222222222", "app.todos")]);
    let both = team_put("app.todos", Some(&bus), &[may_publish()]);
    assert!(both.allowed, "{both:?}");
    assert_eq!(
        both.statement.as_deref(),
        Some("bus policy of app-bus, statement app.todosPublishes")
    );
    let no_identity = team_put("app.todos", Some(&bus), &[]);
    assert_eq!(
        (no_identity.allowed, no_identity.lacking),
        (false, Some(Side::Identity))
    );
    let no_bus_policy = team_put("app.todos", None, &[may_publish()]);
    assert_eq!(
        (no_bus_policy.allowed, no_bus_policy.lacking),
        (false, Some(Side::Resource))
    );
    assert_eq!(no_bus_policy.reason(), "no resource-based policy allows it");
}

#[test]
fn a_bus_policy_lets_a_team_publish_only_its_own_source_and_forgets_no_account() {
    let bus = bus_policy(&[("222222222222", "app.todos"), ("333333333333", "app.users")]);
    assert!(team_put("app.todos", Some(&bus), &[may_publish()]).allowed);
    let other = team_put("app.users", Some(&bus), &[may_publish()]);
    assert_eq!(
        (other.allowed, other.lacking),
        (false, Some(Side::Resource))
    );
    let forgotten = bus_policy(&[("333333333333", "app.users")]);
    assert!(!team_put("app.todos", Some(&forgotten), &[may_publish()]).allowed);
}

#[test]
fn in_one_account_either_side_still_allows() {
    let caller = Caller::Role {
        arn: "arn:aws:iam::111111111111:role/platform-R".into(),
        session: None,
        tags: Vec::new(),
    };
    let put = call("events:PutEvents", PLATFORM_BUS).with("events:source", "app.todos");
    let own = policy(
        "role policy Publish",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "events:PutEvents",
            "Resource": PLATFORM_BUS}]}),
    );
    assert!(judge(&caller, &[own], None, &put, &place()).allowed);
}

#[test]
fn rule_management_across_accounts_reaches_only_the_rules_the_account_created() {
    let rules = policy(
        "bus policy of app-bus",
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "TeamsManageTheirOwnRules", "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root"]},
            "Action": ["events:PutRule", "events:DeleteRule"],
            "Resource": "arn:aws:events:us-east-1:111111111111:rule/app-bus/*",
            "Condition": {"StringEqualsIfExists":
                {"events:creatorAccount": "${aws:PrincipalAccount}"}}}]}),
    );
    let manage = policy(
        "role policy Rules",
        serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "events:*Rule",
            "Resource": "*"}]}),
    );
    let caller = Caller::Role {
        arn: TEAM_ROLE.into(),
        session: None,
        tags: Vec::new(),
    };
    let rule = "arn:aws:events:us-east-1:111111111111:rule/app-bus/todos-OnUserDeleted";
    let delete =
        |creator: &str| call("events:DeleteRule", rule).with("events:creatorAccount", creator);
    let own = judge(
        &caller,
        std::slice::from_ref(&manage),
        Some(&rules),
        &delete("222222222222"),
        &place(),
    );
    assert!(own.allowed, "{own:?}");
    let theirs = judge(
        &caller,
        &[manage],
        Some(&rules),
        &delete("333333333333"),
        &place(),
    );
    assert_eq!(
        (theirs.allowed, theirs.lacking),
        (false, Some(Side::Resource))
    );
}
