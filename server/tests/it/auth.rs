//! Basic auth (`--app-name basic-auth`): the route policy table walked
//! route by route, authentication answers, the permission ladder, search
//! filtering, creator grants, the users API and the admin bootstrap, on
//! SQLite and PostgreSQL (the auth tables beside the tracking ones on
//! PostgreSQL, a `basic_auth.db` file on SQLite).

use crate::common::{self, Backend, TestApp};
use base64::Engine;
use ferroflow::auth::config::AuthConfig;
use ferroflow::auth::permission::Permission;
use ferroflow::auth::policy::{self, Policy};
use ferroflow::config::{DatabaseUri, Settings};
use reqwest::Method;
use serde_json::{json, Value};

/// One async test body on both databases, against a server with basic
/// auth and this `default_permission`.
macro_rules! on_both_backends_with_auth {
    ($name:ident, $body:ident, $default:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = spawn(Backend::Sqlite, $default).await;
                $body(&app).await;
                app.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = spawn(Backend::Postgres, $default).await;
                $body(&app).await;
                app.cleanup().await;
            }
        }
    };
}

const ADMIN_PASSWORD: &str = "admin-password-1";
const ALICE_PASSWORD: &str = "alice-password-1";
const BOB_PASSWORD: &str = "bob-password-12";

fn auth_settings(settings: &mut Settings, dir: &std::path::Path, default: Permission) {
    let database = if settings.database.is_sqlite() {
        DatabaseUri::parse(&format!("sqlite:///{}/basic_auth.db", dir.display())).expect("uri")
    } else {
        settings.database.clone()
    };
    settings.auth = Some(AuthConfig {
        default_permission: default,
        database,
        admin_username: Some("admin".into()),
        admin_password: Some(ADMIN_PASSWORD.into()),
    });
}

async fn spawn(backend: Backend, default: Permission) -> TestApp {
    common::spawn_app_with(backend, move |s, dir| auth_settings(s, dir, default)).await
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A request as `user` (or anonymous with `None`): status and JSON body
/// (a string when the body is not JSON).
async fn call(
    app: &TestApp,
    user: Option<(&str, &str)>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = user.map(|(u, p)| basic(u, p));
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    let bytes = body.map(|b| {
        headers.push(("Content-Type", "application/json"));
        serde_json::to_vec(&b).expect("json").into()
    });
    let (status, text) = app.request_raw(method, path, &headers, bytes).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));
const ALICE: Option<(&str, &str)> = Some(("alice", ALICE_PASSWORD));
const BOB: Option<(&str, &str)> = Some(("bob", BOB_PASSWORD));

