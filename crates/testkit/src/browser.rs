//! A cookie jar in front of a [`TestApp`]: drives HTML pages as a script would.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde::Serialize;

use crate::{FORM, HtmlForm, Reply, TestApp, request};

/// A browser: keeps the cookies responses set and sends them back. Cookie paths and domains
/// are not modelled: every cookie goes with every request.
pub struct Browser<'a> {
    app: &'a TestApp,
    /// Cookie name to value.
    pub jar: BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            jar: BTreeMap::new(),
        }
    }

    /// Sends a request as is (add cookies with [`Browser::cookie_header`]) and keeps the cookies
    /// the response sets; an empty value or `Max-Age=0` removes one.
    pub async fn send(&mut self, request: Request<Body>) -> Reply {
        let reply = self.app.send(request).await;
        for cookie in reply.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("a cookie name=value");
            if value.is_empty() || cookie.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.into(), value.into());
            }
        }
        reply
    }

    /// The `Cookie` header carrying the jar.
    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn request(&self, method: Method, uri: &str) -> axum::http::request::Builder {
        request(method, uri, None).header(header::COOKIE, self.cookie_header())
    }

    pub async fn get(&mut self, uri: &str) -> Reply {
        let request = self.request(Method::GET, uri).body(Body::empty()).unwrap();
        self.send(request).await
    }

    /// Posts form fields: pairs of anything that serializes as strings.
    pub async fn post<F: Serialize + ?Sized>(&mut self, uri: &str, fields: &F) -> Reply {
        let body = serde_urlencoded::to_string(fields).expect("a form");
        let request = self
            .request(Method::POST, uri)
            .header(header::CONTENT_TYPE, FORM)
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Posts a form to its action.
    pub async fn submit(&mut self, form: &HtmlForm) -> Reply {
        self.post(&form.action, &form.fields).await
    }

    /// Signs in to the admin console of `realm` as an admin of it would: the console sends the
    /// browser to the realm's login page, the login redirects to the console's callback, the
    /// callback sets the console's cookie. Returns the console's base path
    /// (`/auth/admin/{realm}/console`).
    pub async fn sign_in_to_console(
        &mut self,
        realm: &str,
        username: &str,
        password: &str,
    ) -> String {
        let base = format!("{}/admin/{realm}/console", self.app.relative_path());
        let start = self.get(&format!("{base}/")).await;
        assert_eq!(start.status.as_u16(), 303, "console start: {start:?}");
        let login = self
            .get(&self.local(start.location().unwrap_or_default()))
            .await;
        let done = self.log_in(&login, username, password).await;
        assert!(
            done.status.is_redirection(),
            "login: {done:?} {}",
            done.text()
        );
        let callback = self.local(done.location().unwrap_or_default());
        assert!(
            callback.starts_with(&format!("{base}/callback")),
            "{callback}"
        );
        let signed_in = self.get(&callback).await;
        assert_eq!(
            signed_in.status.as_u16(),
            303,
            "callback: {}",
            signed_in.text()
        );
        assert!(
            self.jar.contains_key("PORTCULLIS_CONSOLE"),
            "no console cookie"
        );
        base
    }

    /// Signs in to the realm's account console as the user would, and returns its base path
    /// (`/auth/realms/{realm}/account`): the console sends a browser without a session to the
    /// realm's login page, and the login comes back to the console. The browser then holds a
    /// new live SSO session of the realm (one it had is forgotten first).
    pub async fn sign_in_to_account(
        &mut self,
        realm: &str,
        username: &str,
        password: &str,
    ) -> String {
        let base = format!("{}/realms/{realm}/account", self.app.relative_path());
        self.jar.remove("PORTCULLIS_SESSION");
        let login = self.get(&format!("{base}/")).await;
        let done = self.log_in(&login, username, password).await;
        assert_eq!(
            done.status.as_u16(),
            303,
            "login to the account console: {done:?} {}",
            done.text()
        );
        assert_eq!(
            done.location().map(|l| self.local(l)),
            Some(format!("{base}/")),
            "the login comes back to the console"
        );
        assert!(
            self.jar.contains_key("PORTCULLIS_SESSION"),
            "no SSO session cookie after the login"
        );
        base
    }

    /// An absolute URL of the app as a path and query.
    pub fn local(&self, url: &str) -> String {
        url.strip_prefix(self.app.base_url())
            .unwrap_or(url)
            .to_string()
    }

    /// Fills the login form on `page` and posts it.
    #[track_caller]
    pub fn log_in<'p>(
        &'p mut self,
        page: &Reply,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Reply> + 'p {
        assert!(page.is_login_page(), "not a login page: {page:?}");
        let form = page
            .form()
            .with("username", username)
            .with("password", password);
        async move { self.submit(&form).await }
    }
}
