import * as L from '@distillery/losses';
import { assertNoTensorLeak, createRng, oneHotFloat, randomNormal, tf } from '@distillery/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { FUSED_KERNELS, fusedLossesActive, setFusedLosses } from '../src/internal/fused/kernels';
import { expectGradClose, expectValueClose } from './helpers';

// The fused softmax-loss kernels (src/internal/fused) on the active backend (cpu or wasm) against the composed tfjs
// ops they replace, run on cpu: values at 1e-5 relative, gradients at 1e-4, over shapes (C = 1 where the loss allows
// it), temperatures, weights, label kinds and reductions; plus no tensor growth, the teacher kept off the tape, NaN
// carried, and the kernels registered only on first use. (The composed ops on wasm are themselves up to ~1.2e-5 off a
// float64 evaluation on [16, 1000] KD and DKD, where the fused kernels and cpu agree with it to ~1e-8; so cpu's
// composed ops are the reference.)

const backend = () => tf.getBackend();
const FUSED_NAMES = Object.keys(FUSED_KERNELS);

afterEach(() => setFusedLosses(true));

/** A deterministic [n, c] logit matrix. */
function logits(n: number, c: number, seed: number, scale = 2): tf.Tensor2D {
  return tf.tidy(() => tf.mul(randomNormal([n, c], createRng(seed)), scale)) as tf.Tensor2D;
}
function labels(n: number, c: number, seed: number): tf.Tensor1D {
  const rng = createRng(seed);
  return tf.tensor1d(
    Array.from({ length: n }, () => rng.int(c)),
    'int32',
  );
}
function softTargets(n: number, c: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => tf.softmax(logits(n, c, seed))) as tf.Tensor2D;
}

/** Value and gradients of `fn` with respect to `xs` (as variables), on the fused or the composed path. */
function run(fn: (...xs: tf.Tensor[]) => tf.Scalar, xs: tf.Tensor[], fused: boolean) {
  setFusedLosses(fused);
  try {
    const vars = xs.map((x, i) => tf.variable(x, true, `fused_test_${i}_${Math.random().toString(36).slice(2)}`));
    const { value, grads } = tf.variableGrads(() => fn(...vars), vars);
    const out = {
      value: value.dataSync()[0] as number,
      grads: vars.map((v) => Array.from(grads[v.name]?.dataSync() ?? [])),
    };
    tf.dispose([value, ...Object.values(grads), ...vars]);
    return out;
  } finally {
    setFusedLosses(true);
  }
}

/** Which fused kernels the call dispatches (tf.profile lists every kernel run). */
async function kernelsOf(fn: () => tf.Tensor): Promise<string[]> {
  const info = await tf.profile(() => fn());
  return info.kernels.map((k) => k.name);
}

interface Case {
  name: string;
  kernel: string;
  fn: (...xs: tf.Tensor[]) => tf.Scalar;
  xs: () => tf.Tensor[];
}

// Inputs that are not differentiated are made once, on first use (the backend is ready by then), and kept.
const made: tf.Tensor[] = [];
function lazy<T extends tf.Tensor>(make: () => T): () => T {
  let t: T | undefined;
  return () => {
    if (t === undefined) {
      t = tf.keep(make());
      made.push(t);
    }
    return t;
  };
}

