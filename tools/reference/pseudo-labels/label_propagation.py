"""PyTorch float64 reference for @distillery/pseudo-labels' label propagation and adaptive picking (GP-MAML,
Liu et al., arXiv 2207.04217; TPN label propagation, arXiv 1805.10002).

Transcribed from the official code, branpent/gp-maml at commit e98b35118a850966288ad0c25514e52f67c194e3:
  - gp-maml/LPAP/train.py, `LabelPropagation.forward`, steps 2 and 3 (graph construction, F = (I - alpha S)^-1 Y);
    the diagonal of W is never zeroed, so W_ii = exp(0) = 1 is always inside `torch.topk(W, 20)` (self-loops);
  - gp-maml/LPAP/utils.py, `adaptivePicking` (the picked query positions and their pseudo-labels).
What the official code takes from elsewhere is an input here: the embeddings (its 4-conv encoder) and sigma (its
RelationNetWork, one value per sample); `k` replaces the hard-coded 20 and `alpha` the fixed 0.99 so that small
cases exercise the top-k. The `self_loops=False` cases zero the diagonal before the top-k (the package's option
`selfLoops: false`), which the official code does not do.

Run with Debian's interpreter: /usr/bin/python3 tools/reference/pseudo-labels/label_propagation.py
Writes packages/pseudo-labels/test/fixtures/label-propagation.json.
"""
import json
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/pseudo-labels/test/fixtures/label-propagation.json")
rng = np.random.default_rng(21)
torch.set_default_dtype(torch.float64)


def f32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def label_propagation(emb_all, sigma, s_labels, num_queries, k, alpha, self_loops=True):
    """LabelPropagation.forward, steps 2-3, with emb_all and sigma given."""
    eps = np.finfo(float).eps
    num_classes = s_labels.shape[1]
    N = emb_all.shape[0]
    emb_all = emb_all / (sigma + eps)  # N*d
    emb1 = torch.unsqueeze(emb_all, 1)  # N*1*d
    emb2 = torch.unsqueeze(emb_all, 0)  # 1*N*d
    W = ((emb1 - emb2) ** 2).mean(2)  # N*N
    W = torch.exp(-W / 2)
    if not self_loops:  # the package's selfLoops: false (not in the official code)
        W = W * (1 - torch.eye(N))
    topk, indices = torch.topk(W, k)
    mask = torch.zeros_like(W)
    mask = mask.scatter(1, indices, 1)
    mask = ((mask + torch.t(mask)) > 0).type(torch.float64)  # union, kNN graph
    W = W * mask
    D = W.sum(0)
    D_sqrt_inv = torch.sqrt(1.0 / (D + eps))
    D1 = torch.unsqueeze(D_sqrt_inv, 1).repeat(1, N)
    D2 = torch.unsqueeze(D_sqrt_inv, 0).repeat(N, 1)
    S = D1 * W * D2
    ys = s_labels
    yu = torch.zeros(num_classes * num_queries, num_classes)
    y = torch.cat((ys, yu), 0)
    F = torch.matmul(torch.inverse(torch.eye(N) - alpha * S + eps), y)
    return F


def adaptive_picking(test_logits, num_ways, pic_num):
    """utils.py adaptivePicking: the indices and targets it builds fake_input / fake_target from."""
    soft_logits = torch.softmax(test_logits, dim=1)
    soft_logits_max = torch.max(soft_logits, dim=1)
    fake_label = torch.argmax(soft_logits, dim=1)
    fake_indices = torch.topk(soft_logits_max.values, k=pic_num, dim=0).indices
    fakes = [[]] * num_ways
    for i in range(num_ways):
        fakes[i] = [int(idx) for idx in fake_indices if fake_label[idx] == i]
    min_len = 99999
    for i in range(num_ways):
        if len(fakes[i]) < min_len:
            min_len = len(fakes[i])
    picked = []
    for i in range(min_len):
        for idx in range(num_ways):
            picked.append(fakes[idx][i])
    fake_target = [i for i in range(num_ways)] * min_len
    return picked, fake_target, min_len


cases = []
for ways, shots, queries, d, k, alpha, pic, per_sample_sigma, self_loops in [
    (5, 1, 6, 6, 4, 0.5, 30, False, True),
    (4, 2, 5, 5, 4, 0.8, 16, True, True),
    (3, 1, 4, 4, 15, 0.99, 12, False, True),
    (5, 1, 15, 8, 20, 0.99, 75, True, True),  # the official k = 20, alpha = 0.99, 5-way 1-shot 15 queries
    (5, 1, 6, 6, 4, 0.5, 30, False, False),
    (4, 2, 5, 5, 4, 0.8, 16, True, False),
]:
    centers = rng.normal(size=(ways, d)) * 2
    ys = [c for s in range(shots) for c in range(ways)]
    yq = [c for q in range(queries) for c in range(ways)]
    emb = f32(np.concatenate([centers[ys], centers[yq]]) + rng.normal(size=(len(ys) + len(yq), d)))
    sigma = f32(rng.uniform(0.5, 2.0, len(emb))) if per_sample_sigma else np.ones(len(emb))
    s_labels = torch.nn.functional.one_hot(torch.tensor(ys), ways).double()
    F = label_propagation(torch.tensor(emb), torch.tensor(sigma).reshape(-1, 1), s_labels, queries, k, alpha,
                          self_loops)
    Fq = F[len(ys):]
    # torch.topk needs pic_num <= number of queries; the package clamps picNum the same way.
    idx, lab, min_len = adaptive_picking(Fq, ways, min(pic, len(yq)))
    cases.append(dict(ways=ways, embeddings=emb.ravel().tolist(), m=len(emb), d=d, supportLabels=ys, k=k, alpha=alpha,
                      sigma=sigma.tolist() if per_sample_sigma else 1.0, selfLoops=self_loops,
                      F=F.numpy().ravel().tolist(), picNum=pic, pickIndices=idx, pickLabels=lab, minLen=min_len))
with open(OUT, "w") as fh:
    json.dump({"generator": "tools/reference/pseudo-labels/label_propagation.py",
               "follows": "branpent/gp-maml@e98b35118a850966288ad0c25514e52f67c194e3 gp-maml/LPAP/train.py, utils.py",
               "cases": cases}, fh)
print("wrote", OUT, [c["minLen"] for c in cases])
