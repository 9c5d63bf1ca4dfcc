"""The console's Swedish: what each kind, state, step, choice and field is called on its pages.

The engine's own names stay English (they are in histories and the API); a person at the
console reads these. A name missing here is shown as the engine writes it, never left out.
"""

from __future__ import annotations

from datetime import date

from contract import handling
from contract.case import CaseState, Escalation, Outcome
from contract.vocabulary import (
    Channel,
    IdentityMethod,
    Kind,
    RectifiableField,
    RectificationDecision,
    RestrictionGround,
    ReviewDecision,
    SecrecyGround,
)
from systems import places

KINDS: dict[str, str] = {
    Kind.ACCESS: "Registerutdrag (art. 15)",
    Kind.RECTIFICATION: "Rättelse (art. 16)",
    Kind.RESTRICTION: "Begränsning (art. 18)",
    Kind.OBJECTION: "Invändning mot direktmarknadsföring (art. 21.2)",
    Kind.ERASURE: "Radering (art. 17)",
    Kind.PORTABILITY: "Dataportabilitet (art. 20)",
    Kind.PUBLIC_ACCESS: "Allmänna handlingar (TF 2 kap.)",
}

STATES: dict[str, str] = {
    CaseState.REGISTERED: "Registrerat",
    CaseState.AWAITING_IDENTITY: "Väntar på identitetsbevis",
    CaseState.COLLECTING: "Hämtar uppgifter",
    CaseState.BUILDING_EXTRACT: "Sammanställer utdrag",
    CaseState.AWAITING_REVIEW: "Väntar på granskning",
    CaseState.DELIVERING: "Skickas",
    CaseState.AWAITING_DECISION: "Väntar på beslut",
    CaseState.APPLYING: "Genomförs i systemen",
    CaseState.NOTIFYING_RECIPIENTS: "Underrättar mottagare",
    CaseState.RESTRICTED: "Begränsad",
    CaseState.PLANNING: "Raderingsplan tas fram",
    CaseState.AWAITING_APPROVAL: "Väntar på godkännande av raderingsplan",
    CaseState.RETAINING: "Sparas till gallringsdag",
    CaseState.LIFTING_RESTRICTION: "Begränsningen hävs",
    CaseState.SENDING_NOTICE: "Besked skickas",
    CaseState.AWAITING_MANUAL_DELIVERY: "Väntar på manuell leverans",
    CaseState.LOCATING: "Söker handlingar",
    CaseState.AWAITING_CONFIRMATION: "Väntar på bekräftelse av handlingar",
    CaseState.SECRECY_REVIEW: "Sekretessprövning",
    CaseState.AWAITING_DECISION_REQUEST: "Väntar på begäran om överklagbart beslut",
    CaseState.AWAITING_FORMAL_DECISION: "Väntar på formellt beslut",
    CaseState.AWAITING_APPEAL: "Överklagandetiden löper",
    CaseState.CLOSED: "Avslutat",
}

# What a case in each state waits for, and from whom.
WAITS_FOR: dict[str, str] = {
    CaseState.REGISTERED: "registreringen (systemet)",
    CaseState.AWAITING_IDENTITY: "den registrerade: identitetsbevis",
    CaseState.COLLECTING: "systemen: uppgifterna",
    CaseState.BUILDING_EXTRACT: "systemet: utdraget",
    CaseState.AWAITING_REVIEW: "handläggare: granskning",
    CaseState.DELIVERING: "leveransen (systemet)",
    CaseState.AWAITING_DECISION: "handläggare: beslut",
    CaseState.APPLYING: "systemen: ändringen",
    CaseState.NOTIFYING_RECIPIENTS: "mottagarna: underrättelse",
    CaseState.RESTRICTED: "den registrerade eller handläggare: hävning",
    CaseState.PLANNING: "systemen: raderingsplanen",
    CaseState.AWAITING_APPROVAL: "en andra person: godkännande",
    CaseState.RETAINING: "gallringsdagen",
    CaseState.LIFTING_RESTRICTION: "systemen: hävningen",
    CaseState.SENDING_NOTICE: "beskedet (systemet)",
    CaseState.AWAITING_MANUAL_DELIVERY: "handläggare: leverans för hand",
    CaseState.LOCATING: "arkivet: sökningen",
    CaseState.AWAITING_CONFIRMATION: "handläggare: bekräfta handlingarna",
    CaseState.SECRECY_REVIEW: "handläggare: sekretessprövning",
    CaseState.AWAITING_DECISION_REQUEST: "den som begärt: om ett beslut begärs",
    CaseState.AWAITING_FORMAL_DECISION: "beslutsfattare med delegation",
    CaseState.AWAITING_APPEAL: "den som begärt: ett eventuellt överklagande",
    CaseState.CLOSED: "inget",
}

