"""Reference values for CLKD (instanceLogitLoss, classLogitLoss, classCorrelationLoss, clkdLoss) and TRG (trgLoss,
contextualLoss): packages/losses/test/fixtures/relational-*.json. Run: /usr/bin/python3 tools/reference/losses/relational.py

Neither paper has official code and the losses card marks both UNVERIFIED. These scripts implement exactly the choices
documented in packages/losses/src/relational/*.ts (CLKD: the mdistiller-style re-implementations' formulas; TRG: the
card's formulas with our k, sigma, sampling, temperature and reduction choices), so the fixtures check the tfjs code
against an independent PyTorch implementation of the same definitions, not against the papers.
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import case, f32, logits, ties, write


def clkd_parts(s, t, normalizer='classes', squared=False):
    t = t.detach()
    ins = F.mse_loss(F.normalize(s, p=2, dim=1), F.normalize(t, p=2, dim=1))
    cla = F.mse_loss(F.normalize(s.t(), p=2, dim=1), F.normalize(t.t(), p=2, dim=1))
    n, c = s.shape
    den = (c - 1) if normalizer == 'classes' else (n - 1)

    def corr(z):
        d = z - z.mean(0, keepdim=True)
        return d.t() @ d / den
    diff = corr(s) - corr(t)
    norm = (diff ** 2).sum() if squared else torch.norm(diff)
    return ins, cla, norm / c ** 2


def trg_ref(studentTokens, teacherTokens, tokenIndices, k=8, sigma='auto', temperature=0.1, weights=(1, 1, 1),
            part='total'):
    t_all = teacherTokens.detach()
    idx = torch.tensor(tokenIndices)
    n, m = idx.shape
    d = studentTokens.shape[2]
    s = torch.stack([studentTokens[i, idx[i]] for i in range(n)])
    t = torch.stack([t_all[i, idx[i]] for i in range(n)])
    sf, tf_ = s.reshape(n * m, d), t.reshape(n * m, d)
    nodes = n * m
    kk = min(k, nodes - 1)
    ds = torch.cdist(sf, sf) ** 2
    dt = torch.cdist(tf_, tf_) ** 2
    dt_noself = dt + torch.eye(nodes) * 1e30
    kth = torch.topk(dt_noself, kk, dim=1, largest=False).values[:, -1:]
    nb = (dt_noself <= kth)
    width = dt[nb].mean() if sigma == 'auto' else torch.tensor(float(sigma))

    def masked_log_softmax(dist):
        a = torch.exp(-dist / (2 * width))
        a = a.masked_fill(~nb, float('-inf'))
        return F.log_softmax(a, dim=1)
    lps, lpt = masked_log_softmax(ds), masked_log_softmax(dt)
    ps = lps.exp()
    local = (ps * (lps.masked_fill(~nb, 0.0) - lpt.masked_fill(~nb, 0.0))).sum() / nodes
    sim = F.normalize(sf, dim=1) @ F.normalize(tf_, dim=1).t() / temperature
    glob = F.cross_entropy(sim, torch.arange(nodes))

    def cs(x):
        return F.softmax(x @ x.transpose(1, 2) / d ** 0.5, dim=-1)
    ctx = F.mse_loss(cs(s), cs(t))
    parts = {'local': local, 'global': glob, 'contextual': ctx,
             'total': weights[0] * local + weights[1] * glob + weights[2] * ctx}
    return parts[part]


def contextual_ref(studentTokens, teacherTokens):
    d = studentTokens.shape[2]

    def cs(x):
        return F.softmax(x @ x.transpose(1, 2) / d ** 0.5, dim=-1)
    return F.mse_loss(cs(studentTokens), cs(teacherTokens.detach()))


def main():
    clkd = []
    shapes = [('n8c10', 8, 10, 'normal'), ('n64c100', 64, 100, 'normal'), ('n2c1000', 2, 1000, 'normal'),
              ('extreme50', 8, 10, 'extreme50'), ('extreme1e4', 8, 10, 'extreme1e4')]
    for seed, (name, n, c, kind) in enumerate(shapes):
        rng = np.random.default_rng(900 + seed)
        s, t = logits(rng, n, c, kind=kind), logits(rng, n, c, kind=kind, scale=3.0)
        inp = {'student': s, 'teacher': t}
        clkd.append(case(f'clkd {name}', 'clkdLoss', inp, {},
                         lambda student, teacher: (lambda p: 0.5 * p[0] + 1.0 * p[1] + 0.4 * p[2])(
                             clkd_parts(student, teacher)), ['student'], ['teacher']))
        if name in ('n8c10', 'n64c100'):
            clkd.append(case(f'instance {name}', 'instanceLogitLoss', inp, {},
                             lambda student, teacher: clkd_parts(student, teacher)[0], ['student'], ['teacher']))
            clkd.append(case(f'class {name}', 'classLogitLoss', inp, {},
                             lambda student, teacher: clkd_parts(student, teacher)[1], ['student'], ['teacher']))
            clkd.append(case(f'class correlation {name}', 'classCorrelationLoss', inp, {},
                             lambda student, teacher: clkd_parts(student, teacher)[2], ['student'], ['teacher']))
    rng = np.random.default_rng(950)
    s, t = logits(rng, 8, 10), ties(rng, 8, 10)
    clkd.append(case('class correlation, batch normaliser, squared norm, tied teacher', 'classCorrelationLoss',
                     {'student': s, 'teacher': t}, {'normalizer': 'batch', 'squaredNorm': True},
                     lambda student, teacher: clkd_parts(student, teacher, 'batch', True)[2], ['student'], ['teacher']))
    clkd.append(case('clkd weights 1/2/0.1, zero-row teacher', 'clkdLoss', {'student': s, 'teacher': t},
                     {'instanceWeight': 1, 'classWeight': 2, 'correlationWeight': 0.1},
                     lambda student, teacher: (lambda p: p[0] + 2 * p[1] + 0.1 * p[2])(clkd_parts(student, teacher)),
                     ['student'], ['teacher']))
    write('relational-clkd.json', clkd, 'relational.py')

    trg = []
    for seed, (n, l, d, m, opts) in enumerate([(4, 12, 8, 5, {}), (8, 49, 16, 16, {}),
                                                (2, 20, 16, 6, {'k': 3, 'sigma': 4.0, 'temperature': 0.5}),
                                                (3, 10, 6, 10, {'k': 4, 'weights': {'local': 2, 'global': 0.5,
                                                                                      'contextual': 3}})]):
        rng = np.random.default_rng(1000 + seed)
        s = f32(rng.standard_normal((n, l, d)))
        t = f32(rng.standard_normal((n, l, d)) * 1.5)
        idx = [sorted(int(v) for v in rng.permutation(l)[:m]) for _ in range(n)]
        w = opts.get('weights', {})
        kw = {'k': opts.get('k', 8), 'sigma': opts.get('sigma', 'auto'), 'temperature': opts.get('temperature', 0.1),
              'weights': (w.get('local', 1), w.get('global', 1), w.get('contextual', 1))}
        options = {**opts, 'tokenIndices': idx}
        for part in ['local', 'global', 'contextual', 'total']:
            trg.append(case(f'trg {part} n{n} l{l} d{d} m{m} {opts}', 'trgLoss',
                            {'studentTokens': s, 'teacherTokens': t}, {**options, 'part': part},
                            lambda studentTokens, teacherTokens, part=part:
                            trg_ref(studentTokens, teacherTokens, idx, part=part, **kw),
                            ['studentTokens'], ['teacherTokens']))
        trg.append(case(f'contextual (all tokens) n{n} l{l} d{d}', 'contextualLoss',
                        {'studentTokens': s, 'teacherTokens': t}, {}, contextual_ref,
                        ['studentTokens'], ['teacherTokens']))
    write('relational-trg.json', trg, 'relational.py')


if __name__ == '__main__':
    main()
