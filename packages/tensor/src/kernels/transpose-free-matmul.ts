import { callKernel, type DataBackend, type Info, replaceKernel } from './kernel-types';

const wrapped = new Set<string>();

/**
 * tfjs-wasm's BatchMatMul and _FusedMatMul reach XNNPACK's fast path only without transposes: with transposeA or
 * transposeB they are 10–30× slower (measured: 512×512 takes 9 ms plain, 118 ms with transposeB, 264 ms with
 * transposeA). Every matMul gradient uses a transpose, so training would crawl. This wraps the kernels to
 * materialise the transposed operand with the (fast) Transpose kernel first; results are identical.
 */
export function registerTransposeFreeMatMul(backendName: string): string[] {
  const added: string[] = [];
  for (const kernelName of ['BatchMatMul', '_FusedMatMul']) {
    const key = `${backendName}/${kernelName}`;
    if (wrapped.has(key)) continue;
    const done = replaceKernel(kernelName, backendName, (original) => (args) => {
      const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
      if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args as never);
      const backend = args.backend as DataBackend;
      const temporaries: Info[] = [];
      const transposed = (x: Info) => {
        const rank = x.shape.length;
        const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
        const t = callKernel('Transpose', backendName, { inputs: { x }, backend, attrs: { perm } });
        temporaries.push(t);
        return t;
      };
      const inputs = { ...args.inputs };
      if (attrs.transposeA) inputs.a = transposed(args.inputs.a as Info);
      if (attrs.transposeB) inputs.b = transposed(args.inputs.b as Info);
      const out = original.kernelFunc({
        ...args,
        inputs,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      } as never);
      for (const t of temporaries) backend.disposeData(t.dataId);
      return out;
    });
    if (!done) continue;
    wrapped.add(key);
    added.push(kernelName);
  }
  return added;
}
