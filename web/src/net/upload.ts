// Photo uploads: POST /room/{id}/attachments as multipart/form-data over XMLHttpRequest (fetch has no upload progress), abortable, errors as ApiError codes.
import { parseAttachment } from '../attachments';
import { errorCodeOf } from '../errors';
import { retryAfterMs } from '../ratelimit';
import type { Attachment } from '../types';
import { ApiError, statusCode } from './api';

export interface Upload {
  /** The stored photo; rejects with an ApiError (`network`, `aborted`, or the server's code). */
  done: Promise<Attachment>;
  abort(): void;
}

/** No answer for this long (a stalled mobile uplink) counts as a network failure. */
const UPLOAD_TIMEOUT_MS = 5 * 60_000;

/**
 * The error code of a refused upload: the server's JSON `error`, else one derived from the
 * status. A `429` is not waited out here: its tile offers "다시" (rate_limited is retryable).
 */
function refusal(xhr: XMLHttpRequest): ApiError {
  let code = xhr.status === 413 ? 'too_large' : xhr.status === 415 ? 'unsupported_media_type' : statusCode(xhr.status);
  let message: string | undefined;
  try {
    const body = JSON.parse(xhr.responseText) as { message?: unknown };
    code = errorCodeOf(body) ?? code;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // not JSON (a proxy's page): keep the status-derived code
  }
  const wait = code === 'rate_limited' ? retryAfterMs(xhr.getResponseHeader('Retry-After')) : null;
  return new ApiError(xhr.status, code, message, wait);
}

/** Uploads one photo to the room as `file`; `onProgress` gets the bytes sent so far. */
export function uploadAttachment(
  headers: Record<string, string>,
  roomUUID: string,
  file: Blob,
  name: string,
  onProgress: (loaded: number, total: number) => void,
): Upload {
  const xhr = new XMLHttpRequest();
  const done = new Promise<Attachment>((resolve, reject) => {
    xhr.open('POST', `/room/${encodeURIComponent(roomUUID)}/attachments`);
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.timeout = UPLOAD_TIMEOUT_MS;
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
    xhr.onload = () => {
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(refusal(xhr));
        return;
      }
      let a: Attachment | null = null;
      try {
        a = parseAttachment(JSON.parse(xhr.responseText));
      } catch {
        // handled below
      }
      if (a) resolve(a);
      else reject(new ApiError(xhr.status, 'invalid_response'));
    };
    xhr.onerror = () => reject(new ApiError(0, 'network'));
    xhr.ontimeout = () => reject(new ApiError(0, 'network'));
    xhr.onabort = () => reject(new ApiError(0, 'aborted'));
    const form = new FormData();
    form.append('file', file, name);
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}
