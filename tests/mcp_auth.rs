//! Authentication and principals on the Streamable HTTP transport: static tokens, JWT access
//! tokens, the protected-resource metadata, sessions and stateless tasks bound to their
//! principal, an embedder's own layer, and `/status` for operators.

mod mcp_support;

use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_support::http_client::{self, Response};
use serde_json::{Value, json};
use taskward_mcp::transport::http::HttpOptions;
use taskward_mcp::transport::http::auth::{Auth, Jwt, JwtOptions, Principal, StaticTokens};

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-0123456789ab";
const OPS: &str = "ops-token-0123456789abc";

fn tokens() -> StaticTokens {
    let file = format!("# test tokens\n{ALICE} alice\n\n{BOB}   bob\n{OPS} ops operator\n");
    StaticTokens::parse(&file).expect("a valid token file")
}

async fn serve(auth: Option<Auth>) -> SocketAddr {
    let mut options = HttpOptions::default();
    options.auth = auth;
    mcp_support::http_server(options).await.0
}

/// Sends a request to `path` with a bearer token and extra headers.
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer));
    }
    headers.extend_from_slice(extra);
    http_client::send(addr, method, path, &headers, body).await
}

async fn post(
    addr: SocketAddr,
    token: Option<&str>,
    session: Option<&str>,
    msg: &Value,
) -> Response {
    let extra: Vec<(&str, &str)> = session.map(|s| ("Mcp-Session-Id", s)).into_iter().collect();
    post_as(addr, token, &extra, msg).await
}

/// Opens an initialized session as a token's principal.
async fn session(addr: SocketAddr, token: Option<&str>) -> String {
    let response = post(addr, token, None, &mcp_support::initialize_request()).await;
    assert_eq!(response.status, 200, "{response:?}");
    let id = response
        .header("mcp-session-id")
        .expect("a session id")
        .to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(post(addr, token, Some(&id), &initialized).await.status, 202);
    id
}

fn challenge(response: &Response) -> &str {
    response
        .header("www-authenticate")
        .expect("a WWW-Authenticate header")
}

fn metadata_url(addr: SocketAddr) -> String {
    format!("resource_metadata=\"http://{addr}/.well-known/oauth-protected-resource/mcp\"")
}

