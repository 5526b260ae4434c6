//! Small pieces the data migrations share: SQL with `?` placeholders on either backend, and
//! ids made as the store makes them.

use sea_orm_migration::sea_orm::DbBackend;

/// `?` placeholders as the backend spells them (`$1`, `$2`, ... on PostgreSQL).
pub(crate) fn placeholders(backend: DbBackend, sql: &str) -> String {
    if backend != DbBackend::Postgres {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// A random (version 4) UUID, as the store's ids are.
pub(crate) fn new_id() -> String {
    let mut b = portcullis_core::secrets::random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
