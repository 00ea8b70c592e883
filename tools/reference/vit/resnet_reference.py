"""Reference CIFAR ResNet (option A) and the RIDE/MDCS multi-expert ResNet for @distillery/vit parity.

Transcribed from the official code (not torchvision: the CIFAR ResNet with option-A shortcuts is not in
torchvision): kaidic/LDAM-DRW @6feb304 models/resnet_cifar.py (BasicBlock, ResNet_s, NormedLinear, resnet32) and
RIDE's multi-expert ResNet_s as in fistyee/MDCS @b07f5bd model/ldam_drw_resnets/expert_resnet_cifar.py
(layer2s/layer3s/linears per expert, s = 30; its unused linear_head/linear_few/mlp are left out):
BasicBlock with the option-A shortcut F.pad(x[:, :, ::2, ::2], (0,0,0,0,(planes-in)//2,(planes-in)//2)),
NormedLinear(normalize(x, 1) @ normalize(W, 0)) * s. Small block counts keep the fixtures tiny.
Checks: eval forward (perturbed running stats), train forward (batch statistics), running buffers after one
train forward, and gradients (input, conv1 filter, a BN weight, the classifier) of a cross-entropy loss.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import dump, flat, nhwc, rounded_input, write_safetensors

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/vit/test/fixtures")


class NormedLinear(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(i, o).uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5))

    def forward(self, x):
        return F.normalize(x, dim=1).mm(F.normalize(self.weight, dim=0))


class BasicBlock(nn.Module):
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = (planes - inp) // 2
        self.down = stride != 1 or inp != planes

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        sc = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad)) if self.down else x
        return F.relu(out + sc)


def layer(inp, planes, n, stride):
    return nn.Sequential(*[BasicBlock(inp if i == 0 else planes, planes, stride if i == 0 else 1) for i in range(n)])


class ResNetCifar(nn.Module):
    def __init__(self, blocks, widths, classes, cosine):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.layer1 = layer(widths[0], widths[0], blocks[0], 1)
        self.layer2 = layer(widths[0], widths[1], blocks[1], 2)
        self.layer3 = layer(widths[1], widths[2], blocks[2], 2)
        self.linear = NormedLinear(widths[2], classes) if cosine else nn.Linear(widths[2], classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(x.mean((2, 3)))


class MultiExpert(nn.Module):
    def __init__(self, blocks, widths, classes, experts, s=30.0):
        super().__init__()
        self.s = s
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.layer1 = layer(widths[0], widths[0], blocks[0], 1)
        self.layer2s = nn.ModuleList([layer(widths[0], widths[1], blocks[1], 2) for _ in range(experts)])
        self.layer3s = nn.ModuleList([layer(widths[1], widths[2], blocks[2], 2) for _ in range(experts)])
        self.linears = nn.ModuleList([NormedLinear(widths[2], classes) for _ in range(experts)])

    def forward(self, x):
        x = self.layer1(F.relu(self.bn1(self.conv1(x))))
        outs = []
        for l2, l3, lin in zip(self.layer2s, self.layer3s, self.linears):
            outs.append(lin(l3(l2(x)).mean((2, 3))) * self.s)
        return torch.stack(outs, 1).mean(1), outs


def perturb(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bn" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(p.to(torch.float32))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))
            elif name.endswith("num_batches_tracked"):
                b.fill_(3)


def case(name, model, batch, img, classes, seed, grad_names):
    gen = torch.Generator().manual_seed(seed)
    perturb(model, gen)
    write_safetensors(os.path.join(OUT, f"{name}.safetensors"), model.state_dict())
    model = model.double()
    x = rounded_input((batch, 3, img, img), gen).requires_grad_(True)
    labels = torch.randint(0, classes, (batch,), generator=gen)
    model.eval()
    with torch.no_grad():
        ev = model(x)
    eval_logits = ev[0] if isinstance(ev, tuple) else ev
    model.train()
    out = model(x)
    logits = out[0] if isinstance(out, tuple) else out
    experts = out[1] if isinstance(out, tuple) else None
    loss = F.cross_entropy(logits, labels)
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss, [x] + [params[n] for n in grad_names])
    buffers = dict(model.named_buffers())
    res = {
        "input": nhwc(x),
        "labels": [int(v) for v in labels],
        "evalLogits": flat(eval_logits),
        "trainLogits": flat(logits),
        "expertLogits": [flat(e) for e in experts] if experts else None,
        "loss": float(loss),
        "runningMean": flat(buffers["bn1.running_mean"]),
        "runningVar": flat(buffers["bn1.running_var"]),
        "inputGrad": nhwc(grads[0]),
        "paramGrads": {n: {"shape": list(params[n].shape), "values": flat(g)} for n, g in zip(grad_names, grads[1:])},
    }
    dump(os.path.join(OUT, f"{name}.json"), res)


if __name__ == "__main__":
    torch.manual_seed(0)
    case("resnet_cifar_tiny", ResNetCifar([1, 1, 1], [4, 8, 16], 5, cosine=False), batch=3, img=8, classes=5,
         seed=3, grad_names=["conv1.weight", "layer2.0.bn1.weight", "linear.weight", "layer3.0.conv2.weight"])
    case("resnet_cifar_cosine_tiny", ResNetCifar([1, 1, 1], [4, 8, 16], 5, cosine=True), batch=3, img=8,
         classes=5, seed=4, grad_names=["conv1.weight", "linear.weight"])
    case("multi_expert_tiny", MultiExpert([1, 1, 1], [4, 6, 12], 5, experts=2), batch=3, img=8, classes=5, seed=5,
         grad_names=["conv1.weight", "layer2s.1.0.conv1.weight", "linears.0.weight"])
