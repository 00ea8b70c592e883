"""Reference values for the long-tail / multi-label losses (packages/losses/test/fixtures/long-tail-*.json,
multi-label-*.json). Run: /usr/bin/python3 tools/reference/losses/long_tail.py

Each reference is a transcription of the official code (read at the pinned commit; written out here, not imported),
evaluated in float64 unless noted:
- crossEntropy:            torch.nn.functional.cross_entropy (weight, label_smoothing), PyTorch 1.13 itself
- softTargetCrossEntropy:  huggingface/pytorch-image-models @aa4354f, timm/loss/cross_entropy.py SoftTargetCrossEntropy
- balancedSoftmaxLoss:     jiawei-ren/BalancedMetaSoftmax-Classification @34a61e4, loss/BalancedSoftmaxLoss.py
                           `balanced_softmax_loss`
- logitAdjustedLoss:       google-research/google-research @ccc94ce, logit_adjustment/utils.py `build_loss_fn`
                           (TensorFlow; the same operations in torch: logits + log(cast_f32(base_probs**tau + 1e-12)),
                           sparse softmax CE, mean)
- ldamLoss, focalLoss:     kaidic/LDAM-DRW @2536330, losses.py `LDAMLoss.forward`, `focal_loss` + `FocalLoss.forward`
- deitLtDistillationLoss:  val-iisc/DeiT-LT @bc36970, losses.py `DistillationLoss.forward` (hard / soft / none,
                           weighted); the teacher model is replaced by its given outputs, `.cuda()` is dropped
- mdcsLoss:                fistyee/MDCS @1a1d54e, model/loss.py `MDCSLoss.forward` (the three hard-coded experts and
                           their exponents generalised to a list, as our `lambdas` option; the prior in float32 as
                           `torch.tensor(prior).float()`)
- splcLoss:                jameslahm/SCPNet @d56341a, loss.py `SPLC.forward`
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import case, f32, logits, near_one_hot, ties, write


def counts_for(c, rng, zero=False):
    n = np.maximum(1, np.round(500 * 0.9 ** np.arange(c) * rng.uniform(0.8, 1.2, c))).astype(np.int64)
    return [int(v) for v in n]


def eff_weights(counts, beta=0.9999):
    """DRW effective-number weights as kaidic/LDAM-DRW cifar_train.py computes per_cls_weights (test inputs only)."""
    counts = np.array(counts, dtype=np.float64)
    w = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return w / w.sum() * len(counts)


def ce_ref(logits, labels, classWeights=None, labelSmoothing=0.0):
    w = None if classWeights is None else torch.tensor(classWeights)
    return F.cross_entropy(logits, labels, weight=w, label_smoothing=labelSmoothing)


# --- timm @aa4354f, timm/loss/cross_entropy.py ---------------------------------------------------------------------
class SoftTargetCrossEntropy(torch.nn.Module):
    def forward(self, x, target):
        loss = torch.sum(-target * F.log_softmax(x, dim=-1), dim=-1)
        return loss.mean()


def soft_ce_ref(logits, targets):
    return SoftTargetCrossEntropy()(logits, targets.detach())


# --- BalancedMetaSoftmax-Classification @34a61e4, loss/BalancedSoftmaxLoss.py --------------------------------------
def balanced_softmax_loss(labels, logits, sample_per_class, reduction):
    spc = sample_per_class.type_as(logits)
    spc = spc.unsqueeze(0).expand(logits.shape[0], -1)
    logits = logits + spc.log()
    return F.cross_entropy(input=logits, target=labels, reduction=reduction)


def balanced_ref(logits, labels, classCounts):
    # evaluated in float32, as the reference runs on float32 model outputs (the shifted logits round there)
    return balanced_softmax_loss(labels, logits.float(), torch.tensor(classCounts), 'mean').double()


# --- google-research @ccc94ce, logit_adjustment/utils.py build_loss_fn (TF ops written with torch) ---------------
def build_loss_fn(use_la_loss, base_probs, tau=1.0):
    def loss_fn(labels, logits):
        if use_la_loss:
            logits = logits + torch.log(torch.tensor(base_probs ** tau + 1e-12, dtype=torch.float32))
        loss = F.cross_entropy(logits, labels, reduction='none')  # tf.nn.sparse_softmax_cross_entropy_with_logits
        return loss.mean(dim=0)
    return loss_fn


def la_ref(logits, labels, classPriors, tau=1.0):
    # evaluated in float32, as the reference runs (tf.float32 logits, the shift cast to float32)
    return build_loss_fn(True, np.array(classPriors, dtype=np.float64), tau)(labels, logits.float()).double()


# --- kaidic/LDAM-DRW @2536330, losses.py -----------------------------------------------------------------------------
def focal_loss(input_values, gamma):
    p = torch.exp(-input_values)
    loss = (1 - p) ** gamma * input_values
    return loss.mean()


class FocalLoss(torch.nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super().__init__()
        assert gamma >= 0
        self.gamma = gamma
        self.weight = weight

    def forward(self, input, target):
        return focal_loss(F.cross_entropy(input, target, reduction='none', weight=self.weight), self.gamma)


class LDAMLoss(torch.nn.Module):
    def __init__(self, cls_num_list, max_m=0.5, weight=None, s=30):
        super().__init__()
        m_list = 1.0 / np.sqrt(np.sqrt(cls_num_list))
        m_list = m_list * (max_m / np.max(m_list))
        self.m_list = torch.tensor(m_list)  # torch.cuda.FloatTensor in the reference; float64 here
        assert s > 0
        self.s = s
        self.weight = weight

    def forward(self, x, target):
        index = torch.zeros_like(x, dtype=torch.uint8)
        index.scatter_(1, target.data.view(-1, 1), 1)
        index_float = index.type(x.dtype)
        batch_m = torch.matmul(self.m_list[None, :], index_float.transpose(0, 1))
        batch_m = batch_m.view((-1, 1))
        x_m = x - batch_m
        output = torch.where(index.bool(), x_m, x)
        return F.cross_entropy(self.s * output, target, weight=self.weight)


def ldam_ref(logits, labels, classCounts, max_m=0.5, s=30.0, weight=None):
    w = None if weight is None else torch.tensor(weight)
    return LDAMLoss(np.array(classCounts, dtype=np.float64), max_m, w, s)(logits, labels)


def focal_ref(logits, labels, gamma=2.0, weight=None):
    return FocalLoss(None if weight is None else torch.tensor(weight), gamma)(logits, labels)


# --- val-iisc/DeiT-LT @bc36970, losses.py DistillationLoss.forward ---------------------------------------------------
class DistillationLoss(torch.nn.Module):
    def __init__(self, base_criterion, distillation_type, alpha, tau, weighted_distillation, weight):
        super().__init__()
        self.base_criterion = base_criterion
        assert distillation_type in ['none', 'soft', 'hard']
        self.distillation_type = distillation_type
        self.alpha = alpha
        self.tau = tau
        self.weighted_distillation = weighted_distillation
        self.weight = weight

    def forward(self, teacher_outputs, outputs, labels):
        # `teacher_outputs` replaces `self.teacher_model(inputs)` (run under no_grad in the reference)
        outputs, outputs_kd = outputs[0], outputs[1]
        try:
            base_loss = self.base_criterion(outputs, labels)
        except Exception:
            labels = torch.nn.functional.one_hot(labels.to(torch.int64), num_classes=len(self.weight))
            base_loss = self.base_criterion(outputs, labels)
        if self.distillation_type == 'none':
            if not self.weighted_distillation:
                token_2_loss = SoftTargetCrossEntropy()(outputs_kd, labels)
            else:
                token_2_loss = torch.nn.CrossEntropyLoss(weight=self.weight)(outputs_kd, labels)
            return base_loss * (1 - self.alpha) + token_2_loss * self.alpha
        teacher_outputs = teacher_outputs.detach()
        if self.distillation_type == 'soft':
            T = self.tau
            pred_t = F.log_softmax(teacher_outputs / T, dim=1)
            if self.weighted_distillation:
                pred_t = pred_t * self.weight
                pred_t = pred_t / pred_t.sum(1)[:, None]
            distillation_loss = F.kl_div(F.log_softmax(outputs_kd / T, dim=1), pred_t, reduction='sum',
                                         log_target=True) * (T * T) / outputs_kd.numel()
        elif self.distillation_type == 'hard':
            distillation_targets = teacher_outputs.argmax(dim=1)
            if self.weighted_distillation:
                distillation_loss = F.cross_entropy(outputs_kd, distillation_targets, weight=self.weight)
            else:
                distillation_loss = F.cross_entropy(outputs_kd, distillation_targets)
        return base_loss * (1 - self.alpha) + distillation_loss * self.alpha


def deit_ref(clsLogits, distLogits, teacherLogits, labels, alpha=0.5, type='hard', temperature=1.0, weight=None):
    """main.py's base criteria: SoftTargetCrossEntropy with mixup targets; for int labels CrossEntropyLoss (the
    no-mixup DRW path), except unweighted 'none', which the reference only supports through SoftTargetCrossEntropy's
    one-hot fallback (the except branch above)."""
    c = clsLogits.shape[1]
    weighted = weight is not None
    w = torch.tensor(weight) if weighted else torch.ones(c)
    if labels.dim() > 1:
        base = SoftTargetCrossEntropy()
        labels = labels.detach()
    elif type == 'none' and not weighted:
        base = SoftTargetCrossEntropy()
    else:
        base = torch.nn.CrossEntropyLoss()
    loss = DistillationLoss(base, type, alpha, temperature, weighted, w)
    t = teacherLogits if teacherLogits is not None else torch.zeros_like(clsLogits)
    return loss(t, (clsLogits, distLogits), labels)


# --- fistyee/MDCS @1a1d54e, model/loss.py MDCSLoss.forward -------------------------------------------------------
def mdcs_forward(prior, expert_logits, target, epoch, lambdas=(-0.5, 1, 2.5), weight=0.6, warmup=20):
    loss = 0
    temperature = 1
    num = int(target.shape[0] / 2)
    adjusted = [z + torch.log(torch.pow(prior, lam) + 1e-9) for z, lam in zip(expert_logits, lambdas)]
    partial_target = target[:num]
    kl_loss = 0
    for expert in adjusted:
        teacher_logits, student_logits = expert[:num, :], expert[num:, :]
        teacher_softmax = F.softmax(teacher_logits / temperature, dim=1).detach()
        student_softmax = F.log_softmax(student_logits / temperature, dim=1)
        _, teacher_index = torch.max(F.softmax(teacher_logits, dim=1).detach(), dim=1)
        if torch.sum(teacher_index == partial_target) > 0:
            kl_loss = kl_loss + F.kl_div(student_softmax[teacher_index == partial_target],
                                         teacher_softmax[teacher_index == partial_target],
                                         reduction='batchmean') * (temperature ** 2)
    loss = loss + weight * kl_loss * min(epoch / warmup, 1.0)
    for expert in adjusted:
        loss += F.cross_entropy(expert, target)
    return loss


def mdcs_ref(experts, labels, counts, lambdas=(-0.5, 1, 2.5), consistencyWeight=0.6, epoch=1, warmupEpochs=20):
    prior = torch.tensor(np.array(counts)).float()  # self.prior = torch.tensor(prior).float()
    return mdcs_forward(prior, experts, labels, epoch, lambdas, consistencyWeight, warmupEpochs)


# --- jameslahm/SCPNet @d56341a, loss.py SPLC.forward --------------------------------------------------------------
class SPLC(torch.nn.Module):
    def __init__(self, tau=0.6, change_epoch=1, margin=1.0, gamma=2.0):
        super().__init__()
        self.tau = tau
        self.change_epoch = change_epoch
        self.margin = margin
        self.gamma = gamma

    def forward(self, logits, targets, epoch):
        logits = torch.where(targets == 1, logits - self.margin, logits)
        if epoch >= self.change_epoch:
            targets = torch.where(torch.sigmoid(logits) > self.tau, torch.tensor(1.0), targets)
        pred = torch.sigmoid(logits)
        pt = (1 - pred) * targets + pred * (1 - targets)
        focal_weight = pt ** self.gamma
        los_pos = targets * F.logsigmoid(logits)
        los_neg = (1 - targets) * F.logsigmoid(-logits)
        loss = -(los_pos + los_neg)
        loss *= focal_weight
        return loss.sum(), targets


def splc_ref(logits, targets, epoch, tau=0.6, margin=1.0, gamma=2.0, change_epoch=1):
    return SPLC(tau, change_epoch, margin, gamma)(logits, targets.detach(), epoch)[0]


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
    # type 'none': the DIST head learns from the labels (no teacher)
    inp = {'clsLogits': zc, 'distLogits': zd, 'teacherLogits': tt, 'labels': y}
    out.append(case("deit-lt none (DIST head on the labels)", 'deitLtDistillationLoss', inp, {'type': 'none'},
                    lambda **k: deit_ref(**k, type='none'), grads, det))
    out.append(case("deit-lt none alpha 0.3 weighted", 'deitLtDistillationLoss', inp,
                    {'type': 'none', 'alpha': 0.3, 'classWeights': w},
                    lambda **k: deit_ref(**k, type='none', alpha=0.3, weight=w), grads, det))
    inp = {'clsLogits': zc, 'distLogits': zd, 'teacherLogits': tt, 'labels': soft}
    out.append(case("deit-lt none, mixup targets", 'deitLtDistillationLoss', inp, {'type': 'none'},
                    lambda **k: deit_ref(**k, type='none'), grads, det + ['labels']))
    out.append(case("deit-lt none, mixup targets, weighted", 'deitLtDistillationLoss', inp,
                    {'type': 'none', 'classWeights': w},
                    lambda **k: deit_ref(**k, type='none', weight=w), grads, det + ['labels']))
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


if __name__ == '__main__':
    main()
