"""The Telegram bot: handlers, conversation, advice policy and storage. Knows nothing about TensorFlow."""