const cases: Case[] = [];
for (const [n, c] of [
  [1, 1],
  [3, 1],
  [5, 7],
  [16, 1000],
] as [number, number][]) {
  const y = lazy(() => labels(n, c, 7));
  const soft = lazy(() => softTargets(n, c, 4));
  const teacher = lazy(() => logits(n, c, 6, 3));
  const softLabels = lazy(() => softTargets(n, c, 14));
  // a zero weight on class 1 (not 0: with C = 1 all weights would be zero, where the composed reference's gradient
  // is 0/0 = NaN)
  const w = Array.from({ length: c }, (_, i) => (i % 3 === 1 ? 0 : 0.5 + i / c));
  cases.push(
    {
      name: `crossEntropy [${n}, ${c}]`,
      kernel: 'DistilleryCrossEntropy',
      fn: (z) => L.crossEntropy(z as tf.Tensor2D, y()),
      xs: () => [logits(n, c, 1)],
    },
    {
      name: `crossEntropy smoothing 0.1 + weights [${n}, ${c}]`,
      kernel: 'DistilleryCrossEntropy',
      fn: (z) => L.crossEntropy(z as tf.Tensor2D, y(), { labelSmoothing: 0.1, classWeights: w }),
      xs: () => [logits(n, c, 2)],
    },
    {
      name: `crossEntropy smoothing 0.3 [${n}, ${c}]`,
      kernel: 'DistilleryCrossEntropy',
      fn: (z) => L.crossEntropy(z as tf.Tensor2D, y(), { labelSmoothing: 0.3 }),
      xs: () => [logits(n, c, 3)],
    },
    {
      name: `softTargetCrossEntropy [${n}, ${c}]`,
      kernel: 'DistillerySoftTargetCrossEntropy',
      fn: (z) => L.softTargetCrossEntropy(z as tf.Tensor2D, soft()),
      xs: () => [logits(n, c, 5)],
    },
  );
  for (const temperature of [1, 4]) {
    cases.push({
      name: `kdLoss T=${temperature} [${n}, ${c}]`,
      kernel: 'DistilleryKdLoss',
      fn: (z) => L.kdLoss(z as tf.Tensor2D, teacher(), { temperature }),
      xs: () => [logits(n, c, 8)],
    });
  }
  if (c < 2) continue;
  for (const temperature of [1, 4]) {
    cases.push(
      {
        name: `dkdLoss T=${temperature} α=0.5 β=2 [${n}, ${c}]`,
        kernel: 'DistilleryDkdLoss',
        fn: (z) => L.dkdLoss(z as tf.Tensor2D, teacher(), y(), { temperature, alpha: 0.5, beta: 2 }),
        xs: () => [logits(n, c, 10)],
      },
      {
        name: `nkdLoss T=${temperature} γ=2 [${n}, ${c}]`,
        kernel: 'DistilleryNkdLoss',
        fn: (z) => L.nkdLoss(z as tf.Tensor2D, teacher(), y(), { temperature, gamma: 2 }),
        xs: () => [logits(n, c, 12)],
      },
    );
  }
  cases.push({
    name: `nkdLoss soft targets [${n}, ${c}]`,
    kernel: 'DistilleryNkdLoss',
    fn: (z) => L.nkdLoss(z as tf.Tensor2D, teacher(), softLabels()),
    xs: () => [logits(n, c, 15)],
  });
}

// C = 2 and targets at p ≈ 1 (DKD/NKD take their second, masked pass over the row there): a target logit 30 above
// the rest leaves 1 − p_y ~ 1e-12 (S − e_y would have lost most digits), 60 above leaves it 0 in float64.
for (const c of [2, 10]) {
  for (const offset of [30, 60]) {
    const n = 4;
    const y = lazy(() => labels(n, c, 21));
    const peaked = (seed: number) =>
      tf.tidy(() => tf.add(logits(n, c, seed, 0.5), tf.mul(oneHotFloat(y(), c), offset))) as tf.Tensor2D;
    const teacher = lazy(() => peaked(23));
    cases.push(
      {
        name: `dkdLoss target +${offset} [${n}, ${c}]`,
        kernel: 'DistilleryDkdLoss',
        fn: (z) => L.dkdLoss(z as tf.Tensor2D, teacher(), y(), { temperature: 1 }),
        xs: () => [peaked(22)],
      },
      {
        name: `nkdLoss target +${offset} [${n}, ${c}]`,
        kernel: 'DistilleryNkdLoss',
        fn: (z) => L.nkdLoss(z as tf.Tensor2D, teacher(), y()),
        xs: () => [peaked(24)],
      },
    );
  }
}

// DeiT-LT: every type, int and soft labels, class weights, α at its ends.
{
  const [n, c] = [6, 9];
  const y = lazy(() => labels(n, c, 31));
  const soft = lazy(() => softTargets(n, c, 32));
  const teacher = lazy(() => logits(n, c, 33, 3));
  const w = Array.from({ length: c }, (_, i) => 0.2 + i / c);
  for (const type of ['hard', 'soft', 'none'] as const) {
    for (const [labelName, lab] of [
      ['int', y],
      ['soft', soft],
    ] as const) {
      for (const [alpha, weights, temperature] of [
        [0.5, undefined, 1],
        [0.3, w, 2],
        [0, w, 1],
        [1, undefined, 3],
      ] as const) {
        cases.push({
          name: `deitLtDistillationLoss ${type} ${labelName} α=${alpha}${weights ? ' weights' : ''} T=${temperature}`,
          kernel:
            type === 'soft'
              ? 'DistilleryKdLoss'
              : type === 'none' && labelName === 'soft'
                ? 'DistillerySoftTargetCrossEntropy'
                : 'DistilleryCrossEntropy',
          fn: (a, b) =>
            L.deitLtDistillationLoss(a as tf.Tensor2D, b as tf.Tensor2D, teacher(), lab(), {
              type,
              alpha,
              classWeights: weights,
              temperature,
            }),
          xs: () => [logits(n, c, 34), logits(n, c, 35)],
        });
      }
    }
  }
  cases.push({
    name: 'deitLtDistillationLoss none, teacher null',
    kernel: 'DistilleryCrossEntropy',
    fn: (a, b) => L.deitLtDistillationLoss(a as tf.Tensor2D, b as tf.Tensor2D, null, y(), { type: 'none' }),
    xs: () => [logits(n, c, 36), logits(n, c, 37)],
  });
}

