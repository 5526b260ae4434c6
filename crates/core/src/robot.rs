//! Robots: machine accounts owned by a group, for CI jobs and mirrors. They survive people
//! leaving, have shell-safe names and sign in at the docker endpoint only.
//!
//! - **Names** are `[a-z0-9._-]`, 1 to 64 characters, starting and ending with a letter or a
//!   digit (so a name is never read as a command-line flag). The login name is
//!   `robot.<name>` (`robot.ci-builder`): no `$`, `+` or anything else a shell or a YAML file
//!   would mangle.
//! - **Secrets** are `pcr_` (a prefix secret scanners recognise) and 32 random bytes in
//!   base64url: 256 bits, so the server keeps only their SHA-256 and finds a presented secret
//!   by it. A robot has one or more secrets: rotating adds a new one and gives every older live
//!   one a grace period ([`rotated_expiry`]); each keeps its own end, so rotating twice never
//!   shortens the newest secret's life and never lengthens an older one's.
//! - **Rights**: what a member of the owning group gets (the group's and its ancestors' roles,
//!   membership of its path and its ancestors' paths), as of now ([`as_member`]), narrowed by
//!   the robot's own [`Restriction`] (one registry, repository patterns, actions, expiry).
//! - **Source addresses**: optionally, the CIDRs it may be used from ([`Cidr`]).

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::{RealmSnapshot, User};
use crate::resolve::{ResolvedUser, resolve_user};
use crate::secrets::{hash_secret, random_token};

pub use crate::app_password::Restriction;

/// What every robot secret starts with.
pub const PREFIX: &str = "pcr_";
/// Random characters after the prefix: 32 bytes in base64url without padding.
const RANDOM_CHARS: usize = 43;
/// What every robot's login name starts with.
pub const LOGIN_PREFIX: &str = "robot.";
/// Longest robot name (without the login prefix).
pub const MAX_NAME_LEN: usize = 64;
/// Longest description.
pub const MAX_DESCRIPTION_LEN: usize = 255;
/// Most source-address ranges per robot.
pub const MAX_CIDRS: usize = 32;
/// The realm attribute holding the longest lifetime a robot may be given, in seconds.
pub const MAX_LIFESPAN_ATTRIBUTE: &str = "robotMaxLifespan";
/// The longest lifetime when the realm does not say: 90 days, as app passwords. An update can
/// move the expiry again (within the maximum from then), so a robot is renewed without a new
/// secret.
pub const DEFAULT_MAX_LIFESPAN_SECS: i64 = 90 * 24 * 3600;
/// The longest grace period a rotation may give the older secrets: 30 days.
pub const MAX_GRACE_SECS: i64 = 30 * 24 * 3600;
/// The realm role that lets a member of a group manage the robots of that group and of the
/// groups below it.
pub const MANAGE_ROBOTS_ROLE: &str = "manage-robots";

/// A new secret and the hash the server keeps of it.
pub fn new_secret() -> (String, String) {
    let secret = format!("{PREFIX}{}", random_token::<32>());
    let hash = hash_secret(&secret);
    (secret, hash)
}

/// Whether a presented secret has a robot secret's shape.
pub fn looks_like_robot_secret(secret: &str) -> bool {
    secret.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == RANDOM_CHARS
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// `robot.<name>`.
pub fn login_name(name: &str) -> String {
    format!("{LOGIN_PREFIX}{name}")
}

/// The robot name in a login name (`robot.ci-builder` → `ci-builder`), any case; `None` when
/// it is not a robot's login name.
pub fn name_of_login(username: &str) -> Option<String> {
    let lower = username.to_ascii_lowercase();
    let name = lower.strip_prefix(LOGIN_PREFIX)?;
    check_name(name).ok().map(|()| name.to_string())
}

/// Whether a username is reserved for robots: users may not be created or renamed so.
pub fn is_reserved_username(username: &str) -> bool {
    username
        .trim()
        .to_ascii_lowercase()
        .starts_with(LOGIN_PREFIX)
}

/// Why a robot cannot be stored as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRobot {
    #[error(
        "a robot name is 1 to {MAX_NAME_LEN} characters of a-z, 0-9, '.', '_' and '-', starting and ending with a letter or digit"
    )]
    BadName,
    #[error("{0:?} is not an IPv4 or IPv6 address or CIDR range")]
    BadCidr(String),
    #[error("at most {MAX_CIDRS} source address ranges")]
    TooManyCidrs,
    #[error("the grace period must be between 0 and {MAX_GRACE_SECS} seconds")]
    BadGrace,
}

