import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Recipe } from '@distillery/recipes';
import { DistilleryError } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { checkClaims, evidenceMarkdown } from './evidence';
import { main } from './main';
import { meanAndStd, runSeeds } from './run-recipe';

const stat = (values: number[]) => ({ ...meanAndStd(values), values });

describe('checkClaims', () => {
  const metrics = {
    'a.acc': stat([0.6, 0.7, 0.8]),
    'b.acc': stat([0.5, 0.6, 0.7]), // below a on every seed
    'd.acc': stat([0.65, 0.5, 0.6]), // above a on seed 0 only; mean 0.583 < 0.7
    'e.acc': stat([0.9, 0.65, 0.75]), // above a on seed 0 only, and on the mean (0.767 > 0.7)
  };
  it('every seed, mean only, and not at all, with the count of seeds and the mean gap', () => {
    const [every, meanOnly, notAtAll] = checkClaims(metrics, [
      { claim: 'a > b', better: 'a.acc', worse: 'b.acc' },
      { claim: 'e > a', better: 'e.acc', worse: 'a.acc' },
      { claim: 'd > a', better: 'd.acc', worse: 'a.acc' },
    ]);
    expect(every).toMatchObject({ verdict: 'every seed', heldOn: 3, seeds: 3 });
    expect(every!.meanGap).toBeCloseTo(0.1, 12);
    expect(meanOnly).toMatchObject({ verdict: 'mean only', heldOn: 1, seeds: 3 });
    expect(meanOnly!.meanGap).toBeCloseTo(0.7666666666666667 - 0.7, 12);
    expect(notAtAll).toMatchObject({ verdict: 'not at all', heldOn: 1, seeds: 3 });
    expect(notAtAll!.meanGap).toBeLessThan(0);
  });
  it('a margin: "within one point" holds where better + margin > worse', () => {
    const m = { x: stat([0.795, 0.81, 0.78]), y: stat([0.8, 0.8, 0.8]) };
    const [within] = checkClaims(m, [{ claim: 'x within 1 point of y', better: 'x', worse: 'y', margin: 0.01 }]);
    // seed 2: 0.78 + 0.01 < 0.8; the mean 0.795 + 0.01 > 0.8.
    expect(within).toMatchObject({ verdict: 'mean only', heldOn: 2 });
    expect(within!.meanGap).toBeCloseTo(-0.005, 12);
  });
  it('a tie is not a win, on a seed or on the mean', () => {
    const [tie] = checkClaims({ x: stat([1, 2]), y: stat([1, 2]) }, [{ claim: 'x > y', better: 'x', worse: 'y' }]);
    expect(tie).toMatchObject({ verdict: 'not at all', heldOn: 0, meanGap: 0 });
  });
  it('a claim over a metric the summary lacks is an error naming the metric and the claim', () => {
    expect(() => checkClaims(metrics, [{ claim: 'a > z', better: 'a.acc', worse: 'z.acc' }])).toThrowError(
      DistilleryError,
    );
    expect(() => checkClaims(metrics, [{ claim: 'a > z', better: 'a.acc', worse: 'z.acc' }])).toThrowError(
      /"z\.acc" of the claim "a > z"/,
    );
  });
});

