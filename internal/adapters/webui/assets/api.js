// The page's only door to chatd's HTTP API, and the keeper of its tokens.
// Every call goes through request(), whose types come from the OpenAPI
// document: test/web generates them (openapi-typescript) and type-checks the
// page with them, so a wrong path, method, body field or response field fails
// `tsc` instead of a user.

/** @typedef {import('../../../../test/web/gen/api').paths} Paths */
/** @typedef {import('../../../../test/web/gen/api').components['schemas']} Schemas */
/** @typedef {Schemas['User']} User */
/** @typedef {Schemas['AuthTokens']} AuthTokens */
/** @typedef {Schemas['ChatSession']} ChatSession */
/** @typedef {Schemas['ChatMessage']} ChatMessage */
/** @typedef {Schemas['Participant']} Participant */
/** @typedef {Schemas['SearchResult']} SearchResult */
/** @typedef {Schemas['Model']} Model */
/** @typedef {Schemas['LLMProvider']} Provider */
/** @typedef {Schemas['ChatdExport']} ChatdExport */
/** @typedef {Schemas['ImportResult']} ImportResult */

/** @typedef {'get' | 'post' | 'put' | 'delete'} Method */
/**
 * The methods the document defines on a path.
 * @template {keyof Paths} P
 * @typedef {{ [M in Method]-?: undefined extends Paths[P][M] ? never : M }[Method]} MethodOf
 */
/**
 * @template O
 * @typedef {O extends { parameters: infer X } ? X : {}} ParamsOf
 */
/**
 * What a call passes: the path parameters and the JSON body when the
 * operation requires them, its query when it has one.
 * @template O
 * @typedef {(ParamsOf<O> extends { path: infer X } ? { path: X } : {})
 *   & (ParamsOf<O> extends { query: infer X } ? { query: X }
 *     : ParamsOf<O> extends { query?: infer X } ? ([X] extends [undefined] ? {} : { query?: X }) : {})
 *   & (O extends { requestBody: { content: { 'application/json': infer B } } } ? { body: B }
 *     : O extends { requestBody?: { content: { 'application/json': infer B } } } ? { body?: B } : {})} RequestOptions
 */
/**
 * The JSON body of the operation's success answer (undefined for 204).
 * @template O
 * @typedef {O extends { responses: infer R }
 *   ? R[Extract<keyof R, 200 | 201 | 202 | 204>] extends infer S
 *     ? S extends { content: { 'application/json': infer B } } ? B : undefined
 *     : never
 *   : never} SuccessOf
 */

/** A failed call, with the problem+json detail when the server sent one. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Tokens live in memory and in sessionStorage (one tab, gone with it), never
// in localStorage.
const storageKey = 'chatd.auth';

/** @typedef {{ accessToken: string, refreshToken: string, expiresAt: number, user: User }} Auth */

/** @type {Auth | null} */
let auth = readStoredAuth();
/** @type {Promise<void> | null} */
let refreshing = null;
let refreshTimer = 0;
/** @type {() => void} */
let signedOutHandler = () => {};

/** @returns {Auth | null} */
function readStoredAuth() {
  try {
    const raw = sessionStorage.getItem(storageKey);
    return raw ? /** @type {Auth} */ (JSON.parse(raw)) : null;
  } catch {
    return null;
  }
}

/** @param {AuthTokens} tokens */
function keep(tokens) {
  auth = {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    expiresAt: Date.now() + tokens.expires_in * 1000,
    user: tokens.user,
  };
  sessionStorage.setItem(storageKey, JSON.stringify(auth));
  scheduleRefresh();
}

function forget() {
  auth = null;
  sessionStorage.removeItem(storageKey);
  clearTimeout(refreshTimer);
}

// The access token is renewed when three quarters of its life are gone, so
// a request or a WebSocket handshake never carries an expired one.
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!auth) return;
  const lifetime = auth.expiresAt - Date.now();
  const wait = Math.max(lifetime * 0.75, 0);
  refreshTimer = window.setTimeout(() => {
    refresh().catch(() => {});
  }, wait);
}

