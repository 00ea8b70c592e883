// The README's "Distill your own teacher" walk-through, run as written: the commands of its `sh walkthrough` block,
// in order, in a fresh folder (with `packages` and `examples` linked to this checkout, so every relative path in the
// block means what it means in a clone), then the served page in headless Chromium (Debian's, via playwright-core):
// the student loaded by URL classifies the same image as `distillery predict`. The README is the source: edit the
// block and this test runs the edit.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/chromium.mjs';
import { assertBuilt, root } from './support/cli.mjs';

/** The commands of the README's `sh walkthrough` block: comments dropped, `\` continuations joined. */
function walkthroughCommands(readme: string): string[][] {
  const block = /```sh walkthrough\n([\s\S]*?)\n```/.exec(readme);
  if (!block) throw new Error('README.md has no ```sh walkthrough block');
  return block[1]!
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map(shellWords);
}

/** Splits a command line as a POSIX shell does for plain words and quoted strings (no expansions: refused). */
function shellWords(line: string): string[] {
  if (/[$`|&;<>*?]/.test(line.replace(/'[^']*'/g, ''))) throw new Error(`not a plain command: ${line}`);
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'distillery-walkthrough-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => {
  assertBuilt();
  for (const dir of ['packages', 'examples']) symlinkSync(path.join(root, dir), path.join(work, dir), 'dir');
});

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runStep(words: string[]): Promise<Done> {
  const start = Date.now();
  const child = spawn(process.execPath, words.slice(1), { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - start }));
  });
}

describe('README walk-through: your teacher, your images, your student in the browser', () => {
  it('runs every command of the block, then the page gives the same top-1 class as distillery predict', async () => {
    const commands = walkthroughCommands(readFileSync(path.join(root, 'README.md'), 'utf8'));
    const steps = commands.map((c) => `${c[1]} ${c[2] ?? ''}`.trim());
    expect(steps).toEqual([
      'examples/distill-own/make-images.mjs my-images',
      'packages/cli/dist/bin.js train',
      'packages/cli/dist/bin.js distill',
      'packages/cli/dist/bin.js eval',
      'packages/cli/dist/bin.js predict',
      'examples/distill-own/serve.mjs runs/my-student',
    ]);
    for (const c of commands) expect(c[0]).toBe('node');
    const at = (p: string) => path.join(work, p);
    const timings: Record<string, number> = {};

    // (a)–(e): each to the end, exit code 0, its files written
    const outputs: Record<string, Done> = {};
    for (const [i, words] of commands.slice(0, -1).entries()) {
      const name = ['images', 'train', 'distill', 'eval', 'predict'][i]!;
      const done = await runStep(words);
      timings[name] = done.ms;
      expect(done.code, `${words.join(' ')}\n${done.stderr}`).toBe(0);
      outputs[name] = done;
      if (name === 'images') {
        for (const split of ['train', 'test'])
          for (const c of ['horizontal', 'vertical', 'diagonal'])
            expect(existsSync(at(`my-images/${split}/${c}/000.png`))).toBe(true);
      }
      if (name === 'train' || name === 'distill') {
        const run = name === 'train' ? 'runs/teacher' : 'runs/my-student';
        for (const f of ['model.json', 'model.safetensors', 'metrics.json', 'report.html', 'config.json'])
          expect(existsSync(at(`${run}/${f}`)), `${run}/${f}`).toBe(true);
      }
    }
    const student = JSON.parse(readFileSync(at('runs/my-student/model.json'), 'utf8'));
    expect(student.architecture).toBe('vit');
    expect(student.classes).toEqual(['diagonal', 'horizontal', 'vertical']);
    expect(student.config.depth).toBe(4);
    const metrics = JSON.parse(readFileSync(at('runs/my-student/eval/metrics.json'), 'utf8'));
    expect(metrics.images).toBe(15);
    expect(metrics.top1).toBeGreaterThanOrEqual(0);
    expect(Object.keys(metrics.perClass).sort()).toEqual(['diagonal', 'horizontal', 'vertical']);
    expect(existsSync(at('runs/my-student/eval/report.html'))).toBe(true);
    const predictWords = commands[4]!;
    const image = predictWords.at(-1)!;
    const line = outputs.predict!.stdout.trim().split('\n').at(-1)!;
    const predicted = new RegExp(`^${image.replace(/[.]/g, '\\.')}: (\\S+) ([\\d.]+)%`).exec(line);
    expect(predicted, line).not.toBeNull();
    const cliTop1 = predicted![1]!;

    // (f): the server prints its address; the page loads the student by URL and classifies the chosen image
    const serve = spawn(process.execPath, [...commands[5]!.slice(1), '--port', '0'], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const browser = await launchChromium();
    const logs: string[] = [];
    try {
      const start = Date.now();
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        serve.stdout.on('data', (d) => {
          out += d;
          const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
          if (m) resolve(m[0]);
        });
        serve.stderr.on('data', (d) => logs.push(`serve: ${d}`));
        serve.on('close', (code) => reject(new Error(`serve.mjs exited ${code}: ${logs.join('')}`)));
      });
      const tab = await browser.context.newPage();
      tab.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      tab.on('console', (m) => logs.push(`console: ${m.text()}`));
      await tab.goto(url);
      await tab.waitForFunction(() => (window as unknown as { __ready?: boolean }).__ready === true, undefined, {
        timeout: 60_000,
      });
      await tab.setInputFiles('#image', at(image));
      const handle = await tab.waitForFunction(
        () => (window as unknown as { __result?: unknown }).__result,
        undefined,
        {
          timeout: 60_000,
        },
      );
      const result = (await handle.jsonValue()) as {
        file: string;
        top?: { className: string; probability: number }[];
        error?: string;
      };
      timings.browser = Date.now() - start;
      expect(result.error, logs.join('\n')).toBeUndefined();
      expect(result.file).toBe(path.basename(image));
      expect(result.top![0]!.className).toBe(cliTop1);
      // the same probability as predict's (printed to 0.1 %; predict may run on another backend)
      expect(Math.abs(100 * result.top![0]!.probability - Number(predicted![2]))).toBeLessThanOrEqual(0.1);
      expect(await tab.textContent('#result')).toContain(`${cliTop1} `);
      expect(logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    } finally {
      await browser.close();
      serve.kill();
    }
    console.log(`walk-through timings (ms): ${JSON.stringify(timings)}`);
  });
});
