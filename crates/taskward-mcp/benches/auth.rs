//! Criterion bench: the per-request cost of authentication on the HTTP transport.
//!
//! - `auth/static_token/<n>`: the principal of a valid `Authorization: Bearer` token among
//!   `n` static tokens (a SHA-256 digest and a map lookup). Target: at most 5 µs.
//! - `auth/jwt_{eddsa,rs256}_first_sight`: a valid JWT access token (Ed25519, or RS256 with
//!   a 2048-bit key) never seen before, checked in full against a JWKS: header, signature,
//!   `iss`, `aud`, `exp`, scopes (each iteration a new token, signed outside the
//!   measurement). Target: at most 50 µs.
//! - `auth/jwt_{eddsa,rs256}_repeated`: the same token again, as a client sends it on every
//!   request: remembered by its digest until its `exp`.
//! - `auth/refused_static_token`: an unknown static token, refused.
//!
//! Run it with `cargo bench -p taskward-mcp --bench auth`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use criterion::{BenchmarkId, Criterion};
use serde_json::json;
use taskward_mcp::transport::http::auth::{Auth, Jwt, JwtOptions, StaticTokens};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value");
    headers.insert(header::AUTHORIZATION, value);
    headers
}

/// Measures `iters` authentications of `headers` in one `block_on`.
fn measure(rt: &tokio::runtime::Runtime, auth: &Auth, headers: &HeaderMap, iters: u64) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(auth.principal(black_box(headers)).await);
        }
        start.elapsed()
    })
}

fn static_tokens(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("auth");
    for n in [1usize, 10_000] {
        let file: String = (0..n)
            .map(|i| format!("bench-token-{i:016} principal-{i}\n"))
            .collect();
        let auth = Auth::static_tokens(StaticTokens::parse(&file).expect("valid"));
        let headers = bearer(&format!("bench-token-{:016}", n - 1));
        assert!(rt.block_on(auth.principal(&headers)).is_some());
        group.bench_with_input(BenchmarkId::new("static_token", n), &n, |b, _| {
            b.iter_custom(|iters| measure(&rt, &auth, &headers, iters));
        });
        if n == 1 {
            let refused = bearer("not-a-known-token-0000");
            group.bench_function("refused_static_token", |b| {
                b.iter_custom(|iters| measure(&rt, &auth, &refused, iters));
            });
        }
    }
    group.finish();
}

/// One signing key and the JWKS that names its public half.
struct Signer {
    /// `eddsa` or `rs256`, in the bench names.
    name: &'static str,
    algorithm: jsonwebtoken::Algorithm,
    kid: &'static str,
    key: jsonwebtoken::EncodingKey,
    jwks: serde_json::Value,
}

/// Ed25519, with a key made from a fixed seed.
fn eddsa() -> Signer {
    let seed = [7u8; 32];
    let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public.as_bytes());
    // PKCS#8 v1 of an Ed25519 seed (RFC 8410): a fixed prefix, then the seed.
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&seed);
    Signer {
        name: "eddsa",
        algorithm: jsonwebtoken::Algorithm::EdDSA,
        kid: "k1",
        key: jsonwebtoken::EncodingKey::from_ed_der(&der),
        jwks: json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1", "alg": "EdDSA"}]}),
    }
}

/// RS256 with a 2048-bit key, what most identity providers sign with by default. The key
/// pair is a test-only fixture (`benches/fixtures/`), made once with `openssl genrsa 2048`.
fn rs256() -> Signer {
    let jwk: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/rs256-test-only-jwk.json")).expect("a JWK");
    Signer {
        name: "rs256",
        algorithm: jsonwebtoken::Algorithm::RS256,
        kid: "r1",
        key: jsonwebtoken::EncodingKey::from_rsa_der(include_bytes!(
            "fixtures/rs256-test-only-key.der"
        )),
        jwks: json!({ "keys": [jwk] }),
    }
}

fn jwt(c: &mut Criterion, signer: &Signer) {
    let rt = runtime();
    let mut options = JwtOptions::new("https://auth.example.com", "https://mcp.example.com/mcp");
    options.required_scopes = vec!["mcp:tools".into()];
    let auth = Auth::jwt(Jwt::from_jwks_json(options, &signer.jwks.to_string()).expect("a JWKS"));
    let mut header = jsonwebtoken::Header::new(signer.algorithm);
    header.kid = Some(signer.kid.into());
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "sub": "alice", "iss": "https://auth.example.com", "aud": "https://mcp.example.com/mcp",
        "exp": now + 3600, "iat": now, "scope": "openid mcp:tools"
    });
    let mut serial = 0u64;
    let mut sign = |claims: &serde_json::Value| {
        serial += 1;
        let mut claims = claims.clone();
        claims["jti"] = json!(serial);
        bearer(&jsonwebtoken::encode(&header, &claims, &signer.key).expect("signs"))
    };
    let headers = sign(&claims);
    assert!(rt.block_on(auth.principal(&headers)).is_some());
    let mut group = c.benchmark_group("auth");
    group.bench_function(format!("jwt_{}_repeated", signer.name), |b| {
        b.iter_custom(|iters| measure(&rt, &auth, &headers, iters));
    });
    group.sample_size(20);
    group.bench_function(format!("jwt_{}_first_sight", signer.name), |b| {
        b.iter_custom(|iters| {
            let fresh: Vec<HeaderMap> = (0..iters).map(|_| sign(&claims)).collect();
            rt.block_on(async {
                let start = Instant::now();
                for headers in &fresh {
                    black_box(auth.principal(black_box(headers)).await);
                }
                start.elapsed()
            })
        });
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    static_tokens(&mut c);
    jwt(&mut c, &eddsa());
    jwt(&mut c, &rs256());
    c.final_summary();
}
