//! Request bodies. A JSON body extractor whose every failure speaks the
//! API's error format: wrong content type 415, too large 413, too slow 408,
//! malformed JSON (trailing garbage too) 400, and a well-formed body with a
//! bad field 422 naming the field, never quoting the value it was sent (it
//! may be a password). And [`BodyStream`], the same limits for a body that
//! is read as a stream (uploads), and [`hold_unread_bodies`], so that a
//! connection whose body was refused is closed, not drained.
//!
//! A body must arrive whole within `BODY_READ_TIMEOUT_SECS` of its first
//! read, however steadily it trickles: a deadline for the whole body, as
//! Go's `ReadTimeout`, rather than a timeout between reads, which a client
//! sending a byte every few seconds would never meet.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{Decompress, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use tokio::time::{Instant, Sleep};

use crate::error::AppError;

/// Largest JSON body accepted.
pub const JSON_LIMIT: usize = 64 * 1024;

/// How long a request body may take to arrive (`BODY_READ_TIMEOUT_SECS`),
/// registered as app data by the application.
#[derive(Debug, Clone, Copy)]
pub struct BodyReadTimeout(pub Duration);

/// How long this app gives a request body to arrive.
pub fn body_timeout(req: &HttpRequest) -> Duration {
    req.app_data::<BodyReadTimeout>()
        .map_or(Duration::from_secs(30), |t| t.0)
}

fn timed_out(timeout: Duration) -> AppError {
    AppError::RequestTimeout(format!(
        "the request body did not arrive within {} s",
        timeout.as_secs()
    ))
}

/// The API's error for a body that could not be read: 413 past `limit`,
/// 408 past its deadline (from [`BodyStream`]), 400 otherwise.
pub fn payload_error(e: &PayloadError, limit: u64) -> AppError {
    match e {
        PayloadError::Overflow => {
            AppError::PayloadTooLarge(format!("the request body may be at most {limit} bytes"))
        }
        PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            AppError::RequestTimeout(io.to_string())
        }
        other => AppError::BadRequest(format!("could not read the request body: {other}")),
    }
}

pin_project_lite::pin_project! {
    /// A request body read as a stream, cut off with `Overflow` once more
    /// than `limit` bytes have come (however they are framed: chunked or
    /// not, in however many multipart parts) and with a `TimedOut` I/O
    /// error once its deadline passes. [`payload_error`] turns both into
    /// the API's errors.
    pub struct BodyStream<S> {
        #[pin]
        inner: S,
        #[pin]
        deadline: Sleep,
        timeout: Duration,
        read: u64,
        limit: u64,
        done: bool,
    }
}

impl<S> BodyStream<S> {
    /// Starts the clock now.
    pub fn new(inner: S, limit: u64, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: tokio::time::sleep_until(Instant::now() + timeout),
            timeout,
            read: 0,
            limit,
            done: false,
        }
    }
}

impl<S: Stream<Item = Result<Bytes, PayloadError>>> Stream for BodyStream<S> {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        let failed = |done: &mut bool, e| {
            *done = true;
            Poll::Ready(Some(Err(e)))
        };
        match this.inner.poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                *this.read += chunk.len() as u64;
                if *this.read > *this.limit {
                    return failed(this.done, PayloadError::Overflow);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending => {
                ready!(this.deadline.poll(cx));
                let message = timed_out(*this.timeout).to_string();
                let e = std::io::Error::new(std::io::ErrorKind::TimedOut, message);
                failed(this.done, PayloadError::Io(e))
            }
        }
    }
}

