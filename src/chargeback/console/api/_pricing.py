"""`/api/v1/pricing`: the prices in force; admins change them (spec section 2)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from chargeback.console.api._models import ErrorOut, PricesIn, PricesOut, prices_out
from chargeback.console.deps import AdminUser, StoreDep
from chargeback.pricing import PriceSettings, PricingError, parse_prices

router = APIRouter(tags=["pricing"])


class PriceFieldsError(PricingError):
    """One or more price fields are invalid; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@router.get("/pricing", responses={401: {"model": ErrorOut}})
def get_pricing(store: StoreDep) -> PricesOut:
    """The prices in force, the GB unit and the currencies offered."""
    return prices_out(store.get_prices())


@router.put(
    "/pricing",
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut, "description": "not an admin, or no CSRF token"},
        422: {"model": ErrorOut, "description": "invalid prices; `errors` names each field"},
    },
)
def put_pricing(changes: PricesIn, store: StoreDep, admin: AdminUser) -> PricesOut:
    """Change the prices (admins only); every period shown is re-priced at once."""
    errors = _field_errors(changes)
    if errors:
        raise PriceFieldsError(errors)
    prices = parse_prices(
        ingress_per_gb=changes.ingress_per_gb,
        egress_per_gb=changes.egress_per_gb,
        currency=changes.currency,
        gb_unit=changes.gb_unit,
        base=store.get_prices(),
    )
    store.set_prices(prices)
    return prices_out(store.get_prices())


# Each field checked on its own by pricing's own rules, so that every bad field gets its message.
_FIELD_CHECKS: dict[str, Callable[[str], PriceSettings]] = {
    "ingress_per_gb": lambda text: parse_prices(ingress_per_gb=text),
    "egress_per_gb": lambda text: parse_prices(egress_per_gb=text),
    "currency": lambda text: parse_prices(currency=text),
    "gb_unit": lambda text: parse_prices(gb_unit=text),
}


def _field_errors(changes: PricesIn) -> dict[str, str]:
    """The message of each invalid field, by field name."""
    errors: dict[str, str] = {}
    for name, text in changes.model_dump(exclude_none=True).items():
        try:
            _FIELD_CHECKS[name](text)
        except PricingError as error:
            errors[name] = str(error)
    return errors
