"""scikit-learn reference values for @distillery/train metrics.
Run: /usr/bin/python3 tools/reference/train/metrics_reference.py"""
import json
import os

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import metrics

rng = np.random.default_rng(0)
cases = []
for N, C, noise in [(60, 5, 0.5), (200, 10, 0.7), (37, 3, 0.2)]:
    y = rng.integers(0, C, N)
    scores = rng.normal(size=(N, C))
    scores[np.arange(N), y] += 2.0 * (1 - noise) + rng.normal(size=N)
    pred = scores.argmax(1)
    # a permuted clustering of the predictions (cluster ids shuffled), for Hungarian matching
    perm = rng.permutation(C)
    clusters = perm[pred]
    cost = N - np.array([[np.sum((clusters == p) & (y == g)) for g in range(C)] for p in range(C)])
    r, c = linear_sum_assignment(cost)
    mapping = np.zeros(C, dtype=int)
    mapping[r] = c
    remapped = mapping[clusters]
    per_class_remapped = [float(np.mean(remapped[y == k] == k)) for k in range(C) if np.any(y == k)]
    case = {
        'N': N, 'C': C, 'yTrue': y.tolist(), 'scores': scores.tolist(), 'yPred': pred.tolist(),
        'clusters': clusters.tolist(),
        'accuracy': metrics.accuracy_score(y, pred),
        'top1': metrics.top_k_accuracy_score(y, scores, k=1, labels=list(range(C))),
        'top2': metrics.top_k_accuracy_score(y, scores, k=2, labels=list(range(C))),
        'confusion': metrics.confusion_matrix(y, pred, labels=list(range(C))).tolist(),
        'balancedAccuracy': metrics.balanced_accuracy_score(y, pred),
        'recall': metrics.recall_score(y, pred, average=None, labels=list(range(C)), zero_division=0).tolist(),
        'f1Macro': metrics.f1_score(y, pred, average='macro', zero_division=0),
        'f1Micro': metrics.f1_score(y, pred, average='micro', zero_division=0),
        'f1Weighted': metrics.f1_score(y, pred, average='weighted', zero_division=0),
        'nmi': metrics.normalized_mutual_info_score(y, clusters),
        'ari': metrics.adjusted_rand_score(y, clusters),
        'clusterAccuracy': float(np.mean(remapped == y)),
        'clusterMeanClassAccuracy': float(np.mean(per_class_remapped)),
        'clusterF1Macro': metrics.f1_score(y, remapped, average='macro', zero_division=0),
        'kappa': metrics.cohen_kappa_score(y, pred),
    }
    cases.append(case)

# multi-label mAP, with tied scores in one class
ml_t = (rng.random((40, 6)) < 0.3).astype(int)
ml_t[0, :] = 1
ml_s = rng.random((40, 6)) + ml_t * 0.3
ml_s[:, 2] = np.round(ml_s[:, 2], 1)
multilabel = {'targets': ml_t.tolist(), 'scores': ml_s.tolist(),
              'perClassAP': [metrics.average_precision_score(ml_t[:, c], ml_s[:, c]) for c in range(6)],
              'mAP': metrics.average_precision_score(ml_t, ml_s, average='macro')}

accs = rng.uniform(0.4, 0.8, 600)
fewshot = {'accs': accs.tolist(), 'mean': float(np.mean(accs)), 'ci95': float(1.96 * np.std(accs) / np.sqrt(600))}

# a rectangular assignment problem
rect = rng.random((4, 7))
rr, rc = linear_sum_assignment(rect)
rect_t = rect.T
tr, tc = linear_sum_assignment(rect_t)
assignment = {'cost': rect.tolist(), 'cost_value': float(rect[rr, rc].sum()),
              'costT_value': float(rect_t[tr, tc].sum())}

# degenerate partitions (one sample, one cluster each, all singletons, complete disagreement): sklearn's special
# cases of adjusted_rand_score (pair confusion matrix: 1.0 when fn = fp = 0) and normalized_mutual_info_score
degenerate_pairs = [([0], [0]), ([0], [1]), ([0, 0], [0, 0]), ([0, 0], [0, 1]), ([0, 1], [0, 0]),
                    ([0, 0, 0], [1, 1, 1]), ([0, 1, 2], [0, 0, 0]), ([0, 0, 0], [0, 1, 2]), ([0, 1, 2], [2, 1, 0]),
                    ([0, 0, 1, 1], [0, 1, 0, 1]), ([3, 3, 7], [5, 5, 5]), ([0, 0, 1, 1], [0, 0, 1, 2])]
degenerate = [{'yTrue': a, 'yPred': b, 'ari': metrics.adjusted_rand_score(a, b),
               'nmi': metrics.normalized_mutual_info_score(a, b)} for a, b in degenerate_pairs]

out = {'cases': cases, 'multilabel': multilabel, 'fewshot': fewshot, 'assignment': assignment,
       'degenerate': degenerate}
path = os.path.join(os.path.dirname(__file__), '../../../packages/train/test/fixtures/metrics.json')
with open(path, 'w') as f:
    json.dump(out, f)
print('wrote', os.path.abspath(path), os.path.getsize(path), 'bytes')