#[tokio::test]
async fn static_tokens_good_bad_and_missing() {
    let addr = serve(Some(Auth::static_tokens(tokens()))).await;
    let init = mcp_support::initialize_request();

    let good = post(addr, Some(ALICE), None, &init).await;
    assert_eq!(good.status, 200, "{good:?}");

    let missing = post(addr, None, None, &init).await;
    assert_eq!(missing.status, 401, "{missing:?}");
    assert_eq!(
        challenge(&missing),
        format!("Bearer {}", metadata_url(addr))
    );
    assert_eq!(missing.json()["error"]["code"], -32600);

    let bad = post(addr, Some("not-a-token-of-this-server"), None, &init).await;
    assert_eq!(bad.status, 401, "{bad:?}");
    let header = challenge(&bad);
    assert!(
        header.starts_with(&format!("Bearer {}", metadata_url(addr))),
        "{header}"
    );
    assert!(header.contains("error=\"invalid_token\""), "{header}");

    // Any header value is answered, never a panic; another scheme is no credential.
    for value in [
        "Bearer",
        "Bearer  ",
        "Basic YWxpY2U6eA==",
        "Bearer a\"b",
        "Bearer été-token-0123456789",
        "bearer\tx",
    ] {
        let r = send(
            addr,
            "POST",
            "/mcp",
            None,
            &[("Authorization", value)],
            b"{}",
        )
        .await;
        assert_eq!(r.status, 401, "{value}: {r:?}");
    }
    let twice = [("Authorization", "Bearer x"), ("Authorization", "Bearer y")];
    let r = send(addr, "POST", "/mcp", None, &twice, b"{}").await;
    assert_eq!(r.status, 401);

    // Every /mcp method.
    let sid = session(addr, Some(ALICE)).await;
    for method in ["GET", "DELETE"] {
        let r = send(addr, method, "/mcp", None, &[("Mcp-Session-Id", &sid)], b"").await;
        assert_eq!(r.status, 401, "{method}: {r:?}");
    }
    let r = send(
        addr,
        "DELETE",
        "/mcp",
        Some(ALICE),
        &[("Mcp-Session-Id", &sid)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn token_file_lines_are_checked() {
    for (text, expected) in [
        (
            "alice-token-0123456789\n",
            "line 1: expected `<token> <principal> [operator]`",
        ),
        (
            "# c\n\nshort alice\n",
            "line 3: the token is shorter than 16 characters",
        ),
        (
            "alice-token-0123456789 alice admin\n",
            "line 1: the third word can only be `operator`",
        ),
        (
            "alice-token-012345678\"9 alice\n",
            "line 1: the token has characters a bearer token cannot have",
        ),
        (
            "alice-token-0123456789 a\nalice-token-0123456789 b\n",
            "line 2: the token is given twice",
        ),
    ] {
        let err = StaticTokens::parse(text).expect_err(text);
        assert_eq!(err.to_string(), expected);
    }
    assert!(
        StaticTokens::parse("# nobody\n\n")
            .expect("empty is valid")
            .is_empty()
    );
}

#[tokio::test]
async fn metadata_is_served_at_both_well_known_paths() {
    let auth = Auth::static_tokens(tokens())
        .with_resource("https://mcp.example.com/mcp")
        .with_authorization_servers(vec!["https://auth.example.com".into()]);
    let addr = serve(Some(auth)).await;
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let r = send(addr, "GET", path, None, &[], b"").await;
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(
            r.json(),
            json!({
                "resource": "https://mcp.example.com/mcp",
                "authorization_servers": ["https://auth.example.com"],
                "bearer_methods_supported": ["header"],
            })
        );
    }
    let missing = post(addr, None, None, &mcp_support::initialize_request()).await;
    assert_eq!(
        challenge(&missing),
        "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""
    );
    // Without authentication there is no metadata.
    let open = serve(None).await;
    let r = send(
        open,
        "GET",
        "/.well-known/oauth-protected-resource",
        None,
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 404);
}

// --- JWT ---

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://mcp.example.com/mcp";

/// A signing key made for the test, and the JWKS of its public half.
struct Signer {
    key: EncodingKey,
    kid: String,
    public_x: String,
}

impl Signer {
    fn new(kid: &str) -> Self {
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        // PKCS#8 v1 of an Ed25519 seed (RFC 8410): a fixed prefix, then the seed.
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&seed);
        Self {
            key: EncodingKey::from_ed_der(&der),
            kid: kid.into(),
            public_x: B64URL.encode(public.as_bytes()),
        }
    }

    fn jwk(&self) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": self.public_x, "kid": self.kid, "alg": "EdDSA", "use": "sig"})
    }

    fn sign(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &self.key).expect("signs")
    }
}

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).expect("a timestamp")
}

fn claims(sub: &str, scope: &str) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600, "iat": now(), "scope": scope})
}

fn jwt_auth(signer: &Signer) -> Auth {
    let mut options = JwtOptions::new(ISSUER, AUDIENCE);
    options.required_scopes = vec!["mcp:tools".into()];
    let jwks = json!({"keys": [signer.jwk()]}).to_string();
    Auth::jwt(Jwt::from_jwks_json(options, &jwks).expect("a usable JWKS")).with_resource(AUDIENCE)
}

#[tokio::test]
async fn jwt_access_tokens_are_checked() {
    let signer = Signer::new("k1");
    let addr = serve(Some(jwt_auth(&signer))).await;
    let init = mcp_support::initialize_request();
    let metadata =
        "resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\"";

    let good = signer.sign("k1", &claims("alice", "openid mcp:tools"));
    assert_eq!(post(addr, Some(&good), None, &init).await.status, 200);
    let mut scp = claims("alice", "");
    scp.as_object_mut().expect("an object").remove("scope");
    scp["scp"] = json!(["mcp:tools"]);
    assert_eq!(
        post(addr, Some(&signer.sign("k1", &scp)), None, &init)
            .await
            .status,
        200
    );

    let missing = post(addr, None, None, &init).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        challenge(&missing),
        format!("Bearer {metadata}, scope=\"mcp:tools\"")
    );

    let mut expired = claims("alice", "mcp:tools");
    expired["exp"] = json!(now() - 120);
    let mut audience = claims("alice", "mcp:tools");
    audience["aud"] = json!("https://other.example.com/mcp");
    let mut issuer = claims("alice", "mcp:tools");
    issuer["iss"] = json!("https://evil.example.com");
    let forger = Signer::new("k1");
    for (what, token) in [
        ("expired", signer.sign("k1", &expired)),
        ("wrong audience", signer.sign("k1", &audience)),
        ("wrong issuer", signer.sign("k1", &issuer)),
        (
            "bad signature",
            forger.sign("k1", &claims("alice", "mcp:tools")),
        ),
        (
            "unknown kid",
            signer.sign("k2", &claims("alice", "mcp:tools")),
        ),
        ("not a JWT", "a.b.c".to_owned()),
    ] {
        let r = post(addr, Some(&token), None, &init).await;
        assert_eq!(r.status, 401, "{what}: {r:?}");
        let header = challenge(&r);
        assert!(
            header.starts_with(&format!("Bearer {metadata}, error=\"invalid_token\"")),
            "{what}: {header}"
        );
    }

    let unscoped = post(
        addr,
        Some(&signer.sign("k1", &claims("alice", "openid"))),
        None,
        &init,
    )
    .await;
    assert_eq!(unscoped.status, 403, "{unscoped:?}");
    assert_eq!(
        challenge(&unscoped),
        format!("Bearer error=\"insufficient_scope\", scope=\"mcp:tools\", {metadata}")
    );
    let r = send(
        addr,
        "GET",
        "/.well-known/oauth-protected-resource/mcp",
        None,
        &[],
        b"",
    )
    .await;
    assert_eq!(
        r.json(),
        json!({
            "resource": AUDIENCE,
            "authorization_servers": [ISSUER],
            "scopes_supported": ["mcp:tools", "taskward:operator"],
            "bearer_methods_supported": ["header"],
        })
    );
}

