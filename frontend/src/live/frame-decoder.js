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
  const ready = new Map();
  let closed = false;

  function release() {
    while (ready.has(nextToRelease)) {
      const result = ready.get(nextToRelease);
      ready.delete(nextToRelease);
      nextToRelease += 1;
      onResult(result);
    }
  }

  if (worker) {
    worker.postMessage({ seq: -1, options });
    worker.onmessage = (event) => {
      ready.set(event.data.seq, event.data.result);
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
          ready.set(seq, { kind: 'garbage', reason: 'unsupported message type' });
          release();
          return;
        }
        m = { type: 'frame', data: buffer };
      }
      if (worker) {
        worker.postMessage({ seq, message: m }, m.data instanceof ArrayBuffer ? [m.data] : []);
        return;
      }
      ready.set(seq, inline.handle(m));
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
