//! The socket's own hold on its TCP connection.
//!
//! actix-http serves an upgraded HTTP/1 connection as an endless response:
//! its dispatcher stays and keeps a read and a write buffer of 8 KiB each
//! for the connection's whole life, most of what an idle socket costs.
//! Instead, an upgrade request goes to [`upgrade`] (actix-http's upgrade
//! service): it asks the application for the response as for any request,
//! so routing, the session, the middleware and the `/api/ws` handler all run
//! as usual, writes the `101` itself and hands the bare connection to the
//! socket, which then reads into a buffer only while bytes are arriving
//! ([`SocketReader`], under [`crate::realtime::transport::inbound`]) and writes straight
//! from the writer's buffer ([`crate::realtime::transport::writer::Flusher`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use actix_codec::Framed;
use actix_http::body::{BodySize, BoxBody, MessageBody};
use actix_http::error::PayloadError;
use actix_http::h1;
use actix_http::h1::ExpectHandler;
use actix_http::HttpServiceBuilder;
use actix_http::{ConnectionType, HttpMessage, Payload, Request, Response, StatusCode};
use actix_web::dev::{fn_factory, fn_service, AppConfig, Service, ServiceFactory, ServiceResponse};
use actix_web::web::{Bytes, BytesMut};
use futures_util::{SinkExt, Stream};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::realtime::transport::writer::Flusher;

/// gifchat's socket: an upgrade request for it gets a [`SocketReader`] as
/// its body. Any other upgrade request is answered and its connection
/// closed.
pub const SOCKET_PATH: &str = "/api/ws";

/// How long the application may take to answer an upgrade request. Its
/// connection is dropped after that: nothing else watches it meanwhile.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// The most bytes one read takes from the socket. Frames longer than this
/// arrive over several reads.
const READ_CHUNK: usize = 4096;

/// The connection, once the `101` is written, and whatever the client sent
/// right behind its request.
type BareConnection = (Rc<TcpStream>, BytesMut);

/// Put in the `101` response's extensions by the socket's handler: what
/// takes the connection over once the response is written.
pub struct SocketTakeover(pub Flusher);

/// In the extensions of a request for the socket's path that came through
/// [`upgrade`]: only such a request has a connection to hand over.
pub struct CanTakeOver;

/// The body of a socket's request: the client's bytes, once the connection
/// is handed over, read as they arrive. Ends when the connection does, or
/// when it is never handed over.
pub struct SocketReader(ReaderState);

enum ReaderState {
    Waiting(oneshot::Receiver<BareConnection>),
    Reading(Rc<TcpStream>),
    Done,
}

impl SocketReader {
    fn new(handed: oneshot::Receiver<BareConnection>) -> Self {
        Self(ReaderState::Waiting(handed))
    }
}

impl Stream for SocketReader {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.0 {
                ReaderState::Waiting(handed) => match ready!(Pin::new(handed).poll(cx)) {
                    Ok((io, early)) => {
                        this.0 = ReaderState::Reading(io);
                        if !early.is_empty() {
                            return Poll::Ready(Some(Ok(early.freeze())));
                        }
                    }
                    Err(_) => this.0 = ReaderState::Done,
                },
                ReaderState::Reading(io) => {
                    if let Err(e) = ready!(io.poll_read_ready(cx)) {
                        this.0 = ReaderState::Done;
                        return Poll::Ready(Some(Err(PayloadError::Io(e))));
                    }
                    // On the stack: an idle socket holds no read buffer.
                    let mut chunk = [0u8; READ_CHUNK];
                    match io.try_read(&mut chunk) {
                        Ok(0) => this.0 = ReaderState::Done,
                        Ok(n) => return Poll::Ready(Some(Ok(Bytes::copy_from_slice(&chunk[..n])))),
                        // Readiness was stale: poll again, which waits.
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => {
                            this.0 = ReaderState::Done;
                            return Poll::Ready(Some(Err(PayloadError::Io(e))));
                        }
                    }
                }
                ReaderState::Done => return Poll::Ready(None),
            }
        }
    }
}

