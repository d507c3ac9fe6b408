"""Points and store credit: the ledger, balances, adjustments and expiry."""
