"""The one-page summary for the doctor (/report), as a PDF in the user's language (reportlab).

Korean needs a font with Hangul that reportlab can embed: a TrueType (.ttf) font such as NanumGothic from Debian's
fonts-nanum (installed by scripts/test.sh); OpenType-CFF fonts (.otf, Noto CJK's .ttc) cannot be embedded. The font
paths come from config (`report:`). Without them an English report falls back to the built-in Helvetica, and a
Korean one cannot be made (`ReportFontError`, which names the missing file).
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Flowable, KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bot import followup, lesion_types, render
from bot.checklist import QUESTIONS, AnswerValue
from bot.messages import Catalog, Language
from bot.model_facts import ModelFacts
from bot.policy import advise
from bot.settings import PolicyConfig, ReportConfig
from bot.storage import CheckRecord

logger = logging.getLogger(__name__)
MARGIN = 16 * mm
MAX_PREVIOUS = 8  # earlier checks listed; the page must stay one page


class ReportFontError(RuntimeError):
    """No font that can write this language."""


@dataclass(frozen=True)
class ReportData:
    """What one report shows: the check, its answers, the spot's earlier checks (oldest first) and when it was made."""

    check: CheckRecord
    answers: Mapping[str, AnswerValue]
    previous: Sequence[CheckRecord]
    made_at: float


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str


def fonts_for(lang: Language, config: ReportConfig) -> Fonts:
    """Register the configured TrueType fonts (once per process) and return their names; English falls back to
    Helvetica when they are missing, Korean raises `ReportFontError`."""
    try:
        return Fonts(_register(config.font_path), _register(config.bold_font_path))
    except (OSError, TTFError) as exc:
        if lang != "en":
            raise ReportFontError(
                f"report fonts {config.font_path} / {config.bold_font_path} cannot be used ({exc}); a Korean report "
                "needs TrueType fonts with Hangul (Debian: apt-get install fonts-nanum), see `report:` in config.yaml"
            ) from exc
        logger.warning("report fonts unusable (%s); English reports use Helvetica", exc)
        return Fonts("Helvetica", "Helvetica-Bold")


def _register(path: Path) -> str:
    name = "skinbot-" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle


def _styles(fonts: Fonts) -> _Styles:
    body = ParagraphStyle("body", fontName=fonts.regular, fontSize=9.5, leading=12.5, spaceAfter=2)
    return _Styles(
        title=ParagraphStyle("title", fontName=fonts.bold, fontSize=15, leading=19, spaceAfter=4),
        heading=ParagraphStyle("heading", fontName=fonts.bold, fontSize=11, leading=14, spaceBefore=7, spaceAfter=3,
                               textColor=colors.HexColor("#1f3b57")),
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=8, leading=10.5, textColor=colors.HexColor("#444444")),
    )


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _result(catalog: Catalog, lang: Language, data: ReportData, model: ModelFacts, st: _Styles) -> list[Flowable]:
    check = data.check
    out: list[Flowable] = [_p(catalog.text(lang, "report.result_header"), st.heading)]
    if check.rash:
        return [*out, _p(catalog.text(lang, "report.rash"), st.body)]
    modality = catalog.text(lang, f"report.modality.{check.modality or 'unknown'}")
    score = "?" if check.malignancy is None else f"{check.malignancy:.2f}"
    risk_words = catalog.text(lang, f"result.risk.{check.risk or 'medium'}")
    out.append(_p(catalog.text(lang, "report.result", risk_words=risk_words, score=score, modality=modality), st.body))
    name = lesion_types.nameable(check.lesion_type, check.type_probability, check.risk, check.rash,
                                 model.type_threshold)
    if name is None:
        out.append(_p(catalog.text(lang, "report.resembles_none"), st.body))
    else:
        out.append(_p(catalog.text(lang, "report.resembles", name=catalog.text(lang, f"types.{name}.name"),
                                   probability=f"{check.type_probability:.0%}"), st.body))
    return out


