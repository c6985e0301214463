"""marshmallow fields shared by every plugin's API schemas."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError, fields

MAX_MONEY = Decimal("9999999999.99")   # what Numeric(12, 2) holds


class MoneyField(fields.Field):
    """Decimal money as ``"19.99"`` in and out (a JSON number is accepted on input).

    At most ``places`` decimals (2; 3 for a tax percentage); ``minimum`` None allows
    negatives, ``exclusive_minimum`` makes the minimum itself invalid; never more
    than ``maximum`` in absolute value. Never a float inside: values load as Decimal.
    """

    def __init__(self, *, minimum: Decimal | None = Decimal("0"), places: int = 2,
                 maximum: Decimal = MAX_MONEY, exclusive_minimum: bool = False, **kw: Any) -> None:
        kw.setdefault("metadata", {}).update({"type": "string", "format": "decimal",
                                              "example": "19.99" if places == 2 else "8.25"})
        super().__init__(**kw)
        self.minimum, self.maximum, self.exclusive = minimum, maximum, exclusive_minimum
        self.places = places
        self.quantum = Decimal(1).scaleb(-places)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kw: Any) -> str | None:
        return None if value is None else str(Decimal(value).quantize(self.quantum))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValidationError('Must be a decimal number written as a string, e.g. "19.99".')
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValidationError("Not a number.") from exc
        if not number.is_finite():
            raise ValidationError("Not a finite number.")
        if self.minimum is not None:
            if self.exclusive and number <= self.minimum:
                raise ValidationError(f"Must be more than {self.minimum}.")
            if number < self.minimum:
                raise ValidationError(f"Must be at least {self.minimum}.")
        if abs(number) > self.maximum:
            raise ValidationError(f"Must be at most {self.maximum}.")
        if number != number.quantize(self.quantum):
            raise ValidationError(f"At most {self.places} decimal places.")
        return number.quantize(self.quantum)
