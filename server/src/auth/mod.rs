//! Basic authentication and authorization compatible with `mlflow server
//! --app-name basic-auth` 3.17.2: the same configuration, auth database,
//! password hashes, user and permission API and permission model.
//!
//! - [`config`]: the INI file and environment variables.
//! - [`store`]: the auth database (MLflow's schema, our migrations).
//! - [`password`]: Werkzeug's hash formats.
//! - [`permission`]: levels, requirements, how grants answer them (pure).
//! - [`policy`]: the one table giving every route its policy; a route
//!   without one cannot be registered (see `handlers::Router`).
//! - [`middleware`]: authenticates every request before any body is read,
//!   then enforces the route's policy; filters search results.
//! - [`api`]: `/users/*` and `/users/permissions/*`.

pub mod access;
pub mod api;
pub mod config;
pub mod middleware;
pub mod password;
pub mod permission;
pub mod policy;
pub mod store;

use self::config::{check_password_policy, AuthConfig, LEGACY_ADMIN_PASSWORD};
use self::permission::{Grants, Permission};
use self::store::{AuthStore, User};
use crate::error::{ApiError, ApiResult};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a verified credential is trusted without running the KDF again.
/// Changes made through this server's API invalidate it at once; changes
/// made elsewhere (another server on the same auth database) within this.
const CREDENTIAL_TTL: Duration = Duration::from_secs(60);
/// Most cached credentials (the oldest go first).
const CREDENTIAL_CACHE_MAX: usize = 10_000;
/// Failed logins one username may see per window before further attempts
/// on it are answered 429 without a password check (counted for unknown
/// names too, so the limit reveals nothing about who exists).
const FAILED_LOGINS_PER_WINDOW: u32 = 20;
const FAILED_LOGIN_WINDOW: Duration = Duration::from_secs(60);

/// A cached credential: the username and an HMAC of the password.
type CredentialKey = (String, [u8; 32]);

/// The auth layer's state, shared by all workers.
pub struct Auth {
    pub store: AuthStore,
    pub default_permission: Permission,
    cache: Mutex<HashMap<CredentialKey, (User, Instant)>>,
    /// The cache key's HMAC key, random per process: the cache never holds
    /// anything a password could be recovered from.
    cache_key: [u8; 32],
    /// A hash checked for unknown users, so an unknown name costs what a
    /// known one does (no user enumeration by timing).
    dummy_hash: String,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No or wrong credentials: 401.
    Unauthenticated,
    /// Too many failed logins for this username: 429.
    TooManyFailures,
}

