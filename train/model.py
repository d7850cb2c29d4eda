"""The skinbot network: one EfficientNet-Lite backbone, two logit heads (gate and lesion), one forward pass.

Training works on parts of it so it fits a CPU: `FeatureNet` (the frozen lower part, run once to cache
activations), `UpperNet` (the top blocks and one head, trained on those cached activations) and `HeadNet` (a head
on cached pooled features). All parts share layer names with `SkinbotNet`, so weights move between them by name.
"""

from __future__ import annotations

import keras
from keras import layers

from train.backbone import VARIANTS, EfficientNetLite, block_plan, blocks, head

GATE_OUTPUT = "gate_logit"
LESION_OUTPUT = "lesion_logit"
FEATURES = 1280
HEAD_DROPOUT = 0.3
# The gate separates many unlike kinds of photo from lesions: a small hidden layer gives it the room a single linear
# boundary lacks. The lesion head stays linear on the fine-tuned features.
HIDDEN_UNITS = {GATE_OUTPUT: 128, LESION_OUTPUT: 0}


def _logit_head(features: keras.KerasTensor, name: str) -> keras.KerasTensor:
    x = layers.Dropout(HEAD_DROPOUT, name=f"{name}_dropout")(features)
    if HIDDEN_UNITS[name]:
        x = layers.Dense(HIDDEN_UNITS[name], activation="relu", name=f"{name}_hidden")(x)
    return layers.Dense(1, name=name)(x)


def SkinbotNet(variant: str, input_size: int) -> keras.Model:  # named like the keras.applications builders
    """The served model: image (float32 RGB 0..255) -> {"gate_logit", "lesion_logit"}; weights are set by name."""
    backbone = EfficientNetLite(variant, include_top=False, weights=None, input_size=input_size)
    features = backbone.output
    return keras.Model(
        backbone.input,
        {GATE_OUTPUT: _logit_head(features, GATE_OUTPUT), LESION_OUTPUT: _logit_head(features, LESION_OUTPUT)},
        name="skinbot",
    )


def split_layer_name(variant: str, start_block: int) -> str:
    """Name of the layer whose output feeds block `start_block` (the boundary between frozen and trained parts)."""
    if start_block == 0:
        return "stem_activation"
    previous = block_plan(VARIANTS[variant])[start_block - 1]
    has_residual = previous.stride == 1 and previous.filters_in == previous.filters_out
    return f"block{previous.index}_{'add' if has_residual else 'project_bn'}"


def FeatureNet(variant: str, input_size: int, start_block: int) -> keras.Model:
    """Frozen ImageNet backbone with two outputs: the activation entering `start_block`, and pooled features."""
    backbone = EfficientNetLite(variant, include_top=False, weights="imagenet", input_size=input_size)
    return keras.Model(backbone.input, [backbone.get_layer(split_layer_name(variant, start_block)).output,
                                        backbone.output], name="feature_net")


def UpperNet(variant: str, activation_shape: tuple[int, int, int], start_block: int,
             output: str = LESION_OUTPUT) -> keras.Model:
    """Blocks from `start_block` on, the head convolution and one logit head, fed with cached activations.

    Batch-norm layers stay in inference mode (frozen statistics): with small CPU batches, updating them
    would only add noise.
    """
    inputs = keras.Input(activation_shape, name="activation")
    features = head(blocks(inputs, VARIANTS[variant], start=start_block))
    model = keras.Model(inputs, _logit_head(features, output), name="upper_net")
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
    return model


def HeadNet(output: str) -> keras.Model:
    """A logit head on pooled 1280-d features."""
    inputs = keras.Input((FEATURES,), name="features")
    return keras.Model(inputs, _logit_head(inputs, output), name=f"{output}_head")


def copy_weights_by_name(source: keras.Model, target: keras.Model) -> int:
    """Copy weights of every layer of `target` that `source` has under the same name; returns how many."""
    by_name = {layer.name: layer for layer in source.layers}
    copied = 0
    for layer in target.layers:
        other = by_name.get(layer.name)
        if other is not None and layer.weights:
            layer.set_weights(other.get_weights())
            copied += 1
    return copied
