"""skinbot: a Telegram assistant that helps a person decide what to do about a spot on their skin."""

__version__ = "0.1.0"