// --- Principals ---

const EXT: &str = "io.modelcontextprotocol/tasks";

fn modern(method: &str, mut params: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {EXT: {}}},
    });
    let mut request = mcp_support::request(method, params);
    request["id"] = json!(7);
    request
}

/// Stateless (2026-07-28) tasks of one principal are unknown ids to another.
async fn assert_modern_tasks_are_private(
    addr: SocketAddr,
    alice: Option<&str>,
    bob: Option<&str>,
    headers_alice: &[(&str, &str)],
    headers_bob: &[(&str, &str)],
) {
    let call = modern(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 60_000}}),
    );
    let body = serde_json::to_vec(&call).expect("serializes");
    let created = send(addr, "POST", "/mcp", alice, headers_alice, &body).await;
    assert_eq!(created.status, 200, "{created:?}");
    let id = created.json()["result"]["taskId"]
        .as_str()
        .expect("a task id")
        .to_owned();
    let get_own = modern("tasks/get", json!({"taskId": id}));
    let own = post_as(addr, alice, headers_alice, &get_own).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.json()["result"]["status"], "working", "{own:?}");
    let unknown = uuid::Uuid::new_v4().to_string();
    for (method, params) in [
        ("tasks/get", json!({"taskId": "TASK"})),
        ("tasks/cancel", json!({"taskId": "TASK"})),
        (
            "tasks/update",
            json!({"taskId": "TASK", "inputResponses": {"name": {"action": "accept", "content": {"name": "Mallory"}}}}),
        ),
        ("tasks/result", json!({"taskId": "TASK"})),
    ] {
        let message = modern(method, params);
        let foreign = masked_as(addr, bob, headers_bob, &message, &id).await;
        let random = masked_as(addr, bob, headers_bob, &message, &unknown).await;
        assert_eq!(foreign, random, "{method}");
    }
    let own = post_as(addr, alice, headers_alice, &get_own).await;
    assert_eq!(
        own.json()["result"]["status"],
        "working",
        "bob's cancel did nothing: {own:?}"
    );
}

async fn post_as(
    addr: SocketAddr,
    token: Option<&str>,
    extra: &[(&str, &str)],
    message: &Value,
) -> Response {
    let body = serde_json::to_vec(message).expect("serializes");
    send(addr, "POST", "/mcp", token, extra, &body).await
}

/// The answer to `message` with `TASK` replaced by `id`: status and body, `id` masked.
async fn masked_as(
    addr: SocketAddr,
    token: Option<&str>,
    extra: &[(&str, &str)],
    message: &Value,
    id: &str,
) -> (u16, String) {
    let text = serde_json::to_string(message)
        .expect("serializes")
        .replace("TASK", id);
    let message: Value = serde_json::from_str(&text).expect("JSON");
    let r = post_as(addr, token, extra, &message).await;
    (
        r.status,
        String::from_utf8_lossy(&r.body).replace(id, "TASK"),
    )
}

#[tokio::test]
async fn stateless_tasks_of_another_principal_are_unknown_ids() {
    let addr = serve(Some(Auth::static_tokens(tokens()))).await;
    assert_modern_tasks_are_private(addr, Some(ALICE), Some(BOB), &[], &[]).await;
}

