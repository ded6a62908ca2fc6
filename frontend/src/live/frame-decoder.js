// Runs the frame processor (in a worker when one can be created, else inline) and releases its
// results IN ARRIVAL ORDER: a heartbeat or error can never overtake a data frame still in the
// worker. Messages: {type: 'frame', data}, {type: 'prune'}, {type: 'disconnected'}.

import { createFrameProcessor } from './frame-processor.js';

export function defaultCreateWorker() {
  if (typeof Worker === 'undefined') return null;
  return new Worker(new URL('../worker/frame-worker.js', import.meta.url), { type: 'module' });
}

function toArrayBuffer(data) {
  if (data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  return null;
}

/** createFrameDecoder({onResult, options, createWorker}) -> {push(message), close(), pending, inWorker} */
export function createFrameDecoder({ onResult, options = {}, createWorker = defaultCreateWorker }) {
  let worker = null;
  try {
    worker = createWorker ? createWorker() : null;
  } catch {
    worker = null;
  }
  const inline = worker ? null : createFrameProcessor(options);
  let nextSeq = 0;
  let nextToRelease = 0;
  // seq -> results received so far; a big frame comes from the worker in parts (result.parts).
  const ready = new Map();
  let releasedParts = 0;
  let closed = false;

  function receive(seq, result) {
    if (!ready.has(seq)) ready.set(seq, []);
    ready.get(seq).push(result);
  }

  // Releases whatever is next in order: each part as soon as it is here, the next frame only
  // after the last part of this one.
  function release() {
    while (ready.has(nextToRelease)) {
      const results = ready.get(nextToRelease);
      while (releasedParts < results.length) {
        const result = results[releasedParts];
        releasedParts += 1;
        onResult(result);
      }
      const total = results[0].parts ?? 1;
      if (releasedParts < total) return;
      ready.delete(nextToRelease);
      releasedParts = 0;
      nextToRelease += 1;
    }
  }

  if (worker) {
    worker.postMessage({ seq: -1, options });
    worker.onmessage = (event) => {
      // Reading event.data deserialises the message on this thread: part of the cost of a frame.
      const started = performance.now();
      const { seq, result } = event.data;
      result.receiveMs = performance.now() - started;
      receive(seq, result);
      release();
    };
    worker.onerror = (event) => {
      console.error(JSON.stringify({ level: 'error', msg: 'frame worker failed', error: String(event.message ?? event) }));
    };
  }

  return {
    push(message) {
      if (closed) return;
      const seq = nextSeq;
      nextSeq += 1;
      let m = message;
      if (m.type === 'frame' && typeof m.data !== 'string') {
        const buffer = toArrayBuffer(m.data);
        if (!buffer) {
          receive(seq, { kind: 'garbage', reason: 'unsupported message type' });
          release();
          return;
        }
        m = { type: 'frame', data: buffer };
      }
      if (worker) {
        worker.postMessage({ seq, message: m }, m.data instanceof ArrayBuffer ? [m.data] : []);
        return;
      }
      receive(seq, inline.handle(m));
      release();
    },
    get pending() {
      return nextSeq - nextToRelease;
    },
    get inWorker() {
      return worker !== null;
    },
    close() {
      closed = true;
      if (worker) worker.terminate();
      worker = null;
    },
  };
}
