// The chat view of one session: the branch on screen with its actions (stop,
// regenerate, edit and resend, branch arrows), the composer, who is typing
// and who is here. State lives in Conversation; this file draws it.

import * as api from './api.js';
import { Conversation, needs } from './conversation.js';
import { byTestId, h, notify } from './dom.js';
import { SessionSocket } from './socket.js';

/** @typedef {import('./api.js').ChatMessage} ChatMessage */
/** @typedef {import('./api.js').ChatSession} ChatSession */
/** @typedef {import('./socket.js').Frame} Frame */

// The server ends a typing indicator 5 s after its last renewal; the page
// renews every 2 s while keys are pressed and stops after 3 s of quiet.
const typingRenewMs = 2000;
const typingQuietMs = 3000;

export class ChatView {
  /**
   * @param {ChatSession} session
   * @param {{ onLeave: () => void, onSession: (s: ChatSession) => void }} hooks
   */
  constructor(session, hooks) {
    this.session = session;
    this.hooks = hooks;
    this.conversation = new Conversation();
    /** @type {Map<string, import('./api.js').Participant>} */
    this.people = new Map();
    /** @type {Set<string>} */
    this.online = new Set();
    /** @type {Map<string, number>} user id -> timer that hides their indicator */
    this.typing = new Map();
    /** @type {string | null} the user message being edited */
    this.editing = null;
    this.typingSentAt = 0;
    this.quietTimer = 0;
    this.frame = 0;
    this.socket = new SessionSocket(session.id, {
      onSnapshot: async (snapshot) => {
        this.conversation.reset(snapshot);
        await this.reloadBranch();
      },
      onEvent: (frame) => this.onEvent(frame),
      onSignal: (frame) => this.onSignal(frame),
      onState: (state) => {
        byTestId('connection', HTMLElement).dataset.state = state;
        byTestId('connection', HTMLElement).textContent = state === 'open' ? '' : state;
      },
    });
    this.list = byTestId('message-list', HTMLElement);
    this.input = byTestId('composer-input', HTMLTextAreaElement);
    this.abort = new AbortController();
  }

  async open() {
    const { signal } = this.abort;
    byTestId('composer', HTMLFormElement).addEventListener('submit', (ev) => this.onSend(ev), { signal });
    this.input.addEventListener('keydown', (ev) => this.onKey(ev), { signal });
    this.input.addEventListener('input', () => this.onTyping(), { signal });
    byTestId('participant-form', HTMLFormElement).addEventListener('submit', (ev) => this.onAddPerson(ev), { signal });
    byTestId('export', HTMLButtonElement).addEventListener('click', () => this.onExport().catch(notify), { signal });
    this.list.replaceChildren();
    this.drawHeader();
    this.drawTyping();
    await this.loadPeople();
    this.socket.start();
  }

  close() {
    this.abort.abort();
    this.socket.stop();
    cancelAnimationFrame(this.frame);
    for (const timer of this.typing.values()) clearTimeout(timer);
    clearTimeout(this.quietTimer);
  }

  async reloadBranch() {
    this.conversation.reload(await api.listBranch(this.session.id));
    this.redraw();
  }

  async loadPeople() {
    const me = api.currentUser();
    const people = await api.listParticipants(this.session.id);
    this.people = new Map(people.map((p) => [p.user_id, p]));
    const myRole = me ? this.people.get(me.id)?.role : undefined;
    byTestId('participant-form', HTMLFormElement).hidden = myRole !== 'owner';
    byTestId('composer', HTMLFormElement).hidden = myRole === 'viewer';
    this.drawPeople();
  }

  /** @param {Frame} frame */
  onEvent(frame) {
    if (frame.type === 'session.updated') {
      this.session = /** @type {ChatSession} */ (frame.data);
      this.drawHeader();
      this.hooks.onSession(this.session);
    }
    const next = this.conversation.apply(frame);
    if (next === needs.leave) {
      this.hooks.onLeave();
      return;
    }
    if (next === needs.reload) this.socket.hold(() => this.reloadBranch()).catch(notify);
    this.redraw();
  }

