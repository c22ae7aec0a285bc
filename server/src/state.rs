//! What every handler shares: the stores, the artifact repository and the
//! settings. Built once by `startup`, read by `handlers` and `graphql`;
//! nothing here depends on either.

use crate::artifacts::ArtifactRepository;
use crate::auth::Auth;
use crate::config::Settings;
use crate::store::logged_models::LoggedModelStore;
use crate::store::registry::RegistryStore;
use crate::store::TrackingStore;
use std::sync::Arc;

/// Everything a handler may need; shared by all workers.
pub struct AppState {
    pub store: Arc<dyn TrackingStore>,
    /// The same database seen through the model registry's trait.
    pub registry: Arc<dyn RegistryStore>,
    /// The same database seen through the logged models' trait.
    pub logged_models: Arc<dyn LoggedModelStore>,
    /// The `mlflow-artifacts` proxy's repository; `None` with
    /// `--no-serve-artifacts`.
    pub artifacts: Option<Arc<dyn ArtifactRepository>>,
    /// Users and permissions with `--app-name basic-auth`; `None` without.
    pub auth: Option<Arc<Auth>>,
    pub settings: Settings,
}
