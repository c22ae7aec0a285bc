//! What one non-admin caller may do, from their grants loaded once per
//! request: the requirement shapes of MLflow 3.17.2's validators, by
//! resource. Used by the middleware (routes, search filters) and by
//! `/graphql` (each resolved object).

use super::permission::{Action, Grants, Key, Requirement};

/// A non-admin caller's grants. Admins get no `Access` at all: nothing is
/// checked for them.
#[derive(Debug, Clone)]
pub struct Access {
    pub grants: Grants,
}

impl Access {
    fn all(&self, requirements: &[Requirement]) -> bool {
        self.grants.satisfies_all(requirements)
    }

    /// `action` on the experiment itself.
    pub fn experiment(&self, experiment_id: &str, action: Action) -> bool {
        self.all(&[Requirement::on(
            Key::new("experiment", experiment_id),
            action,
        )])
    }

    /// `action` on a run of `experiment_id` (or on one of its logged models
    /// with `tier = "logged_model"`): read on the experiment, the tier's
    /// grant if any, else the experiment's.
    pub fn in_experiment(&self, tier: &'static str, experiment_id: &str, action: Action) -> bool {
        let experiment = Key::new("experiment", experiment_id);
        self.all(&[
            Requirement::on(experiment.clone(), Action::Read),
            Requirement::on(Key::tier(tier), action).or_else(experiment),
        ])
    }

    /// Deleting or restoring an experiment: delete on it and on what it
    /// holds.
    pub fn delete_experiment(&self, experiment_id: &str) -> bool {
        let experiment = Key::new("experiment", experiment_id);
        self.all(&[
            Requirement::on(experiment.clone(), Action::Delete),
            Requirement::on(Key::tier("run"), Action::Delete).or_else(experiment.clone()),
            Requirement::on(Key::tier("logged_model"), Action::Delete).or_else(experiment),
        ])
    }

    /// Creating a `tier` (run, logged model) in an experiment.
    pub fn create_in_experiment(&self, tier: &'static str, experiment_id: &str) -> bool {
        self.all(&[
            Requirement::on(Key::new("experiment", experiment_id), Action::Update),
            Requirement::on(Key::tier(tier), Action::NotDenied),
        ])
    }

    /// Creating a resource of `resource_type` named `id` (`*` when unknown).
    pub fn create(&self, resource_type: &'static str, id: &str) -> bool {
        self.all(&[Requirement::on(
            Key::new(resource_type, id),
            Action::NotDenied,
        )])
    }

    /// `action` on a registered model; deleting one also needs delete on its
    /// versions.
    pub fn model(&self, name: &str, action: Action) -> bool {
        let model = Key::new("registered_model", name);
        let mut requirements = vec![Requirement::on(model.clone(), action)];
        if action == Action::Delete {
            requirements.push(
                Requirement::on(Key::tier("registered_model_version"), Action::Delete)
                    .or_else(model),
            );
        }
        self.all(&requirements)
    }

    /// `action` on a version of model `name`.
    pub fn model_version(&self, name: &str, action: Action) -> bool {
        let model = Key::new("registered_model", name);
        let tier = Key::tier("registered_model_version");
        let version = match action {
            Action::Read => Requirement::on(tier, Action::NotDenied),
            _ => Requirement::on(tier, action).or_else(model.clone()),
        };
        self.all(&[Requirement::on(model, Action::Read), version])
    }

    /// A new version of model `name`.
    pub fn create_model_version(&self, name: &str) -> bool {
        self.all(&[
            Requirement::on(Key::new("registered_model", name), Action::Update),
            Requirement::on(Key::tier("registered_model_version"), Action::NotDenied),
        ])
    }

    /// Granting or revoking on `resource_type`/`id`.
    pub fn manage(&self, resource_type: &'static str, id: &str) -> bool {
        self.all(&[Requirement::on(Key::new(resource_type, id), Action::Manage)])
    }
}
