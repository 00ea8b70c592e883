"""Reference values for the long-tail / multi-label losses (packages/losses/test/fixtures/long-tail-*.json,
multi-label-*.json). Run: /usr/bin/python3 tools/reference/losses/long_tail.py

- crossEntropy:            torch F.cross_entropy (weight, label_smoothing), PyTorch 1.13 semantics
- softTargetCrossEntropy:  timm/loss/cross_entropy.py SoftTargetCrossEntropy
- balancedSoftmaxLoss:     jiawei-ren/BalancedMetaSoftmax, loss/BalancedSoftmaxLoss.py (CE(z + log n))
- logitAdjustedLoss:       Menon et al. arXiv 2007.07314 (CE(z + tau log pi))
- ldamLoss, focalLoss:     kaidic/LDAM-DRW, losses.py (LDAMLoss, FocalLoss/focal_loss)
- effectiveNumberWeights:  kaidic/LDAM-DRW cifar_train.py / val-iisc/DeiT-LT main.py (DRW weights)
- deitLtDistillationLoss:  val-iisc/DeiT-LT @bc36970, losses.py DistillationLoss (hard / soft, weighted)
- mdcsLoss:                fistyee/MDCS @1a1d54e, model/loss.py MDCSLoss.forward
- splcLoss:                jameslahm/SCPNet @d56341a, loss.py SPLC
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import case, f32, logits, near_one_hot, ties, write


def counts_for(c, rng, zero=False):
    n = np.maximum(1, np.round(500 * 0.9 ** np.arange(c) * rng.uniform(0.8, 1.2, c))).astype(np.int64)
    return [int(v) for v in n]


def eff_weights(counts, beta=0.9999):
    counts = np.array(counts, dtype=np.float64)
    w = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return w / w.sum() * len(counts)


def ce_ref(logits, labels, classWeights=None, labelSmoothing=0.0):
    w = None if classWeights is None else torch.tensor(classWeights)
    return F.cross_entropy(logits, labels, weight=w, label_smoothing=labelSmoothing)


def soft_ce_ref(logits, targets):
    return torch.sum(-targets.detach() * F.log_softmax(logits, dim=-1), dim=-1).mean()


def balanced_ref(logits, labels, classCounts):
    # the shifted logits are rounded to float32, as the reference computes them (float32 model outputs)
    shift = torch.tensor(classCounts, dtype=torch.float64).log().float()
    return F.cross_entropy((logits.float() + shift).double(), labels)


def la_ref(logits, labels, classPriors, tau=1.0):
    shift = (tau * torch.tensor(classPriors, dtype=torch.float64).log()).float()
    return F.cross_entropy((logits.float() + shift).double(), labels)


def ldam_ref(logits, labels, classCounts, max_m=0.5, s=30.0, weight=None):
    m_list = 1.0 / np.sqrt(np.sqrt(np.array(classCounts, dtype=np.float64)))
    m_list = torch.tensor(m_list * (max_m / np.max(m_list)))
    index = torch.zeros_like(logits, dtype=torch.bool).scatter_(1, labels.view(-1, 1), True)
    batch_m = torch.matmul(m_list[None, :], index.double().t()).view(-1, 1)
    out = torch.where(index, logits - batch_m, logits)
    return F.cross_entropy(s * out, labels, weight=None if weight is None else torch.tensor(weight))


def focal_ref(logits, labels, gamma=2.0, weight=None):
    ce = F.cross_entropy(logits, labels, reduction='none', weight=None if weight is None else torch.tensor(weight))
    p = torch.exp(-ce)
    return ((1 - p) ** gamma * ce).mean()


def deit_ref(clsLogits, distLogits, teacherLogits, labels, alpha=0.5, type='hard', temperature=1.0, weight=None):
    if labels.dim() > 1:
        base = soft_ce_ref(clsLogits, labels)
    else:
        base = F.cross_entropy(clsLogits, labels)
    t = teacherLogits.detach()
    if type == 'soft':
        T = temperature
        pred_t = F.log_softmax(t / T, dim=1)
        if weight is not None:
            pred_t = pred_t * torch.tensor(weight)
            pred_t = pred_t / pred_t.sum(1)[:, None]
        dist = F.kl_div(F.log_softmax(distLogits / T, dim=1), pred_t, reduction='sum', log_target=True) \
            * (T * T) / distLogits.numel()
    else:
        targets = t.argmax(dim=1)
        w = None if weight is None else torch.tensor(weight)
        dist = F.cross_entropy(distLogits, targets, weight=w)
    return base * (1 - alpha) + dist * alpha


def mdcs_ref(experts, labels, counts, lambdas=(-0.5, 1, 2.5), consistencyWeight=0.6, epoch=1, warmupEpochs=20):
    prior = torch.tensor(counts, dtype=torch.float64)
    num = labels.shape[0] // 2
    loss = 0
    kl = 0
    partial = labels[:num]
    for z, lam in zip(experts, lambdas):
        adj = z + torch.log(torch.pow(prior, lam) + 1e-9)
        t = F.softmax(adj[:num], dim=1).detach()
        s = F.log_softmax(adj[num:], dim=1)
        _, idx = torch.max(F.softmax(adj[:num], dim=1).detach(), dim=1)
        m = idx == partial
        if torch.sum(m) > 0:
            kl = kl + F.kl_div(s[m], t[m], reduction='batchmean')
        loss = loss + F.cross_entropy(adj, labels)
    return loss + consistencyWeight * kl * min(epoch / warmupEpochs, 1.0)


def splc_ref(logits, targets, epoch, tau=0.6, margin=1.0, gamma=2.0, change_epoch=1):
    targets = targets.detach()
    z = torch.where(targets == 1, logits - margin, logits)
    if epoch >= change_epoch:
        targets = torch.where(torch.sigmoid(z).detach() > tau, torch.ones_like(targets), targets)
    pred = torch.sigmoid(z)
    pt = (1 - pred) * targets + pred * (1 - targets)
    w = pt ** gamma
    loss = -(targets * F.logsigmoid(z) + (1 - targets) * F.logsigmoid(-z))
    return (loss * w).sum()


def mixup(labels, c, lam, smoothing=0.1):
    off = smoothing / c
    on = 1 - smoothing + off
    m1 = np.full((len(labels), c), off)
    m1[np.arange(len(labels)), labels] = on
    m2 = m1[::-1]
    return f32(lam * m1 + (1 - lam) * m2)


SHAPES = [('n8c10', 8, 10, 'normal'), ('n64c100', 64, 100, 'normal'), ('n2c1000', 2, 1000, 'normal'),
          ('extreme50', 8, 10, 'extreme50'), ('extreme1e4', 8, 10, 'extreme1e4')]


def baselines():
    out = []
    for seed, (name, n, c, kind) in enumerate(SHAPES):
        rng = np.random.default_rng(200 + seed)
        z = logits(rng, n, c, kind=kind)
        y = rng.integers(0, c, n).astype(np.int32)
        counts = counts_for(c, rng)
        w = [float(v) for v in eff_weights(counts)]
        priors = [v / sum(counts) for v in counts]
        inp = {'logits': z, 'labels': y}
        out.append(case(f'ce {name}', 'crossEntropy', inp, {}, ce_ref, ['logits']))
        out.append(case(f'ce weighted + smoothing 0.1 {name}', 'crossEntropy', inp,
                        {'classWeights': w, 'labelSmoothing': 0.1},
                        lambda logits, labels: ce_ref(logits, labels, w, 0.1), ['logits']))
        out.append(case(f'balanced softmax {name}', 'balancedSoftmaxLoss', {**inp, 'classCounts': counts}, {},
                        balanced_ref, ['logits']))
        out.append(case(f'logit adjusted tau=1 {name}', 'logitAdjustedLoss', {**inp, 'classPriors': priors}, {},
                        la_ref, ['logits']))
        cos = f32(np.tanh(z / 3)) if kind == 'normal' else z
        out.append(case(f'ldam {name}', 'ldamLoss', {'logits': cos, 'labels': y, 'classCounts': counts}, {},
                        ldam_ref, ['logits']))
        out.append(case(f'focal gamma=2 {name}', 'focalLoss', inp, {}, focal_ref, ['logits']))
        if name == 'n8c10':
            out.append(case('ce smoothing 0.2 (unweighted)', 'crossEntropy', inp, {'labelSmoothing': 0.2},
                            lambda logits, labels: ce_ref(logits, labels, None, 0.2), ['logits']))
            out.append(case('ce weighted', 'crossEntropy', inp, {'classWeights': w},
                            lambda logits, labels: ce_ref(logits, labels, w), ['logits']))
            out.append(case('logit adjusted tau=0.5 (counts as priors)', 'logitAdjustedLoss',
                            {**inp, 'classPriors': counts}, {'tau': 0.5},
                            lambda logits, labels, classPriors: la_ref(logits, labels, classPriors, 0.5), ['logits']))
            out.append(case('ldam DRW weights, max_m 0.3, s 10', 'ldamLoss',
                            {'logits': cos, 'labels': y, 'classCounts': counts},
                            {'classWeights': w, 'maxMargin': 0.3, 'scale': 10},
                            lambda logits, labels, classCounts: ldam_ref(logits, labels, classCounts, 0.3, 10.0, w),
                            ['logits']))
            out.append(case('focal gamma=1 weighted (LDAM-DRW quirk)', 'focalLoss', inp,
                            {'gamma': 1, 'classWeights': w},
                            lambda logits, labels: focal_ref(logits, labels, 1.0, w), ['logits']))
            out.append(case('focal gamma=0 (= CE)', 'focalLoss', inp, {'gamma': 0},
                            lambda logits, labels: focal_ref(logits, labels, 0.0), ['logits']))
            soft = mixup(y, c, 0.7)
            out.append(case('soft target CE (mixup 0.7)', 'softTargetCrossEntropy', {'logits': z, 'targets': soft},
                            {}, soft_ce_ref, ['logits'], ['targets']))
    return out


def deit():
    out = []
    for seed, (name, n, c, kind) in enumerate(SHAPES):
        rng = np.random.default_rng(300 + seed)
        zc, zd = logits(rng, n, c, kind=kind), logits(rng, n, c, kind=kind)
        zt = logits(rng, n, c, kind=kind, scale=3.0)
        y = rng.integers(0, c, n).astype(np.int32)
        w = [float(v) for v in eff_weights(counts_for(c, rng))]
        inp = {'clsLogits': zc, 'distLogits': zd, 'teacherLogits': zt, 'labels': y}
        grads, det = ['clsLogits', 'distLogits'], ['teacherLogits']
        if name != 'n64c100':
            out.append(case(f'deit-lt hard {name}', 'deitLtDistillationLoss', inp, {}, deit_ref, grads, det))
        out.append(case(f'deit-lt hard weighted {name}', 'deitLtDistillationLoss', inp, {'classWeights': w},
                        lambda **k: deit_ref(**k, weight=w), grads, det))
        if name == 'n64c100':
            continue
        out.append(case(f'deit-lt soft T=1 {name}', 'deitLtDistillationLoss', inp, {'type': 'soft'},
                        lambda **k: deit_ref(**k, type='soft'), grads, det))
    rng = np.random.default_rng(400)
    n, c = 8, 10
    zc, zd = logits(rng, n, c), logits(rng, n, c)
    y = rng.integers(0, c, n).astype(np.int32)
    w = [float(v) for v in eff_weights(counts_for(c, rng))]
    grads, det = ['clsLogits', 'distLogits'], ['teacherLogits']
    tt = ties(rng, n, c)
    out.append(case('deit-lt hard, tied teacher (argmax = first max)', 'deitLtDistillationLoss',
                    {'clsLogits': zc, 'distLogits': zd, 'teacherLogits': tt, 'labels': y}, {'classWeights': w},
                    lambda **k: deit_ref(**k, weight=w), grads, det))
    t1 = near_one_hot(rng, y, c)
    out.append(case('deit-lt soft T=3 alpha 0.3, near-one-hot teacher', 'deitLtDistillationLoss',
                    {'clsLogits': zc, 'distLogits': zd, 'teacherLogits': t1, 'labels': y},
                    {'type': 'soft', 'temperature': 3, 'alpha': 0.3},
                    lambda **k: deit_ref(**k, type='soft', temperature=3.0, alpha=0.3), grads, det))
    out.append(case('deit-lt soft weighted (reference quirk)', 'deitLtDistillationLoss',
                    {'clsLogits': zc, 'distLogits': zd, 'teacherLogits': tt, 'labels': y},
                    {'type': 'soft', 'temperature': 2, 'classWeights': w},
                    lambda **k: deit_ref(**k, type='soft', temperature=2.0, weight=w), grads, det))
    soft = mixup(y, c, 0.6)
    out.append(case('deit-lt hard, mixup base (soft target CE)', 'deitLtDistillationLoss',
                    {'clsLogits': zc, 'distLogits': zd, 'teacherLogits': tt, 'labels': soft}, {},
                    deit_ref, grads, det + ['labels']))
    return out


def mdcs():
    out = []
    for seed, (name, b, c, kind) in enumerate(SHAPES):
        rng = np.random.default_rng(500 + seed)
        if name == 'n64c100':
            name, b = 'b32c100 (64 rows)', 32
        y = rng.integers(0, c, b).astype(np.int32)
        labels = np.concatenate([y, y]).astype(np.int32)
        counts = counts_for(c, rng)
        experts = {}
        for k in range(3):
            z = logits(rng, 2 * b, c, kind=kind)
            # make about half of the weak rows confidently right, so the CIS mask selects some rows
            right = rng.random(b) < 0.5
            z[np.arange(b)[right], y[right]] += 40.0 if kind != 'extreme1e4' else 3e4
            experts[f'e{k}'] = f32(z)
        inp = {**experts, 'labels': labels, 'classCounts': counts}
        args = [['e0', 'e1', 'e2'], 'labels', 'classCounts']
        for epoch in ([5, 40] if name == 'n8c10' else [30]):
            out.append(case(f'mdcs {name} epoch {epoch}', 'mdcsLoss', inp, {'epoch': epoch},
                            lambda e0, e1, e2, labels, classCounts, epoch=epoch:
                            mdcs_ref([e0, e1, e2], labels, classCounts, epoch=epoch),
                            ['e0', 'e1', 'e2'], args=args))
    # empty CIS selection for every expert: labels are each weak row's argmin
    rng = np.random.default_rng(600)
    b, c = 4, 10
    counts = [10] * c
    e = [logits(rng, 2 * b, c) for _ in range(2)]
    y = np.argmin(e[0][:b] + np.log(np.power(np.array(counts, dtype=np.float64), -0.5) + 1e-9), axis=1)
    y2 = np.argmin(e[1][:b] + np.log(np.power(np.array(counts, dtype=np.float64), 1.0) + 1e-9), axis=1)
    e[1][:b][np.arange(b), y] = e[1][:b][np.arange(b), y2] - 1.0  # make y expert 2's minimum too
    labels = np.concatenate([y, y]).astype(np.int32)
    out.append(case('mdcs empty selection (2 experts, lambdas -0.5 / 1)', 'mdcsLoss',
                    {'e0': e[0], 'e1': f32(e[1]), 'labels': labels, 'classCounts': counts},
                    {'epoch': 10, 'lambdas': [-0.5, 1]},
                    lambda e0, e1, labels, classCounts: mdcs_ref([e0, e1], labels, classCounts, (-0.5, 1), epoch=10),
                    ['e0', 'e1'], args=[['e0', 'e1'], 'labels', 'classCounts']))
    return out


def splc():
    out = []
    for seed, (name, n, c, kind) in enumerate(SHAPES):
        rng = np.random.default_rng(700 + seed)
        z = logits(rng, n, c, kind=kind)
        y = np.zeros((n, c))
        y[np.arange(n), rng.integers(0, c, n)] = 1.0
        y = f32(y)
        for epoch in ([0, 1, 3] if name == 'n8c10' else [2]):
            out.append(case(f'splc {name} epoch {epoch}', 'splcLoss', {'logits': z, 'multiHotTargets': y},
                            {'epoch': epoch},
                            lambda logits, multiHotTargets, epoch=epoch: splc_ref(logits, multiHotTargets, epoch),
                            ['logits'], ['multiHotTargets']))
    rng = np.random.default_rng(800)
    z = logits(rng, 8, 10, scale=3.0)
    y = f32((rng.random((8, 10)) < 0.2).astype(np.float64))
    out.append(case('splc multi-positive, tau 0.5 margin 0.5 gamma 1 change 2', 'splcLoss',
                    {'logits': z, 'multiHotTargets': y},
                    {'epoch': 2, 'tau': 0.5, 'margin': 0.5, 'gamma': 1, 'changeEpoch': 2},
                    lambda logits, multiHotTargets: splc_ref(logits, multiHotTargets, 2, 0.5, 0.5, 1.0, 2),
                    ['logits'], ['multiHotTargets']))
    return out


def main():
    by_fn = {}
    for c in baselines() + deit() + mdcs():
        by_fn.setdefault(c['fn'], []).append(c)
    for fn, cases in by_fn.items():
        write(f'long-tail-{fn}.json', cases, 'long_tail.py')
    write('multi-label-splcLoss.json', splc(), 'long_tail.py')
    # effectiveNumberWeights: plain values
    import json, os
    from common import FIXTURES
    cases = []
    for counts, beta in [([500, 200, 50, 5, 1], 0.9999), ([500, 200, 50, 5, 1], 0.999), ([7, 7, 7], 0.9),
                         ([500, 200, 50, 5, 1], 0.0), ([5000, 2, 1], 0.99)]:
        cases.append({'counts': counts, 'beta': beta, 'weights': [float(v) for v in eff_weights(counts, beta)]})
    with open(os.path.join(FIXTURES, 'effective-number-weights.json'), 'w') as f:
        json.dump({'generator': 'tools/reference/losses/long_tail.py', 'cases': cases}, f)


if __name__ == '__main__':
    main()
