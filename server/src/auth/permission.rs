//! MLflow 3.17.2's permission model, pure: levels, what an operation
//! requires, and how a user's grants answer it. No store, no request.
//!
//! - Within one key (a resource type and id) a user's grants across roles
//!   fold to the highest level, except that a `DENY` among them wins.
//! - A requirement names its own key and, in order, fallback keys consulted
//!   only while no grant has been found (a run's `run/*` tier falls back to
//!   its experiment). The first key holding any grant decides.
//! - A positive grant never resolves below `default_permission`; with no
//!   grant anywhere, `default_permission` applies.
//! - A `workspace/*` `MANAGE` grant (workspace admin) is `MANAGE` on all.

/// A permission level (`role_permissions.permission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    Read,
    Use,
    Edit,
    Manage,
    NoPermissions,
    Deny,
}

/// What an operation does to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    Use,
    Update,
    Delete,
    Manage,
    /// Only that the key is not explicitly denied (creating a new resource
    /// of that type).
    NotDenied,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::Read,
        Permission::Use,
        Permission::Edit,
        Permission::Manage,
        Permission::NoPermissions,
        Permission::Deny,
    ];

    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Use => "USE",
            Permission::Edit => "EDIT",
            Permission::Manage => "MANAGE",
            Permission::NoPermissions => "NO_PERMISSIONS",
            Permission::Deny => "DENY",
        }
    }

    /// MLflow's `PERMISSION_PRIORITY`.
    fn priority(self) -> i8 {
        match self {
            Permission::Deny => -1,
            Permission::NoPermissions => 0,
            Permission::Read => 1,
            Permission::Use => 2,
            Permission::Edit => 3,
            Permission::Manage => 4,
        }
    }

    fn max(self, other: Permission) -> Permission {
        if self.priority() >= other.priority() {
            self
        } else {
            other
        }
    }

    pub fn can_read(self) -> bool {
        self.priority() >= 1
    }

    pub fn can_use(self) -> bool {
        self.priority() >= 2
    }

    pub fn allows(self, action: Action) -> bool {
        match action {
            Action::Read => self.priority() >= 1,
            Action::Use => self.priority() >= 2,
            Action::Update => self.priority() >= 3,
            Action::Delete | Action::Manage => self.priority() >= 4,
            Action::NotDenied => self != Permission::Deny,
        }
    }

    /// A positive grant is raised to `default`; `DENY` and `NO_PERMISSIONS`
    /// stay as they are.
    fn floored(self, default: Permission) -> Permission {
        match self {
            Permission::Deny | Permission::NoPermissions => self,
            _ => self.max(default),
        }
    }
}

/// Resource types a grant may name, and whether they take a specific id or
/// only `*` (sub-resource tiers).
pub const RESOURCE_TYPES: &[(&str, bool)] = &[
    ("experiment", true),
    ("registered_model", true),
    ("prompt", true),
    ("scorer", true),
    ("gateway_secret", true),
    ("gateway_endpoint", true),
    ("gateway_model_definition", true),
    ("mcp_server", true),
    ("run", false),
    ("trace", false),
    ("assessment", false),
    ("logged_model", false),
    ("review_queue", false),
    ("registered_model_version", false),
    ("prompt_version", false),
    ("scorer_version", false),
    ("mcp_server_version", false),
    ("workspace", false),
];

/// Whether `resource_type` is a known type and `pattern` a pattern it takes.
pub fn valid_pattern(resource_type: &str, pattern: &str) -> Result<(), String> {
    let Some((_, takes_ids)) = RESOURCE_TYPES.iter().find(|(t, _)| *t == resource_type) else {
        return Err(format!("Invalid resource type '{resource_type}'."));
    };
    if pattern == "*" || *takes_ids {
        Ok(())
    } else {
        Err(format!(
            "Resource type '{resource_type}' only accepts the '*' resource pattern, got '{pattern}'."
        ))
    }
}

/// One row of a user's grants (`role_permissions` through their roles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub resource_type: String,
    pub pattern: String,
    pub permission: Permission,
}

/// A resource key: a type and an id (`*` for a whole tier).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub resource_type: &'static str,
    pub id: String,
}

impl Key {
    pub fn new(resource_type: &'static str, id: impl Into<String>) -> Key {
        Key {
            resource_type,
            id: id.into(),
        }
    }

    pub fn tier(resource_type: &'static str) -> Key {
        Key::new(resource_type, "*")
    }
}

/// One thing an operation requires: `action` on `key`, deciding by the
/// fallbacks in order while no grant has been found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: Key,
    pub action: Action,
    pub fallbacks: Vec<Key>,
}

impl Requirement {
    pub fn on(key: Key, action: Action) -> Requirement {
        Requirement {
            key,
            action,
            fallbacks: Vec::new(),
        }
    }

    pub fn or_else(mut self, fallback: Key) -> Requirement {
        self.fallbacks.push(fallback);
        self
    }
}

fn grant_matches(grant: &Grant, key: &Key) -> bool {
    if grant.resource_type != key.resource_type {
        return false;
    }
    let takes_ids = RESOURCE_TYPES
        .iter()
        .find(|(t, _)| *t == key.resource_type)
        .is_some_and(|(_, ids)| *ids);
    grant.pattern == "*" || (takes_ids && grant.pattern == key.id)
}

