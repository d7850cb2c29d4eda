"""The EfficientNet-Lite port reproduces the original PyTorch model's ImageNet predictions."""

from pathlib import Path

import numpy as np
import pytest

from train.backbone import VARIANTS, EfficientNetLite, block_plan, checkpoint_path, torch_to_keras_names
from train.torch_legacy import read_state_dict

REFERENCE = Path(__file__).resolve().parent.parent / "fixtures" / "efficientnet_lite0_imagenet.npz"


@pytest.fixture(scope="module")
def lite0():
    return EfficientNetLite("efficientnet_lite0", include_top=True, weights="imagenet")


def test_lite0_matches_reference_probabilities(lite0):
    ref = np.load(REFERENCE)
    probs = lite0.predict(ref["images"].astype(np.float32), verbose=0)
    assert np.abs(probs - ref["probs"]).max() < 1e-4
    top5 = np.argsort(-probs, axis=1)[:, :5]
    ref_top5 = np.argsort(-ref["probs"], axis=1)[:, :5]
    np.testing.assert_array_equal(top5, ref_top5)
    # The README's stated top-1 classes: tiger cat, espresso, football helmet, missile, palace, daisy.
    assert top5[:, 0].tolist() == [282, 967, 560, 657, 698, 985]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_checkpoint_tensor_is_used_with_matching_shape(variant):
    spec = VARIANTS[variant]
    state = read_state_dict(checkpoint_path(spec))
    mapped = {prefix for prefix, _ in torch_to_keras_names(spec).values()}
    used = {name.rsplit(".", 1)[0] for name in state}
    assert used == mapped
    model = EfficientNetLite(variant, weights="imagenet")  # set_weights raises on any shape mismatch
    assert model.output_shape == (None, 1000)


def test_lite_scaling_keeps_first_and_last_stage_depth():
    assert len(block_plan(VARIANTS["efficientnet_lite0"])) == 16
    plan2 = block_plan(VARIANTS["efficientnet_lite2"])
    assert plan2[0].filters_out == 16 and plan2[-1].filters_out == 352
    assert sum(1 for b in plan2 if b.filters_out == plan2[-1].filters_out) == 1


def test_unknown_weights_name_is_refused():
    with pytest.raises(ValueError, match="imagenet"):
        EfficientNetLite(weights="instagram")
