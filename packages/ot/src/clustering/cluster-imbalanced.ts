import { assertFinite, assertRank, checkNumber, createRng, describeValue, invalid, tf } from '@distillery/tensor';
import { knnGaussianSimilarity, type SparseSimilarity, similaritySubset } from '../p2ot/knn-similarity';
import { LogitsMemory } from '../p2ot/logits-memory';
import { p2ot } from '../p2ot/p2ot';
import type { P2otState } from '../p2ot/p2ot-core';
import { rhoSchedule } from '../p2ot/rho-schedule';
import { sp2ot } from '../p2ot/sp2ot';
import { swappedPredictionLoss } from '../p2ot/swapped-prediction-loss';

export interface ClusterImbalancedOptions {
  /** Number of clusters K. Required. */
  numClusters: number;
  /** Pseudo-label solver: 'p2ot' (default), 'sp2ot', or 'sinkhorn' (balanced OT: ρ = 1, hard uniform marginals). */
  solver?: 'p2ot' | 'sp2ot' | 'sinkhorn';
  /** 'cosine' (default; PPOT's Cos_classifier: scale·norm(x)·norm(w)ᵀ) or 'linear' (x·wᵀ + b). */
  head?: 'cosine' | 'linear';
  /** Logit scale of the cosine head, default 10. */
  scale?: number;
  /** Epochs over the features, default 30. */
  epochs?: number;
  /** Batch size, default 256 (capped at N). */
  batchSize?: number;
  /** Adam learning rate, default 0.01. */
  learningRate?: number;
  /** Logits-bank rows; a multiple of the batch size, default the largest multiple ≤ min(N, 10·batch). */
  bankSize?: number;
  /** ρ schedule (see rhoSchedule): base 0.1, upper 1, 'sigmoid'. */
  rhoBase?: number;
  rhoUpper?: number;
  rhoKind?: 'sigmoid' | 'linear';
  /** P²OT ε, default 0.1, and γ (KL weight), default 1. */
  epsilon?: number;
  gamma?: number;
  /** Std of the Gaussian noise added to the features for each of the two views (0: one view), default 0. */
  noise?: number;
  /** SP²OT: sample similarity over all N (default: knnGaussianSimilarity(features, { k: knn, sigma })). */
  similarity?: SparseSimilarity;
  knn?: number;
  sigma?: number;
  /** SP²OT outer iterations, default 100. */
  mmIter?: number;
  /** Seed for the head init, shuffling and noise, default 0. */
  seed?: number;
  /** Called after each epoch with its mean loss and last ρ (progress display, live curves). */
  onEpochEnd?: (record: { epoch: number; loss: number; rho: number }) => void;
}

export interface ClusterImbalancedResult {
  /** argmax of the trained head over all N features. */
  assignments: Int32Array;
  /** Head weights [K, D] (caller disposes). */
  prototypes: tf.Tensor2D;
  /** Loss per step. */
  losses: number[];
  /** ρ per step. */
  rhos: number[];
}

/**
 * Imbalanced clustering of fixed features with OT pseudo-labels, the P²OT training loop (rhfeiyang/PPOT) with a
 * frozen backbone: a cosine (or linear) head is trained by Adam on the swapped-prediction loss, its targets solved
 * on a logits memory bank each step by P²OT (progressive ρ), SP²OT (semantic regularisation with a kNN Gaussian
 * similarity), or balanced Sinkhorn (the SeLa/SwAV baseline). Returns the head's argmax assignments.
 *
 *     per step t:  ρ = rhoSchedule(t, T);  z = head(x_batch) → bank;  Q = solver(bank)[batch rows]
 *                  L = CE_soft(head(view₁), Q₂) + CE_soft(head(view₂), Q₁);  Adam step on the head
 */
