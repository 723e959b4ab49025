//! Requests no route took: `405` with `Allow` when the path exists for other
//! methods, otherwise `404`, both in the API's error format.

use actix_web::dev::ResourceDef;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};

use crate::error::AppError;

/// Every documented path with its methods, taken from the OpenAPI document so
/// that it cannot drift from the routes.
pub struct KnownPaths(Vec<(ResourceDef, String)>);

impl KnownPaths {
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        let paths = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods: Vec<&str> = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (ResourceDef::new(path.as_str()), methods.join(", "))
            })
            .collect();
        Self(paths)
    }

    fn allowed(&self, path: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, allow)| allow.as_str())
    }
}

pub async fn not_found(
    req: HttpRequest,
    known: Data<KnownPaths>,
) -> Result<HttpResponse, AppError> {
    Err(match known.allowed(req.path()) {
        Some(allow) => AppError::MethodNotAllowed(allow.to_owned()),
        None => AppError::NotFound("route"),
    })
}
