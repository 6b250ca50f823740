//! Drives the web app in a real headless Chromium (Debian's, through the
//! ChromeDriver built with it), served by the local cloud. Screenshots of
//! each step land in `<target>/screenshots/`.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One browser: its own driver process and a fresh profile.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A killed driver leaves its Chromium running (found: browsers of
        // finished test runs still busy minutes later), so the whole
        // process group goes: the driver, Chromium and its helpers. A test
        // that panicked drops its browser too.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn path_from_env(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

impl Browser {
    pub async fn start() -> Browser {
        let chromium = path_from_env("CHROMIUM", CHROMIUM);
        let chromedriver = path_from_env("CHROMEDRIVER", CHROMEDRIVER);
        assert!(
            chromium.is_file() && chromedriver.is_file(),
            "no {} / {}: the test command installs Debian's chromium and chromium-driver (cargo xtask test)",
            chromium.display(),
            chromedriver.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                // As root on a closed network: no sandbox, and nothing
                // that phones home (refused connections otherwise).
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--disable-sync", "--disable-dev-shm-usage",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                    };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session: {last:?}");
    }

    pub async fn screenshot(&self, name: &str) {
        let dir = repo::profile_dir()
            .parent()
            .expect("the profile folder is inside the target folder")
            .join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Scrolls an element to the top of the window, for a screenshot.
    pub async fn scroll_to(&self, css: &str) {
        let script = format!("document.querySelector('{css}').scrollIntoView();");
        self.client.execute(&script, vec![]).await.unwrap();
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.interactable(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.interactable(css).await.click().await.unwrap();
    }

    /// The element once it is shown and enabled, as a person would wait
    /// for it: a form the app reveals after a state change (signed out,
    /// the admin section) is in the document a moment before it can be
    /// typed into (seen once: "element not interactable").
    async fn interactable(&self, css: &str) -> fantoccini::elements::Element {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await
                && e.is_displayed().await.unwrap_or(false)
                && e.is_enabled().await.unwrap_or(false)
            {
                return e;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css} was not shown and enabled within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for an element, up to `within`.
    pub async fn wait_for(&self, css: &str, within: Duration) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(within)
            .every(Duration::from_millis(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear within {within:?}: {e}"))
    }

    /// Waits until a script returns a truthy value, then returns it.
    pub async fn until(&self, what: &str, script: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let v = self.client.execute(script, vec![]).await.unwrap();
            if !(v.is_null() || v == false || v == "" || v == 0) {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{what}: not within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for `script`'s value to be `want`, and names the last value
    /// seen when it never is: what the page showed instead tells a slow
    /// page from a wrong one.
    pub async fn until_is(&self, what: &str, script: &str, want: Value, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let v = self.client.execute(script, vec![]).await.unwrap();
            if v == want {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{what}: not within {within:?}; last seen {v}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The boxes `parts` (CSS, inside the SVG `view`) as the page draws
    /// them: how many are text (`labels`), each pair that overlaps, each
    /// outside the SVG (`outside`) and each past the window's right edge
    /// (`past_window`), and the smallest text in the SVG as drawn, in
    /// pixels (its font size times the drawing's scale). A box is named by
    /// its group's `data-id` or `data-name`, else its edge's ends and label.
    pub async fn drawn(&self, view: &str, parts: &str) -> Value {
        let script = format!(
            "const view = document.querySelector('{view}'); if (!view) return null; \
             const v = view.getBoundingClientRect(); \
             const box = view.viewBox && view.viewBox.baseVal; \
             const scale = box && box.width ? v.width / box.width : 1; \
             const sizes = [...view.querySelectorAll('text')].map(t => parseFloat(getComputedStyle(t).fontSize) * scale); \
             const boxes = [...view.querySelectorAll('{parts}')].map(e => {{ \
               const g = e.closest('g'); const r = e.getBoundingClientRect(); \
               return {{ name: g.dataset.id || g.dataset.name || `${{g.dataset.from}} → ${{g.dataset.to}}: ${{g.dataset.label}}`, \
                        text: e.tagName === 'text', l: r.left, r: r.right, t: r.top, b: r.bottom }}; }}); \
             const overlaps = []; \
             boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {{ \
               if (a.l < b.r - 0.5 && b.l < a.r - 0.5 && a.t < b.b - 0.5 && b.t < a.b - 0.5) \
                 overlaps.push(`${{a.name}} | ${{b.name}}`); }})); \
             const outside = boxes.filter(b => b.l < v.left - 0.5 || b.r > v.right + 0.5 \
               || b.t < v.top - 0.5 || b.b > v.bottom + 0.5).map(b => b.name); \
             const past_window = boxes.filter(b => b.r > window.innerWidth + 0.5).map(b => b.name); \
             return {{ boxes: boxes.length, labels: boxes.filter(b => b.text).length, overlaps, outside, past_window, \
                      smallest_text: sizes.length ? Math.min(...sizes) : null, width: v.width, window: window.innerWidth }};"
        );
        self.until(&format!("{view} drawn"), &script, Duration::from_secs(10))
            .await
    }

    /// Signs up through the app's forms at `url` (on the emulator any
    /// confirmation code confirms), ending signed in.
    pub async fn sign_up(&self, url: &str, name: &str, email: &str, password: &str) {
        self.client.goto(url).await.unwrap();
        self.wait_for("#signup-form", Duration::from_secs(10)).await;
        self.fill("#signup-name", name).await;
        self.fill("#signup-email", email).await;
        self.fill("#signup-password", password).await;
        self.click("#signup-form [type=submit]").await;
        self.wait_for(
            "#confirm-form:not([hidden]) #confirm-code",
            Duration::from_secs(10),
        )
        .await;
        self.fill("#confirm-code", "123456").await;
        self.click("#confirm-form [type=submit]").await;
        self.until(
            "signed in",
            "return !document.querySelector('#app').hidden;",
            Duration::from_secs(15),
        )
        .await;
    }

    /// Fills in and sends the sign-in form, once it shows; what follows
    /// (the app, or the code step) is the caller's to wait for.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.wait_for(
            "#signin-form:not([hidden]) #signin-email",
            Duration::from_secs(10),
        )
        .await;
        self.fill("#signin-email", email).await;
        self.fill("#signin-password", password).await;
        self.click("#signin-form [type=submit]").await;
    }

    /// The session the page keeps in localStorage (null once signed out).
    pub async fn stored_session(&self) -> Value {
        self.client
            .execute(
                "return JSON.parse(localStorage.getItem('todo.session'));",
                vec![],
            )
            .await
            .unwrap()
    }

    /// Puts a mark on the page's `window`, which a reload would remove.
    pub async fn mark_document(&self) {
        self.client
            .execute("window.__sameDocument = true; return true;", vec![])
            .await
            .unwrap();
    }

    /// Whether the mark [`Browser::mark_document`] put is still there.
    pub async fn same_document(&self) -> bool {
        let v = self
            .client
            .execute("return window.__sameDocument === true;", vec![])
            .await
            .unwrap();
        v == true
    }

    /// Waits until the live connection is open.
    pub async fn live(&self) {
        self.until(
            "the live connection",
            "return document.querySelector('#live-status').dataset.state === 'open';",
            Duration::from_secs(20),
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}
