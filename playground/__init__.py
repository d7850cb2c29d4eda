"""A local Telegram Bot API emulator with a web chat page: run and test the bot without Telegram."""