def _answers(catalog: Catalog, lang: Language, data: ReportData, st: _Styles) -> list[Flowable]:
    out: list[Flowable] = [_p(catalog.text(lang, "report.answers_header"), st.heading)]
    if data.check.rash:
        return []
    if not data.answers:
        return [*out, _p(catalog.text(lang, "report.no_answers"), st.body)]
    rows = [[_p(catalog.text(lang, f"checklist.questions.{q.key}"), st.small),
             _p(catalog.text(lang, f"report.answer.{data.answers.get(q.key, 'skipped')}"), st.small)]
            for q in QUESTIONS]
    table = Table(rows, colWidths=[140 * mm, 34 * mm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#bbbbbb")),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
    return [*out, table]


def _advice(catalog: Catalog, lang: Language, data: ReportData, policy: PolicyConfig, st: _Styles) -> list[Flowable]:
    if data.check.rash:
        return []
    out: list[Flowable] = [_p(catalog.text(lang, "report.advice_header"), st.heading)]
    given = followup.given_advice(data.check, data.answers)
    if given is None:
        out.append(_p(catalog.text(lang, "report.no_advice"), st.body))
        given = advise(data.check.risk, {}, policy)  # every question skipped: the least the photo alone calls for
    when = render.level_phrases(catalog, lang)[given.level]
    out.append(_p(catalog.text(lang, "advice.title", when=when), st.body))
    out.append(_p(catalog.text(lang, "report.why"), st.body))
    out.extend(_p(catalog.text(lang, "bullet", text=t), st.body) for t in render.reason_texts(catalog, lang, given))
    return out


def _previous(catalog: Catalog, lang: Language, data: ReportData, st: _Styles) -> list[Flowable]:
    out: list[Flowable] = [_p(catalog.text(lang, "report.previous_header"), st.heading)]
    if not data.previous:
        return [*out, _p(catalog.text(lang, "report.no_previous"), st.body)]
    for check in list(data.previous)[-MAX_PREVIOUS:]:
        score = "?" if check.malignancy is None else f"{check.malignancy:.2f}"
        line = catalog.text(lang, "report.previous", date=render.format_datetime(catalog, lang, check.created_at),
                            risk_words=catalog.text(lang, f"result.risk.{check.risk or 'medium'}"), score=score)
        out.append(_p(catalog.text(lang, "bullet", text=line), st.body))
    return out


def _figures(catalog: Catalog, lang: Language, model: ModelFacts) -> list[str]:
    lines = []
    for test in model.figures:
        if "sensitivity" not in test.figures or "specificity" not in test.figures:
            continue
        params = {"kind": catalog.text(lang, f"report.kinds.{test.kind}"),
                  "sensitivity": f"{test.figures['sensitivity']:.0%}",
                  "specificity": f"{test.figures['specificity']:.0%}"}
        if test.n is not None and test.malignant is not None:
            lines.append(catalog.text(lang, "report.figure_counted", n=test.n, malignant=test.malignant, **params))
        else:
            lines.append(catalog.text(lang, "report.figure", **params))
    return lines


def _model(catalog: Catalog, lang: Language, data: ReportData, model: ModelFacts, st: _Styles) -> list[Flowable]:
    out: list[Flowable] = [_p(catalog.text(lang, "report.clinician_header"), st.heading),
                           _p(catalog.text(lang, "report.clinician"), st.small)]
    figures = _figures(catalog, lang, model)
    if figures:
        out.append(_p(catalog.text(lang, "report.figures_header"), st.small))
        out.extend(_p(catalog.text(lang, "bullet", text=f), st.small) for f in figures)
    else:
        out.append(_p(catalog.text(lang, "report.no_figures"), st.small))
    out.append(_p(catalog.text(lang, "report.model", version=data.check.model_version or model.version), st.small))
    limits = model.limitations_in(lang)
    if limits:
        out.append(_p(catalog.text(lang, "report.limits_header"), st.small))
        out.extend(_p(catalog.text(lang, "bullet", text=line), st.small) for line in limits)
    return out


def render_pdf(catalog: Catalog, lang: Language, data: ReportData, model: ModelFacts, policy: PolicyConfig,
               fonts: Fonts) -> bytes:
    """The report as PDF bytes: always one A4 page (the content shrinks to fit if it must)."""
    st = _styles(fonts)
    story: list[Flowable] = [
        _p(catalog.text(lang, "report.title"), st.title),
        _p(catalog.text(lang, "report.checked_at", date=render.format_datetime(catalog, lang, data.check.created_at)),
           st.body),
        _p(catalog.text(lang, "report.made_at", date=render.format_datetime(catalog, lang, data.made_at)), st.small),
        *_result(catalog, lang, data, model, st),
        *_answers(catalog, lang, data, st),
        *_advice(catalog, lang, data, policy, st),
        *_previous(catalog, lang, data, st),
        *_model(catalog, lang, data, model, st),
        Spacer(1, 4 * mm),
        _p(catalog.text(lang, "report.footer"), st.small),
    ]
    out = io.BytesIO()
    width, height = A4
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=catalog.text(lang, "report.title"), author="skinbot",
                            lang=lang)
    doc.build([KeepInFrame(width - 2 * MARGIN, height - 2 * MARGIN, story, mode="shrink")])
    return out.getvalue()
