//! How the console words times, browsers and app-password limits.

use portcullis_core::app_password::Restriction;

/// `2026-11-18 11:06 UTC`.
pub fn when(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// `2026-11-18`, the value of a date field.
pub fn date(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// The unix time of the start (00:00 UTC) of a date field's `YYYY-MM-DD`.
pub fn parse_date(value: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(value.trim(), format).ok()?;
    Some(day.midnight().assume_utc().unix_timestamp())
}

/// A browser's user agent in a few words: `Firefox on Linux`, `curl`, `Unknown device`.
pub fn device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return "Unknown device".into();
    };
    // Order matters: Edge and Opera say Chrome, Chrome says Safari.
    let browsers = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("docker/", "Docker"),
    ];
    let systems = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ];
    let browser = browsers
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| *name);
    let system = systems
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) => ua.chars().take(40).collect(),
    }
}

/// What an app password is limited to, in words.
pub fn limits(restriction: &Restriction) -> String {
    let registry = restriction
        .service
        .as_deref()
        .map_or_else(|| "every registry".to_string(), |r| format!("registry {r}"));
    let repositories = if restriction.repositories.is_empty() {
        "every repository".to_string()
    } else {
        restriction.repositories.join(", ")
    };
    let actions = if restriction.actions.is_empty() {
        "every action".to_string()
    } else {
        restriction.actions.join(", ")
    };
    format!("{actions} on {repositories} in {registry}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices() {
        let rows = [
            (
                Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
                "Firefox on Linux",
            ),
            (
                Some(
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
                     Gecko) Chrome/126.0 Safari/537.36 Edg/126.0",
                ),
                "Edge on Windows",
            ),
            (
                Some(
                    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, \
                     like Gecko) Version/17.5 Safari/605.1.15",
                ),
                "Safari on macOS",
            ),
            (
                Some(
                    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                     HeadlessChrome/130.0.0.0 Safari/537.36",
                ),
                "Headless Chrome on Linux",
            ),
            (Some("curl/8.5.0"), "curl"),
            (Some("   "), "Unknown device"),
            (None, "Unknown device"),
            (Some("SomeTool/1"), "SomeTool/1"),
        ];
        for (ua, want) in rows {
            assert_eq!(device(ua), want, "{ua:?}");
        }
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(when(1_795_000_000), "2026-11-18 11:06 UTC");
        assert_eq!(date(1_795_000_000), "2026-11-18");
        assert_eq!(parse_date("2026-11-18"), Some(1_794_960_000));
        assert_eq!(parse_date("18/11/2026"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn limits_in_words() {
        let any = Restriction::default();
        assert_eq!(
            limits(&any),
            "every action on every repository in every registry"
        );
        let narrow = Restriction {
            service: Some("registry.test".into()),
            repositories: vec!["platform/**".into()],
            actions: vec!["push".into()],
            expires_at: 0,
        };
        assert_eq!(
            limits(&narrow),
            "push on platform/** in registry registry.test"
        );
    }
}
