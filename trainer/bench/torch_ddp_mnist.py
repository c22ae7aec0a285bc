"""PyTorch DDP twin of ``ferroflow-train`` for the side-by-side benchmark.

Same data (t10k split 8000/2000, same normalization), model (784-128-10 MLP,
ReLU, dropout 0.2), optimizer (Adam, lr 1e-3), sharding (DistributedSampler,
seed + epoch), per-rank batch, threads and world size; gloo.  Batches are
gathered with ``index_select`` from an in-memory tensor, as ferroflow-train
does, so that the comparison is of the training step and not of DataLoader.

Run under torchrun:
  torchrun --nproc-per-node 3 torch_ddp_mnist.py --data-dir $MNIST_DIR --summary-json out.json
"""

import argparse
import gzip
import json
import os
import resource
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data.distributed import DistributedSampler


class Net(nn.Module):
    def __init__(self, dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


def read_idx(path):
    with gzip.open(path) as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--summary-json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()

    images = read_idx(os.path.join(args.data_dir, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(args.data_dir, "t10k-labels-idx1-ubyte.gz"))
    x = (torch.from_numpy(images.reshape(-1, 784).astype(np.float32)) / 255.0 - 0.1307) / 0.3081
    y = torch.from_numpy(labels.astype(np.int64))
    train_x, train_y, val_x, val_y = x[:8000], y[:8000], x[8000:], y[8000:]

    torch.manual_seed(args.seed)
    model = DDP(Net(args.dropout))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    sampler = DistributedSampler(range(len(train_x)), num_replicas=world, rank=rank,
                                 shuffle=True, seed=args.seed)
    val_idx = torch.arange(rank, len(val_x), world)

    cpu_start, wall_start = cpu_seconds(), time.perf_counter()
    samples, history = 0.0, []
    for epoch in range(args.epochs):
        started = time.perf_counter()
        sampler.set_epoch(epoch)
        indices = torch.tensor(list(sampler))
        model.train()
        stats = torch.zeros(3, dtype=torch.float64)
        for batch in indices.split(args.batch_size):
            xb, yb = train_x.index_select(0, batch), train_y.index_select(0, batch)
            optimizer.zero_grad()
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            optimizer.step()
            stats += torch.tensor([loss.item() * len(batch),
                                   (logits.argmax(1) == yb).sum().item(), len(batch)],
                                  dtype=torch.float64)
        dist.all_reduce(stats)
        model.eval()
        with torch.no_grad():
            logits = model.module(val_x[val_idx])
            vstats = torch.tensor([F.cross_entropy(logits, val_y[val_idx]).item() * len(val_idx),
                                   (logits.argmax(1) == val_y[val_idx]).sum().item(), len(val_idx)],
                                  dtype=torch.float64)
        dist.all_reduce(vstats)
        seconds = time.perf_counter() - started
        samples += stats[2].item()
        history.append({"epoch": epoch + 1, "train_loss": stats[0].item() / stats[2].item(),
                        "val_accuracy": vstats[1].item() / vstats[2].item(),
                        "samples_per_second": stats[2].item() / seconds, "seconds": seconds})
        if rank == 0:
            print(f"epoch {epoch + 1}: val_accuracy={history[-1]['val_accuracy']:.4f} "
                  f"samples/s={history[-1]['samples_per_second']:.0f}", flush=True)
    wall = time.perf_counter() - wall_start
    cpu = torch.tensor([cpu_seconds() - cpu_start], dtype=torch.float64)
    dist.all_reduce(cpu)
    if rank == 0:
        summary = {"world_size": world, "samples": samples, "train_seconds": wall,
                   "cpu_seconds": cpu.item(), "samples_per_second": samples / wall,
                   "samples_per_cpu_second": samples / cpu.item(), "history": history}
        print("summary:", json.dumps(summary))
        if args.summary_json:
            with open(args.summary_json, "w") as f:
                json.dump(summary, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
