//! Static bearer tokens: a file of `<token> <principal> [operator]` lines.

use std::collections::HashMap;
use std::path::Path;

use super::error::{AuthError, read};
use super::{Principal, digest};

/// The shortest token accepted: shorter ones are guessable.
const MIN_TOKEN_LEN: usize = 16;

/// A set of static bearer tokens, each standing for a principal.
///
/// The file format is one token a line: `<token> <principal>`, and a third word `operator`
/// for a principal allowed to read `/status`. Blank lines and lines starting with `#` are
/// ignored. A token is at least 16 characters of the RFC 6750 `b64token` alphabet
/// (letters, digits, `-._~+/`, trailing `=`); a line with fewer or more words, a short or
/// repeated token, or another third word is refused with its line number.
///
/// Tokens are kept only as their SHA-256 digests, and a sent token is looked up by its
/// digest: how long the lookup takes says nothing about how much of a real token the sent
/// one matches.
///
/// # Examples
///
/// ```
/// use taskward_mcp::transport::http::auth::StaticTokens;
///
/// let tokens = StaticTokens::parse(
///     "# who may call\n\
///      s3cr3t-token-of-alice-0001 alice\n\
///      s3cr3t-token-of-ops-000002 ops operator\n",
/// )
/// .unwrap();
/// assert_eq!(tokens.len(), 2);
/// let alice = tokens.principal("s3cr3t-token-of-alice-0001").unwrap();
/// assert_eq!(alice.name(), "alice");
/// assert!(!alice.is_operator());
/// assert!(tokens.principal("guess").is_none());
///
/// let err = StaticTokens::parse("s3cr3t-token-of-alice-0001\n").unwrap_err();
/// assert_eq!(err.to_string(), "line 1: expected `<token> <principal> [operator]`");
/// ```
#[derive(Clone, Default)]
pub struct StaticTokens {
    by_digest: HashMap<[u8; 32], Principal>,
}

impl std::fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the tokens, not even their digests.
        f.debug_struct("StaticTokens")
            .field("len", &self.by_digest.len())
            .finish()
    }
}

impl StaticTokens {
    /// Parses the text of a token file.
    ///
    /// # Errors
    ///
    /// [`AuthError::Line`] for the first malformed line.
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let mut by_digest = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let bad = |why: &str| AuthError::Line {
                line: line_no,
                why: why.to_owned(),
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let (token, name, operator) = match words.as_slice() {
                [token, name] => (*token, *name, false),
                [token, name, "operator"] => (*token, *name, true),
                [_, _, _] => return Err(bad("the third word can only be `operator`")),
                _ => return Err(bad("expected `<token> <principal> [operator]`")),
            };
            if token.len() < MIN_TOKEN_LEN {
                return Err(bad("the token is shorter than 16 characters"));
            }
            if !is_b64token(token) {
                return Err(bad("the token has characters a bearer token cannot have"));
            }
            let principal = if operator {
                Principal::operator(name)
            } else {
                Principal::new(name)
            };
            if by_digest.insert(digest(token), principal).is_some() {
                return Err(bad("the token is given twice"));
            }
        }
        Ok(Self { by_digest })
    }

    /// Reads and parses a token file.
    ///
    /// # Errors
    ///
    /// [`AuthError::Read`] when the file cannot be read, [`AuthError::Line`] for its first
    /// malformed line.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        Self::parse(&read(path.as_ref())?)
    }

    /// The principal a token stands for, if it is one of the set.
    pub fn principal(&self, token: &str) -> Option<&Principal> {
        self.by_digest.get(&digest(token))
    }

    /// How many tokens the set holds.
    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    /// Whether the set holds no token (then every request is refused).
    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(super) fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}
