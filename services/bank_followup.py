"""After the push: categorise lines by rule, attach receipts to categorised lines, turn the
Qonto receipts of lines still to explain into documents, and settle accepted matches whose
line has just reached Zoho Books."""

import datetime
from decimal import Decimal

from peewee import Value

from integrations.qonto import QontoAttachmentExpired, QontoError, QontoNotFound
from integrations.zoho_books import ZohoNotFound, ZohoValidationError
from models import (
    BankTransaction,
    Document,
    DocumentStatus,
    PushState,
    QontoConnection,
    ReceiptUpload,
    Settlement,
    SettlementState,
    db,
    utcnow,
)
from services import (
    audit,
    bank_rules,
    document_processing,
    document_store,
    matching,
    publishing,
    qonto,
    settlement,
)
from services.bank_lines import money, statement_line
from services.i18n import stored_message, stored_plural_message

# Bounds per account and run, so a first sync of years of history spreads its
# categorisations over a few runs instead of spending a day's API budget at once.
MAX_CATEGORISATIONS_PER_RUN = 300
MAX_RECEIPT_LINES_PER_RUN = 200
MAX_RECEIPT_DOCUMENTS_PER_RUN = 100  # files downloaded and stored per account and run
MAX_SETTLEMENTS_PER_RUN = 200
RECEIPTS_READ_DAYS_BEFORE_CONNECTING = 31
WINDOW_DAYS = 92


def has_attachments():
    """Lines whose Qonto attachment list is not empty (compared as stored text)."""
    return BankTransaction.attachment_ids != Value("[]", converter=False)


def matched_lines():
    """Ids of the lines a live settlement explains: rules and Qonto's files leave them be."""
    return Settlement.select(Settlement.open_line).where(Settlement.open_line.is_null(False))


def attachments_read_as_documents() -> set[str]:
    """Qonto files read as documents: published with their line, never uploaded to it. (An
    archived one was let go: its line was categorised in Zoho by hand; see
    `release_receipts_handled_in_zoho`.)"""
    return {attachment_id for (attachment_id,) in Document.select(Document.qonto_attachment_id)
            .where(Document.qonto_attachment_id.is_null(False),
                   Document.status != DocumentStatus.ARCHIVED).tuples()}


def date_windows(days: list[datetime.date]) -> list[tuple[datetime.date, datetime.date]]:
    """Cover sorted dates with as few windows of at most WINDOW_DAYS as possible."""
    windows = []
    for day in sorted(set(days)):
        if windows and (day - windows[-1][0]).days < WINDOW_DAYS:
            windows[-1] = (windows[-1][0], day)
        else:
            windows.append((day, day))
    return windows


