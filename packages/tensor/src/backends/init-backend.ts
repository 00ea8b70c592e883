import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, DistilleryError, invalid } from '../errors';
import { hostBackend } from '../kernels/kernel-types';
import { relaxedSimdAvailable } from '../kernels/wasm-simd/wasm-encoder';
import { checkOptions, type OptionsSpec } from '../options';
import { registerKernels } from '../register/kernels';
import { configureThreads, MAX_THREADS } from '../threads';
import { importOptional, isNode } from './optional-import';
import { describeAdapter, ensureNavigatorGpu } from './webgpu-node';

/** The places a backend can come from, in the order 'auto' tries them. */
export type BackendSource = 'tfjs-node-gpu' | 'tfjs-node' | 'webgpu' | 'wasm' | 'cpu';
/** What `initBackend` accepts: a source, 'tensorflow' (either tfjs-node package), or 'auto'. */
export type BackendPreference = 'auto' | 'tensorflow' | BackendSource;

export interface InitBackendOptions {
  /** Where the wasm binaries live (browsers only; passed to tfjs' `setWasmPaths`). */
  wasmPaths?: string | Record<string, string>;
  /**
   * Accept a software WebGPU adapter (SwiftShader, lavapipe) in 'auto' mode. Default false: in 'auto' a software
   * adapter is skipped because wasm is faster; an explicit 'webgpu' preference always accepts it.
   */
  allowSoftwareWebGPU?: boolean;
  /**
   * Threads for the wasm backend's matMul and conv kernels (an integer from 1; default: the environment variable
   * DISTILLERY_THREADS, else the machine's cores — `os.availableParallelism()` in Node, `navigator.hardwareConcurrency`
   * in browsers). 1 runs everything on the calling thread. Browsers need a cross-origin-isolated page (COOP/COEP
   * headers), and the pool's waits are only allowed off the main thread; where threads cannot run the backend stays on
   * one thread and the wasm report's `threadsReason` says why. Only meaningful with 'wasm' or 'auto'.
   */
  threads?: number;
}

export interface BackendReport {
  /** Where the backend comes from. */
  source: BackendSource;
  /** The tfjs backend name it registers ('tensorflow' for both tfjs-node packages). */
  backend: 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
  /** true: usable; false: tried and failed (see `reason`); null: not probed yet. */
  available: boolean | null;
  /** Whether it is the active tfjs backend. */
  active: boolean;
  /** Why it is unavailable or was skipped. */
  reason?: string;
  /** Extra facts (the WebGPU adapter, the tfjs-node version). */
  detail?: string;
  /** What to install to get it. */
  install: string;
  /** wasm only, once active: the threads its matMul and conv kernels run on. */
  threads?: number;
  /** wasm only: why fewer threads run than were asked for. */
  threadsReason?: string;
}

const INSTALL: Record<BackendSource, string> = {
  'tfjs-node-gpu':
    'npm i @tensorflow/tfjs-node-gpu@4.22.0 (Linux x64 with CUDA 11.2 + cuDNN 8.1; its install downloads libtensorflow)',
  'tfjs-node': 'npm i @tensorflow/tfjs-node@4.22.0 (its install downloads libtensorflow for your platform)',
  webgpu:
    'a browser with WebGPU; in Node, npm i webgpu (Dawn) and a Vulkan driver (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json for SwiftShader)',
  wasm: 'bundled with @distillery/tensor (@tensorflow/tfjs-backend-wasm)',
  cpu: 'bundled with @distillery/tensor (@tensorflow/tfjs-backend-cpu)',
};

const ORDER: BackendSource[] = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'];

const INIT_OPTIONS: OptionsSpec<InitBackendOptions> = {
  wasmPaths: true,
  allowSoftwareWebGPU: [true, false],
  threads: true,
};

/**
 * Why no hardware GPU can be reached from this Node process, or null when one may be. Linux only (elsewhere the
 * answer is unknown, so null): a GPU shows up as a DRM render node (/dev/dri/renderD*), an NVIDIA device or WSL's
 * /dev/dxg. Without one, Dawn could only find a software adapter, which 'auto' skips anyway; not loading Dawn at all
 * spares the user its native stderr lines (the Vulkan loader's XDG_RUNTIME_DIR and SwiftShader warnings), which a
 * JavaScript caller cannot silence.
 */
async function noGpuDevice(): Promise<string | null> {
  if (!isNode || process.platform !== 'linux') return null;
  try {
    const fs = await importOptional<typeof import('node:fs')>('node:fs');
    const renderNodes = fs.existsSync('/dev/dri')
      ? fs.readdirSync('/dev/dri').filter((f) => f.startsWith('render'))
      : [];
    if (renderNodes.length > 0) return null;
    if (['/dev/nvidiactl', '/dev/nvidia0', '/dev/dxg'].some((f) => fs.existsSync(f))) return null;
    return 'no GPU device here (no /dev/dri render node, no NVIDIA or WSL GPU device)';
  } catch {
    return null;
  }
}

