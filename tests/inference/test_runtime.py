"""The LiteRT runtime on the generated test model: all five outputs by the card's names, batches of any size,
and models that do not fit their card refused at load."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from inference.card import ModelCard, ModelCardError, Outputs
from inference.runtime import BatchRunner, InterpreterPool
from tests.inference.testmodel import LESION_TYPES, SIZE, card_for, expected_outputs

NAMES = ("gate_logit", "lesion_logit", "type_logits", "modality_logit", "lesion_cam")


@pytest.fixture(scope="module")
def card(model_dir: Path) -> ModelCard:
    return card_for(model_dir)


def images(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (count, SIZE, SIZE, 3)).astype(np.float32)


def test_runner_returns_every_output_by_the_cards_names(card: ModelCard) -> None:
    batch = images(3)
    runner = BatchRunner(card)
    out = runner.run(batch)
    assert set(out) == set(NAMES)
    assert out["type_logits"].shape == (3, len(LESION_TYPES)) and out["lesion_cam"].shape == (3, 7, 7)
    for i in range(3):
        for name, value in expected_outputs(batch[i]).items():
            np.testing.assert_allclose(out[name][i].reshape(value.shape), value, atol=1e-4, err_msg=name)
    runner.close()
    with pytest.raises(RuntimeError, match="closed"):
        runner.run(batch)


def test_a_large_batch_runs_in_chunks_with_the_same_results(card: ModelCard) -> None:
    batch = images(11, seed=1)
    whole = BatchRunner(card, batch_size=4).run(batch)  # chunks of 4, 4 and 3
    one_by_one = BatchRunner(card, batch_size=1)
    for i in range(len(batch)):
        single = one_by_one.run(batch[i:i + 1])
        for name in NAMES:
            np.testing.assert_allclose(whole[name][i], single[name][0], atol=1e-5)
    assert all(len(whole[name]) == 11 for name in NAMES)


def test_a_flatbuffer_in_memory_runs_like_the_cards_file(card: ModelCard) -> None:
    batch = images(2, seed=4)
    from_file = BatchRunner(card).run(batch)
    from_bytes = BatchRunner(card, model_content=card.file("model").read_bytes()).run(batch)
    for name in NAMES:
        np.testing.assert_array_equal(from_file[name], from_bytes[name])
    with pytest.raises(ModelCardError, match="lists 3 lesion types"):
        BatchRunner(card_for(card.directory, lesion_types=("nevus", "melanoma", "rash")),
                    model_content=card.file("model").read_bytes())


def test_outputs_are_copies_not_interpreter_buffers(card: ModelCard) -> None:
    runner = BatchRunner(card)
    first = runner.run(images(1, seed=2))
    kept = {name: value.copy() for name, value in first.items()}
    runner.run(images(1, seed=3))
    for name in NAMES:
        np.testing.assert_array_equal(first[name], kept[name])


def test_pool_serves_concurrent_callers(card: ModelCard) -> None:
    pool = InterpreterPool(card, size=2)
    batches = [images(1, seed=s) for s in range(8)]
    with ThreadPoolExecutor(max_workers=4) as executor:
        results = list(executor.map(pool.run, batches))
    for batch, out in zip(batches, results, strict=True):
        np.testing.assert_allclose(out["lesion_logit"], [expected_outputs(batch[0])["lesion_logit"]], atol=1e-4)
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        pool.run(batches[0])


def test_card_naming_an_output_the_model_lacks_is_refused_at_load(card: ModelCard) -> None:
    wrong = card_for(card.directory, outputs=Outputs(cam="saliency"))
    with pytest.raises(ModelCardError, match="lacks output\\(s\\) \\['saliency'\\]"):
        BatchRunner(wrong)


def test_card_listing_other_lesion_types_than_the_model_has_is_refused_at_load(card: ModelCard) -> None:
    fewer = card_for(card.directory, lesion_types=("nevus", "melanoma", "rash"))
    with pytest.raises(ModelCardError, match="lists 3 lesion types"):
        BatchRunner(fewer)


def test_card_with_another_input_size_is_refused_at_load(card: ModelCard) -> None:
    with pytest.raises(ModelCardError, match="takes images shaped \\(224, 224, 3\\)"):
        BatchRunner(card_for(card.directory, input_size=260))
