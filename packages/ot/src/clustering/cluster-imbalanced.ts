import { instanceBalancedSampler } from '@distillery/samplers';
import {
  assertFinite,
  assertRank,
  checkNumber,
  checkOptions,
  createRng,
  DistilleryError,
  describeValue,
  invalid,
  tf,
} from '@distillery/tensor';
import { AdamW, type FitOptions, fit } from '@distillery/train';
import {
  knnGaussianSimilarity,
  type SparseSimilarity,
  similaritySubset,
  toSparseSimilarity,
} from '../p2ot/knn-similarity';
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
  /**
   * P²OT ε, default 0.1, and γ, default 1 (PPOT's `gamma_bound`): the weight of the KL term pulling the cluster
   * marginal towards uniform. Smaller γ lets cluster sizes follow the data; on strongly long-tailed data it matters
   * (examples/imbalanced-clustering: γ = 0.01, chosen on validation seeds, turns P²OT from below to above k-means).
   */
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
  /**
   * Heads trained side by side on the same batches and views, each with its own logits bank and solver state
   * (PPOT's `num_heads`); the one with the lowest mean loss over the last epoch is returned. Default 1.
   */
  heads?: number;
  /** Seed for the head init, shuffling and noise, default 0. */
  seed?: number;
  /** Called after each epoch with its mean loss (over steps and heads) and last ρ (progress, live curves). */
  onEpochEnd?: (record: { epoch: number; loss: number; rho: number }) => void;
}

export interface ClusterImbalancedResult {
  /** argmax of the selected head over all N features. */
  assignments: Int32Array;
  /** The selected head's weights [K, D] (caller disposes). */
  prototypes: tf.Tensor2D;
  /** The selected head's loss per step. */
  losses: number[];
  /** ρ per step. */
  rhos: number[];
  /** Index of the selected head (lowest mean loss over the last epoch), and that mean loss for every head. */
  head: number;
  headLosses: number[];
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
export async function clusterImbalanced(
  features: tf.Tensor,
  options: ClusterImbalancedOptions,
): Promise<ClusterImbalancedResult> {
  options = checkOptions<ClusterImbalancedOptions>(options, {
    numClusters: true,
    solver: ['p2ot', 'sp2ot', 'sinkhorn'],
    head: ['cosine', 'linear'],
    scale: true,
    epochs: true,
    batchSize: true,
    learningRate: true,
    bankSize: true,
    rhoBase: true,
    rhoUpper: true,
    rhoKind: ['sigmoid', 'linear'],
    epsilon: true,
    gamma: true,
    noise: true,
    similarity: true,
    knn: true,
    sigma: true,
    mmIter: true,
    heads: true,
    seed: true,
    onEpochEnd: true,
  });
  const x = assertRank(features, 2, 'features') as tf.Tensor2D;
  assertFinite(x, 'features');
  const [n, d] = x.shape;
  const k = checkNumber(options.numClusters, 'options.numClusters', { min: 2, integer: true });
  if (n < k) throw invalid('EMPTY_INPUT', 'features', `at least numClusters = ${k} rows`, `${n} rows`);
  const solver = options.solver ?? 'p2ot';
  const head = options.head ?? 'cosine';
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
  const numHeads = num(options.heads, 1, 'options.heads', { min: 1, integer: true });
  const rng = createRng(num(options.seed, 0, 'options.seed', { integer: true }));
  const rhoOpts = {
    base: num(options.rhoBase, 0.1, 'options.rhoBase', { min: 0, max: 1 }),
    upper: num(options.rhoUpper, 1, 'options.rhoUpper', { min: 0, max: 1 }),
    kind: options.rhoKind,
  };
  const knn = num(options.knn, 20, 'options.knn', { min: 1, integer: true });
  const sigma = num(options.sigma, 2, 'options.sigma', { min: 0, minExclusive: true });
  const onEpochEnd = options.onEpochEnd;
  if (onEpochEnd !== undefined && typeof onEpochEnd !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'options.onEpochEnd', 'a function', describeValue(onEpochEnd));
  }
  const similarity =
    solver === 'sp2ot'
      ? options.similarity !== undefined
        ? toSparseSimilarity(options.similarity, 'options.similarity')
        : knnGaussianSimilarity(x, { k: Math.min(knn, n - 1), sigma })
      : undefined;
  if (similarity && similarity.n !== n) {
    throw invalid('SHAPE_MISMATCH', 'options.similarity', `an [${n}, ${n}] similarity`, `N = ${similarity.n}`);
  }

