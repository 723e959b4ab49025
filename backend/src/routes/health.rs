use actix_web::get;
use actix_web::web::{Data, Json};

use crate::api::HealthResponse;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

/// Liveness: the process is up.
#[utoipa::path(tag = "operations", operation_id = "get_healthz", responses((status = 200, body = HealthResponse)))]
#[get("/healthz")]
pub async fn healthz() -> Json<HealthResponse> {
    Json(HealthResponse { status: "ok" })
}

/// Readiness: the database answers, and with several instances, Redis too.
#[utoipa::path(
    tag = "operations",
    operation_id = "get_readyz",
    responses(
        (status = 200, body = HealthResponse),
        (status = 503, description = "`unavailable`: the database (or Redis) does not answer", body = ErrorBody),
    ),
)]
#[get("/readyz")]
pub async fn readyz(state: Data<AppState>) -> AppResult<Json<HealthResponse>> {
    state.db.ping().await?;
    if let Some(cluster) = state.realtime.cluster() {
        cluster.ping().await?;
    }
    Ok(Json(HealthResponse { status: "ready" }))
}
