import { checkNumber, invalid, Rng, tf } from '@distillery/tensor';

export interface HyperspectralLidarOptions {
  numSamples?: number;
  /** Land-cover classes (default 6, as Trento). */
  numClasses?: number;
  /** HSI bands (default 63, as Trento). */
  bands?: number;
  /** Patch side (default 11, the MFT protocol's 11×11). */
  patch?: number;
  /** LiDAR rasters (default 1; MUUFL has 2). */
  lidarChannels?: number;
  /** Probability that a neighbour pixel shares the centre's class (default 0.8). */
  purity?: number;
  /** Relative noise (default 0.05). */
  noise?: number;
  seed?: number;
}

/** Paired HSI + LiDAR patches with the centre pixel's class (MMFormer / MFT input format). */
export interface HyperspectralLidarSet {
  readonly length: number;
  readonly numClasses: number;
  /** N·p·p·bands values, NHWC. */
  readonly hsi: Float32Array;
  /** N·p·p·lidarChannels values, NHWC. */
  readonly lidar: Float32Array;
  readonly labels: Int32Array;
  readonly hsiShape: [number, number, number];
  readonly lidarShape: [number, number, number];
  batch(indices: ArrayLike<number>): { hsi: tf.Tensor4D; lidar: tf.Tensor4D; labels: tf.Tensor1D };
}

/**
 * A procedural hyperspectral + LiDAR pair set for MMFormer-style fusion (MMFormer, arXiv, 23 March 2023; the MFT protocol
 * of Roy et al., arXiv 2203.16952, AnkurDeria/MFT Model/MFT.ipynb: 11×11 patches, 63 bands and 6 classes like Trento). Each class has a smooth reflectance spectrum (a sum of three Gaussian bumps
 * over the bands) and a mean elevation per LiDAR raster; each patch labels its centre pixel, and every other pixel
 * belongs to the centre class with probability `purity`, else to a random class. Values get multiplicative noise.
 */
export function hyperspectralLidar(options: HyperspectralLidarOptions = {}): HyperspectralLidarSet {
  const N = checkNumber(options.numSamples ?? 300, 'options.numSamples', { min: 1, integer: true });
  const C = checkNumber(options.numClasses ?? 6, 'options.numClasses', { min: 2, integer: true });
  const bands = checkNumber(options.bands ?? 63, 'options.bands', { min: 1, integer: true });
  const p = checkNumber(options.patch ?? 11, 'options.patch', { min: 1, integer: true });
  const L = checkNumber(options.lidarChannels ?? 1, 'options.lidarChannels', { min: 1, integer: true });
  const purity = checkNumber(options.purity ?? 0.8, 'options.purity', { min: 0, max: 1 });
  const noise = checkNumber(options.noise ?? 0.05, 'options.noise', { min: 0 });
  const rng = new Rng(checkNumber(options.seed ?? 0, 'options.seed', { integer: true }));
  const spectra = Array.from({ length: C }, () => {
    const bumps = Array.from({ length: 3 }, () => ({
      mu: rng.uniform(0, bands),
      sigma: rng.uniform(0.08, 0.3) * bands,
      a: rng.uniform(0.2, 0.8),
    }));
    return Float32Array.from({ length: bands }, (_, b) =>
      bumps.reduce((s, k) => s + k.a * Math.exp(-((b - k.mu) ** 2) / (2 * k.sigma ** 2)), 0.05),
    );
  });
  const elevation = Array.from({ length: C }, () => Array.from({ length: L }, () => rng.uniform(0, 1)));
  const hsi = new Float32Array(N * p * p * bands);
  const lidar = new Float32Array(N * p * p * L);
  const labels = new Int32Array(N);
  const centre = Math.floor(p / 2);
  for (let n = 0; n < N; n++) {
    const c = n % C;
    labels[n] = c;
    for (let y = 0; y < p; y++)
      for (let x = 0; x < p; x++) {
        const isCentre = y === centre && x === centre;
        const k = isCentre || rng.uniform() < purity ? c : rng.int(C);
        const pix = (n * p + y) * p + x;
        const gain = 1 + rng.normal(0, noise);
        for (let b = 0; b < bands; b++) hsi[pix * bands + b] = spectra[k]![b]! * gain * (1 + rng.normal(0, noise));
        for (let l = 0; l < L; l++) lidar[pix * L + l] = elevation[k]![l]! + rng.normal(0, noise);
      }
  }
  return {
    length: N,
    numClasses: C,
    hsi,
    lidar,
    labels,
    hsiShape: [p, p, bands],
    lidarShape: [p, p, L],
    batch(indices) {
      if (!indices || indices.length === 0) throw invalid('EMPTY_INPUT', 'indices', 'at least one index', '0');
      const B = indices.length;
      const h = new Float32Array(B * p * p * bands);
      const l = new Float32Array(B * p * p * L);
      const y = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const i = checkNumber(indices[b], `indices[${b}]`, { min: 0, max: N - 1, integer: true });
        h.set(hsi.subarray(i * p * p * bands, (i + 1) * p * p * bands), b * p * p * bands);
        l.set(lidar.subarray(i * p * p * L, (i + 1) * p * p * L), b * p * p * L);
        y[b] = labels[i]!;
      }
      return {
        hsi: tf.tensor4d(h, [B, p, p, bands]),
        lidar: tf.tensor4d(l, [B, p, p, L]),
        labels: tf.tensor1d(y, 'int32'),
      };
    },
  };
}
