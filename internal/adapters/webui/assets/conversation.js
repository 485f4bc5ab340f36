// The state of one chat: every message seen (any branch) and the branch on
// screen, kept current by the session's events. No DOM here.
//
// Why the text stays exact across reconnects: the socket applies each
// sequenced event once, in order. A snapshot resets what cannot be trusted
// (it carries the text of running replies as of its last_seq) and the branch
// is then reloaded; a reply created after the snapshot is rebuilt from its
// message.created (empty text) and the deltas that follow it.

/** @typedef {import('./api.js').ChatMessage} ChatMessage */
/** @typedef {import('./api.js').ChatSession} ChatSession */
/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {import('./socket.js').Frame} Frame */

/** What an event asks of the view besides a redraw. */
export const needs = /** @type {const} */ ({ nothing: 0, reload: 1, leave: 2 });

const streaming = new Set(['pending', 'streaming']);

export class Conversation {
  constructor() {
    /** @type {Map<string, ChatMessage>} */
    this.known = new Map();
    /** Ids of the branch on screen, first message first. @type {string[]} */
    this.branch = [];
  }

  /** @returns {ChatMessage[]} the branch on screen */
  messages() {
    return this.branch.flatMap((id) => this.known.get(id) ?? []);
  }

  /**
   * Starts over from a snapshot: only the running replies' text is known
   * for certain at its last_seq; everything else is reloaded (reload()).
   * @param {Schemas['SessionSnapshotEvent']} snapshot
   */
  reset(snapshot) {
    this.known = new Map(snapshot.streaming.map((m) => [m.id, m]));
  }

  /**
   * Takes the branch as the server lists it. Messages already known keep
   * their state (events keep it exact, while a listed reply's text may lag
   * the stream); their sibling lists come from the listing.
   * @param {ChatMessage[]} listed
   */
  reload(listed) {
    for (const m of listed) {
      const mine = this.known.get(m.id);
      this.known.set(m.id, mine ? { ...mine, sibling_ids: m.sibling_ids } : m);
    }
    this.branch = listed.map((m) => m.id);
  }

  /**
   * Adds a message an API answer returned, unless an event already brought
   * it (then the event's state is the newer one).
   * @param {ChatMessage | null} m
   */
  adopt(m) {
    if (!m || this.known.has(m.id)) return needs.nothing;
    this.known.set(m.id, m);
    return this.place(m);
  }

  /**
   * Applies one sequenced event.
   * @param {Frame} frame
   * @returns {number} one of needs
   */
  apply(frame) {
    switch (frame.type) {
      case 'message.created': {
        const m = /** @type {ChatMessage} */ (frame.data);
        this.known.set(m.id, { ...m, sibling_ids: this.known.get(m.id)?.sibling_ids });
        return this.place(m);
      }
      case 'message.delta': {
        const d = /** @type {Schemas['MessageDeltaEvent']} */ (frame.data);
        const m = this.known.get(d.message_id);
        if (m) {
          m.content += d.delta;
          m.status = 'streaming';
          m.is_streaming = true;
        }
        return needs.nothing;
      }
      case 'message.completed':
      case 'message.failed':
      case 'message.cancelled':
      case 'message.updated': {
        const m = /** @type {ChatMessage} */ (frame.data);
        this.known.set(m.id, { ...m, sibling_ids: this.known.get(m.id)?.sibling_ids });
        return needs.nothing;
      }
      case 'message.deleted': {
        const d = /** @type {Schemas['MessageDeletedEvent']} */ (frame.data);
        for (const id of d.deleted_ids) this.known.delete(id);
        return this.branch.includes(d.message_id) ? needs.reload : needs.nothing;
      }
      case 'session.updated': {
        const s = /** @type {ChatSession} */ (frame.data);
        return s.current_message_id !== this.tail() ? needs.reload : needs.nothing;
      }
      case 'session.deleted':
        return needs.leave;
      default:
        return needs.nothing;
    }
  }

  /** @returns {string | null} the id of the branch's newest message */
  tail() {
    return this.branch.at(-1) ?? null;
  }

  /** @param {string} id */
  isRunning(id) {
    return streaming.has(this.known.get(id)?.status ?? '');
  }

  /**
   * Puts a new message on the branch: after its parent, replacing whatever
   * followed it (a new message becomes the session's current one). A message
   * under a parent off the branch means the server's branch moved elsewhere.
   * @param {ChatMessage} m
   * @returns {number} one of needs
   */
  place(m) {
    if (this.branch.includes(m.id)) return needs.nothing;
    const at = m.parent_id === null ? 0 : this.branch.indexOf(m.parent_id) + 1;
    if (at === 0 && m.parent_id !== null) return needs.reload;
    const displaced = this.known.get(this.branch[at] ?? '');
    const siblings = displaced ? [...(displaced.sibling_ids ?? [displaced.id])] : [];
    if (!siblings.includes(m.id)) siblings.push(m.id);
    for (const id of siblings) {
      const sibling = this.known.get(id);
      if (sibling) sibling.sibling_ids = siblings;
    }
    this.branch = [...this.branch.slice(0, at), m.id];
    return needs.nothing;
  }
}