/// Sends `builder`'s upgrade requests to [`upgrade`], each worker answering
/// them with an application of its own made by `app`; requests for
/// `socket_path` may be handed over as sockets.
// The upgrade service's type can only be spelled as an `impl`.
#[allow(clippy::type_complexity)]
pub fn upgrades<S, A, B>(
    builder: HttpServiceBuilder<TcpStream, S>,
    app: A,
    socket_path: &'static str,
) -> HttpServiceBuilder<
    TcpStream,
    S,
    ExpectHandler,
    impl ServiceFactory<
        (Request, Framed<TcpStream, h1::Codec>),
        Config = (),
        Response = (),
        Error = actix_web::Error,
        InitError = (),
    >,
>
where
    S: ServiceFactory<Request, Config = ()>,
    S::Error: Into<Response<BoxBody>> + 'static,
    S::InitError: std::fmt::Debug,
    <S::Service as Service<Request>>::Future: 'static,
    A: ServiceFactory<
            Request,
            Config = AppConfig,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    builder.upgrade(fn_factory(move || {
        let app = app.new_service(AppConfig::default());
        async move {
            let app = Rc::new(app.await?);
            Ok(fn_service(move |(req, framed)| {
                upgrade(app.clone(), req, framed, socket_path)
            }))
        }
    }))
}

/// actix-http's upgrade service: answers an upgrade request through the
/// application, and hands the connection to the socket when the answer is
/// the socket's `101`. Any other answer is written whole and the
/// connection closed.
pub async fn upgrade<S, B>(
    app: Rc<S>,
    req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
    socket_path: &str,
) -> Result<(), actix_web::Error>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let (hand, handed) = oneshot::channel::<BareConnection>();
    let req = if req.path() == socket_path {
        let reader: actix_http::BoxedPayloadStream = Box::pin(SocketReader::new(handed));
        let (req, _) = req.replace_payload(Payload::from(reader));
        req.extensions_mut().insert(CanTakeOver);
        req
    } else {
        // With no body: nothing reads this connection until it is answered.
        req
    };
    let mut res: Response<BoxBody> =
        match actix_web::rt::time::timeout(ANSWER_WITHIN, app.call(req)).await {
            Ok(Ok(res)) => res.map_into_boxed_body().into(),
            Ok(Err(e)) => e.error_response().into(),
            Err(_) => {
                log::warn!("an upgrade request was not answered within {ANSWER_WITHIN:?}");
                return Ok(());
            }
        };
    let handoff = res.extensions_mut().remove::<SocketTakeover>();
    match handoff {
        Some(SocketTakeover(flusher)) if res.status() == StatusCode::SWITCHING_PROTOCOLS => {
            if let Err(e) = framed
                .send(h1::Message::Item((res.drop_body(), BodySize::None)))
                .await
            {
                log::debug!("could not write a socket's handshake: {e}");
                return Ok(());
            }
            let parts = framed.into_parts();
            let io = Rc::new(parts.io);
            // The reader is gone only if the handler never made the socket.
            let _ = hand.send((io.clone(), parts.read_buf));
            actix_web::rt::spawn(flusher.run(io));
        }
        _ => {
            if let Err(e) = answer(framed, res).await {
                log::debug!("could not answer an upgrade request: {e}");
            }
        }
    }
    Ok(())
}

/// Writes a whole response, to be followed by closing the connection.
async fn answer(
    mut framed: Framed<TcpStream, h1::Codec>,
    res: Response<BoxBody>,
) -> io::Result<()> {
    let (mut head, body) = res.into_parts();
    let body = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| io::Error::other(e.to_string()))?;
    head.head_mut().set_connection_type(ConnectionType::Close);
    framed
        .feed(h1::Message::Item((
            head,
            BodySize::Sized(body.len() as u64),
        )))
        .await?;
    if !body.is_empty() {
        framed.feed(h1::Message::Chunk(Some(body))).await?;
    }
    framed.send(h1::Message::Chunk(None)).await
}
