//! A JSON body extractor whose every failure speaks the API's error format:
//! wrong content type 415, too large 413, malformed JSON 400, and a
//! well-formed body with a bad field 422 naming the field.

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Largest JSON body accepted.
pub const JSON_LIMIT: usize = 64 * 1024;

/// A required JSON body.
pub struct ApiJson<T>(pub T);

/// A JSON body that may be left out entirely (then `T::default()`).
pub struct OptionalJson<T>(pub T);

fn content_type_is_json(req: &HttpRequest) -> Option<bool> {
    let ct = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mime: mime::Mime = ct.parse().ok()?;
    Some(mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
}

fn read_json<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    optional: bool,
) -> LocalBoxFuture<'static, Result<Option<T>, AppError>> {
    let is_json = content_type_is_json(req);
    let declared_empty = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    if optional && is_json.is_none() && declared_empty {
        return Box::pin(async { Ok(None) });
    }
    let body = Bytes::from_request(req, payload);
    Box::pin(async move {
        let bytes = body.await.map_err(|e| match e.as_error::<PayloadError>() {
            Some(PayloadError::Overflow) => AppError::PayloadTooLarge(format!(
                "the JSON body must be at most {JSON_LIMIT} bytes"
            )),
            _ => AppError::BadRequest(format!("could not read the request body: {e}")),
        })?;
        if optional && bytes.is_empty() && is_json.is_none() {
            return Ok(None);
        }
        if is_json != Some(true) {
            return Err(AppError::UnsupportedMediaType(
                "the body must be application/json".into(),
            ));
        }
        parse(&bytes, optional)
    })
}

fn parse<T: DeserializeOwned>(bytes: &[u8], allow_null: bool) -> Result<Option<T>, AppError> {
    if allow_null && serde_json::from_slice::<()>(bytes).is_ok() {
        return Ok(None);
    }
    // serde would also read a struct from a JSON array; the API takes objects only.
    if !bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || (allow_null && *b == b'n'))
    {
        return Err(AppError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de)
        .map(Some)
        .map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if !inner.is_data() {
                return AppError::BadRequest(format!("malformed JSON: {inner}"));
            }
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|s| s.strip_suffix('`'))
            {
                let field = if path == "." {
                    field.to_owned()
                } else {
                    format!("{path}.{field}")
                };
                return AppError::field(&field, "is required");
            }
            if path == "." {
                AppError::BadRequest(format!("the body must be a JSON object: {message}"))
            } else {
                AppError::field(&path, message)
            }
        })
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = read_json::<T>(req, payload, false);
        Box::pin(async move {
            fut.await?
                .map(ApiJson)
                .ok_or_else(|| AppError::BadRequest("a JSON body is required".into()))
        })
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = read_json::<T>(req, payload, true);
        Box::pin(async move { Ok(OptionalJson(fut.await?.unwrap_or_default())) })
    }
}
