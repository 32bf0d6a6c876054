"""A tiny sentence-transformers model built on the spot, for the optional backend's tests.

No model hub is reachable from the tests, so the sentence-transformers backend is tried
on a model made here: a WordPiece tokenizer trained on a few Persian and English
sentences and a two-layer BERT with random (seeded) weights, mean-pooled to 32 dims.
Its vectors mean nothing; what the tests check is the plumbing around them.

Example:
    >>> paths = tiny_models(tmp_path_factory)   # {"e5": .../tiny-e5, "plain": .../tiny-plain}
    >>> SentenceTransformerEmbedder(str(paths["plain"])).dim
    32
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HIDDEN = 32

CORPUS = [
    "بشار اسد در گفتگویی تلفنی با عبدالفتاح السیسی، رئیس جمهور مصر، گفتگو کرد.",
    "زمین‌لرزه‌ای به بزرگی ۷.۸ ریشتر جنوب ترکیه و شمال سوریه را لرزاند.",
    "محمد بن زاید، رئیس امارات، به ملت سوریه تسلیت گفت.",
    "هواپیماهای حامل کمک‌های بشردوستانه ایران در فرودگاه دمشق نشستند.",
    "آلودگی هوا مدارس و ادارات استان تهران را تعطیل کرد.",
    "شاخص کیفیت هوای تهران به عدد ۱۶۸ رسید و ناسالم شد.",
    "ذرات معلق کوچک‌تر از ۲.۵ میکرون آلاینده اصلی هوا هستند.",
    "سوزاندن مازوت در نیروگاه‌ها مورد انتقاد است.",
    "وزارت بهداشت از سالمندان خواست از خانه خارج نشوند.",
    "پایتخت ژاپن توکیو است و پایتخت ایران تهران.",
    "Bashar al-Assad spoke by phone with the president of Egypt.",
    "An earthquake of magnitude 7.8 struck southern Turkey and northern Syria.",
    "The United Arab Emirates sent rescue teams and fifty million dollars.",
    "Iran sent planes carrying humanitarian aid to Damascus and Aleppo.",
    "Air pollution closed schools and offices in Tehran province.",
    "The air quality index reached 168, unhealthy for everyone.",
    "Fine particles smaller than 2.5 microns are the main pollutant.",
    "Burning mazut in power plants is criticised by environmentalists.",
    "The health ministry asked elderly people to stay at home.",
    "Tokyo is the capital city of Japan.",
]


def build_tiny_model(target: Path, seed: int = 0) -> Path:
    """Build and save a tiny sentence-transformers model at `target`; returns `target`.

    The Hugging Face parts (tokenizer and BERT) go to `target.parent / "<name>-hf"`;
    `target` is the sentence-transformers folder that loads them.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local: never download
    import torch
    from sentence_transformers import SentenceTransformer, models
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece
    from tokenizers.trainers import WordPieceTrainer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(CORPUS, WordPieceTrainer(vocab_size=300, special_tokens=special))
    hf_tokenizer = BertTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    bert = BertModel(config)

    hf_folder = target.parent / f"{target.name}-hf"
    hf_tokenizer.save_pretrained(hf_folder)
    bert.save_pretrained(hf_folder)

    transformer = models.Transformer(str(hf_folder), max_seq_length=128)
    pooling = models.Pooling(HIDDEN, "mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(target))
    return target


def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny model saved under a name containing "e5" and under one without.

    Built once per test run (in the run's base temp folder), whichever test file asks first.
    """
    base = tmp_path_factory.getbasetemp() / "tiny-models"
    paths = {"e5": base / "tiny-e5", "plain": base / "tiny-plain"}
    if not (paths["plain"] / "modules.json").exists():
        build_tiny_model(paths["e5"])
        shutil.copytree(paths["e5"], paths["plain"])
    return paths
