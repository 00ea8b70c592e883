"""PyTorch reference values for @distillery/pseudo-labels: FixMatch confidence masks and loss, FlexMatch class-wise
thresholds, SCPNet label prior, class-wise acc, prior-enhanced pseudo-labels and consistency loss.

Each block is transcribed from the official code (the function it follows is named at the block):
  - FixMatch (arXiv 2001.07685) and FlexMatch (arXiv 2110.08263): TorchSSL/TorchSSL at commit
    f26e1d42967cec7f7c8a00c2e7ff9219d8ab7c92, models/fixmatch/fixmatch_utils.py `consistency_loss`,
    models/flexmatch/flexmatch.py `FlexMatch.train` (classwise_acc from the selected_label Counter, thresh_warmup,
    the selected_label update), models/flexmatch/flexmatch_utils.py `consistency_loss` (convex mask, `select`),
    train_utils.py `ce_loss`;
  - SCPNet (arXiv 2303.13223): jameslahm/SCPNet at commit d56341acffcf95ede22d16806e2c043ff767782b, model.py
    `SCPNet.__init__` (relation / gcn_relation), scpnet.py `SCPNetTrainer.train` (classwise_acc) and
    `SCPNetTrainer.consistency_loss`.
Inputs the official code computes elsewhere (logits, the relation file, the selected_label memory) are random here.

Run with Debian's interpreter: /usr/bin/python3 tools/reference/pseudo-labels/thresholds.py
Writes packages/pseudo-labels/test/fixtures/thresholds.json.
"""
import json
import os
from collections import Counter
from copy import deepcopy

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/pseudo-labels/test/fixtures/thresholds.json")
torch.manual_seed(0)
rng = np.random.default_rng(11)


def r(x):
    return np.asarray(x.detach().cpu().numpy() if torch.is_tensor(x) else x, dtype=np.float64).ravel().tolist()


out = {"generator": "tools/reference/pseudo-labels/thresholds.py"}

def ce_loss(logits, targets, use_hard_labels=True, reduction='none'):
    """TorchSSL train_utils.py ce_loss (hard labels)."""
    log_pred = F.log_softmax(logits, dim=-1)
    return F.nll_loss(log_pred, targets, reduction=reduction)


def fixmatch_consistency_loss(logits_s, logits_w, p_cutoff):
    """TorchSSL models/fixmatch/fixmatch_utils.py consistency_loss, name='ce', use_hard_labels=True."""
    logits_w = logits_w.detach()
    pseudo_label = torch.softmax(logits_w, dim=-1)
    max_probs, max_idx = torch.max(pseudo_label, dim=-1)
    mask = max_probs.ge(p_cutoff).float()
    select = max_probs.ge(p_cutoff).long()
    masked_loss = ce_loss(logits_s, max_idx, True, reduction='none') * mask
    return masked_loss.mean(), mask, select, max_idx.long()


# ---- FixMatch ----
N, C = 12, 5
weak = torch.tensor(rng.normal(size=(N, C)) * 5, dtype=torch.float32)
strong = torch.tensor(rng.normal(size=(N, C)) * 2, dtype=torch.float32, requires_grad=True)
loss, mask, _, yhat = fixmatch_consistency_loss(strong, weak, 0.95)
maxp = torch.softmax(weak, dim=-1).max(dim=-1).values
loss.backward()
out["fixmatch"] = dict(n=N, c=C, weak=r(weak), strong=r(strong), threshold=0.95, labels=r(yhat), mask=r(mask),
                       loss=loss.item(), grad=r(strong.grad))

def flexmatch_classwise_acc(selected_label, classwise_acc, num_classes, ulb_len, thresh_warmup=True):
    """TorchSSL models/flexmatch/flexmatch.py FlexMatch.train, the classwise_acc update at the top of each step."""
    pseudo_counter = Counter(selected_label.tolist())
    if max(pseudo_counter.values()) < ulb_len:  # not all(5w) -1
        if thresh_warmup:
            for i in range(num_classes):
                classwise_acc[i] = pseudo_counter[i] / max(pseudo_counter.values())
        else:
            wo_negative_one = deepcopy(pseudo_counter)
            if -1 in wo_negative_one.keys():
                wo_negative_one.pop(-1)
            for i in range(num_classes):
                classwise_acc[i] = pseudo_counter[i] / max(wo_negative_one.values())
    return classwise_acc


