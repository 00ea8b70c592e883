"""Reference values for kdLoss, dkdLoss, nkdLoss and uskdLoss (packages/losses/test/fixtures/distillation-*.json).

Run: /usr/bin/python3 tools/reference/losses/distillation.py

Formulas as the official code computes them (see each function), in float64:
- KD:   megvii-research/mdistiller @a08d46f, mdistiller/distillers/KD.py (kd_loss)
- DKD:  mdistiller/distillers/DKD.py (dkd_loss). The reference's log(b) of the binary probabilities is replaced by
        the stable log-sum-exp form and its `- 1000 * gt_mask` by dropping the target column (both as the losses card
        prescribes); identical wherever the reference is finite and its shift is exact.
- NKD:  yzd-v/cls_KD @1e5d48f, mmcls/models/dis_losses/nkd.py (fixed mask, commit 9466b3f)
- USKD: yzd-v/cls_KD, mmcls/models/dis_losses/uskd.py, with the ranking quirk (log-softmax in the rank score).
        The ranking is done in float32, as the reference runs it.
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import case, logits, near_one_hot, ties, write, f32


def kd_ref(student, teacher, temperature=4.0):
    log_s = F.log_softmax(student / temperature, dim=1)
    p_t = F.softmax(teacher.detach() / temperature, dim=1)
    return F.kl_div(log_s, p_t, reduction='none').sum(1).mean() * temperature ** 2


def _drop(x, label):
    n, c = x.shape
    mask = torch.ones_like(x, dtype=torch.bool).scatter_(1, label.view(-1, 1), False)
    return x[mask].reshape(n, c - 1)


def dkd_ref(student, teacher, labels, alpha=1.0, beta=8.0, temperature=4.0):
    teacher = teacher.detach()
    n = student.shape[0]
    g = F.one_hot(labels, student.shape[1]).bool()

    def log_binary(z):
        ls = F.log_softmax(z / temperature, dim=1)
        tgt = ls[g].view(-1, 1)
        non = torch.logsumexp(_drop(ls, labels), dim=1, keepdim=True)
        return torch.cat([tgt, non], 1)

    lbs, lbt = log_binary(student), log_binary(teacher)
    tckd = (lbt.exp() * (lbt - lbs)).sum() * temperature ** 2 / n
    lps = F.log_softmax(_drop(student, labels) / temperature, dim=1)
    lpt = F.log_softmax(_drop(teacher, labels) / temperature, dim=1)
    nckd = (lpt.exp() * (lpt - lps)).sum() * temperature ** 2 / n
    return alpha * tckd + beta * nckd


def nkd_ref(student, teacher, labels, temperature=1.0, gamma=1.5):
    teacher = teacher.detach()
    if labels.dim() > 1:
        label = torch.max(labels, dim=1, keepdim=True)[1]
    else:
        label = labels.view(-1, 1)
    s_i = F.log_softmax(student, dim=1)
    t_i = F.softmax(teacher, dim=1)
    s_t = torch.gather(s_i, 1, label)
    t_t = torch.gather(t_i, 1, label).detach()
    loss_t = -(t_t * s_t).mean()
    S_i = F.log_softmax(_drop(student, label.view(-1)) / temperature, dim=1)
    T_i = F.softmax(_drop(teacher, label.view(-1)) / temperature, dim=1)
    loss_non = -gamma * temperature ** 2 * (T_i * S_i).sum(1).mean()
    return loss_t + loss_non


def uskd_ref(student, weakLogits, labels, alpha=1.0, beta=0.1, mu=0.005):
    n, c = student.shape
    if labels.dim() > 1:
        value, label = torch.sort(labels.detach(), descending=True, dim=-1)
        value, label = value[:, :2], label[:, :2]
    else:
        label = labels.view(-1, 1)
        value = torch.ones_like(label, dtype=student.dtype)
    s_i = F.softmax(student, dim=1)
    s_t = torch.gather(s_i, 1, label)
    p_t = s_t ** 2
    p_t = p_t + value - p_t.mean(0, True)
    p_t[value == 0] = 0
    p_t = p_t.detach()
    ls = F.log_softmax(student, dim=1)
    loss_t = -(p_t * torch.gather(ls, 1, label)).sum(1).mean()
    if labels.dim() > 1:
        target = labels.detach() * 0.9 + 0.1 / c
    else:
        target = torch.zeros_like(student).scatter_(1, label, 0.9) + 0.1 / c
    loss_weak = -(mu * target * F.log_softmax(weakLogits, dim=1)).sum(1).mean()
    # ranking, in float32 as the reference runs it; quirk: the second term uses log-softmax values
    w32 = F.softmax(weakLogits.detach().float(), dim=1)
    ls32 = F.log_softmax(student.detach().float(), dim=1)
    rank = w32 / (1 - torch.gather(w32, 1, label).sum(1, True) + 1e-6) + \
        ls32 / (1 - torch.gather(ls32, 1, label).sum(1, True) + 1e-6)
    _, order = torch.sort(rank, descending=True, dim=-1)
    pos = torch.argsort(order)
    zipf = (1.0 / (pos.double() + 1))
    mask = torch.ones_like(student, dtype=torch.bool).scatter_(1, label, False)
    nz = zipf[mask].reshape(n, -1)
    nz = (nz / nz.sum(1, keepdim=True)).detach()
    ns = F.log_softmax(student[mask].reshape(n, -1), dim=1)
    loss_non = -(nz * ns).sum(1).mean()
    return alpha * loss_t + beta * loss_non + loss_weak


def mixup(labels, c, lam, smoothing=0.1):
    off = smoothing / c
    on = 1 - smoothing + off

    def oh(y):
        m = np.full((len(y), c), off)
        m[np.arange(len(y)), y] = on
        return m
    return f32(lam * oh(labels) + (1 - lam) * oh(labels[::-1]))


def shapes(rng):
    """(name, n, c, student kind, teacher maker)"""
    return [
        ('n8c10', 8, 10, 'normal'),
        ('n64c100', 64, 100, 'normal'),
        ('n2c1000', 2, 1000, 'normal'),
        ('extreme50', 8, 10, 'extreme50'),
        ('extreme1e4', 8, 10, 'extreme1e4'),
    ]


def main():
    kd, dkd, nkd, uskd = [], [], [], []
    for seed, (name, n, c, kind) in enumerate(shapes(None)):
        rng = np.random.default_rng(seed)
        s = logits(rng, n, c, kind=kind)
        t = logits(rng, n, c, kind=kind, scale=3.0)
        y = rng.integers(0, c, n).astype(np.int32)
        w = logits(rng, n, c, scale=1.0)
        kd.append(case(f'kd {name}', 'kdLoss', {'student': s, 'teacher': t}, {}, kd_ref, ['student'], ['teacher']))
        dkd.append(case(f'dkd {name}', 'dkdLoss', {'student': s, 'teacher': t, 'labels': y}, {}, dkd_ref,
                        ['student'], ['teacher']))
        nkd.append(case(f'nkd {name}', 'nkdLoss', {'student': s, 'teacher': t, 'labels': y}, {}, nkd_ref,
                        ['student'], ['teacher']))
        uskd.append(case(f'uskd {name}', 'uskdLoss', {'student': s, 'weakLogits': w, 'labels': y}, {}, uskd_ref,
                         ['student', 'weakLogits']))
    # non-default options, near-one-hot teacher, ties
    rng = np.random.default_rng(100)
    n, c = 8, 10
    s = logits(rng, n, c)
    y = rng.integers(0, c, n).astype(np.int32)
    t1 = near_one_hot(rng, y, c)
    tt = ties(rng, n, c)
    for tname, t in [('near-one-hot teacher', t1), ('tied teacher', tt)]:
        kd.append(case(f'kd {tname}', 'kdLoss', {'student': s, 'teacher': t}, {}, kd_ref, ['student'], ['teacher']))
        dkd.append(case(f'dkd {tname}', 'dkdLoss', {'student': s, 'teacher': t, 'labels': y}, {}, dkd_ref,
                        ['student'], ['teacher']))
        nkd.append(case(f'nkd {tname}', 'nkdLoss', {'student': s, 'teacher': t, 'labels': y}, {}, nkd_ref,
                        ['student'], ['teacher']))
    kd.append(case('kd T=1', 'kdLoss', {'student': s, 'teacher': tt}, {'temperature': 1},
                   lambda student, teacher: kd_ref(student, teacher, 1.0), ['student'], ['teacher']))
    dkd.append(case('dkd alpha=0.5 beta=2 T=1', 'dkdLoss', {'student': s, 'teacher': t1, 'labels': y},
                    {'alpha': 0.5, 'beta': 2, 'temperature': 1},
                    lambda student, teacher, labels: dkd_ref(student, teacher, labels, 0.5, 2.0, 1.0),
                    ['student'], ['teacher']))
    nkd.append(case('nkd T=3 gamma=3.5', 'nkdLoss', {'student': s, 'teacher': tt, 'labels': y},
                    {'temperature': 3, 'gamma': 3.5},
                    lambda student, teacher, labels: nkd_ref(student, teacher, labels, 3.0, 3.5),
                    ['student'], ['teacher']))
    soft = mixup(y, c, 0.7)
    nkd.append(case('nkd soft targets (mixup 0.7)', 'nkdLoss', {'student': s, 'teacher': t1, 'labels': soft}, {},
                    nkd_ref, ['student'], ['teacher', 'labels']))
    w = logits(rng, n, c, scale=1.0)
    uskd.append(case('uskd soft targets (mixup 0.7)', 'uskdLoss', {'student': s, 'weakLogits': w, 'labels': soft}, {},
                     uskd_ref, ['student', 'weakLogits'], ['labels']))
    soft2 = mixup(y, c, 0.55, smoothing=0.0)
    uskd.append(case('uskd soft targets (no smoothing, cifar options)', 'uskdLoss',
                     {'student': s, 'weakLogits': w, 'labels': soft2}, {'alpha': 0.1, 'beta': 0.1, 'mu': 0.1},
                     lambda student, weakLogits, labels: uskd_ref(student, weakLogits, labels, 0.1, 0.1, 0.1),
                     ['student', 'weakLogits'], ['labels']))
    rng = np.random.default_rng(7)
    s64, w64 = logits(rng, 16, 100), logits(rng, 16, 100, scale=1.0)
    y64 = rng.integers(0, 100, 16).astype(np.int32)
    uskd.append(case('uskd n16c100 soft targets', 'uskdLoss',
                     {'student': s64, 'weakLogits': w64, 'labels': mixup(y64, 100, 0.8)}, {},
                     uskd_ref, ['student', 'weakLogits'], ['labels']))
    write('distillation-kd.json', kd, 'distillation.py')
    write('distillation-dkd.json', dkd, 'distillation.py')
    write('distillation-nkd.json', nkd, 'distillation.py')
    write('distillation-uskd.json', uskd, 'distillation.py')


if __name__ == '__main__':
    main()