/// Checks a robot name (without the `robot.` prefix).
pub fn check_name(name: &str) -> Result<(), InvalidRobot> {
    let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let bytes = name.as_bytes();
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b))
        && edge(bytes.first())
        && edge(bytes.last());
    if ok {
        Ok(())
    } else {
        Err(InvalidRobot::BadName)
    }
}

/// The longest lifetime the realm allows robots, from its attributes (positive seconds), else
/// [`DEFAULT_MAX_LIFESPAN_SECS`].
pub fn max_lifespan(realm_attributes: &BTreeMap<String, String>) -> i64 {
    realm_attributes
        .get(MAX_LIFESPAN_ATTRIBUTE)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|secs| *secs > 0)
        .unwrap_or(DEFAULT_MAX_LIFESPAN_SECS)
}

/// Checks a rotation's grace period.
pub fn check_grace(grace_secs: i64) -> Result<(), InvalidRobot> {
    if (0..=MAX_GRACE_SECS).contains(&grace_secs) {
        Ok(())
    } else {
        Err(InvalidRobot::BadGrace)
    }
}

/// Whether a secret that ends at `expires_at` (`None`: when its robot ends) works at `now`.
pub fn secret_live(expires_at: Option<i64>, now: i64) -> bool {
    expires_at.is_none_or(|end| now < end)
}

/// The end an older secret gets when the robot is rotated at `now` with `grace_secs`: the
/// earlier of its own end and `now + grace`. A secret that already has an end keeps it when
/// that comes first, so a second rotation never extends an older secret; the new secret has
/// no end of its own.
pub fn rotated_expiry(current: Option<i64>, now: i64, grace_secs: i64) -> i64 {
    let until = now.saturating_add(grace_secs.max(0));
    current.map_or(until, |end| end.min(until))
}

/// The resolved rights of a member of the group `group_id` and nothing else: the group's and
/// its ancestors' roles (through composites) and the group's and its ancestors' paths, as the
/// realm is now. `id` and `login` name the robot in tokens and logs.
pub fn as_member(snapshot: &RealmSnapshot, id: &str, login: &str, group_id: &str) -> ResolvedUser {
    let member = User {
        id: id.to_string(),
        username: login.to_string(),
        group_ids: vec![group_id.to_string()],
        ..User::default()
    };
    resolve_user(snapshot, &member)
}

/// Whether the group at `path` is `manager_group` or below it (`/eng/platform` is within
/// `/eng`; `/engineering` is not).
pub fn within(manager_group: &str, path: &str) -> bool {
    let parent = manager_group.trim_end_matches('/');
    path == parent
        || path
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// An IPv4 or IPv6 address range (`10.0.0.0/8`, `2001:db8::/32`; a bare address is one host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr[/prefix]`; the host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`).
    pub fn parse(text: &str) -> Result<Cidr, InvalidRobot> {
        let bad = || InvalidRobot::BadCidr(text.to_string());
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?
            }
            Some(_) => return Err(bad()),
        };
        Ok(Cidr {
            network: mask(addr, prefix),
            prefix,
        })
    }

    /// Whether `ip` is in the range; an IPv4-mapped IPv6 address counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & keep).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & keep).into())
        }
    }
}

/// Parses and normalises a list of ranges (trimmed, empties dropped, duplicates removed).
pub fn parse_cidrs(values: &[String]) -> Result<Vec<Cidr>, InvalidRobot> {
    let mut cidrs: Vec<Cidr> = Vec::new();
    for value in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        let cidr = Cidr::parse(value)?;
        if !cidrs.contains(&cidr) {
            cidrs.push(cidr);
        }
    }
    if cidrs.len() > MAX_CIDRS {
        return Err(InvalidRobot::TooManyCidrs);
    }
    Ok(cidrs)
}

