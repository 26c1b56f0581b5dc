"""Recognising a document's supplier among the cached Zoho contacts, by who it is.

Strongest evidence first: the VAT number, then the company registration number (SIREN,
SIRET, Handelsregister...), then the IBAN, then the name or a supplier rule's alias compared
without case, accents, punctuation or legal form ("OVH SAS" is "OVH"). Last, a name printed
with the document's own words after it on the same line ("OVHcloud  FACTURE N° FR-1107")
is recognised by its beginning.

Zoho's contact list carries no VAT number in most editions, so Bookbridge also learns the
identifiers of each contact from the documents a person or a publish tied to it.

Every comparison is an index look-up, whatever the number of contacts: each contact's names
are stored folded (`ZohoContact.name_key`, `company_key`) and each identifier it is known by
is a `ZohoContactIdentifier` row. Recognising by name reads only the contacts holding the
keys in question (the name read, its beginnings, the supplier rules' names).
"""

import functools
import re
import unicodedata

from models import Document, SupplierRule, ZohoConnection, ZohoContact, db
from models.zoho import ZohoContactIdentifier
from services.i18n import stored_message

# Legal forms dropped from names before comparing them (after folding: no dots, lower case).
LEGAL_FORMS = frozenset("""
    sa sas sasu sarl eurl sci snc scop selarl selas sca earl gie
    gmbh ag kg ohg ug ev mbh co kgaa
    ltd limited plc llp llc inc corp corporation lp
    bv nv vof
    spa srl sapa snc sl slu sau
    oy ab as aps
""".split())
# Words that start a document's own text when extraction glued it to the supplier's name.
DOCUMENT_WORDS = re.compile(
    r"^(facture|invoice|rechnung|factuur|fattura|factura|avoir|gutschrift|credit|receipt|"
    r"ticket|recu|bon|devis|quote|date|datum|fecha|data|n|no|nr|num|numero|number)\b")
KINDS = ("vat", "registration", "iban")
# How a supplier can be recognised (describe() says it in words).
HOW = ("vat", "registration", "iban", "name", "alias", "beginning")


@functools.lru_cache(maxsize=4096)  # pure, and pages fold the same few hundred names
def fold_name(name: str) -> str:
    """'Papeterie Martin S.A.R.L.' -> 'papeterie martin': no case, accents, punctuation or
    legal form."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"(?<=\w)[.'’](?=\w)", "", text)  # S.A.R.L. -> sarl, l'atelier -> latelier
    words = re.sub(r"[\W_]+", " ", text).split()
    kept = [word for word in words if word not in LEGAL_FORMS]
    return " ".join(kept or words)


def fold_id(kind: str, value: str) -> str:
    """An identifier as compared: upper case, no spaces or punctuation; a SIRET is its SIREN
    (the company, not one of its establishments)."""
    text = re.sub(r"[^0-9A-Za-z]", "", value or "").upper()
    if kind == "registration" and len(text) == 14 and text.isdigit():
        return text[:9]
    return text


def document_ids(document: Document) -> dict[str, str]:
    """The document's identifiers, folded; a French VAT number also gives the SIREN."""
    ids = {"vat": fold_id("vat", document.supplier_vat),
           "registration": fold_id("registration", document.supplier_registration),
           "iban": fold_id("iban", document.supplier_iban)}
    if not ids["registration"] and re.fullmatch(r"FR\w{2}\d{9}", ids["vat"]):
        ids["registration"] = ids["vat"][4:]
    return {kind: value for kind, value in ids.items() if len(value) >= 5}


def known_ids(vat_number: str, identifiers: dict | None) -> dict[str, set[str]]:
    """Every identifier known for a contact, folded: its VAT number from Zoho (a French one
    also gives the SIREN) and those learned from documents."""
    known = {kind: {fold_id(kind, value) for value in (identifiers or {}).get(kind, [])}
             for kind in KINDS}
    vat = fold_id("vat", vat_number)
    if vat:
        known["vat"].add(vat)
        if re.fullmatch(r"FR\w{2}\d{9}", vat):
            known["registration"].add(vat[4:])
    return known


