"""PyTorch side of packages/losses/bench/losses.bench.mjs: forward + backward of every loss at N=256, C=1000 (TRG on
tokens [64, 196, 192], 16 sampled per image), float32, one thread (`--threads N` for N). Prints one JSON object
{name: wall ms, 'cpu': {name: CPU ms}}; `--cases 'a|b'` times only those cases, `--repeats R` takes the median of R runs (default 5).

The loss definitions are the reference scripts' (tools/reference/losses/*.py), run in float32 here, except DKD, LDAM
and MDCS, written here as the official code computes them (the reference scripts use slower exact forms).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'reference', 'losses'))
import distillation as D  # noqa: E402
import long_tail as LT  # noqa: E402
import relational as R  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument('--threads', type=int, default=1)
parser.add_argument('--cases', default='')
parser.add_argument('--repeats', type=int, default=5)
args = parser.parse_args()

torch.set_default_dtype(torch.float32)
torch.set_num_threads(args.threads)
torch.manual_seed(0)
N, C = 256, 1000


def median_ms(fn, warmup=2, repeats=5):
    """(wall, CPU) medians in ms; the CPU time (time.process_time, all threads) is robust to a loaded machine."""
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    cpu.sort()
    return times[len(times) // 2], cpu[len(cpu) // 2]


def leaf(*shape, scale=2.0):
    return (torch.randn(*shape) * scale).requires_grad_(True)


s, t, w = leaf(N, C), torch.randn(N, C) * 3, leaf(N, C)
zc, zd = leaf(N, C), leaf(N, C)
y = torch.randint(0, C, (N,))
counts = [max(1, int(round(500 * 0.99 ** i))) for i in range(C)]
counts_t = torch.tensor(counts, dtype=torch.float32)
weights = torch.tensor(LT.eff_weights(counts), dtype=torch.float32)
lam = 0.7
yy = F.one_hot(y, C).float()
soft = lam * (0.9 * yy + 0.1 / C) + (1 - lam) * (0.9 * yy.flip(0) + 0.1 / C)
experts = [leaf(N, C) for _ in range(3)]
labels2 = torch.cat([y[: N // 2], y[: N // 2]])
multi = torch.zeros(N, C)
multi[torch.arange(N), y] = 1
tok_s, tok_t = leaf(64, 196, 192, scale=1.0), torch.randn(64, 196, 192)
tok_idx = [sorted(np.random.default_rng(i).permutation(196)[:16].tolist()) for i in range(64)]


def ldam32(logits, labels, max_m=0.5, s_=30.0):
    m = 1.0 / torch.sqrt(torch.sqrt(counts_t))
    m = m * (max_m / m.max())
    index = F.one_hot(labels, C).bool()
    out = torch.where(index, logits - m[labels].view(-1, 1), logits)
    return F.cross_entropy(s_ * out, labels)


def dkd_official(ls, lt, labels, alpha=1.0, beta=8.0, T=4.0):
    # mdistiller DKD.py as written (binary probabilities via log, non-target via − 1000·mask)
    g = F.one_hot(labels, C).float()
    ps, pt = F.softmax(ls / T, 1), F.softmax(lt / T, 1)
    bs = torch.cat([(ps * g).sum(1, keepdim=True), (ps * (1 - g)).sum(1, keepdim=True)], 1)
    bt = torch.cat([(pt * g).sum(1, keepdim=True), (pt * (1 - g)).sum(1, keepdim=True)], 1)
    tckd = F.kl_div(torch.log(bs), bt, reduction='sum') * T ** 2 / ls.shape[0]
    pt2 = F.softmax(lt / T - 1000.0 * g, 1)
    ls2 = F.log_softmax(ls / T - 1000.0 * g, 1)
    nckd = F.kl_div(ls2, pt2, reduction='sum') * T ** 2 / ls.shape[0]
    return alpha * tckd + beta * nckd


def mdcs32(zs, labels, lambdas=(-0.5, 1.0, 2.5), epoch=30):
    num = labels.shape[0] // 2
    loss, kl = 0, 0
    for z, l_ in zip(zs, lambdas):
        adj = z + torch.log(counts_t ** l_ + 1e-9)
        tp = F.softmax(adj[:num], 1).detach()
        sp = F.log_softmax(adj[num:], 1)
        m = tp.argmax(1) == labels[:num]
        if m.sum() > 0:
            kl = kl + F.kl_div(sp[m], tp[m], reduction='batchmean')
        loss = loss + F.cross_entropy(adj, labels)
    return loss + 0.6 * kl * min(epoch / 20, 1.0)


cases = {
    'crossEntropy': (lambda: F.cross_entropy(s, y), [s]),
    'kdLoss': (lambda: D.kd_ref(s, t), [s]),
    'dkdLoss': (lambda: dkd_official(s, t, y), [s]),
    'nkdLoss': (lambda: D.nkd_ref(s, t, y), [s]),
    'uskdLoss': (lambda: D.uskd_ref(s, w, y), [s, w]),
    'uskdLoss (mixup targets)': (lambda: D.uskd_ref(s, w, soft), [s, w]),
    'deitLtDistillationLoss (hard, DRW weights)': (
        lambda: LT.deit_ref(zc, zd, t, y, weight=weights.tolist()), [zc, zd]),
    'deitLtDistillationLoss (soft)': (lambda: LT.deit_ref(zc, zd, t, y, type='soft'), [zc, zd]),
    'mdcsLoss (3 experts, 256 rows)': (lambda: mdcs32(experts, labels2), experts),
    'crossEntropy (smoothing 0.1, weights)': (
        lambda: F.cross_entropy(s, y, weight=weights, label_smoothing=0.1), [s]),
    'softTargetCrossEntropy': (lambda: LT.soft_ce_ref(s, soft), [s]),
    'balancedSoftmaxLoss': (lambda: F.cross_entropy(s + counts_t.log(), y), [s]),
    'logitAdjustedLoss': (lambda: F.cross_entropy(s + (counts_t / counts_t.sum()).log(), y), [s]),
    'ldamLoss': (lambda: ldam32(torch.tanh(s), y), [s]),
    'focalLoss': (lambda: LT.focal_ref(s, y), [s]),
    'splcLoss': (lambda: LT.splc_ref(s, multi, 3), [s]),
    'clkdLoss': (lambda: (lambda p: 0.5 * p[0] + p[1] + 0.4 * p[2])(R.clkd_parts(s, t)), [s]),
    'trgLoss (tokens 64×196×192, M=16)': (lambda: R.trg_ref(tok_s, tok_t, tok_idx), [tok_s]),
}


def fwd_bwd(fn, xs):
    def run():
        loss = fn()
        torch.autograd.grad(loss, xs)
    return run


out = {'version': torch.__version__, 'threads': torch.get_num_threads(), 'cpu': {}}
wanted = [c for c in args.cases.split('|') if c] or list(cases)
for name in wanted:
    fn, xs = cases[name]
    out[name], out['cpu'][name] = median_ms(fwd_bwd(fn, xs), repeats=args.repeats)
print(json.dumps(out))
