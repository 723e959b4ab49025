// The typed HTTP client: paths and shapes come from openapi.yaml.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type User = Schemas["UserResponse"];
export type Room = Schemas["RoomResponse"];
export type Chat = Schemas["ChatResponse"];
export type Reaction = Schemas["ReactionResponse"];
export type ServerEnvelope = Schemas["ServerEnvelope"];
export type ClientEnvelope = Schemas["ClientEnvelope"];

/** A lighter rendition of a GIF (an animated WebP today). */
export type GifVariant = Schemas["GifVariantResponse"];
/** A stored GIF: the file, its description, a still of its first frame and
 *  lighter renditions, smallest first (the renditions may come later, with
 *  `chat_updated`). */
export type Gif = Schemas["GifResponse"];

/** The stored name a GIF is posted again by: the last part of its url. */
export function gifName(gif: Pick<Gif, "url">): string {
  return gif.url.slice(gif.url.lastIndexOf("/") + 1);
}

/** Every non-2xx answer, as the API's error body describes it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The API error code of anything thrown; `internal` for what is not an ApiError. */
export function errorCode(err: unknown): string {
  return err instanceof ApiError ? err.code : "internal";
}

type ErrorBody = { error?: { code?: string; message?: string; fields?: Record<string, string> } };

async function toApiError(response: Response): Promise<ApiError> {
  const body = (await response.clone().json().catch(() => null)) as ErrorBody | null;
  const e = body?.error;
  return new ApiError(response.status, e?.code ?? "internal", e?.message ?? response.statusText, e?.fields ?? {});
}

const throwOnError: Middleware = {
  async onResponse({ response }) {
    if (!response.ok) throw await toApiError(response);
    return undefined;
  },
};

export function makeApi(baseUrl = "", fetchImpl?: typeof fetch) {
  const client = createClient<paths>({ baseUrl, credentials: "same-origin", ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  client.use(throwOnError);
  return client;
}

export type Api = ReturnType<typeof makeApi>;
export const api = makeApi();

/** How long an upload's bytes may stop moving before it is given up. */
export const UPLOAD_STALL_MS = 30_000;

/** Uploads a GIF with progress (fetch cannot report upload progress). With
 *  the same `clientId`, a repeat answers with the chat the first one made. */
export function uploadGif(roomId: string, file: Blob, clientId: string, onProgress: (fraction: number) => void, replyTo: number | null = null, alt: string | null = null): Promise<Chat> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/rooms/${encodeURIComponent(roomId)}/gifs`);
    xhr.responseType = "json";
    // An upload whose bytes stop moving for STALL_MS counts as a lost
    // connection and is sent again; a slow one that keeps moving is not.
    let moved = Date.now();
    const stall = setInterval(() => { if (Date.now() - moved > UPLOAD_STALL_MS) xhr.abort(); }, 1000);
    xhr.upload.onprogress = (e) => { moved = Date.now(); if (e.lengthComputable) onProgress(e.loaded / e.total); };
    // Sent whole: what remains is the server's answer, which has its own limits.
    xhr.upload.onload = () => clearInterval(stall);
    xhr.onloadend = () => clearInterval(stall);
    xhr.onload = () => {
      const body = xhr.response as ({ chat?: Chat } & ErrorBody) | null;
      if ((xhr.status === 201 || xhr.status === 200) && body?.chat) return resolve(body.chat);
      const e = body?.error;
      reject(new ApiError(xhr.status, e?.code ?? "internal", e?.message ?? xhr.statusText, e?.fields ?? {}));
    };
    xhr.onerror = () => reject(new ApiError(0, "unavailable", "network error"));
    xhr.onabort = () => reject(new ApiError(0, "unavailable", "stalled"));
    const form = new FormData();
    form.append("client_id", clientId);
    if (replyTo !== null) form.append("reply_to", String(replyTo));
    if (alt) form.append("alt", alt);
    form.append("gif", file, "upload.gif");
    xhr.send(form);
  });
}

/** The GIFs I can see, newest first; with `q`, those whose description has
 *  every word of it (each as the start of a word). The library a GIF picker
 *  shows. */
export async function listGifs(q: string, { limit, signal }: { limit?: number; signal?: AbortSignal } = {}): Promise<Gif[]> {
  const query = { ...(q.trim() ? { q: q.trim() } : {}), ...(limit !== undefined ? { limit } : {}) };
  const { data } = await api.GET("/api/gifs", { params: { query }, signal });
  return data?.gifs ?? [];
}
