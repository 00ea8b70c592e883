// Chooses P²OT's γ (the KL weight on the cluster marginal, PPOT's --gamma_bound, official default 1) for the
// long-tailed digit features on validation seeds that the quality test never uses, and prints the grid.
//
//   node examples/imbalanced-clustering/select-gamma.mjs [--imbalance 100] [--seeds 10-19]
//
// Same head, loss and schedule as quality.test.ts (cosine head, 30 epochs, batch 128, ε 0.1, wasm backend); the
// pick is the γ with the best mean Hungarian ACC (ties to the larger γ).
import { clusterImbalanced, kmeans } from '@distillery/ot';
import { longTailedDigitFeatures } from '@distillery/recipes';
import { initBackend } from '@distillery/tensor';
import { clusteringAccuracy } from '@distillery/train';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const imbalanceFactor = Number(opt('--imbalance', 100));
const [first, last] = opt('--seeds', '10-19').split('-').map(Number);
const gammas = [1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001];

await initBackend('wasm');
const rows = [];
for (let seed = first; seed <= last; seed++) {
  const { features, labels } = longTailedDigitFeatures({ imbalanceFactor, seed });
  const acc = (assignments) => clusteringAccuracy(labels, assignments, 10).accuracy;
  const row = { seed, kmeans: acc(kmeans(features, { k: 10, nInit: 10, seed }).assignments), p2ot: [] };
  for (const gamma of gammas) {
    const r = await clusterImbalanced(features, {
      numClusters: 10,
      epochs: 30,
      batchSize: 128,
      scale: 10,
      seed,
      gamma,
    });
    r.prototypes.dispose();
    row.p2ot.push(acc(r.assignments));
  }
  features.dispose();
  rows.push(row);
  console.error(`seed ${seed} done`);
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (x) => x.toFixed(3);
console.log(`P²OT ACC on long-tailed digits (IF ${imbalanceFactor}), validation seeds ${first}–${last}\n`);
console.log(`| seed | k-means | ${gammas.map((g) => `γ = ${g}`).join(' | ')} |`);
console.log(`|---|---|${gammas.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.seed} | ${fmt(r.kmeans)} | ${r.p2ot.map(fmt).join(' | ')} |`);
const means = gammas.map((_, i) => mean(rows.map((r) => r.p2ot[i])));
console.log(`| mean | ${fmt(mean(rows.map((r) => r.kmeans)))} | ${means.map(fmt).join(' | ')} |`);
let best = 0;
for (let i = 1; i < gammas.length; i++) if (means[i] > means[best] + 1e-9) best = i;
console.log(`\nselected γ = ${gammas[best]} (mean ACC ${fmt(means[best])})`);
