import { DistilleryError } from '@distillery/tensor';
import { describe, expect, it } from 'vitest';
import { getRecipe, recipeNames, recipes } from './registry';

describe('the recipe registry', () => {
  it('lists every recipe once, by method name, flagship first', () => {
    expect(recipes.map((r) => r.name)).toEqual([
      'deit-lt',
      'kd',
      'uskd',
      'mdcs',
      'trg',
      'lavit',
      'metaformer',
      'mmformer',
      'scpnet',
      'p2ot',
      'gp-maml',
    ]);
    for (const r of recipes) {
      expect(typeof r.run, r.name).toBe('function');
      expect(r.defaultEpochs, r.name).toBeGreaterThanOrEqual(1);
    }
  });

  it('finds a recipe by its name and by the task name it also answers to', () => {
    for (const [alias, name] of [
      ['self-kd', 'uskd'],
      ['multi-label', 'scpnet'],
      ['imbalanced-clustering', 'p2ot'],
      ['few-shot', 'gp-maml'],
    ]) {
      expect(getRecipe(alias as string)).toBe(getRecipe(name as string));
      expect(getRecipe(alias as string).name).toBe(name);
    }
    for (const r of recipes) expect(getRecipe(r.name)).toBe(r);
  });

  it('no name or alias is used twice', () => {
    const all = recipes.flatMap((r) => [r.name, ...(r.aliases ?? [])]);
    expect(new Set(all).size).toBe(all.length);
  });

  it('refuses an unknown name with the valid ones', () => {
    let error: unknown;
    try {
      getRecipe('selfkd');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DistilleryError);
    const message = (error as DistilleryError).message;
    expect(message).toContain('"selfkd"');
    expect(message).toContain('uskd (self-kd)');
    expect(message).toContain('gp-maml (few-shot)');
    expect(recipeNames()).toHaveLength(recipes.length);
  });
});