impl Auth {
    /// Opens (creating or checking) the auth database and creates the admin
    /// user on first start, with MLflow's rules: no default password,
    /// never `password1234`, at least 12 characters.
    pub async fn start(config: &AuthConfig) -> Result<Auth, String> {
        let store = AuthStore::open(&config.database)
            .await
            .map_err(|e| format!("auth database {}: {}", config.database, e.message))?;
        bootstrap_admin(&store, config).await?;
        let mut cache_key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut cache_key);
        let dummy_hash = blocking(|| password::hash_password(&uuid::Uuid::new_v4().to_string()))
            .await
            .map_err(|e| e.message)?;
        Ok(Auth {
            store,
            default_permission: config.default_permission,
            cache: Mutex::new(HashMap::new()),
            cache_key,
            dummy_hash,
            failures: Mutex::new(HashMap::new()),
        })
    }

    fn cache_key(&self, username: &str, password: &str) -> CredentialKey {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.cache_key)
            .expect("HMAC takes a key of any length");
        mac.update(password.as_bytes());
        (username.to_string(), mac.finalize().into_bytes().into())
    }

    /// The user a Basic `Authorization` header names, when its password
    /// matches.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<User, Refusal> {
        let Some((username, password)) = header.and_then(parse_basic) else {
            return Err(Refusal::Unauthenticated);
        };
        let key = self.cache_key(&username, &password);
        if let Some(user) = self.cached(&key) {
            return Ok(user);
        }
        if self.too_many_failures(&username) {
            return Err(Refusal::TooManyFailures);
        }
        let found = self.store.find_user(&username).await.ok().flatten();
        let stored = found
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let attempt = password.clone();
        let matches = blocking(move || password::verify_password(&attempt, &stored))
            .await
            .unwrap_or(false);
        match found {
            // The publicly known default never logs an admin in.
            Some(user) if matches && !(user.is_admin && password == LEGACY_ADMIN_PASSWORD) => {
                self.remember(key, &user);
                Ok(user)
            }
            Some(user) if matches => {
                tracing::warn!(
                    username = %user.username,
                    "refused an admin login with the insecure default password of MLflow \
                     ≤ 3.16 (GHSA-gq3w-7jj3-x7gr); set MLFLOW_AUTH_ADMIN_PASSWORD and restart \
                     to rotate it"
                );
                self.record_failure(&username);
                Err(Refusal::Unauthenticated)
            }
            _ => {
                self.record_failure(&username);
                Err(Refusal::Unauthenticated)
            }
        }
    }

    fn cached(&self, key: &CredentialKey) -> Option<User> {
        let cache = self.cache.lock().ok()?;
        match cache.get(key) {
            Some((user, at)) if at.elapsed() < CREDENTIAL_TTL => Some(user.clone()),
            _ => None,
        }
    }

    fn remember(&self, key: CredentialKey, user: &User) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CREDENTIAL_CACHE_MAX {
                cache.retain(|_, (_, at)| at.elapsed() < CREDENTIAL_TTL);
                if cache.len() >= CREDENTIAL_CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(key, (user.clone(), Instant::now()));
        }
    }

    /// Forgets every cached credential of `username` (password, admin flag
    /// or the user changed).
    pub fn forget(&self, username: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|(name, _), _| name != username);
        }
    }

    fn too_many_failures(&self, username: &str) -> bool {
        let Ok(failures) = self.failures.lock() else {
            return false;
        };
        matches!(failures.get(username), Some((n, since))
            if *n >= FAILED_LOGINS_PER_WINDOW && since.elapsed() < FAILED_LOGIN_WINDOW)
    }

    fn record_failure(&self, username: &str) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() > CREDENTIAL_CACHE_MAX {
            failures.retain(|_, (_, since)| since.elapsed() < FAILED_LOGIN_WINDOW);
        }
        let entry = failures
            .entry(username.to_string())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILED_LOGIN_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// The user's grants with the server's default permission.
    pub async fn grants_of(&self, user: &User) -> ApiResult<Grants> {
        Ok(Grants {
            rows: self.store.grants(user.id).await?,
            default: self.default_permission,
        })
    }

    /// A new password's hash, after MLflow's policy check.
    pub async fn hash_new_password(password: &str) -> ApiResult<String> {
        check_password_policy(password).map_err(ApiError::invalid_parameter)?;
        let password = password.to_string();
        blocking(move || password::hash_password(&password)).await
    }

    /// Whether `password` is the user's current one.
    pub async fn password_matches(user: &User, password: &str) -> bool {
        let (password, stored) = (password.to_string(), user.password_hash.clone());
        blocking(move || password::verify_password(&password, &stored))
            .await
            .unwrap_or(false)
    }
}

/// Runs a KDF off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("password check failed: {e}")))
}