class FollowUp:
    def __init__(self, sync, account):
        self.sync = sync
        self.account = account
        self.zoho = sync.zoho

    def locate(self, lines: list[BankTransaction], status: str = "All") -> None:
        """Read the Zoho id and status of lines, by date windows (one listing each).

        `status` narrows the listing (Zoho's filter_by) to what the caller looks for.
        """
        for start, end in date_windows([line.booking_date for line in lines]):
            found = self.sync.zoho_lines(self.account, start, end, status)
            for line in lines:
                if not start <= line.booking_date <= end:
                    continue
                zoho_line = found.get(line.transaction_id)
                if zoho_line:
                    line.zoho_transaction_id = zoho_line["transaction_id"]
                    line.zoho_status = zoho_line.get("status", "")
                elif status == "Uncategorized" and line.zoho_status in ("", "uncategorized"):
                    # Not uncategorised any more: categorised, matched or excluded in Zoho
                    # by hand. Rules leave it alone; the receipt check finds out which.
                    line.zoho_status = "handled"
                else:
                    continue
                line.save(only=[BankTransaction.zoho_transaction_id,
                                BankTransaction.zoho_status])

    # -- rules -------------------------------------------------------------------------------

    def categorise(self) -> None:
        rules = [rule for rule in bank_rules.ordered() if rule.enabled]
        if not rules:
            return
        chosen = []
        query = (BankTransaction.select()
                 .where(BankTransaction.account == self.account,
                        BankTransaction.push_state == PushState.PUSHED,
                        BankTransaction.categorized_by.is_null(),
                        BankTransaction.zoho_status.not_in(["categorized", "handled"]),
                        BankTransaction.id.not_in(matched_lines()))
                 .order_by(BankTransaction.booking_date))
        for line in query.iterator():
            rule = bank_rules.first_match(rules, line)
            if rule:
                chosen.append((line, rule))
                if len(chosen) >= MAX_CATEGORISATIONS_PER_RUN:
                    break
        if not chosen:
            return
        self.sync.say(self.account, stored_plural_message("categorising %(num)s line by rule",
                                                          "categorising %(num)s lines by rule",
                                                          len(chosen)))
        self.locate([line for line, _ in chosen], "Uncategorized")
        for line, rule in chosen:
            if line.zoho_transaction_id and line.zoho_status == "uncategorized":
                self.apply(line, rule)

    def apply(self, line: BankTransaction, rule) -> None:
        path, body = self.categorisation(line, rule)
        try:
            with self.sync.writing():
                self.zoho.post(path, json=body)
        except (ZohoValidationError, ZohoNotFound) as error:
            self.sync.fail_line(self.account, line, "categorise",
                                stored_message("Rule “%(rule)s” could not categorise this line: "
                                               "%(reason)s", rule=rule.name,
                                               reason=error.user_message))
            return
        line.zoho_status = "categorized"
        line.categorized_by = rule
        line.categorized_at = utcnow()
        line.save()
        self.sync.count(self.account, "categorised")
        audit.record("bank.rule_fired", actor="worker", subject=f"{rule.name} (v{rule.version})",
                     before={"status": "uncategorized"},
                     after={"rule_id": rule.id, "rule_version": rule.version,
                            "account_id": rule.zoho_account_id, "tax_id": rule.tax_id,
                            "contact_id": rule.contact_id, "line": line.transaction_id},
                     zoho_id=line.zoho_transaction_id, link=rule)

    def categorisation(self, line: BankTransaction, rule) -> tuple[str, dict]:
        base = f"/banktransactions/uncategorized/{line.zoho_transaction_id}"
        # The description keeps our marker, so the line can still be found afterwards.
        common = {"date": line.booking_date, "amount": Decimal(money(line.amount_cents)),
                  "reference_number": line.reference[:100],
                  "description": statement_line(line)["description"]}
        if rule.tax_id:
            common["tax_id"] = rule.tax_id
        if line.side == "debit":
            body = {**common, "account_id": rule.zoho_account_id,
                    "paid_through_account_id": self.account.zoho_account_id}
            if rule.contact_id:
                body["vendor_id"] = rule.contact_id
            return f"{base}/categorize/expenses", body
        body = {**common, "transaction_type": "deposit", "from_account_id": rule.zoho_account_id,
                "to_account_id": self.account.zoho_account_id}
        if rule.contact_id:
            body["customer_id"] = rule.contact_id
        return f"{base}/categorize", body

    # -- receipts ----------------------------------------------------------------------------

    def attach_receipts(self) -> None:
        as_documents = attachments_read_as_documents()  # read once for the step
        lines = self.lines_with_missing_receipts(as_documents)
        if not lines:
            return
        self.sync.say(self.account, stored_plural_message("checking %(num)s line with receipts",
                                                          "checking %(num)s lines with receipts",
                                                          len(lines)))
        # Only categorised lines take receipts: list just those, which stays cheap however
        # many lines wait for a category.
        self.locate([line for line in lines if line.zoho_status != "categorized"],
                    "Categorized")
        for line in lines:
            if line.zoho_status == "categorized" and line.zoho_transaction_id:
                for attachment_id in line.attachment_ids:
                    if attachment_id not in as_documents:
                        self.send_receipt(line, attachment_id)

    def lines_with_missing_receipts(self, as_documents: set[str]) -> list[BankTransaction]:
        """Pushed lines with a Qonto file neither uploaded nor read as a document."""
        candidates = (BankTransaction.select()
                      .where(BankTransaction.account == self.account,
                             BankTransaction.push_state == PushState.PUSHED,
                             BankTransaction.id.not_in(matched_lines()),
                             has_attachments())
                      .order_by(BankTransaction.booking_date.desc()))
        uploaded = {}
        for upload in (ReceiptUpload.select(ReceiptUpload.transaction,
                                            ReceiptUpload.attachment_id)
                       .join(BankTransaction)
                       .where(BankTransaction.account == self.account,
                              ReceiptUpload.state == "done")):
            uploaded.setdefault(upload.transaction_id, set()).add(upload.attachment_id)
        waiting = []
        for line in candidates.iterator():
            if set(line.attachment_ids) - uploaded.get(line.id, set()) - as_documents:
                waiting.append(line)
                if len(waiting) >= MAX_RECEIPT_LINES_PER_RUN:
                    break
        return waiting

    def send_receipt(self, line: BankTransaction, attachment_id: str) -> None:
        upload = ReceiptUpload.get_or_none(ReceiptUpload.transaction == line,
                                           ReceiptUpload.attachment_id == attachment_id)
        if upload and upload.state == "done":
            return
        if upload and upload.state == "sending" and self.already_in_zoho(line, upload):
            return self.mark_done(upload)
        if upload is None:
            with db.atomic():  # the ledger row comes before the upload
                upload = ReceiptUpload.create(transaction=line, attachment_id=attachment_id)
        else:
            upload.state = "sending"
            upload.save()
        try:
            name, content, content_type = self.fetch_receipt(attachment_id)
            upload.file_name = name
            upload.save(only=[ReceiptUpload.file_name])
            with self.sync.writing():
                self.zoho.post_file(f"/banktransactions/{line.zoho_transaction_id}/attachment",
                                    "attachment", name, content, content_type)
        except (ZohoValidationError, ZohoNotFound, QontoNotFound) as error:
            why = qonto.reason(error) if isinstance(error, QontoNotFound) else error.user_message
            upload.state, upload.error = "failed", why
            upload.save()
            self.sync.fail_line(self.account, line, "receipt",
                                stored_message("Receipt %(file)s: %(reason)s",
                                               file=upload.file_name or attachment_id,
                                               reason=why))
            return None
        self.mark_done(upload)
        return None

    def fetch_receipt(self, attachment_id: str) -> tuple[str, bytes, str]:
        """The file, fetched through a fresh short-lived URL (renewed once if it expired)."""
        for _ in range(2):
            attachment = self.sync.qonto.attachment(attachment_id)
            try:
                content, content_type = self.sync.qonto.download(attachment["url"])
            except QontoAttachmentExpired:
                continue
            name = attachment.get("file_name") or f"{attachment_id}.pdf"
            return name, content, content_type or attachment.get("file_content_type", "")
        raise QontoNotFound(403, "expired", "The receipt's download link kept expiring.")

    def already_in_zoho(self, line, upload: ReceiptUpload) -> bool:
        """After an unknown outcome, is the file on the Zoho line already?"""
        if not upload.file_name:
            return False
        detail = self.zoho.get(f"/banktransactions/{line.zoho_transaction_id}")
        documents = detail.get("banktransaction", {}).get("documents", [])
        return any(doc.get("file_name") == upload.file_name for doc in documents)

    def mark_done(self, upload: ReceiptUpload) -> None:
        upload.state, upload.uploaded_at, upload.error = "done", utcnow(), ""
        upload.save()
        self.sync.count(self.account, "receipts")
        audit.record("bank.receipt_attached", actor="worker", subject=upload.file_name,
                     zoho_id=upload.transaction.zoho_transaction_id, link=upload)

    # -- Qonto receipts become documents ---------------------------------------------------

    def release_receipts_handled_in_zoho(self) -> None:
        """A line waiting for its Qonto receipt to be ready, categorised in Zoho by hand
        meanwhile: the receipt lets it go, and its file goes to the line as before."""
        waiting = list(Settlement.select(Settlement, BankTransaction).join(BankTransaction)
                       .where(BankTransaction.account == self.account,
                              BankTransaction.push_state == PushState.PUSHED,
                              Settlement.origin == "qonto_receipt",
                              Settlement.state.in_([SettlementState.WAITING,
                                                    SettlementState.QUEUED]))
                       .limit(MAX_SETTLEMENTS_PER_RUN))
        if not waiting:
            return
        self.locate([row.line for row in waiting], "Uncategorized")
        for row in waiting:
            if row.line.zoho_status in settlement.HANDLED_IN_ZOHO:
                settlement.release_qonto_receipt(row)

    def receipts_to_documents(self) -> None:
        """A file attached in Qonto to a line nothing explains yet is read like an upload
        and becomes the line's receipt (a settlement waiting for the document to be ready):
        published, it categorises the line as its expense with the file attached."""
        waiting = self.lines_with_unread_receipts()
        if not waiting:
            return
        self.sync.say(self.account, stored_plural_message(
            "reading %(num)s receipt attached in Qonto",
            "reading %(num)s receipts attached in Qonto", len(waiting)))
        created = 0
        for line, attachment_id in waiting:
            created += self.receipt_to_document(line, attachment_id)
        if created:
            self.read_new_documents()

    def lines_with_unread_receipts(self) -> list[tuple[BankTransaction, str]]:
        """(line, first attachment not read yet) for open lines of the account."""
        as_documents = attachments_read_as_documents()
        found = []
        query = (matching.open_lines()
                 .where(BankTransaction.account == self.account, has_attachments(),
                        BankTransaction.booking_date >= self.receipts_read_from())
                 .order_by(BankTransaction.booking_date.desc()))
        for line in query.iterator():
            unread = [a for a in line.attachment_ids if a not in as_documents]
            if unread:
                found.append((line, unread[0]))  # one receipt per line; the line has one
                if len(found) >= MAX_RECEIPT_DOCUMENTS_PER_RUN:
                    break
        return found

    @staticmethod
    def receipts_read_from() -> datetime.date:
        """The first booking date whose Qonto receipts become documents: the month before
        Qonto was connected, and everything since. A history import's older lines were
        booked before Bookbridge (years of them would flood the inbox): their files go to
        the line once it is categorised, as before."""
        consented = QontoConnection.current().consented_at or utcnow()
        return consented.date() - datetime.timedelta(days=RECEIPTS_READ_DAYS_BEFORE_CONNECTING)

    def receipt_to_document(self, line: BankTransaction, attachment_id: str) -> int:
        """Fetch (fresh link), store once by hash, and record document + settlement in one
        transaction: a kill before the commit leaves nothing, so the next run starts over."""
        try:
            name, content, _ = self.fetch_receipt(attachment_id)
            with db.atomic():
                document = document_store.add(self.sync.config, content, name, source="qonto",
                                              source_detail=name)
                document.qonto_attachment_id = attachment_id
                document.save(only=[Document.qonto_attachment_id])
                settlement.store_qonto_receipt(line, document)
        except document_store.Rejected as rejected:
            self.sync.fail_line(self.account, line, "receipt",
                                stored_message("Receipt %(file)s: %(reason)s", file=attachment_id,
                                               reason=str(rejected)))
            return 0
        except (QontoNotFound, QontoError) as error:
            self.sync.fail_line(self.account, line, "receipt",
                                stored_message("Receipt %(file)s: %(reason)s", file=attachment_id,
                                               reason=qonto.reason(error)))
            return 0
        except settlement.SettlementProblem:
            return 0  # matched by a person meanwhile: the file stays in Qonto
        self.sync.count(self.account, "receipts")
        return 1

    @staticmethod
    def read_new_documents() -> None:
        """Queue the reading, as an upload does (services do not import jobs at module level:
        see services.alerts)."""
        from jobs.documents import extract_documents

        job, created = document_processing.request()
        if created:
            extract_documents(job.id)

    # -- settling accepted matches ---------------------------------------------------------

    def settle_matches(self) -> None:
        """Matches accepted before their line reached Zoho (or left mid-write): settled now
        that the line is in Zoho, each through the settlement's ledger."""
        waiting = list(settlement.to_settle().join(BankTransaction).where(
            BankTransaction.account == self.account,
            BankTransaction.push_state == PushState.PUSHED).limit(MAX_SETTLEMENTS_PER_RUN))
        if not waiting:
            return
        self.sync.say(self.account, stored_plural_message("settling %(num)s matched line",
                                                          "settling %(num)s matched lines",
                                                          len(waiting)))
        lines = [row.line for row in waiting]
        self.locate([line for line in lines if not line.zoho_transaction_id])
        for row in waiting:
            try:
                with self.sync.writing():
                    settlement.settle(self.sync.config, row.id, client=self.zoho)
            except publishing.NewSupplierNeedsConfirmation as ask:
                settlement.wait_for_person(row.id, stored_message(
                    "Zoho Books would get a new supplier, %(supplier)s. Publish the receipt by "
                    "hand to confirm it; the line is settled with it.", supplier=ask.name))
            except (settlement.SettlementProblem, ZohoValidationError, ZohoNotFound) as problem:
                # Left as it was: the minute's safety net (jobs.matching) tries again.
                self.sync.fail_line(self.account, row.line, "match", problem.user_message)
