"""The examples bench/train_reader.py makes from a written paragraph say what the reader must
say of them: a near miss (the answer's sentence taken out) has no answer, and a short passage
read amid the rest of its paragraph is answered by its own sentences only.

These examples are made, not written, so nothing else would notice an answer span shifted by a
character or a passage labelled with an answer that stands only in the text around it.
"""

from __future__ import annotations

import random
from types import ModuleType

import pytest
from bench_script import bench_script

from qa.text import sentences

PARAGRAPH = (
    "دفتر ریاست جمهوری فرانسه از دیدار امانوئل ماکرون و اولاف شولتس در پاریس خبر داد. "
    "رئیس‌جمهور فرانسه در این دیدار دربارهٔ انرژی و امنیت اروپا سخن گفت. "
    "وی افزود که دو کشور همکاری‌های خود را گسترش خواهند داد. "
    "این دیدار دو ساعت طول کشید."
)
ANSWER = "اولاف شولتس"


@pytest.fixture(scope="module")
def train_reader() -> ModuleType:
    return bench_script("train_reader")


def _example(train_reader: ModuleType, question: str = "ماکرون با چه کسی دیدار کرد؟", answer: str | None = ANSWER):
    start = PARAGRAPH.find(answer) if answer else -1
    span = (start, start + len(answer)) if answer else None
    return train_reader.Example(question, "دیدار ماکرون و شولتس", PARAGRAPH, span)


def test_a_near_miss_has_the_answers_sentence_taken_out_and_no_answer(train_reader: ModuleType) -> None:
    miss = train_reader.without_answer_sentence(_example(train_reader))
    assert miss is not None and miss.answer is None
    assert ANSWER not in miss.text and "رئیس‌جمهور فرانسه در این دیدار" in miss.text


def test_a_passage_in_context_keeps_exact_offsets_and_is_answered_only_by_its_own_sentences(
    train_reader: ModuleType,
) -> None:
    example = _example(train_reader)
    spans = sentences(PARAGRAPH)
    seen = {"answered": 0, "answer around it": 0}
    for seed in range(60):
        piece = train_reader.in_context(example, random.Random(seed))
        assert piece is not None
        # The passage is one or two whole sentences, and with the text around it makes the paragraph.
        assert " ".join([*piece.before, piece.text, *piece.after]) == " ".join(s.text for s in spans)
        assert 1 <= len(sentences(piece.text)) <= 2
        if piece.answer is not None:
            assert piece.text[piece.answer[0] : piece.answer[1]] == ANSWER
            seen["answered"] += 1
        else:
            assert ANSWER not in piece.text
            seen["answer around it"] += ANSWER in " ".join(piece.before + piece.after)
    assert seen["answered"] and seen["answer around it"], seen


def test_a_question_without_an_answer_stays_without_one_in_context(train_reader: ModuleType) -> None:
    example = _example(train_reader, "ماکرون با چه کسی تلفنی صحبت کرد؟", None)
    assert all(train_reader.in_context(example, random.Random(s)).answer is None for s in range(20))


def test_a_paragraph_of_two_sentences_makes_no_passage_in_context(train_reader: ModuleType) -> None:
    short = train_reader.Example("چه کسی؟", "", "علی آمد. او رفت.", (0, 3))
    assert train_reader.in_context(short, random.Random(0)) is None


def test_the_examples_in_context_are_drawn_the_same_on_every_run(train_reader: ModuleType) -> None:
    examples = [_example(train_reader, f"پرسش {i} دربارهٔ دیدار ماکرون؟") for i in range(40)]
    first = train_reader.in_contexts(examples, 0.5)
    assert first == train_reader.in_contexts(examples, 0.5)
    assert 5 < len(first) < 35


def test_an_english_question_with_a_swapped_name_asks_about_someone_the_paragraph_never_writes(
    train_reader: ModuleType,
) -> None:
    example = _example(train_reader, "Whom did Emmanuel Macron meet in Paris?")
    assert train_reader.question_names(example.question) == ["Emmanuel Macron", "Paris"]
    donors = ["Olaf Scholz", "Recep Erdogan", "Tokyo"]  # Scholz is in the paragraph: never a donor
    for seed in range(20):
        swap = train_reader.swapped_name(example, donors, random.Random(seed))
        assert swap is not None and swap.answer is None and swap.text == example.text
        assert "Scholz" not in swap.question
        assert swap.question in {
            "Whom did Recep Erdogan meet in Paris?",
            "Whom did Emmanuel Macron meet in Tokyo?",
        }, swap.question


