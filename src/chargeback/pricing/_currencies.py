"""The ISO 4217 currency codes a price may be given in."""

# Major currencies of ISO 4217 (active codes only). A platform team bills in its company's
# accounting currency, which is one of these in practice; a code outside the list is refused so
# that a typo ("UDS") never reaches an invoice.
CURRENCY_CODES: frozenset[str] = frozenset(
    {
        "AED", "ARS", "AUD", "BGN", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK",
        "EGP", "EUR", "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "ISK", "JPY", "KES", "KRW",
        "KWD", "MAD", "MXN", "MYR", "NGN", "NOK", "NZD", "PEN", "PHP", "PKR", "PLN", "QAR",
        "RON", "RSD", "SAR", "SEK", "SGD", "THB", "TRY", "TWD", "UAH", "USD", "VND", "ZAR",
    }
)  # fmt: skip