  // One head = its prototypes (and bias), its logits bank, the bank's sample ids and its solver's warm start.
  const heads = Array.from({ length: numHeads }, () => {
    const init = new Float32Array(k * d);
    for (let i = 0; i < init.length; i++) init[i] = rng.normal() / Math.sqrt(d);
    return {
      w: tf.tidy(() => tf.variable(tf.tensor2d(init, [k, d]), true)),
      bias: head === 'linear' ? tf.tidy(() => tf.variable(tf.zeros([k]), true)) : null,
      bank: new LogitsMemory(k, bankSize),
      bankIdx: new Int32Array(bankSize),
      state: undefined as P2otState | undefined,
      losses: [] as number[],
    };
  });
  type Head = (typeof heads)[number];
  const forward = (h: Head, v: tf.Tensor): tf.Tensor2D =>
    tf.tidy(() => {
      if (head === 'linear') return tf.add(tf.matMul(v as tf.Tensor2D, h.w, false, true), h.bias!) as tf.Tensor2D;
      const nv = tf.div(v, tf.add(tf.norm(v, 2, 1, true), 1e-12));
      const nw = tf.div(h.w, tf.add(tf.norm(h.w, 2, 1, true), 1e-12));
      return tf.mul(tf.matMul(nv as tf.Tensor2D, nw as tf.Tensor2D, false, true), scale) as tf.Tensor2D;
    });
  const rhos: number[] = [];
  const makeView = (idx: Int32Array) =>
    tf.tidy(() => {
      const xb = tf.gather(x, tf.tensor1d(idx, 'int32'));
      if (noise === 0) return xb;
      const e = new Float32Array(idx.length * d);
      for (let i = 0; i < e.length; i++) e[i] = rng.normal() * noise;
      return tf.add(xb, tf.tensor2d(e, [idx.length, d]));
    });
  const diverged = (what: string) =>
    invalid(
      'NON_FINITE',
      'options.learningRate',
      'a learning rate (and features) for which training stays finite',
      `${lr}: ${what}`,
    );
  const solve = (h: Head, rho: number): tf.Tensor2D => {
    // the bank holds the head's outputs: a non-finite one means training diverged, which the user controls
    // (never an error about the solver's internal `logits` argument)
    const bad = h.bank.memory.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw diverged(`the head's logits became ${h.bank.memory[bad]}`);
    const logits = h.bank.tensor();
    try {
      if (solver === 'sp2ot') {
        const r = sp2ot(logits, similaritySubset(similarity!, h.bankIdx), {
          rho,
          epsilon,
          gamma,
          mmIter,
          warmStart: h.state,
        });
        h.state = r.state;
        return r.pseudoLabels;
      }
      const r = p2ot(logits, {
        rho: solver === 'sinkhorn' ? 1 : rho,
        semiRelaxed: solver !== 'sinkhorn',
        epsilon,
        gamma,
        warmStart: h.state,
      });
      h.state = r.state;
      return r.pseudoLabels;
    } finally {
      logits.dispose();
    }
  };
  /**
   * One head's targets for a batch, before its step (outside the gradient tape): the bank takes the head's logits of
   * view 1 (view 2's replace them without advancing), and the solver's plan on the bank gives the batch's rows.
   */
  const targets = (h: Head, v1: tf.Tensor, v2: tf.Tensor, idx: Int32Array, rho: number): [tf.Tensor, tf.Tensor] => {
    const z1 = forward(h, v1);
    const slot = h.bank.index;
    h.bank.update(z1);
    h.bankIdx.set(idx, slot);
    const plan1 = solve(h, rho);
    const q1 = h.bank.sliceBatch(plan1, batch);
    tf.dispose([z1, plan1]);
    if (v2 === v1) return [q1, q1];
    const z2 = forward(h, v2);
    h.bank.update(z2, { enqueue: false });
    const plan2 = solve(h, rho);
    const q2 = h.bank.sliceBatch(plan2, batch);
    tf.dispose([z2, plan2]);
    return [q1, q2];
  };