const reports = new Map<BackendSource, BackendReport>(
  ORDER.map((source) => [
    source,
    {
      source,
      backend: source === 'tfjs-node-gpu' || source === 'tfjs-node' ? 'tensorflow' : source,
      available: null,
      active: false,
      install: INSTALL[source],
    },
  ]),
);

function record(source: BackendSource, available: boolean, reason?: string, detail?: string): void {
  const report = reports.get(source) as BackendReport;
  report.available = available;
  report.reason = reason;
  if (detail) report.detail = detail;
}

/** Loads a source's code and checks it can run, without making it the active backend. */
async function probe(source: BackendSource, options: InitBackendOptions, auto: boolean): Promise<boolean> {
  try {
    switch (source) {
      case 'tfjs-node-gpu':
      case 'tfjs-node': {
        if (!isNode) throw new Error('only available in Node');
        const pkg = `@tensorflow/${source}`;
        if (!tf.findBackendFactory('tensorflow') && tf.getKernelsForBackend('tensorflow').length > 0) {
          // The other tfjs-node package loaded its kernels and then failed on its native addon; importing this one
          // too would only re-register every kernel (hundreds of console warnings) and fail the same way.
          throw new Error(`not tried: the other tfjs-node package already failed to load its native addon`);
        }
        let mod: { version?: Record<string, string> };
        try {
          mod = await importOptional(pkg);
        } catch (error) {
          const message = (error as Error).message;
          const missing = /Cannot find (module|package)|ERR_MODULE_NOT_FOUND|Could not resolve/.test(message);
          throw new Error(missing ? `${pkg} is not installed` : `${pkg} failed to load: ${message}`);
        }
        if (!tf.findBackendFactory('tensorflow')) {
          throw new Error(
            `${pkg} loaded but registered no 'tensorflow' backend with @tensorflow/tfjs-core ${tf.version_core}`,
          );
        }
        const version = mod.version?.['tfjs-node'] ?? mod.version?.['tfjs-core'];
        record(source, true, undefined, version ? `${pkg} ${version}` : pkg);
        return true;
      }
      case 'webgpu': {
        const g = globalThis as { navigator?: { gpu?: unknown } };
        if (auto && !options.allowSoftwareWebGPU && !g.navigator?.gpu) {
          const noGpu = await noGpuDevice();
          if (noGpu) {
            record(
              source,
              false,
              `skipped in 'auto': ${noGpu}, so only a software adapter could serve WebGPU, which is slower than wasm (an explicit 'webgpu' preference still tries it)`,
            );
            return false;
          }
        }
        const gpu = await ensureNavigatorGpu();
        const adapter = await describeAdapter(gpu);
        if (!adapter) {
          throw new Error(
            'navigator.gpu found no adapter (no WebGPU-capable driver; in Node without a GPU, set VK_ICD_FILENAMES to a software Vulkan ICD such as /usr/lib/chromium/vk_swiftshader_icd.json before starting)',
          );
        }
        if (adapter.software && auto && !options.allowSoftwareWebGPU) {
          record(
            source,
            false,
            `skipped in 'auto': software adapter (${adapter.label}) is slower than wasm`,
            adapter.label,
          );
          return false;
        }
        // The backend registers itself at import time only if navigator.gpu exists, hence the late import.
        await import('@tensorflow/tfjs-backend-webgpu');
        if (!tf.findBackendFactory('webgpu')) throw new Error('@tensorflow/tfjs-backend-webgpu did not register');
        record(source, true, undefined, adapter.label);
        return true;
      }
      case 'wasm': {
        if (typeof WebAssembly === 'undefined') throw new Error('this runtime has no WebAssembly');
        if (options.wasmPaths) setWasmPaths(options.wasmPaths as string);
        // tfjs-wasm switches to its own pthread build wherever SharedArrayBuffer exists (a cross-origin-isolated page);
        // that build starts its workers from a function's source text, which bundlers' minifiers break ("e is not
        // defined" in every worker), and our matMul and conv kernels run on our own thread pool anyway.
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
        record(source, true);
        return true;
      }
      case 'cpu':
        record(source, true);
        return true;
    }
  } catch (error) {
    record(source, false, (error as Error).message);
    return false;
  }
}

