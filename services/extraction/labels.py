"""The words invoices and receipts use, as patterns matched on folded text (lower case, no
accents): totals, VAT, numbers, dates, parties and identifiers, in French, English, German,
Dutch, Spanish and Italian. Kept apart from text.py, which decides what to do with them."""

import re

RATE_RE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,3})?)\s*%")
# Labels are matched on folded text (lower case, no accents), in French, English, German,
# Dutch, Spanish and Italian.
TOTAL_LABELS = [  # strongest first: the first label kind found wins
    r"total\s*t\.?t\.?c\.?|montant\s*t\.?t\.?c\.?|net\s*a\s*payer|total\s*a\s*payer"
    r"|reste\s*a\s*payer|somme\s*a\s*payer|amount\s*due|total\s*due|balance\s*due"
    r"|grand\s*total|rounded\s*total|total\s*(?:amt\s*|amount\s*)?rounded|total\s*(?:amt|amount)\s*payable"
    r"|amount\s*payable|total\s*payable|total\s*(?:sales\s*)?\(?\s*incl\w*\.?\s*(?:of\s*)?"
    r"(?:vat|tax|gst|btw|mwst)|total\s*(?:incl\.?|including|inc\.?)\s*(?:vat|tax|gst)"
    r"|total\s*amount|total\s*for\s*this\s*invoice|total\s*facture|factuur\s*totaal"
    r"|totaal\s*(?:incl\.?|inclusief)\s*btw|te\s*betalen"
    r"|gesamtbetrag(?!\s*(?:der|aller|netto)\b)|rechnungsbetrag|endbetrag|brutto\s*betrag"
    r"|bruttobetrag|summe\s*brutto"
    r"|importe\s*total|total\s*factura|total\s*a\s*pagar|totale\s*(?:fattura|documento"
    r"|da\s*pagare|complessivo)|importo\s*totale",
    # A bare "Total" anywhere on a line, unless it is a subtotal, a tax total or a count.
    r"(?:^|(?<=\s)|(?<=[^\w\s]))(?<!sub)(?<!sub\s)(?<!sub-)(?<!sous\s)(?<!sous-)(?<!gst\s)"
    r"(?<!tax\s)(?<!vat\s)(?<!tva\s)(?<!net\s)(?<!gst:\s)"
    r"(?:total|totaal|totale|gesamt|summe|montant\s*total|^\W*montant)\b"
    r"(?!\s*(?:h\.?t|tva|vat|tax|gst|net|hors|excl|qty|quantity|items?|savings?|discount"
    r"|disc|count|number|no\b|nos\b|pcs|units?|points?|paid|tendered|change|weight"
    r"|saved|rm\s*saved))",
]
NET_LABEL = (r"total\s*h\.?t\.?\b|montant\s*(?:eur\s*)?h\.?t\.?\b|total\s*hors\s*tax\w*"
             r"|sous[\s-]*total|sub[\s-]*total|net\s*amount|total\s*net|net\s*total"
             r"|total\s*(?:sales\s*)?\(?\s*(?:excl\w*\.?|before|ex\.?)\s*(?:of\s*)?"
             r"(?:vat|tax|gst)"
             r"|^\s*net\b(?!\s*(?:a|to)\s*pay)|base\s*h\.?t\.?\b|exclusief\s*btw"
             r"|excl\.?\s*btw|totaal\s*excl|nettobetrag|summe\s*netto|netto\s*summe"
             r"|gesamt\s*netto|^\s*netto\b|zwischensumme|base\s*imponible|imponibile"
             r"|subtotale|totale\s*imponibile")
# Column headers of a VAT table, for its base and its VAT amount.
TABLE_NET = (r"grondslag|base(?:\s*h\.?t\.?|\s*imponible)?|basis(?:betrag)?|montant\s*h\.?t\.?"
             r"|net(?:\s*amount)?|netto(?:betrag)?|imponibile|taxable\s*amount")
TABLE_TAX = (r"(?:btw|tva|vat|mwst|ust|iva|gst|tax)\s*(?:bedrag|amount|montant|betrag|importe"
             r"|importo)?|montant\s*(?:de\s*(?:la\s*)?)?tva|steuerbetrag|impuesto|imposta")
TAX_LABEL = (r"\b(?:t\.?v\.?a\.?|vat|tax|taxes|sales\s*tax|gst|sst|mwst|ust|btw|iva"
             r"|igic|umsatzsteuer|mehrwertsteuer)\b")
# Lines that mention VAT but carry an identifier or a total including VAT, not a VAT amount.
TAX_EXCLUDED = (r"intra|n[o°º]\b|number|numero|nummer|\bnr\b|\bid\b|ust-?id|reg|identif|incl"
                r"|inclu|\bhors\b|excl|t\.?t\.?c|\bh\.?t\b|non\s*applicable|exon|summary"
                r"|relief|steuer-?nr|partita|\btin\b|\bnif\b|\bcif\b|code|grondslag|siret|siren"
                r"|r\.?c\.?s\b|capital")