  // fill the banks before training (the reference's LogitsMemory.init)
  const first = rng.permutation(n);
  for (let s = 0; s < bankSize; s += batch) {
    const idx = Int32Array.from(first.slice(s, s + batch));
    const v = makeView(idx);
    for (const h of heads) {
      const z = forward(h, v);
      h.bank.update(z);
      h.bankIdx.set(idx, s);
      z.dispose();
    }
    v.dispose();
  }

  // Training runs through @distillery/train's `fit`: Adam (PPOT's torch.optim.Adam: AdamW with no weight decay), a
  // seeded shuffle per epoch, whole batches only (the reference's drop_last).
  const stepsPerEpoch = Math.floor(n / batch);
  const total = epochs * stepsPerEpoch;
  type Batch = { v1: tf.Tensor; v2: tf.Tensor; q: [tf.Tensor, tf.Tensor][] };
  let perHead: tf.Scalar[] = [];
  const params = heads.flatMap((h) => (h.bias ? [h.w, h.bias] : [h.w]));
  const optimizer = new AdamW(params, { lr, weightDecay: 0 });
  // fit names a non-finite loss as its own `loss`; here the user's knob is the learning rate
  const trainHeads = async (fitOptions: FitOptions<Batch>) => {
    try {
      await fit(fitOptions);
    } catch (e) {
      if (e instanceof DistilleryError && e.code === 'NON_FINITE' && e.argument === 'loss') {
        throw diverged(`loss ${e.actual}`);
      }
      throw e;
    }
  };
  try {
    await trainHeads({
      params,
      optimizer,
      sampler: instanceBalancedSampler(n, { seed: rng.int(2 ** 31) }),
      batchSize: batch,
      dropLast: true,
      epochs,
      progress: 'none',
      data: {
        batch(idx) {
          const rho = rhoSchedule(rhos.length, total, rhoOpts);
          rhos.push(rho);
          const v1 = makeView(idx);
          const v2 = noise > 0 ? makeView(idx) : v1;
          return { v1, v2, q: heads.map((h) => targets(h, v1, v2, idx, rho)) };
        },
      },
      // The heads share no parameters: minimising the sum steps each head on its own loss.
      loss: ({ v1, v2, q }) => {
        perHead = heads.map((h, i) => tf.keep(swappedPredictionLoss(forward(h, v1), forward(h, v2), ...q[i]!)));
        return tf.addN(perHead) as tf.Scalar;
      },
      disposeBatch: ({ v1, v2, q }) => tf.dispose([v1, v2, ...q.flat()]),
      onBatchEnd: async ({ step, epoch }) => {
        const values = await Promise.all(perHead.map(async (l) => (await l.data())[0]!));
        tf.dispose(perHead);
        perHead = [];
        for (const [i, v] of values.entries()) heads[i]!.losses.push(v);
        const bad = values.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) throw diverged(`loss ${values[bad]} at step ${step - 1} (epoch ${epoch})`);
      },
      onEpochEnd: onEpochEnd
        ? ({ epoch }) =>
            // mean over this epoch's steps (and over the heads)
            onEpochEnd({
              epoch,
              loss: mean(heads.flatMap((h) => h.losses.slice(-stepsPerEpoch))),
              rho: rhos[rhos.length - 1] ?? 0,
            })
        : undefined,
    });
    const headLosses = heads.map((h) => mean(h.losses.slice(-stepsPerEpoch)));
    let chosen = 0;
    for (let i = 1; i < numHeads; i++) if (headLosses[i]! < headLosses[chosen]!) chosen = i;
    const best = heads[chosen]!;
    const logits = forward(best, x);
    const am = tf.argMax(logits, 1);
    const assignments = Int32Array.from(await am.data());
    tf.dispose([logits, am]);
    const prototypes = tf.tidy(() =>
      head === 'cosine'
        ? (tf.div(best.w, tf.norm(best.w, 2, 1, true)) as tf.Tensor2D)
        : (tf.clone(best.w) as tf.Tensor2D),
    );
    return { assignments, prototypes, losses: best.losses, rhos, head: chosen, headLosses };
  } finally {
    optimizer.dispose();
    tf.dispose(perHead);
    for (const h of heads) {
      h.w.dispose();
      h.bias?.dispose();
    }
  }
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}
