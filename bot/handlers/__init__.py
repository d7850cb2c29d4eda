"""Telegram update handlers, one module per concern; `bot.app` registers them."""
