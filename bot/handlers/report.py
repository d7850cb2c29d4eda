"""/report and the report button after the advice: a one-page PDF summary of a check for the doctor (`bot.pdf`),
with the spot's earlier checks, in the user's language."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Chat, InputFile, Update

from bot import pdf, render
from bot.callbacks import SendReport
from bot.messages import Language
from bot.services import BotContext, Services
from bot.storage import CheckRecord

logger = logging.getLogger(__name__)


async def report_command(update: Update, context: BotContext) -> None:
    """The report of the user's newest assessed check, or a note that there is none yet."""
    s = context.services
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    lang = await context.language()
    check = await s.storage.latest_check(user.id)
    if check is None:
        await chat.send_message(s.text(lang, "report.nothing"))
        return
    await send_report(s, chat, lang, check)


async def report_button(update: Update, context: BotContext, button: SendReport) -> None:
    """The report of the check the button belongs to (only the user's own)."""
    s = context.services
    query = update.callback_query
    assert query is not None and query.message is not None
    lang = await context.language()
    check = await s.storage.check(button.assessment_id)
    await query.answer()
    if check is None or check.user_id != query.from_user.id:
        await query.message.chat.send_message(s.text(lang, "report.nothing"))
        return
    await send_report(s, query.message.chat, lang, check)


async def report_data(s: Services, check: CheckRecord) -> pdf.ReportData:
    """Everything the report shows about a check: its answers and the earlier checks of the same spot."""
    answers = await s.storage.answers(check.session_id) if check.session_id is not None else {}
    previous = [c for c in await s.storage.spot_checks(check.spot_id) if c.id < check.id] if check.spot_id else []
    return pdf.ReportData(check=check, answers=answers, previous=previous, made_at=time.time())


async def send_report(s: Services, chat: Chat, lang: Language, check: CheckRecord) -> None:
    """Render the PDF off the event loop and send it as a document; a missing font is logged and explained."""
    data = await report_data(s, check)
    model = s.model
    try:
        fonts = pdf.fonts_for(lang, s.config.report)
        document = await asyncio.to_thread(pdf.render_pdf, s.catalog, lang, data, model, s.config.policy, fonts)
    except pdf.ReportFontError as exc:
        logger.error("cannot make a report: %s", exc)
        await chat.send_message(s.text(lang, "report.unavailable"))
        return
    day = render.format_date(s.catalog, "en", check.created_at).replace(" ", "-")
    name = f"{s.text(lang, 'report.filename')}-{day}.pdf"
    await chat.send_document(InputFile(document, filename=name), caption=s.text(lang, "report.caption"))