async fn create_users(app: &TestApp) {
    for (name, password) in [("alice", ALICE_PASSWORD), ("bob", BOB_PASSWORD)] {
        let (status, body) = call(
            app,
            ADMIN,
            Method::POST,
            "/api/2.0/mlflow/users/create",
            Some(json!({"username": name, "password": password})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["username"], name);
        assert_eq!(body["user"]["is_admin"], false);
    }
}

fn concrete(path: &str) -> String {
    path.replace("{path:.*}", "1/0123456789abcdef/artifacts/x.txt")
        .replace("{model_id}", "m-0123")
        .replace("{tag_key}", "k")
}

/// Every registered route has a policy, every policy row is a registered
/// route, and every route but the public ones answers 401 without
/// credentials — generated from the router, not a hand list.
async fn every_route_is_guarded(app: &TestApp) {
    let routes = ferroflow::startup::registered_routes("", true);
    assert!(routes.len() > 100, "{} routes", routes.len());
    // With a static prefix, the bare prefix redirects: one route more.
    let prefixed = ferroflow::startup::registered_routes("/mlflow", true);
    for (method, path, _) in policy::ROUTES {
        assert!(
            routes
                .iter()
                .chain(&prefixed)
                .any(|r| r.method.as_str() == *method && policy::canonical_path(&r.path) == *path),
            "policy row {method} {path} names no registered route"
        );
    }
    for (i, route) in routes.iter().enumerate() {
        let policy = policy::lookup(&route.method, &route.path)
            .unwrap_or_else(|| panic!("{} {} has no policy", route.method, route.path));
        if route.path == "/metrics" {
            continue; // not served by this app (no --expose-prometheus)
        }
        let method = Method::from_bytes(route.method.as_str().as_bytes()).expect("method");
        let path = concrete(&route.path);
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        // Unknown users, a new name per route: failed logins are rate
        // limited per username.
        for header in [
            None,
            Some(basic(&format!("nobody{i}"), "whatever-password")),
            Some("Basic !!!notbase64".to_string()),
            Some("Bearer abc".to_string()),
        ] {
            let mut headers: Vec<(&str, &str)> = Vec::new();
            if let Some(h) = &header {
                headers.push(("Authorization", h));
            }
            let resp = app
                .client
                .request(method.clone(), app.url(&path))
                .headers(
                    headers
                        .iter()
                        .map(|(k, v)| {
                            (
                                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                                reqwest::header::HeaderValue::from_str(v).unwrap(),
                            )
                        })
                        .collect(),
                )
                .send()
                .await
                .expect("request");
            let status = resp.status().as_u16();
            if policy == Policy::Public {
                assert_ne!(status, 401, "{method} {path} is public");
                break;
            }
            assert_eq!(status, 401, "{method} {path} with {header:?}");
            assert_eq!(
                resp.headers()["www-authenticate"].to_str().unwrap(),
                "Basic realm=\"mlflow\""
            );
            assert!(resp
                .text()
                .await
                .unwrap()
                .starts_with("You are not authenticated."));
        }
    }
}

on_both_backends_with_auth!(routes_walk, every_route_is_guarded, Permission::Read);

/// The reference's server B: NO_PERMISSIONS by default, alice owns an
/// experiment, bob climbs the ladder of grants she gives him.
async fn permission_ladder(app: &TestApp) {
    create_users(app).await;
    let api = |p: &str| format!("/api/2.0/mlflow/{p}");
    let (s, b) = call(
        app,
        ALICE,
        Method::POST,
        &api("experiments/create"),
        Some(json!({"name": "alice-exp"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let exp = b["experiment_id"].as_str().unwrap().to_string();
    let (s, b) = call(
        app,
        ALICE,
        Method::POST,
        &api("runs/create"),
        Some(json!({"experiment_id": exp})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let run = b["run"]["info"]["run_id"].as_str().unwrap().to_string();
    // The creator holds MANAGE on it.
    let (s, b) = call(
        app,
        ALICE,
        Method::GET,
        "/api/3.0/mlflow/users/current/permissions",
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["permissions"][0]["resource_type"], "experiment");
    assert_eq!(b["permissions"][0]["resource_pattern"], exp.as_str());
    assert_eq!(b["permissions"][0]["permission"], "MANAGE");
    assert_eq!(b["permissions"][0]["role_name"], format!("__user_{}__", 2));

    let get_run = format!("{}?run_id={run}", api("runs/get"));
    let log =
        |value: f64| json!({"run_id": run, "key": "m", "value": value, "timestamp": 1, "step": 0});
    // Nothing granted: bob reads nothing, and searches hide it.
    assert_eq!(call(app, BOB, Method::GET, &get_run, None).await.0, 403);
    let get_exp = format!("{}?experiment_id={exp}", api("experiments/get"));
    assert_eq!(call(app, BOB, Method::GET, &get_exp, None).await.0, 403);
    let (s, b) = call(
        app,
        BOB,
        Method::POST,
        &api("experiments/search"),
        Some(json!({"max_results": 100})),
    )
    .await;
    assert_eq!((s, b.clone()), (200, json!({})), "{b}");
    let (s, b) = call(
        app,
        BOB,
        Method::POST,
        &api("runs/search"),
        Some(json!({"experiment_ids": [exp]})),
    )
    .await;
    assert_eq!((s, b), (200, json!({})));
    // A run that does not exist is refused the same way: no id oracle.
    let missing = format!(
        "{}?run_id=0123456789abcdef0123456789abcdef",
        api("runs/get")
    );
    assert_eq!(call(app, BOB, Method::GET, &missing, None).await.0, 403);
    // GraphQL: a run bob may not read resolves to null.
    let (s, b) = call(
        app,
        BOB,
        Method::POST,
        "/graphql",
        Some(json!({"query": format!("{{ mlflowGetRun(input: {{runId: \"{run}\"}}) {{ run {{ info {{ runId }} }} }} }}")})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["mlflowGetRun"], Value::Null, "{b}");

    let grant = |permission: &str| json!({"username": "bob", "resource_type": "experiment", "resource_id": exp, "permission": permission});
    let revoke = json!({"username": "bob", "resource_type": "experiment", "resource_id": exp});
    // Bob may not grant himself anything on alice's experiment.
    let (s, _) = call(
        app,
        BOB,
        Method::POST,
        "/api/3.0/mlflow/users/permissions/grant",
        Some(grant("MANAGE")),
    )
    .await;
    assert_eq!(s, 403);
    for (level, read, log_ok, delete_ok) in [
        ("READ", true, false, false),
        ("USE", true, false, false),
        ("EDIT", true, true, false),
        ("MANAGE", true, true, true),
        ("DENY", false, false, false),
    ] {
        let (s, b) = call(
            app,
            ALICE,
            Method::POST,
            "/api/3.0/mlflow/users/permissions/grant",
            Some(grant(level)),
        )
        .await;
        assert_eq!(s, 200, "{level}: {b}");
        let status = call(app, BOB, Method::GET, &get_run, None).await.0;
        assert_eq!(status == 200, read, "{level} read: {status}");
        let (_, b) = call(
            app,
            BOB,
            Method::POST,
            &api("experiments/search"),
            Some(json!({"max_results": 100})),
        )
        .await;
        assert_eq!(b.get("experiments").is_some(), read, "{level} search: {b}");
        let status = call(
            app,
            BOB,
            Method::POST,
            &api("runs/log-metric"),
            Some(log(1.0)),
        )
        .await
        .0;
        assert_eq!(status == 200, log_ok, "{level} log: {status}");
        let status = call(
            app,
            BOB,
            Method::POST,
            &api("runs/delete"),
            Some(json!({"run_id": run})),
        )
        .await
        .0;
        assert_eq!(status == 200, delete_ok, "{level} delete: {status}");
        if delete_ok {
            let (s, _) = call(
                app,
                BOB,
                Method::POST,
                &api("runs/restore"),
                Some(json!({"run_id": run})),
            )
            .await;
            assert_eq!(s, 200);
        }
        let (s, b) = call(
            app,
            ALICE,
            Method::POST,
            "/api/3.0/mlflow/users/permissions/revoke",
            Some(revoke.clone()),
        )
        .await;
        assert_eq!(s, 200, "{b}");
    }
    // Granting twice: MLflow's RESOURCE_ALREADY_EXISTS; revoking nothing: 404.
    call(
        app,
        ALICE,
        Method::POST,
        "/api/3.0/mlflow/users/permissions/grant",
        Some(grant("READ")),
    )
    .await;
    let (s, b) = call(
        app,
        ALICE,
        Method::POST,
        "/api/3.0/mlflow/users/permissions/grant",
        Some(grant("EDIT")),
    )
    .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (400, Some("RESOURCE_ALREADY_EXISTS")),
        "{b}"
    );
    call(
        app,
        ALICE,
        Method::POST,
        "/api/3.0/mlflow/users/permissions/revoke",
        Some(revoke.clone()),
    )
    .await;
    let (s, b) = call(
        app,
        ALICE,
        Method::POST,
        "/api/3.0/mlflow/users/permissions/revoke",
        Some(revoke.clone()),
    )
    .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST")),
        "{b}"
    );
    // Bob may still create his own experiment; the admin reads everything.
    let (s, _) = call(
        app,
        BOB,
        Method::POST,
        &api("experiments/create"),
        Some(json!({"name": "bob-exp"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(call(app, ADMIN, Method::GET, &get_run, None).await.0, 200);
    let (_, b) = call(
        app,
        ADMIN,
        Method::POST,
        &api("experiments/search"),
        Some(json!({"max_results": 100})),
    )
    .await;
    assert_eq!(b["experiments"].as_array().unwrap().len(), 3, "{b}");
    // The artifact proxy checks the experiment in the path.
    let artifact = format!("/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/a.txt");
    assert_eq!(put_artifact(app, BOB, &artifact).await, 403);
    assert_eq!(put_artifact(app, ALICE, &artifact).await, 200);
    assert_eq!(call(app, BOB, Method::GET, &artifact, None).await.0, 403);
    assert_eq!(call(app, ALICE, Method::GET, &artifact, None).await.0, 200);
}

async fn put_artifact(app: &TestApp, user: Option<(&str, &str)>, path: &str) -> u16 {
    let auth = user.map(|(u, p)| basic(u, p));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    app.request_raw(Method::PUT, path, &headers, Some("data".into()))
        .await
        .0
}

on_both_backends_with_auth!(ladder, permission_ladder, Permission::NoPermissions);

/// Registered models: invisible until granted, the creator's MANAGE, and a
/// deleted model's grants swept so a new model of that name starts clean.
async fn registry_permissions(app: &TestApp) {
    create_users(app).await;
    let api = |p: &str| format!("/api/2.0/mlflow/{p}");
    let (s, b) = call(
        app,
        ALICE,
        Method::POST,
        &api("registered-models/create"),
        Some(json!({"name": "clf"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let get = format!("{}?name=clf", api("registered-models/get"));
    assert_eq!(call(app, BOB, Method::GET, &get, None).await.0, 403);
    let (s, b) = call(
        app,
        BOB,
        Method::GET,
        &api("registered-models/search"),
        None,
    )
    .await;
    assert_eq!((s, b), (200, json!({})));
    let grant = json!({"username": "bob", "resource_type": "registered_model", "resource_id": "clf", "permission": "READ"});
    let (s, b) = call(
        app,
        ALICE,
        Method::POST,
        "/api/3.0/mlflow/users/permissions/grant",
        Some(grant),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(call(app, BOB, Method::GET, &get, None).await.0, 200);
    let (_, b) = call(
        app,
        BOB,
        Method::GET,
        &api("registered-models/search"),
        None,
    )
    .await;
    assert_eq!(b["registered_models"][0]["name"], "clf", "{b}");
    let (s, _) = call(
        app,
        BOB,
        Method::PATCH,
        &api("registered-models/update"),
        Some(json!({"name": "clf", "description": "x"})),
    )
    .await;
    assert_eq!(s, 403);
    // Deleting sweeps the grants: bob's READ does not carry over to a new
    // model with the same name.
    let (s, b) = call(
        app,
        ALICE,
        Method::DELETE,
        &api("registered-models/delete"),
        Some(json!({"name": "clf"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = call(
        app,
        ADMIN,
        Method::POST,
        &api("registered-models/create"),
        Some(json!({"name": "clf"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(call(app, BOB, Method::GET, &get, None).await.0, 403);
}

on_both_backends_with_auth!(registry, registry_permissions, Permission::NoPermissions);

/// The users API: who may call what, and MLflow's answers.
async fn users_api(app: &TestApp) {
    create_users(app).await;
    let users = |p: &str| format!("/api/2.0/mlflow/users/{p}");
    // A duplicate: MLflow's code, without SQL or a hash in the message.
    let (s, b) = call(
        app,
        ADMIN,
        Method::POST,
        &users("create"),
        Some(json!({"username": "alice", "password": "another-password"})),
    )
    .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (400, Some("RESOURCE_ALREADY_EXISTS")),
        "{b}"
    );
    let text = b.to_string();
    assert!(
        !text.contains("INSERT") && !text.contains("scrypt:"),
        "{text}"
    );
    // A short password is refused.
    let (s, b) = call(
        app,
        ADMIN,
        Method::POST,
        &users("create"),
        Some(json!({"username": "carol", "password": "short"})),
    )
    .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE")),
        "{b}"
    );
    // Non-admins: no user management, only themselves.
    for (method, path, body) in [
        (
            Method::POST,
            users("create"),
            Some(json!({"username": "eve", "password": "eve-password-123"})),
        ),
        (
            Method::PATCH,
            users("update-admin"),
            Some(json!({"username": "alice", "is_admin": true})),
        ),
        (
            Method::DELETE,
            users("delete"),
            Some(json!({"username": "bob"})),
        ),
        (Method::GET, users("get?username=bob"), None),
        (Method::GET, users("list"), None),
    ] {
        assert_eq!(
            call(app, ALICE, method.clone(), &path, body).await.0,
            403,
            "{method} {path}"
        );
    }
    let (s, b) = call(app, ALICE, Method::GET, &users("get?username=alice"), None).await;
    assert_eq!((s, b["user"]["username"].as_str()), (200, Some("alice")));
    let (s, b) = call(app, ALICE, Method::GET, &users("current"), None).await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!({"is_basic_auth": true, "user": {"id": 2, "is_admin": false, "username": "alice"}})
    );
    // A self password change needs the current password, and a new one.
    let update_password = users("update-password");
    let change = |body: Value| call(app, ALICE, Method::PATCH, &update_password, Some(body));
    let (s, b) = change(json!({"username": "alice", "password": "new-alice-password"})).await;
    assert_eq!(
        (s, b["message"].as_str()),
        (
            400,
            Some("Current password is required when changing your own password.")
        )
    );
    let (s, _) = change(json!({"username": "alice", "password": "new-alice-password", "current_password": "wrong-password-x"})).await;
    assert_eq!(s, 400);
    let (s, _) = change(json!({"username": "alice", "password": ALICE_PASSWORD, "current_password": ALICE_PASSWORD})).await;
    assert_eq!(s, 400);
    let (s, b) = change(json!({"username": "alice", "password": "new-alice-password", "current_password": ALICE_PASSWORD})).await;
    assert_eq!(s, 200, "{b}");
    // The old password stops working at once (the credential cache is dropped).
    assert_eq!(
        call(app, ALICE, Method::GET, &users("current"), None)
            .await
            .0,
        401
    );
    let alice2 = Some(("alice", "new-alice-password"));
    assert_eq!(
        call(app, alice2, Method::GET, &users("current"), None)
            .await
            .0,
        200
    );
    // Admins: self-delete refused; admin flag; deletion logs the user out.
    let (s, b) = call(
        app,
        ADMIN,
        Method::DELETE,
        &users("delete"),
        Some(json!({"username": "admin"})),
    )
    .await;
    assert_eq!((s, b["error_code"].as_str()), (400, Some("BAD_REQUEST")));
    let (s, _) = call(
        app,
        ADMIN,
        Method::PATCH,
        &users("update-admin"),
        Some(json!({"username": "bob", "is_admin": true})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = call(app, BOB, Method::GET, &users("list"), None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["users"].as_array().unwrap().len(), 3);
    let (s, _) = call(
        app,
        ADMIN,
        Method::DELETE,
        &users("delete"),
        Some(json!({"username": "bob"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        call(app, BOB, Method::GET, &users("current"), None).await.0,
        401
    );
    // Unknown paths: 401 anonymous, 403 for users, 404 for admins.
    assert_eq!(
        call(app, None, Method::GET, "/no/such/path", None).await.0,
        401
    );
    assert_eq!(
        call(app, alice2, Method::GET, "/no/such/path", None)
            .await
            .0,
        403
    );
    assert_eq!(
        call(app, ADMIN, Method::GET, "/no/such/path", None).await.0,
        404
    );
    // Public routes and preflights need nothing.
    assert_eq!(call(app, None, Method::GET, "/health", None).await.0, 200);
    assert_eq!(
        call(app, None, Method::GET, "/api/3.0/mlflow/server-info", None)
            .await
            .0,
        200
    );
}

on_both_backends_with_auth!(users, users_api, Permission::Read);

/// Authentication details: the scheme in any case, a colon and non-ASCII
/// in the password, pbkdf2 hashes of old deployments, the legacy default
/// password refused for admins.
async fn credentials(app: &TestApp) {
    let (s, b) = call(
        app,
        ADMIN,
        Method::POST,
        "/api/2.0/mlflow/users/create",
        Some(json!({"username": "ünï", "password": "pä:ss-wörd-123"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let lower = format!(
        "basic {}",
        base64::engine::general_purpose::STANDARD.encode("ünï:pä:ss-wörd-123")
    );
    let (s, _) = app
        .request_raw(
            Method::GET,
            "/api/2.0/mlflow/users/current",
            &[("Authorization", lower.as_str())],
            None,
        )
        .await;
    assert_eq!(s, 200);
    // A pbkdf2 hash as Werkzeug < 2.3 wrote it (pbkdf2:sha256:260000,
    // salt R2d2C3poBb8Luke1, password "s3cret-pässword:x").
    let hash = "pbkdf2:sha256:260000$R2d2C3poBb8Luke1$9566de7cc3409336d9592714753cd41e39f68ddbb353e6503762ca1385c9b944";
    insert_user(app, "old", hash, false).await;
    assert_eq!(
        call(
            app,
            Some(("old", "s3cret-pässword:x")),
            Method::GET,
            "/api/2.0/mlflow/users/current",
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            app,
            Some(("old", "s3cret-password:x")),
            Method::GET,
            "/api/2.0/mlflow/users/current",
            None
        )
        .await
        .0,
        401
    );
    // MLflow ≤ 3.16's default admin password never logs an admin in.
    let legacy = "scrypt:32768:8:1$Zq3kV9xLm2Pa7TbC$fb8b65a14a75dfddacd213634367c5dad3ac5d562e82d36f5b0b28670b2f4ae12acef368075e9ae524aec68e15585c51dea61c34f3a44b4151230abe7657d783";
    insert_user(app, "root", legacy, true).await;
    assert_eq!(
        call(
            app,
            Some(("root", "password1234")),
            Method::GET,
            "/api/2.0/mlflow/users/current",
            None
        )
        .await
        .0,
        401
    );
    insert_user(app, "plain", legacy, false).await;
    assert_eq!(
        call(
            app,
            Some(("plain", "password1234")),
            Method::GET,
            "/api/2.0/mlflow/users/current",
            None
        )
        .await
        .0,
        200
    );
    // Failed logins are limited per username (known or not): after 20 in a
    // minute the name gets 429 without a password check; others are fine.
    for _ in 0..20 {
        let s = call(
            app,
            Some(("guess", "wrong-password-1")),
            Method::GET,
            "/api/2.0/mlflow/users/current",
            None,
        )
        .await
        .0;
        assert_eq!(s, 401);
    }
    let s = call(
        app,
        Some(("guess", "wrong-password-1")),
        Method::GET,
        "/api/2.0/mlflow/users/current",
        None,
    )
    .await
    .0;
    assert_eq!(s, 429);
    assert_eq!(
        call(
            app,
            ADMIN,
            Method::GET,
            "/api/2.0/mlflow/users/current",
            None
        )
        .await
        .0,
        200
    );
}

on_both_backends_with_auth!(credential_forms, credentials, Permission::Read);

async fn auth_pool(app: &TestApp) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = if app.db_uri.starts_with("sqlite") {
        format!("sqlite://{}/basic_auth.db", app.dir.path().display())
    } else {
        app.db_uri.replacen("postgresql://", "postgres://", 1)
    };
    sqlx::AnyPool::connect(&url).await.expect("auth db")
}

async fn insert_user(app: &TestApp, name: &str, hash: &str, admin: bool) {
    let pool = auth_pool(app).await;
    sqlx::query("INSERT INTO users (username, password_hash, is_admin) VALUES ($1, $2, $3)")
        .bind(name)
        .bind(hash)
        .bind(admin)
        .execute(&pool)
        .await
        .expect("insert user");
}

/// The admin bootstrap: no default password, never `password1234`, at
/// least 12 characters; one admin row in Werkzeug's scrypt format; a second
/// start with another password changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_bootstrap_follows_mlflow() {
    let dir = tempfile::tempdir().unwrap();
    let config = |password: Option<&str>| AuthConfig {
        default_permission: Permission::Read,
        database: DatabaseUri::parse(&format!("sqlite:///{}/auth.db", dir.path().display()))
            .unwrap(),
        admin_username: Some("admin".into()),
        admin_password: password.map(str::to_string),
    };
    for (password, expected) in [
        (None, "ships no default admin password"),
        (Some("password1234"), "insecure default password"),
        (Some("elevenchars"), "at least 12 characters"),
    ] {
        let err = match ferroflow::auth::Auth::start(&config(password)).await {
            Ok(_) => panic!("{password:?} accepted"),
            Err(e) => e,
        };
        assert!(err.contains(expected), "{err}");
    }
    ferroflow::auth::Auth::start(&config(Some("first-password")))
        .await
        .expect("starts");
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}/auth.db", dir.path().display()))
        .await
        .unwrap();
    let hashes: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(hashes.len(), 1);
    let parts: Vec<&str> = hashes[0].split('$').collect();
    assert_eq!(parts[0], "scrypt:32768:8:1");
    assert!(parts[1].len() == 16 && parts[1].chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(
        parts[2].len() == 128
            && parts[2]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let revision: String = sqlx::query_scalar("SELECT version_num FROM alembic_version_auth")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(revision, "f1a2b3c4d5e6");
    ferroflow::auth::Auth::start(&config(Some("second-password")))
        .await
        .expect("restarts");
    let again: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(again, hashes[0]);
    // A legacy admin hash of password1234 is rotated to the configured one.
    let legacy = "scrypt:32768:8:1$Zq3kV9xLm2Pa7TbC$fb8b65a14a75dfddacd213634367c5dad3ac5d562e82d36f5b0b28670b2f4ae12acef368075e9ae524aec68e15585c51dea61c34f3a44b4151230abe7657d783";
    sqlx::query("UPDATE users SET password_hash = $1")
        .bind(legacy)
        .execute(&pool)
        .await
        .unwrap();
    ferroflow::auth::Auth::start(&config(Some("rotated-password")))
        .await
        .expect("rotates");
    let rotated: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_ne!(rotated, legacy);
    assert!(ferroflow::auth::password::verify_password(
        "rotated-password",
        &rotated
    ));
}

/// Roles: a role's grants reach the users it is assigned to and stop with
/// the assignment; names are unique per workspace and `__user_` is reserved.
async fn roles(app: &TestApp) {
    create_users(app).await;
    let api = |p: &str| format!("/api/2.0/mlflow/{p}");
    let v3 = |p: &str| format!("/api/3.0/mlflow/{p}");
    let (_, b) = call(
        app,
        ALICE,
        Method::POST,
        &api("experiments/create"),
        Some(json!({"name": "shared"})),
    )
    .await;
    let exp = b["experiment_id"].as_str().unwrap().to_string();
    let get_exp = format!("{}?experiment_id={exp}", api("experiments/get"));
    assert_eq!(call(app, BOB, Method::GET, &get_exp, None).await.0, 403);
    let (s, b) = call(
        app,
        ADMIN,
        Method::POST,
        &v3("roles/create"),
        Some(json!({"workspace": "default", "name": "readers"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["role"]["permissions"], json!([]));
    let role = b["role"]["id"].as_i64().unwrap();
    let (s, b) = call(
        app,
        ADMIN,
        Method::POST,
        &v3("roles/create"),
        Some(json!({"workspace": "default", "name": "readers"})),
    )
    .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (400, Some("RESOURCE_ALREADY_EXISTS"))
    );
    let (s, _) = call(
        app,
        ADMIN,
        Method::POST,
        &v3("roles/create"),
        Some(json!({"workspace": "default", "name": "__user_9__"})),
    )
    .await;
    assert_eq!(s, 400);
    let (s, b) = call(app, ADMIN, Method::POST, &v3("roles/permissions/add"), Some(json!({"role_id": role, "resource_type": "experiment", "resource_pattern": exp, "permission": "READ"}))).await;
    assert_eq!(s, 200, "{b}");
    let rp = b["role_permission"]["id"].as_i64().unwrap();
    let (s, _) = call(
        app,
        ADMIN,
        Method::POST,
        &v3("roles/assign"),
        Some(json!({"username": "bob", "role_id": role})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(call(app, BOB, Method::GET, &get_exp, None).await.0, 200);
    let (s, b) = call(
        app,
        BOB,
        Method::GET,
        &format!("{}?username=bob", v3("users/roles/list")),
        None,
    )
    .await;
    assert_eq!(
        (s, b["roles"][0]["name"].as_str()),
        (200, Some("readers")),
        "{b}"
    );
    assert_eq!(
        call(
            app,
            BOB,
            Method::GET,
            &format!("{}?role_id={role}", v3("roles/get")),
            None
        )
        .await
        .0,
        403
    );
    let (s, b) = call(
        app,
        ADMIN,
        Method::PATCH,
        &v3("roles/permissions/update"),
        Some(json!({"role_permission_id": rp, "permission": "DENY"})),
    )
    .await;
    assert_eq!(
        (s, b["role_permission"]["permission"].as_str()),
        (200, Some("DENY"))
    );
    assert_eq!(call(app, BOB, Method::GET, &get_exp, None).await.0, 403);
    call(
        app,
        ADMIN,
        Method::PATCH,
        &v3("roles/permissions/update"),
        Some(json!({"role_permission_id": rp, "permission": "READ"})),
    )
    .await;
    let (s, _) = call(
        app,
        ADMIN,
        Method::DELETE,
        &v3("roles/unassign"),
        Some(json!({"username": "bob", "role_id": role})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(call(app, BOB, Method::GET, &get_exp, None).await.0, 403);
    let (s, _) = call(
        app,
        ADMIN,
        Method::DELETE,
        &v3("roles/delete"),
        Some(json!({"role_id": role})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = call(
        app,
        ADMIN,
        Method::GET,
        &format!("{}?role_id={role}", v3("roles/get")),
        None,
    )
    .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let (s, b) = call(
        app,
        ADMIN,
        Method::GET,
        &format!("{}?role_id=x", v3("roles/get")),
        None,
    )
    .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );
}

on_both_backends_with_auth!(role_grants, roles, Permission::NoPermissions);
