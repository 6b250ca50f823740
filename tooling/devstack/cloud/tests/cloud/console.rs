//! The local cloud's console in a real headless Chromium, on the shared
//! local cloud (`devstack_testkit::cloud::cloud`): the map draws a delivered edge with its
//! count, the live trail shows a hostile event detail as text, the
//! functions view shows the API's figures and the permissions its role
//! used, and a dead letter appears and is replayed from the page, once. Screenshots of each
//! view land in `<target>/screenshots/console-*.png`.

use std::time::Duration;

use devstack_client::walkthrough::eventually;
use reqwest::Method;
use serde_json::{Value, json};

use devstack_testkit::Browser;
use devstack_testkit::cloud::{client, cloud, sdk, unique_email};

const HOSTILE: &str = "<img src=x onerror=\"window.__pwned=1\">ship it";

fn delivered_edge() -> String {
    "document.querySelector('#map-view g.edge[data-from=\"EventBridge\"][data-to=\"notifications/ConsumerFunction\"][data-label=\"TodoCompleted\"]')".into()
}

/// Every service's resources lie in its service's box (or a folded
/// service's box lies), and that box in its account's, as the endpoints
/// file places them; the bus in the platform's account. Drawn before traffic: a service none of these
/// journeys reached is there too.
async fn accounts_hold_their_services(browser: &Browser, e: &devstack_api::Endpoints) {
    let placed = browser
        .client
        .execute(
            "const rect = (g) => g && g.querySelector('rect').getBoundingClientRect(); \
             const within = (a, b) => a && b && a.left >= b.left - 0.5 && a.right <= b.right + 0.5 \
               && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5; \
             const box = (name) => document.querySelector(`#map-view g.cluster[data-name=\"${name}\"]`); \
             const out = {}; \
             for (const n of document.querySelectorAll('#map-view g.node')) { \
               const { service, account } = n.dataset; if (!account) continue; \
               const whole = n.classList.contains('service'); \
               const home = service && !whole ? box(`service:${service}`) : box(`account:${account}`); \
               const inside = within(rect(n), rect(home)) && within(rect(home), rect(box(`account:${account}`))); \
               const key = service || n.dataset.id; \
               out[key] = out[key] === false ? false : inside && account; } \
             out.titles = [...document.querySelectorAll('#map-view g.cluster.account text')].map(t => t.textContent); \
             return out;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(placed["EventBridge"], json!(e.platform_account), "{placed}");
    for (name, s) in &e.services {
        assert!(!s.account.is_empty(), "{name} has no account");
        assert_eq!(placed[name], json!(s.account), "{name}: {placed}");
    }
    let titles = placed["titles"].to_string();
    for name in e.services.keys().map(String::as_str).chain(["platform"]) {
        assert!(
            titles.contains(name),
            "{name} in no account's name: {titles}"
        );
    }
}

/// The zoom buttons scale the drawing and "Actual size" restores it;
/// dragging the drawing pans the view.
async fn zooms_and_pans(browser: &Browser) {
    let moved = browser
        .client
        .execute(
            "const view = document.querySelector('#map-view'); \
             const width = () => view.querySelector('svg.map').getBoundingClientRect().width; \
             const actual = width(); \
             document.querySelector('#map-zoom-out').click(); const out = width(); \
             document.querySelector('#map-zoom-reset').click(); const back = width(); \
             view.scrollLeft = 0; \
             const target = view.querySelector('svg.map rect'); \
             const at = (type, x) => target.dispatchEvent(new PointerEvent(type, \
               { bubbles: true, clientX: x, clientY: 300, pointerId: 7 })); \
             at('pointerdown', 600); at('pointermove', 400); at('pointerup', 400); \
             return { actual, out, back, wider: view.scrollWidth > view.clientWidth, panned: view.scrollLeft };",
            vec![],
        )
        .await
        .unwrap();
    let (actual, out) = (
        moved["actual"].as_f64().unwrap(),
        moved["out"].as_f64().unwrap(),
    );
    assert!((out / actual - 0.85).abs() < 0.01, "{moved}");
    assert_eq!(moved["back"], moved["actual"], "{moved}");
    // The map of every journey is wider than a 1,400-pixel window: the
    // drag moved the view by the pointer's 200 pixels.
    assert_eq!(moved["wider"], json!(true), "{moved}");
    assert_eq!(moved["panned"], json!(200), "{moved}");
}

/// The first view in a 1,600 × 1,000 window: every account and service in
/// sight without a pan or a zoom, each service one box with its counts,
/// every label whole, at least 12 pixels high and over no other.
async fn the_first_view_holds_the_system(browser: &Browser, e: &devstack_api::Endpoints) {
    browser.client.set_window_size(1600, 1000).await.unwrap();
    let seen = browser
        .until(
            "the first view",
            "const view = document.querySelector('#map-view'); \
             const map = view && view.querySelector('svg.map'); if (!map) return null; \
             const v = view.getBoundingClientRect(); \
             const seen = (r) => r.left >= v.left - 0.5 && r.right <= v.right + 0.5 \
               && r.top >= v.top - 0.5 && r.bottom <= v.bottom + 0.5 \
               && r.right <= window.innerWidth + 0.5 && r.bottom <= window.innerHeight + 0.5; \
             const parts = [...map.querySelectorAll('g.node, g.cluster')]; \
             return { services: [...map.querySelectorAll('g.node.service')].map(g => g.dataset.service).sort(), \
                      counts: [...map.querySelectorAll('g.node.service text.service')].map(t => t.textContent), \
                      unseen: parts.filter(g => !seen(g.getBoundingClientRect())).map(g => g.dataset.id || g.dataset.name), \
                      cut: [...map.querySelectorAll('text')].map(t => t.textContent).filter(t => t.includes('…')) };",
            Duration::from_secs(10),
        )
        .await;
    let services: Vec<&str> = e.services.keys().map(String::as_str).collect();
    assert_eq!(seen["services"], json!(services), "{seen}");
    assert!(
        (seen["counts"].as_array().unwrap().iter())
            .any(|c| c.as_str().unwrap().contains(" functions · table")),
        "{seen}"
    );
    assert_eq!(seen["unseen"], json!([]), "{seen}");
    assert_eq!(seen["cut"], json!([]), "{seen}");
    let drawn = browser
        .drawn(
            "#map-view > svg",
            "g.edge > text, g.node > rect, g.cluster > text",
        )
        .await;
    assert_eq!(drawn["overlaps"], json!([]), "{drawn}");
    assert!(drawn["smallest_text"].as_f64().unwrap() >= 11.99, "{drawn}");
    browser.screenshot("console-map-first-view").await;
}

/// Every folded service opened by a click on its box.
async fn open_every_service(browser: &Browser) {
    browser
        .until(
            "every service open",
            "const folded = document.querySelector('#map-view g.node.service'); \
             if (!folded) return true; \
             folded.dispatchEvent(new MouseEvent('click', { bubbles: true })); return null;",
            Duration::from_secs(10),
        )
        .await;
}

/// The console at `url`, once its trail's stream is open.
async fn opened(browser: &Browser, url: &str) {
    browser.client.goto(url).await.unwrap();
    browser
        .until(
            "the trail's stream is open",
            "return document.querySelector('#status').textContent === 'live';",
            Duration::from_secs(10),
        )
        .await;
}

/// Failing attempts of the notifications consumer for a correlation id.
fn failed_attempts(correlation: &str) -> usize {
    let dir = std::path::PathBuf::from(&cloud().endpoints.telemetry_dir);
    (devstack_api::telemetry::read_hops(&dir).unwrap().iter())
        .filter(|h| h.function == "notifications/ConsumerFunction" && h.outcome != "ok")
        .filter(|h| h.correlation_ids.iter().any(|c| c == correlation))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_draws_the_delivery_shows_hostile_text_as_text_and_replays_a_dead_letter_once()
{
    let c = cloud();
    let browser = Browser::start().await;
    opened(&browser, &c.endpoints.console_url).await;
    the_first_view_holds_the_system(&browser, &c.endpoints).await;

    // A todo with a hostile title, completed.
    let api = client(&unique_email("console")).await;
    let (status, todo) = api
        .call(Method::POST, "/todos", Some(json!({ "title": HOSTILE })))
        .await
        .unwrap();
    assert_eq!(status, 201, "{todo}");
    let id = todo["id"].as_str().unwrap();
    let correlation = format!("console-{}", uuid::Uuid::new_v4().simple());
    let (status, _) = api
        .call_correlated(
            Method::PATCH,
            &format!("/todos/{id}"),
            Some(json!({"completed": true})),
            Some(&correlation),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);

    // The map: the bus's delivery to notifications, with its count, first
    // on the folded service, then on its consumer once it is open.
    browser
        .until(
            "the TodoCompleted delivery to the folded service",
            "const e = document.querySelector('#map-view g.edge[data-from=\"EventBridge\"][data-to=\"whole:notifications\"]'); \
             return e && e.dataset.label.split(', ').includes('TodoCompleted') && Number(e.dataset.count) >= 1;",
            Duration::from_secs(20),
        )
        .await;
    // Wide enough for the whole map in the screenshots.
    browser.client.set_window_size(2000, 1100).await.unwrap();
    open_every_service(&browser).await;
    let count = browser
        .until(
            "the TodoCompleted delivery on the map",
            &format!(
                "const e = {}; return e && e.dataset.live === 'true' && Number(e.dataset.count) >= 1 \
                 && [...e.querySelector('text').childNodes].map(n => n.textContent).join(' ');",
                delivered_edge()
            ),
            Duration::from_secs(20),
        )
        .await;
    let label = count.as_str().unwrap();
    assert!(label.starts_with("TodoCompleted ×"), "{label}");
    // In a 1,400-pixel window, on the map of every journey so far: every
    // text at 12 pixels or more, no label over another, a node or a box's
    // name, and nothing outside the drawing.
    browser.client.set_window_size(1400, 1000).await.unwrap();
    let drawn = browser
        .drawn(
            "#map-view > svg",
            "g.edge > text, g.node > rect, g.cluster > text",
        )
        .await;
    assert!(drawn["labels"].as_u64().unwrap() >= 3, "{drawn}");
    assert_eq!(drawn["overlaps"], json!([]), "{drawn}");
    assert_eq!(drawn["outside"], json!([]), "{drawn}");
    // To a hundredth: the drawing is sized to the layout's fractional width.
    assert!(drawn["smallest_text"].as_f64().unwrap() >= 11.99, "{drawn}");
    accounts_hold_their_services(&browser, &c.endpoints).await;
    zooms_and_pans(&browser).await;
    // The whole map, zoomed out, and then at its actual size.
    browser
        .client
        .execute(
            "for (let i = 0; i < 4; i++) document.querySelector('#map-zoom-out').click(); return true;",
            vec![],
        )
        .await
        .unwrap();
    browser.screenshot("console-map-whole").await;
    browser.click("#map-zoom-reset").await;
    browser
        .client
        .execute(
            "document.querySelector('#map-view').scrollTo(0, 0); return true;",
            vec![],
        )
        .await
        .unwrap();
    browser.screenshot("console-map").await;

    // The trail, filtered to the completion's correlation id: its event,
    // whose detail holds the hostile title as text.
    browser.fill("#filter-correlation", &correlation).await;
    let shown = browser
        .until(
            "the completion's TodoCompleted event in the trail",
            "return [...document.querySelectorAll('#trail-rows tr.event:not([hidden]) pre.detail')].map(p => p.textContent).find(t => t.includes('TodoCompleted') || t.includes('ship it'));",
            Duration::from_secs(20),
        )
        .await;
    assert!(
        shown
            .as_str()
            .unwrap()
            .contains(HOSTILE.replace('"', "\\\"").as_str()),
        "{shown}"
    );
    let hostile = browser
        .client
        .execute(
            "return [window.__pwned === undefined, document.querySelectorAll('#trail-rows img').length];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(hostile, json!([true, 0]), "the title stayed text");
    // The event's row opens its trace: the consumer's invocation in it,
    // cold or warm.
    browser
        .client
        .execute(
            "document.querySelector('#trail-rows tr.event:not([hidden])').click(); return true;",
            vec![],
        )
        .await
        .unwrap();
    let consumer = browser
        .until(
            "the trace's waterfall",
            "const r = document.querySelector('#trace-view .bar-row[data-function=\"notifications/ConsumerFunction\"]'); return r && r.dataset.start;",
            Duration::from_secs(10),
        )
        .await;
    assert!(consumer == "warm" || consumer == "cold", "{consumer}");
    browser.scroll_to("#trail").await;
    browser.screenshot("console-trail").await;

    // The functions: the API's invocations, its environments, its memory,
    // and the permissions its role used.
    let figures = browser
        .until(
            "the todos API's figures",
            "const r = document.querySelector('#functions-rows tr[data-function=\"todos/ApiFunction\"]'); \
             return r && Number(r.cells[1].textContent) >= 2 && r.cells[8] && [...r.cells].map(c => c.textContent);",
            Duration::from_secs(20),
        )
        .await;
    let cells: Vec<&str> = figures
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        cells[4].parse::<u32>().unwrap() >= 1,
        "its environment at least: {cells:?}"
    );
    assert!(
        cells[5].ends_with(" ms") && cells[6].ends_with(" MB"),
        "{cells:?}"
    );
    assert!(
        cells[7].contains("dynamodb:PutItem"),
        "the permissions it used: {cells:?}"
    );
    browser.scroll_to("#functions").await;
    browser.screenshot("console-functions").await;

    // A dead letter: a TodoCompleted without its title fails every attempt.
    let marker = format!("console-letter-{}", uuid::Uuid::new_v4().simple());
    let mut detail: Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo::root().join("events/examples/app.todos/TodoCompleted/v1/example.json"),
        )
        .unwrap(),
    )
    .unwrap();
    detail["data"].as_object_mut().unwrap().remove("title");
    detail["metadata"]["event_id"] = Value::from(uuid::Uuid::new_v4().to_string());
    detail["metadata"]["correlation_id"] = Value::from(marker.clone());
    aws_sdk_eventbridge::Client::new(&sdk().await)
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(c.endpoints.bus_name.as_str())
                .source("app.todos")
                .detail_type("TodoCompleted")
                .detail(detail.to_string())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let letter = format!("#letters-view .letter[data-correlation=\"{marker}\"]");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        browser.click("#letters-refresh").await;
        browser
            .until(
                "the dead letters loaded",
                "return document.querySelector('#letters-view').dataset.loading === 'false';",
                Duration::from_secs(20),
            )
            .await;
        if browser
            .client
            .find(fantoccini::Locator::Css(&letter))
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dead letter did not appear"
        );
    }
    // The map draws the notifications DLQ the failed work reached.
    browser
        .until(
            "the dead letter on the map",
            "const e = document.querySelector('#map-view g.edge[data-to=\"dlq:notifications\"]'); return e && Number(e.dataset.count) >= 1;",
            Duration::from_secs(20),
        )
        .await;
    let before = failed_attempts(&marker);
    assert_eq!(before, 3, "1 attempt + 2 retries before the letter");
    let reason = browser.text(&format!("{letter} .error")).await;
    assert!(reason.contains("missing field `title`"), "{reason}");
    browser.scroll_to("#letters").await;
    browser.screenshot("console-letters").await;

    // Replay: the first click asks, the second replays.
    browser.click(&format!("{letter} button")).await;
    assert_eq!(
        browser.text(&format!("{letter} button")).await,
        "Confirm replay"
    );
    assert_eq!(
        failed_attempts(&marker),
        before,
        "one click replays nothing"
    );
    browser.click(&format!("{letter} button")).await;
    let result = browser
        .until(
            "the replay's report",
            "return document.querySelector('#letters-result').textContent;",
            Duration::from_secs(20),
        )
        .await;
    assert!(result.as_str().unwrap().contains("replayed 1"), "{result}");
    // The replay re-invoked the consumer once (its own 1 + 2 retries), and
    // the trail shows it failing again.
    eventually(Duration::from_secs(20), "the replayed attempts", || async {
        Ok((failed_attempts(&marker) == before + 3).then_some(()))
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        failed_attempts(&marker),
        before + 3,
        "replayed once, not twice"
    );
    browser.fill("#filter-correlation", &marker).await;
    browser
        .until(
            "the replayed attempts in the trail",
            "return document.querySelectorAll('#trail-rows tr.fail:not([hidden])').length >= 6;",
            Duration::from_secs(20),
        )
        .await;
}