/**
 * Exchanges the refresh token for a new pair. Refresh tokens rotate and a
 * reused one revokes its family, so concurrent callers share one exchange.
 * @returns {Promise<void>}
 */
function refresh() {
  if (!refreshing) {
    const current = auth;
    refreshing = (async () => {
      if (!current) throw new ApiError(401, 'not signed in');
      try {
        keep(await request('/api/v1/auth/refresh', 'post', { body: { refresh_token: current.refreshToken } }));
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) signOutLocally();
        throw err;
      }
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

function signOutLocally() {
  forget();
  signedOutHandler();
}

/**
 * Calls one operation of the API. The path is the document's template; its
 * parameters come in options.path.
 * @template {keyof Paths} P
 * @template {MethodOf<P>} M
 * @param {P} path
 * @param {M} method
 * @param {RequestOptions<Paths[P][M]>} options
 * @returns {Promise<SuccessOf<Paths[P][M]>>}
 */
async function request(path, method, options) {
  const o = /** @type {{ path?: Record<string, string>, query?: Record<string, unknown>, body?: unknown }} */ (
    /** @type {unknown} */ (options)
  );
  let url = String(path).replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(o.path?.[name] ?? ''));
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(o.query ?? {})) {
    if (value !== undefined && value !== null) query.set(name, String(value));
  }
  if (query.size > 0) url += `?${query}`;
  const authed = !url.startsWith('/api/v1/auth/') || url === '/api/v1/auth/me';
  const send = () => {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json' };
    if (o.body !== undefined) headers['Content-Type'] = 'application/json';
    if (authed && auth) headers.Authorization = `Bearer ${auth.accessToken}`;
    return fetch(url, {
      method: method.toUpperCase(),
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
  };
  let res = await send();
  if (res.status === 401 && authed && auth) {
    await refresh();
    res = await send();
  }
  if (!res.ok) throw new ApiError(res.status, await problemDetail(res));
  // any: the document, not this line, types the answer (SuccessOf).
  const answer = res.status === 204 ? undefined : await res.json();
  return answer;
}

/**
 * @param {Response} res
 * @returns {Promise<string>}
 */
async function problemDetail(res) {
  try {
    const problem = /** @type {Schemas['Problem']} */ (await res.json());
    const fields = (problem.errors ?? []).map((e) => `${e.field} ${e.message}`).join('; ');
    return fields ? `${problem.detail} (${fields})` : problem.detail;
  } catch {
    return `${res.status} ${res.statusText}`;
  }
}

/** @returns {User | null} the signed-in user */
export function currentUser() {
  return auth?.user ?? null;
}

/**
 * Calls fn when the tokens are gone for good (a refresh was refused).
 * @param {() => void} fn
 */
export function onSignedOut(fn) {
  signedOutHandler = fn;
}

/**
 * An access token good for a while longer: what a WebSocket handshake needs,
 * since it cannot be retried with a refreshed token the way a request is.
 * @returns {Promise<string>}
 */
export async function freshAccessToken() {
  if (auth && auth.expiresAt - Date.now() < 5000) await refresh();
  if (!auth) throw new ApiError(401, 'not signed in');
  return auth.accessToken;
}

/** Resumes the refresh schedule of tokens kept from before a reload. */
export function resumeSession() {
  scheduleRefresh();
}

/**
 * @param {string} email
 * @param {string} password
 * @param {string} displayName
 */
export async function register(email, password, displayName) {
  keep(await request('/api/v1/auth/register', 'post', { body: { email, password, display_name: displayName } }));
}

/**
 * @param {string} email
 * @param {string} password
 */
export async function login(email, password) {
  keep(await request('/api/v1/auth/login', 'post', { body: { email, password } }));
}

export async function logout() {
  const current = auth;
  forget();
  if (current) {
    await request('/api/v1/auth/logout', 'post', { body: { refresh_token: current.refreshToken } }).catch(() => {});
  }
}

/** @returns {Promise<ChatSession[]>} the caller's sessions, newest activity first */
export async function listSessions() {
  return (await request('/api/v1/chat/sessions', 'get', { query: { page_size: 100 } })).sessions;
}

/**
 * @param {Provider} provider
 * @param {string} model
 */
export function createSession(provider, model) {
  return request('/api/v1/chat/sessions', 'post', { body: { llm_provider: provider, llm_model: model } });
}

/** @param {string} sessionId */
export function getSession(sessionId) {
  return request('/api/v1/chat/sessions/{session_id}', 'get', { path: { session_id: sessionId } });
}

/**
 * @param {string} sessionId
 * @param {Schemas['UpdateSessionRequest']} changes
 */
export function updateSession(sessionId, changes) {
  return request('/api/v1/chat/sessions/{session_id}', 'put', { path: { session_id: sessionId }, body: changes });
}

/** @param {string} sessionId */
export async function listParticipants(sessionId) {
  const list = await request('/api/v1/chat/sessions/{session_id}/participants', 'get', {
    path: { session_id: sessionId },
  });
  return list.participants;
}

/**
 * @param {string} sessionId
 * @param {string} email
 */
export function addParticipant(sessionId, email) {
  return request('/api/v1/chat/sessions/{session_id}/participants', 'post', {
    path: { session_id: sessionId },
    body: { email, role: 'member' },
  });
}

/**
 * The branch on screen, first message first, every page of it.
 * @param {string} sessionId
 * @returns {Promise<ChatMessage[]>}
 */
export async function listBranch(sessionId) {
  /** @type {ChatMessage[]} */
  const out = [];
  for (let page = 1; ; page++) {
    const list = await request('/api/v1/chat/sessions/{session_id}/messages', 'get', {
      path: { session_id: sessionId },
      query: { page, page_size: 100, branch: 'current', order: 'asc' },
    });
    out.push(...list.messages);
    if (!list.has_more) return out;
  }
}

/**
 * Posts a user message; parentId (an edited message's parent) starts a new
 * branch, undefined follows the branch on screen.
 * @param {string} sessionId
 * @param {string} content
 * @param {string | null} [parentId]
 */
export function sendMessage(sessionId, content, parentId) {
  /** @type {Schemas['SendMessageRequest']} */
  const body = { content };
  if (parentId !== undefined) body.parent_id = parentId;
  return request('/api/v1/chat/sessions/{session_id}/messages', 'post', { path: { session_id: sessionId }, body });
}

/** @param {string} messageId */
export function cancelMessage(messageId) {
  return request('/api/v1/chat/messages/{message_id}/cancel', 'post', { path: { message_id: messageId } });
}

/** @param {string} messageId */
export async function regenerate(messageId) {
  const res = await request('/api/v1/chat/messages/{message_id}/regenerate', 'post', {
    path: { message_id: messageId },
    body: {},
  });
  return res.assistant_message;
}

/**
 * @param {string} q
 * @returns {Promise<SearchResult[]>}
 */
export async function search(q) {
  return (await request('/api/v1/chat/search', 'get', { query: { q, page_size: 20 } })).results;
}

/**
 * @param {Provider} provider
 * @returns {Promise<Model[]>}
 */
export async function listModels(provider) {
  return (await request('/api/v1/chat/models', 'get', { query: { llm_provider: provider } })).models;
}

/**
 * @param {string} sessionId
 * @returns {Promise<ChatdExport>}
 */
export function exportSession(sessionId) {
  return request('/api/v1/chat/sessions/{session_id}/export', 'get', { path: { session_id: sessionId } });
}

/**
 * @param {unknown} document an export of chatd, ChatGPT, Open WebUI or LibreChat
 * @param {Provider} provider
 * @param {string} model
 * @returns {Promise<ImportResult>}
 */
export function importConversations(document, provider, model) {
  return request('/api/v1/chat/import', 'post', {
    query: { llm_provider: provider, llm_model: model },
    body: document,
  });
}
