//! Requests no route took. Page loads outside `/api` get the web app's
//! `index.html`, so deep links like `/rooms/{id}` survive a reload. Anything
//! else is `405` with `Allow` when the path exists for other methods, or
//! `404`, both in the API's error format. And a request line too long for
//! the HTTP layer to parse, answered in that format too.

use std::rc::Rc;
use std::time::Duration;

use actix_files::NamedFile;
use actix_service::{Service, ServiceFactory};
use actix_web::dev::ResourceDef;
use actix_web::http::{header, Method};
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use tokio::net::TcpStream;

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

/// Longest request line (method, target, version) answered by the
/// application; a longer one gets `414 uri_too_long`.
pub const MAX_REQUEST_LINE: usize = 32 * 1024;

/// Wraps the HTTP service so that a connection whose first request line is
/// longer than [`MAX_REQUEST_LINE`] is answered in the API's error format.
/// The HTTP layer underneath answers a target it cannot parse (past 64 KiB)
/// with a bare `400` and no body, before the application sees the request;
/// this looks at the first line before it does. Only the first request of a
/// connection is looked at: the HTTP layer owns the connection from then on.
pub fn long_request_lines<F>(inner: F) -> RequestLineGuard<F> {
    RequestLineGuard(inner)
}

pub struct RequestLineGuard<F>(F);

impl<F> ServiceFactory<TcpStream> for RequestLineGuard<F>
where
    F: ServiceFactory<TcpStream, Config = (), Response = ()>,
    F::Service: 'static,
    F::Future: 'static,
    F::Error: 'static,
{
    type Response = ();
    type Error = F::Error;
    type Config = ();
    type Service = RequestLineService<F::Service>;
    type InitError = F::InitError;
    type Future = LocalBoxFuture<'static, Result<Self::Service, Self::InitError>>;

    fn new_service(&self, cfg: ()) -> Self::Future {
        let inner = self.0.new_service(cfg);
        Box::pin(async move {
            Ok(RequestLineService {
                inner: Rc::new(inner.await?),
            })
        })
    }
}

pub struct RequestLineService<S> {
    inner: Rc<S>,
}

impl<S> Service<TcpStream> for RequestLineService<S>
where
    S: Service<TcpStream, Response = ()> + 'static,
    S::Error: 'static,
{
    type Response = ();
    type Error = S::Error;
    type Future = LocalBoxFuture<'static, Result<(), S::Error>>;

    actix_service::forward_ready!(inner);

    fn call(&self, stream: TcpStream) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            if first_line_too_long(&stream).await {
                refuse_long_line(stream).await;
                return Ok(());
            }
            inner.call(stream).await
        })
    }
}

/// Whether the first request line is past the limit, looking at what has
/// arrived without taking it. Almost always one look at the first bytes.
async fn first_line_too_long(stream: &TcpStream) -> bool {
    let mut head = [0u8; 2048];
    match stream.peek(&mut head).await {
        Ok(n) if n == 0 || head[..n].contains(&b'\n') => return false,
        Ok(_) => {}
        Err(_) => return false,
    }
    // A long line, or one still arriving: look again as more comes, for as
    // long as the HTTP layer would wait for a request's head.
    let mut line = vec![0u8; MAX_REQUEST_LINE + 1];
    let give_up = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let n = match stream.peek(&mut line).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        if line[..n].contains(&b'\n') {
            return false;
        }
        if n > MAX_REQUEST_LINE {
            return true;
        }
        if tokio::time::Instant::now() >= give_up {
            return false;
        }
        // `peek` is ready again at once while the same bytes wait unread.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Answers `414` and closes, reading what the client still sends meanwhile
/// so the answer is not lost to a reset.
async fn refuse_long_line(mut stream: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let error = AppError::UriTooLong(format!(
        "the request line may be at most {MAX_REQUEST_LINE} bytes"
    ));
    let body = serde_json::to_vec(&error.body()).unwrap_or_default();
    let head = format!(
        "HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json\r\n\
         content-length: {}\r\ncache-control: no-store\r\n\
         x-content-type-options: nosniff\r\nconnection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(&body).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let drain = async {
        let mut left = 1usize << 20;
        while let Ok(n @ 1..) = stream.read(&mut sink).await {
            left = left.saturating_sub(n);
            if left == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}