  /** @param {Frame} frame */
  onSignal(frame) {
    if (frame.type === 'typing') {
      const t = /** @type {import('./api.js').Schemas['TypingEvent']} */ (frame.data);
      clearTimeout(this.typing.get(t.user_id));
      if (t.is_typing) {
        // Hidden by the server's typing stop, or by this in case it never comes.
        this.typing.set(t.user_id, window.setTimeout(() => this.typingEnded(t.user_id), 7000));
      } else {
        this.typing.delete(t.user_id);
      }
      this.drawTyping();
    } else if (frame.type === 'presence') {
      const p = /** @type {import('./api.js').Schemas['PresenceEvent']} */ (frame.data);
      if (p.online) this.online.add(p.user_id);
      else this.online.delete(p.user_id);
      if (!this.people.has(p.user_id)) this.loadPeople().catch(notify);
      this.drawPeople();
    } else if (frame.type === 'error') {
      notify(frame.data.detail);
    }
  }

  /** @param {string} userId */
  typingEnded(userId) {
    this.typing.delete(userId);
    this.drawTyping();
  }

  /** @param {SubmitEvent} ev */
  onSend(ev) {
    ev.preventDefault();
    const content = this.input.value.trim();
    if (!content) return;
    this.input.value = '';
    this.stopTyping();
    this.post(content).catch((err) => {
      this.input.value = content;
      notify(err);
    });
  }

  /**
   * @param {string} content
   * @param {string | null} [parentId]
   */
  async post(content, parentId) {
    const sent = await api.sendMessage(this.session.id, content, parentId);
    this.adopt(sent.user_message);
    this.adopt(sent.assistant_message);
  }

  /** @param {ChatMessage | null} m */
  adopt(m) {
    if (this.conversation.adopt(m) === needs.reload) this.socket.hold(() => this.reloadBranch()).catch(notify);
    this.redraw();
  }

