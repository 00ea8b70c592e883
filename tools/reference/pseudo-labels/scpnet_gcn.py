"""PyTorch reference for @distillery/pseudo-labels' SCPNet label GCN (`scpnetLabelPrior` adjacency,
`createScpnetGcn` shapes, `scpnetGcnClassifier`, `scpnetLogits`): forward values and gradients.

Transcribed from the official code, jameslahm/SCPNet at commit d56341acffcf95ede22d16806e2c043ff767782b, model.py:
  - `GraphConvolution` (support = input @ weight; output = adj @ support; no bias; uniform +-1/sqrt(out) init);
  - `SCPNet.__init__`: the relation normalisation that yields `gcn_relation` (top-k sparsification, zero diagonal,
    row-normalise times reweight_p, diagonal 1 - reweight_p), and gc1/gc2/gc3 with LeakyReLU(0.2);
  - `SCPNet.forward`, the text path and the logits: identity = text_features; gc1 -> relu -> gc2 -> relu2 -> gc3;
    += identity; row L2-normalise; logits = scale * normalised image features @ text_features.t().
What CLIP computes in the official model (image features, prompt-learned text features, the relation file) is an
input here: random image features, random label embeddings and the cosine similarity of the label embeddings.
Widths are scaled down (1024 -> D = 6, 2048 -> H = 10).

Run with Debian's interpreter: /usr/bin/python3 tools/reference/pseudo-labels/scpnet_gcn.py
Writes packages/pseudo-labels/test/fixtures/scpnet-gcn.json.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/pseudo-labels/test/fixtures/scpnet-gcn.json")
torch.manual_seed(3)
rng = np.random.default_rng(5)


class GraphConvolution(nn.Module):
    def __init__(self, in_features, out_features, bias=False):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.parameter.Parameter(torch.Tensor(in_features, out_features))
        self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1. / math.sqrt(self.weight.size(1))
        self.weight.data.uniform_(-stdv, stdv)

    def forward(self, input, adj):
        support = torch.matmul(input, self.weight)
        output = torch.matmul(adj, support)
        return output


def gcn_relation_of(relation, sparse_topk, reweight_p, num_classes):
    """SCPNet.__init__ up to `self.gcn_relation = self.relation.clone()`."""
    relation = relation.clone()
    _, max_idx = torch.topk(relation, sparse_topk)
    mask = torch.ones_like(relation).type(torch.bool)
    for i, idx in enumerate(max_idx):
        mask[i][idx] = 0
    relation[mask] = 0
    dialog = torch.eye(num_classes).type(torch.bool)
    relation[dialog] = 0
    relation = relation / torch.sum(relation, dim=1).reshape(-1, 1) * reweight_p
    relation[dialog] = 1 - reweight_p
    return relation.clone()


class LabelGcn(nn.Module):
    """The GCN part of SCPNet (gc1, gc2, gc3, relu, relu2) and the text path + logits of SCPNet.forward."""

    def __init__(self, d, h, gcn_relation, scale):
        super().__init__()
        self.gc1 = GraphConvolution(d, h)
        self.gc2 = GraphConvolution(h, h)
        self.gc3 = GraphConvolution(h, d)
        self.relu = nn.LeakyReLU(0.2)
        self.relu2 = nn.LeakyReLU(0.2)
        self.gcn_relation = gcn_relation
        self.scale = scale

    def classifier(self, text_features):
        identity = text_features
        text_features = self.gc1(text_features, self.gcn_relation)
        text_features = self.relu(text_features)
        text_features = self.gc2(text_features, self.gcn_relation)
        text_features = self.relu2(text_features)
        text_features = self.gc3(text_features, self.gcn_relation)
        text_features = text_features + identity  # `+=` in the official code (out of place here for autograd)
        text_features = text_features / text_features.norm(dim=-1, keepdim=True)
        return text_features

    def forward(self, image_features, text_features):
        image_features = image_features / image_features.norm(dim=-1, keepdim=True)
        text_features = self.classifier(text_features)
        logits = self.scale * image_features @ text_features.t()
        return logits, text_features


def r(x):
    return np.asarray(x.detach().numpy(), dtype=np.float64).ravel().tolist()


C, D, H, N = 7, 6, 10, 5
topk, reweight_p, scale = 4, 0.2, 10
E = torch.tensor(rng.normal(size=(C, D)).astype(np.float32), requires_grad=True)
with torch.no_grad():
    En = E / E.norm(dim=1, keepdim=True)
    similarity = (En @ En.t()) + 1.0  # shifted cosine: positive off-diagonal top-k entries
gcn_relation = gcn_relation_of(similarity, topk, reweight_p, C)
model = LabelGcn(D, H, gcn_relation, scale)
feats = torch.tensor(rng.normal(size=(N, D)).astype(np.float32), requires_grad=True)
logits, classifier = model(feats, E)
R = torch.tensor(rng.normal(size=(N, C)).astype(np.float32))
loss = (logits * R).sum()
loss.backward()
out = dict(generator="tools/reference/pseudo-labels/scpnet_gcn.py",
           follows="jameslahm/SCPNet@d56341acffcf95ede22d16806e2c043ff767782b model.py",
           c=C, d=D, h=H, n=N, sparseTopk=topk, reweightP=reweight_p, scale=scale,
           similarity=r(similarity), adjacency=r(gcn_relation), embeddings=r(E), features=r(feats),
           w1=r(model.gc1.weight), w2=r(model.gc2.weight), w3=r(model.gc3.weight),
           classifier=r(classifier), logits=r(logits), upstream=r(R), loss=loss.item(),
           gradW1=r(model.gc1.weight.grad), gradW2=r(model.gc2.weight.grad), gradW3=r(model.gc3.weight.grad),
           gradEmbeddings=r(E.grad), gradFeatures=r(feats.grad))
with open(OUT, "w") as fh:
    json.dump(out, fh)
print("wrote", OUT, "loss", loss.item())
