//! The parameters the local cloud gives a stack on every deploy.

/// What every deploy of a stack is given, `up`'s and each redeploy's alike,
/// as a deploy workflow's `--parameter-overrides` give it each time: the
/// domain's and the federation's parameters, then `placed`, the stack's
/// account placement. A redeploy that left them to the template's
/// defaults dropped a service's API mapping on the platform's host.
pub fn given(placed: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut given = crate::custom_domain::parameters();
    given.extend(crate::federation::parameters());
    given.extend(placed);
    given
}
