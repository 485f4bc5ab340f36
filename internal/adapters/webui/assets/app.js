// The page's entry: signing in, the sidebar (model picker, sessions, search,
// import) and the chat view of the session named in the URL (#/s/<id>).

import * as api from './api.js';
import { ChatView } from './chat_view.js';
import { byTestId, h, notify } from './dom.js';
import { SessionsView } from './sessions_view.js';

/** @typedef {import('./api.js').Provider} Provider */

/** @type {ChatView | null} */
let chat = null;
const sessions = new SessionsView((id) => {
  location.hash = `#/s/${id}`;
});
const providerSelect = byTestId('provider-select', HTMLSelectElement);
const modelSelect = byTestId('model-select', HTMLSelectElement);

function showAuth() {
  closeChat();
  byTestId('app-view', HTMLElement).hidden = true;
  byTestId('auth-view', HTMLElement).hidden = false;
}

async function showApp() {
  byTestId('auth-view', HTMLElement).hidden = true;
  byTestId('app-view', HTMLElement).hidden = false;
  byTestId('user-name', HTMLElement).textContent = api.currentUser()?.display_name ?? '';
  await Promise.all([sessions.refresh(), loadModels()]);
  await openFromURL();
}

/** @param {'login' | 'register'} how */
async function signIn(how) {
  const email = byTestId('auth-email', HTMLInputElement).value.trim();
  const password = byTestId('auth-password', HTMLInputElement).value;
  if (how === 'login') await api.login(email, password);
  else await api.register(email, password, byTestId('auth-name', HTMLInputElement).value.trim() || email.split('@')[0]);
  notify('');
  await showApp();
}

/** @returns {Provider} */
function provider() {
  return providerSelect.value === 'OPENROUTER' ? 'OPENROUTER' : 'LOCAL';
}

async function loadModels() {
  modelSelect.replaceChildren();
  try {
    const models = await api.listModels(provider());
    modelSelect.append(...models.map((m) => h('option', { value: m.id }, m.name || m.id)));
  } catch (err) {
    notify(`models of ${provider()}: ${err instanceof Error ? err.message : err}`);
  }
}

/**
 * Shows the session's model in the picker, even one the provider no longer lists.
 * @param {import('./api.js').ChatSession} s
 */
async function pickerShows(s) {
  if (providerSelect.value !== s.llm_provider) {
    providerSelect.value = s.llm_provider;
    await loadModels();
  }
  if (![...modelSelect.options].some((o) => o.value === s.llm_model)) {
    modelSelect.append(h('option', { value: s.llm_model }, s.llm_model));
  }
  modelSelect.value = s.llm_model;
}

async function openFromURL() {
  const id = /^#\/s\/([0-9a-f-]{36})$/.exec(location.hash)?.[1] ?? null;
  if (chat?.session.id === id) return;
  closeChat();
  sessions.select(id);
  byTestId('chat-view', HTMLElement).hidden = id === null;
  byTestId('empty-view', HTMLElement).hidden = id !== null;
  if (!id) return;
  const session = await api.getSession(id);
  await pickerShows(session);
  chat = new ChatView(session, {
    onLeave: () => {
      location.hash = '';
      sessions.refresh().catch(notify);
    },
    onSession: () => sessions.refresh().catch(notify),
  });
  await chat.open();
}

function closeChat() {
  chat?.close();
  chat = null;
}

async function newChat() {
  if (!modelSelect.value) throw new Error('pick a model first');
  const session = await api.createSession(provider(), modelSelect.value);
  await sessions.refresh();
  location.hash = `#/s/${session.id}`;
}

/** The picker changes the open session's model, or the next new one's. */
async function modelPicked() {
  if (chat && modelSelect.value) {
    chat.session = await api.updateSession(chat.session.id, { llm_provider: provider(), llm_model: modelSelect.value });
    chat.drawHeader();
  }
}

/** @param {File} file */
async function importFile(file) {
  let doc;
  try {
    doc = JSON.parse(await file.text());
  } catch {
    throw new Error(`${file.name} is not JSON`);
  }
  if (!modelSelect.value) throw new Error('pick the model that continues the imported chats first');
  const result = await api.importConversations(doc, provider(), modelSelect.value);
  notify(`Imported ${result.sessions.length} chat(s)${result.skipped.length ? `, skipped ${result.skipped.length}` : ''}.`);
  await sessions.refresh();
  if (result.sessions[0]) location.hash = `#/s/${result.sessions[0].id}`;
}

byTestId('auth-form', HTMLFormElement).addEventListener('submit', (ev) => {
  ev.preventDefault();
  signIn('login').catch(notify);
});
byTestId('auth-register', HTMLButtonElement).addEventListener('click', () => {
  if (byTestId('auth-form', HTMLFormElement).reportValidity()) signIn('register').catch(notify);
});
byTestId('logout', HTMLButtonElement).addEventListener('click', () => {
  api.logout().finally(showAuth);
});
byTestId('session-new', HTMLButtonElement).addEventListener('click', () => newChat().catch(notify));
providerSelect.addEventListener('change', () => loadModels().catch(notify));
modelSelect.addEventListener('change', () => modelPicked().catch(notify));
byTestId('import-file', HTMLInputElement).addEventListener('change', (ev) => {
  const input = /** @type {HTMLInputElement} */ (ev.target);
  const file = input.files?.[0];
  input.value = '';
  if (file) importFile(file).catch(notify);
});
window.addEventListener('hashchange', () => openFromURL().catch(notify));
api.onSignedOut(showAuth);

// ?debug=1 exposes a way to cut the WebSocket, to watch it resume.
if (new URLSearchParams(location.search).get('debug') === '1') {
  Object.assign(window, { chatdDebug: { dropSocket: () => chat?.socket.drop() } });
}

if (api.currentUser()) {
  api.resumeSession();
  showApp().catch(notify);
} else {
  showAuth();
}