/// The grants at one key: `DENY` wins, else the highest; `None` when no
/// grant applies.
fn fold(grants: &[Grant], key: &Key) -> Option<Permission> {
    let mut best: Option<Permission> = None;
    for grant in grants.iter().filter(|g| grant_matches(g, key)) {
        if grant.permission == Permission::Deny {
            return Some(Permission::Deny);
        }
        best = Some(best.map_or(grant.permission, |b| b.max(grant.permission)));
    }
    best
}

fn is_workspace_admin(grants: &[Grant]) -> bool {
    grants.iter().any(|g| {
        g.resource_type == "workspace" && g.pattern == "*" && g.permission == Permission::Manage
    })
}

/// A user's grants with the server's default, answering requirements.
#[derive(Debug, Clone)]
pub struct Grants {
    pub rows: Vec<Grant>,
    pub default: Permission,
}

impl Grants {
    /// The permission that governs `requirement`.
    pub fn governing(&self, requirement: &Requirement) -> Permission {
        if is_workspace_admin(&self.rows) {
            return Permission::Manage;
        }
        std::iter::once(&requirement.key)
            .chain(&requirement.fallbacks)
            .find_map(|key| fold(&self.rows, key))
            .map(|p| p.floored(self.default))
            .unwrap_or(self.default)
    }

    pub fn satisfies(&self, requirement: &Requirement) -> bool {
        self.governing(requirement).allows(requirement.action)
    }

    /// Every requirement met.
    pub fn satisfies_all(&self, requirements: &[Requirement]) -> bool {
        requirements.iter().all(|r| self.satisfies(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(t: &str, p: &str, perm: Permission) -> Grant {
        Grant {
            resource_type: t.into(),
            pattern: p.into(),
            permission: perm,
        }
    }

    fn run_requirement(experiment: &str, action: Action) -> Vec<Requirement> {
        vec![
            Requirement::on(Key::new("experiment", experiment), Action::Read),
            Requirement::on(Key::tier("run"), action).or_else(Key::new("experiment", experiment)),
        ]
    }

    #[test]
    fn the_ladder_on_an_experiment() {
        use Permission::*;
        for (perm, read, log, delete) in [
            (Read, true, false, false),
            (Use, true, false, false),
            (Edit, true, true, false),
            (Manage, true, true, true),
            (Deny, false, false, false),
        ] {
            let g = Grants {
                rows: vec![grant("experiment", "7", perm)],
                default: NoPermissions,
            };
            assert_eq!(
                g.satisfies_all(&run_requirement("7", Action::Read)),
                read,
                "{perm:?}"
            );
            assert_eq!(
                g.satisfies_all(&run_requirement("7", Action::Update)),
                log,
                "{perm:?}"
            );
            assert_eq!(
                g.satisfies_all(&run_requirement("7", Action::Delete)),
                delete,
                "{perm:?}"
            );
            // Nothing carries over to another experiment.
            assert!(!g.satisfies_all(&run_requirement("8", Action::Read)));
        }
    }

    #[test]
    fn default_applies_without_grants_and_floors_positive_ones() {
        let g = Grants {
            rows: vec![grant("experiment", "1", Permission::Read)],
            default: Permission::Edit,
        };
        assert_eq!(
            g.governing(&Requirement::on(Key::new("experiment", "1"), Action::Read)),
            Permission::Edit
        );
        assert_eq!(
            g.governing(&Requirement::on(Key::new("experiment", "2"), Action::Read)),
            Permission::Edit
        );
        let g = Grants {
            rows: vec![grant("experiment", "1", Permission::Deny)],
            default: Permission::Edit,
        };
        assert_eq!(
            g.governing(&Requirement::on(Key::new("experiment", "1"), Action::Read)),
            Permission::Deny
        );
    }

    #[test]
    fn deny_wins_within_a_key_and_the_first_key_with_a_grant_decides() {
        let g = Grants {
            rows: vec![
                grant("experiment", "1", Permission::Manage),
                grant("experiment", "*", Permission::Deny),
            ],
            default: Permission::Read,
        };
        assert_eq!(
            g.governing(&Requirement::on(Key::new("experiment", "1"), Action::Read)),
            Permission::Deny
        );
        // A run-tier grant overrides the experiment, downward too.
        let g = Grants {
            rows: vec![
                grant("experiment", "1", Permission::Manage),
                grant("run", "*", Permission::Edit),
            ],
            default: Permission::NoPermissions,
        };
        assert!(g.satisfies_all(&run_requirement("1", Action::Update)));
        assert!(!g.satisfies_all(&run_requirement("1", Action::Delete)));
    }

    #[test]
    fn workspace_admins_manage_everything() {
        let g = Grants {
            rows: vec![
                grant("workspace", "*", Permission::Manage),
                grant("experiment", "1", Permission::Deny),
            ],
            default: Permission::NoPermissions,
        };
        assert!(g.satisfies_all(&run_requirement("1", Action::Delete)));
    }

    #[test]
    fn sub_resource_tiers_take_only_the_wildcard() {
        assert!(valid_pattern("experiment", "12").is_ok());
        assert!(valid_pattern("run", "*").is_ok());
        assert!(valid_pattern("run", "abc").is_err());
        assert!(valid_pattern("notebook", "*").is_err());
        let g = Grants {
            rows: vec![grant("run", "abc", Permission::Deny)],
            default: Permission::Read,
        };
        // A stray id-pattern on a tier never matches.
        assert!(g.satisfies_all(&run_requirement("1", Action::Read)));
    }
}
