//! Anonymous identity: a signed and encrypted session cookie holding a
//! random user id. Every request without one gets one.

use std::future::{ready, Ready};
use std::path::Path;

use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_session::{SessionExt, SessionMiddleware};
use actix_web::body::MessageBody;
use actix_web::cookie::{time::Duration, Key, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use anyhow::Context;
use sha2::{Digest, Sha512};

use crate::domain::ids;
use crate::error::AppError;

pub const COOKIE_NAME: &str = "gifchat_session";
const USER_ID_KEY: &str = "uid";

/// The user making the request.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user_id: String,
}

/// The session key from `SESSION_KEY` (at least 64 bytes, all of them used),
/// or else the one kept in `data_dir`, generated on first start.
pub fn load_key(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Key> {
    let secret = match configured {
        Some(s) if s.len() < 64 => {
            anyhow::bail!("SESSION_KEY must be at least 64 bytes (it has {})", s.len())
        }
        Some(s) => s.to_owned(),
        None => {
            let path = data_dir.join("session.key");
            match std::fs::read_to_string(&path) {
                Ok(s) if s.trim().len() >= 64 => s.trim().to_owned(),
                Ok(_) => anyhow::bail!(
                    "{} is shorter than 64 bytes; delete it to generate a new one",
                    path.display()
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir_all(data_dir)
                        .with_context(|| format!("creating {}", data_dir.display()))?;
                    let secret = hex::encode(Key::generate().master());
                    write_private(&path, &secret)?;
                    log::info!("generated a session key in {}", path.display());
                    secret
                }
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            }
        }
    };
    Ok(Key::from(&Sha512::digest(secret.as_bytes())))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

pub fn session_middleware(key: Key, secure: bool) -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name(COOKIE_NAME.to_owned())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_secure(secure)
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(400)))
        .build()
}

/// Middleware: makes sure the session names a user, and exposes it as [`Identity`].
pub async fn ensure_identity(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Stored GIFs are public and cached for a year by anyone on the way: a
    // response a shared cache keeps must never carry a session cookie.
    if req.path().starts_with("/gif/") {
        return next.call(req).await;
    }
    let session = req.get_session();
    let user_id = match session.get::<String>(USER_ID_KEY) {
        Ok(Some(id)) if ids::is_well_formed(&id) => id,
        _ => {
            let id = ids::new_id();
            session.insert(USER_ID_KEY, &id)?;
            id
        }
    };
    req.extensions_mut().insert(Identity { user_id });
    next.call(req).await
}

impl FromRequest for Identity {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Identity>().cloned().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("identity middleware is not installed"))
        }))
    }
}
