"""What an extraction returns: fields with their source and confidence, lines, warnings."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Field:
    """One value read from a document, where it came from and how far to trust it."""

    value: Any
    source: str  # "e-invoice" | "text" | "ocr"
    confidence: float  # 0..1


@dataclass
class Line:
    """One invoice line; any amount the document did not give is None."""

    description: str
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    net: Decimal | None = None
    vat_rate: Decimal | None = None


@dataclass
class Extraction:
    """Everything read from one uploaded document."""

    method: str  # "e-invoice" | "text" | "ocr" | "none"
    kind: str = "unknown"  # "cost" | "sale" | "unknown"
    document_type: str = "invoice"  # "invoice" | "credit_note" | "receipt"
    fields: dict[str, Field] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    text: str = ""

    def value(self, name: str, default: Any = None) -> Any:
        """The value of field `name`, or `default` when it was not found."""
        found = self.fields.get(name)
        return found.value if found is not None else default


def failed(message: str) -> Extraction:
    """The result for a file that could not be read at all."""
    return Extraction(method="none", warnings=[message])