// MDCS: one and three experts, 2 and 8 rows, the CIS mask full, partial or empty.
for (const [rows, c, experts] of [
  [2, 1, 1],
  [2, 5, 3],
  [8, 6, 3],
  [8, 40, 1],
] as [number, number, number][]) {
  const y = lazy(() =>
    tf.tidy(() => {
      const half = labels(rows / 2, c, 41);
      return tf.concat([half, half]) as tf.Tensor1D;
    }),
  );
  const counts = Array.from({ length: c }, (_, i) => Math.max(1, 100 - 3 * i));
  const lambdas = [-0.5, 1, 2.5].slice(0, experts);
  cases.push({
    name: `mdcsLoss ${experts} expert(s) [${rows}, ${c}]`,
    kernel: 'DistilleryMdcsExpertLoss',
    fn: (...zs) => L.mdcsLoss(zs as tf.Tensor2D[], y(), counts, { epoch: 7, lambdas }),
    xs: () => Array.from({ length: experts }, (_, k) => logits(rows, c, 42 + k)),
  });
}
{
  // The weak view's argmax equal to the label on every row (full mask) and on none (empty mask).
  const c = 6;
  const y = lazy(() => tf.tensor1d([1, 4, 2, 1, 4, 2], 'int32'));
  const aligned = () => tf.tidy(() => tf.add(logits(6, c, 51, 0.3), tf.mul(oneHotFloat(y(), c), 5))) as tf.Tensor2D;
  const against = () => tf.tidy(() => tf.sub(logits(6, c, 52, 0.3), tf.mul(oneHotFloat(y(), c), 5))) as tf.Tensor2D;
  for (const [name, make] of [
    ['full', aligned],
    ['empty', against],
  ] as const) {
    cases.push({
      name: `mdcsLoss mask ${name}`,
      kernel: 'DistilleryMdcsExpertLoss',
      fn: (z) => L.mdcsLoss([z as tf.Tensor2D], y(), [50, 30, 20, 10, 5, 1], { epoch: 30, lambdas: [1] }),
      xs: () => [make()],
    });
  }
}

// USKD: hard and soft (top-2) labels, the reference's weights and others, C from 3 to 1000.
for (const [n, c] of [
  [1, 3],
  [5, 7],
  [16, 1000],
] as [number, number][]) {
  const y = lazy(() => labels(n, c, 61));
  const soft = lazy(() => softTargets(n, c, 62));
  for (const [labelName, lab] of [
    ['int', y],
    ['soft', soft],
  ] as const) {
    for (const options of [{}, { alpha: 0.1, beta: 2, mu: 0.1 }]) {
      cases.push({
        name: `uskdLoss ${labelName} ${JSON.stringify(options)} [${n}, ${c}]`,
        kernel: 'DistilleryUskdStudentLoss',
        fn: (a, b) => L.uskdLoss(a as tf.Tensor2D, b as tf.Tensor2D, lab(), options),
        xs: () => [logits(n, c, 63), logits(n, c, 64)],
      });
    }
  }
}
{
  // A target at p ≈ 1 (the non-target softmax takes its second, masked pass), and ties in the ranking score.
  const c = 6;
  const y = lazy(() => tf.tensor1d([0, 3, 5, 2], 'int32'));
  cases.push(
    {
      name: 'uskdLoss target +60',
      kernel: 'DistilleryUskdStudentLoss',
      fn: (a, b) => L.uskdLoss(a as tf.Tensor2D, b as tf.Tensor2D, y()),
      xs: () => [tf.tidy(() => tf.add(logits(4, c, 65, 0.5), tf.mul(oneHotFloat(y(), c), 60))), logits(4, c, 66)],
    },
    {
      name: 'uskdLoss tied scores',
      kernel: 'DistilleryUskdStudentLoss',
      fn: (a, b) => L.uskdLoss(a as tf.Tensor2D, b as tf.Tensor2D, y()),
      xs: () => [tf.zeros([4, c]), tf.zeros([4, c])],
    },
  );
}

