// tfjs-backend-webgpu reads tensors synchronously (dataSync, arraySync: what training loops do for every loss value)
// by copying the GPU buffer into a WebGPU canvas and drawing that canvas onto a 2D canvas. Browsers without WebGPU ↔
// canvas interop (headless or software-composited Chromium with SwiftShader, for example) hand back zeros there, and
// the WebGPU instance dies with "A valid external Instance reference no longer exists". This probe runs the same copy
// on a device of its own, so the answer costs nothing to the device tfjs uses.

let cached;

/**
 * Resolves to { ok: true } when a synchronous WebGPU read works in this browser, or { ok: false, reason } when it
 * does not (or WebGPU is missing).
 */
export function checkWebGPUSyncReadback() {
  cached ??= probe().catch((error) => ({ ok: false, reason: `probe failed: ${error?.message ?? error}` }));
  return cached;
}

async function probe() {
  if (!('gpu' in navigator)) return { ok: false, reason: 'navigator.gpu is missing' };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { ok: false, reason: 'navigator.gpu found no adapter' };
  const device = await adapter.requestDevice();
  try {
    const width = 64;
    const bytes = new Uint8Array(width * 4).map((_, i) => 1 + ((i * 37) % 200));
    const buffer = device.createBuffer({
      size: bytes.byteLength,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(buffer, 0, bytes);
    const canvas = new OffscreenCanvas(width, 1);
    const context = canvas.getContext('webgpu');
    // The configuration tfjs uses for its 'opaque' read.
    context.configure({ device, format: 'bgra8unorm', usage: GPUTextureUsage.COPY_DST, alphaMode: 'opaque' });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToTexture(
      { buffer, bytesPerRow: 256 },
      { texture: context.getCurrentTexture() },
      { width, height: 1 },
    );
    device.queue.submit([encoder.finish()]);
    const host = new OffscreenCanvas(width, 1).getContext('2d', { willReadFrequently: true });
    host.drawImage(canvas, 0, 0);
    const read = host.getImageData(0, 0, width, 1).data;
    // bgra → rgba: channel 0 of the readback is byte 2 of the buffer; alpha is opaque.
    let matches = 0;
    for (let p = 0; p < width; p++) if (read[p * 4] === bytes[p * 4 + 2]) matches++;
    if (matches === width) return { ok: true };
    return {
      ok: false,
      reason:
        'this browser cannot copy a WebGPU canvas into a 2D canvas (it reads back zeros), which is how tfjs reads GPU ' +
        'tensors synchronously (dataSync); the training loop reads every loss that way. Typical of headless or ' +
        'software-composited Chromium. Use wasm here, or a browser with GPU compositing.',
    };
  } finally {
    device.destroy();
  }
}
