"""Would ONNX Runtime make the trained reader fast enough? Torch beside ONNX fp32 and int8.

The reader's goal is p50 <= 60 ms on 3 passages on 2 cores; in torch it takes about 470 ms
(bench/reader_latency.py). This script exports the shipped reader (`models/reader/` on the
bundled encoder: all 12 layers and the heads) to ONNX once, quantises it dynamically to int8,
and times the three runtimes on the same windows: for each of `--questions` dev questions,
its own context and the next two (3 passages, read as the service reads them). It prints
each runtime's p50/p95 and how far its sentence log-odds (what the blend weighs) fall from
torch's: the largest difference and how often the best sentence stays the same.

    .venv/bin/python bench/reader_onnx.py --questions 40     # ~3 min; writes bench/out/reader*.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import machine, percentile  # noqa: E402

DEV = REPO.parent / "shared" / "data" / "persianqa_dev.json"
OUT = REPO / "bench" / "out"


def graph(reader):  # noqa: ANN001, ANN201 - torch types are imported lazily
    """The reader as one torch module: ids, mask and sentence membership in; no-answer,
    sentence and span logits out."""
    import torch

    from embeddings.reader_net import embed_tokens, run_layers

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model, self.heads = reader._model, reader._heads

        def forward(self, ids, mask, onehot):  # noqa: ANN001, ANN202
            hidden = run_layers(self.model, embed_tokens(self.model, ids), mask, self.model.encoder.layer)
            counts = onehot.sum(1)
            pooled = torch.einsum("bts,bth->bsh", onehot, hidden) / counts.clamp(min=1).unsqueeze(-1)
            return self.heads.null(hidden[:, 0]).squeeze(-1), self.heads.sentence(pooled).squeeze(-1)

    return Graph().eval()


def batches(reader, questions: int) -> list[tuple]:  # noqa: ANN001
    """(ids, mask, one-hot sentence membership) per question, as numpy arrays."""
    import torch

    from embeddings.reader_net import batch_tensors, encode_windows
    from qa.text import sentences

    articles = json.loads(DEV.read_text())["data"]
    contexts = [(a.get("title") or "", p["context"], p["qas"]) for a in articles for p in a["paragraphs"]]
    out = []
    for i in range(len(contexts)):
        for q in contexts[i][2]:
            if len(out) >= questions:
                return out
            if q.get("is_impossible") or q["id"] % 3:
                continue
            windows = []
            for title, text, _ in (contexts[(i + k) % len(contexts)] for k in range(3)):
                spans = [(s.start, s.end) for s in sentences(text, 0)]
                read = encode_windows(reader._tokenizer, q["question"], title, text, spans, reader.config.max_length)
                windows += [w for w in read if w.sentences]
            b = batch_tensors(windows, reader._tokenizer.pad)
            onehot = torch.nn.functional.one_hot(b["membership"], b["n_sent"] + 1)[..., 1:].float()
            out.append((b["input_ids"].numpy(), b["attention_mask"].numpy(), onehot.numpy()))
    return out


def log_odds(null: np.ndarray, sentence: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Every real sentence slot's log-odds against its window's no-answer, flattened."""
    real = onehot.sum(1) > 0
    return (sentence - null[:, None])[real]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.reader import TrainedReader

    torch.set_num_threads(args.threads)
    reader = TrainedReader(REPO / "models" / "reader")
    model = graph(reader)
    data = batches(reader, args.questions)
    OUT.mkdir(exist_ok=True)
    fp32, int8 = OUT / "reader.onnx", OUT / "reader-int8.onnx"
    example = tuple(torch.from_numpy(x) for x in data[0])
    axes = {"ids": {0: "b", 1: "t"}, "mask": {0: "b", 1: "t"}, "onehot": {0: "b", 1: "t", 2: "s"}}
    torch.onnx.export(
        model, example, str(fp32), input_names=list(axes), output_names=["null", "sentence"], dynamic_axes=axes,
        opset_version=17, dynamo=False,
    )  # fmt: skip
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)

    def torch_run(ids: np.ndarray, mask: np.ndarray, onehot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            null, sentence = model(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(onehot))
        return null.numpy(), sentence.numpy()

    def onnx_run(path: Path):  # noqa: ANN202
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return lambda ids, mask, onehot: tuple(session.run(None, {"ids": ids, "mask": mask, "onehot": onehot}))

    runs = {"torch": torch_run, "onnx fp32": onnx_run(fp32), "onnx int8": onnx_run(int8)}
    tokens = [int(mask.sum()) for _, mask, _ in data]
    print(f"{machine()}; {len(data)} questions x 3 passages, median {int(np.median(tokens))} tokens")
    reference = [log_odds(*torch_run(*b), b[2]) for b in data]
    for name, run in runs.items():
        run(*data[0])  # warm-up
        times, worst, same = [], 0.0, 0
        for b, ref in zip(data, reference, strict=True):
            t = time.perf_counter()
            null, sentence = run(*b)
            times.append((time.perf_counter() - t) * 1000)
            got = log_odds(null, sentence, b[2])
            worst = max(worst, float(np.abs(got - ref).max()))
            same += int(np.argmax(got) == np.argmax(ref))
        line = f"  {name:9}  p50 {percentile(times, 50):6.0f} ms  p95 {percentile(times, 95):6.0f} ms"
        if name != "torch":
            size = (fp32 if name == "onnx fp32" else int8).stat().st_size / 2**20
            line += f"  log-odds off by <= {worst:.3f}  best sentence kept {same}/{len(data)}  ({size:.0f} MB)"
        print(line)


if __name__ == "__main__":
    main()
