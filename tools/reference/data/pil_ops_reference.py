"""PIL reference for the @distillery/data colour/geometry ops that emulate PIL in float (RandAugment, AutoAugment):
ImageOps.equalize / autocontrast / solarize / posterize / invert, ImageEnhance.Color / Contrast / Brightness /
Sharpness, an integer translation and rotate(90). Writes packages/data/test/fixtures/pil-ops.json.
Run: /usr/bin/python3 tools/reference/data/pil_ops_reference.py"""
import json
import os

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

rng = np.random.default_rng(0)
images = [rng.integers(0, 256, (7, 6, 3), dtype=np.uint8),
          (rng.integers(40, 120, (7, 6, 3)) + np.arange(6)[None, :, None] * 10).astype(np.uint8),
          rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)]
cases = []
for k, arr in enumerate(images):
    img = Image.fromarray(arr)
    out = {
        'equalize': ImageOps.equalize(img),
        'autocontrast': ImageOps.autocontrast(img),
        'solarize128': ImageOps.solarize(img, 128),
        'posterize3': ImageOps.posterize(img, 3),
        'invert': ImageOps.invert(img),
        'color1.7': ImageEnhance.Color(img).enhance(1.7),
        'contrast0.4': ImageEnhance.Contrast(img).enhance(0.4),
        'brightness1.3': ImageEnhance.Brightness(img).enhance(1.3),
        'sharpness1.8': ImageEnhance.Sharpness(img).enhance(1.8),
        'translate(2,-1)': img.transform(img.size, Image.AFFINE, (1, 0, 2, 0, 1, -1), fillcolor=(128, 128, 128)),
    }
    if arr.shape[0] == arr.shape[1]:
        out['rotate90'] = img.rotate(90)
    cases.append({'shape': list(arr.shape), 'input': arr.reshape(-1).tolist(),
                  'outputs': {name: np.asarray(o).reshape(-1).tolist() for name, o in out.items()}})
path = os.path.join(os.path.dirname(__file__), '../../../packages/data/test/fixtures/pil-ops.json')
with open(path, 'w') as f:
    json.dump({'cases': cases}, f)
print('wrote', os.path.abspath(path), os.path.getsize(path), 'bytes')