OUTCOMES: dict[str, str] = {
    Outcome.DELIVERED: "Levererat",
    Outcome.DELIVERED_MANUALLY: "Levererat för hand",
    Outcome.CLOSED_UNVERIFIED: "Avslutat utan styrkt identitet",
    Outcome.COMPLETED: "Genomfört",
    Outcome.PARTLY_COMPLETED: "Delvis genomfört",
    Outcome.REJECTED: "Avslaget",
    Outcome.LIFTED: "Begränsningen hävd",
    Outcome.REFUSED: "Vägrat (art. 12.5)",
    Outcome.RELEASED: "Lämnat ut",
    Outcome.PARTLY_RELEASED: "Delvis utlämnat",
    Outcome.WITHHELD: "Inte utlämnat",
}

ESCALATIONS: dict[str, str] = {
    Escalation.NONE: "ingen",
    Escalation.REMINDED: "påminnelse",
    Escalation.ESCALATED: "eskalerat till teamledare",
    Escalation.OVERDUE: "försenat",
}

CHANNELS: dict[str, str] = {
    Channel.E_SERVICE: "e-tjänst",
    Channel.LETTER: "brev",
    Channel.EMAIL: "e-post",
    Channel.PHONE: "telefon",
    Channel.IN_PERSON: "besök",
}

# The choices of the actions' forms.
CHOICES: dict[str, str] = {
    IdentityMethod.BANKID: "BankID",
    IdentityMethod.SIGNED_LETTER: "Undertecknat brev med id-kopia",
    IdentityMethod.ID_CHECKED: "Id-handling kontrollerad vid besök",
    IdentityMethod.REGISTERED_CONTACT: "Svar via registrerad kontaktuppgift",
    RectificationDecision.ACCEPT: "Bifall",
    RectificationDecision.PARTLY: "Delvis bifall",
    RectificationDecision.REJECT: "Avslag",
    RestrictionGround.ACCURACY_CONTESTED: "a) Uppgifternas riktighet bestrids",
    RestrictionGround.UNLAWFUL_NO_ERASURE: "b) Olaglig behandling, radering motsätts",
    RestrictionGround.NEEDED_FOR_LEGAL_CLAIMS: "c) Behövs för rättsliga anspråk",
    RestrictionGround.OBJECTION_PENDING: "d) Invändning under prövning",
    ReviewDecision.RELEASE: "Lämna ut",
    ReviewDecision.MASK: "Lämna ut med maskering",
    ReviewDecision.WITHHOLD: "Lämna inte ut",
    RectifiableField.NAME: "Namn",
    RectifiableField.STREET: "Gatuadress",
    RectifiableField.POSTAL_CODE: "Postnummer",
    RectifiableField.CITY: "Ort",
    RectifiableField.EMAIL: "E-post",
    RectifiableField.PHONE: "Telefon",
}

GROUNDS: dict[str, str] = {
    SecrecyGround.PROTECTED_IDENTITY: "OSL 21:3 – skyddade personuppgifter",
    SecrecyGround.PERSONAL_INTEGRITY: "OSL 21:7 – otillåten personuppgiftsbehandling",
    SecrecyGround.BUSINESS_RELATIONS: "OSL 31:16 – enskildas affärsförhållanden",
    SecrecyGround.OWN_BUSINESS: "OSL 19:1 – bolagets affärsverksamhet",
    SecrecyGround.SECURITY: "OSL 18:8 – säkerhets- och bevakningsåtgärder",
}
for _ground in SecrecyGround:
    GROUNDS.setdefault(_ground, _ground.value)
    CHOICES.setdefault(_ground, GROUNDS[_ground])

# The fields of the actions' forms.
FIELDS: dict[str, str] = {
    "method": "Hur identiteten styrktes",
    "supplied_on": "Dag då beviset kom in",
    "reason": "Skäl",
    "note": "Anteckning",
    "received_on": "Dag då det kom in",
    "decision": "Beslut",
    "accepted_fields": "Uppgifter som rättas",
    "ground": "Grund",
    "question": "Fråga till den registrerade",
    "told_outside": "Den registrerade har redan fått besked per brev eller telefon",
    "to": "Ny handläggare",
    "other": "Ärendenummer att koppla ihop med",
    "document_ids": "Handlingar som omfattas",
    "evidence": "Hur mottagandet visas",
    "court_received_on": "Dag då det kom in till förvaltningsrätten",
    "decision_received_on": "Dag då beslutet togs emot",
    "reference": "Beslutets diarienummer",
    "masks": "Delar att maskera",
    "document_id": "Handling",
}

# Each action as its form's heading and button (the action table's words).
ACTIONS: dict[str, tuple[str, str]] = {
    action.update: (action.title_sv, action.button_sv) for action in handling.ACTIONS
}

