use super::*;
use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, Item};
use futures_util::FutureExt;

use crate::realtime::transport::OpenSockets;

fn writer() -> (Writer, Flusher) {
    let handshake = HttpResponse::SwitchingProtocols().finish();
    let (writer, flusher, _) = attach(handshake, OpenSockets::default().open());
    (writer, flusher)
}

/// What the flusher has to write now: `Some(chunk)`, or `None` once the
/// writer is done.
fn poll(flusher: &mut Flusher) -> Poll<Option<Bytes>> {
    flusher.poll_take(&mut Context::from_waker(Waker::noop()))
}

/// The frames in `bytes`, as a client reads them.
fn frames(bytes: &[u8]) -> Vec<Frame> {
    let mut codec = Codec::new().client_mode().max_size(1 << 20);
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(frame) = codec.decode(&mut buf).expect("valid frames") {
        out.push(frame);
    }
    assert!(buf.is_empty(), "no partial frame left");
    out
}

fn text(frame: &Frame) -> String {
    match frame {
        Frame::Text(b) => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("not a text frame: {other:?}"),
    }
}

#[test]
fn frames_reach_the_client_in_order_and_the_close_ends_the_flushing() {
    let (writer, mut flusher) = writer();
    assert_eq!(poll(&mut flusher), Poll::Pending);
    writer
        .text(b"one", true, true)
        .now_or_never()
        .unwrap()
        .unwrap();
    writer.ping(b"").unwrap();
    writer
        .text(b"two", true, true)
        .now_or_never()
        .unwrap()
        .unwrap();
    let long = "x".repeat(200);
    writer
        .close(Some(CloseReason {
            code: actix_http::ws::CloseCode::Away,
            description: Some(long),
        }))
        .unwrap();
    assert_eq!(writer.pong(b"late"), Err(Closed));

    let Poll::Ready(Some(chunk)) = poll(&mut flusher) else {
        panic!("the frames are ready")
    };
    assert_eq!(poll(&mut flusher), Poll::Ready(None));
    let frames = frames(&chunk);
    assert_eq!(frames.len(), 4);
    assert_eq!(text(&frames[0]), "one");
    assert!(matches!(&frames[1], Frame::Ping(p) if p.is_empty()));
    assert_eq!(text(&frames[2]), "two");
    match &frames[3] {
        Frame::Close(Some(reason)) => {
            assert_eq!(reason.code, actix_http::ws::CloseCode::Away);
            // Cut to fit a control frame.
            assert_eq!(
                reason.description.as_deref().map(str::len),
                Some(MAX_CLOSE_REASON)
            );
        }
        other => panic!("not a close frame: {other:?}"),
    }
}

#[test]
fn the_writer_waits_for_the_flusher_rather_than_buffer_more_than_a_turn() {
    let (writer, mut flusher) = writer();
    let piece = vec![b'a'; 3000];
    let mut sent = 0;
    let mut received = Vec::new();
    while sent < 10 {
        match writer.text(&piece, true, true).now_or_never() {
            Some(result) => {
                result.unwrap();
                sent += 1;
            }
            None => {
                // Two pieces fit in a turn, a third does not.
                let Poll::Ready(Some(chunk)) = poll(&mut flusher) else {
                    panic!("a full turn is ready")
                };
                assert!(chunk.len() <= WRITE_TURN);
                received.extend_from_slice(&chunk);
            }
        }
    }
    drop(writer);
    while let Poll::Ready(Some(chunk)) = poll(&mut flusher) {
        assert!(chunk.len() <= WRITE_TURN);
        received.extend_from_slice(&chunk);
    }
    assert_eq!(
        poll(&mut flusher),
        Poll::Ready(None),
        "ends without a close frame"
    );
    let frames = frames(&received);
    assert_eq!(frames.len(), 10);
    assert!(frames.iter().all(|f| text(f).len() == 3000));
}

#[test]
fn a_fragmented_message_is_sent_as_pieces() {
    let (writer, mut flusher) = writer();
    for (piece, first, fin) in [
        ("ab", true, false),
        ("cd", false, false),
        ("e", false, true),
    ] {
        writer
            .text(piece.as_bytes(), first, fin)
            .now_or_never()
            .unwrap()
            .unwrap();
    }
    let Poll::Ready(Some(chunk)) = poll(&mut flusher) else {
        panic!("the pieces are ready")
    };
    let frames = frames(&chunk);
    assert!(matches!(&frames[0], Frame::Continuation(Item::FirstText(b)) if &b[..] == b"ab"));
    assert!(matches!(&frames[1], Frame::Continuation(Item::Continue(b)) if &b[..] == b"cd"));
    assert!(matches!(&frames[2], Frame::Continuation(Item::Last(b)) if &b[..] == b"e"));
}

/// A connected pair on loopback, both ends with small buffers, so that
/// the kernel holds little of what the server's end writes.
async fn tight_pair() -> (TcpStream, TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = tokio::net::TcpSocket::new_v4().unwrap();
    client.set_recv_buffer_size(4096).unwrap();
    let client = client
        .connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    socket2::SockRef::from(&server)
        .set_send_buffer_size(4096)
        .unwrap();
    (server, client)
}

#[tokio::test(flavor = "current_thread")]
async fn a_slow_reader_keeps_its_connection_while_it_takes_something() {
    use tokio::io::AsyncReadExt;

    // One frame, so one buffer the flusher writes through to the end.
    const LEN: usize = 480_000;
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let (server, mut client) = tight_pair().await;
            let (writer, flusher) = writer();
            let flushing = tokio::task::spawn_local(flusher.run(Rc::new(server)));
            let writer = Rc::new(writer);
            let sending = writer.clone();
            tokio::task::spawn_local(async move {
                sending.text(&[b'a'; LEN], true, true).await.unwrap();
            });
            // Taken at about 80 KB/s: the write waits for longer than a
            // stall, but never without progress that long.
            let start = Instant::now();
            let mut received = Vec::new();
            let mut chunk = [0u8; 4096];
            while received.len() < LEN + 10 {
                let n = client.read(&mut chunk).await.expect("no reset");
                assert_ne!(n, 0, "the connection holds");
                received.extend_from_slice(&chunk[..n]);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(start.elapsed() > WRITE_STALL, "{:?}", start.elapsed());
            writer.close(None).unwrap();
            client.read_to_end(&mut received).await.unwrap();
            let frames = frames(&received);
            assert!(matches!(&frames[0], Frame::Text(t) if t.len() == LEN));
            assert!(matches!(&frames[1], Frame::Close(None)));
            drop(client);
            flushing.await.unwrap();
        })
        .await;
}

#[test]
fn once_the_socket_is_gone_writing_fails_even_while_waiting() {
    let (writer, flusher) = writer();
    let piece = vec![b'a'; 5000];
    writer
        .text(&piece, true, true)
        .now_or_never()
        .unwrap()
        .unwrap();
    let mut waiting = Box::pin(writer.text(&piece, true, true));
    assert!((&mut waiting).now_or_never().is_none());
    drop(flusher);
    assert_eq!(waiting.now_or_never(), Some(Err(Closed)));
    assert_eq!(writer.ping(b""), Err(Closed));
}