# A document that says VAT does not apply: its total is also its net.
NO_VAT_RE = re.compile(
    r"ohne\s*(?:mwst|ust)|tva\s*non\s*applicable|non\s*soumis\s*a\s*la\s*tva|autoliquidation"
    r"|reverse\s*charge|steuerschuldnerschaft|vat\s*exempt|exempt\s*from\s*vat"
    r"|not\s*subject\s*to\s*vat|btw\s*verlegd|inversione\s*contabile|exento\s*de\s*iva")
INVOICE_WORD = (r"(?:facture|invoice|avoir|credit\s*note|recu|receipt|ticket|bon|bill"
                r"|rechnung|gutschrift|factuur|creditnota|factura|fattura|nota\s*di\s*credito)")
NUMBER_RE = re.compile(
    rf"{INVOICE_WORD}s?\s*(?:de\s*caisse\s*)?-?\s*(?:number|nummer|numero|num\.?|nr\.?"
    r"|n\s?[o°º]\.?|no\.?|n\.|#)\s*[:.]?\s*#?\s*"
    r"|(?:n\s?[o°º]\.?|numero|nummer)\s*(?:de\s*|di\s*|der\s*)?(?:la\s*)?"
    r"(?:facture|recu|ticket|avoir|factura|fattura|rechnung)\s*[:.]?\s*"
    r"|(?:invoice|document|doc\.?|receipt)\s*(?:id|ref\.?|no\.?)\s*[:.]?\s*"
    r"|^\s*(?:facture|invoice|avoir|rechnung|factuur|factura|fattura)\s*[:#]?\s*"
    r"(?=[a-z]*[-/]?\d)")
# Weaker: used only when no invoice-number label is found.
REFERENCE_RE = re.compile(r"(?:booking|reservation|order)\s*(?:id|ref\w*|no\.?|number)\s*"
                          r"[:.]?\s*#?\s*")
# A table header cell naming the invoice number, with the value in the row below.
NUMBER_HEADER = re.compile(rf"{INVOICE_WORD}s?\s*(?:number|nummer|numero|nr\.?|no\.?|#)?"
                           r"|booking\s*id")
NUMBER_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*")
DUE_LABEL = re.compile(
    r"date\s*d.?\s*echeance|echeance|due\s*date|payment\s*due(?:\s*date)?|\bdue\s*(?:on|by)?"
    r"|a\s*payer\s*avant\s*le|date\s*limite(?:\s*de\s*(?:paiement|reglement))?"
    r"|payable\s*(?:avant\s*le|by|before)|vervaldatum|vervaldag|te\s*betalen\s*voor"
    r"|faellig\w*|fallig\w*|zahlbar\s*bis|zahlungsziel|fecha\s*de\s*vencimiento|vencimiento"
    r"|data\s*(?:di\s*)?scadenza|scadenza")
ISSUE_LABEL = re.compile(
    r"date\s*(?:de\s*(?:la\s*)?facture|d.?\s*emission|de\s*facturation|du\s*recu)?|invoice\s*date"
    r"|issue\s*date|date\s*of\s*issue|issued(?:\s*on)?|emise?\s*le|\bdated?\b|rechnungsdatum"
    r"|datum|factuur\s*datum|fecha(?:\s*de\s*(?:la\s*)?(?:factura|emision))?"
    r"|data(?:\s*(?:della\s*)?fattura|\s*(?:di\s*)?emissione)?\b")
# Dates that are not the invoice's: order, delivery, check-in, printing, period bounds.
OTHER_DATE_BEFORE = re.compile(
    r"(?:order|bestel|bestell|auftrags|liefer|lever|delivery|shipping|ship|check[\s-]*(?:in"
    r"|out)|print\w*|start|end|from|to|period\w*|service|leistungs|payment|bill\s*start"
    r"|closed\s*bill|closing|expiry|exp|valid\w*|birth)\s*$")
TERMS_RE = re.compile(
    r"(?:conditions?\s*de\s*(?:paiement|reglement)|payment\s*terms|\bterms)\s*[:.]?\s*(?P<v>.+)"
    r"|(?P<w>paiement\s*a\s*\d+\s*jours.*|\bnet\s*\d+\s*(?:days|jours)?\b.*"
    r"|payable\s*a\s*reception.*|due\s*on\s*receipt.*)")
BUYER_RE = re.compile(
    r"^\s*(?:client|factur[ee]\s*a|facture\s*a|bill(?:ed)?\s*to|customer|sold\s*to"
    r"|destinataire|adresse\s*de\s*facturation|guest\s*name|kunde|rechnungsempfanger"
    r"|factuuradres|klant|cliente|destinatario)\b\s*[:.]?\s*(?P<v>.*)$")
