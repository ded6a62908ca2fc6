// The live feed's frame processor off the main thread. In: {seq, message} (a frame's ArrayBuffer is
// transferred). Out: {seq, result} with the result's typed arrays transferred back. The first
// message configures it: {seq: -1, options: {maxVehicles, liveWindowSeconds}}.

import { createFrameProcessor, transferablesOfResult } from '../live/frame-processor.js';

let processor = createFrameProcessor();

self.onmessage = (event) => {
  const { seq, message, options } = event.data;
  if (options) {
    processor = createFrameProcessor(options);
    return;
  }
  const result = processor.handle(message);
  self.postMessage({ seq, result }, transferablesOfResult(result));
};
