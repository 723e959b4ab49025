//! Log lines: `env_logger`, with the id of the request a line was written
//! for. `actix-request-identifier` gives every request an id and returns it
//! as `X-Request-Id`; [`scope_request_id`] makes it the id of every line
//! written while the request is handled.

use std::io::Write;

use actix_request_identifier::RequestId;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpMessage;

tokio::task_local! {
    static REQUEST_ID: RequestId;
}

/// Installs the logger: `RUST_LOG` filters (default `info`).
pub fn init() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            let level = buf.default_level_style(record.level());
            write!(
                buf,
                "[{} {level}{:<5}{level:#} {}",
                buf.timestamp(),
                record.level(),
                record.target()
            )?;
            let _ = REQUEST_ID.try_with(|id| write!(buf, " req={}", id.as_str()));
            writeln!(buf, "] {}", record.args())
        })
        .init();
}

/// Middleware, inside `RequestIdentifier`: the request's id for the lines
/// written while it is handled.
pub async fn scope_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // A header value: cloning it shares its bytes.
    let id = req.extensions().get::<RequestId>().cloned();
    match id {
        Some(id) => REQUEST_ID.scope(id, next.call(req)).await,
        None => next.call(req).await,
    }
}
