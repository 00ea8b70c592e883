"""PyTorch side of packages/tensor/bench/tensor.bench.mjs: matMul 512 and an MLP training step, one thread."""
import json
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(0)


def median_ms(fn, warmup=2, repeats=5):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


a = torch.randn(512, 512)
b = torch.randn(512, 512)
matmul = median_ms(lambda: a @ b)

model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(128, 784)
y = torch.randint(0, 10, (128,))


def step():
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()


print(json.dumps({"version": torch.__version__, "matmul": matmul, "step": median_ms(step)}))
