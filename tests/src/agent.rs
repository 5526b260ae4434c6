//! A browser without a browser: an HTTP client with a cookie jar that follows an authorization
//! request through the login and consent forms, the way a person would, and reports where it
//! ended. Forms are found in the HTML and posted with every field they carry.

use std::collections::HashMap;

use reqwest::{Client, StatusCode, header};
use url::Url;

/// Where an authorization request ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A redirect to the client's redirect URI (query or fragment carries the response).
    Redirect(Url),
    /// A `form_post` response: an auto-submitting form aimed at the redirect URI.
    FormPost {
        action: String,
        fields: HashMap<String, String>,
    },
    /// The server's own page (an error, or a login form we had no credentials for).
    Page { status: StatusCode, html: String },
}

impl Outcome {
    /// The response parameters of a redirect (query, else fragment) or a form post.
    pub fn params(&self) -> HashMap<String, String> {
        match self {
            Outcome::Redirect(url) => {
                let mut params: HashMap<String, String> = url.query_pairs().into_owned().collect();
                if let Some(fragment) = url.fragment() {
                    params.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
                }
                params
            }
            Outcome::FormPost { fields, .. } => fields.clone(),
            Outcome::Page { .. } => HashMap::new(),
        }
    }

    pub fn is_page(&self) -> bool {
        matches!(self, Outcome::Page { .. })
    }
}

/// What the agent saw on the way, for assertions such as "a login page was shown".
#[derive(Debug, Default, Clone)]
pub struct Trace {
    pub login_pages: usize,
    pub consent_pages: usize,
}

pub struct Agent {
    pub http: Client,
    pub redirect_prefix: String,
}

impl Agent {
    pub fn new(redirect_prefix: &str) -> Agent {
        let http = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Agent {
            http,
            redirect_prefix: redirect_prefix.to_string(),
        }
    }

    /// Follows `url` (GET) through login (with `credentials`, if given) and consent (accepting
    /// when `accept_consent`) until the redirect URI, a form post, or a page it cannot pass.
    pub async fn authorize(
        &self,
        url: &str,
        credentials: Option<(&str, &str)>,
        accept_consent: bool,
    ) -> (Outcome, Trace) {
        let response = self.http.get(url).send().await.expect("GET authorization");
        self.follow(response, credentials, accept_consent).await
    }

    /// Same as [`Agent::authorize`] for an authorization request sent as a form POST.
    pub async fn authorize_post(
        &self,
        endpoint: &str,
        params: &[(&str, &str)],
        credentials: Option<(&str, &str)>,
    ) -> (Outcome, Trace) {
        let response = self
            .http
            .post(endpoint)
            .form(params)
            .send()
            .await
            .expect("POST authorization");
        self.follow(response, credentials, true).await
    }

    pub async fn follow(
        &self,
        mut response: reqwest::Response,
        credentials: Option<(&str, &str)>,
        accept_consent: bool,
    ) -> (Outcome, Trace) {
        let mut trace = Trace::default();
        for _ in 0..10 {
            let base = response.url().clone();
            if response.status().is_redirection() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .expect("redirect without Location");
                let target = base.join(location).expect("bad Location");
                if target.as_str().starts_with(&self.redirect_prefix) {
                    return (Outcome::Redirect(target), trace);
                }
                response = self.http.get(target).send().await.expect("follow redirect");
                continue;
            }
            let status = response.status();
            let html = response.text().await.unwrap_or_default();
            let Some(form) = Form::find(&html) else {
                return (Outcome::Page { status, html }, trace);
            };
            let action = base.join(&form.action).expect("form action").to_string();
            if action.starts_with(&self.redirect_prefix) {
                return (
                    Outcome::FormPost {
                        action,
                        fields: form.fields,
                    },
                    trace,
                );
            }
            let mut fields = form.fields.clone();
            if fields.contains_key("password") {
                trace.login_pages += 1;
                let Some((user, password)) = credentials else {
                    return (Outcome::Page { status, html }, trace);
                };
                if trace.login_pages > 1 {
                    // The credentials were refused: the login form came back.
                    return (Outcome::Page { status, html }, trace);
                }
                fields.insert("username".into(), user.into());
                fields.insert("password".into(), password.into());
            } else if let Some((accept, cancel)) = form.consent_buttons.clone() {
                trace.consent_pages += 1;
                let (name, value) = if accept_consent { accept } else { cancel };
                fields.insert(name, value);
            }
            response = self
                .http
                .post(&action)
                .form(&fields)
                .send()
                .await
                .expect("POST form");
        }
        panic!("authorization did not settle after 10 steps");
    }
}

/// The first form of a page, with its hidden and text inputs.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: HashMap<String, String>,
    /// (accept, cancel) submit buttons (name, value) when the form is a consent form.
    pub consent_buttons: Option<((String, String), (String, String))>,
}

impl Form {
    pub fn find(html: &str) -> Option<Form> {
        let start = html.find("<form")?;
        let end = html[start..]
            .find("</form>")
            .map_or(html.len(), |e| start + e);
        let form = &html[start..end];
        let open_tag = &form[..form.find('>').unwrap_or(form.len())];
        let action = attribute(open_tag, "action").unwrap_or_default();
        let mut fields = HashMap::new();
        let mut buttons = Vec::new();
        for tag in tags(form, "<input")
            .into_iter()
            .chain(tags(form, "<button"))
        {
            let Some(name) = attribute(tag, "name") else {
                continue;
            };
            let value = attribute(tag, "value").unwrap_or_default();
            let kind = attribute(tag, "type").unwrap_or_default();
            if kind == "submit" || tag.starts_with("<button") {
                buttons.push((name, value));
            } else {
                fields.insert(name, value);
            }
        }
        let consent_buttons = if buttons.len() >= 2 && !fields.contains_key("password") {
            let accept = buttons
                .iter()
                .find(|(n, v)| is_yes(n) || is_yes(v))
                .cloned();
            let cancel = buttons
                .iter()
                .find(|(n, v)| !(is_yes(n) || is_yes(v)))
                .cloned();
            accept.zip(cancel)
        } else {
            None
        };
        Some(Form {
            action,
            fields,
            consent_buttons,
        })
    }
}

fn is_yes(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "accept" | "yes" | "allow" | "approve" | "grant"
    )
}

fn tags<'a>(html: &'a str, open: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(open) {
        let tail = &rest[i..];
        let end = tail.find('>').map_or(tail.len(), |e| e + 1);
        out.push(&tail[..end]);
        rest = &tail[end..];
    }
    out
}

/// `name="value"` (or single quotes) in a tag, HTML-unescaped.
pub fn attribute(tag: &str, name: &str) -> Option<String> {
    for quote in ['"', '\''] {
        let needle = format!(" {name}={quote}");
        if let Some(i) = tag.find(&needle) {
            let rest = &tag[i + needle.len()..];
            let end = rest.find(quote)?;
            return Some(unescape(&rest[..end]));
        }
    }
    None
}

pub fn unescape(s: &str) -> String {
    s.replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x3D;", "=")
        .replace("&#x60;", "`")
        .replace("&amp;", "&")
}