// CLKD's logit terms (one fused kernel; the correlation term stays on matMuls): shapes with N or C = 1, a zero row and
// column (F.normalize's clamped branch), magnitudes from 1e-20 to 1e20, weights at their ends.
for (const [n, c] of [
  [1, 2],
  [3, 1],
  [5, 7],
  [64, 1000],
] as [number, number][]) {
  const teacher = lazy(() => logits(n, c, 71, 3));
  for (const options of [{}, { instanceWeight: 2, classWeight: 0, correlationWeight: 0 }, { correlation: 'sample' }]) {
    if (c < 2) continue; // clkdLoss needs C >= 2 (its correlation term)
    cases.push({
      name: `clkdLoss ${JSON.stringify(options)} [${n}, ${c}]`,
      kernel: 'DistilleryClkdLogitLoss',
      fn: (z) => L.clkdLoss(z as tf.Tensor2D, teacher(), options as L.ClkdLossOptions),
      xs: () => [logits(n, c, 72)],
    });
  }
  for (const [name, fn] of [
    ['instanceLogitLoss', L.instanceLogitLoss],
    ['classLogitLoss', L.classLogitLoss],
  ] as const) {
    cases.push({
      name: `${name} [${n}, ${c}]`,
      kernel: 'DistilleryClkdLogitLoss',
      fn: (z) => fn(z as tf.Tensor2D, teacher()),
      xs: () => [logits(n, c, 73)],
    });
  }
}
for (const magnitude of [1e-20, 1e20]) {
  const [n, c] = [4, 5];
  const teacher = lazy(() => tf.tidy(() => tf.mul(logits(n, c, 74), magnitude)) as tf.Tensor2D);
  cases.push({
    name: `instanceLogitLoss + classLogitLoss at |z| ~ ${magnitude}, a zero row and column`,
    kernel: 'DistilleryClkdLogitLoss',
    fn: (z) => tf.add(L.instanceLogitLoss(z as tf.Tensor2D, teacher()), L.classLogitLoss(z as tf.Tensor2D, teacher())),
    xs: () => [
      tf.tidy(() => {
        const mask = tf.tensor2d(
          Array.from({ length: n * c }, (_, i) => (Math.floor(i / c) === 1 || i % c === 3 ? 0 : 1)),
          [n, c],
        );
        return tf.mul(tf.mul(logits(n, c, 75), magnitude), mask);
      }),
    ],
  });
}