#[tokio::test]
async fn session_tasks_of_another_principal_are_unknown_ids() {
    let addr = serve(Some(Auth::static_tokens(tokens()))).await;
    let alice = session(addr, Some(ALICE)).await;
    let bob = session(addr, Some(BOB)).await;
    let call = mcp_support::request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 60_000}, "task": {"ttl": 60_000}}),
    );
    let created = post(addr, Some(ALICE), Some(&alice), &call).await;
    let id = created.json()["result"]["task"]["taskId"]
        .as_str()
        .expect("a task id")
        .to_owned();
    let unknown = uuid::Uuid::new_v4().to_string();
    for method in ["tasks/get", "tasks/cancel", "tasks/result"] {
        let mut message = mcp_support::request(method, json!({"taskId": "TASK"}));
        message["id"] = json!(9);
        let on_bob = [("Mcp-Session-Id", bob.as_str())];
        let foreign = masked_as(addr, Some(BOB), &on_bob, &message, &id).await;
        let random = masked_as(addr, Some(BOB), &on_bob, &message, &unknown).await;
        assert_eq!(foreign, random, "{method}");
    }
    let list = post(
        addr,
        Some(BOB),
        Some(&bob),
        &mcp_support::request("tasks/list", json!({})),
    )
    .await;
    assert_eq!(list.json()["result"]["tasks"], json!([]), "{list:?}");
}

#[tokio::test]
async fn a_session_answers_only_its_principal() {
    let addr = serve(Some(Auth::static_tokens(tokens()))).await;
    let alice = session(addr, Some(ALICE)).await;
    let random = uuid::Uuid::new_v4().simple().to_string();
    let mut ping = mcp_support::request("ping", json!({}));
    ping["id"] = json!(3);
    // POST (the general path, and the hot path's tasks/get).
    let mut get = mcp_support::request(
        "tasks/get",
        json!({"taskId": uuid::Uuid::new_v4().to_string()}),
    );
    get["id"] = json!(4);
    for message in [&ping, &get] {
        let foreign = post(addr, Some(BOB), Some(&alice), message).await;
        let unknown = post(addr, Some(BOB), Some(&random), message).await;
        assert_eq!(foreign.status, 404, "{foreign:?}");
        assert_eq!(foreign.json()["error"]["code"], -32001);
        assert_eq!(
            (foreign.status, foreign.body),
            (unknown.status, unknown.body)
        );
    }
    // GET (the stream) and DELETE.
    for method in ["GET", "DELETE"] {
        let headers = [
            ("Accept", "text/event-stream"),
            ("Mcp-Session-Id", alice.as_str()),
        ];
        let r = send(addr, method, "/mcp", Some(BOB), &headers, b"").await;
        assert_eq!(r.status, 404, "{method}: {r:?}");
        assert_eq!(r.json()["error"]["code"], -32001);
    }
    // The session is alive and still alice's.
    let r = post(addr, Some(ALICE), Some(&alice), &ping).await;
    assert_eq!(r.status, 200, "{r:?}");
}

/// An embedder's layer that takes the principal from `x-user` (a stand-in for real auth).
async fn from_header(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let user = request
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(user) = user {
        request.extensions_mut().insert(Principal::new(user));
    }
    next.run(request).await
}

#[tokio::test]
async fn an_embedders_layer_hands_in_the_principal() {
    let server = mcp_support::server().await;
    let app = taskward_mcp::transport::http::router(server, HttpOptions::default())
        .layer(axum::middleware::from_fn(from_header));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let alice = [("x-user", "alice")];
    let bob = [("x-user", "bob")];
    assert_modern_tasks_are_private(addr, None, None, &alice, &bob).await;
    // Sessions too: alice's session is unknown to bob and to an anonymous request.
    let init = post_as(addr, None, &alice, &mcp_support::initialize_request()).await;
    let sid = init.header("mcp-session-id").expect("a session").to_owned();
    let ping = mcp_support::request("ping", json!({}));
    for who in [&bob[..], &[]] {
        let mut headers = who.to_vec();
        headers.push(("Mcp-Session-Id", &sid));
        assert_eq!(post_as(addr, None, &headers, &ping).await.status, 404);
    }
    // /status is for operators once principals are in play.
    let r = send(addr, "GET", "/status", None, &alice, b"").await;
    assert_eq!(r.status, 403, "{r:?}");
}

