//! The provider's HTML: its consent form and its error page. Every value
//! put in them is escaped, as most come from the request.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// The name the pages sign in to, as a real company's login would show
/// its own.
const PROVIDER: &str = "Partner IdP";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title></head><body>{body}</body></html>",
        escape(title)
    )
}

/// The form asking for the email to sign in as; `carried` are the
/// authorization request's parameters, sent back as hidden fields.
pub fn consent(carried: &[(&str, &str)]) -> Response {
    let hidden: String = (carried.iter())
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let title = format!("Sign in to {PROVIDER}");
    // Deny skips the browser's check of the required email: refusing
    // needs no address.
    let body = format!(
        "<h1>{heading}</h1>\
         <form method=\"post\" action=\"/authorize\">{hidden}\
         <p><label for=\"idp-email\">Email</label> \
         <input id=\"idp-email\" name=\"email\" type=\"email\" required></p>\
         <p><label for=\"idp-name\">Name (optional)</label> \
         <input id=\"idp-name\" name=\"name\" type=\"text\"></p>\
         <p>The application will receive your email address and name.</p>\
         <button id=\"idp-allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> \
         <button id=\"idp-deny\" type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button>\
         </form>",
        heading = escape(&title),
    );
    Html(page(&title, &body)).into_response()
}

/// A 400 for a request the provider will not answer at a redirect URI,
/// naming the `field` at fault.
pub fn error(field: &str, message: &str) -> Response {
    let body = format!(
        "<h1>Sign-in error</h1><p id=\"idp-error\" data-field=\"{field}\">\
         <strong>{field}</strong>: {message}</p>",
        field = escape(field),
        message = escape(message),
    );
    (StatusCode::BAD_REQUEST, Html(page("Sign-in error", &body))).into_response()
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_in_a_value_is_escaped() {
        assert_eq!(
            escape("\"><script>'&"),
            "&quot;&gt;&lt;script&gt;&#39;&amp;"
        );
    }
}
