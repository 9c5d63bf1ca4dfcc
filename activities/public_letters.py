"""The letters of a public-access case, in Swedish: masked text with its grounds, the formal
decision with the grounds per document and how to appeal (Lag 1930:173, FL 44-45 §§), and
the court's forwarding or dismissal of an appeal.
"""

from __future__ import annotations

import html

from contract.public_access import (
    SECRECY_GROUNDS_SV,
    AppealInput,
    IssueDecisionInput,
    Mask,
    ReviewDocumentInput,
)
from contract.vocabulary import ReviewDecision
from infra.masking import mask_parts

WEEKS_SV = {1: "en vecka", 2: "två veckor", 3: "tre veckor", 4: "fyra veckor"}
DECISIONS_SV = {
    ReviewDecision.RELEASE: "lämnas ut",
    ReviewDecision.MASK: "lämnas ut med maskerade uppgifter",
    ReviewDecision.WITHHOLD: "lämnas inte ut",
}


def masked(text: str, masks: list[Mask]) -> str:
    """The text with every occurrence of each mask's part removed, whatever its case or line
    breaks (infra.masking), and its ground in its place."""
    return mask_parts(text, ((m.text, f"[maskerat enligt {m.ground.value}]") for m in masks))


def title_note(review: ReviewDocumentInput) -> str:
    """For a withheld document whose title is partly masked: on which grounds."""
    if review.decision is not ReviewDecision.WITHHOLD or not review.masks:
        return ""
    grounds = ", ".join(dict.fromkeys(mask.ground.value for mask in review.masks))
    return f". Delar av handlingens titel är maskerade enligt {grounds}"


def letter_head(title: str) -> str:
    return (
        "<!doctype html><html lang='sv'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
    )


def decision_html(request: IssueDecisionInput) -> str:
    e = html.escape
    reviews = {r.document_id: r for r in request.reviews}
    parts = [
        letter_head(f"Beslut om utlämnande av allmänna handlingar, ärende {request.case_number}"),
        f"<p>Till: {e(request.sender or 'den som begärt handlingarna')}</p>",
        "<h2>Beslut</h2><ul>",
    ]
    for d in request.documents:
        review = reviews[d.document_id]
        line = f"{e(masked(d.title, review.masks))}, {d.date}: {DECISIONS_SV[review.decision]}"
        if review.grounds:
            line += ". Skäl: " + "; ".join(
                f"sekretess enligt {g.value}, {e(SECRECY_GROUNDS_SV[g])}" for g in review.grounds
            )
        parts.append(f"<li>{line}.</li>")
    weeks = WEEKS_SV.get(request.appeal_weeks, f"{request.appeal_weeks} veckor")
    parts += [
        "</ul>",
        f"<p>Beslutet har fattats av {e(request.decided_by)} med stöd av "
        f"{e(request.delegation)}.</p>",
        "<h2>Hur man överklagar</h2>",
        f"<p>Du kan överklaga beslutet till {e(request.court)}. Skriv vilket beslut du "
        "överklagar (ange ärendenumret) och hur du vill att beslutet ska ändras. Skicka eller "
        f"lämna överklagandet till bolaget, inte till domstolen. Det måste ha kommit in till "
        f"bolaget inom {weeks} från den dag du fick del av beslutet; räknat enligt lagen "
        "(1930:173) om beräkning av lagstadgad tid, så att en sista dag som är en lördag, "
        "söndag, helgdag, midsommarafton, julafton eller nyårsafton flyttas till nästa "
        "vardag. Har överklagandet kommit in i tid skickar bolaget det vidare till "
        "domstolen.</p></body></html>",
    ]
    return "".join(parts)


# On each document sent on to the court: it is secret, and why it goes there anyway.
SECRET_FOR_COURT_SV = (
    "SEKRETESSBELAGD HANDLING. Överlämnas till domstolen med överklagandet enligt 46 § "
    "förvaltningslagen (2017:900); sekretessen gäller även hos domstolen."
)
TIMELY_SV = {
    "": "i rätt tid (sista dag {end})",
    "reached_court_in_time": (
        "till domstolen inom tiden för överklagande (sista dag {end}) och ska därför inte "
        "avvisas (45 § andra stycket förvaltningslagen)"
    ),
    "receipt_not_shown": (
        "och prövas inte som för sent: beslutet skickades med brev och det kan inte visas när "
        "det kom fram (44 § förvaltningslagen)"
    ),
}


def forwarding_html(request: AppealInput) -> str:
    e = html.escape
    timely = TIMELY_SV[request.basis].format(end=request.window_end)
    documents = (
        f" Bifogas också de {len(request.documents)} handlingar som beslutet gäller, som de "
        "finns i arkivet; de är sekretessbelagda."
        if request.documents
        else ""
    )
    return (
        letter_head(f"Överlämnande av överklagande, ärende {request.case_number}")
        + f"<p>Till {e(request.court)}.</p><p>Bolaget överlämnar ett överklagande av "
        f"beslutet i ärende {e(request.case_number)} om utlämnande av allmänna handlingar. "
        f"Överklagandet kom in den {request.received_on}, {timely}. Bolaget har inte ändrat "
        f"beslutet. Beslutet bifogas.{documents}</p></body></html>"
    )


def dismissal_html(request: AppealInput) -> str:
    return (
        letter_head(f"Beslut om avvisning av överklagande, ärende {request.case_number}")
        + f"<p>Överklagandet kom in till bolaget den {request.received_on}. Tiden för att "
        f"överklaga gick ut den {request.window_end}. Överklagandet har kommit in för sent och "
        "avvisas (45 § förvaltningslagen).</p><p>Detta beslut kan överklagas till "
        f"{html.escape(request.court)} på samma sätt som det första beslutet.</p></body></html>"
    )
