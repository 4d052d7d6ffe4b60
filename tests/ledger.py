"""Ledger assertions shared by tests: every lot's on hand equals the sum of its movements,
reserved stays within on hand and equals the sum of its held reservations (the rules of
``manage.py ledger_check``). Every test using the database ends with this check too
(tests/conftest.py); call it to check in the middle of a scenario."""

from inventory.selectors import ledger_discrepancies


def assert_ledger_balanced() -> None:
    found = ledger_discrepancies()
    assert found == [], f"the ledger does not balance: {found}"