describe('evidence tables from a --seeds run', () => {
  const recipe: Recipe = {
    name: 'seeded-evidence',
    title: 'Seeded test recipe with claims',
    summary: 'metrics from the seed',
    paper: 'none',
    data: 'none',
    defaultEpochs: 1,
    evidence: {
      digits: {
        rows: [
          { label: 'method A', key: 'methods.A' },
          { label: 'method B', key: 'methods.B' },
        ],
        columns: [
          { label: 'ACC', key: 'acc' },
          { label: 'tail', key: 'tail' },
        ],
        claims: [
          { claim: 'A > B (ACC)', better: 'methods.A.acc', worse: 'methods.B.acc' },
          { claim: 'A > B (tail)', better: 'methods.A.tail', worse: 'methods.B.tail' },
        ],
      },
    },
    async run(ctx) {
      const s = ctx.seed;
      return {
        metrics: { methods: { A: { acc: 0.8 + 0.01 * s, tail: 0.3 * s }, B: { acc: 0.7, tail: 0.25 } } },
        report: { table: { headers: ['m'], rows: [['x']] } },
      };
    },
  };

  it('runSeeds writes the claims into summary.json and evidence.md; `distillery evidence` prints the same table', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'distillery-evidence-'));
    const lines: string[] = [];
    const { summary } = await runSeeds(recipe, { backend: 'cpu', out, seeds: [0, 1, 2], print: (l) => lines.push(l) });
    // tail: A 0 / 0.3 / 0.6 against B 0.25: held on seeds 1 and 2, and on the mean (0.3 > 0.25).
    expect(summary.claims!.map((c) => [c.claim, c.verdict, c.heldOn])).toEqual([
      ['A > B (ACC)', 'every seed', 3],
      ['A > B (tail)', 'mean only', 2],
    ]);
    expect(lines.join('\n')).toMatch(/claim A > B \(tail\): mean only \(2 of 3 seeds/);
    const markdown = readFileSync(path.join(out, 'evidence.md'), 'utf8');
    expect(markdown).toBe(evidenceMarkdown(summary, recipe.evidence!.digits!));
    expect(markdown).toMatch(/\| method A +\| 0\.810 ± 0\.010 \| 0\.300 ± 0\.300 \|/);
    expect(markdown).toMatch(/\| method B +\| 0\.700 ± 0\.000 \| 0\.250 ± 0\.000 \|/);
    expect(markdown).toMatch(/\| A > B \(tail\) +\| mean only +\| 2 of 3 +\| \+0\.050 +\|/);
    // Columns padded to one width, as formatters print markdown tables.
    expect(
      new Set(
        markdown
          .split('\n')
          .filter((l) => l.startsWith('| method'))
          .map((l) => l.length),
      ).size,
    ).toBe(1);
    rmSync(out, { recursive: true, force: true });
  });

  it('`distillery evidence` on a real recipe summary; missing, non-JSON and non-summary files are one line, exit 1', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'distillery-evidence-cli-'));
    const summary = {
      recipe: 'p2ot',
      seeds: [0, 1],
      data: 'fashion-mnist',
      metrics: Object.fromEntries(
        ['k-means', 'Sinkhorn (balanced OT)', 'P²OT', 'SP²OT'].flatMap((m, i) =>
          ['acc', 'nmi', 'mAcc', 'ari', 'head', 'medium', 'tail'].map((k) => [`methods.${m}.${k}`, stat([i, i + 1])]),
        ),
      ),
    };
    writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary));
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    expect(await main(['evidence', dir], io)).toBe(0);
    expect(out.join('\n')).toMatch(/\| P²OT +\| 2\.500 ± 0\.707 \|/);
    expect(out.join('\n')).toMatch(/\| P²OT > k-means \(ACC\) +\| every seed +\| 2 of 2 +\| \+2\.000 +\|/);
    writeFileSync(path.join(dir, 'bad.json'), '{');
    writeFileSync(path.join(dir, 'other.json'), '{"a": 1}');
    writeFileSync(path.join(dir, 'digits.json'), JSON.stringify({ ...summary, data: undefined }));
    for (const [file, message] of [
      ['missing.json', /no such file/],
      ['bad.json', /not JSON/],
      ['other.json', /not a summary\.json/],
      ['digits.json', /no claims for --data digits \(it does for: fashion-mnist\)/],
    ] as const) {
      err.length = 0;
      expect(await main(['evidence', path.join(dir, file)], io)).toBe(1);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(message);
    }
    expect(await main(['evidence'], io)).toBe(2);
    // --readme fills the README's block between its markers (and only there), again on a second run.
    const readme = path.join(dir, 'README.md');
    const block = (inner: string) =>
      `# p2ot\n\nbefore\n<!-- evidence: fashion-mnist -->\n${inner}<!-- /evidence: fashion-mnist -->\nafter\n`;
    writeFileSync(readme, block('old table\n'));
    for (let i = 0; i < 2; i++) {
      expect(await main(['evidence', dir, '--readme', readme], io)).toBe(0);
      expect(readFileSync(readme, 'utf8')).toBe(block(out[0]!));
    }
    writeFileSync(readme, '# no block\n');
    err.length = 0;
    expect(await main(['evidence', dir, '--readme', readme], io)).toBe(1);
    expect(err[0]).toMatch(
      /README\.md: no "<!-- evidence: fashion-mnist -->" … "<!-- \/evidence: fashion-mnist -->" block/,
    );
    expect(readFileSync(readme, 'utf8')).toBe('# no block\n');
    rmSync(dir, { recursive: true, force: true });
  });
});
