"""Reference values for kdLoss, dkdLoss, nkdLoss and uskdLoss (packages/losses/test/fixtures/distillation-*.json).

Run: /usr/bin/python3 tools/reference/losses/distillation.py

Each reference below is a transcription of the official PyTorch code (read at the pinned commit; written out here,
not imported), evaluated in float64:
- KD:   megvii-research/mdistiller @a08d46f, mdistiller/distillers/KD.py `kd_loss`
- DKD:  megvii-research/mdistiller @a08d46f, mdistiller/distillers/DKD.py `dkd_loss` (+ `_get_gt_mask`,
        `_get_other_mask`, `cat_mask`). Where the official code is not finite (log of a binary probability that
        underflows to 0) or its `- 1000 * gt_mask` shift is not exact (|z/T| > ~1000), the case uses the stable form
        `dkd_stable` instead (log-sum-exp for log b, the target column dropped); the script asserts that both forms
        agree on every case where the official one is finite and exact. The case name says which form was used.
- NKD:  yzd-v/cls_KD @1e5d48f, mmcls/models/dis_losses/nkd.py `NKDLoss.forward` (the 2023-10-10 mask fix, 9466b3f)
- USKD: yzd-v/cls_KD @1e5d48f, mmcls/models/dis_losses/uskd.py `USKDLoss.forward`; `self.fc(fea_mid)` is given as
        `weakLogits`. The ranking (sort of the rank score, with its log-softmax quirk) runs in float32, as the
        reference runs it on float32 model outputs.
The teacher runs under torch.no_grad() in the official distillers; here it is detached.
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import case, logits, near_one_hot, ties, write, f32


# --- mdistiller @a08d46f, mdistiller/distillers/KD.py -------------------------------------------------------------
def kd_loss(logits_student, logits_teacher, temperature):
    log_pred_student = F.log_softmax(logits_student / temperature, dim=1)
    pred_teacher = F.softmax(logits_teacher / temperature, dim=1)
    loss_kd = F.kl_div(log_pred_student, pred_teacher, reduction="none").sum(1).mean()
    loss_kd *= temperature ** 2
    return loss_kd


def kd_ref(student, teacher, temperature=4.0):
    return kd_loss(student, teacher.detach(), temperature)


# --- mdistiller @a08d46f, mdistiller/distillers/DKD.py ------------------------------------------------------------
def _get_gt_mask(logits, target):
    target = target.reshape(-1)
    return torch.zeros_like(logits).scatter_(1, target.unsqueeze(1), 1).bool()


def _get_other_mask(logits, target):
    target = target.reshape(-1)
    return torch.ones_like(logits).scatter_(1, target.unsqueeze(1), 0).bool()


def cat_mask(t, mask1, mask2):
    t1 = (t * mask1).sum(dim=1, keepdims=True)
    t2 = (t * mask2).sum(1, keepdims=True)
    return torch.cat([t1, t2], dim=1)


def dkd_loss(logits_student, logits_teacher, target, alpha, beta, temperature):
    gt_mask = _get_gt_mask(logits_student, target)
    other_mask = _get_other_mask(logits_student, target)
    pred_student = F.softmax(logits_student / temperature, dim=1)
    pred_teacher = F.softmax(logits_teacher / temperature, dim=1)
    pred_student = cat_mask(pred_student, gt_mask, other_mask)
    pred_teacher = cat_mask(pred_teacher, gt_mask, other_mask)
    log_pred_student = torch.log(pred_student)
    tckd_loss = F.kl_div(log_pred_student, pred_teacher, reduction='sum') * (temperature ** 2) / target.shape[0]
    pred_teacher_part2 = F.softmax(logits_teacher / temperature - 1000.0 * gt_mask, dim=1)
    log_pred_student_part2 = F.log_softmax(logits_student / temperature - 1000.0 * gt_mask, dim=1)
    nckd_loss = F.kl_div(log_pred_student_part2, pred_teacher_part2, reduction='sum') * (temperature ** 2) \
        / target.shape[0]
    return alpha * tckd_loss + beta * nckd_loss


def _drop(x, label):
    n, c = x.shape
    mask = torch.ones_like(x, dtype=torch.bool).scatter_(1, label.view(-1, 1), False)
    return x[mask].reshape(n, c - 1)


def dkd_stable(student, teacher, labels, alpha=1.0, beta=8.0, temperature=4.0):
    """dkd_loss with log b computed as log-sum-exp and the target column dropped (our documented deviation)."""
    teacher = teacher.detach()
    n = student.shape[0]
    g = F.one_hot(labels, student.shape[1]).bool()

    def log_binary(z):
        ls = F.log_softmax(z / temperature, dim=1)
        return torch.cat([ls[g].view(-1, 1), torch.logsumexp(_drop(ls, labels), dim=1, keepdim=True)], 1)

    lbs, lbt = log_binary(student), log_binary(teacher)
    tckd = (lbt.exp() * (lbt - lbs)).sum() * temperature ** 2 / n
    lps = F.log_softmax(_drop(student, labels) / temperature, dim=1)
    lpt = F.log_softmax(_drop(teacher, labels) / temperature, dim=1)
    nckd = (lpt.exp() * (lpt - lps)).sum() * temperature ** 2 / n
    return alpha * tckd + beta * nckd


def dkd_case(name, inputs, options, alpha=1.0, beta=8.0, temperature=4.0):
    """The official dkd_loss where it is finite and its shift exact; else the stable form (named in the case)."""
    def official(student, teacher, labels):
        return dkd_loss(student, teacher.detach(), labels, alpha, beta, temperature)

    def stable(student, teacher, labels):
        return dkd_stable(student, teacher, labels, alpha, beta, temperature)
    ref = case(name, 'dkdLoss', inputs, options, stable, ['student'], ['teacher'])
    exact = max(abs(inputs['student']).max(), abs(inputs['teacher']).max()) / temperature < 900
    try:
        off = case(name, 'dkdLoss', inputs, options, official, ['student'], ['teacher'])
        finite = np.isfinite(off['loss']) and all(np.isfinite(v).all() for v in off['grads'].values())
    except RuntimeError:
        finite = False
    if finite and exact:
        assert abs(off['loss'] - ref['loss']) <= 1e-9 * max(1.0, abs(ref['loss'])), name
        return off
    ref['name'] = f'{name} (stable form: the official dkd_loss is not finite or not exact here)'
    return ref


# --- yzd-v/cls_KD @1e5d48f, mmcls/models/dis_losses/nkd.py ---------------------------------------------------------
class NKDLoss:
    def __init__(self, temp=1.0, gamma=1.5):
        self.temp = temp
        self.gamma = gamma
        self.log_softmax = torch.nn.LogSoftmax(dim=1)

    def forward(self, logit_s, logit_t, gt_label):
        if len(gt_label.size()) > 1:
            label = torch.max(gt_label, dim=1, keepdim=True)[1]
        else:
            label = gt_label.view(len(gt_label), 1)
        N, c = logit_s.shape
        s_i = self.log_softmax(logit_s)
        t_i = F.softmax(logit_t, dim=1)
        s_t = torch.gather(s_i, 1, label)
        t_t = torch.gather(t_i, 1, label).detach()
        loss_t = - (t_t * s_t).mean()
        mask = torch.ones_like(logit_s).scatter_(1, label, 0).bool()
        logit_s = logit_s[mask].reshape(N, -1)
        logit_t = logit_t[mask].reshape(N, -1)
        S_i = self.log_softmax(logit_s / self.temp)
        T_i = F.softmax(logit_t / self.temp, dim=1)
        loss_non = (T_i * S_i).sum(dim=1).mean()
        loss_non = - self.gamma * (self.temp ** 2) * loss_non
        return loss_t + loss_non


def nkd_ref(student, teacher, labels, temperature=1.0, gamma=1.5):
    return NKDLoss(temperature, gamma).forward(student, teacher.detach(), labels.detach())


# --- yzd-v/cls_KD @1e5d48f, mmcls/models/dis_losses/uskd.py --------------------------------------------------------
class USKDLoss:
    def __init__(self, alpha=1.0, beta=0.1, mu=0.005, num_classes=1000):
        self.alpha = alpha
        self.beta = beta
        self.mu = mu
        self.log_softmax = torch.nn.LogSoftmax(dim=1)
        self.zipf = 1 / torch.arange(1, num_classes + 1)

    def forward(self, w_fc, logit_s, gt_label):
        # w_fc = self.fc(fea_mid) in the reference: the weak head's logits, given here
        if len(gt_label.size()) > 1:
            value, label = torch.sort(gt_label, descending=True, dim=-1)
            value = value[:, :2]
            label = label[:, :2]
        else:
            label = gt_label.view(len(gt_label), 1)
            value = torch.ones_like(label)
        N, c = logit_s.shape
        s_i = F.softmax(logit_s, dim=1)
        s_t = torch.gather(s_i, 1, label)
        p_t = s_t ** 2
        p_t = p_t + value - p_t.mean(0, True)
        p_t[value == 0] = 0
        p_t = p_t.detach()
        s_i = self.log_softmax(logit_s)
        s_t = torch.gather(s_i, 1, label)
        loss_t = - (p_t * s_t).sum(dim=1).mean()
        if len(gt_label.size()) > 1:
            target = gt_label * 0.9 + 0.1 * torch.ones_like(logit_s) / c
        else:
            target = torch.zeros_like(logit_s).scatter_(1, label, 0.9) + 0.1 * torch.ones_like(logit_s) / c
        w_i = self.log_softmax(w_fc)
        loss_weak = - (self.mu * target * w_i).sum(dim=1).mean()
        w_i = F.softmax(w_fc, dim=1)
        w_t = torch.gather(w_i, 1, label)
        # rank, in float32 as the reference runs it (s_i holds log-softmax values here: the quirk)
        w32, s32 = w_i.detach().float(), s_i.detach().float()
        wt32, st32 = w_t.detach().float(), s_t.detach().float()
        rank = w32 / (1 - wt32.sum(1, True) + 1e-6) + s32 / (1 - st32.sum(1, True) + 1e-6)
        _, rank = torch.sort(rank, descending=True, dim=-1)
        z_i = self.zipf.repeat(N, 1)
        ids_sort = torch.argsort(rank)
        z_i = torch.gather(z_i, dim=1, index=ids_sort)
        mask = torch.ones_like(logit_s).scatter_(1, label, 0).bool()
        logit_s = logit_s[mask].reshape(N, -1)
        ns_i = self.log_softmax(logit_s)
        nz_i = z_i[mask].reshape(N, -1)
        nz_i = nz_i / nz_i.sum(dim=1, keepdim=True)
        nz_i = nz_i.detach()
        loss_non = - (nz_i * ns_i).sum(dim=1).mean()
        return self.alpha * loss_t + self.beta * loss_non + loss_weak


def uskd_ref(student, weakLogits, labels, alpha=1.0, beta=0.1, mu=0.005):
    return USKDLoss(alpha, beta, mu, num_classes=student.shape[1]).forward(weakLogits, student, labels.detach())


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
        dkd.append(dkd_case(f'dkd {name}', {'student': s, 'teacher': t, 'labels': y}, {}))
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
        dkd.append(dkd_case(f'dkd {tname}', {'student': s, 'teacher': t, 'labels': y}, {}))
        nkd.append(case(f'nkd {tname}', 'nkdLoss', {'student': s, 'teacher': t, 'labels': y}, {}, nkd_ref,
                        ['student'], ['teacher']))
    kd.append(case('kd T=1', 'kdLoss', {'student': s, 'teacher': tt}, {'temperature': 1},
                   lambda student, teacher: kd_ref(student, teacher, 1.0), ['student'], ['teacher']))
    dkd.append(dkd_case('dkd alpha=0.5 beta=2 T=1', {'student': s, 'teacher': t1, 'labels': y},
                        {'alpha': 0.5, 'beta': 2, 'temperature': 1}, 0.5, 2.0, 1.0))
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
