"""PyTorch reference values for @distillery/pseudo-labels: FixMatch confidence masks and loss, FlexMatch class-wise
thresholds, SCPNet label prior, class-wise acc, prior-enhanced pseudo-labels and consistency loss (written from the
formulas of /work/shared/reference/pseudo-labels.md §1–2; jameslahm/SCPNet model.py / scpnet.py, TorchSSL FlexMatch).

Run with Debian's interpreter: /usr/bin/python3 tools/reference/pseudo-labels/thresholds.py
Writes packages/pseudo-labels/test/fixtures/thresholds.json.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/pseudo-labels/test/fixtures/thresholds.json")
torch.manual_seed(0)
rng = np.random.default_rng(11)


def r(x):
    return np.asarray(x.detach().cpu().numpy() if torch.is_tensor(x) else x, dtype=np.float64).ravel().tolist()


out = {"generator": "tools/reference/pseudo-labels/thresholds.py"}

# ---- FixMatch: mask = max softmax >= tau, loss = sum(mask * CE) / N ----
N, C = 12, 5
weak = torch.tensor(rng.normal(size=(N, C)) * 5, dtype=torch.float32)
strong = torch.tensor(rng.normal(size=(N, C)) * 2, dtype=torch.float32, requires_grad=True)
probs = torch.softmax(weak, 1)
maxp, yhat = probs.max(1)
mask = maxp.ge(0.95).float()
loss = (F.cross_entropy(strong, yhat, reduction="none") * mask).mean()
loss.backward()
out["fixmatch"] = dict(n=N, c=C, weak=r(weak), strong=r(strong), threshold=0.95, labels=r(yhat), mask=r(mask),
                       loss=loss.item(), grad=r(strong.grad))

# ---- FlexMatch: memory -> beta (warm-up) -> tau_c = 0.95 * beta/(2-beta); mask; memory update ----
NU = 40
selected = torch.tensor(rng.choice([-1, 0, 1, 2, 3, 4], size=NU, p=[0.3, 0.3, 0.2, 0.1, 0.07, 0.03]))
counts = torch.stack([(selected == c).sum() for c in range(C)]).float()
unused = (selected == -1).sum().float()
beta = counts / torch.maximum(counts.max(), unused)
tau_c = 0.95 * (beta / (2.0 - beta))
idx = torch.tensor(rng.choice(NU, size=N, replace=False))
fmask = maxp.ge(tau_c[yhat]).float()
new_sel = selected.clone()
sel = maxp.ge(0.95)
new_sel[idx[sel]] = yhat[sel]
out["flexmatch"] = dict(numUnlabeled=NU, selected=r(selected), indices=r(idx), beta=r(beta), thresholds=r(tau_c),
                        mask=r(fmask), selectedAfter=r(new_sel))

# ---- SCPNet prior ----
C2, topk, p, T = 8, 4, 0.2, 0.3
E = rng.normal(size=(C2, 16)) + 2.0
E /= np.linalg.norm(E, axis=1, keepdims=True)
R = torch.tensor((E @ E.T).astype(np.float32))
rel = R.clone()
_, max_idx = torch.topk(rel, topk)
smask = torch.ones_like(rel, dtype=torch.bool)
for i, ix in enumerate(max_idx):
    smask[i][ix] = False
rel[smask] = 0
eye = torch.eye(C2, dtype=torch.bool)
rel[eye] = 0
rel = rel / rel.sum(1, keepdim=True) * p
rel[eye] = 1 - p
adj = rel.clone()
rel = torch.exp(rel / T) / torch.exp(rel / T).sum(1, keepdim=True)
rel[smask] = 0
rel = rel / rel.sum(1, keepdim=True)

# ---- SCPNet class-wise acc from the selected_label memory ----
hard_k, ntrain = 2, 30
sel_mem = torch.tensor(rng.random((ntrain, C2)) < 0.5, dtype=torch.long)
cnt = sel_mem.sum(0)
max_v, sum_v = cnt.max().item(), cnt.sum().item()
acc = torch.zeros(C2)
for i in range(C2):
    acc[i] = max(cnt[i] / max(max_v, hard_k * ntrain - sum_v), 1 / C2)

# ---- SCPNet pseudo-labels + consistency loss (official form, clamp 1e-8) ----
Nb, kl_lambda, p_cutoff = 10, 2.0, 0.95
zw = torch.tensor(rng.normal(size=(Nb, C2)) * 1.5, dtype=torch.float32)
zw[0] = zw[0] * 0.1 - 3.0  # an unconfident sample: masked out
zs = torch.tensor(rng.normal(size=(Nb, C2)) * 2, dtype=torch.float32, requires_grad=True)
y_lb = torch.zeros(Nb, C2, dtype=torch.long)
y_lb[torch.arange(Nb), torch.tensor(rng.integers(0, C2, Nb))] = 1
pl = torch.sigmoid(zw)
ps = torch.sigmoid(zs)
relation_p = pl @ rel.t()
max_probs, max_idx2 = torch.topk(pl, hard_k, dim=-1)
thr = p_cutoff * (acc[max_idx2] / (2.0 - acc[max_idx2]))
smask2 = max_probs.ge(thr).float().sum(1) >= 1
labels = torch.zeros(Nb, C2, dtype=torch.long)
for i, ix in enumerate(max_idx2):
    labels[i][ix] = 1
labels[pl < p_cutoff * (acc / (2.0 - acc))] = 0
labels = torch.logical_or(labels, y_lb).long()
lp = labels * torch.log(ps.clamp(min=1e-8))
ln = (1 - labels) * torch.log((1 - ps).clamp(min=1e-8))
loss = (lp + ln) * smask2.reshape(-1, 1)
loss_kl = (relation_p * torch.log(ps.clamp(min=1e-8)) + (1 - relation_p) * torch.log((1 - ps).clamp(min=1e-8))) * smask2.reshape(-1, 1)
total = -loss.sum() - kl_lambda * loss_kl.sum()
total.backward()
out["scpnet"] = dict(c=C2, similarity=r(R), sparseTopk=topk, reweightP=p, temperature=T, adjacency=r(adj), relation=r(rel),
                     hardK=hard_k, numTrain=ntrain, counts=r(cnt), classwiseAcc=r(acc), n=Nb, klLambda=kl_lambda,
                     weak=r(zw), strong=r(zs), given=r(y_lb), targets=r(relation_p), labels=r(labels),
                     mask=r(smask2.float()), loss=total.item(), grad=r(zs.grad))

with open(OUT, "w") as fh:
    json.dump(out, fh)
print("wrote", OUT, "fixmatch mask", int(mask.sum()), "flex mask", int(fmask.sum()), "scp mask", int(smask2.sum()))
