"""Reference values for @distillery/data `pca`: scikit-learn's PCA (sklearn.decomposition.PCA, svd_solver='full',
i.e. an SVD of the centred data; explained_variance_ uses the N - 1 denominator) on a small seeded matrix with
well-separated variances, written to packages/data/test/fixtures/pca.json.

The inputs are rounded to float32 first so the TypeScript side sees the same numbers. Component signs are
sklearn's (svd_flip); the test compares them up to sign.
Run: /usr/bin/python3 tools/reference/data/pca_reference.py"""
import json
import os

import numpy as np
import sklearn
from sklearn.decomposition import PCA

OUT = os.path.join(os.path.dirname(__file__), '../../../packages/data/test/fixtures/pca.json')

rng = np.random.default_rng(14)
n, d, k = 40, 6, 3
scales = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.25])
mixing = np.linalg.qr(rng.standard_normal((d, d)))[0]
x = ((rng.standard_normal((n, d)) * scales) @ mixing.T + rng.standard_normal(d)).astype(np.float32)
xd = x.astype(np.float64)

model = PCA(n_components=k, svd_solver='full').fit(xd)
fixture = {
    'source': f'sklearn {sklearn.__version__} PCA(n_components={k}, svd_solver="full") on float64',
    'n': n,
    'd': d,
    'components': k,
    'x': x.reshape(-1).tolist(),
    'componentsRowMajor': model.components_.reshape(-1).tolist(),
    'explainedVariance': model.explained_variance_.tolist(),
    'explainedVarianceRatio': float(model.explained_variance_ratio_.sum()),
    'projected': model.transform(xd).reshape(-1).tolist(),
}
with open(OUT, 'w') as f:
    json.dump(fixture, f)
    f.write('\n')
print('wrote', OUT)
