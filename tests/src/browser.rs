//! A real browser for end-to-end tests: headless Debian `chromium` driven over WebDriver by
//! `chromedriver`, which the harness starts on a free port and kills with the [`Browser`].
//!
//! Every wait polls for up to [`WAIT`]; every failure names the page's URL and shows a piece of
//! its source (and the tail of the server log, when one is given), so a red run says what the
//! browser saw. [`Browser::page`] saves a screenshot under `docs/console/` (or the directory
//! [`Browser::save_screenshots_in`] names) and runs axe-core
//! (`tests/interop/node_modules/axe-core/axe.min.js`, installed by `npm ci`) on the page.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use url::Url;

use crate::{TempDir, e2e_required, free_port, require, workspace_root};

/// How long any wait polls before it fails.
pub const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);
/// The window the browser starts with.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 900;

/// axe-core as `npm ci --prefix tests/interop` installs it.
pub fn axe_path() -> PathBuf {
    workspace_root().join("tests/interop/node_modules/axe-core/axe.min.js")
}

/// Where the screenshots of the admin console go (committed as its documentation).
pub fn screenshot_dir() -> PathBuf {
    screenshot_dir_of("docs/console")
}

/// `docs/<what>` under the workspace, created: where a journey's screenshots go.
pub fn screenshot_dir_of(relative: &str) -> PathBuf {
    let dir = workspace_root().join(relative);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {relative}: {e}"));
    dir.canonicalize().unwrap_or(dir)
}

/// `chromedriver` in its own process group, so that killing the group on drop also ends the
/// browser it started.
struct ChromeDriver {
    child: Child,
    port: u16,
    _profile: TempDir,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The group id is the driver's pid (process_group(0)); `kill -KILL -- -pgid`.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless chromium session. Dropping it kills chromedriver and the browser.
pub struct Browser {
    client: Client,
    axe: String,
    shots: PathBuf,
    server_log: Option<PathBuf>,
    violations: Mutex<Vec<String>>,
    // Declared last: dropped after the client.
    _driver: ChromeDriver,
}

impl Browser {
    /// Starts chromedriver and a headless chromium. `None` (the test is skipped, after saying
    /// so) when chromium, chromedriver or axe-core is missing, unless end-to-end tests are
    /// required, where that fails the test.
    pub async fn start(test: &str) -> Option<Browser> {
        let chromium = require("chromium", test)?;
        let chromedriver = require("chromedriver", test)?;
        let axe_file = axe_path();
        let Ok(axe) = std::fs::read_to_string(&axe_file) else {
            assert!(
                !e2e_required(),
                "{test}: {} is missing (npm ci --prefix tests/interop) and PORTCULLIS_REQUIRE_E2E=1",
                axe_file.display()
            );
            eprintln!(
                "SKIPPED {test}: {} is missing (npm ci --prefix tests/interop)",
                axe_file.display()
            );
            return None;
        };

        let profile = TempDir::new("chromium");
        let port = free_port();
        let log = std::fs::File::create(profile.path().join("chromedriver.log"))
            .expect("chromedriver log");
        let child = {
            use std::os::unix::process::CommandExt as _;
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start chromedriver")
        };
        let driver = ChromeDriver {
            child,
            port,
            _profile: profile,
        };
        let webdriver = format!("http://127.0.0.1:{}", driver.port);
        wait_driver_ready(&webdriver).await;

        let user_data = driver._profile.path().join("profile");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    format!("--window-size={WIDTH},{HEIGHT}"),
                    format!("--user-data-dir={}", user_data.display()),
                    "--lang=en-US",
                    "--no-first-run",
                    "--no-default-browser-check",
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .unwrap_or_else(|e| panic!("a chromium session from chromedriver: {e}"));
        Some(Browser {
            client,
            axe,
            shots: screenshot_dir(),
            server_log: None,
            violations: Mutex::new(Vec::new()),
            _driver: driver,
        })
    }

    /// Saves the screenshots under `relative` (such as `docs/account`) instead of
    /// `docs/console`.
    pub fn save_screenshots_in(&mut self, relative: &str) {
        self.shots = screenshot_dir_of(relative);
    }

    /// A log file whose tail every failure message shows (the server's).
    pub fn show_log_on_failure(&mut self, path: &Path) {
        self.server_log = Some(path.to_path_buf());
    }

