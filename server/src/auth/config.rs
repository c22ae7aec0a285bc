//! The basic-auth configuration, read as MLflow reads it: the INI file named
//! by `MLFLOW_AUTH_CONFIG_PATH` (its `[mlflow]` section; it replaces the
//! packaged defaults entirely), with `MLFLOW_AUTH_ADMIN_USERNAME` and
//! `MLFLOW_AUTH_ADMIN_PASSWORD` winning over the file whenever they are set,
//! even to an empty string.

use super::permission::Permission;
use crate::config::DatabaseUri;
use std::collections::HashMap;
use std::path::Path;

/// The configuration `mlflow server --app-name basic-auth` ships
/// (`basic_auth.ini`), used when `MLFLOW_AUTH_CONFIG_PATH` is unset.
pub const PACKAGED_INI: &str = "[mlflow]\n\
    default_permission = READ\n\
    database_uri = sqlite:///basic_auth.db\n\
    admin_username = admin\n";

/// Passwords shorter than this are refused (MLflow's policy).
pub const MIN_PASSWORD_LENGTH: usize = 12;
/// The default admin password of MLflow ≤ 3.16.0 (CVE-2026-2635): never
/// accepted, never able to log in as an admin.
pub const LEGACY_ADMIN_PASSWORD: &str = "password1234";

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// What a user without a grant on a resource may do.
    pub default_permission: Permission,
    /// The auth database (users, roles, grants), separate from tracking.
    pub database: DatabaseUri,
    /// The admin created on an empty auth database.
    pub admin_username: Option<String>,
    /// Its password; used only when that user does not exist yet (or still
    /// has the legacy default password).
    pub admin_password: Option<String>,
}

impl AuthConfig {
    /// Reads `path` (or the packaged defaults) and applies the environment
    /// overrides (`Some("")` counts as set and empty).
    pub fn load(
        path: Option<&Path>,
        env_admin_username: Option<String>,
        env_admin_password: Option<String>,
    ) -> Result<AuthConfig, String> {
        let text = match path {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("MLFLOW_AUTH_CONFIG_PATH={}: {e}", path.display()))?,
            None => PACKAGED_INI.to_string(),
        };
        let section = parse_ini_section(&text, "mlflow")
            .ok_or_else(|| "the auth configuration has no [mlflow] section".to_string())?;
        let required = |key: &str| {
            section
                .get(key)
                .cloned()
                .ok_or_else(|| format!("the auth configuration's [mlflow] section has no '{key}'"))
        };
        let default_permission = required("default_permission")?;
        let default_permission = Permission::parse(&default_permission).ok_or_else(|| {
            format!(
                "default_permission '{default_permission}' is not one of READ, USE, EDIT, \
                 MANAGE, NO_PERMISSIONS, DENY"
            )
        })?;
        let database = DatabaseUri::parse(&required("database_uri")?)
            .map_err(|e| format!("database_uri: {}", e.message))?;
        let non_empty = |v: Option<String>| v.filter(|v| !v.is_empty());
        let admin_username = match env_admin_username {
            Some(v) => non_empty(Some(v)),
            None => non_empty(section.get("admin_username").cloned()),
        };
        let admin_password = match env_admin_password {
            Some(v) => non_empty(Some(v)),
            None => non_empty(section.get("admin_password").cloned()),
        };
        Ok(AuthConfig {
            default_permission,
            database,
            admin_username,
            admin_password,
        })
    }
}

/// The keys of one section of an INI file, as Python's `configparser`
/// reads them: `key = value` or `key: value`, keys lower-cased, `#` and `;`
/// comment lines, indented lines continuing the previous value.
pub fn parse_ini_section(text: &str, wanted: &str) -> Option<HashMap<String, String>> {
    let mut current: Option<String> = None;
    let mut found: Option<HashMap<String, String>> = None;
    let mut last_key: Option<String> = None;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            // A continuation line.
            if let (Some(values), Some(key), true) = (
                found.as_mut(),
                &last_key,
                current.as_deref() == Some(wanted),
            ) {
                if let Some(value) = values.get_mut(key) {
                    value.push('\n');
                    value.push_str(trimmed);
                }
            }
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            current = Some(name.to_string());
            last_key = None;
            if name == wanted && found.is_none() {
                found = Some(HashMap::new());
            }
            continue;
        }
        if current.as_deref() != Some(wanted) {
            continue;
        }
        let split = trimmed.find(['=', ':']);
        let (key, value) = match split {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => (trimmed, ""),
        };
        let key = key.trim().to_lowercase();
        if let Some(values) = found.as_mut() {
            values.insert(key.clone(), value.trim().to_string());
        }
        last_key = Some(key);
    }
    found
}

/// MLflow's password policy: at least 12 characters.
pub fn check_password_policy(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        return Err(format!(
            "Password must be at least {MIN_PASSWORD_LENGTH} characters."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_reads_like_configparser() {
        let text = "# c\n[other]\nx = 1\n[mlflow]\nDefault_Permission = EDIT\n; c\n\
                    database_uri: sqlite:///a.db\nadmin_password = p=q:r\n  more\n";
        let s = parse_ini_section(text, "mlflow").unwrap();
        assert_eq!(s["default_permission"], "EDIT");
        assert_eq!(s["database_uri"], "sqlite:///a.db");
        assert_eq!(s["admin_password"], "p=q:r\nmore");
        assert!(!s.contains_key("x"));
        assert!(parse_ini_section("[a]\n", "mlflow").is_none());
    }

    #[test]
    fn environment_wins_even_when_empty() {
        let c = AuthConfig::load(None, None, Some("from-env-password".into())).unwrap();
        assert_eq!(c.default_permission, Permission::Read);
        assert_eq!(c.admin_username.as_deref(), Some("admin"));
        assert_eq!(c.admin_password.as_deref(), Some("from-env-password"));
        let c = AuthConfig::load(None, Some(String::new()), None).unwrap();
        assert_eq!(c.admin_username, None);
        assert_eq!(c.admin_password, None);
    }

    #[test]
    fn a_config_file_replaces_the_defaults() {
        let dir = tempfile_dir();
        let path = dir.join("auth.ini");
        std::fs::write(&path, "[mlflow]\ndefault_permission = NO_PERMISSIONS\ndatabase_uri = sqlite:///x.db\nadmin_username = root\nadmin_password = abcdefghijkl\n").unwrap();
        let c = AuthConfig::load(Some(&path), None, None).unwrap();
        assert_eq!(c.default_permission, Permission::NoPermissions);
        assert_eq!(c.admin_username.as_deref(), Some("root"));
        assert_eq!(c.admin_password.as_deref(), Some("abcdefghijkl"));
        std::fs::write(&path, "[mlflow]\ndatabase_uri = sqlite:///x.db\n").unwrap();
        let err = AuthConfig::load(Some(&path), None, None).unwrap_err();
        assert!(err.contains("default_permission"), "{err}");
        std::fs::write(
            &path,
            "[mlflow]\ndefault_permission = ALL\ndatabase_uri = sqlite:///x.db\n",
        )
        .unwrap();
        assert!(AuthConfig::load(Some(&path), None, None).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ff-auth-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn password_policy_counts_characters() {
        assert!(check_password_policy("elevenchars").is_err());
        assert!(check_password_policy("twelve chars").is_ok());
        assert!(check_password_policy("ääääääääääää").is_ok());
    }
}