def flexmatch_consistency_loss(logits_s, logits_w, class_acc, p_cutoff):
    """TorchSSL models/flexmatch/flexmatch_utils.py consistency_loss, 'ce', hard labels, no DA (convex mapping)."""
    logits_w = logits_w.detach()
    pseudo_label = torch.softmax(logits_w, dim=-1)
    max_probs, max_idx = torch.max(pseudo_label, dim=-1)
    mask = max_probs.ge(p_cutoff * (class_acc[max_idx] / (2. - class_acc[max_idx]))).float()  # convex
    select = max_probs.ge(p_cutoff).long()
    masked_loss = ce_loss(logits_s, max_idx, True, reduction='none') * mask
    return masked_loss.mean(), mask, select, max_idx.long()


# ---- FlexMatch: memory -> classwise_acc (warm-up) -> convex mask; selected_label update ----
NU = 40
selected = torch.tensor(rng.choice([-1, 0, 1, 2, 3, 4], size=NU, p=[0.3, 0.3, 0.2, 0.1, 0.07, 0.03]))
beta = flexmatch_classwise_acc(selected, torch.zeros((C,)), C, NU, thresh_warmup=True)
tau_c = 0.95 * (beta / (2.0 - beta))
idx = torch.tensor(rng.choice(NU, size=N, replace=False))
_, fmask, select, pseudo_lb = flexmatch_consistency_loss(strong.detach(), weak, beta, 0.95)
new_sel = selected.clone()
if idx[select == 1].nelement() != 0:  # FlexMatch.train
    new_sel[idx[select == 1]] = pseudo_lb[select == 1]
out["flexmatch"] = dict(numUnlabeled=NU, selected=r(selected), indices=r(idx), beta=r(beta), thresholds=r(tau_c),
                        mask=r(fmask), selectedAfter=r(new_sel))

def scpnet_relation(relation, sparse_topk, reweight_p, T, num_classes):
    """SCPNet model.py SCPNet.__init__: returns (gcn_relation, relation)."""
    relation = relation.clone()
    _, max_idx = torch.topk(relation, sparse_topk)
    mask = torch.ones_like(relation).type(torch.bool)
    for i, idx in enumerate(max_idx):
        mask[i][idx] = 0
    relation[mask] = 0
    sparse_mask = mask
    dialog = torch.eye(num_classes).type(torch.bool)
    relation[dialog] = 0
    relation = relation / torch.sum(relation, dim=1).reshape(-1, 1) * reweight_p
    relation[dialog] = 1 - reweight_p
    gcn_relation = relation.clone()
    relation = torch.exp(relation / T) / torch.sum(torch.exp(relation / T), dim=1).reshape(-1, 1)
    relation[sparse_mask] = 0
    relation = relation / torch.sum(relation, dim=1).reshape(-1, 1)
    return gcn_relation, relation


# ---- SCPNet prior ----
C2, topk, p, T = 8, 4, 0.2, 0.3
E = rng.normal(size=(C2, 16)) + 2.0
E /= np.linalg.norm(E, axis=1, keepdims=True)
R = torch.tensor((E @ E.T).astype(np.float32))
adj, rel = scpnet_relation(R, topk, p, T, C2)

def scpnet_classwise_acc(selected_label, classwise_acc, hard_k, num_classes):
    """SCPNet scpnet.py SCPNetTrainer.train, the classwise_acc update at the top of each step."""
    pseudo_counter = selected_label.sum(dim=0)
    max_v = pseudo_counter.max().item()
    sum_v = pseudo_counter.sum().item()
    if max_v >= 1:  # not all(5w) -1
        for i in range(num_classes):
            classwise_acc[i] = max(pseudo_counter[i] / max(
                max_v,
                hard_k * len(selected_label) - sum_v), 1 / num_classes)
    return classwise_acc, pseudo_counter