def test_a_persian_question_or_one_without_a_name_gets_no_swap(train_reader: ModuleType) -> None:
    donors = ["Recep Erdogan"]
    assert train_reader.swapped_name(_example(train_reader), donors, random.Random(0)) is None
    no_name = _example(train_reader, "Whom did the president meet?")
    assert train_reader.swapped_name(no_name, donors, random.Random(0)) is None


def test_the_persian_share_keeps_every_english_example(train_reader: ModuleType) -> None:
    persian = [_example(train_reader, f"پرسش {i} دربارهٔ دیدار ماکرون؟") for i in range(40)]
    english = [_example(train_reader, f"Question {i} about Macron?") for i in range(10)]
    kept = train_reader.persian_kept(persian + english, 0.3)
    assert all(e in kept for e in english)
    assert 3 < len(kept) - len(english) < 25
    assert kept == train_reader.persian_kept(persian + english, 0.3)


def _twinned(train_reader: ModuleType):
    """An English question over the paragraph, with its Persian original (`--distil`)."""
    span = (PARAGRAPH.find(ANSWER), PARAGRAPH.find(ANSWER) + len(ANSWER))
    return train_reader.Example("Whom did Macron meet?", "", PARAGRAPH, span, twin="ماکرون با چه کسی دیدار کرد؟")


def test_an_english_question_keeps_its_persian_original_through_near_misses_and_short_passages(
    train_reader: ModuleType,
) -> None:
    example = _twinned(train_reader)
    miss = train_reader.without_answer_sentence(example)
    assert miss is not None and miss.twin == example.twin
    piece = train_reader.in_context(example, random.Random(0))
    assert piece is not None and piece.twin == example.twin


def test_an_english_window_learns_from_its_persian_original_read_by_the_same_reader(
    train_reader: ModuleType,
) -> None:
    """`teach` sets what the reader says of the window read with the Persian original (a
    distribution over no answer and the window's sentences); the loss's distillation term is
    nothing when the English reading says the same and grows as it departs."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_encoder import tiny_encoder

    from embeddings.reader_net import batch_tensors, build_heads, embed_tokens, run_layers

    model, tokenizer = tiny_encoder()
    heads = build_heads(32)
    example = _twinned(train_reader)
    mine = train_reader.targets(tokenizer, example)
    pairs = train_reader.twinned_targets(tokenizer, example, mine)
    assert [t for t, _ in pairs] == mine and all(w.ids != t.window.ids for t, w in pairs)
    assert train_reader.twinned_targets(tokenizer, _example(train_reader), mine) == [], "no twin, nothing to learn from"

    train_reader.teach(model, heads, pairs, tokenizer.pad, 8)
    soft = mine[0].soft
    assert soft is not None and len(soft) == len(mine[0].window.sentences) + 1
    assert abs(float(soft.sum()) - 1.0) < 1e-5

    batch = batch_tensors([t.window for t in mine], tokenizer.pad)
    with torch.no_grad():
        hidden = run_layers(
            model, embed_tokens(model, batch["input_ids"]), batch["attention_mask"], model.encoder.layer
        )
        plain = float(train_reader.loss_of(heads, hidden, batch, mine, 0.25))
        taught = float(train_reader.loss_of(heads, hidden, batch, mine, 0.25, 1.0))
        assert taught > plain, "the English reading is not yet the Persian one"
        twin_batch = batch_tensors([w for _, w in pairs], tokenizer.pad)
        twin_hidden = run_layers(
            model, embed_tokens(model, twin_batch["input_ids"]), twin_batch["attention_mask"], model.encoder.layer
        )
        same = float(train_reader.loss_of(heads, twin_hidden, twin_batch, mine, 0.25, 1.0))
        same_plain = float(train_reader.loss_of(heads, twin_hidden, twin_batch, mine, 0.25))
    assert abs(same - same_plain) < 1e-4, "read as the Persian original is, there is nothing to learn"