def contact_ids(contact: ZohoContact) -> dict[str, set[str]]:
    """Every identifier known for a contact: from Zoho and learned from documents."""
    return known_ids(contact.vat_number, contact.identifiers)


def index_identifiers(contacts) -> None:
    """Rewrite the `ZohoContactIdentifier` rows of these contacts from their VAT number and
    learned identifiers: after the list refresh stored them, and after `learn`."""
    contacts = list(contacts)
    rows = [{"contact": contact.id, "kind": kind, "value": value}
            for contact in contacts for kind, values in contact_ids(contact).items()
            for value in sorted(values) if value]
    with db.atomic():
        ZohoContactIdentifier.delete().where(
            ZohoContactIdentifier.contact.in_([contact.id for contact in contacts])).execute()
        if rows:
            ZohoContactIdentifier.insert_many(rows).execute()


def candidates(kind: str = "cost"):
    """The usable cached contacts a document of this kind may belong to (a query: narrow it
    before reading it)."""
    org = ZohoConnection.current().organization_id
    wanted = "vendor" if kind == "cost" else "customer"
    return ZohoContact.usable(org).where(ZohoContact.contact_type == wanted)


def _known_as(contacts, kind: str, value: str):
    """Those of these contacts known by this identifier. A join from the identifier's index,
    so SQLite starts there rather than with every contact of the organisation."""
    return (contacts.join(ZohoContactIdentifier,
                          on=(ZohoContactIdentifier.contact == ZohoContact.id))
            .where(ZohoContactIdentifier.kind == kind, ZohoContactIdentifier.value == value))


def recognise(document: Document) -> tuple[ZohoContact | None, dict]:
    """The contact this document's supplier is, and how it was recognised:
    (contact, {"by": "vat", "value": "FR..."}); (None, {}) when nothing fits for sure."""
    ids = document_ids(document)
    for kind in KINDS:
        if kind in ids:
            found = list(_known_as(candidates(document.kind), kind, ids[kind]).limit(2))
            if len(found) == 1:
                return found[0], {"by": kind, "value": ids[kind]}
    return _by_name(document.supplier_name, document.kind)


def _names(contacts: list[ZohoContact], rules: list[SupplierRule]
           ) -> dict[str, tuple[ZohoContact, str]]:
    """Folded name -> (contact, "name" or "alias"); a name two contacts share is left out."""
    by_id = {contact.zoho_id: contact for contact in contacts}
    names: dict[str, tuple[ZohoContact, str]] = {}
    ambiguous = set()

    def add(name, contact, how):
        key = fold_name(name)
        if not key:
            return
        if key in names and names[key][0].zoho_id != contact.zoho_id:
            ambiguous.add(key)
        names.setdefault(key, (contact, how))

    for contact in contacts:
        add(contact.name, contact, "name")
        if contact.company_name:
            add(contact.company_name, contact, "name")
    for rule in rules:
        contact = by_id.get(rule.contact_id or "") or names.get(fold_name(rule.name),
                                                                 (None,))[0]
        if contact is not None:
            for alias in [rule.name, *(rule.aliases or [])]:
                add(alias, contact, "alias")
    return {key: value for key, value in names.items() if key not in ambiguous}


def _rule_names(rule: SupplierRule) -> set[str]:
    return {fold_name(name) for name in [rule.name, *(rule.aliases or [])]} - {""}


def _beginnings(read: str) -> set[str]:
    """The beginnings of a folded name that the rest of it shows to be the document's own
    words: "ovhcloud facture n fr 1107" -> {"ovhcloud"}."""
    return {read[:where] for where, character in enumerate(read)
            if character == " " and DOCUMENT_WORDS.match(read[where:].strip())}


