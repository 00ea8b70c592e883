"""Reference values for @distillery/samplers: CIFAR-LT count tables (kaidic/LDAM-DRW imbalance_cifar.py formula),
effective-number class weights (Cui et al. 2019 as in LDAM-DRW cifar_train.py) and the OLTR count split.
Run: /usr/bin/python3 tools/reference/train/samplers_reference.py"""
import json
import os

import numpy as np


def img_num_per_cls(img_max, cls_num, imb_type, imb_factor):
    # formula of get_img_num_per_cls, written from the card: imb_factor = 1/IF
    if imb_type == 'exp':
        return [int(img_max * (imb_factor ** (i / (cls_num - 1.0)))) for i in range(cls_num)]
    half = cls_num // 2
    return [int(img_max) if i < half else int(img_max * imb_factor) for i in range(cls_num)]


def drw_weights(counts, beta):
    effective = 1.0 - np.power(beta, counts)
    w = (1.0 - beta) / np.array(effective)
    return (w / np.sum(w) * len(counts)).tolist()


out = {'counts': [], 'weights': [], 'splits': []}
for name, n_max, C in [('cifar10', 5000, 10), ('cifar100', 500, 100)]:
    for IF in [100, 50, 10]:
        for profile in ['exp', 'step']:
            counts = img_num_per_cls(n_max, C, profile, 1.0 / IF)
            out['counts'].append({'dataset': name, 'maxCount': n_max, 'numClasses': C, 'imbalanceFactor': IF,
                                  'profile': profile, 'counts': counts, 'total': int(sum(counts))})
            if profile == 'exp':
                for beta in [0.9999, 0.999, 0.0]:
                    out['weights'].append({'counts': counts, 'beta': beta, 'weights': drw_weights(counts, beta)})
                c = np.array(counts)
                out['splits'].append({'counts': counts, 'many': int((c > 100).sum()),
                                      'medium': int(((c <= 100) & (c >= 20)).sum()), 'few': int((c < 20).sum())})
path = os.path.join(os.path.dirname(__file__), '../../../packages/samplers/test/fixtures/long-tail.json')
with open(path, 'w') as f:
    json.dump(out, f)
print('wrote', os.path.abspath(path))
