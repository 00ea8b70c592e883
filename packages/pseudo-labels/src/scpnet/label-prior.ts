import { assertFinite, assertRank, checkNumber, checkOptions, invalid, tf } from '@distillery/tensor';

export interface ScpnetLabelPriorOptions {
  /** Entries kept per row (`sparse_topk`; COCO 62, VOC 20, NUS-WIDE 50, CUB 312). Required. */
  sparseTopk: number;
  /** Off-diagonal weight (`reweight_p`), default 0.2. */
  reweightP?: number;
  /** Softmax temperature (`T`; COCO/NUS 0.2, VOC/CUB 0.3). Required. */
  temperature: number;
}

export interface ScpnetLabelPrior {
  /** Re-weighted sparse adjacency `gcn_relation` [C, C]: the A of `scpnetGcnClassifier`. */
  adjacency: tf.Tensor2D;
  /** Row-stochastic label-to-label prior `relation` [C, C] used for the prior-propagated targets. */
  relation: tf.Tensor2D;
}

/**
 * SCPNet label-to-label prior (Ding et al., CVPR 2023, arXiv 2303.13223 §3.2; jameslahm/SCPNet model.py
 * `SCPNet.__init__`, commit d56341a) from the C×C similarity R of class embeddings (the official `relation_file`,
 * e.g. relation+coco.npy, holds the similarity of CLIP text embeddings; any text encoder's will do):
 *
 *     keep the sparseTopk largest entries of each row of R (the diagonal is among them), zero the rest;  R_ii = 0
 *     A = R / rowsum(R) · p;   A_ii = 1 − p                                       → adjacency (gcn_relation)
 *     P = rowsoftmax(A / T);   P[non-top-k] = 0;   P /= rowsum(P)                 → relation
 *
 * Computed in float64 on the host. Rows whose off-diagonal top-k entries are all 0 would divide by zero and throw.
 */
export function scpnetLabelPrior(similarity: tf.Tensor, options: ScpnetLabelPriorOptions): ScpnetLabelPrior {
  if (options === undefined) {
    throw invalid('INVALID_ARGUMENT', 'options', 'an options object with sparseTopk and temperature', 'undefined');
  }
  const opts = checkOptions<ScpnetLabelPriorOptions>(options, { sparseTopk: true, reweightP: true, temperature: true });
  const r = assertRank(similarity, 2, 'similarity');
  const [c, c2] = r.shape as [number, number];
  if (c !== c2 || c < 2)
    throw invalid('SHAPE_MISMATCH', 'similarity', 'a square [C, C] matrix with C >= 2', `[${c}, ${c2}]`);
  assertFinite(r, 'similarity');
  const topk = checkNumber(opts.sparseTopk, 'options.sparseTopk', { min: 1, max: c, integer: true });
  const p = opts.reweightP === undefined ? 0.2 : checkNumber(opts.reweightP, 'options.reweightP', { min: 0, max: 1 });
  const T = checkNumber(opts.temperature, 'options.temperature', { min: 0, minExclusive: true });
  const R = Float64Array.from(r.dataSync());
  const keep = new Uint8Array(c * c);
  for (let i = 0; i < c; i++) {
    const order = Array.from({ length: c }, (_, j) => j).sort((x, y) => R[i * c + y]! - R[i * c + x]! || x - y);
    for (let t = 0; t < topk; t++) keep[i * c + order[t]!] = 1;
  }
  const A = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) {
      const v = keep[i * c + j] && i !== j ? R[i * c + j]! : 0;
      A[i * c + j] = v;
      s += v;
    }
    if (!(s > 0) && p > 0) {
      throw invalid(
        'INVALID_ARGUMENT',
        'similarity',
        `positive top-${topk} off-diagonal similarities in every row`,
        `row ${i} sums to ${s}`,
      );
    }
    for (let j = 0; j < c; j++) A[i * c + j] = i === j ? 1 - p : s > 0 ? (A[i * c + j]! / s) * p : 0;
  }
  const P = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < c; j++) m = Math.max(m, A[i * c + j]! / T);
    let z = 0;
    for (let j = 0; j < c; j++) z += Math.exp(A[i * c + j]! / T - m);
    let s = 0;
    for (let j = 0; j < c; j++) {
      const v = keep[i * c + j] ? Math.exp(A[i * c + j]! / T - m) / z : 0;
      P[i * c + j] = v;
      s += v;
    }
    for (let j = 0; j < c; j++) P[i * c + j]! /= s;
  }
  return {
    adjacency: tf.tensor2d(Float32Array.from(A), [c, c]),
    relation: tf.tensor2d(Float32Array.from(P), [c, c]),
  };
}