/// Records the page's longest animation frame (Chromium's Long Animation
/// Frames API): its length, the part spent in style and layout, and the
/// scripts that ran in it, so that a stall names its cause.
const LONGEST_FRAME: &str = "window.__longest = null; \
    new PerformanceObserver(list => { for (const e of list.getEntries()) { \
      if (window.__longest && window.__longest.ms >= e.duration) continue; \
      const layout = e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0; \
      window.__longest = { ms: Math.round(e.duration), style_and_layout_ms: Math.round(layout), \
        scripts: e.scripts.map(s => `${s.invoker} ${Math.round(s.duration)} ms`) }; \
    } }).observe({type: 'long-animation-frame'}); return true;";

/// A burst on a local cloud of its own (its consumer scales out, which the
/// shared cloud's other tests should not feel): every record the cloud
/// wrote reaches the page's trail, exactly once. The page's longest
/// animation frame meanwhile is printed (a figure, not an assertion). 300 events in the test command
/// (2,500 records or so); `CONSOLE_BURST_EVENTS=1000` for a burst of
/// 1,000, a minute on two cores.
#[tokio::test(flavor = "multi_thread")]
async fn the_trail_streams_a_burst_without_losing_a_line() {
    let events = std::env::var("CONSOLE_BURST_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let detached = tokio::task::spawn_blocking(|| {
        devstack_cloud::start_detached(devstack_cloud::Options {
            bin_dir: repo::profile_dir(),
            retry_delay: Duration::from_millis(20),
            function_env: vec![("RUST_LOG".into(), "warn".into())],
            ..devstack_cloud::Options::default()
        })
    })
    .await
    .unwrap()
    .expect("the local cloud starts");
    let endpoints = detached.endpoints.clone();
    let browser = Browser::start().await;
    opened(&browser, &endpoints.console_url).await;
    browser.client.execute(LONGEST_FRAME, vec![]).await.unwrap();
    let config = devstack_client::burst::Config {
        events,
        within: Duration::from_secs(90),
    };
    let report = devstack_client::burst::run(&endpoints, &config)
        .await
        .unwrap();
    assert_eq!(
        (report.events, report.lost, report.duplicated),
        (events, 0, 0)
    );
    // No stream batch failed or ran past its timeout, so none was handed
    // over again (the welcomes' deliverer once took more than 10 s).
    assert!(
        report.stream_batches_again.values().all(|n| *n == 0),
        "{:?}",
        report.stream_batches_again
    );
    let dir = std::path::PathBuf::from(&endpoints.telemetry_dir);
    let recorded = || {
        devstack_console::trail::read_since(&dir, devstack_console::trail::Place::default())
            .0
            .len()
    };
    let shown = || async {
        let v = browser
            .client
            .execute(
                "return Number(document.querySelector('#trail-count').textContent);",
                vec![],
            )
            .await
            .unwrap();
        v.as_u64().unwrap() as usize
    };
    // Once the cloud is quiet, the page holds every record it wrote.
    let mut last = (0, usize::MAX);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now = (recorded(), shown().await);
        if now.0 == now.1 && now == last {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "recorded vs on the page: {now:?}"
        );
        last = now;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(last.0 >= events, "a delivery per event at least: {last:?}");
    let longest = browser
        .client
        .execute("return window.__longest;", vec![])
        .await
        .unwrap();
    eprintln!(
        "burst: {} records streamed to the page; its longest frame {longest}",
        last.0
    );
    browser.scroll_to("#trail").await;
    browser.screenshot("console-burst").await;
}