/// `Basic base64(user:password)`: the scheme in any case, the password
/// everything after the first colon.
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    use base64::Engine;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// MLflow's `create_admin_user`, with its messages.
async fn bootstrap_admin(store: &AuthStore, config: &AuthConfig) -> Result<(), String> {
    let Some(username) = config.admin_username.as_deref() else {
        return Err(
            "MLflow Authentication needs a username for the admin user, but none is \
             configured (or it is empty). Set the MLFLOW_AUTH_ADMIN_USERNAME environment \
             variable, or set `admin_username` in the configuration file referenced by \
             MLFLOW_AUTH_CONFIG_PATH, and restart the server."
                .to_string(),
        );
    };
    let password = config.admin_password.as_deref();
    let existing = store.find_user(username).await.map_err(|e| e.message)?;
    match existing {
        None => {
            let password = valid_bootstrap_password(username, password)?;
            let hash = Auth::hash_new_password(password)
                .await
                .map_err(|e| e.message)?;
            match store.create_user(username, &hash, true).await {
                Ok(_) => tracing::info!("Created admin user '{username}'."),
                // Another process sharing the database created it first.
                Err(e) if e.code == crate::error::ErrorCode::ResourceAlreadyExists => {}
                Err(e) => return Err(e.message),
            }
        }
        Some(user) => {
            let legacy = Auth::password_matches(&user, LEGACY_ADMIN_PASSWORD).await;
            match password {
                Some(p) if legacy && p != LEGACY_ADMIN_PASSWORD => {
                    valid_bootstrap_password(username, Some(p))?;
                    let hash = Auth::hash_new_password(p).await.map_err(|e| e.message)?;
                    store
                        .set_password_hash(username, &hash)
                        .await
                        .map_err(|e| e.message)?;
                    tracing::warn!(
                        "Replaced the insecure default password of admin user '{username}' with \
                         the configured one. Unset MLFLOW_AUTH_ADMIN_PASSWORD (or remove \
                         `admin_password` from the configuration file) now that the rotation \
                         is done."
                    );
                }
                _ if legacy => tracing::warn!(
                    "The basic auth user '{username}' still uses the insecure default password \
                     of MLflow ≤ 3.16 (GHSA-gq3w-7jj3-x7gr); admin logins with it are refused. \
                     Set MLFLOW_AUTH_ADMIN_PASSWORD to a new password and restart to rotate it."
                ),
                _ => {}
            }
        }
    }
    Ok(())
}

fn valid_bootstrap_password<'a>(
    username: &str,
    password: Option<&'a str>,
) -> Result<&'a str, String> {
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Err(format!(
            "MLflow Authentication needs a password to create the admin user '{username}', but \
             none is configured (or it is empty). MLflow ships no default admin password. Set \
             the MLFLOW_AUTH_ADMIN_PASSWORD environment variable, or set `admin_password` in \
             the configuration file referenced by MLFLOW_AUTH_CONFIG_PATH, and restart the \
             server."
        ));
    };
    if password == LEGACY_ADMIN_PASSWORD {
        return Err(format!(
            "Refusing to use the insecure default password that older MLflow versions shipped \
             in basic_auth.ini for the admin user '{username}' \
             (https://github.com/advisories/GHSA-gq3w-7jj3-x7gr). Set \
             MLFLOW_AUTH_ADMIN_PASSWORD or `admin_password` in the configuration file \
             referenced by MLFLOW_AUTH_CONFIG_PATH to a different password."
        ));
    }
    check_password_policy(password).map_err(|e| {
        format!(
            "The configured password for the admin user '{username}' is invalid: {e} Set \
             MLFLOW_AUTH_ADMIN_PASSWORD or `admin_password` in the configuration file \
             referenced by MLFLOW_AUTH_CONFIG_PATH to a valid password."
        )
    })?;
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_headers_parse_as_werkzeug_does() {
        use base64::Engine;
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            parse_basic(&format!("Basic {}", enc("alice:pa:ss"))),
            Some(("alice".into(), "pa:ss".into()))
        );
        assert_eq!(
            parse_basic(&format!("basic {}", enc("bob:päss"))),
            Some(("bob".into(), "päss".into()))
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic(&format!("Basic {}", enc("nocolon"))), None);
    }

    #[test]
    fn bootstrap_passwords_follow_mlflow() {
        assert!(valid_bootstrap_password("admin", None)
            .unwrap_err()
            .contains("ships no default"));
        assert!(valid_bootstrap_password("admin", Some("")).is_err());
        assert!(valid_bootstrap_password("admin", Some("password1234"))
            .unwrap_err()
            .contains("insecure default"));
        assert!(valid_bootstrap_password("admin", Some("short-pass1"))
            .unwrap_err()
            .contains("at least 12 characters"));
        assert_eq!(
            valid_bootstrap_password("admin", Some("long-enough-pw")),
            Ok("long-enough-pw")
        );
    }
}
