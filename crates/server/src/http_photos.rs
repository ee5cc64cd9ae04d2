//! Photos over HTTP: `POST /room/{roomUUID}/attachments` (multipart, spooled to a temporary
//! file, processed under a memory budget) and `GET` of a photo or its thumbnail, streamed, by
//! signed address or by a member's identity.

use std::io::{Read, Seek};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use chat_core::attachment::{AttachmentId, Variant};
use chat_core::photos::{Access, Photos};
use chat_core::{ChatError, RoomId};
use chat_photos::{Inspected, ProcessLimits};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use crate::http::{ApiError, AppState, Caller, MaybeCaller, RoomPath};

/// Histogram: seconds to process one photo (decode, clean, thumbnail), waiting excluded.
pub const PHOTO_PROCESS_SECONDS: &str = "reuse_chat_photo_process_seconds";
/// Gauge: bytes of the decode budget in use.
pub const PHOTO_DECODE_BYTES: &str = "reuse_chat_photo_decode_bytes";

/// What the photo endpoints share: the domain's photos and the decode budget.
pub struct PhotoDesk {
    /// The domain's photos.
    pub photos: Arc<Photos>,
    /// The decode budget, in KiB: an upload holds its share while it is processed, so the
    /// photos decoding at once never take more memory than the budget (the largest photo alone
    /// may take all of it).
    budget: Arc<Semaphore>,
    budget_kib: u32,
    limits: ProcessLimits,
}

impl PhotoDesk {
    /// A desk over `photos` with `decode_memory` bytes to decode with.
    pub fn new(photos: Arc<Photos>, decode_memory: u64) -> Self {
        let budget_kib = u32::try_from(decode_memory / 1024).unwrap_or(u32::MAX >> 4);
        let limits = ProcessLimits {
            max_pixels: photos.limits().max_pixels,
            ..ProcessLimits::default()
        };
        PhotoDesk {
            photos,
            budget: Arc::new(Semaphore::new(budget_kib as usize)),
            budget_kib,
            limits,
        }
    }

    /// The largest upload taken, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.photos.limits().max_bytes
    }
}

fn io_failed(e: std::io::Error) -> ApiError {
    tracing::error!(error = %e, "photo spool failed");
    ApiError::Chat(ChatError::Internal)
}

fn too_large(max: u64) -> ApiError {
    ApiError::Chat(ChatError::too_large(
        "too_large",
        format!("a photo may have at most {max} bytes"),
    ))
}

/// Reads the part `file` into an anonymous temporary file (gone when closed, also after a
/// crash), refusing it as soon as it passes the limit. The rest of the body is not read.
async fn spool(req: Request, max: u64) -> Result<(std::fs::File, u64), ApiError> {
    let mut multipart = Multipart::from_request(req, &()).await.map_err(|_| {
        ApiError::BadRequest(
            "invalid_body",
            "expected multipart/form-data with one part named file".into(),
        )
    })?;
    let body_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(max)
        } else {
            ApiError::BadRequest(
                "invalid_body",
                format!("the multipart body is malformed: {}", e.body_text()),
            )
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(body_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let file = tokio::task::spawn_blocking(tempfile::tempfile)
            .await
            .map_err(|_| ApiError::Chat(ChatError::Internal))?
            .map_err(io_failed)?;
        let mut out = tokio::fs::File::from_std(file);
        let mut size = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(body_error)? {
            size += chunk.len() as u64;
            if size > max {
                return Err(too_large(max));
            }
            out.write_all(&chunk).await.map_err(io_failed)?;
        }
        out.flush().await.map_err(io_failed)?;
        if size == 0 {
            return Err(ApiError::Chat(ChatError::Unsupported {
                code: "unsupported_media_type",
                message: "the file is empty".into(),
            }));
        }
        return Ok((out.into_std().await, size));
    }
    Err(ApiError::BadRequest(
        "missing_file",
        "the multipart body has no part named file".into(),
    ))
}