/// Reads a whole body of at most `limit` bytes within `timeout`. A body that
/// comes in one chunk (most small JSON bodies) is returned without a copy.
async fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<Bytes, AppError> {
    let too_large =
        || AppError::PayloadTooLarge(format!("the JSON body must be at most {limit} bytes"));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let timeout = body_timeout(req);
    let deadline = Instant::now() + timeout;
    let mut stream = Decompress::from_headers(payload.take(), req.headers());
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Err(timed_out(timeout)),
            Ok(None) => break,
            Ok(Some(chunk)) => chunk.map_err(|e| match e {
                PayloadError::Overflow => too_large(),
                e => payload_error(&e, limit as u64),
            })?,
        };
        let so_far = first.as_ref().map_or(0, Bytes::len) + rest.len();
        if so_far + chunk.len() > limit {
            return Err(too_large());
        }
        match first.take() {
            None if rest.is_empty() => first = Some(chunk),
            None => rest.extend_from_slice(&chunk),
            Some(head) => {
                rest.reserve(declared.unwrap_or(head.len() + chunk.len()));
                rest.extend_from_slice(&head);
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}

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
    let req = req.clone();
    let mut payload = payload.take();
    Box::pin(async move {
        let bytes = read_body(&req, &mut payload, JSON_LIMIT).await?;
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
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de)
        .map(Some)
        .map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if !inner.is_data() {
                return AppError::BadRequest(format!("malformed JSON: {inner}"));
            }
            let message = without_values(&inner.to_string());
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
        })?;
    // Anything but whitespace after the object is refused, not ignored.
    de.end()
        .map_err(|e| AppError::BadRequest(format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// serde's message for a field with the wrong type or value, without the
/// value it quotes (`invalid type: integer `123456`, expected a string`
/// becomes `invalid type: integer, expected a string`), and without its
/// position. The value may be a secret (a password sent as a number) and
/// the message is both answered and logged.
fn without_values(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (got, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
            // `integer `5``, `string "x"`, `floating point `1.5``, `map`: the kind alone.
            let kind = got.split(['`', '"']).next().unwrap_or(got).trim_end();
            return if expected.is_empty() {
                format!("{prefix}{kind}")
            } else {
                format!("{prefix}{kind}, expected {expected}")
            };
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        // The list of variants comes from the code; the variant from the client.
        let list = [", expected ", ", there are no variants"]
            .iter()
            .find_map(|tail| rest.rfind(tail).map(|i| &rest[i..]))
            .unwrap_or("");
        return format!("unknown variant{list}");
    }
    message.to_owned()
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

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn serde_messages_lose_the_values_they_quote() {
        for (message, expected) in [
            (
                "invalid type: integer `123456`, expected a string at line 1 column 20",
                "invalid type: integer, expected a string",
            ),
            (
                r#"invalid type: string "a, expected b", expected i32"#,
                "invalid type: string, expected i32",
            ),
            (
                "invalid value: floating point `2.5`, expected u8",
                "invalid value: floating point, expected u8",
            ),
            (
                "invalid type: sequence, expected a string",
                "invalid type: sequence, expected a string",
            ),
            (
                "unknown variant `secret`, expected one of `a`, `b`",
                "unknown variant, expected one of `a`, `b`",
            ),
            ("missing field `title`", "missing field `title`"),
        ] {
            assert_eq!(without_values(message), expected);
        }
    }
}

/// Keeps a chunked request body the application stopped reading (refused
/// with 408 or 413, or answered without reading it) until its answer has
/// been sent, so the HTTP layer closes the connection after the answer.
/// Dropped, such a body would be drained instead, for as long as the
/// client goes on sending: a connection held open, and read, without end.
/// A body with a `Content-Length` needs none of this: the HTTP layer
/// closes a connection whose declared body was not read.
pub async fn hold_unread_bodies(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !req.chunked().unwrap_or(false) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let unread: Rc<RefCell<Option<Payload>>> = Rc::default();
    let watched = Watched {
        inner: req.take_payload(),
        unread: unread.clone(),
        ended: false,
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(watched),
    });
    let res = next.call(req).await?;
    let held = unread.borrow_mut().take();
    Ok(match held {
        None => res.map_into_left_body(),
        Some(body) => res.map_body(|_, answer| {
            EitherBody::right(Holding {
                answer,
                _body: body,
            })
        }),
    })
}

/// A request body that, dropped before its end, leaves itself in `unread`.
struct Watched {
    inner: Payload,
    unread: Rc<RefCell<Option<Payload>>>,
    ended: bool,
}

impl Stream for Watched {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(None) = item {
            self.ended = true;
        }
        item
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        // A reader that stopped at its own end marker (multipart's closing
        // boundary) may not have asked for the end of the stream: look once
        // more, without waiting.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if let Poll::Ready(None) = Pin::new(&mut self.inner).poll_next(&mut cx) {
            return;
        }
        *self.unread.borrow_mut() = Some(std::mem::replace(&mut self.inner, Payload::None));
    }
}

pin_project_lite::pin_project! {
    /// An answer that keeps an unread request body until it has been sent.
    struct Holding<B> {
        #[pin]
        answer: B,
        _body: Payload,
    }
}

impl<B: MessageBody> MessageBody for Holding<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.answer.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.project().answer.poll_next(cx)
    }
}
