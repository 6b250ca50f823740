//! S3's CORS as a browser meets it: a preflight is allowed by the first of
//! the bucket's rules that matches its origin, its method and every header
//! it asks for; no rule, no upload. (moto answers every preflight with a
//! wildcard, and with its global CORS off checks the origin alone.)

/// One rule of a bucket's `CorsConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    pub origins: Vec<String>,
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub expose: Vec<String>,
    pub max_age: Option<i32>,
}

/// What the browser asks: `Origin`, `Access-Control-Request-Method` and
/// the `Access-Control-Request-Headers` list (or, for the actual request,
/// its own method and no headers).
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub origin: &'a str,
    pub method: &'a str,
    pub headers: &'a str,
}

/// The first rule that allows what is asked.
pub fn allowing<'r>(rules: &'r [Rule], asked: &Asked<'_>) -> Option<&'r Rule> {
    let requested: Vec<String> = asked
        .headers
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    rules.iter().find(|rule| {
        rule.origins.iter().any(|o| wildcard(o, asked.origin))
            && rule.methods.iter().any(|m| m == asked.method)
            && requested.iter().all(|h| {
                rule.headers
                    .iter()
                    .any(|allowed| wildcard(&allowed.to_ascii_lowercase(), h))
            })
    })
}

/// The answer's `Access-Control-*` headers for an allowed preflight.
pub fn preflight_headers(rule: &Rule, asked: &Asked<'_>) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("access-control-allow-origin", allow_origin(rule, asked)),
        ("access-control-allow-methods", rule.methods.join(", ")),
        (
            "vary",
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method".into(),
        ),
    ];
    if !asked.headers.is_empty() {
        headers.push(("access-control-allow-headers", asked.headers.to_owned()));
    }
    if let Some(age) = rule.max_age {
        headers.push(("access-control-max-age", age.to_string()));
    }
    if !rule.expose.is_empty() {
        headers.push(("access-control-expose-headers", rule.expose.join(", ")));
    }
    headers
}

/// A `*` origin answers `*`; any other, the origin itself.
pub fn allow_origin(rule: &Rule, asked: &Asked<'_>) -> String {
    if rule.origins.iter().any(|o| o == "*") {
        "*".to_owned()
    } else {
        asked.origin.to_owned()
    }
}

/// S3's match: at most one `*`, anywhere in the pattern.
fn wildcard(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((head, tail)) => {
            value.len() >= head.len() + tail.len()
                && value.starts_with(head)
                && value.ends_with(tail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web_app_puts() -> Rule {
        Rule {
            origins: vec!["https://app.example.com".into()],
            methods: vec!["PUT".into()],
            headers: vec!["content-type".into()],
            max_age: Some(3000),
            ..Rule::default()
        }
    }

    #[test]
    fn the_first_rule_matching_origin_method_and_every_header_allows() {
        let rules = [web_app_puts()];
        let asked = |origin, method, headers| Asked {
            origin,
            method,
            headers,
        };
        let ok = asked("https://app.example.com", "PUT", "Content-Type");
        let rule = allowing(&rules, &ok).expect("allowed");
        let headers = preflight_headers(rule, &ok);
        assert!(headers.contains(&(
            "access-control-allow-origin",
            "https://app.example.com".into()
        )));
        assert!(headers.contains(&("access-control-max-age", "3000".into())));
        assert!(
            allowing(
                &rules,
                &asked("https://evil.example", "PUT", "content-type")
            )
            .is_none()
        );
        assert!(allowing(&rules, &asked("https://app.example.com", "DELETE", "")).is_none());
        assert!(
            allowing(
                &rules,
                &asked("https://app.example.com", "PUT", "content-type, x-amz-acl")
            )
            .is_none(),
            "a header no rule allows"
        );
        assert!(allowing(&[], &ok).is_none(), "no rule, no upload");
    }

    #[test]
    fn wildcards_in_origins_and_headers() {
        let rules = [Rule {
            origins: vec!["https://*.example.com".into()],
            methods: vec!["GET".into(), "PUT".into()],
            headers: vec!["*".into()],
            ..Rule::default()
        }];
        let asked = Asked {
            origin: "https://preview.example.com",
            method: "PUT",
            headers: "content-type, x-anything",
        };
        assert!(allowing(&rules, &asked).is_some());
        let other = Asked {
            origin: "https://example.org",
            ..asked
        };
        assert!(allowing(&rules, &other).is_none());
    }
}