/// Uploads a photo to a room.
///
/// Members only. The type is read from the bytes: JPEG, PNG, WebP or GIF. Metadata (EXIF, GPS,
/// XMP, comments) is removed, the EXIF orientation applied, a thumbnail of at most 320 px made.
/// Send it with `SEND /pub/room/{roomUUID}/message` `{"attachments": [id]}`; never sent, it is
/// deleted after 24 h.
#[utoipa::path(
    post,
    path = "/room/{roomUUID}/attachments",
    tag = "photos",
    params(("roomUUID" = String, Path, description = "The room")),
    security(("gatewayUser" = []), ("bearer" = [])),
    request_body(content = crate::openapi::UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = crate::openapi::AttachmentSchema),
        (status = 400, description = "`invalid_body`, `missing_file`, `invalid_room_id`", body = crate::openapi::ErrorBody),
        (status = 401, description = "No identity", body = crate::openapi::ErrorBody),
        (status = 403, description = "`not_a_member`", body = crate::openapi::ErrorBody),
        (status = 404, description = "`room_not_found`", body = crate::openapi::ErrorBody),
        (status = 413, description = "`too_large`: over `--max-attachment-bytes` or 40 megapixels", body = crate::openapi::ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not a JPEG, PNG, WebP or GIF, or a damaged one", body = crate::openapi::ErrorBody),
        (status = 429, description = "`too_many_uploads`: too many photos uploaded and not sent", body = crate::openapi::ErrorBody),
        (status = 503, description = "`backend_unavailable`", body = crate::openapi::ErrorBody),
    )
)]
pub(crate) async fn upload(
    State(st): State<AppState>,
    Caller(user): Caller,
    RoomPath(room): RoomPath,
    req: Request,
) -> Result<Response, ApiError> {
    let desk = st.photos.clone();
    // Before a byte of the body is read.
    let found = desk.photos.may_upload(&user, &room).await?;
    st.service.ensure_not_blocked(&user, &found).await?;
    st.limits
        .check_user_everywhere(crate::rate_limits::Kind::Uploads, &user)
        .await?;
    let (file, size) = spool(req, desk.max_bytes()).await?;
    let limits = desk.limits.clone();
    let (file, found) = tokio::task::spawn_blocking(move || {
        let mut file = file;
        if let Err(e) = file.rewind() {
            return (
                file,
                Err(chat_photos::PhotoError::Unsupported(e.to_string())),
            );
        }
        let mut reader = std::io::BufReader::new(file);
        let found = chat_photos::inspect(&mut reader, &limits);
        (reader.into_inner(), found)
    })
    .await
    .map_err(|_| ApiError::Chat(ChatError::Internal))?;
    let found = found.map_err(|e| ApiError::Chat(e.into()))?;
    let photo = process(&desk, file, size, found).await?;
    let stored = desk.photos.store(&user, &room, photo).await?;
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

/// Decodes and cleans under the budget: the upload waits for its share first.
async fn process(
    desk: &Arc<PhotoDesk>,
    mut file: std::fs::File,
    size: u64,
    found: Inspected,
) -> Result<chat_core::photos::ProcessedPhoto, ApiError> {
    let cost_kib = ((found.decode_cost() + size) / 1024 + 1).min(u64::from(desk.budget_kib)) as u32;
    let permit = desk
        .budget
        .clone()
        .acquire_many_owned(cost_kib)
        .await
        .map_err(|_| ApiError::Chat(ChatError::ShuttingDown))?;
    let in_use = u64::from(desk.budget_kib - desk.budget.available_permits() as u32) * 1024;
    metrics::gauge!(PHOTO_DECODE_BYTES).set(in_use as f64);
    let limits = desk.limits.clone();
    let done = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let started = std::time::Instant::now();
        let mut bytes = Vec::with_capacity(size as usize);
        file.rewind()?;
        file.read_to_end(&mut bytes)?;
        let out = chat_photos::process(Bytes::from(bytes), &found, &limits);
        metrics::histogram!(PHOTO_PROCESS_SECONDS).record(started.elapsed().as_secs_f64());
        Ok::<_, std::io::Error>(out)
    })
    .await
    .map_err(|_| ApiError::Chat(ChatError::Internal))?
    .map_err(io_failed)?;
    done.map_err(|e| ApiError::Chat(e.into()))
}

