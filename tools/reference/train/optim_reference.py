"""Parity fixtures for @distillery/train optimizers and LR schedules: torch.optim (SGD, SGD nesterov, AdamW,
clip_grad_norm_) over a few steps of a small tanh MLP regression, a SAM step written from the paper (Foret et al.,
arXiv 2010.01412), and torch.optim.lr_scheduler sequences.
Run: /usr/bin/python3 tools/reference/train/optim_reference.py"""
import json
import math
import os

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)
X = torch.randn(8, 5)
Y = torch.randn(8, 3)
W1_0 = torch.randn(5, 4) * 0.5
W2_0 = torch.randn(4, 3) * 0.5
B_0 = torch.randn(3) * 0.1
STEPS = 6


def loss_fn(params):
    w1, w2, b = params
    return ((torch.tanh(X @ w1) @ w2 + b - Y) ** 2).mean()


def fresh():
    return [W1_0.clone().requires_grad_(True), W2_0.clone().requires_grad_(True), B_0.clone().requires_grad_(True)]


def snapshot(params):
    return [p.detach().reshape(-1).tolist() for p in params]


def run(make_opt, clip=None, sam_rho=None, adaptive=False):
    params = fresh()
    opt = make_opt(params)
    traj, losses = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = loss_fn(params)
        loss.backward()
        losses.append(loss.item())
        if sam_rho is not None:
            # SAM: e = rho * g / (||g|| + 1e-12); gradient at w + e; restore w; base step with that gradient
            # adaptive (ASAM): norm of |w|*g, e = rho * w^2 * g / (norm + 1e-12)
            grads = [p.grad.detach().clone() for p in params]
            scaled = [(p.detach().abs() if adaptive else 1.0) * g for p, g in zip(params, grads)]
            norm = torch.norm(torch.stack([g.norm(2) for g in scaled]), 2)
            old = [p.detach().clone() for p in params]
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p.add_((p.pow(2) if adaptive else 1.0) * g * (sam_rho / (norm + 1e-12)))
            opt.zero_grad()
            loss_fn(params).backward()
            with torch.no_grad():
                for p, o in zip(params, old):
                    p.copy_(o)
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        traj.append(snapshot(params))
    return {'losses': losses, 'params': traj}


cases = {
    'sgd': dict(opt=lambda p: torch.optim.SGD(p, lr=0.1), ts={'type': 'sgd', 'lr': 0.1}),
    'sgd_momentum_wd_dampening': dict(
        opt=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-3),
        ts={'type': 'sgd', 'lr': 0.05, 'momentum': 0.9, 'dampening': 0.1, 'weightDecay': 1e-3}),
    'sgd_nesterov': dict(
        opt=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4),
        ts={'type': 'sgd', 'lr': 0.05, 'momentum': 0.9, 'nesterov': True, 'weightDecay': 5e-4}),
    'adamw_default': dict(opt=lambda p: torch.optim.AdamW(p, lr=0.01), ts={'type': 'adamw', 'lr': 0.01}),
    'adamw_amsgrad': dict(
        opt=lambda p: torch.optim.AdamW(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=True),
        ts={'type': 'adamw', 'lr': 0.02, 'betas': [0.8, 0.99], 'eps': 1e-6, 'weightDecay': 0.05, 'amsgrad': True}),
    'sgd_momentum_clip': dict(opt=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), clip=0.5,
                              ts={'type': 'sgd', 'lr': 0.1, 'momentum': 0.9, 'clip': 0.5}),
    'sam_sgd': dict(opt=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), sam=0.05,
                    ts={'type': 'sgd', 'lr': 0.1, 'momentum': 0.9, 'sam': 0.05}),
    'adamw_no_decay_bias': dict(
        opt=lambda p: torch.optim.AdamW([{'params': p[:2]}, {'params': p[2:], 'weight_decay': 0.0}], lr=0.02,
                                        weight_decay=0.1),
        ts={'type': 'adamw', 'lr': 0.02, 'weightDecay': 0.1, 'timmNoDecay': True}),
    'sgd_no_decay_bias': dict(
        opt=lambda p: torch.optim.SGD([{'params': p[:2]}, {'params': p[2:], 'weight_decay': 0.0}], lr=0.05,
                                      momentum=0.9, weight_decay=0.01),
        ts={'type': 'sgd', 'lr': 0.05, 'momentum': 0.9, 'weightDecay': 0.01, 'timmNoDecay': True}),
    'asam_adamw': dict(opt=lambda p: torch.optim.AdamW(p, lr=0.01), sam=0.5, adaptive=True,
                       ts={'type': 'adamw', 'lr': 0.01, 'sam': 0.5, 'adaptive': True}),
}

out = {'X': X.tolist(), 'Y': Y.tolist(), 'init': snapshot([W1_0, W2_0, B_0]),
       'shapes': [[5, 4], [4, 3], [3]], 'cases': {}}
for name, c in cases.items():
    r = run(c['opt'], clip=c.get('clip'), sam_rho=c.get('sam'), adaptive=c.get('adaptive', False))
    out['cases'][name] = {'options': c['ts'], **r}


def lrs(make_sched, n, base=0.1):
    p = [torch.zeros(1, requires_grad=True)]
    opt = torch.optim.SGD(p, lr=base)
    s = make_sched(opt)
    seq = []
    for _ in range(n):
        seq.append(opt.param_groups[0]['lr'])
        opt.step()
        s.step()
    return seq


S = torch.optim.lr_scheduler
out['schedules'] = {
    'step': {'args': {'stepSize': 3, 'gamma': 0.5}, 'lrs': lrs(lambda o: S.StepLR(o, 3, gamma=0.5), 12)},
    'multistep': {'args': {'milestones': [2, 5], 'gamma': 0.1}, 'lrs': lrs(lambda o: S.MultiStepLR(o, [2, 5], 0.1), 8)},
    'cosine': {'args': {'tMax': 10, 'etaMin': 1e-4}, 'lrs': lrs(lambda o: S.CosineAnnealingLR(o, 10, 1e-4), 11)},
    'linear': {'args': {'startFactor': 0.1, 'totalIters': 4}, 'lrs': lrs(lambda o: S.LinearLR(o, 0.1, 1.0, 4), 7)},
    'onecycle_cos': {'args': {'totalSteps': 20}, 'lrs': lrs(lambda o: S.OneCycleLR(o, 0.1, total_steps=20), 20)},
    'onecycle_linear_3phase': {
        'args': {'totalSteps': 25, 'pctStart': 0.25, 'annealStrategy': 'linear', 'threePhase': True,
                 'divFactor': 10, 'finalDivFactor': 100},
        'lrs': lrs(lambda o: S.OneCycleLR(o, 0.1, total_steps=25, pct_start=0.25, anneal_strategy='linear',
                                          three_phase=True, div_factor=10, final_div_factor=100), 25)},
    'warmup_cosine_sequential': {
        'args': {'warmup': 3, 'startFactor': 0.01, 'tMax': 9},
        'lrs': lrs(lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.01, 1.0, 3), S.CosineAnnealingLR(o, 9)], [3]), 12)},
}

path = os.path.join(os.path.dirname(__file__), '../../../packages/train/test/fixtures/optim.json')
with open(path, 'w') as f:
    json.dump(out, f)
print('wrote', os.path.abspath(path), os.path.getsize(path), 'bytes')
