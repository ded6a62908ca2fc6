// The live feed's frame processor off the main thread. In: {seq, message} (a frame's ArrayBuffer is
// transferred). Out: {seq, result} with the result's typed arrays transferred back; a frame of more
// than CHUNK_ROWS vehicles comes back as several messages (result.part of result.parts), so the page
// applies it in several short tasks. The first message configures it:
// {seq: -1, options: {maxVehicles, liveWindowSeconds}}.

import { createFrameProcessor, splitResult, transferablesOfResult } from '../live/frame-processor.js';

const CHUNK_ROWS = 16384;

let processor = createFrameProcessor();

self.onmessage = (event) => {
  const { seq, message, options } = event.data;
  if (options) {
    processor = createFrameProcessor(options);
    return;
  }
  for (const result of splitResult(processor.handle(message), CHUNK_ROWS)) {
    self.postMessage({ seq, result }, transferablesOfResult(result));
  }
};