/// Serves a photo.
///
/// With the `exp` and `sig` of its signed address (as `url` gives it) no identity is needed;
/// without them, a member's. Streamed, with `ETag` (`If-None-Match` answers `304`).
#[utoipa::path(
    get,
    path = "/room/{roomUUID}/attachments/{id}",
    tag = "photos",
    params(
        ("roomUUID" = String, Path, description = "The room"),
        ("id" = String, Path, description = "The photo's id"),
        ("exp" = Option<String>, Query, description = "Expiry of the signed address"),
        ("sig" = Option<String>, Query, description = "Signature of the signed address"),
    ),
    security((), ("gatewayUser" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The image", content_type = "image/*"),
        (status = 304, description = "Not modified"),
        (status = 400, description = "`invalid_room_id`, `invalid_attachment`", body = crate::openapi::ErrorBody),
        (status = 401, description = "No signature and no identity", body = crate::openapi::ErrorBody),
        (status = 403, description = "`invalid_signature`, `link_expired`, `not_a_member`", body = crate::openapi::ErrorBody),
        (status = 404, description = "`attachment_not_found`", body = crate::openapi::ErrorBody),
    )
)]
pub(crate) async fn photo(
    State(st): State<AppState>,
    caller: MaybeCaller,
    Path((room, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(st, caller, &room, &id, Variant::Full, &uri, &headers).await
}

/// Serves a photo's thumbnail (at most 320 px), like the photo itself.
#[utoipa::path(
    get,
    path = "/room/{roomUUID}/attachments/{id}/thumbnail",
    tag = "photos",
    params(
        ("roomUUID" = String, Path, description = "The room"),
        ("id" = String, Path, description = "The photo's id"),
        ("exp" = Option<String>, Query, description = "Expiry of the signed address"),
        ("sig" = Option<String>, Query, description = "Signature of the signed address"),
    ),
    security((), ("gatewayUser" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The thumbnail", content_type = "image/*"),
        (status = 304, description = "Not modified"),
        (status = 400, description = "`invalid_room_id`, `invalid_attachment`", body = crate::openapi::ErrorBody),
        (status = 401, description = "No signature and no identity", body = crate::openapi::ErrorBody),
        (status = 403, description = "`invalid_signature`, `link_expired`, `not_a_member`", body = crate::openapi::ErrorBody),
        (status = 404, description = "`attachment_not_found`", body = crate::openapi::ErrorBody),
    )
)]
pub(crate) async fn thumbnail(
    State(st): State<AppState>,
    caller: MaybeCaller,
    Path((room, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(st, caller, &room, &id, Variant::Thumbnail, &uri, &headers).await
}

/// `exp` and `sig` from a query string; both or neither.
fn signature(query: &str) -> Result<Option<(String, String)>, ApiError> {
    let (mut exp, mut sig) = (None, None);
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("exp", v)) if exp.is_none() => exp = Some(v.to_owned()),
            Some(("sig", v)) if sig.is_none() => sig = Some(v.to_owned()),
            _ => {}
        }
    }
    match (exp, sig) {
        (Some(e), Some(s)) => Ok(Some((e, s))),
        (None, None) => Ok(None),
        _ => Err(ApiError::Chat(ChatError::Forbidden {
            code: "invalid_signature",
            message: "a signed address carries both exp and sig".into(),
        })),
    }
}

async fn serve(
    st: AppState,
    MaybeCaller(caller): MaybeCaller,
    room: &str,
    id: &str,
    variant: Variant,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let room = RoomId::parse(room).map_err(ApiError::Chat)?;
    let id = AttachmentId::parse(id).map_err(ApiError::Chat)?;
    let signed = signature(uri.query().unwrap_or(""))?;
    let access = match (&signed, &caller) {
        (Some((expires, sig)), _) => Access::Signed {
            path: uri.path(),
            expires,
            sig,
        },
        (None, Some(user)) => Access::Member(user),
        (None, None) => {
            return Err(ApiError::Unauthorized(crate::auth::AuthError::Missing(
                "a signed address (exp, sig) or an identity",
            )))
        }
    };
    let photos = &st.photos.photos;
    // A member whose signed address has expired is still a member.
    let viewable = match photos.open(&room, &id, variant, access).await {
        Err(ChatError::Forbidden { .. }) if caller.is_some() => {
            let user = caller.as_ref().map(Access::Member);
            photos
                .open(&room, &id, variant, user.unwrap_or(access))
                .await?
        }
        other => other?,
    };
    let etag = viewable.etag();
    let common = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let read = photos.read(&viewable).await?;
    let body = Body::from_stream(read.chunks.map(|c| c.map_err(std::io::Error::other)));
    let mut response = (common, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(viewable.media().as_mime()),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(read.size));
    Ok(response)
}