def _by_name(supplier_name: str, kind: str) -> tuple[ZohoContact | None, dict]:
    read = fold_name(supplier_name)
    if not read:
        return None, {}
    # Only what can decide is read: the supplier rules with a name that is the name read or
    # one of its beginnings; every contact holding one of those keys (so a shared name is
    # seen to be shared) or one of those rules' names; the rules' own contacts. _names over
    # them answers as over every contact and rule. (No other rule can matter: a rule's name
    # is never another rule's alias, validation refuses it.)
    deciding = {read, *_beginnings(read)}
    rules = [rule for rule in SupplierRule.select(
        SupplierRule.id, SupplierRule.name, SupplierRule.aliases, SupplierRule.contact_id)
        .order_by(SupplierRule.id) if _rule_names(rule) & deciding]
    keys = deciding | {fold_name(rule.name) for rule in rules}
    org = ZohoConnection.current().organization_id

    def holding(condition):  # one index each: SQLite reads an OR of them row by row
        return ZohoContact.select(ZohoContact.id).where(ZohoContact.organization_id == org,
                                                        condition)

    wanted = (holding(ZohoContact.name_key.in_(keys))
              | holding(ZohoContact.company_key.in_(keys))
              | holding(ZohoContact.zoho_id.in_([rule.contact_id for rule in rules
                                                 if rule.contact_id])))
    contacts = list(candidates(kind).where(ZohoContact.id.in_(wanted))
                    .order_by(ZohoContact.name, ZohoContact.id))
    if not contacts:
        return None, {}
    names = _names(contacts, rules)
    if read in names:
        contact, how = names[read]
        return contact, {"by": how, "value": supplier_name.strip()}
    # The longest known name that begins the read one, followed by document words.
    for key in sorted(names, key=len, reverse=True):
        rest = read[len(key):]
        if read.startswith(key + " ") and DOCUMENT_WORDS.match(rest.strip()):
            return names[key][0], {"by": "beginning", "value": supplier_name.strip()}
    return None, {}


def describe(recognition: dict, contact_name: str = "") -> str:
    """'Recognised by VAT number FR22424761419 as the Zoho contact OVHcloud.' for the review
    page: a stored message, kept on the document and read in the reader's language."""
    by = (recognition or {}).get("by", "")
    if by not in HOW:
        return ""
    values = {"value": recognition.get("value", ""), "contact": contact_name}
    if contact_name:
        return {
            "vat": stored_message("Recognised by VAT number %(value)s as the Zoho contact "
                                  "%(contact)s.", **values),
            "registration": stored_message("Recognised by company registration number "
                                           "%(value)s as the Zoho contact %(contact)s.",
                                           **values),
            "iban": stored_message("Recognised by IBAN %(value)s as the Zoho contact "
                                   "%(contact)s.", **values),
            "name": stored_message("Recognised by name as the Zoho contact %(contact)s.",
                                   **values),
            "alias": stored_message("Recognised by supplier rule alias “%(value)s” as the Zoho "
                                    "contact %(contact)s.", **values),
            "beginning": stored_message("Recognised by the beginning of the name “%(value)s” "
                                        "as the Zoho contact %(contact)s.", **values),
        }[by]
    return {
        "vat": stored_message("Recognised by VAT number %(value)s.", **values),
        "registration": stored_message("Recognised by company registration number %(value)s.",
                                       **values),
        "iban": stored_message("Recognised by IBAN %(value)s.", **values),
        "name": stored_message("Recognised by name.", **values),
        "alias": stored_message("Recognised by supplier rule alias “%(value)s”.", **values),
        "beginning": stored_message("Recognised by the beginning of the name “%(value)s”.",
                                    **values),
    }[by]


def learn(document: Document, contact_id: str) -> list[str]:
    """Remember the document's identifiers for its contact, so its next documents are
    recognised whatever name they print. An identifier another contact already has is not
    taken (it is more likely misread than shared). Returns the kinds learned."""
    org = ZohoConnection.current().organization_id
    contact = ZohoContact.get_or_none(ZohoContact.organization_id == org,
                                      ZohoContact.zoho_id == contact_id)
    if contact is None:
        return []
    others = candidates(document.kind).where(ZohoContact.zoho_id != contact_id)
    known = contact_ids(contact)
    identifiers = {kind: list(values) for kind, values in (contact.identifiers or {}).items()}
    learned = []
    for kind, value in document_ids(document).items():
        if value in known[kind] or _known_as(others, kind, value).exists():
            continue
        identifiers.setdefault(kind, []).append(value)
        learned.append(kind)
    if learned:
        with db.atomic():
            contact.identifiers = identifiers
            contact.save(only=[ZohoContact.identifiers])
            index_identifiers([contact])
    return learned
