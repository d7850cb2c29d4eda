"""Inference: photo bytes in, an `Assessment` out. Knows nothing about Telegram and never imports TensorFlow."""