# ---- SCPNet class-wise acc from the selected_label memory ----
hard_k, ntrain = 2, 30
sel_mem = torch.tensor(rng.random((ntrain, C2)) < 0.5, dtype=torch.long)
acc, cnt = scpnet_classwise_acc(sel_mem, torch.zeros((C2,)) + 1 / C2, hard_k, C2)

# ---- SCPNet pseudo-labels + consistency loss (official form, clamp 1e-8) ----
Nb, kl_lambda, p_cutoff = 10, 2.0, 0.95
zw = torch.tensor(rng.normal(size=(Nb, C2)) * 1.5, dtype=torch.float32)
zw[0] = zw[0] * 0.1 - 3.0  # an unconfident sample: masked out
zs = torch.tensor(rng.normal(size=(Nb, C2)) * 2, dtype=torch.float32, requires_grad=True)
y_lb = torch.zeros(Nb, C2, dtype=torch.long)
y_lb[torch.arange(Nb), torch.tensor(rng.integers(0, C2, Nb))] = 1


def scpnet_consistency_loss(logits_s, logits_w, y_lb, relation, classwise_acc, hard_k, p_cutoff, kl_lambda):
    """SCPNet scpnet.py SCPNetTrainer.consistency_loss (no .cuda()); also returns the mask and the prior targets."""
    num_classes = logits_w.shape[1]
    logits_w = logits_w.detach()
    pseudo_label = torch.sigmoid(logits_w)
    pseudo_label_s = torch.sigmoid(logits_s)
    relation_p = pseudo_label @ relation.t()
    max_probs, max_idx = torch.topk(pseudo_label, hard_k, dim=-1)
    threhold = p_cutoff * (classwise_acc[max_idx] / (2. - classwise_acc[max_idx]))
    mask = max_probs.ge(threhold).float().sum(dim=1) >= 1  # convex
    labels = torch.zeros((len(logits_s), num_classes), dtype=torch.long)
    for i, idx in enumerate(max_idx):
        labels[i][idx] = 1
    labels_mask = pseudo_label < p_cutoff * (classwise_acc / (2. - classwise_acc))
    labels[labels_mask] = 0
    labels = torch.logical_or(labels, y_lb.cpu()).type(torch.long)
    xs_pos = pseudo_label_s
    xs_neg = 1 - pseudo_label_s
    los_pos = labels * torch.log(xs_pos.clamp(min=1e-8))
    los_neg = (1 - labels) * torch.log(xs_neg.clamp(min=1e-8))
    loss = (los_pos + los_neg) * mask.reshape(-1, 1)
    loss_kl = (relation_p * torch.log(xs_pos.clamp(min=1e-8)) + (1 - relation_p) * torch.log(
        xs_neg.clamp(min=1e-8))) * mask.reshape(-1, 1)
    return -loss.sum() - kl_lambda * loss_kl.sum(), labels, mask, relation_p


total, labels, smask2, relation_p = scpnet_consistency_loss(zs, zw, y_lb, rel, acc, hard_k, p_cutoff, kl_lambda)
total.backward()
out["scpnet"] = dict(c=C2, similarity=r(R), sparseTopk=topk, reweightP=p, temperature=T, adjacency=r(adj), relation=r(rel),
                     hardK=hard_k, numTrain=ntrain, counts=r(cnt), classwiseAcc=r(acc), n=Nb, klLambda=kl_lambda,
                     weak=r(zw), strong=r(zs), given=r(y_lb), targets=r(relation_p), labels=r(labels),
                     mask=r(smask2.float()), loss=total.item(), grad=r(zs.grad))

with open(OUT, "w") as fh:
    json.dump(out, fh)
print("wrote", OUT, "fixmatch mask", int(mask.sum()), "flex mask", int(fmask.sum()), "scp mask", int(smask2.sum()))
