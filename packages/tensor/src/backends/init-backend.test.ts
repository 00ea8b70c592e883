import { DistilleryError, describeBackends, initBackend, tf } from '@distillery/tensor';
import { afterAll, describe, expect, it } from 'vitest';

const projectBackend = (process.env.DISTILLERY_TEST_BACKEND ?? 'cpu') as 'cpu' | 'wasm';

describe('initBackend', () => {
  afterAll(async () => {
    await initBackend(projectBackend);
  });

  it('activates an explicit backend and fills its kernel gaps', async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(await initBackend('cpu')).toBe('cpu');
  });

  it('throws BACKEND_UNAVAILABLE with install advice when tfjs-node is not installed', async () => {
    const error = await initBackend('tfjs-node').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DistilleryError);
    expect((error as DistilleryError).code).toBe('BACKEND_UNAVAILABLE');
    expect((error as DistilleryError).message).toMatch(/npm i @tensorflow\/tfjs-node@4\.22\.0/);
    // tfjs does not fall back by itself; the previous backend stays usable.
    expect(tf.getBackend()).toBe('cpu');
  });

  it('starts the wasm thread pool from the threads option and reports it; 1 is no pool', async () => {
    const { currentThreadPool } = await import('../threads');
    expect(await initBackend('wasm', { threads: 2 })).toBe('wasm');
    expect(currentThreadPool()?.threads).toBe(2);
    let wasm = (await describeBackends()).find((r) => r.source === 'wasm');
    expect(wasm).toMatchObject({ active: true, threads: 2 });
    expect(wasm?.threadsReason).toBeUndefined();
    await initBackend('wasm', { threads: 1 });
    expect(currentThreadPool()).toBeNull();
    wasm = (await describeBackends()).find((r) => r.source === 'wasm');
    expect(wasm?.threads).toBe(1);
    await expect(initBackend('cpu', { threads: 2 })).rejects.toThrowError(/options\.threads/);
    await initBackend('wasm', { threads: Number(process.env.DISTILLERY_THREADS ?? 1) });
  });

  it('rejects an unknown preference by name', async () => {
    await expect(initBackend('gpu' as 'cpu')).rejects.toThrowError(/preference: expected one of/);
  });

  it("'auto' skips what is missing and reports why", async () => {
    const name = await initBackend('auto');
    expect(['tensorflow', 'webgpu', 'wasm', 'cpu']).toContain(name);
    const reports = await describeBackends();
    expect(reports.map((r) => r.source)).toEqual(['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu']);
    const active = reports.filter((r) => r.active);
    expect(active).toHaveLength(1);
    expect(active[0]?.backend).toBe(name);
    for (const r of reports) {
      if (r.available === false) expect(r.reason).toBeTruthy();
      expect(r.install.length).toBeGreaterThan(10);
    }
    const nodeReport = reports.find((r) => r.source === 'tfjs-node');
    expect(nodeReport?.available).toBe(false);
    expect(nodeReport?.reason).toMatch(/not installed/);
  });
});
