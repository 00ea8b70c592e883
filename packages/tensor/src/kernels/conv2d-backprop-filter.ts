import * as tf from '@tensorflow/tfjs-core';
import { registerCpuFallback } from './cpu-fallback';
import { callKernel, type DataBackend, type Info, type KernelArgs } from './kernel-types';

/**
 * Conv2DBackpropFilter for backends that lack it (wasm), composed from the backend's own kernels so the work stays
 * in its fast matmul: pad x, gather the kh·kw strided windows into an im2col matrix [B·oh·ow, kh·kw·cin], and
 * multiply by dy [B·oh·ow, cout]:
 *
 *     dW[kh, kw, ci, co] = Σ_{b, i, j} x_pad[b, i·sh + kh, j·sw + kw, ci] · dy[b, i, j, co]
 *
 * NCHW inputs (rare in tfjs) use the exact CPU fallback instead.
 */
export function registerComposedConv2DBackpropFilter(backendName: string): boolean {
  if (tf.getKernel('Conv2DBackpropFilter', backendName)) return false;
  const hostFallback = () => tf.getKernel('Conv2DBackpropFilter', `${backendName}::host`);
  // The exact host path, kept under a private name for the NCHW case.
  registerCpuFallback('Conv2DBackpropFilter', `${backendName}::host`);
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName,
    kernelFunc: ((args: KernelArgs) => {
      const attrs = args.attrs as {
        strides: [number, number] | number;
        pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
        dataFormat: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        filterShape: [number, number, number, number];
      };
      if (attrs.dataFormat === 'NCHW') {
        return hostFallback()?.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]);
      }
      const x = args.inputs.x as Info;
      const dy = args.inputs.dy as Info;
      const backend = args.backend as DataBackend;
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        attrs.filterShape,
        attrs.strides,
        1,
        attrs.pad,
        attrs.dimRoundingMode,
        false,
        'channelsLast',
      );
      const { top, bottom, left, right } = info.padInfo;
      const [batch, , , inChannels] = x.shape as [number, number, number, number];
      const { outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth, outChannels } = info;
      const run = (name: string, inputs: KernelArgs['inputs'], kernelAttrs: Record<string, unknown>) =>
        callKernel(name, backendName, { inputs, backend, attrs: kernelAttrs });
      const temporaries: Info[] = [];
      const keep = (t: Info) => {
        temporaries.push(t);
        return t;
      };

      const padded =
        top || bottom || left || right
          ? keep(
              run(
                'PadV2',
                { x },
                {
                  paddings: [
                    [0, 0],
                    [top, bottom],
                    [left, right],
                    [0, 0],
                  ],
                  constantValue: 0,
                },
              ),
            )
          : x;
      const windows: Info[] = [];
      for (let kh = 0; kh < filterHeight; kh++) {
        for (let kw = 0; kw < filterWidth; kw++) {
          windows.push(
            keep(
              run(
                'StridedSlice',
                { x: padded },
                {
                  begin: [0, kh, kw, 0],
                  end: [
                    batch,
                    kh + (outHeight - 1) * strideHeight + 1,
                    kw + (outWidth - 1) * strideWidth + 1,
                    inChannels,
                  ],
                  strides: [1, strideHeight, strideWidth, 1],
                  beginMask: 0,
                  endMask: 0,
                  ellipsisMask: 0,
                  newAxisMask: 0,
                  shrinkAxisMask: 0,
                },
              ),
            ),
          );
        }
      }
      const rows = batch * outHeight * outWidth;
      const columns =
        windows.length === 1
          ? (windows[0] as Info)
          : keep(
              callKernel('Concat', backendName, {
                inputs: windows as unknown as KernelArgs['inputs'],
                backend,
                attrs: { axis: 3 },
              }),
            );
      const lhs = keep(run('Reshape', { x: columns }, { shape: [1, rows, filterHeight * filterWidth * inChannels] }));
      const rhs = keep(run('Reshape', { x: dy }, { shape: [1, rows, outChannels] }));
      const product = keep(run('BatchMatMul', { a: lhs, b: rhs }, { transposeA: true, transposeB: false }));
      const result = run('Reshape', { x: product }, { shape: [filterHeight, filterWidth, inChannels, outChannels] });
      for (const t of temporaries) backend.disposeData(t.dataId);
      return result;
    }) as unknown as tf.KernelFunc,
  });
  return true;
}
