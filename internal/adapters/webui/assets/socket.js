// One session's WebSocket: it applies sequenced events exactly once and in
// order, and when the connection drops it reconnects with last_seq so the
// server replays what was missed (or sends a fresh snapshot).

import { freshAccessToken } from './api.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/**
 * A frame as the server sends it; data's shape depends on type.
 * @typedef {Omit<Schemas['WebSocketFrame'], 'data'> & { data: any }} Frame
 */
/**
 * @typedef {object} SocketHandlers
 * @property {(snapshot: Schemas['SessionSnapshotEvent']) => Promise<void>} onSnapshot
 *   brings the view up to the snapshot; events are held until it settles
 * @property {(frame: Frame) => void} onEvent a sequenced event, in order, once
 * @property {(frame: Frame) => void} onSignal typing, presence, error, pong
 * @property {(state: 'connecting' | 'open' | 'closed') => void} onState
 */

// Close codes after which reconnecting cannot help (see the contract).
const finalCloseCodes = new Set([4403, 4404]);

export class SessionSocket {
  /**
   * @param {string} sessionId
   * @param {SocketHandlers} handlers
   */
  constructor(sessionId, handlers) {
    this.sessionId = sessionId;
    this.handlers = handlers;
    /** The seq of the last event applied; -1 before the first snapshot. */
    this.lastSeq = -1;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.stopped = false;
    this.attempt = 0;
    this.reconnectTimer = 0;
    /** While a snapshot or a reload is being applied, events wait here. @type {Frame[] | null} */
    this.held = null;
    /** A resume was asked for after a gap and its replay has not begun. */
    this.resuming = false;
  }

  start() {
    this.connect().catch(() => this.scheduleReconnect());
  }

  /** Closes for good (the user left the session). */
  stop() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.ws?.close(1000, 'leaving');
  }

  /** Cuts the connection the way a network failure would, to try resuming. */
  drop() {
    this.ws?.close(4000, 'dropped on purpose');
  }

  /**
   * Sends a client frame when connected; typing is best-effort anyway.
   * @param {'typing.start' | 'typing.stop' | 'ping'} type
   */
  send(type) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type }));
  }

  /**
   * Runs work (a reload of the branch) while events wait, then applies the
   * events that came meanwhile, so nothing is applied to a view being
   * replaced and nothing is lost.
   * @param {() => Promise<void>} work
   */
  async hold(work) {
    const outer = this.held === null;
    if (outer) this.held = [];
    try {
      await work();
    } finally {
      if (outer) {
        const waiting = this.held ?? [];
        this.held = null;
        // An event may start another hold (a reload): the rest wait for it.
        for (const frame of waiting) {
          const heldAgain = /** @type {Frame[] | null} */ (this.held);
          if (heldAgain) heldAgain.push(frame);
          else this.sequenced(frame);
        }
      }
    }
  }

  async connect() {
    this.handlers.onState('connecting');
    const token = await freshAccessToken();
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let url = `${scheme}//${location.host}/api/v1/chat/sessions/${this.sessionId}/websocket`;
    if (this.lastSeq >= 0) url += `?last_seq=${this.lastSeq}`;
    // Browsers cannot set headers on a WebSocket: the token rides as the
    // subprotocol pair the contract defines.
    const ws = new WebSocket(url, ['bearer', token]);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.handlers.onState('open');
    };
    ws.onmessage = (ev) => this.receive(JSON.parse(String(ev.data)));
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.resuming = false;
      this.handlers.onState('closed');
      if (!this.stopped && !finalCloseCodes.has(ev.code)) this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const wait = Math.min(250 * 2 ** this.attempt, 5000);
    this.attempt++;
    this.reconnectTimer = window.setTimeout(() => this.start(), wait);
  }

  /** @param {Frame} frame */
  receive(frame) {
    if (frame.type === 'session.snapshot') {
      this.resuming = false;
      const snapshot = /** @type {Schemas['SessionSnapshotEvent']} */ (frame.data);
      this.lastSeq = snapshot.last_seq;
      this.hold(() => this.handlers.onSnapshot(snapshot)).catch(() => {
        // The view is half rebuilt: only a fresh snapshot can finish it.
        this.lastSeq = -1;
        this.drop();
      });
    } else if (frame.seq === undefined) {
      this.handlers.onSignal(frame);
    } else if (this.held) {
      this.held.push(frame);
    } else {
      this.sequenced(frame);
    }
  }

  /**
   * Applies the next event; repeats are ignored, and a gap asks the server
   * to replay from the last event applied.
   * @param {Frame} frame
   */
  sequenced(frame) {
    const seq = frame.seq ?? 0;
    if (seq <= this.lastSeq) return;
    if (seq > this.lastSeq + 1) {
      if (!this.resuming && this.ws?.readyState === WebSocket.OPEN) {
        this.resuming = true;
        this.ws.send(JSON.stringify({ type: 'resume', data: { last_seq: this.lastSeq } }));
      }
      return;
    }
    this.resuming = false;
    this.lastSeq = seq;
    this.handlers.onEvent(frame);
  }
}
