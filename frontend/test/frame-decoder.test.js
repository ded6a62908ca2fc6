import { describe, expect, it } from 'vitest';
import { createFrameDecoder } from '../src/live/frame-decoder.js';

/** A stand-in worker whose replies the test sends by hand, in any order. */
function fakeWorker() {
  const worker = {
    posted: [],
    postMessage(message) {
      worker.posted.push(message);
    },
    reply(seq, result) {
      worker.onmessage({ data: { seq, result } });
    },
    terminate() {},
  };
  return worker;
}

describe('frame decoder', () => {
  it('releases results in arrival order, the parts of a big frame one by one as they come', () => {
    const worker = fakeWorker();
    const out = [];
    const decoder = createFrameDecoder({ onResult: (r) => out.push(r.tag), createWorker: () => worker });
    for (let i = 0; i < 3; i += 1) decoder.push({ type: 'frame', data: new ArrayBuffer(8) });
    // Frame 1 (a heartbeat) is ready before frame 0's last part: it waits.
    worker.reply(1, { kind: 'heartbeat', part: 0, parts: 1, tag: 'hb' });
    worker.reply(0, { kind: 'data', part: 0, parts: 2, tag: 'a0' });
    expect(out).toEqual(['a0']);
    expect(decoder.pending).toBe(3);
    worker.reply(0, { kind: 'data', part: 1, parts: 2, tag: 'a1' });
    expect(out).toEqual(['a0', 'a1', 'hb']);
    worker.reply(2, { kind: 'data', part: 0, parts: 1, tag: 'c' });
    expect(out).toEqual(['a0', 'a1', 'hb', 'c']);
    expect(decoder.pending).toBe(0);
  });
});