SUPPLIER_RE = re.compile(
    r"^\s*(?:fournisseur|vendeur|emetteur|from|supplier|seller|vendor|lieferant|verkaufer"
    r"|leverancier|verkoper|proveedor|fornitore)\s*[:.]\s*(?P<v>.*)$"
    r"|(?:sold\s*by|service\s*provider|payment\s*received\s*by|titulaire\s*du\s*compte"
    r"|services\s*are\s*sold\s*by)\s*[:.]?\s*(?P<w>.*)$")
# Footer lines that state the issuer's legal details ("Free SAS au capital de ...").
LEGAL_FOOTER = re.compile(r"au\s*capital|siege\s*social|capital\s*social|share\s*capital"
                          r"|registered\s*office|handelsregister|registergericht")
LEGAL_FORM = re.compile(r"\b(?:SAS|SARL|SA|EURL|SASU|SNC|AG|KG|BV|B\.V\.|NV|N\.V\.|S/B"
                        r"|S\.?p\.?A|S\.?r\.?l|S\.?L|(?i:GmbH|Ltd|Limited|Inc|LLC|PLC"
                        r"|Sdn\.?\s*Bhd|Bhd|Pvt\.?\s*Ltd|Berhad))\b\.?")
# The buyer's own identifiers printed on the invoice ("Uw BTW nummer", "Your VAT number").
BUYER_ID_RE = re.compile(r"\b(?:uw|your|votre|ihre|client|customer|kunden?|klant|cliente"
                         r"|buyer|acheteur|destinataire)\b")
VAT_ID_RE = re.compile(
    r"\b(?:FR\s?[0-9A-HJ-NP-Z]{2}\s?\d{3}\s?\d{3}\s?\d{3}|ATU\d{8}|BE\s?[01]\d{3}\.?\d{3}\.?\d{3}"
    r"|DE\s?\d{3}\s?\d{3}\s?\d{3}|ES\s?[A-Z0-9]\d{7}[A-Z0-9]|IT\s?\d{11}|NL\s?\d{9}B\d{2}"
    r"|LU\s?\d{8}|IE\s?\d{7}[A-Z]{1,2}|GB\s?\d{9}(?:\d{3})?|PT\s?\d{9}"
    r"|CHE[-\s]?\d{3}\.\d{3}\.\d{3})\b")
SIRET_RE = re.compile(r"\bSIR[EE]?[TN]\s*[:.]?\s*(\d{3}\s?\d{3}\s?\d{3}(?:\s?\d{5})?)\b",
                      re.IGNORECASE)
# "B 421 938 861 RCS Paris" or "RCS Paris B 421 938 861": the SIREN, whence the VAT number.
RCS_RE = re.compile(r"\b(?:[AB]\s)?(\d{3}\s?\d{3}\s?\d{3})\s*R\.?C\.?S\b"
                    r"|\bR\.?C\.?S\.?\s+[A-Z][\w\-]+\s+(?:[AB]\s)?(\d{3}\s?\d{3}\s?\d{3})\b")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{1,4}){3,9}")
CURRENCIES = [(re.compile(pattern), code) for pattern, code in [
    (r"€|\bEUR\b|\beuros?\b", "EUR"), (r"£|\bGBP\b", "GBP"),
    (r"\bUSD\b|US\$|\bUS\s*dollars?\b", "USD"), (r"(?<![A-Z])\$", "USD"), (r"\bCHF\b", "CHF"),
    (r"\bCAD\b|CA\$", "CAD"), (r"\bAUD\b|A\$", "AUD"), (r"\bSEK\b", "SEK"), (r"\bDKK\b", "DKK"),
    (r"\bPLN\b", "PLN"), (r"\bNOK\b", "NOK"), (r"\bJPY\b|¥", "JPY"), (r"\bHKD\b|HK\$", "HKD"),
    (r"\bSGD\b|S\$", "SGD"), (r"\bINR\b|₹|\bRs\.?\s?-?\d", "INR"),
    (r"\bMYR\b|\bRM\s?\d|\(RM\)|\bRM\b", "MYR")]]
TITLE_WORDS = re.compile(
    r"^\s*(?:facture|invoice|avoir|credit\s*note|recu|receipt|ticket|devis|quote|page\b|date"
    r"|client|customer|bill|total|tva|vat|n[o°º]\b|tel|phone|email|e-mail|www\.|http|siret"
    r"|siren|iban|bic|capital|tax\s*invoice|simplified|cash\s*(?:bill|sales?|receipt)"
    r"|official\s*receipt|payment\s*receipt|rechnung|factuur|factura|fattura|kopie|copy"
    r"|original|welcome|thank|gst|sst|company\s*(?:no|reg)|co\.?\s*reg|roc\b|reg\.?\s*no"
    r"|guest|booking|order|your\b|kassenbon|quittung|bon\b|scontrino|recibo)")
FRENCH_WORDS = re.compile(r"\b(?:facture|tva|ttc|echeance|recu|montant|total\s*ht|avoir)\b")
