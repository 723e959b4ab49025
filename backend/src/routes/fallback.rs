//! Requests no route took. Page loads outside `/api` get the web app's
//! `index.html`, so deep links like `/rooms/{id}` survive a reload. Anything
//! else is `405` with `Allow` when the path exists for other methods, or
//! `404`, both in the API's error format.

use actix_files::NamedFile;
use actix_web::dev::ResourceDef;
use actix_web::http::{header, Method};
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};

use crate::error::AppError;
use crate::state::AppState;

/// The web app's policy: no inline scripts, nothing from other origins.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

/// The API reference's policy: Swagger UI's own scripts only, and the
/// inline styles it sets on its elements.
pub const DOCS_CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

/// Middleware: gives the API reference under `/api/docs` its policy.
pub async fn docs_policy(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let docs = req.path().starts_with("/api/docs");
    let mut res = next.call(req).await?;
    if docs {
        res.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY),
        );
    }
    Ok(res)
}

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
    state: Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let page_load = matches!(*req.method(), Method::GET | Method::HEAD)
        && !req.path().starts_with("/api/")
        && !req.path().starts_with("/gif/")
        && !req.path().starts_with("/assets/");
    if page_load {
        if let Ok(index) = NamedFile::open_async(state.settings.static_dir.join("index.html")).await
        {
            let mut res = index
                .use_etag(true)
                .use_last_modified(true)
                .into_response(&req);
            let headers = res.headers_mut();
            headers.insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-cache"),
            );
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                header::HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            );
            return Ok(res);
        }
    }
    Err(match known.allowed(req.path()) {
        Some(allow) => AppError::MethodNotAllowed(allow.to_owned()),
        None => AppError::NotFound("route"),
    })
}