    /// The WebDriver client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Ends the session and the browser (dropping does the latter too, less politely).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Fails the test: `message`, the page's URL and title, a piece of its source and the tail
    /// of the server log.
    pub async fn fail(&self, message: &str) -> ! {
        let url = self
            .client
            .current_url()
            .await
            .map_or_else(|e| format!("<no url: {e}>"), |u| u.to_string());
        let title = self.client.title().await.unwrap_or_default();
        let source = self.client.source().await.unwrap_or_default();
        let text = self
            .client
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let log = self
            .server_log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|log| tail(&log, 25))
            .unwrap_or_default();
        panic!(
            "{message}\n  page: {url}\n  title: {title:?}\n  text: {}\n  source (from <body>):\n{}\n  \
             server log (tail):\n{log}",
            truncate(&text.split_whitespace().collect::<Vec<_>>().join(" "), 600),
            source_snippet(&source, 3000)
        );
    }

    pub async fn url(&self) -> Url {
        match self.client.current_url().await {
            Ok(url) => url,
            Err(e) => self.fail(&format!("reading the current URL: {e}")).await,
        }
    }

    /// Navigates to `url` and waits for the document to be complete.
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.client.goto(url).await {
            self.fail(&format!("navigating to {url}: {e}")).await;
        }
        self.wait_loaded().await;
    }

    async fn wait_loaded(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let state = self
                .client
                .execute(
                    "return document.readyState === 'complete' \
                     && !document.documentElement.hasAttribute('data-e2e-left');",
                    vec![],
                )
                .await;
            if matches!(state, Ok(Value::Bool(true))) {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "no new page finished loading within {WAIT:?} (a click that did not \
                     navigate, such as a form the browser refused to submit?) ({state:?})"
                ))
                .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The first element matching `css` once there is one.
    pub async fn wait_for(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                return element;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("no element matches `{css}` within {WAIT:?}"))
                    .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Every element matching `css` right now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
    }

    /// Waits until the current URL satisfies `ok`; `what` describes the expectation.
    pub async fn wait_for_url(&self, what: &str, ok: impl Fn(&Url) -> bool) -> Url {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(url) = self.client.current_url().await
                && ok(&url)
            {
                return url;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("expected to be at {what} within {WAIT:?}"))
                    .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// An attribute of an element (`None` when absent).
    pub async fn attr(&self, element: &Element, name: &str) -> Option<String> {
        match element.attr(name).await {
            Ok(value) => value,
            Err(e) => self.fail(&format!("reading attribute {name}: {e}")).await,
        }
    }

    /// A DOM property of an element as text (`href` resolved, `textContent`, `value`, …).
    pub async fn prop(&self, element: &Element, name: &str) -> String {
        match element.prop(name).await {
            Ok(value) => value.unwrap_or_default(),
            Err(e) => self.fail(&format!("reading property {name}: {e}")).await,
        }
    }

    /// The text content of the first element matching `css` (waiting for it).
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        self.prop(&element, "textContent").await
    }

    /// Replaces the value of the text input or textarea matching `css`.
    pub async fn fill(&self, css: &str, value: &str) {
        let element = self.wait_for(css).await;
        if let Err(e) = element.clear().await {
            self.fail(&format!("clearing `{css}`: {e}")).await;
        }
        if let Err(e) = element.send_keys(value).await {
            self.fail(&format!("typing into `{css}`: {e}")).await;
        }
    }

    /// Chooses the option with `value` in the select matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        let element = self.wait_for(css).await;
        if let Err(e) = element.select_by_value(value).await {
            self.fail(&format!("choosing value {value:?} in `{css}`: {e}"))
                .await;
        }
    }

    /// Ticks or unticks the checkbox matching `css`.
    pub async fn set_checked(&self, css: &str, checked: bool) {
        let element = self.wait_for(css).await;
        let now = element.is_selected().await.unwrap_or(!checked);
        if now != checked
            && let Err(e) = element.click().await
        {
            self.fail(&format!("clicking checkbox `{css}`: {e}")).await;
        }
        if element.is_selected().await.ok() != Some(checked) {
            self.fail(&format!("checkbox `{css}` should be checked={checked}"))
                .await;
        }
    }

    /// Clicks the element matching `css` (a link or a submit button) and waits for the next
    /// document to load.
    pub async fn click_and_wait(&self, css: &str) {
        let element = self.wait_for(css).await;
        // Mark this document, so the wait below knows when a new one replaced it.
        let _ = self
            .client
            .execute(
                "document.documentElement.setAttribute('data-e2e-left', '');",
                vec![],
            )
            .await;
        if let Err(e) = element.click().await {
            self.fail(&format!("clicking `{css}`: {e}")).await;
        }
        self.wait_loaded().await;
    }

    /// Submits the form matching `form` with its submit button.
    pub async fn submit(&self, form: &str) {
        self.click_and_wait(&format!(
            "{form} button[type=submit], {form} input[type=submit], {form} button:not([type])"
        ))
        .await;
    }

    /// The browser's cookies as a `Cookie` header value, to fetch what the page links to with
    /// another HTTP client as the signed-in user.
    pub async fn cookie_header(&self) -> String {
        match self.client.get_all_cookies().await {
            Ok(cookies) => cookies
                .iter()
                .map(|c| format!("{}={}", c.name(), c.value()))
                .collect::<Vec<_>>()
                .join("; "),
            Err(e) => self.fail(&format!("reading cookies: {e}")).await,
        }
    }

    /// Resizes the window.
    pub async fn set_width(&self, width: u32) {
        if let Err(e) = self.client.set_window_size(width, HEIGHT).await {
            self.fail(&format!("resizing the window to {width}px: {e}"))
                .await;
        }
    }

    /// A page the journey reached: saves `<name>.png` in the screenshot directory and runs
    /// axe-core on it.
    pub async fn page(&self, name: &str) {
        self.screenshot(name).await;
        self.check_a11y(name).await;
    }

    /// Saves a PNG of the viewport as `<name>.png` in the screenshot directory.
    pub async fn screenshot(&self, name: &str) {
        // Let web fonts and layout settle.
        let _ = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 (document.fonts ? document.fonts.ready : Promise.resolve()).then(() => done(true));",
                vec![],
            )
            .await;
        let png = match self.client.screenshot().await {
            Ok(png) => png,
            Err(e) => self.fail(&format!("screenshot {name}: {e}")).await,
        };
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("screenshot {}", path.display());
    }

    /// Runs axe-core on the page and records every violation of impact `serious` or
    /// `critical`; [`Browser::assert_accessible`] fails the test with all of them.
    pub async fn check_a11y(&self, name: &str) {
        let loaded = self
            .client
            .execute("return typeof window.axe === 'object';", vec![])
            .await;
        if !matches!(loaded, Ok(Value::Bool(true)))
            && let Err(e) = self.client.execute(&self.axe, vec![]).await
        {
            self.fail(&format!("injecting axe-core: {e}")).await;
        }
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.map(n => ({ target: n.target.join(' '),
                                                         html: n.html,
                                                         summary: n.failureSummary })) }))))
              .catch(e => done({ error: String(e) }));
        "#;
        let result = match self.client.execute_async(script, vec![]).await {
            Ok(result) => result,
            Err(e) => self.fail(&format!("running axe-core on {name}: {e}")).await,
        };
        if let Some(error) = result.get("error") {
            self.fail(&format!("axe-core failed on {name}: {error}"))
                .await;
        }
        let url = self.url().await;
        let mut found = Vec::new();
        for v in result.as_array().into_iter().flatten() {
            let mut line = format!(
                "{name} ({}): {} [{}] {}",
                url.path(),
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or("")
            );
            for node in v["nodes"].as_array().into_iter().flatten() {
                let summary = node["summary"].as_str().unwrap_or("").replace('\n', " ");
                line.push_str(&format!(
                    "\n      at {} {} -- {summary}",
                    node["target"].as_str().unwrap_or("?"),
                    truncate(node["html"].as_str().unwrap_or(""), 200),
                ));
            }
            eprintln!("a11y violation: {line}");
            found.push(line);
        }
        eprintln!(
            "axe-core on {name}: {} serious or critical violation(s)",
            found.len()
        );
        self.violations.lock().unwrap().extend(found);
    }

    /// Fails with every serious or critical violation that [`Browser::check_a11y`] recorded.
    pub fn assert_accessible(&self) {
        let violations = self.violations.lock().unwrap();
        assert!(
            violations.is_empty(),
            "{} serious or critical accessibility violation(s) (axe-core):\n  {}",
            violations.len(),
            violations.join("\n  ")
        );
    }
}

async fn wait_driver_ready(webdriver: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = format!("{webdriver}/status");
    loop {
        if let Ok(resp) = reqwest::get(&url).await
            && let Ok(status) = resp.json::<Value>().await
            && status["value"]["ready"] == Value::Bool(true)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer {url} within 20 s"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// The page source from `<body` on, `data:` URLs elided, at most `max` characters.
fn source_snippet(source: &str, max: usize) -> String {
    let start = source.find("<body").unwrap_or(0);
    let mut out = String::new();
    let mut rest = &source[start..];
    while let Some(i) = rest.find("data:") {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(['"', '\'', ')'])
            .map_or(rest.len(), |j| i + j);
        out.push_str("data:…");
        rest = &rest[end..];
    }
    out.push_str(rest);
    truncate(&out, max)
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
