import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from './html-report';

describe('renderHtmlReport', () => {
  const html = renderHtmlReport({
    title: 'DeiT-LT <digits>',
    description: 'A test run.',
    table: {
      headers: ['model', 'overall'],
      rows: [
        ['ce', 0.81234],
        ['deit-lt', 0.9],
      ],
    },
    curves: { loss: [{ name: 'ce', x: [0, 1, 2], y: [2, 1.5, 1.1] }] },
    perClass: { counts: [100, 10, 1], accuracy: { ce: [0.9, 0.5, 0], 'deit-lt': [0.9, 0.7, 0.4] } },
    confusion: [
      {
        title: 'confusion (ce)',
        matrix: [
          [5, 1],
          [2, 3],
        ],
        labels: ['a', 'b'],
      },
    ],
    heatmaps: [
      {
        title: 'plan',
        matrix: [
          [0.1, 0.2],
          [0.3, 0],
        ],
        xLabel: 'cluster',
        yLabel: 'sample',
      },
    ],
    config: { seed: 0 },
  });

  it('is a self-contained page: escaped text, no scripts, no external resources', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<title>DeiT-LT &lt;digits&gt;</title>');
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org)/);
  });

  it('has the table and one chart per plot kind', () => {
    expect(html).toContain('<td>0.8123</td>');
    expect(html.match(/<svg /g)).toHaveLength(4);
    expect(html).toContain('aria-label="loss"');
    expect(html).toContain('per-class accuracy vs. class frequency');
    // one rect per confusion cell with the count in its tooltip
    expect(html).toContain('true a → predicted b: 1');
    // one polyline point per epoch
    expect(html).toMatch(
      /<polyline fill="none" stroke="#4e79a7" stroke-width="2" points="[\d.]+,[\d.]+ [\d.]+,[\d.]+ [\d.]+,[\d.]+"/,
    );
  });

  it('draws one per-class panel per entry when given several, each with its title', () => {
    const panels = renderHtmlReport({
      title: 'two training sets',
      perClass: [
        { title: 'per-class accuracy, IF 10', counts: [100, 10], accuracy: { a: [0.9, 0.5] } },
        { title: 'per-class accuracy, IF 100', counts: [100, 1], accuracy: { a: [0.9, 0.1] } },
      ],
    });
    expect(panels).toContain('per-class accuracy, IF 10');
    expect(panels).toContain('per-class accuracy, IF 100');
    expect(panels.match(/<figure>/g)).toHaveLength(2);
  });
});