export function clusterImbalanced(features: tf.Tensor, options: ClusterImbalancedOptions): ClusterImbalancedResult {
  if (options === null || typeof options !== 'object') {
    throw invalid('INVALID_ARGUMENT', 'options', 'an options object with numClusters', describeValue(options));
  }
  const x = assertRank(features, 2, 'features') as tf.Tensor2D;
  assertFinite(x, 'features');
  const [n, d] = x.shape;
  const k = checkNumber(options.numClusters, 'options.numClusters', { min: 2, integer: true });
  if (n < k) throw invalid('EMPTY_INPUT', 'features', `at least numClusters = ${k} rows`, `${n} rows`);
  const solver = options.solver ?? 'p2ot';
  if (solver !== 'p2ot' && solver !== 'sp2ot' && solver !== 'sinkhorn') {
    throw invalid('INVALID_ARGUMENT', 'options.solver', "'p2ot', 'sp2ot' or 'sinkhorn'", describeValue(solver));
  }
  const head = options.head ?? 'cosine';
  if (head !== 'cosine' && head !== 'linear') {
    throw invalid('INVALID_ARGUMENT', 'options.head', "'cosine' or 'linear'", describeValue(head));
  }
  const num = (v: unknown, fallback: number, arg: string, range: Parameters<typeof checkNumber>[2] = {}) =>
    v === undefined ? fallback : checkNumber(v, arg, range);
  const scale = num(options.scale, 10, 'options.scale', { min: 0, minExclusive: true });
  const epochs = num(options.epochs, 30, 'options.epochs', { min: 1, integer: true });
  const batch = Math.min(n, num(options.batchSize, 256, 'options.batchSize', { min: 1, integer: true }));
  const lr = num(options.learningRate, 0.01, 'options.learningRate', { min: 0, minExclusive: true });
  const bankSize = num(options.bankSize, Math.floor(Math.min(n, 10 * batch) / batch) * batch, 'options.bankSize', {
    min: batch,
    max: n,
    integer: true,
  });
  if (bankSize % batch !== 0) {
    throw invalid('INVALID_ARGUMENT', 'options.bankSize', `a multiple of the batch size ${batch}`, String(bankSize));
  }
  const noise = num(options.noise, 0, 'options.noise', { min: 0 });
  const epsilon = num(options.epsilon, 0.1, 'options.epsilon', { min: 0, minExclusive: true });
  const gamma = num(options.gamma, 1, 'options.gamma', { min: 0, minExclusive: true });
  const mmIter = num(options.mmIter, 100, 'options.mmIter', { min: 1, integer: true });
  const rng = createRng(num(options.seed, 0, 'options.seed', { integer: true }));
  const rhoOpts = { base: options.rhoBase, upper: options.rhoUpper, kind: options.rhoKind };
  const onEpochEnd = options.onEpochEnd;
  if (onEpochEnd !== undefined && typeof onEpochEnd !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'options.onEpochEnd', 'a function', describeValue(onEpochEnd));
  }
  const similarity =
    solver === 'sp2ot'
      ? (options.similarity ??
        knnGaussianSimilarity(x, { k: Math.min(options.knn ?? 20, n - 1), sigma: options.sigma }))
      : undefined;
  if (similarity && similarity.n !== n) {
    throw invalid('SHAPE_MISMATCH', 'options.similarity', `an [${n}, ${n}] similarity`, `N = ${similarity.n}`);
  }

  const init = new Float32Array(k * d);
  for (let i = 0; i < init.length; i++) init[i] = rng.normal() / Math.sqrt(d);
  const w = tf.tidy(() => tf.variable(tf.tensor2d(init, [k, d]), true));
  const bias = head === 'linear' ? tf.tidy(() => tf.variable(tf.zeros([k]), true)) : null;
  const forward = (v: tf.Tensor): tf.Tensor2D =>
    tf.tidy(() => {
      if (head === 'linear') return tf.add(tf.matMul(v as tf.Tensor2D, w, false, true), bias!) as tf.Tensor2D;
      const nv = tf.div(v, tf.add(tf.norm(v, 2, 1, true), 1e-12));
      const nw = tf.div(w, tf.add(tf.norm(w, 2, 1, true), 1e-12));
      return tf.mul(tf.matMul(nv as tf.Tensor2D, nw as tf.Tensor2D, false, true), scale) as tf.Tensor2D;
    });
  const optimizer = tf.train.adam(lr);
  const bank = new LogitsMemory(k, bankSize);
  const bankIdx = new Int32Array(bankSize);
  let state: P2otState | undefined;
  const losses: number[] = [];
  const rhos: number[] = [];
  const makeView = (idx: Int32Array) =>
    tf.tidy(() => {
      const xb = tf.gather(x, tf.tensor1d(idx, 'int32'));
      if (noise === 0) return xb;
      const e = new Float32Array(idx.length * d);
      for (let i = 0; i < e.length; i++) e[i] = rng.normal() * noise;
      return tf.add(xb, tf.tensor2d(e, [idx.length, d]));
    });
  const solve = (rho: number): tf.Tensor2D => {
    const logits = bank.tensor();
    try {
      if (solver === 'sp2ot') {
        const r = sp2ot(logits, similaritySubset(similarity!, bankIdx), {
          rho,
          epsilon,
          gamma,
          mmIter,
          warmStart: state,
        });
        state = r.state;
        return r.pseudoLabels;
      }
      const r = p2ot(logits, {
        rho: solver === 'sinkhorn' ? 1 : rho,
        semiRelaxed: solver !== 'sinkhorn',
        epsilon,
        gamma,
        warmStart: state,
      });
      state = r.state;
      return r.pseudoLabels;
    } finally {
      logits.dispose();
    }
  };
  try {
    // fill the bank before training (the reference's LogitsMemory.init)
    const first = rng.permutation(n);
    for (let s = 0; s < bankSize; s += batch) {
      const idx = Int32Array.from(first.slice(s, s + batch));
      const v = makeView(idx);
      const z = forward(v);
      bank.update(z);
      bankIdx.set(idx, s);
      tf.dispose([v, z]);
    }
    const stepsPerEpoch = Math.floor(n / batch);
    const total = epochs * stepsPerEpoch;
    let step = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const perm = rng.permutation(n);
      for (let s = 0; s < stepsPerEpoch; s++, step++) {
        const rho = rhoSchedule(step, total, rhoOpts);
        rhos.push(rho);
        const idx = Int32Array.from(perm.slice(s * batch, (s + 1) * batch));
        const v1 = makeView(idx);
        const v2 = noise > 0 ? makeView(idx) : v1;
        const z1 = forward(v1);
        const slot = bank.index;
        bank.update(z1);
        bankIdx.set(idx, slot);
        const plan1 = solve(rho);
        const q1 = bank.sliceBatch(plan1, batch);
        let q2 = q1;
        let plan2: tf.Tensor | null = null;
        let z2: tf.Tensor | null = null;
        if (v2 !== v1) {
          z2 = forward(v2);
          bank.update(z2, { enqueue: false });
          plan2 = solve(rho);
          q2 = bank.sliceBatch(plan2, batch);
        }
        const loss = optimizer.minimize(() => swappedPredictionLoss(forward(v1), forward(v2), q1, q2), true);
        losses.push(loss!.dataSync()[0]!);
        tf.dispose([loss!, z1, plan1, q1, v1]);
        if (v2 !== v1) tf.dispose([v2, z2!, plan2!, q2]);
      }
      if (onEpochEnd) {
        const epochLosses = losses.slice(-stepsPerEpoch);
        const mean = epochLosses.reduce((a, b) => a + b, 0) / Math.max(1, epochLosses.length);
        onEpochEnd({ epoch, loss: mean, rho: rhos[rhos.length - 1] ?? 0 });
      }
    }
    const logits = forward(x);
    const am = tf.argMax(logits, 1);
    const assignments = Int32Array.from(am.dataSync());
    tf.dispose([logits, am]);
    const prototypes = tf.tidy(() =>
      head === 'cosine' ? (tf.div(w, tf.norm(w, 2, 1, true)) as tf.Tensor2D) : (tf.clone(w) as tf.Tensor2D),
    );
    return { assignments, prototypes, losses, rhos };
  } finally {
    optimizer.dispose();
    w.dispose();
    bias?.dispose();
  }
}