# What each step of the trail was, as the timeline tells it.
STEPS: dict[str, str] = {
    "registered": "Registrerades",
    "await_identity": "Identitetsbevis begärdes",
    "verify_identity": "Identiteten styrktes",
    "collected": "Uppgifterna hämtades",
    "extract_built": "Utdraget sammanställdes",
    "approve_release": "Utlämnandet godkändes",
    "released_by_policy": "Skickades utan granskning (e-legitimation)",
    "request_changes": "Skickades tillbaka för ändringar",
    "answered": "Besvarades",
    "notice_sent": "Besked skickades",
    "close_unverified": "Avslutades utan styrkt identitet",
    "record_manual_delivery": "Lämnades för hand",
    "undeliverable": "Kunde inte levereras",
    "rectified": "Rättades i systemen",
    "recipients_notified": "Mottagare underrättades",
    "restricted": "Behandlingen begränsades",
    "lift_restriction": "Hävning beslutades",
    "restriction_lifted": "Begränsningen hävdes",
    "subject_told": "Den registrerade underrättades",
    "prepare_erasure_plan": "Raderingsplan begärdes",
    "plan_ready": "Raderingsplanen togs fram",
    "approve_erasure_plan": "Raderingsplanen godkändes",
    "reject_erasure_plan": "Raderingsplanen skickades tillbaka",
    "erased": "Uppgifterna raderades",
    "retention_run": "Gallringsdag: sparade uppgifter raderades",
    "suppress_marketing": "Spärr mot direktmarknadsföring begärdes",
    "marketing_suppressed": "Direktmarknadsföringen spärrades",
    "refuse": "Begäran vägrades",
    "withdraw": "Återkallelse registrerades",
    "withdrawn": "Begäran återkallades",
    "withdrawal_received": "Återkallelse kom in",
    "extend": "Tidsfristen förlängdes",
    "ask_clarification": "Förtydligande begärdes",
    "clarification_received": "Förtydligande kom in",
    "pause_ended": "Klockan går igen",
    "reassign": "Lämnades över",
    "link": "Kopplades ihop med ett annat ärende",
    "waiting_for_systems": "Väntar på system",
    "systems_answered": "Systemen svarade",
    "documents_located": "Handlingar hittades",
    "confirm_documents": "Handlingarna bekräftades",
    "copies_prepared": "Kopior förbereddes",
    "released": "Handlingarna lämnades ut",
    "no_formal_decision_asked": "Inget överklagbart beslut begärdes",
    "request_formal_decision": "Överklagbart beslut begärdes",
    "formal_decision_due": "Formellt beslut ska fattas",
    "make_formal_decision": "Formellt beslut fattades",
    "decision_sent_by_letter": "Beslutet skickades per brev",
    "decision_received": "Beslutet togs emot",
    "decision_receipt_shown": "Mottagandet av beslutet visades",
    "receipt_never_shown": "Mottagandet visades aldrig",
    "appeal_period_ended": "Överklagandetiden gick ut",
    "appeal_forwarded": "Överklagandet sändes till förvaltningsrätten",
    "appeal_late": "Överklagandet kom in för sent",
    "appeal_dismissed": "Överklagandet avvisades",
    "extracts_deleted": "Utdragsfilerna raderades",
}

PLACES_SEARCHED: dict[str, str] = {
    places.ARCHIVE: "Diarium och arkiv",
    places.REGISTER: "Ärenderegistret",
}

PAUSES: dict[str, str] = {
    "identity": "identitetsbevis",
    "clarification": "förtydligande",
    "restriction_ground": "grund för begränsning",
}


DELIVERY: dict[str, str] = {
    "digital_mailbox": "till den digitala brevlådan",
    "letter": "per brev",
    "manual": "för hand",
    "email": "per e-post",
    "none": "",
}


def step(action: str) -> str:
    """A trail step in Swedish; one of the engine's own notes as it is written."""
    head, _, rest = action.partition(":")
    if head == "identity":
        return f"Identiteten styrktes ({CHOICES.get(rest, rest)})"
    if head in ("answered", "delivered"):
        how = DELIVERY.get(rest, rest)
        return f"{'Besvarades' if head == 'answered' else 'Levererades'} {how}".strip()
    if head == "decide":
        return f"Beslut: {CHOICES.get(rest, rest)}"
    if head == "escalation":
        return f"Eskalering: {ESCALATIONS.get(rest, rest)}"
    if head == "pause_started":
        return f"Klockan stannade: väntar på {PAUSES.get(rest, rest)}"
    if head == "recipients_to_notify":
        return "Mottagare att underrätta för hand"
    if head == "staff_notice_failed":
        return "Ett meddelande till personalen kunde inte skickas"
    if head.startswith("review_document"):
        return "En handling sekretessprövades"
    return STEPS.get(action, action.replace("_", " "))


def days_left(days: int, *, answered: bool) -> tuple[str, str]:
    """Days left as shown: the colour's class and the words; an answered case has none."""
    if answered:
        return "besvarat", "besvarat"
    return days_left_class(days), days_left_text(days)


def days_left_class(days: int) -> str:
    """The colour of days left: 10 or more, under 10, under 5, overdue."""
    if days < 0:
        return "forsenat"
    if days < 5:
        return "under5"
    if days < 10:
        return "under10"
    return "gott"


def days_left_text(days: int) -> str:
    if days < 0:
        return f"{-days} {'dag' if days == -1 else 'dagar'} försenat"
    if days == 0:
        return "i dag"
    return f"{days} {'dag' if days == 1 else 'dagar'}"


def sv_date(day: date | None) -> str:
    return day.isoformat() if day else "–"