async function activate(source: BackendSource): Promise<boolean> {
  const report = reports.get(source) as BackendReport;
  let ok = false;
  let failure = '';
  if (report.backend === 'cpu') hostBackend();
  try {
    ok = await tf.setBackend(report.backend);
  } catch (error) {
    failure = (error as Error).message;
  }
  // tfjs does not fall back by itself once setBackend fails; the caller moves on to the next source.
  if (!ok || tf.getBackend() !== report.backend) {
    record(source, false, `tf.setBackend('${report.backend}') failed${failure ? `: ${failure}` : ''}`);
    return false;
  }
  registerKernels([report.backend]);
  for (const r of reports.values()) r.active = r === report;
  return true;
}

/** Starts (or resizes) the wasm kernels' thread pool and notes the outcome in the wasm report. */
async function startThreads(threads: number | undefined): Promise<void> {
  const state = await configureThreads(threads);
  const report = reports.get('wasm') as BackendReport;
  report.threads = state.threads;
  if (state.reason) report.threadsReason = state.reason;
  else delete report.threadsReason;
  if (state.threads < state.requested) {
    report.detail = `${state.threads} thread (${state.requested} requested: ${state.reason})`;
  } else report.detail = `${state.threads} thread${state.threads > 1 ? 's' : ''}`;
  if (relaxedSimdAvailable()) report.detail += ', fused multiply-add (relaxed SIMD)';
}

/**
 * Activates a tfjs backend and resolves to its tfjs name ('tensorflow', 'webgpu', 'wasm' or 'cpu').
 *
 * 'auto' tries @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node, WebGPU (navigator.gpu in browsers, the `webgpu`
 * package in Node; software adapters skipped), wasm, then cpu; each one that fails is skipped and
 * `describeBackends()` says why. An explicit preference that cannot be met throws a BACKEND_UNAVAILABLE
 * DistilleryError that says what to install. Registers Distillery's kernels (`registerKernels`: the kernel gaps of
 * the chosen backend, cpu and wasm, and the fused kernels); importing the package registers none.
 */
export async function initBackend(
  preference: BackendPreference = 'auto',
  options: InitBackendOptions = {},
): Promise<string> {
  checkOptions<InitBackendOptions>(options, INIT_OPTIONS);
  const auto = preference === 'auto';
  if (options.threads !== undefined) {
    checkNumber(options.threads, 'options.threads', { min: 1, max: MAX_THREADS, integer: true });
    if (preference !== 'auto' && preference !== 'wasm') {
      throw invalid(
        'INVALID_ARGUMENT',
        'options.threads',
        `no thread count with the '${preference}' backend (threads apply to 'wasm' and 'auto')`,
        String(options.threads),
      );
    }
  }
  let candidates: BackendSource[];
  if (auto) candidates = ORDER;
  else if (preference === 'tensorflow') candidates = ['tfjs-node-gpu', 'tfjs-node'];
  else if (ORDER.includes(preference)) candidates = [preference];
  else {
    throw new DistilleryError(
      'INVALID_ARGUMENT',
      `preference: expected one of 'auto', 'tensorflow', ${ORDER.map((s) => `'${s}'`).join(', ')}, got ${JSON.stringify(preference)}`,
      { argument: 'preference', expected: `'auto' | 'tensorflow' | ${ORDER.join(' | ')}`, actual: String(preference) },
    );
  }
  for (const source of candidates) {
    if ((await probe(source, options, auto)) && (await activate(source))) {
      if (source === 'wasm') await startThreads(options.threads);
      return tf.getBackend();
    }
  }
  const tried = candidates.map((s) => `${s}: ${reports.get(s)?.reason ?? 'unavailable'}`).join('; ');
  const install = candidates.map((s) => INSTALL[s]).join(' or ');
  throw new DistilleryError(
    'BACKEND_UNAVAILABLE',
    `initBackend('${preference}'): no backend could be activated (${tried}). To use it: ${install}.`,
    { argument: 'preference', expected: `a usable ${preference} backend`, actual: tried },
  );
}

/**
 * What each backend source is doing here: available, active, or why not, and what to install. Sources not yet
 * tried are probed (loaded and checked, not activated), so the answer is complete.
 */
export async function describeBackends(options: InitBackendOptions = {}): Promise<BackendReport[]> {
  checkOptions<InitBackendOptions>(options, INIT_OPTIONS);
  for (const source of ORDER) {
    const report = reports.get(source) as BackendReport;
    if (report.available === null) await probe(source, { ...options, allowSoftwareWebGPU: true }, false);
    report.active = report.available === true && tf.getBackend() === report.backend && isActiveSource(source);
  }
  return ORDER.map((source) => ({ ...(reports.get(source) as BackendReport) }));
}

function isActiveSource(source: BackendSource): boolean {
  const report = reports.get(source) as BackendReport;
  if (report.backend !== 'tensorflow') return true;
  // Both tfjs-node packages register 'tensorflow'; the first available one in ORDER is the one in use.
  return ORDER.find((s) => reports.get(s)?.backend === 'tensorflow' && reports.get(s)?.available) === source;
}