#[tokio::test]
async fn status_needs_an_operator_credential() {
    let addr = serve(Some(Auth::static_tokens(tokens()))).await;
    let anonymous = send(addr, "GET", "/status", None, &[], b"").await;
    assert_eq!(anonymous.status, 401);
    assert!(challenge(&anonymous).contains("resource_metadata="));
    let user = send(addr, "GET", "/status", Some(ALICE), &[], b"").await;
    assert_eq!(user.status, 403, "{user:?}");
    assert!(challenge(&user).starts_with("Bearer error=\"insufficient_scope\""));
    let operator = send(addr, "GET", "/status", Some(OPS), &[], b"").await;
    assert_eq!(operator.status, 200, "{operator:?}");
    assert!(operator.json().get("registry").is_some() || operator.json().is_object());
    // Without authentication (loopback, single user) /status stays open.
    let open = serve(None).await;
    assert_eq!(
        send(open, "GET", "/status", None, &[], b"").await.status,
        200
    );
}

#[tokio::test]
async fn jwt_operator_scope_opens_status() {
    let signer = Signer::new("k1");
    let addr = serve(Some(jwt_auth(&signer))).await;
    let user = signer.sign("k1", &claims("alice", "mcp:tools"));
    let ops = signer.sign("k1", &claims("ops", "mcp:tools taskward:operator"));
    let r = send(addr, "GET", "/status", Some(&user), &[], b"").await;
    assert_eq!(r.status, 403);
    assert!(
        challenge(&r).contains("scope=\"taskward:operator\""),
        "{r:?}"
    );
    assert_eq!(
        send(addr, "GET", "/status", Some(&ops), &[], b"")
            .await
            .status,
        200
    );
}

/// A JWKS served over HTTP on loopback: the document can change, and fetches are counted.
struct JwksServer {
    url: String,
    document: std::sync::Arc<std::sync::Mutex<String>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

async fn jwks_server(keys: &[&Signer]) -> JwksServer {
    use std::sync::atomic::Ordering;
    let jwks = |keys: &[&Signer]| {
        json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}).to_string()
    };
    let document = std::sync::Arc::new(std::sync::Mutex::new(jwks(keys)));
    let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (doc, count) = (document.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            count.fetch_add(1, Ordering::SeqCst);
            let body = doc.lock().expect("not poisoned").clone();
            async move { body }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}/jwks", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    JwksServer {
        url,
        document,
        fetches,
    }
}

#[tokio::test]
async fn a_jwks_url_is_fetched_again_for_an_unknown_kid_at_most_once_per_interval() {
    use std::sync::atomic::Ordering;
    let (k1, k2) = (Signer::new("k1"), Signer::new("k2"));
    let jwks = jwks_server(&[&k1]).await;
    let jwt_on = |interval: std::time::Duration| {
        let mut options = JwtOptions::new(ISSUER, AUDIENCE);
        options.min_refresh_interval = interval;
        let url = jwks.url.clone();
        async move { Jwt::from_jwks_url(options, &url).await.expect("fetched") }
    };
    let eager = serve(Some(Auth::jwt(jwt_on(std::time::Duration::ZERO).await))).await;
    let patient = serve(Some(Auth::jwt(
        jwt_on(std::time::Duration::from_secs(3600)).await,
    )))
    .await;
    assert_eq!(
        jwks.fetches.load(Ordering::SeqCst),
        2,
        "each fetched at start"
    );
    let init = mcp_support::initialize_request();
    let by_k1 = k1.sign("k1", &claims("alice", ""));
    assert_eq!(post(eager, Some(&by_k1), None, &init).await.status, 200);
    assert_eq!(
        jwks.fetches.load(Ordering::SeqCst),
        2,
        "a known kid fetches nothing"
    );

    // The authorization server rotates in k2.
    *jwks.document.lock().expect("not poisoned") =
        json!({"keys": [k1.jwk(), k2.jwk()]}).to_string();
    let by_k2 = k2.sign("k2", &claims("alice", ""));
    assert_eq!(post(eager, Some(&by_k2), None, &init).await.status, 200);
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 3);
    // Within the interval an unknown kid fetches nothing, however often it is sent.
    for _ in 0..3 {
        assert_eq!(post(patient, Some(&by_k2), None, &init).await.status, 401);
    }
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_jwks_url_must_be_https_off_loopback() {
    let options = JwtOptions::new(ISSUER, AUDIENCE);
    let err = Jwt::from_jwks_url(options, "http://auth.example.com/jwks")
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("must be https"), "{err}");
}
