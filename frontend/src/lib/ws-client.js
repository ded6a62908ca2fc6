// WebSocket connection to ws-relay that keeps reconnecting with backoff (full jitter) and drops a
// connection that has been silent for longer than the idle timeout (a half-open socket: the relay
// sends heartbeats, so silence means the path is dead). The WebSocket class and timers are
// injectable so the same code runs in the browser and in Node tests.

import { DEFAULT_BACKOFF, backoffDelay } from './backoff.js';

export const STATUS = Object.freeze({ CONNECTING: 'connecting', OPEN: 'open', CLOSED: 'closed' });

export class LiveConnection {
  constructor({
    url,
    protocols = undefined,
    idleTimeoutMs = null,
    WebSocketImpl = globalThis.WebSocket,
    backoff = DEFAULT_BACKOFF,
    random = Math.random,
    connectTimeoutMs = 10000,
    timers = globalThis,
    onMessage = () => {},
    onStatus = () => {},
    onOpen = () => {},
  }) {
    this.url = url;
    this.protocols = protocols;
    this.idleTimeoutMs = idleTimeoutMs;
    this.idleTimer = null;
    this.WebSocketImpl = WebSocketImpl;
    this.backoff = { ...DEFAULT_BACKOFF, ...backoff };
    this.random = random;
    this.connectTimeoutMs = connectTimeoutMs;
    this.timers = timers;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onOpen = onOpen;
    this.status = STATUS.CLOSED;
    this.socket = null;
    // Consecutive failed attempts; reset once a connection delivers its first frame.
    this.attempt = 0;
    this.retryTimer = null;
    this.connectTimer = null;
    this.nextRetryAt = null;
    this.stopped = true;
    this.gotFrame = false;
    this.stats = { opens: 0, closes: 0, retries: 0, lastCloseCode: null, lastCloseReason: '' };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this._connect();
  }

  stop() {
    this.stopped = true;
    this._clearTimers();
    const ws = this.socket;
    this.socket = null;
    if (ws) {
      try {
        ws.close(1000, 'client stopped');
      } catch {
        // already closing
      }
    }
    this._setStatus(STATUS.CLOSED);
  }

  /** Skip the remaining backoff wait (e.g. the browser came back online). */
  reconnectNow() {
    if (this.stopped || this.status !== STATUS.CLOSED || this.socket) return;
    this._clearTimers();
    this._connect();
  }

  /** Close the socket when nothing arrives for `ms` (null: never); applies from the next message. */
  setIdleTimeout(ms) {
    this.idleTimeoutMs = ms;
    this._armIdleTimer();
  }

  /** Send a JSON message when open; returns whether it was sent. */
  send(message) {
    const ws = this.socket;
    if (!ws || this.status !== STATUS.OPEN) return false;
    try {
      ws.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  _setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.onStatus(status);
  }

  _clearTimers() {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    if (this.connectTimer !== null) this.timers.clearTimeout(this.connectTimer);
    this.retryTimer = null;
    this.connectTimer = null;
    this.nextRetryAt = null;
    this._clearIdleTimer();
  }

  _clearIdleTimer() {
    if (this.idleTimer !== null) this.timers.clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  _armIdleTimer() {
    this._clearIdleTimer();
    const ws = this.socket;
    if (!ws || this.status !== STATUS.OPEN || !(this.idleTimeoutMs > 0)) return;
    this.idleTimer = this.timers.setTimeout(() => {
      this.idleTimer = null;
      if (this.socket !== ws) return;
      this._onClosed(ws, 4001, 'heartbeat timeout');
      try {
        ws.close(4001, 'heartbeat timeout');
      } catch {
        // already closing
      }
    }, this.idleTimeoutMs);
  }

  _connect() {
    this.retryTimer = null;
    this.nextRetryAt = null;
    this.gotFrame = false;
    this._setStatus(STATUS.CONNECTING);
    let ws;
    try {
      ws = this.protocols ? new this.WebSocketImpl(this.url, this.protocols) : new this.WebSocketImpl(this.url);
    } catch (err) {
      this.stats.lastCloseReason = String(err && err.message ? err.message : err);
      this._scheduleRetry();
      return;
    }
    this.socket = ws;
    try {
      ws.binaryType = 'arraybuffer';
    } catch {
      // not settable in every implementation
    }
    this.connectTimer = this.timers.setTimeout(() => {
      this.connectTimer = null;
      if (this.socket === ws && this.status === STATUS.CONNECTING) {
        this._onClosed(ws, 4000, 'connect timeout');
        try {
          ws.close();
        } catch {
          // ignore
        }
      }
    }, this.connectTimeoutMs);
    ws.onopen = () => {
      if (this.socket !== ws) return;
      if (this.connectTimer !== null) this.timers.clearTimeout(this.connectTimer);
      this.connectTimer = null;
      this.stats.opens += 1;
      this._setStatus(STATUS.OPEN);
      this._armIdleTimer();
      this.onOpen();
    };
    ws.onmessage = (event) => {
      if (this.socket !== ws) return;
      if (!this.gotFrame) {
        this.gotFrame = true;
        this.attempt = 0;
      }
      this._armIdleTimer();
      this.onMessage(event.data);
    };
    ws.onerror = () => {
      // A close event always follows; the retry is scheduled there.
    };
    ws.onclose = (event) => {
      this._onClosed(ws, event && event.code, event && event.reason);
    };
  }

  _onClosed(ws, code, reason) {
    if (this.socket !== ws) return;
    this.socket = null;
    if (this.connectTimer !== null) this.timers.clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this._clearIdleTimer();
    this.stats.closes += 1;
    this.stats.lastCloseCode = code ?? null;
    this.stats.lastCloseReason = reason || '';
    this._setStatus(STATUS.CLOSED);
    if (!this.stopped) this._scheduleRetry();
  }

  _scheduleRetry() {
    this.socket = null;
    this._setStatus(STATUS.CLOSED);
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt, this.backoff, this.random);
    this.attempt += 1;
    this.stats.retries += 1;
    this.nextRetryAt = Date.now() + delay;
    this.retryTimer = this.timers.setTimeout(() => this._connect(), delay);
  }
}
