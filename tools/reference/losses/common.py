"""Shared helpers for the @distillery/losses reference scripts (run with /usr/bin/python3, Debian's PyTorch).

Inputs are float32-representable numbers rounded to 6 significant digits (so tfjs and PyTorch start from the same
float32 values); references are computed in float64 and written as JSON fixtures with the loss value and the
gradient with respect to every differentiable input. Inputs the reference detaches are listed in "detached":
the tests check that their gradient is zero.
"""
import json
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
FIXTURES = os.path.join(ROOT, 'packages', 'losses', 'test', 'fixtures')


def f32(a):
    """Round to 6 significant digits, then to float32; return float64 numpy with exactly those values."""
    a = np.asarray(a, dtype=np.float64)
    a = np.array([float('%.6g' % v) for v in a.ravel()]).reshape(a.shape)
    return a.astype(np.float32).astype(np.float64)


def logits(rng, n, c, scale=2.0, kind='normal'):
    if kind == 'normal':
        return f32(rng.standard_normal((n, c)) * scale)
    if kind == 'extreme50':
        return f32(rng.uniform(-50, 50, (n, c)))
    if kind == 'extreme1e4':
        z = rng.standard_normal((n, c)) * 3
        big = rng.random((n, c)) < 0.3
        z[big] = rng.choice([-1e4, 1e4], size=big.sum())
        return f32(z)
    raise ValueError(kind)


def near_one_hot(rng, labels, c, height=30.0):
    n = len(labels)
    z = rng.standard_normal((n, c)) * 0.01
    z[np.arange(n), labels] += height
    return f32(z)


def ties(rng, n, c):
    """Rows with tied maxima and fully constant rows."""
    z = f32(rng.standard_normal((n, c)))
    z[0, :] = 0.0
    z[1, :2] = 5.0
    if n > 2:
        z[2, 3:6] = 4.0
    return f32(z)


def enc(value):
    if isinstance(value, np.ndarray):
        return {'shape': list(value.shape), 'dtype': 'int32' if value.dtype.kind in 'iu' else 'float32',
                'data': [int(v) for v in value.ravel()] if value.dtype.kind in 'iu'
                else [float('%.6g' % v) for v in value.ravel()]}
    return value


def case(name, fn, inputs, options, compute, differentiable, detached=(), args=None):
    """Runs `compute(**tensors)`, returns a fixture case with loss and gradients.

    inputs: dict name -> numpy array (ints stay ints); differentiable: names to take gradients for;
    detached: names whose gradient must be zero (the reference detaches them).
    """
    tensors = {}
    for k, v in inputs.items():
        if isinstance(v, np.ndarray) and v.dtype.kind == 'f':
            tensors[k] = torch.tensor(v, dtype=torch.float64, requires_grad=k in differentiable or k in detached)
        elif isinstance(v, np.ndarray):
            tensors[k] = torch.tensor(v, dtype=torch.int64)
        else:
            tensors[k] = v
    loss = compute(**tensors)
    grads = {}
    wrt = [k for k in list(differentiable) + list(detached)]
    if wrt:
        gs = torch.autograd.grad(loss, [tensors[k] for k in wrt], allow_unused=True)
        for k, g in zip(wrt, gs):
            if k in detached:
                assert g is None or float(g.abs().max()) == 0.0, f'{name}: {k} should be detached'
            else:
                g = torch.zeros_like(tensors[k]) if g is None else g
                grads[k] = [float('%.6g' % v) for v in g.detach().numpy().ravel()]
    return {
        'name': name, 'fn': fn, 'args': args or list(inputs.keys()),
        'inputs': {k: enc(v) for k, v in inputs.items()},
        'options': options, 'loss': float(loss.detach()), 'grads': grads, 'detached': list(detached),
    }


def write(filename, cases, generator):
    """Writes cases; identical input tensors are stored once under "tensors" and referenced as {"ref": key}."""
    os.makedirs(FIXTURES, exist_ok=True)
    path = os.path.join(FIXTURES, filename)
    tensors, keys = {}, {}
    for c in cases:
        for name, value in c['inputs'].items():
            if isinstance(value, dict) and 'data' in value:
                text = json.dumps(value, separators=(',', ':'))
                key = keys.setdefault(text, f't{len(keys)}')
                tensors[key] = value
                c['inputs'][name] = {'ref': key}
    with open(path, 'w') as f:
        json.dump({'generator': 'tools/reference/losses/' + generator, 'tensors': tensors, 'cases': cases}, f,
                  separators=(',', ':'))
    print(f'{path}: {len(cases)} cases, {os.path.getsize(path) / 1024:.0f} KiB')