describe(`fused softmax losses vs the composed ops (${process.env.DISTILLERY_TEST_BACKEND ?? 'cpu'})`, () => {
  it('registers nothing at import; the kernels appear on first use, for the active backend only', () => {
    for (const name of FUSED_NAMES) {
      expect(tf.getKernel(name, backend()), name).toBeUndefined();
      expect(tf.getKernel(`${name}Grad`, backend()), name).toBeUndefined();
    }
    expect(fusedLossesActive()).toBe(true);
    const z = logits(2, 3, 1);
    const y = labels(2, 3, 2);
    tf.dispose([L.crossEntropy(z, y), z, y]);
    for (const name of FUSED_NAMES) expect(tf.getKernel(name, backend()), name).toBeDefined();
    const other = backend() === 'cpu' ? 'wasm' : 'cpu';
    for (const name of FUSED_NAMES) expect(tf.getKernel(name, other), `${name} on ${other}`).toBeUndefined();
  });

  for (const c of cases) {
    it(c.name, async () => {
      const xs = c.xs();
      try {
        const kernels = await kernelsOf(() => c.fn(...xs));
        expect(kernels, 'takes the fused kernel').toContain(c.kernel);
        const fused = run(c.fn, xs, true);
        const active = backend();
        await tf.setBackend('cpu');
        let composed: ReturnType<typeof run>;
        try {
          composed = run(c.fn, xs, false);
        } finally {
          await tf.setBackend(active);
        }
        expectValueClose(fused.value, composed.value, `${c.name} value`);
        fused.grads.forEach((g, i) => {
          expectGradClose(g, composed.grads[i] as number[], `${c.name} d/dx${i}`);
        });
      } finally {
        tf.dispose(xs);
      }
    });
  }

  it('the composed path is really another path (DISTILLERY_FUSED_LOSSES=off)', async () => {
    const z = logits(4, 5, 1);
    const t = logits(4, 5, 2);
    process.env.DISTILLERY_FUSED_LOSSES = 'off';
    try {
      expect(fusedLossesActive()).toBe(false);
      const kernels = await kernelsOf(() => L.kdLoss(z, t));
      expect(kernels.some((k) => FUSED_NAMES.includes(k))).toBe(false);
      expect(kernels).toContain('Exp');
    } finally {
      delete process.env.DISTILLERY_FUSED_LOSSES;
      tf.dispose([z, t]);
    }
  });

  it('keeps the teacher off the tape (no gradient, as with the composed ops)', () => {
    const [n, c] = [4, 6];
    const y = labels(n, c, 3);
    const s = tf.variable(logits(n, c, 1));
    const t = tf.variable(logits(n, c, 2));
    const losses: Array<() => tf.Scalar> = [
      () => L.kdLoss(s, t),
      () => L.dkdLoss(s, t, y),
      () => L.nkdLoss(s, t, y),
      () => L.deitLtDistillationLoss(s, s, t, y),
      () => L.deitLtDistillationLoss(s, s, t, y, { type: 'soft' }),
      () => L.clkdLoss(s, t),
      () => L.instanceLogitLoss(s, t),
    ];
    for (const fn of losses) {
      for (const fused of [true, false]) {
        setFusedLosses(fused);
        const { value, grads } = tf.variableGrads(fn, [s, t]);
        expect(grads[s.name], 'student gradient').toBeDefined();
        expect(grads[t.name], `teacher gradient (fused ${fused})`).toBeUndefined();
        tf.dispose([value, ...Object.values(grads)]);
      }
    }
    setFusedLosses(true);
    tf.dispose([s, t, y]);
  });

  it('carries NaN and ±Infinity into the loss as the composed ops do', () => {
    const y = tf.tensor1d([0, 2], 'int32');
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const z = tf.tensor2d([1, bad, 0.5, 0.2, 0.1, 3], [2, 3]);
      const t = tf.tensor2d([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3]);
      for (const fn of [() => L.crossEntropy(z, y), () => L.kdLoss(z, t), () => L.dkdLoss(z, t, y)]) {
        const values = [true, false].map((fused) => {
          setFusedLosses(fused);
          const v = fn();
          const out = v.dataSync()[0] as number;
          v.dispose();
          return out;
        });
        setFusedLosses(true);
        expect(Number.isNaN(values[0]), `fused ${values[0]} composed ${values[1]}`).toBe(Number.isNaN(values[1]));
      }
      tf.dispose([z, t]);
    }
    y.dispose();
  });

  it('evaluation outside a tape returns the loss only (no gradient computed or kept)', async () => {
    const z = logits(3, 4, 1);
    const t = logits(3, 4, 2);
    const before = tf.memory().numTensors;
    const v = L.kdLoss(z, t);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(v.shape).toEqual([]);
    tf.dispose([v, z, t]);
  });

  it('adds no tensors over repeated forward + backward passes', async () => {
    const [n, c] = [8, 12];
    const y = labels(n, c, 1);
    const half = tf.slice(y, [0], [n / 2]);
    const y2 = tf.concat([half, half]) as tf.Tensor1D;
    const t = logits(n, c, 2);
    const s = tf.variable(logits(n, c, 3));
    const w = tf.variable(logits(n, c, 4));
    const q = tf.softmax(t) as tf.Tensor2D;
    const fns: Array<() => tf.Scalar> = [
      () => L.crossEntropy(s, y, { labelSmoothing: 0.1 }),
      () => L.kdLoss(s, t),
      () => L.dkdLoss(s, t, y),
      () => L.nkdLoss(s, t, y),
      () => L.deitLtDistillationLoss(s, w, t, y, { classWeights: Array(c).fill(1) }),
      () => L.deitLtDistillationLoss(s, w, t, y, { type: 'soft' }),
      () => L.mdcsLoss([s, w], y2, Array(c).fill(10), { epoch: 3, lambdas: [1, 2] }),
      () => L.softTargetCrossEntropy(s, q),
      () => L.uskdLoss(s, w, y),
      () => L.uskdLoss(s, w, q),
      () => L.clkdLoss(s, t),
    ];
    const optimizer = tf.train.sgd(0.01);
    for (const fn of fns) {
      await assertNoTensorLeak(() => {
        optimizer.minimize(fn, false, [s, w]);
      }, 5);
      await assertNoTensorLeak(() => tf.dispose(fn()), 5);
    }
    optimizer.dispose();
    tf.dispose([y, half, y2, t, s, w, q]);
  });
});

afterEach(() => {
  // tensors made while building the cases stay alive for the whole file
  expect(made.every((t) => !t.isDisposed)).toBe(true);
});
