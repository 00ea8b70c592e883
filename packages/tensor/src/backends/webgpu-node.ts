import { importOptional, isNode } from './optional-import';

interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}
interface GpuLike {
  requestAdapter(options?: object): Promise<GpuAdapterLike | null>;
}

/**
 * Makes `navigator.gpu` available. Browsers have it (or not); in Node it comes from the optional `webgpu` package
 * (Dawn). Dawn needs a Vulkan driver: with no GPU, SwiftShader works when VK_ICD_FILENAMES points at its ICD
 * (Debian: /usr/lib/chromium/vk_swiftshader_icd.json), set before the process starts.
 */
export async function ensureNavigatorGpu(): Promise<GpuLike> {
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  if (!isNode) throw new Error('this browser has no navigator.gpu (WebGPU is off or unsupported)');
  let webgpu: { create: (flags: string[]) => GpuLike; globals: Record<string, unknown> };
  try {
    webgpu = await importOptional('webgpu');
  } catch (error) {
    throw new Error(`the optional package 'webgpu' is not installed (npm i webgpu): ${(error as Error).message}`);
  }
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create([]);
  if (g.navigator) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
  return gpu;
}

export interface AdapterDescription {
  software: boolean;
  label: string;
}

/** Requests an adapter and says whether it is a software rasteriser (SwiftShader, lavapipe, WARP, fallback). */
export async function describeAdapter(gpu: GpuLike): Promise<AdapterDescription | null> {
  const adapter = await gpu.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const label =
    [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  const software =
    adapter.isFallbackAdapter === true ||
    info.isFallbackAdapter === true ||
    /swiftshader|llvmpipe|lavapipe|software|microsoft basic render|warp/i.test(label);
  return { software, label };
}
