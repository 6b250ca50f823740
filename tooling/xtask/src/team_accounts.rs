//! Each team's account in the platform stack, written from the one list
//! of services: a parameter naming the account the team deploys into,
//! and the bus policy's statements that let it publish only its own
//! source and manage only the rules it created. Three blocks of
//! `infra/template.yaml`, each between its markers, so that a new service
//! (`cargo xtask new-service`, then `cargo xtask ci`) gets its account
//! without a hand edit, and a stale block fails the generated files'
//! check.

use anyhow::{Context, Result};

/// The blocks, by the marker line's name.
const BLOCKS: [&str; 3] = ["parameters", "conditions", "resources"];

fn begin(block: &str) -> String {
    format!("  # team accounts ({block}): written by `cargo xtask ci` from the one list\n")
}

fn end(block: &str) -> String {
    format!("  # end of team accounts ({block})\n")
}

use repo::team_title as title;

/// The account a team's statements name: its parameter, or the
/// platform's own account when the parameter is empty (one account).
fn account(team: &str) -> String {
    format!("!If [{team}Elsewhere, !Ref {team}Account, !Ref AWS::AccountId]")
}

fn parameters(services: &[&str]) -> String {
    services
        .iter()
        .map(|s| {
            let team = title(s);
            format!(
                r#"  {team}Account:
    Type: String
    Default: ""
    AllowedPattern: "^([0-9]{{12}})?$"
    Description: >-
      The AWS account the {s} team deploys its stack into, or empty for
      this account (a sandbox of one account). The bus's policy lets it
      publish only source app.{s} and manage only the rules it created.
"#
            )
        })
        .collect()
}

fn conditions(services: &[&str]) -> String {
    services
        .iter()
        .map(|s| {
            let team = title(s);
            format!("  {team}Elsewhere: !Not [!Equals [!Ref {team}Account, \"\"]]\n")
        })
        .collect()
}

fn resources(services: &[&str]) -> String {
    let mut y = String::from(
        "  # Each team's account publishes its own source and no other. In one\n  \
         # account these change nothing: the account's own roles are judged by\n  \
         # their identity policies alone.\n",
    );
    for s in services {
        let team = title(s);
        let account = account(&team);
        y.push_str(&format!(
            r#"  {team}Publishes:
    Type: AWS::Events::EventBusPolicy
    Properties:
      EventBusName: !GetAtt Bus.Name
      StatementId: {team}Publishes
      Statement:
        Effect: Allow
        Principal:
          AWS: !Sub
            - "arn:${{AWS::Partition}}:iam::${{Account}}:root"
            - Account: {account}
        Action: events:PutEvents
        Resource: !GetAtt Bus.Arn
        Condition:
          StringEquals: {{ events:source: app.{s} }}

"#
        ));
    }
    y.push_str(
        r#"  # Each team's stack puts its consumers' rules on this bus; each account
  # may change and delete only the rules it created.
  TeamsManageTheirOwnRules:
    Type: AWS::Events::EventBusPolicy
    Properties:
      EventBusName: !GetAtt Bus.Name
      StatementId: TeamsManageTheirOwnRules
      Statement:
        Effect: Allow
        Principal:
          AWS:
"#,
    );
    for s in services {
        y.push_str(&format!(
            r#"            - !Sub
              - "arn:${{AWS::Partition}}:iam::${{Account}}:root"
              - Account: {}
"#,
            account(&title(s))
        ));
    }
    y.push_str(
        r#"        Action:
          - events:PutRule
          - events:PutTargets
          - events:DeleteRule
          - events:DescribeRule
          - events:EnableRule
          - events:DisableRule
          - events:RemoveTargets
          - events:ListTargetsByRule
        Resource: !Sub "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${Bus.Name}/*"
        Condition:
          StringEqualsIfExists:
            events:creatorAccount: "${aws:PrincipalAccount}"

"#,
    );
    y
}

/// `template` (the platform's) with each block written for `services`.
pub fn spliced(template: &str, services: &[&str]) -> Result<String> {
    let mut out = template.to_owned();
    for block in BLOCKS {
        let (open, close) = (begin(block), end(block));
        let start = out
            .find(&open)
            .with_context(|| format!("the platform template has no marker {:?}", open.trim()))?
            + open.len();
        let stop = start
            + out[start..].find(&close).with_context(|| {
                format!("the platform template has no marker {:?}", close.trim())
            })?;
        let text = match block {
            "parameters" => parameters(services),
            "conditions" => conditions(services),
            _ => resources(services),
        };
        out.replace_range(start..stop, &text);
    }
    Ok(out)
}

/// A platform deploy's step environment: each team's account, from the
/// platform environment's secret `<TEAM>_ACCOUNT_ID`.
pub fn deploy_env(services: &[&str]) -> String {
    services
        .iter()
        .map(|s| {
            let secret = format!("{}_ACCOUNT_ID", s.to_ascii_uppercase());
            format!("          {secret}: ${{{{ secrets.{secret} }}}}\n")
        })
        .collect()
}

/// The shell lines that gather the parameters a platform deploy sets:
/// `<Team>Account=<id>` for each team whose secret is set (SAM refuses an
/// empty `Name=`; unset, the team shares the platform's account).
pub fn deploy_overrides(services: &[&str]) -> String {
    let mut lines = String::from("          accounts=()\n");
    for s in services {
        let secret = format!("{}_ACCOUNT_ID", s.to_ascii_uppercase());
        lines.push_str(&format!(
            "          if [ -n \"${secret}\" ]; then accounts+=(\"{}Account=${secret}\"); fi\n",
            title(s)
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked() -> String {
        BLOCKS
            .iter()
            .map(|b| format!("{}old\n{}", begin(b), end(b)))
            .collect()
    }

    #[test]
    fn each_team_gets_its_account_its_source_and_a_place_among_the_rule_managers() {
        let out = spliced(&marked(), &["users", "billing"]).unwrap();
        assert!(!out.contains("old\n"));
        assert!(out.contains("  BillingAccount:\n"));
        assert!(out.contains("  BillingElsewhere: !Not [!Equals [!Ref BillingAccount, \"\"]]"));
        assert!(out.contains("StringEquals: { events:source: app.billing }"));
        let managers = out.split("TeamsManageTheirOwnRules:").nth(1).unwrap();
        assert_eq!(managers.matches(":root\"").count(), 2);
        assert_eq!(
            spliced(&out, &["users", "billing"]).unwrap(),
            out,
            "idempotent"
        );
    }

    #[test]
    fn a_template_without_its_markers_is_refused_by_name() {
        let e = spliced("Resources: {}\n", &["users"]).unwrap_err();
        assert!(e.to_string().contains("team accounts (parameters)"), "{e}");
    }

    #[test]
    fn a_platform_deploy_sets_only_the_accounts_it_was_given() {
        assert_eq!(
            deploy_env(&["users"]),
            "          USERS_ACCOUNT_ID: ${{ secrets.USERS_ACCOUNT_ID }}\n"
        );
        assert_eq!(
            deploy_overrides(&["users"]),
            "          accounts=()\n          if [ -n \"$USERS_ACCOUNT_ID\" ]; then accounts+=(\"UsersAccount=$USERS_ACCOUNT_ID\"); fi\n"
        );
    }
}
