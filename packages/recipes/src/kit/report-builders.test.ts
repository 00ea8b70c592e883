import { describe, expect, it } from 'vitest';
import { groupRow, historyCurves, perClassBars } from './report-builders';

const record = (epoch: number, loss: number, testAccuracy?: number) => ({
  epoch,
  loss,
  ...(testAccuracy === undefined ? {} : { testAccuracy }),
});

describe('report builders', () => {
  it('historyCurves: one chart per key, one line per run, x = epoch + 1', () => {
    const runs = [
      { name: 'a', history: [record(0, 2, 0.5), record(1, 1, 0.7)] },
      { name: 'b', history: [record(0, 3, 0.4)] },
    ];
    expect(historyCurves(runs, { 'training loss': 'loss', 'test accuracy': 'testAccuracy' })).toEqual({
      'training loss': [
        { name: 'a', x: [1, 2], y: [2, 1] },
        { name: 'b', x: [1], y: [3] },
      ],
      'test accuracy': [
        { name: 'a', x: [1, 2], y: [0.5, 0.7] },
        { name: 'b', x: [1], y: [0.4] },
      ],
    });
    // A run without the key is an error, not a gap in the chart.
    expect(() => historyCurves([{ name: 'c', history: [record(0, 1)] }], { acc: 'testAccuracy' })).toThrow(
      /runs\[0\]\.history\[0\]\.testAccuracy: expected a number/,
    );
  });

  it('perClassBars: a checked panel, copied', () => {
    const counts = [10, 1];
    const acc = [0.9, 0.1];
    const panel = perClassBars({ counts, accuracy: { ce: acc }, title: 'IF 10' });
    expect(panel).toEqual({ title: 'IF 10', counts: [10, 1], accuracy: { ce: [0.9, 0.1] } });
    acc[0] = 0;
    expect(panel.accuracy.ce).toEqual([0.9, 0.1]);
    expect(() => perClassBars({ counts, accuracy: { ce: [0.5] } })).toThrow(/options\.accuracy\.ce: expected 2/);
  });

  it('groupRow: label cells, then overall, head, mid, tail', () => {
    expect(groupRow(['IF 10', 'ViT'], { overall: 0.5, head: 0.9, mid: 0.5, tail: 0.1 })).toEqual([
      'IF 10',
      'ViT',
      0.5,
      0.9,
      0.5,
      0.1,
    ]);
    expect(() => groupRow('x', { overall: 0.5 })).toThrow(/evaluateClassifier with cutpoints/);
  });
});
