//! What an operator watches and alerts on, served at `GET /metrics` in
//! Prometheus's text format (`METRICS=off` turns it off). HTTP requests are
//! counted and timed by `actix-web-prom`, labelled by route pattern, never
//! by a room or user id; the rest are defined here. Every instance of a
//! cluster serves its own.

use std::sync::LazyLock;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

pub const NAMESPACE: &str = "gifchat";

pub struct Metrics {
    pub registry: Registry,
    /// WebSockets open now.
    pub open_sockets: IntGauge,
    /// Server-Sent Events streams open now.
    pub open_streams: IntGauge,
    /// Frames handed to sockets and streams for sending.
    pub deliveries: IntCounter,
    /// Sockets closed with 4008 for reading too slowly.
    pub slow_consumer_closes: IntCounter,
    /// Resumes (`join` with `since_seq`, SSE `Last-Event-ID`) by result:
    /// `complete`, or `truncated` when more were missed than `REPLAY_MAX`.
    pub resumes: IntCounterVec,
    /// Requests and socket frames refused by a rate limit, by route.
    pub rate_limited: IntCounterVec,
    /// Chats written per database commit.
    pub commit_batch_size: Histogram,
    /// Time a commit of a batch of chats takes.
    pub commit_seconds: Histogram,
    /// GIF uploads by result: `created`, `repeat` (a known `client_id`),
    /// `refused` (any 4xx) or `failed` (5xx).
    pub gif_uploads: IntCounterVec,
    /// GIFs the media pipeline finished, by result: `kept` (a rendition
    /// smaller than the GIF), `not_smaller`, `over_budget`, `failed`, or
    /// `queue_full` (left to the pass).
    pub media: IntCounterVec,
    /// Time the media pipeline takes for one GIF (poster and renditions).
    pub media_seconds: Histogram,
}

fn name(short: &str) -> String {
    format!("{NAMESPACE}_{short}")
}

impl Metrics {
    fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let gauge = |short: &str, help: &str| -> prometheus::Result<IntGauge> {
            let g = IntGauge::new(name(short), help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter = |short: &str, help: &str| -> prometheus::Result<IntCounter> {
            let c = IntCounter::new(name(short), help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let counters =
            |short: &str, help: &str, label: &str| -> prometheus::Result<IntCounterVec> {
                let c = IntCounterVec::new(Opts::new(name(short), help), &[label])?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let histogram =
            |short: &str, help: &str, buckets: Vec<f64>| -> prometheus::Result<Histogram> {
                let h =
                    Histogram::with_opts(HistogramOpts::new(name(short), help).buckets(buckets))?;
                registry.register(Box::new(h.clone()))?;
                Ok(h)
            };
        let metrics = Metrics {
            open_sockets: gauge("open_sockets", "WebSockets open now")?,
            open_streams: gauge("open_sse_streams", "Server-Sent Events streams open now")?,
            deliveries: counter(
                "deliveries_total",
                "Frames handed to sockets and streams for sending",
            )?,
            slow_consumer_closes: counter(
                "slow_consumer_closes_total",
                "Sockets closed with 4008 for reading too slowly",
            )?,
            resumes: counters(
                "resumes_total",
                "Resumes from a seq, by result (complete or truncated)",
                "result",
            )?,
            rate_limited: counters(
                "rate_limited_total",
                "Requests and socket frames refused by a rate limit, by route",
                "route",
            )?,
            commit_batch_size: histogram(
                "chat_commit_batch_size",
                "Chats written per database commit",
                vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
            )?,
            commit_seconds: histogram(
                "chat_commit_duration_seconds",
                "Time one commit of a batch of chats takes",
                prometheus::exponential_buckets(0.000_1, 2.0, 14)?,
            )?,
            gif_uploads: counters(
                "gif_uploads_total",
                "GIF uploads by result (created, repeat, refused or failed)",
                "result",
            )?,
            media: counters(
                "media_total",
                "GIFs the media pipeline finished, by result (kept, not_smaller, over_budget, failed, queue_full)",
                "result",
            )?,
            media_seconds: histogram(
                "media_duration_seconds",
                "Time the media pipeline takes for one GIF",
                prometheus::exponential_buckets(0.01, 2.0, 14)?,
            )?,
            registry,
        };
        // Every series an alert may name exists from the start, at zero.
        for result in ["created", "repeat", "refused", "failed"] {
            metrics.gif_uploads.with_label_values(&[result]);
        }
        for result in ["kept", "not_smaller", "over_budget", "failed", "queue_full"] {
            metrics.media.with_label_values(&[result]);
        }
        for result in ["complete", "truncated"] {
            metrics.resumes.with_label_values(&[result]);
        }
        Ok(metrics)
    }
}

static METRICS: LazyLock<Metrics> =
    LazyLock::new(|| Metrics::new().expect("metric names and buckets are valid"));

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

static HTTP: LazyLock<actix_web_prom::PrometheusMetrics> = LazyLock::new(|| {
    let registry = &metrics().registry;
    // The process's RSS, CPU, open files and threads, for leak alarms.
    registry
        .register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("the process collector registers once");
    actix_web_prom::PrometheusMetricsBuilder::new(NAMESPACE)
        .registry(registry.clone())
        .endpoint("/metrics")
        .mask_unmatched_patterns("unmatched")
        .build()
        .expect("HTTP metric names are valid")
});

/// Middleware: counts and times HTTP requests by route pattern and status,
/// and answers `GET /metrics`.
pub fn http() -> &'static actix_web_prom::PrometheusMetrics {
    &HTTP
}

/// Counts a resume from a seq.
pub fn count_resume(truncated: bool) {
    let result = if truncated { "truncated" } else { "complete" };
    metrics().resumes.with_label_values(&[result]).inc();
}

/// Counts an open socket or stream for as long as it lives.
pub struct OpenGuard(&'static IntGauge);

impl OpenGuard {
    pub fn new(gauge: &'static IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
