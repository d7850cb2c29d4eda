"""The skinbot network: one EfficientNet-Lite backbone, four heads, one forward pass.

- `gate_logit`: is this a close-up of a skin lesion or skin problem at all (stage 1)?
- `lesion_logit`: how likely is it malignant (stage 2)? Linear on the pooled features, so the same weights dotted
  with the last feature map give the class-activation map `lesion_cam` (its spatial mean is the logit itself).
- `type_logits`: what it most resembles (`train.datasets.LESION_TYPES`, rash included).
- `modality_logit`: dermoscopic (0) or phone / clinical photo (1), for per-modality calibration and thresholds.

Batch-norm layers keep their ImageNet statistics (inference mode, frozen): with CPU-sized batches of 32, updating
them would only add noise. Layer names match the ImageNet checkpoint, so `load_imagenet_weights` fills the backbone.
"""

from __future__ import annotations

import keras
from keras import layers

from train.backbone import EfficientNetLite

GATE_OUTPUT = "gate_logit"
LESION_OUTPUT = "lesion_logit"
TYPE_OUTPUT = "type_logits"
MODALITY_OUTPUT = "modality_logit"
CAM_OUTPUT = "lesion_cam"
TRAINED_OUTPUTS = (GATE_OUTPUT, LESION_OUTPUT, TYPE_OUTPUT, MODALITY_OUTPUT)
FEATURE_MAP_LAYER = "top_activation"  # the last feature map, before global average pooling
HEAD_DROPOUT = 0.3
# The gate separates many unlike kinds of photo from lesions: a small hidden layer gives it the room a single linear
# boundary lacks. The other heads stay linear on the fine-tuned features.
GATE_HIDDEN_UNITS = 128


def SkinbotNet(variant: str, input_size: int, n_types: int, weights: str | None = "imagenet") -> keras.Model:
    """The trained network: image (float32 RGB 0..255) -> the four logit outputs (`TRAINED_OUTPUTS`)."""
    backbone = EfficientNetLite(variant, include_top=False, weights=weights, input_size=input_size)
    features = layers.Dropout(HEAD_DROPOUT, name="head_dropout")(backbone.output)
    gate_hidden = layers.Dense(GATE_HIDDEN_UNITS, activation="relu", name="gate_hidden")(features)
    outputs = {
        GATE_OUTPUT: layers.Dense(1, name=GATE_OUTPUT)(gate_hidden),
        LESION_OUTPUT: layers.Dense(1, name=LESION_OUTPUT)(features),
        TYPE_OUTPUT: layers.Dense(n_types, name=TYPE_OUTPUT)(features),
        MODALITY_OUTPUT: layers.Dense(1, name=MODALITY_OUTPUT)(features),
    }
    model = keras.Model(backbone.input, outputs, name="skinbot")
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
    return model


def ServingNet(trained: keras.Model) -> keras.Model:
    """The trained network plus the class-activation map of the lesion head, sharing every layer and weight.

    The CAM is the lesion head's dense layer applied at each position of the last feature map: (N, h, w)."""
    outputs = {name: trained.get_layer(name).output for name in TRAINED_OUTPUTS}  # before the head is reused
    feature_map = trained.get_layer(FEATURE_MAP_LAYER).output
    cam = trained.get_layer(LESION_OUTPUT)(feature_map)
    height, width = int(feature_map.shape[1]), int(feature_map.shape[2])
    cam = layers.Reshape((height, width), name=CAM_OUTPUT)(cam)
    return keras.Model(trained.input, {**outputs, CAM_OUTPUT: cam}, name="skinbot_serving")
