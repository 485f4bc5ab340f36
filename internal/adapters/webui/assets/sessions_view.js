// The sidebar's lists: the caller's sessions, and search results across
// them while the search box holds words.

import * as api from './api.js';
import { byTestId, h, notify } from './dom.js';

/** @typedef {import('./api.js').ChatSession} ChatSession */

export class SessionsView {
  /** @param {(sessionId: string) => void} onOpen */
  constructor(onOpen) {
    this.onOpen = onOpen;
    /** @type {string | null} */
    this.currentId = null;
    this.searchTimer = 0;
    this.searchInput = byTestId('search-input', HTMLInputElement);
    this.searchInput.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => this.search().catch(notify), 250);
    });
  }

  async refresh() {
    const sessions = await api.listSessions();
    byTestId('session-list', HTMLElement).replaceChildren(...sessions.map((s) => this.item(s)));
  }

  /** @param {string | null} sessionId */
  select(sessionId) {
    this.currentId = sessionId;
    for (const el of byTestId('session-list', HTMLElement).children) {
      if (el instanceof HTMLElement) el.classList.toggle('current', el.dataset.sessionId === sessionId);
    }
  }

  /** @param {ChatSession} s */
  item(s) {
    return h(
      'li',
      {
        'data-testid': 'session-item',
        'data-session-id': s.id,
        class: s.id === this.currentId ? 'current' : '',
        onclick: () => this.onOpen(s.id),
      },
      h('span', { class: 'title' }, s.title || 'New chat'),
      h('span', { class: 'meta' }, `${s.llm_model} · ${s.message_count}`),
    );
  }

  async search() {
    const q = this.searchInput.value.trim();
    const results = byTestId('search-results', HTMLElement);
    byTestId('session-list', HTMLElement).hidden = q !== '';
    results.hidden = q === '';
    if (!q) return;
    const found = await api.search(q);
    if (q !== this.searchInput.value.trim()) return; // typed on meanwhile
    results.replaceChildren(
      ...found.map((r) =>
        h(
          'li',
          { 'data-testid': 'search-result', 'data-session-id': r.session_id, onclick: () => this.onOpen(r.session_id) },
          h('span', { class: 'title' }, r.session_title || 'New chat'),
          h('span', { class: 'snippet' }, r.snippet),
        ),
      ),
      ...(found.length ? [] : [h('li', { class: 'meta' }, 'No match')]),
    );
  }
}
