"""Commands: /start, /help, /about, /language, /history, /cancel, /forget, and commands sent in groups."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot import kept_photos, keyboards, render
from bot.callbacks import ChooseLanguage, ConfirmForget
from bot.handlers.common import answer_soon, reply_template, show
from bot.services import BotContext


async def start(update: Update, context: BotContext) -> None:
    """Greet the user: what the bot can and cannot do, the disclaimer, photo tips."""
    assert update.effective_user is not None and update.effective_message is not None
    lang = await context.language()
    await update.effective_message.reply_text(context.services.text(lang, "start.text"))
    if await context.services.storage.open_session_of(update.effective_user.id) is not None:
        await update.effective_message.reply_text(context.services.text(lang, "start.resume"))


async def help_command(update: Update, context: BotContext) -> None:
    """List what the bot does and its commands."""
    await reply_template(update, context, "help.text")


async def about(update: Update, context: BotContext) -> None:
    """Show the model card: version, measured accuracy, limitations."""
    assert update.effective_message is not None
    lang = await context.language()
    await update.effective_message.reply_text(render.about_text(context.services.catalog, lang, context.services.model))


async def language(update: Update, context: BotContext) -> None:
    """Offer the languages."""
    await reply_template(update, context, "language.prompt", keyboards.languages)


async def language_chosen(update: Update, context: BotContext, button: ChooseLanguage) -> None:
    """Store the chosen language and confirm in it."""
    query = update.callback_query
    assert query is not None
    await context.services.storage.set_language(query.from_user.id, button.language)
    answer_soon(query)
    await show(query, context.services.text(button.language, "language.changed"))


async def history(update: Update, context: BotContext) -> None:
    """List the user's past checks: date and time, result and advice, the most serious advice first."""
    s = context.services
    assert update.effective_user is not None and update.effective_message is not None
    lang = await context.language()
    found = await s.storage.history(update.effective_user.id, s.config.bot.history_limit)
    await update.effective_message.reply_text(render.history_text(s.catalog, lang, found))


async def cancel(update: Update, context: BotContext) -> None:
    """Stop the open questionnaire, if any."""
    s = context.services
    assert update.effective_user is not None and update.effective_message is not None
    lang = await context.language()
    cancelled = await s.storage.cancel_open_session(update.effective_user.id)
    await update.effective_message.reply_text(s.text(lang, "cancel.done" if cancelled else "cancel.nothing"))


async def forget(update: Update, context: BotContext) -> None:
    """Ask for confirmation before deleting everything about the user."""
    await reply_template(update, context, "forget.confirm", keyboards.forget)


async def forget_chosen(update: Update, context: BotContext, button: ConfirmForget) -> None:
    """Delete every row about the user (and kept photos), or keep everything."""
    s = context.services
    query = update.callback_query
    assert query is not None
    lang = await context.language()  # read before deleting: the reply stays in the user's language
    answer_soon(query)
    if not button.confirmed:
        await show(query, s.text(lang, "forget.kept"))
        return
    # The user's other work (a photo being analysed, an answer being stored) is stopped first, and their next
    # updates wait, so that nothing is written about them once the rows are gone.
    async with s.work.exclusive(query.from_user.id):
        hashes = await s.storage.forget_user(query.from_user.id)
        s.results.forget_user(query.from_user.id)  # the photos kept in memory for "Where did you look?"
        await asyncio.to_thread(kept_photos.remove, s.config.storage, hashes)
    # Reminder jobs already scheduled for this user find no row when they fire and send nothing.
    await show(query, s.text(lang, "forget.done"))


async def group_command(update: Update, context: BotContext) -> None:
    """Commands in groups: explain that the bot only works in private chats (other group messages are ignored)."""
    assert update.effective_message is not None
    lang = await context.language()
    await update.effective_message.reply_text(context.services.text(lang, "group_only_private"))