/// Whether a request from `client` may use a robot limited to `cidrs`: any address when there
/// are none; otherwise only a known address inside one of them.
pub fn address_allowed(cidrs: &[Cidr], client: Option<IpAddr>) -> bool {
    cidrs.is_empty() || client.is_some_and(|ip| cidrs.iter().any(|c| c.contains(ip)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{Group, Realm, Role};

    #[test]
    fn secrets_have_the_prefix_and_256_bits_and_are_told_apart_from_app_passwords() {
        let (secret, hash) = new_secret();
        assert!(secret.starts_with("pcr_"));
        assert_eq!(secret.len(), 4 + 43);
        assert_eq!(hash, hash_secret(&secret));
        assert!(looks_like_robot_secret(&secret));
        assert!(!crate::app_password::looks_like_app_password(&secret));
        let (app, _) = crate::app_password::new_secret();
        assert!(!looks_like_robot_secret(&app));
        for not in ["pcr_", "pcr_short", &format!("pcr_{}", "a".repeat(44))] {
            assert!(!looks_like_robot_secret(not), "{not}");
        }
    }

    #[test]
    fn names_are_shell_safe() {
        let rows = [
            ("ci-builder", true),
            ("a", true),
            ("mirror.eu_1", true),
            ("9lives", true),
            (&"a".repeat(64), true),
            (&"a".repeat(65), false),
            ("", false),
            ("-flag", false),
            ("trailing.", false),
            ("_x", false),
            ("Upper", false),
            ("robot$x", false),
            ("a b", false),
            ("a/b", false),
            ("a+b", false),
            ("ümlaut", false),
            ("semi;colon", false),
        ];
        for (name, ok) in rows {
            assert_eq!(check_name(name).is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn login_names_and_reserved_usernames() {
        assert_eq!(login_name("ci-builder"), "robot.ci-builder");
        assert_eq!(
            name_of_login("robot.ci-builder").as_deref(),
            Some("ci-builder")
        );
        assert_eq!(
            name_of_login("Robot.CI-builder").as_deref(),
            Some("ci-builder")
        );
        assert_eq!(name_of_login("ci-builder"), None);
        assert_eq!(name_of_login("robot."), None);
        assert_eq!(name_of_login("robot.-x"), None);
        assert!(is_reserved_username("robot.x"));
        assert!(is_reserved_username(" ROBOT.anything"));
        assert!(!is_reserved_username("robotics"));
        assert!(!is_reserved_username("alice"));
    }

    #[test]
    fn the_realm_maximum_and_the_grace_bounds() {
        let mut attributes = BTreeMap::new();
        assert_eq!(max_lifespan(&attributes), 7_776_000);
        attributes.insert(MAX_LIFESPAN_ATTRIBUTE.into(), "600".into());
        assert_eq!(max_lifespan(&attributes), 600);
        attributes.insert(MAX_LIFESPAN_ATTRIBUTE.into(), "-1".into());
        assert_eq!(max_lifespan(&attributes), DEFAULT_MAX_LIFESPAN_SECS);
        for (grace, ok) in [(0, true), (3, true), (MAX_GRACE_SECS, true), (-1, false)] {
            assert_eq!(check_grace(grace).is_ok(), ok, "{grace}");
        }
        assert!(check_grace(MAX_GRACE_SECS + 1).is_err());
    }

    /// Each rotation gives every older live secret the earlier of its own end and the new
    /// grace; the newest has no end of its own.
    #[test]
    fn rotation_overlap_windows() {
        const T: i64 = 1_000;
        // Rotate at T with 60 s: the first secret (no end) works until T+60.
        let first = Some(rotated_expiry(None, T, 60));
        assert_eq!(first, Some(T + 60));
        assert!(secret_live(first, T + 59));
        assert!(!secret_live(first, T + 60));
        // Rotate again at T+10 with 3600 s: the first keeps its earlier end, the second
        // (the newest until now) gets T+10+3600, the third has none.
        assert_eq!(rotated_expiry(first, T + 10, 3600), T + 60);
        let second = Some(rotated_expiry(None, T + 10, 3600));
        assert_eq!(second, Some(T + 3610));
        assert!(
            secret_live(None, i64::MAX - 1),
            "the newest never ends by itself"
        );
        // Rotate at T+20 with 0: every older secret dies at once.
        assert_eq!(rotated_expiry(second, T + 20, 0), T + 20);
        assert!(!secret_live(Some(T + 20), T + 20));
        // A grace never reaches past an end already set.
        assert_eq!(rotated_expiry(Some(T + 5), T, 100), T + 5);
    }

    #[test]
    fn cidrs_parse_and_match() {
        let rows: [(&str, &str, bool); 12] = [
            ("10.0.0.0/8", "10.200.1.2", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.1.2.3/8", "10.9.9.9", true),
            ("192.0.2.7", "192.0.2.7", true),
            ("192.0.2.7", "192.0.2.8", false),
            ("0.0.0.0/0", "203.0.113.9", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("2001:db8::/32", "2001:db8:1::5", true),
            ("2001:db8::/32", "2001:db9::5", false),
            ("::/0", "::1", true),
            // An IPv4-mapped IPv6 peer (a dual-stack listener) is its IPv4 address.
            ("127.0.0.0/8", "::ffff:127.0.0.1", true),
            ("::1/128", "127.0.0.1", false),
        ];
        for (cidr, ip, hit) in rows {
            let parsed = Cidr::parse(cidr).unwrap();
            assert_eq!(parsed.contains(ip.parse().unwrap()), hit, "{cidr} {ip}");
        }
        assert_eq!(Cidr::parse("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "host",
            "1.2.3.4/x",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?}");
        }
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_cidrs(&s(&[" 10.0.0.0/8 ", "", "10.1.0.0/8"]))
                .unwrap()
                .len(),
            1
        );
        let many: Vec<String> = (0..=MAX_CIDRS).map(|i| format!("10.0.{i}.0/24")).collect();
        assert_eq!(parse_cidrs(&many), Err(InvalidRobot::TooManyCidrs));
        let cidrs = parse_cidrs(&s(&["10.0.0.0/8"])).unwrap();
        assert!(address_allowed(&[], None));
        assert!(address_allowed(&cidrs, Some("10.0.0.1".parse().unwrap())));
        assert!(!address_allowed(&cidrs, Some("192.0.2.1".parse().unwrap())));
        assert!(
            !address_allowed(&cidrs, None),
            "an unknown address is outside"
        );
    }

    #[test]
    fn within_a_group_means_the_group_or_below() {
        assert!(within("/eng", "/eng"));
        assert!(within("/eng", "/eng/platform"));
        assert!(within("/eng/", "/eng/platform/oncall"));
        assert!(!within("/eng", "/engineering"));
        assert!(!within("/eng/platform", "/eng"));
        assert!(!within("/ops", "/eng"));
    }

    /// A robot of `/eng/platform` holds what a member holds: the group's and its ancestors'
    /// roles and paths; nothing of other groups, nothing of a subgroup.
    #[test]
    fn a_robot_holds_what_a_member_of_its_group_holds() {
        let role = |id: &str, composites: &[&str]| Role {
            id: id.into(),
            name: id.into(),
            description: None,
            client_id: None,
            composite_ids: composites.iter().map(|c| c.to_string()).collect(),
        };
        let group = |id: &str, path: &str, parent: Option<&str>, roles: &[&str]| Group {
            id: id.into(),
            name: id.into(),
            parent_id: parent.map(str::to_string),
            path: path.into(),
            role_ids: roles.iter().map(|r| r.to_string()).collect(),
        };
        let snapshot = RealmSnapshot {
            realm: Realm::default(),
            roles: vec![
                role("eng-member", &[]),
                role("writer", &["reader"]),
                role("reader", &[]),
                role("oncall", &[]),
                role("ops", &[]),
            ],
            groups: vec![
                group("g-eng", "/eng", None, &["eng-member"]),
                group("g-platform", "/eng/platform", Some("g-eng"), &["writer"]),
                group(
                    "g-oncall",
                    "/eng/platform/oncall",
                    Some("g-platform"),
                    &["oncall"],
                ),
                group("g-ops", "/ops", None, &["ops"]),
            ],
            clients: vec![],
            client_scopes: Vec::new(),
            keys: vec![],
        };
        let robot = as_member(&snapshot, "r-1", "robot.ci", "g-platform");
        assert_eq!(robot.username, "robot.ci");
        assert_eq!(
            robot.roles.iter().map(String::as_str).collect::<Vec<_>>(),
            ["eng-member", "reader", "writer"]
        );
        assert!(robot.in_group("/eng/platform") && robot.in_group("/eng"));
        assert!(!robot.in_group("/eng/platform/oncall") && !robot.in_group("/ops"));
        assert!(robot.is_set_up());
    }
}
