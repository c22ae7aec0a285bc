//! Route registration. Every route goes through [`Router`], which records
//! `(method, path)` as it registers it with actix, so the set of routes the
//! server answers is known: `startup` checks each against the auth policy
//! table (`auth::policy::ROUTES`) before serving, and the tests walk it.

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder};

/// One registered route: its method and its path under the static prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub method: Method,
    pub path: String,
}

/// Registers routes on an actix `ServiceConfig` and records them.
pub struct Router<'a> {
    cfg: &'a mut web::ServiceConfig,
    /// The scopes entered so far (`/api/2.0/mlflow` …).
    prefix: String,
    routes: &'a mut Vec<RouteEntry>,
}

impl<'a> Router<'a> {
    pub fn new(cfg: &'a mut web::ServiceConfig, routes: &'a mut Vec<RouteEntry>) -> Router<'a> {
        Router {
            cfg,
            prefix: String::new(),
            routes,
        }
    }

    fn record(&mut self, method: Method, path: &str) {
        self.routes.push(RouteEntry {
            method,
            path: format!("{}{path}", self.prefix),
        });
    }

    /// One method on `path`; other methods fall through to later routes
    /// (and finally to the 404 handler).
    pub fn route<F, Args>(&mut self, method: Method, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.record(method.clone(), path);
        self.cfg.route(path, web::method(method).to(handler));
        self
    }

    pub fn get<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::GET, path, handler)
    }

    pub fn post<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::POST, path, handler)
    }

    pub fn patch<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::PATCH, path, handler)
    }

    pub fn delete<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::DELETE, path, handler)
    }

    /// A resource whose other methods answer 405 (as Flask's routes do).
    pub fn resource(&mut self, path: &str, build: impl FnOnce(&mut Methods)) -> &mut Self {
        let mut methods = Methods {
            resource: Some(web::resource(path)),
            methods: Vec::new(),
        };
        build(&mut methods);
        for method in std::mem::take(&mut methods.methods) {
            self.record(method, path);
        }
        if let Some(resource) = methods.resource {
            self.cfg.service(resource);
        }
        self
    }

    /// A GET-only resource (another method is 405).
    pub fn get_only<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource(path, |m| {
            m.get(handler);
        })
    }

    /// A POST-only resource (another method is 405).
    pub fn post_only<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource(path, |m| {
            m.post(handler);
        })
    }

    /// Routes under a path prefix.
    pub fn scope(&mut self, prefix: &str, build: impl FnOnce(&mut Router)) -> &mut Self {
        let full = format!("{}{prefix}", self.prefix);
        let routes = &mut *self.routes;
        self.cfg.service(web::scope(prefix).configure(|cfg| {
            let mut inner = Router {
                cfg,
                prefix: full,
                routes,
            };
            build(&mut inner);
        }));
        self
    }
}

/// The methods of one [`Router::resource`].
pub struct Methods {
    resource: Option<actix_web::Resource>,
    methods: Vec<Method>,
}

impl Methods {
    pub fn to<F, Args>(&mut self, method: Method, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.methods.push(method.clone());
        self.resource = self
            .resource
            .take()
            .map(|r| r.route(web::method(method).to(handler)));
        self
    }

    pub fn get<F, Args>(&mut self, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.to(Method::GET, handler)
    }

    pub fn post<F, Args>(&mut self, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.to(Method::POST, handler)
    }
}