  /** @param {KeyboardEvent} ev */
  onKey(ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      byTestId('composer', HTMLFormElement).requestSubmit();
    }
  }

  onTyping() {
    const now = Date.now();
    if (now - this.typingSentAt > typingRenewMs) {
      this.socket.send('typing.start');
      this.typingSentAt = now;
    }
    clearTimeout(this.quietTimer);
    this.quietTimer = window.setTimeout(() => this.stopTyping(), typingQuietMs);
  }

  stopTyping() {
    clearTimeout(this.quietTimer);
    if (this.typingSentAt) this.socket.send('typing.stop');
    this.typingSentAt = 0;
  }

  /** @param {SubmitEvent} ev */
  onAddPerson(ev) {
    ev.preventDefault();
    const email = byTestId('participant-email', HTMLInputElement);
    api
      .addParticipant(this.session.id, email.value.trim())
      .then(() => {
        email.value = '';
        return this.loadPeople();
      })
      .catch(notify);
  }

  async onExport() {
    const doc = await api.exportSession(this.session.id);
    const link = h('a', {
      href: URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' })),
      download: `${this.session.title || 'chat'}.chatd.json`,
    });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  /**
   * Shows another reply or turn of the same parent: the server makes the
   * newest leaf under it current, and the branch is reloaded.
   * @param {string} siblingId
   */
  async switchTo(siblingId) {
    await api.updateSession(this.session.id, { current_message_id: siblingId });
    await this.socket.hold(() => this.reloadBranch());
  }

  /** @param {ChatMessage} m */
  async regenerate(m) {
    this.adopt(await api.regenerate(m.id));
  }

  /**
   * @param {ChatMessage} m
   * @param {string} content
   */
  async resend(m, content) {
    this.editing = null;
    await this.post(content, m.parent_id);
  }

  /** Redraws on the next frame: a burst of deltas costs one layout. */
  redraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawMessages();
    });
  }

  drawHeader() {
    byTestId('chat-title', HTMLElement).textContent = this.session.title || 'New chat';
    byTestId('chat-model', HTMLElement).textContent = `${this.session.llm_provider} · ${this.session.llm_model}`;
  }

  drawPeople() {
    const me = api.currentUser()?.id;
    byTestId('presence-list', HTMLElement).replaceChildren(
      ...[...this.people.values()].map((p) =>
        h(
          'li',
          {
            'data-testid': 'participant',
            'data-user-id': p.user_id,
            'data-online': String(p.user_id === me || this.online.has(p.user_id)),
          },
          p.display_name,
        ),
      ),
    );
  }

  drawTyping() {
    const names = [...this.typing.keys()].map((id) => this.nameOf(id));
    const line = byTestId('typing-indicator', HTMLElement);
    line.textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
    line.hidden = names.length === 0;
  }

  /** @param {string} userId */
  nameOf(userId) {
    return userId === api.currentUser()?.id ? 'You' : (this.people.get(userId)?.display_name ?? 'Someone');
  }

  drawMessages() {
    const nearBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    /** @type {Map<string, HTMLElement>} */
    const existing = new Map();
    for (const el of this.list.children) {
      if (el instanceof HTMLElement && el.dataset.id) existing.set(el.dataset.id, el);
    }
    const shown = this.conversation.messages().map((m) => {
      const el = existing.get(m.id) ?? h('article', { 'data-testid': 'message', 'data-id': m.id });
      this.drawMessage(el, m);
      return el;
    });
    // Only a changed order touches the list, so a textarea being edited
    // keeps its focus.
    const same = shown.length === this.list.children.length && shown.every((el, i) => this.list.children[i] === el);
    if (!same) this.list.replaceChildren(...shown);
    if (nearBottom) this.list.scrollTop = this.list.scrollHeight;
    // A mark for whoever measures the page (the browser tests log it).
    if (shown.length && !performance.getEntriesByName('chatd:chat-drawn').length) performance.mark('chatd:chat-drawn');
  }

  /**
   * Rebuilds a message's parts when its shape changed (status, branch,
   * editing); otherwise only its text, which is what deltas change.
   * @param {HTMLElement} el
   * @param {ChatMessage} m
   */
  drawMessage(el, m) {
    const shape = [m.status, m.role, (m.sibling_ids ?? []).join(), this.editing === m.id, m.error_message].join('|');
    if (el.dataset.shape === shape) {
      const content = el.querySelector('[data-testid="message-content"]');
      if (content && content.textContent !== m.content) content.textContent = m.content;
      return;
    }
    el.dataset.shape = shape;
    el.dataset.role = m.role;
    el.dataset.status = m.status;
    el.className = `message ${m.role}`;
    const who = m.role === 'assistant' ? m.llm_model : m.role === 'system' ? 'System' : this.nameOf(m.user_id);
    const note = m.status === 'completed' ? '' : m.status === 'failed' ? `failed: ${m.error_message ?? ''}` : m.status;
    el.replaceChildren(
      h('header', {}, h('span', { class: 'author' }, who), note && h('span', { class: 'meta' }, note)),
      this.editing === m.id ? this.editor(m) : h('div', { class: 'content', 'data-testid': 'message-content' }, m.content),
      h('footer', { class: 'row' }, this.arrows(m), ...this.actions(m)),
    );
  }

  /** @param {ChatMessage} m */
  editor(m) {
    const box = h('textarea', { 'data-testid': 'edit-input', rows: 3 });
    box.value = m.content;
    return h(
      'form',
      {
        class: 'edit',
        onsubmit: (ev) => {
          ev.preventDefault();
          const content = box.value.trim();
          if (content) this.resend(m, content).catch(notify);
        },
      },
      box,
      h('div', { class: 'row' },
        h('button', { type: 'submit', 'data-testid': 'edit-send' }, 'Send as new branch'),
        h('button', { type: 'button', 'data-testid': 'edit-cancel', onclick: () => this.setEditing(null) }, 'Cancel'),
      ),
    );
  }

  /** @param {string | null} id */
  setEditing(id) {
    this.editing = id;
    this.drawMessages();
  }

  /**
   * "2 / 3" and the arrows around it, when the message has siblings.
   * @param {ChatMessage} m
   */
  arrows(m) {
    const siblings = m.sibling_ids ?? [m.id];
    if (siblings.length < 2) return null;
    const at = siblings.indexOf(m.id);
    /** @param {number} step */
    const go = (step) => () => this.switchTo(siblings[at + step]).catch(notify);
    return h('span', { class: 'branches' },
      h('button', { type: 'button', 'data-testid': 'branch-prev', disabled: at === 0, onclick: go(-1) }, '‹'),
      h('span', { 'data-testid': 'branch-label' }, `${at + 1} / ${siblings.length}`),
      h('button', { type: 'button', 'data-testid': 'branch-next', disabled: at === siblings.length - 1, onclick: go(1) }, '›'),
    );
  }

  /** @param {ChatMessage} m */
  actions(m) {
    const mine = m.user_id === api.currentUser()?.id;
    if (m.role === 'assistant' && this.conversation.isRunning(m.id)) {
      return [h('button', { type: 'button', 'data-testid': 'message-stop', onclick: () => api.cancelMessage(m.id).catch(notify) }, 'Stop')];
    }
    if (m.role === 'assistant') {
      return [h('button', { type: 'button', 'data-testid': 'message-regenerate', onclick: () => this.regenerate(m).catch(notify) }, 'Regenerate')];
    }
    if (m.role === 'user' && mine && this.editing !== m.id) {
      return [h('button', { type: 'button', 'data-testid': 'message-edit', onclick: () => this.setEditing(m.id) }, 'Edit')];
    }
    return [];
  }
}
