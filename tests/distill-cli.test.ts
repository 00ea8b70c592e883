// The built `distillery distill` as a user runs it: bad input is one line on stderr, exit code 2, no stack trace.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageFolder } from '../packages/cli/test/image-folder';
import { assertBuilt, runCli } from './support/cli.mjs';

const work = mkdtempSync(path.join(os.tmpdir(), 'distillery-distill-bin-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => assertBuilt());

describe('built bin: distillery distill / train', () => {
  it('an unknown flag, an empty class folder and an unknown --loss: one line each, exit 2', async () => {
    const data = imageFolder(path.join(work, 'images'), [2, 2]);
    mkdirSync(path.join(data, 'class2'));
    writeFileSync(path.join(work, 'x'), '');
    const runs = await Promise.all([
      runCli(['distill', '--student', 'resnet32', '--loss', 'kd', '--data', data, '--temp', '4']),
      runCli([
        'train',
        '--model',
        'resnet32',
        '--data',
        data,
        '--backend',
        'cpu',
        '--progress',
        'none',
        '--out',
        path.join(work, 'run'),
      ]),
      runCli(['train', '--model', 'resnet32', '--data', data, '--loss', 'lda']),
    ]);
    const [flag, empty, loss] = runs.map((r) => ({ ...r, lines: r.stderr.trim().split('\n') }));
    for (const r of [flag, empty, loss]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.lines, r.stderr).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(flag.stderr).toMatch(/unknown option --temp/);
    expect(empty.stderr).toMatch(/class2.*empty class folder/);
    expect(loss.stderr).toMatch(/--loss: expected one of ce, focal, ldam-drw, balanced-softmax, logit-adjustment/);
  });
});
