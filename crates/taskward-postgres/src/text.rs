//! The `text` columns' keys: scopes, session ids and principals as PostgreSQL can store them.
//!
//! PostgreSQL's `text` refuses U+0000, which a session id or a principal may hold (a JWT's
//! `sub` is any JSON string), and a commit that can never succeed would stall the journal. So
//! `%` and U+0000 are written `%25` and `%00`; every other character is itself, so the ids
//! and principals met in practice (UUIDs, names, e-mail addresses) are stored as they are.
//! A scope is `session:{session}/principal:{principal}` (as its `Display`), with `/` also
//! escaped (`%2F`) in the session part, so that no two scopes share a key. The columns are
//! only ever compared with keys made here; the records' JSON keeps the values themselves.

use std::borrow::Cow;
use std::fmt::Write as _;

use taskward_core::Scope;

/// `s` with `%`, U+0000 and, when `slash`, `/` percent-escaped; borrowed when none occurs.
fn escape(s: &str, slash: bool) -> Cow<'_, str> {
    let special = |c: char| c == '%' || c == '\0' || (slash && c == '/');
    if !s.contains(special) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if special(c) {
            let _ = write!(out, "%{:02X}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The key of a session id or a principal in a `text` column.
pub(crate) fn text_key(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// The key of a scope in the `tasks.scope` column: distinct scopes have distinct keys.
pub(crate) fn scope_key(scope: &Scope) -> String {
    match (scope.session_id(), scope.principal_name()) {
        (None, None) => "global".to_owned(),
        (Some(s), None) => format!("session:{}", escape(s, true)),
        (None, Some(p)) => format!("principal:{}", escape(p, false)),
        (Some(s), Some(p)) => format!("session:{}/principal:{}", escape(s, true), escape(p, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_scopes_keep_their_display() {
        for scope in [
            Scope::global(),
            Scope::session("0b9e6c1e-5d7a-4f3e-9a51-3c8f2d1e7b60"),
            Scope::principal("alice@example.com"),
            Scope::principal("team/alice"),
            Scope::session("s-1").with_principal("alice"),
        ] {
            assert_eq!(scope_key(&scope), scope.to_string());
        }
    }

    #[test]
    fn keys_hold_no_nul_and_never_collide() {
        let nul = Scope::session("a\0b").with_principal("p\0");
        assert!(!scope_key(&nul).contains('\0'));
        assert_eq!(scope_key(&nul), "session:a%00b/principal:p%00");
        // Without the session's `/` escaped these two would share `session:a/principal:b`.
        let one = Scope::session("a/principal:b");
        let two = Scope::session("a").with_principal("b");
        assert_ne!(scope_key(&one), scope_key(&two));
        // An escape's own `%` is escaped, so a literal "%00" is not U+0000.
        assert_ne!(text_key("%00"), text_key("\0"));
        assert_eq!(text_key("plain"), Cow::Borrowed("plain"));
    }
}
